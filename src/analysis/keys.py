"""Shared constants: zoning levels and their code columns, national codes, kinds, precisions.

The ground floor of the package: every module that needs one of these names
imports it from here, so each is written once.
"""

from __future__ import annotations

LEVELS: tuple[str, ...] = ("commune", "epci", "ze2020", "dep", "reg", "fr")
"""Every zoning level, finest first."""

ZONING_LEVELS: tuple[str, ...] = ("epci", "ze2020", "dep", "reg", "fr")
"""Levels above the commune (one GeoParquet layer each)."""

LEVEL_CODE_COLUMN: dict[str, str] = {
    "commune": "commune_code",
    "epci": "epci_code",
    "ze2020": "ze2020_code",
    "dep": "dep_code",
    "reg": "reg_code",
    "fr": "fr_code",
}
"""The column of ``communes.parquet`` (and of located tables) holding each level's code."""

FRANCE_CODE = "FR"
"""France (excluding Mayotte) — INSEE's national code in recent files."""

METROPOLE_CODE = "FRM"
"""Metropolitan France — the national code of long series (from 1982)."""

NATIONAL_CODES: tuple[str, ...] = (FRANCE_CODE, METROPOLE_CODE)
"""National rows of the indicators table, in order of preference."""

NATIONAL_NAMES: dict[str, dict[str, str]] = {
    FRANCE_CODE: {"fr": "France", "en": "France"},
    METROPOLE_CODE: {"fr": "France métropolitaine", "en": "Metropolitan France"},
}

NO_EPCI_CODE = "ZZZZZZZZZ"
"""INSEE's code for the four island communes that belong to no EPCI."""

KINDS: tuple[str, ...] = (
    "ptce",
    "tzcld",
    "tiers_lieu",
    "fabrique_territoire",
    "manufacture_proximite",
    "scic",
    "scop",
    "groupement_employeurs",
)
"""Kinds of cooperation initiative, in display order."""

LOCATION_PRECISIONS: tuple[str, ...] = ("commune", "departement", "region")
"""How precisely an initiative is located, finest first."""

LEVEL_PRECISIONS: dict[str, tuple[str, ...]] = {
    "commune": ("commune",),
    "epci": ("commune",),
    "ze2020": ("commune",),
    "dep": ("commune", "departement"),
    "reg": LOCATION_PRECISIONS,
    "fr": LOCATION_PRECISIONS,
}
"""Which precisions count at each level: a row known only by its département
never counts in a zone d'emploi or an EPCI."""

LANGS: tuple[str, ...] = ("fr", "en")
"""Languages of every label, figure and report (French first, the default)."""

FICHE_LEVELS: tuple[str, ...] = ("reg", "dep", "ze2020", "epci")
"""Levels a territory fiche can be made for (the report batch makes ``reg`` and ``dep``)."""


FIGURE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf", "slide_png")
"""Files a saved figure can have: print PNG (300 dpi), SVG, PDF, 16:9 slide PNG."""

FIGURE_SIDECAR_SCHEMA = "ptce-figure/1"
"""``schema`` of the JSON written beside each saved figure (read by the gallery and the site)."""

SLIDE_SIZE_INCHES: tuple[float, float] = (13.333, 7.5)
"""16:9, the size of a PowerPoint widescreen slide."""
