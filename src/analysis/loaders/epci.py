"""Reader of INSEE's intercommunalités (EPCI) table, géographie 2023: official EPCI names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import sources
from analysis.loaders._read import read_insee_sheet

SOURCE = "insee_epci_composition"


def read_insee_epci_names(path: Path | None = None) -> pd.Series:
    """INSEE EPCI names (géographie 2023) indexed by EPCI code."""
    path = path or sources.require_raw(SOURCE)
    frame = read_insee_sheet(path, "EPCI", ["EPCI", "LIBEPCI"]).dropna(how="all")
    return frame.set_index("EPCI")["LIBEPCI"]
