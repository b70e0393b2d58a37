"""Loader for URSSAF private-sector salaried employment and payroll by zone d'emploi (quarterly)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.keys import FRANCE_CODE
from analysis.loaders._read import SourceFormatError, require_columns
from analysis.periods import period_label

SOURCE = "urssaf_employment_ze"
COLUMNS = {
    "effectifs_salaries_brut": "salaried_employment",
    "effectifs_salaries_cvs": "salaried_employment_sa",
    "masse_salariale_cvs": "payroll_sa",
}
KEY_COLUMNS = ("annee", "trimestre", "code_zone_d_emploi")


def read_urssaf(path: Path) -> pd.DataFrame:
    """The raw extraction, checked: one row per zone, quarter and former région."""
    try:
        frame = pd.read_csv(path, dtype={"code_zone_d_emploi": "str"})
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise SourceFormatError(path, f"cannot be parsed as CSV ({error})") from None
    require_columns(frame, (*KEY_COLUMNS, *COLUMNS), path)
    for column in (*COLUMNS, "annee", "trimestre"):
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise SourceFormatError(path, "holds non-numeric values", column=column)
    bad_quarter = ~frame["trimestre"].isin([1, 2, 3, 4])
    if bad_quarter.any():
        row = int(bad_quarter.idxmax()) + 2
        raise SourceFormatError(path, f"quarter out of 1-4 on line {row}", column="trimestre")
    return frame


def tidy_urssaf(frame: pd.DataFrame) -> pd.DataFrame:
    """Panel rows: the rows of a zone and quarter (one per former région) summed; plus France.

    The ``fr`` rows (code ``FR``) are the sum of all zones: URSSAF publishes no
    national total in this extraction.
    """
    frame = frame.assign(
        code=frame["code_zone_d_emploi"].str.strip().str.zfill(4),
        period=[
            period_label(year, quarter)
            for year, quarter in zip(frame["annee"], frame["trimestre"], strict=True)
        ],
    )
    zones = frame.groupby(["code", "period"], as_index=False)[list(COLUMNS)].sum()
    national = zones.groupby("period", as_index=False)[list(COLUMNS)].sum().assign(code=FRANCE_CODE)
    parts = []
    for level, table in (("ze2020", zones), ("fr", national)):
        long = table.melt(id_vars=["code", "period"], var_name="indicator", value_name="value")
        long["indicator"] = long["indicator"].map(COLUMNS)
        long["level"] = level
        parts.append(long)
    out = pd.concat(parts, ignore_index=True)
    out["value"] = out["value"].astype("float64")
    out["source_id"] = SOURCE
    return out.loc[:, ["level", "code", "period", "indicator", "value", "source_id"]]


def load_urssaf(path: Path) -> pd.DataFrame:
    """Quarterly salaried jobs (raw and SA) and SA payroll per zone d'emploi 2020 and France."""
    return tidy_urssaf(read_urssaf(path))
