"""The ``--out`` option of the commands that write a table for people (.csv or real .xlsx)."""

from __future__ import annotations

from pathlib import Path

import typer

from analysis.exports import SUFFIXES, ExportFormatError, check_suffix

TABLE_OUT_HELP = f"Table to write: {' or '.join(SUFFIXES)} (a real Excel workbook)."


def checked_table_out(value: Path | None) -> Path | None:
    """Typer callback: an ``--out`` not ending in .csv or .xlsx stops (exit 2) before any work."""
    if value is None:
        return value
    try:
        return check_suffix(value)
    except ExportFormatError as error:
        raise typer.BadParameter(str(error)) from None
