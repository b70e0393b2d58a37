"""Where every folder of the project is: the only module that knows the layout.

Every path is derived from the package location, so notebooks and modules import
paths and never type them. ``PTCE_DATA_DIR`` moves the whole ``data/`` tree (used
by tests that must not touch the user's data); ``PTCE_REPORTS_DIR`` moves
``reports/``.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The repository root (``src/analysis/paths.py`` → two levels up)."""

SOURCES_CATALOGUE = PROJECT_ROOT / "data" / "sources.toml"
REGISTRY_DIR = PROJECT_ROOT / "data" / "registry"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
CONFIG_DIR = PROJECT_ROOT / "config"
REPORTS_CONFIG = CONFIG_DIR / "reports.yml"
BENCHMARKS_DIR = PROJECT_ROOT / "benchmarks"
STYLE_SHEET = Path(__file__).resolve().parent / "ptce.mplstyle"

DEFAULT_MIRROR = PROJECT_ROOT.parent / "shared" / "data" / "mirror"
"""Where the data mirror sits next to a checkout on the project's machines."""


def data_dir() -> Path:
    """The ``data/`` folder (``PTCE_DATA_DIR`` overrides it)."""
    return Path(os.environ.get("PTCE_DATA_DIR", PROJECT_ROOT / "data"))


def raw_dir() -> Path:
    """``data/raw``: fetched files, read-only, one sub-folder per source id."""
    return data_dir() / "raw"


def processed_dir() -> Path:
    """``data/processed``: every derived table."""
    return data_dir() / "processed"


def territories_dir() -> Path:
    """``data/processed/territories``: one GeoParquet per zoning level."""
    return processed_dir() / "territories"


def reports_dir() -> Path:
    """``reports/`` (``PTCE_REPORTS_DIR`` overrides it)."""
    return Path(os.environ.get("PTCE_REPORTS_DIR", PROJECT_ROOT / "reports"))


def default_figures_dir() -> Path:
    """``reports/figures``: where figures go unless told otherwise."""
    return reports_dir() / "figures"


def raw_source_dir(source_id: str) -> Path:
    """Folder of one source in ``data/raw``."""
    return raw_dir() / source_id


def communes_table() -> Path:
    return processed_dir() / "communes.parquet"


def territory_layer(level: str) -> Path:
    return territories_dir() / f"{level}.parquet"


def indicators_table() -> Path:
    return processed_dir() / "indicators.parquet"


def cooperation_table() -> Path:
    return processed_dir() / "cooperation.parquet"


def default_registry() -> Path:
    """The project's registry of cooperation initiatives."""
    return REGISTRY_DIR / "initiatives.csv"


def crosswalk_table() -> Path:
    """Old commune codes → today's codes, with re-aggregation weights."""
    return processed_dir() / "commune_code_crosswalk.parquet"


def former_commune_names_table() -> Path:
    """Names of former communes (déléguées, associées) → today's commune."""
    return processed_dir() / "former_commune_names.parquet"


def backbone_report() -> Path:
    """Every decision the backbone build took (inferred zones, missing boundaries…)."""
    return processed_dir() / "backbone_report.csv"


def cooperation_territories_table() -> Path:
    """Cooperation counts per territory of every level."""
    return processed_dir() / "cooperation_territories.parquet"


def cooperation_report() -> Path:
    """Public-list rows the cooperation build could not place."""
    return processed_dir() / "cooperation_report.csv"


HIDDEN_PREFIX = "."
"""A file or folder whose name starts with this is bookkeeping, never content (a killed
batch's ``.build-<run>-…`` folder, the lock, checksums): never listed, shown or published."""


def is_hidden(path: Path | str, root: Path | str) -> bool:
    """Whether any part of ``path`` below ``root`` starts with :data:`HIDDEN_PREFIX`."""
    relative = Path(path).relative_to(root)
    return any(part.startswith(HIDDEN_PREFIX) for part in relative.parts)
