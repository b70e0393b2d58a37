"""Loader for INSEE's 7-level municipal density grid (geography 2024)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.loaders._read import (
    SourceFormatError,
    clean_code,
    numeric_columns,
    open_workbook,
    read_table,
)

SOURCE = "insee_density_grid_2024"
SHEET = "Grille_Densite"
PERIOD = "2024"
DENSITY_CLASSES = {
    1: "dense",
    2: "intermediate",
    3: "intermediate",
    4: "intermediate",
    5: "rural",
    6: "rural",
    7: "rural",
}
"""INSEE's 3-class reading of the 7 levels: 1 dense; 2-4 intermediate density; 5-7 rural."""


def load_density_grid(path: Path) -> pd.DataFrame:
    """One row per commune (COG 2024): ``commune_code``, ``density_level``, ``population_2021``."""
    book = open_workbook(path)
    frame = read_table(path, SHEET, "CODGEO", ["CODGEO", "DENS", "PMUN21"], workbook=book)
    frame = numeric_columns(frame, ["DENS", "PMUN21"], book[1], SHEET)
    out = pd.DataFrame(
        {
            "commune_code": clean_code(frame["CODGEO"], 5),
            "density_level": frame["DENS"].to_numpy(),
            "population_2021": frame["PMUN21"].to_numpy(),
        }
    )
    bad = ~out["density_level"].isin(list(DENSITY_CLASSES))
    if bad.any():
        raise SourceFormatError(
            book[1],
            f"density level outside 1-7 for communes {out['commune_code'][bad].tolist()[:5]}",
            sheet=SHEET,
            column="DENS",
        )
    return out
