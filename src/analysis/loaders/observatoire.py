"""Loaders for Observatoire des territoires exports: population and area per zone d'emploi."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.loaders._read import clean_code, numeric_columns, open_workbook, read_table

POPULATION_SOURCE = "ot_population_ze"
AREA_SOURCE = "ot_area_ze"
SHEET = "Data"


def _read_export(path: Path, value_column: str) -> pd.DataFrame:
    book = open_workbook(path)
    frame = read_table(path, SHEET, "codgeo", ["codgeo", "an", value_column], workbook=book)
    frame = numeric_columns(frame, [value_column], book[1], SHEET)
    return pd.DataFrame(
        {
            "code": clean_code(frame["codgeo"], 4),
            "period": clean_code(frame["an"]),
            "value": frame[value_column].to_numpy(),
        }
    ).dropna(subset=["value"])


def load_population_ze(path: Path) -> pd.DataFrame:
    """Population of each zone d'emploi 2020: census years from 1876, yearly 2006-2020."""
    frame = _read_export(path, "pop")
    return frame.assign(level="ze2020", indicator="population", source_id=POPULATION_SOURCE).loc[
        :, ["level", "code", "period", "indicator", "value", "source_id"]
    ]


def load_area_ze(path: Path) -> pd.DataFrame:
    """Land area (km²) of each zone d'emploi 2020, per census year 1968-2020."""
    frame = _read_export(path, "superf_choro")
    return frame.assign(level="ze2020", indicator="area_km2", source_id=AREA_SOURCE).loc[
        :, ["level", "code", "period", "indicator", "value", "source_id"]
    ]


def density_from_population_area(population: pd.DataFrame, area: pd.DataFrame) -> pd.DataFrame:
    """``density_inhab_km2`` for every (level, code, period) present in both inputs.

    Args:
        population: panel rows of indicator ``population``.
        area: panel rows of indicator ``area_km2``.
    """
    keys = ["level", "code", "period"]
    joined = population.loc[:, [*keys, "value", "source_id"]].merge(
        area.loc[:, [*keys, "value"]],
        on=keys,
        suffixes=("_population", "_area"),
        validate="one_to_one",
    )
    joined = joined[joined["value_area"] > 0]
    return pd.DataFrame(
        {
            "level": joined["level"],
            "code": joined["code"],
            "period": joined["period"],
            "indicator": "density_inhab_km2",
            "value": (joined["value_population"] / joined["value_area"]).astype(np.float64),
            "source_id": joined["source_id"],
        }
    ).reset_index(drop=True)
