"""Loader for INSEE Filosofi (living standards, poverty), vintages 2014-2019, every level."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.keys import METROPOLE_CODE
from analysis.loaders._read import (
    SourceFormatError,
    clean_code,
    find_header_row,
    numeric_columns,
    open_workbook,
    sheet_rows,
    table_from_rows,
    to_long,
)

SOURCES = {year: f"insee_filosofi_{year}" for year in range(2014, 2020)}

VARIABLES = {
    "NBMENFISC": "fiscal_households",
    "NBPERSMENFISC": "fiscal_household_persons",
    "MED": "median_living_standard_eur",
    "PIMP": "taxed_households_pct",
    "TP60": "poverty_rate_pct",
    "PACT": "activity_income_share_pct",
    "PPEN": "pension_income_share_pct",
    "PPAT": "property_income_share_pct",
    "PPSOC": "social_benefits_share_pct",
    "PPMINI": "minimum_income_benefits_share_pct",
    "PIMPOT": "taxes_share_pct",
    "D1": "d1_living_standard_eur",
    "D9": "d9_living_standard_eur",
    "RD": "interdecile_ratio",
}
"""Variable stem (the file appends the two-digit year) → indicator."""
RENAMED_STEMS = {"PRA": "PACT"}
"""2014 calls the share of activity income ``PRA`` (same definition as later ``PACT``)."""
COUNT_INDICATORS = ("fiscal_households", "fiscal_household_persons")

SHEET_LEVELS = {"DEP": "dep", "REG": "reg", "METRO": "fr", "EPCI": "epci", "ZE2020": "ze2020"}
"""Published sheets loaded and their panel level. ``ZE2010`` (2014-2017 files) is
not loaded: zones d'emploi 2010 are not the 2020 zones. ``ARR``, ``AU``/``AAV``,
``UU``, ``EPT``, ``CTCD`` are levels the panel does not use."""
NATIONAL_CODE = METROPOLE_CODE
"""The ``METRO`` sheet is metropolitan France: level ``fr``, code ``FRM``."""
_GEOGRAPHY = re.compile(r"G[ée]ographie au 01/01/(\d{4})")


@dataclass(frozen=True)
class FilosofiVintage:
    """One Filosofi file: published panel rows and the commune table on the file's geography."""

    year: int
    geography_year: int
    published: pd.DataFrame
    """Panel rows of the levels in :data:`SHEET_LEVELS` (EPCI codes on the file's geography)."""
    communes: pd.DataFrame
    """One row per commune code of the file's geography: ``commune_code`` + indicator columns."""


def _variable_columns(header: list[str], year: int) -> dict[str, str]:
    suffix = f"{year % 100:02d}"
    columns = {}
    for column in header:
        if not column.endswith(suffix):
            continue
        stem = column[: -len(suffix)]
        stem = RENAMED_STEMS.get(stem, stem)
        if stem in VARIABLES:
            columns[column] = VARIABLES[stem]
    return columns


def _read_sheet(book, display: str, sheet: str, year: int) -> pd.DataFrame:
    rows = sheet_rows(book, display, sheet)
    header_index = find_header_row(rows, display, sheet, "CODGEO")
    suffix = f"{year % 100:02d}"
    required = ["CODGEO", f"MED{suffix}", f"TP60{suffix}", f"NBMENFISC{suffix}"]
    frame = table_from_rows(rows, header_index, display, sheet, required)
    columns = _variable_columns(list(frame.columns), year)
    frame = numeric_columns(frame, list(columns), display, sheet)
    return frame.loc[:, ["CODGEO", *columns]].rename(columns=columns)


def _geography_year(book, display: str) -> int:
    for row in sheet_rows(book, display, "COM")[:6]:
        match = _GEOGRAPHY.search(str(row[0]))
        if match:
            return int(match.group(1))
    raise SourceFormatError(
        display, "no 'Géographie au 01/01/YYYY' line in the first rows", sheet="COM"
    )


def load_filosofi(path: Path, year: int) -> FilosofiVintage:
    """Read one Filosofi vintage (zip of one .xls/.xlsx).

    Args:
        path: the raw zip.
        year: the income year (2014-2019); column names end with its two digits.
    """
    book, display = open_workbook(path)
    geography_year = _geography_year(book, display)
    source_id = SOURCES[year]
    parts = []
    for sheet, level in SHEET_LEVELS.items():
        if sheet not in book.sheet_names:
            if sheet in ("DEP", "REG", "METRO", "EPCI"):
                sheet_rows(book, display, sheet)  # raises: names the missing sheet
            continue
        frame = _read_sheet(book, display, sheet, year)
        width = {"dep": 2, "reg": 2, "ze2020": 4}.get(level)
        frame["CODGEO"] = clean_code(frame["CODGEO"], width)
        if level == "fr":
            frame["CODGEO"] = NATIONAL_CODE
        indicators = {c: c for c in frame.columns if c != "CODGEO"}
        parts.append(
            to_long(
                frame,
                level=level,
                code_column="CODGEO",
                period=str(year),
                indicators=indicators,
                source_id=source_id,
            )
        )
    communes = _read_sheet(book, display, "COM", year)
    communes = communes.rename(columns={"CODGEO": "commune_code"})
    communes["commune_code"] = clean_code(communes["commune_code"], 5)
    duplicated = communes["commune_code"].duplicated()
    if duplicated.any():
        raise SourceFormatError(
            display,
            f"duplicated commune codes {communes['commune_code'][duplicated].tolist()[:5]}",
            sheet="COM",
            column="CODGEO",
        )
    return FilosofiVintage(
        year=year,
        geography_year=geography_year,
        published=pd.concat(parts, ignore_index=True),
        communes=communes,
    )
