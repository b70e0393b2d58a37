"""Tables written for people: CSV or real Excel by suffix, spreadsheet formulas neutralised.

A cell of user text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is run as a formula by Excel and LibreOffice when the file is
opened (CSV injection, OWASP). Every CSV/XLSX the tool writes from user text goes
through :func:`write_table`, which prefixes such cells with ``'`` (the
spreadsheet's "this is text" mark). Cells that are plain numbers (``-1.55``)
are left alone: spreadsheets read them as numbers, not formulas.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.atomic import write_atomically, write_csv_atomically

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""

TEXT_MARK = "'"
"""Prefix that makes a spreadsheet show a cell as text."""

SUFFIXES: tuple[str, ...] = (".csv", ".xlsx")
"""File types :func:`write_table` writes."""

_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


class ExportFormatError(ValueError):
    """An output path whose suffix is not one :func:`write_table` can write."""


def is_formula_like(value: object) -> bool:
    """Whether a cell would be run as a formula by a spreadsheet (plain numbers are not)."""
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not _PLAIN_NUMBER.match(value)
    )


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose formula-like text cells (and column names) start with ``'``."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            risky = values.map(is_formula_like).astype(bool)
            if risky.any():
                out[column] = values.where(~risky, TEXT_MARK + values.astype(str))
    out.columns = [TEXT_MARK + c if is_formula_like(c) else c for c in out.columns]
    return out


def check_suffix(path: Path | str) -> Path:
    """The path, or :class:`ExportFormatError` when its suffix is not ``.csv`` or ``.xlsx``."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ExportFormatError(
            f"{path}: cannot write a {path.suffix or 'suffix-less'} file. "
            f"Fix: end the output name with {' or '.join(SUFFIXES)} "
            "(.xlsx is written as a real Excel workbook)."
        )
    return path


def write_table(
    frame: pd.DataFrame, path: Path | str, *, sheet_name: str = "data", **csv_options
) -> Path:
    """Write ``frame`` as CSV or Excel by the path's suffix, atomically, formulas neutralised.

    Args:
        frame: the table (its index is not written).
        path: ends with ``.csv`` or ``.xlsx``; anything else is refused.
        sheet_name: the worksheet's name for ``.xlsx``.
        **csv_options: passed to ``DataFrame.to_csv`` for ``.csv``.

    Raises:
        ExportFormatError: the suffix is neither ``.csv`` nor ``.xlsx`` (nothing written).
    """
    path = check_suffix(path)
    safe = neutralise_formulas(frame)
    if path.suffix.lower() == ".csv":
        return write_csv_atomically(safe, path, **csv_options)

    def write_workbook(temporary: Path) -> None:
        with pd.ExcelWriter(temporary, engine="openpyxl") as writer:
            safe.to_excel(writer, sheet_name=sheet_name, index=False)

    return write_atomically(path, write_workbook)
