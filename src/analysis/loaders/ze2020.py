"""Reader of INSEE's zonage en zones d'emploi 2020 (composition communale, géographie 2023)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import sources
from analysis.loaders._read import read_insee_sheet

SOURCE = "insee_ze2020_composition"


def read_ze2020(path: Path | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """ZE2020 composition (``CODGEO``, ``LIBGEO``, ``ZE2020``) and zone names indexed by code."""
    path = path or sources.require_raw(SOURCE)
    composition = read_insee_sheet(
        path, "Composition_communale", ["CODGEO", "LIBGEO", "ZE2020"]
    ).dropna(how="all")
    zones = read_insee_sheet(path, "ZE2020", ["ZE2020", "LIBZE2020"]).dropna(how="all")
    return composition, zones.set_index("ZE2020")["LIBZE2020"]
