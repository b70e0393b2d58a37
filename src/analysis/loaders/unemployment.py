"""Loaders for INSEE's localised unemployment rates (zones d'emploi; départements and régions)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from analysis.keys import FRANCE_CODE, METROPOLE_CODE
from analysis.loaders._read import (
    SourceFormatError,
    clean_code,
    find_header_row,
    numeric_columns,
    open_workbook,
    sheet_rows,
    table_from_rows,
)
from analysis.periods import period_label

ZE_SOURCE = "insee_unemployment_ze"
DEP_REG_SOURCE = "insee_unemployment_dep_reg"
ZE_SHEET = "txcho_ze"
DEP_SHEET = "Département"
REG_SHEET = "Région"

_ZE_QUARTER = re.compile(r"^(\d{4})-T([1-4])$")
_DEP_QUARTER = re.compile(r"^T([1-4])_(\d{4})$")
FRANCE_LABELS = {"FRANCE (HORS MAYOTTE)": FRANCE_CODE, "FRANCE METROPOLITAINE": METROPOLE_CODE}
"""The two national rows of the régions sheet and the ``fr``-level code each gets."""


def _quarter_columns(frame: pd.DataFrame, pattern: re.Pattern, year_group: int) -> dict[str, str]:
    columns = {}
    for column in frame.columns:
        match = pattern.match(column)
        if match:
            year, quarter = match.group(year_group), match.group(3 - year_group)
            columns[column] = period_label(year, quarter)
    return columns


def _quarter_sheet(
    book: CalamineWorkbook,
    display: str,
    sheet: str,
    id_columns: list[str],
    pattern: re.Pattern,
    year_group: int,
    example: str,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """A sheet whose header row starts with ``id_columns[0]``: numeric quarter columns, renamed.

    Returns the table and its quarter columns (column → period label).
    """
    rows = sheet_rows(book, display, sheet)
    header = find_header_row(rows, display, sheet, id_columns[0])
    frame = table_from_rows(rows, header, display, sheet, id_columns)
    quarters = _quarter_columns(frame, pattern, year_group)
    if not quarters:
        raise SourceFormatError(
            display, f"no quarter columns named like {example!r}", sheet=sheet, column=example
        )
    return numeric_columns(frame, quarters, display, sheet), quarters


def _quarters_long(
    frame: pd.DataFrame, quarter_columns: dict[str, str], level: str, source_id: str
) -> pd.DataFrame:
    long = frame.loc[:, ["code", *quarter_columns]].melt(
        id_vars="code", var_name="period", value_name="value"
    )
    long = long.dropna(subset=["value"])
    long["period"] = long["period"].map(quarter_columns)
    long["level"] = level
    long["indicator"] = "unemployment_rate"
    long["source_id"] = source_id
    return long.loc[:, ["level", "code", "period", "indicator", "value", "source_id"]]


def load_unemployment_ze(path: Path) -> pd.DataFrame:
    """Quarterly unemployment rate (%, SA) of the zones d'emploi 2020, 2003-Q1 onwards.

    Reads sheet ``txcho_ze`` (header row starting ``ZE2020``; quarter columns
    ``2003-T1`` …). The regional parts of interregional zones (other sheet) are
    not loaded: the panel holds whole zones.
    """
    book, display = open_workbook(path)
    frame, quarters = _quarter_sheet(
        book, display, ZE_SHEET, ["ZE2020", "LIBZE2020"], _ZE_QUARTER, 1, "2003-T1"
    )
    frame["code"] = clean_code(frame["ZE2020"], 4)
    return _quarters_long(frame, quarters, "ze2020", ZE_SOURCE)


def load_unemployment_dep_reg(path: Path) -> pd.DataFrame:
    """Quarterly unemployment rate (%, SA) of départements, régions and France, 1982-Q1 onwards.

    Sheets ``Département`` and ``Région`` (header row starting ``Code``; quarter
    columns ``T1_1982`` …). The régions sheet's national rows become level
    ``fr``: ``FR`` = France excluding Mayotte (from 2014-Q1), ``FRM`` =
    metropolitan France (from 1982-Q1). Overseas départements start in 2014.
    """
    book, display = open_workbook(path)
    parts = []
    for sheet, level in ((DEP_SHEET, "dep"), (REG_SHEET, "reg")):
        frame, quarters = _quarter_sheet(
            book, display, sheet, ["Code", "Libellé"], _DEP_QUARTER, 2, "T1_1982"
        )
        frame["code"] = clean_code(frame["Code"], 2)
        if level == "reg":
            labels = frame["Libellé"].astype(str).str.strip()
            is_france = labels.isin(list(FRANCE_LABELS))
            national = frame.loc[is_france].assign(code=labels[is_france].map(FRANCE_LABELS))
            if len(national) != len(FRANCE_LABELS):
                raise SourceFormatError(
                    display,
                    f"expected the national rows {list(FRANCE_LABELS)}",
                    sheet=sheet,
                    column="Libellé",
                )
            parts.append(_quarters_long(national, quarters, "fr", DEP_REG_SOURCE))
            frame = frame.loc[~is_france]
        parts.append(_quarters_long(frame, quarters, level, DEP_REG_SOURCE))
    return pd.concat(parts, ignore_index=True)
