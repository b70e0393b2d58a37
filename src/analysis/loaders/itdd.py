"""Loader for INSEE's sustainable-development indicators (ITDD): ESS share, employment rate."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.keys import FRANCE_CODE, METROPOLE_CODE
from analysis.loaders._read import (
    SourceFormatError,
    clean_code,
    open_workbook,
    sheet_rows,
    to_number,
)

SOURCE = "insee_itdd"
SHEET = "Economie"
INDICATOR_LABELS = {
    "Taux d'emploi": "employment_rate_15_64_pct",
    "Poids de l'économie sociale dans les emplois salariés": "ess_share_salaried_jobs_pct",
}
"""Start of the column label in the sheet → indicator (each label spans two year columns)."""
NATIONAL_CODES = {"F": FRANCE_CODE, "M": METROPOLE_CODE}
"""``F`` France excluding Mayotte, ``M`` metropolitan France; ``P`` (provinces) is not kept."""


def _blocks(rows: list[list], display: str) -> list[int]:
    year_rows = [i for i, row in enumerate(rows) if len(row) > 1 and str(row[1]).strip() == "Année"]
    if len(year_rows) != 2:
        raise SourceFormatError(
            display,
            f"expected two header rows with 'Année' in column B (régions, départements), "
            f"found {len(year_rows)}",
            sheet=SHEET,
            column="Année",
        )
    return year_rows


def load_itdd(path: Path) -> pd.DataFrame:
    """ESS share of salaried jobs (2008, 2014) and employment rate 15-64 (2008, 2013).

    Sheet ``Economie`` holds a régions block (2016 régions) then a départements
    block, each with a label row, a year row (``Année`` in column B) and one
    row per territory; national rows (``F``, ``M``) become level ``fr``.
    """
    book, display = open_workbook(path)
    rows = sheet_rows(book, display, SHEET)
    parts = []
    for year_row, level in zip(_blocks(rows, display), ("reg", "dep"), strict=True):
        labels = [str(cell).strip() for cell in rows[year_row - 1]]
        for prefix, indicator in INDICATOR_LABELS.items():
            columns = [i for i, label in enumerate(labels) if label.startswith(prefix)]
            if not columns:
                raise SourceFormatError(
                    display,
                    f"no column labelled {prefix!r}… on row {year_row} ({level} block)",
                    sheet=SHEET,
                    column=prefix,
                )
            start = columns[0]
            for column in (start, start + 1):
                year = clean_code(pd.Series([rows[year_row][column]])).iloc[0]
                body = []
                for row in rows[year_row + 1 :]:
                    code = str(row[0]).strip()
                    if code == "" or code.startswith(("nd", "nc")):
                        break
                    body.append((row[0], row[column]))
                frame = pd.DataFrame(body, columns=["raw_code", "value"], dtype=object)
                try:
                    frame["value"] = to_number(frame["value"])
                except (ValueError, TypeError):
                    raise SourceFormatError(
                        display, "non-numeric values", sheet=SHEET, column=f"{prefix} {year}"
                    ) from None
                frame["code"] = clean_code(frame["raw_code"], 2)
                is_national = frame["code"].isin(list(NATIONAL_CODES))
                frame["level"] = level
                frame.loc[is_national, "level"] = "fr"
                frame.loc[is_national, "code"] = frame.loc[is_national, "code"].map(NATIONAL_CODES)
                frame = frame[frame["code"] != "P"].dropna(subset=["value"])
                parts.append(frame.assign(period=year, indicator=indicator, source_id=SOURCE))
    out = pd.concat(parts, ignore_index=True)
    # national rows appear in both blocks with the same values: keep one
    out = out.drop_duplicates(subset=["level", "code", "period", "indicator"])
    return out.loc[:, ["level", "code", "period", "indicator", "value", "source_id"]]
