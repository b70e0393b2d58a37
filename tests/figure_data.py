"""Synthetic data and fixtures shared by the tests of figures, maps, the gallery and labels.

Tiny inline tables (a two-row indicator dictionary, squares in Lambert-93, three
results); a test module imports ``close_figures`` to close its figures after each test.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from shapely.geometry import box  # noqa: E402

from analysis import figures  # noqa: E402

NBSP, NNBSP, MINUS = "\u00a0", "\u202f", "\u2212"
SOURCE = "insee_unemployment_ze"

# Synthetic unit-test fixtures: a tiny indicator dictionary, results and maps.
SYNTHETIC_DICTIONARY = pd.DataFrame(
    {
        "label_fr": ["Taux de chômage", "Emploi salarié"],
        "label_en": ["Unemployment rate", "Salaried employment"],
        "unit": ["pct", "jobs"],
        "unit_label_fr": ["%", "emplois"],
        "unit_label_en": ["%", "jobs"],
        "source_ids": [("insee_unemployment_ze",), ("urssaf_employment_ze",)],
    },
    index=pd.Index(["unemployment_rate", "salaried_employment"], name="indicator"),
)


def synthetic_grid(values, *, crs=2154) -> gpd.GeoDataFrame:
    """Synthetic squares in Lambert-93, four per row, with names and a value column."""
    geometries = [
        box(
            600_000 + (i % 4) * 50_000,
            6_600_000 + (i // 4) * 50_000,
            650_000 + (i % 4) * 50_000,
            6_650_000 + (i // 4) * 50_000,
        )
        for i in range(len(values))
    ]
    return gpd.GeoDataFrame(
        {
            "territory_code": [f"Z{i:02d}" for i in range(len(values))],
            "territory_name": [f"Zone {i}" for i in range(len(values))],
            "unemployment_rate": values,
        },
        geometry=geometries,
        crs=crs,
    )


def synthetic_results() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "specification": ["Appariement", "Tous les territoires", "Doubles différences"],
            "effect": [0.31, -0.24, 0.12],
            "ci_low": [-0.1, -0.52, 0.02],
            "ci_high": [0.72, 0.04, 0.22],
            "n": [120, 1300, 240],
            "n_treated": [30, 45, 40],
            "outcome": "unemployment_rate",
        }
    )


def effects_figure():
    return figures.plot_effects(synthetic_results(), dictionary=SYNTHETIC_DICTIONARY).figure


@pytest.fixture(autouse=True)
def close_figures():
    """Close every figure a test opened."""
    yield
    plt.close("all")
