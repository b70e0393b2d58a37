"""The cooperation registry: its CSV format, validation, geocoding and the cooperation tables.

A registry is a plain CSV (one row per initiative and label) that the study team
edits in a spreadsheet; ``data/registry/README.md`` documents its columns. This
module reads it, checks it (every problem at once, with row, column, value and
fix), places every row on a commune, département or région of the backbone, adds
the public lists of the data mirror (CGET tiers-lieux 2019, ANCT Fabriques de
territoire and Manufactures de proximité) and writes ``cooperation.parquet``
(one row per initiative-label) and ``cooperation_territories.parquet`` (counts
per territory of each level).

Row numbers are the line numbers a spreadsheet shows: the header is line 1, the
first initiative line 2. Pure functions use the frame's index as the row number;
:func:`read_registry` sets it that way.
"""

from __future__ import annotations

import csv
import difflib
import html
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis import paths, sources
from analysis.atomic import read_processed_parquet, write_csv_atomically, write_parquet_atomically

KINDS = ("ptce", "tzcld", "tiers_lieu", "fabrique_territoire", "manufacture_proximite")
"""Kinds of cooperation initiative the registry accepts (add one here to extend)."""

LOCATION_PRECISIONS = ("commune", "departement", "region")
"""How precisely a row is located, finest first."""

REGISTRY_SOURCE_ID = "registry"
"""``source_id`` of rows that come from a registry CSV (not from the catalogue)."""

INPUT_SOURCES: tuple[str, ...] = (
    "cget_tiers_lieux_2019",
    "anct_fabriques_territoire",
    "anct_manufactures_proximite",
)
"""Catalogue ids :func:`build_cooperation` reads (besides the backbone and the registry)."""

REGISTRY_COLUMNS = (
    "initiative_id",
    "name",
    "kind",
    "wave",
    "year",
    "lead_structure",
    "commune_code",
    "commune_name",
    "dep_code",
    "reg_code",
    "longitude",
    "latitude",
    "perimeter_communes",
    "themes",
    "source_url",
    "source_title",
    "note",
)
"""Columns of the registry format, in the order the project's file uses."""

REQUIRED_COLUMNS = ("initiative_id", "name", "kind", "wave", "source_url")
"""Columns that must exist and be filled on every row."""

LOCATION_COLUMNS = ("commune_code", "commune_name", "dep_code", "reg_code", "longitude", "latitude")

ARRONDISSEMENT_PARENTS = (
    (75101, 75120, "75056"),  # Paris
    (69381, 69389, "69123"),  # Lyon
    (13201, 13216, "13055"),  # Marseille
)
"""Municipal arrondissement codes (COG) and the commune they belong to."""

COOPERATION_COLUMNS = (
    "initiative_id",
    "name",
    "kind",
    "wave",
    "year",
    "source_url",
    "source_id",
    "lead_structure",
    "commune_code",
    "commune_name_official",
    "perimeter_commune_codes",
    "epci_code",
    "ze2020_code",
    "dep_code",
    "reg_code",
    "location_precision",
    "location_method",
    "longitude",
    "latitude",
    "coordinates_from",
)
"""Columns of ``cooperation.parquet`` (one row per initiative-label)."""

NEAREST_TOLERANCE_M = 2000.0
"""Public lists only: a point this close to a commune (sea, border) is placed in it."""

_ARTICLES = frozenset({"le", "la", "les", "l"})
_SAINTS = {"saint": "st", "sainte": "ste"}
_CODE_PATTERN = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_DEP_PATTERN = re.compile(r"^(\d{2}|2[AB]|97[1-8])$")
_REG_PATTERN = re.compile(r"^\d{2}$")
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_WAVE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_URL_PATTERN = re.compile(r"^https?://\S+$")


class RegistryError(ValueError):
    """A registry (or public list) has problems; ``problems`` lists them all."""

    def __init__(self, source: str, problems: Sequence[RegistryProblem]):
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {len(self.problems)} problem(s)"]
        lines += [f"  {p}" for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"  … and {len(self.problems) - 50} more (run `ptce registry check`).")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class RegistryProblem:
    """One problem of one cell (or of the file when ``row`` is None)."""

    row: int | None
    column: str
    value: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        return (
            f"{where}, column {self.column!r}, value {self.value!r}: {self.message} Fix: {self.fix}"
        )


# ---------------------------------------------------------------------------
# Reading and structural validation
# ---------------------------------------------------------------------------


def _sniff_delimiter(path: Path) -> str:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = handle.readline()
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_registry(path: Path | str | None = None) -> pd.DataFrame:
    """Read a registry CSV as text, without judging it.

    Accepts a comma-, semicolon- or tab-separated UTF-8 file (with or without the
    BOM spreadsheets add). Cells are stripped; empty cells are empty strings;
    missing optional columns are added empty.

    Args:
        path: the CSV; the project's registry when None.

    Returns:
        One row per line, indexed by the spreadsheet line number (``row``).
    """
    path = Path(path) if path is not None else paths.default_registry()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such registry file.")
    frame = pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        sep=_sniff_delimiter(path),
        encoding="utf-8-sig",
    )
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.apply(lambda column: column.str.strip())
    for column in REGISTRY_COLUMNS:
        if column not in frame.columns and column not in REQUIRED_COLUMNS:
            frame[column] = ""
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    frame.attrs["path"] = str(path)
    return frame


def _is_number(value: str) -> bool:
    try:
        float(value.replace(",", "."))
    except ValueError:
        return False
    return True


def _in_range(low: float, high: float):
    def check(value: str) -> bool:
        return value == "" or (_is_number(value) and low <= float(value.replace(",", ".")) <= high)

    return check


def _year_ok(value: str) -> bool:
    return value == "" or (value.isdigit() and 1980 <= int(value) <= 2100)


# check name -> (test on one cell, message, fix); the name is pandera's `error`
_CELL_CHECKS: dict[str, tuple[str, object, str, str]] = {
    "id_filled": (
        "initiative_id",
        lambda v: v != "",
        "initiative_id is empty.",
        "give the row an identifier (letters, digits, '-', '_', '.').",
    ),
    "id_format": (
        "initiative_id",
        lambda v: v == "" or bool(_ID_PATTERN.match(v)),
        "initiative_id has characters other than letters, digits, '-', '_' or '.'.",
        "write it like 'pole-sud-romans'.",
    ),
    "name_filled": ("name", lambda v: v != "", "name is empty.", "write the initiative's name."),
    "kind_known": (
        "kind",
        lambda v: v in KINDS,
        "kind is not one of the known kinds.",
        f"use one of: {', '.join(KINDS)}.",
    ),
    "wave_filled": (
        "wave",
        lambda v: v != "",
        "wave is empty.",
        "name the label or call, e.g. 'ami2021_laureat' or 'other_known'.",
    ),
    "wave_format": (
        "wave",
        lambda v: v == "" or bool(_WAVE_PATTERN.match(v)),
        "wave must be lower-case letters, digits and underscores.",
        "write it like 'ami2021_laureat'.",
    ),
    "year_format": (
        "year",
        _year_ok,
        "year is not a four-digit year between 1980 and 2100.",
        "write the year like 2014, or leave it empty when unknown.",
    ),
    "url_filled": (
        "source_url",
        lambda v: v != "",
        "source_url is empty: every row needs a source.",
        "paste the address of the public page that supports the row.",
    ),
    "url_format": (
        "source_url",
        lambda v: v == "" or bool(_URL_PATTERN.match(v)),
        "source_url is not an http(s) address.",
        "paste the full address, starting with https://.",
    ),
    "code_format": (
        "commune_code",
        lambda v: v == "" or bool(_CODE_PATTERN.match(v)),
        "commune_code is not a 5-character INSEE code.",
        "write it as text with its leading zero, e.g. '01004' or '2A004' "
        "(spreadsheets drop leading zeros: format the column as text).",
    ),
    "dep_format": (
        "dep_code",
        lambda v: v == "" or bool(_DEP_PATTERN.match(v)),
        "dep_code is not a département code.",
        "write two characters ('01', '2A') or three for overseas ('974').",
    ),
    "reg_format": (
        "reg_code",
        lambda v: v == "" or bool(_REG_PATTERN.match(v)),
        "reg_code is not a two-digit INSEE région code.",
        "write it like '84' or '01'.",
    ),
    "longitude_range": (
        "longitude",
        _in_range(-180, 180),
        "longitude is not a number in [-180, 180].",
        "write decimal degrees (WGS84), e.g. 4.835.",
    ),
    "latitude_range": (
        "latitude",
        _in_range(-90, 90),
        "latitude is not a number in [-90, 90].",
        "write decimal degrees (WGS84), e.g. 45.76.",
    ),
}


def _registry_schema() -> pa.DataFrameSchema:
    columns: dict[str, list[pa.Check]] = {}
    for name, (column, test, _message, _fix) in _CELL_CHECKS.items():
        columns.setdefault(column, []).append(pa.Check(test, element_wise=True, error=name))
    return pa.DataFrameSchema(
        {
            column: pa.Column(str, checks=checks, nullable=False)
            for column, checks in columns.items()
        },
        strict=False,
        coerce=False,
    )


def validate_registry(frame: pd.DataFrame) -> list[RegistryProblem]:
    """Check a registry's columns and cells, without the backbone.

    Covers required columns and values, kinds, formats of codes, years, URLs and
    coordinates, duplicate (initiative_id, wave) pairs and rows with no location.

    Args:
        frame: a registry as :func:`read_registry` returns it (index = row numbers).

    Returns:
        Every problem found (empty when the registry is well formed).
    """
    problems: list[RegistryProblem] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    for column in missing:
        problems.append(
            RegistryProblem(
                None,
                column,
                "",
                f"the required column {column!r} is missing.",
                f"add a column named {column!r} (see data/registry/README.md).",
            )
        )
    if missing:
        return problems
    frame = frame.copy()
    for column in REGISTRY_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    frame = frame.fillna("").astype(str)
    try:
        _registry_schema().validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        for case in errors.failure_cases.itertuples():
            check = str(case.check)
            if check in _CELL_CHECKS:
                column, _test, message, fix = _CELL_CHECKS[check]
                problems.append(
                    RegistryProblem(int(case.index), column, str(case.failure_case), message, fix)
                )
            else:  # a dtype failure: cells that are not text
                problems.append(
                    RegistryProblem(
                        None if case.index is None else int(case.index),
                        str(case.column),
                        str(case.failure_case),
                        f"unexpected content ({check}).",
                        "save the file as CSV with text cells.",
                    )
                )
    for row, values in frame.iterrows():
        if not any(values[c] for c in LOCATION_COLUMNS):
            problems.append(
                RegistryProblem(
                    int(row),
                    "commune_code",
                    "",
                    "the row has no location.",
                    "fill commune_code, or commune_name with dep_code, or longitude/latitude, "
                    "or at least dep_code or reg_code when only that is known.",
                )
            )
        if bool(values["longitude"]) != bool(values["latitude"]):
            problems.append(
                RegistryProblem(
                    int(row),
                    "longitude" if not values["longitude"] else "latitude",
                    "",
                    "longitude and latitude go together.",
                    "fill both, or neither.",
                )
            )
    duplicated = frame.duplicated(subset=["initiative_id", "wave"], keep=False) & (
        frame["initiative_id"] != ""
    )
    for row, values in frame[duplicated].iterrows():
        others = [
            int(r)
            for r in frame.index[
                duplicated
                & (frame["initiative_id"] == values["initiative_id"])
                & (frame["wave"] == values["wave"])
            ]
            if r != row
        ]
        problems.append(
            RegistryProblem(
                int(row),
                "initiative_id",
                values["initiative_id"],
                f"the pair (initiative_id, wave) also appears on row(s) {others}.",
                "an initiative appears once per wave: merge the rows or change the wave.",
            )
        )
    return sorted(problems, key=lambda p: (p.row or 0, p.column))


# ---------------------------------------------------------------------------
# Geocoding
# ---------------------------------------------------------------------------


def normalise_commune_name(name: str) -> str:
    """A matching key that ignores case, accents, punctuation, articles and Saint/St.

    ``"L'Île-Saint-Denis"``, ``"ile st denis"`` and ``"Île-Saint-Denis (L')"`` give
    the same key. Articles (le, la, les, l') are dropped wherever they stand;
    ``saint``/``sainte`` become ``st``/``ste``; spaces are removed last.
    """
    text = name.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae").replace("Æ", "Ae")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    tokens = [t for t in re.split(r"[^a-z0-9]+", text) if t and t not in _ARTICLES]
    return "".join(_SAINTS.get(t, t) for t in tokens)


def arrondissement_parent(code: str) -> str | None:
    """The commune of a municipal arrondissement code (Paris, Lyon, Marseille), else None."""
    if not code.isdigit():
        return None
    number = int(code)
    for low, high, parent in ARRONDISSEMENT_PARENTS:
        if low <= number <= high:
            return parent
    return None


class _Gazetteer:
    """Look-ups over the communes frame, built once per :func:`locate_rows` call."""

    def __init__(self, communes: pd.DataFrame, crosswalk: pd.DataFrame | None):
        needed = {"commune_code", "commune_name", "dep_code", "reg_code"}
        missing = needed - set(communes.columns)
        if missing:
            raise ValueError(
                f"communes frame lacks columns {sorted(missing)}; pass territories.load_communes()."
            )
        table = pd.DataFrame(communes.drop(columns="geometry", errors="ignore"))
        if table["commune_code"].duplicated().any():
            raise ValueError("communes frame has duplicate commune_code values.")
        self.table = table.set_index("commune_code")
        self.names = self.table["commune_name"].astype(str).to_dict()
        self.deps = self.table["dep_code"].astype(str).to_dict()
        keys = self.table["commune_name"].astype(str).map(normalise_commune_name)
        self.by_dep_key: dict[tuple[str, str], list[str]] = {}
        self.by_key: dict[str, list[str]] = {}
        self.keys_by_dep: dict[str, dict[str, list[str]]] = {}
        for code, key in keys.items():
            dep = self.deps[code]
            self.by_dep_key.setdefault((dep, key), []).append(code)
            self.by_key.setdefault(key, []).append(code)
            self.keys_by_dep.setdefault(dep, {}).setdefault(key, []).append(code)
        dep_reg = self.table[["dep_code", "reg_code"]].drop_duplicates()
        if dep_reg["dep_code"].duplicated().any():
            raise ValueError("communes frame maps a dep_code to several reg_code values.")
        self.dep_to_reg = dict(zip(dep_reg["dep_code"], dep_reg["reg_code"], strict=True))
        self.regs = set(self.dep_to_reg.values())
        self.old: dict[str, list[str]] = {}
        if crosswalk is not None and len(crosswalk):
            pairs = (
                crosswalk[["old_commune_code", "commune_code"]]
                .astype(str)
                .drop_duplicates()
                .sort_values(["old_commune_code", "commune_code"])
            )
            for old_code, new_code in zip(
                pairs["old_commune_code"], pairs["commune_code"], strict=True
            ):
                self.old.setdefault(old_code, []).append(new_code)

    def label(self, code: str) -> str:
        return f"{self.names.get(code, '?')} ({code}, dép. {self.deps.get(code, '?')})"


@dataclass
class _Resolution:
    commune_code: str | None = None
    method: str = ""
    precision: str | None = None
    dep_code: str | None = None
    reg_code: str | None = None
    needs_point: bool = False


def _resolve_name(
    name: str,
    dep: str,
    gazetteer: _Gazetteer,
    row: int,
    column: str,
    problems: list[RegistryProblem],
) -> str | None:
    key = normalise_commune_name(name)
    if not dep:
        candidates = gazetteer.by_key.get(key, [])
        listed = "; ".join(gazetteer.label(c) for c in candidates[:10]) or "none"
        problems.append(
            RegistryProblem(
                row,
                column,
                name,
                f"a commune name needs its département; candidates: {listed}.",
                "fill dep_code (or give commune_code).",
            )
        )
        return None
    if dep not in gazetteer.keys_by_dep:
        return None  # reported once by the dep_code check
    candidates = gazetteer.by_dep_key.get((dep, key), [])
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        keys = gazetteer.keys_by_dep[dep]
        close = difflib.get_close_matches(key, list(keys), n=5, cutoff=0.75)
        if not close:  # e.g. "Montaigu" for "Montaigu-Vendée"
            close = [k for k in keys if k.startswith(key) or key.startswith(k)][:5]
        listed = "; ".join(gazetteer.label(c) for k in close for c in keys[k]) or "none"
        problems.append(
            RegistryProblem(
                row,
                column,
                name,
                f"no commune of that name in département {dep}; close names: {listed}.",
                "correct the spelling (the COG 2025 name), or give commune_code.",
            )
        )
        return None
    listed = "; ".join(gazetteer.label(c) for c in candidates)
    problems.append(
        RegistryProblem(
            row,
            column,
            name,
            f"several communes of département {dep} match: {listed}.",
            "give commune_code to choose one.",
        )
    )
    return None


def _resolve_code(code: str, gazetteer: _Gazetteer) -> tuple[list[str], str]:
    if code in gazetteer.names:
        return [code], "code"
    parent = arrondissement_parent(code)
    if parent is not None and parent in gazetteer.names:
        return [parent], "arrondissement"
    if code in gazetteer.old:
        targets = [c for c in gazetteer.old[code] if c in gazetteer.names]
        return targets, "old_code"
    return [], "unknown"


def _resolve_row(
    row: int,
    values: pd.Series,
    gazetteer: _Gazetteer,
    strict_codes: bool,
    problems: list[RegistryProblem],
) -> _Resolution:
    code = values["commune_code"]
    name = values["commune_name"]
    dep = values["dep_code"]
    reg = values["reg_code"]
    has_point = bool(values["longitude"]) and bool(values["latitude"])
    if dep and dep not in gazetteer.dep_to_reg:
        problems.append(
            RegistryProblem(
                row,
                "dep_code",
                dep,
                "unknown département code.",
                "use a code of the COG 2025 (e.g. '01', '2A', '974').",
            )
        )
    if reg and reg not in gazetteer.regs:
        problems.append(
            RegistryProblem(
                row,
                "reg_code",
                reg,
                "unknown région code.",
                "use an INSEE région code of the COG 2025 (e.g. '84').",
            )
        )
    resolution = _Resolution()
    if code:
        targets, method = _resolve_code(code, gazetteer)
        if len(targets) == 1:
            resolution.commune_code, resolution.method = targets[0], method
            if (
                method == "code"
                and name
                and normalise_commune_name(name) != normalise_commune_name(gazetteer.names[code])
            ):
                problems.append(
                    RegistryProblem(
                        row,
                        "commune_name",
                        name,
                        f"commune_code {code} is {gazetteer.label(code)}, not this name.",
                        "correct the code or the name (or empty one of them).",
                    )
                )
        elif has_point and (len(targets) > 1 or not strict_codes):
            resolution.needs_point = True
            resolution.method = "coordinates_split_code" if targets else "coordinates_unknown_code"
        elif targets:
            listed = "; ".join(gazetteer.label(c) for c in targets)
            problems.append(
                RegistryProblem(
                    row,
                    "commune_code",
                    code,
                    f"this former code was split between several communes: {listed}.",
                    "give today's commune_code, or longitude/latitude.",
                )
            )
        else:
            problems.append(
                RegistryProblem(
                    row,
                    "commune_code",
                    code,
                    "unknown commune code (neither current nor former).",
                    "check the INSEE code (COG 2025), or give commune_name with dep_code.",
                )
            )
    elif name:
        found = _resolve_name(name, dep, gazetteer, row, "commune_name", problems)
        if found:
            resolution.commune_code, resolution.method = found, "name"
    elif has_point:
        resolution.needs_point, resolution.method = True, "coordinates"
    elif dep:
        resolution.precision, resolution.method = "departement", "departement"
        resolution.dep_code = dep
        resolution.reg_code = gazetteer.dep_to_reg.get(dep)
    elif reg:
        resolution.precision, resolution.method, resolution.reg_code = "region", "region", reg
    if resolution.commune_code:
        resolution.precision = "commune"
        resolution.dep_code = gazetteer.deps[resolution.commune_code]
        resolution.reg_code = gazetteer.dep_to_reg[resolution.dep_code]
        if (
            dep
            and dep in gazetteer.dep_to_reg
            and dep != resolution.dep_code
            and resolution.method != "name"
        ):
            problems.append(
                RegistryProblem(
                    row,
                    "dep_code",
                    dep,
                    f"the commune {gazetteer.label(resolution.commune_code)} "
                    "is in another département.",
                    "correct dep_code or the commune.",
                )
            )
    if reg and reg in gazetteer.regs:
        implied = resolution.reg_code or (gazetteer.dep_to_reg.get(dep) if dep else None)
        if implied and implied != reg:
            problems.append(
                RegistryProblem(
                    row,
                    "reg_code",
                    reg,
                    f"the location is in région {implied}, not {reg}.",
                    "correct reg_code or the commune/département.",
                )
            )
    return resolution


def _points_to_communes(
    points: pd.DataFrame, communes: pd.DataFrame, tolerance_m: float | None
) -> pd.DataFrame:
    """Commune of each point (index kept): columns commune_code, method, distance_m."""
    import geopandas as gpd

    if "geometry" not in communes.columns or not isinstance(communes, gpd.GeoDataFrame):
        raise ValueError(
            "locating by coordinates needs the communes' boundaries "
            "(territories.load_communes(with_geometry=True))."
        )
    if communes.crs is None:
        raise ValueError("the communes GeoDataFrame has no CRS.")
    polygons = communes[["commune_code", "geometry"]]
    polygons = polygons[polygons.geometry.notna() & ~polygons.geometry.is_empty]
    geo = gpd.GeoDataFrame(
        index=points.index,
        geometry=gpd.points_from_xy(
            points["longitude"].astype(float), points["latitude"].astype(float)
        ),
        crs="EPSG:4326",
    ).to_crs(polygons.crs)
    geo.index.name = "point_row"
    joined = gpd.sjoin(geo, polygons, how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    result = pd.DataFrame(
        {"commune_code": joined["commune_code"], "method": "coordinates", "distance_m": 0.0},
        index=geo.index,
    )
    outside = result["commune_code"].isna()
    if outside.any():
        metric = geo[outside]
        polys = polygons
        if not polygons.crs.is_projected:
            metric = metric.to_crs(3857)
            polys = polygons.to_crs(3857)
        nearest = gpd.sjoin_nearest(metric, polys, how="left", distance_col="distance_m")
        nearest = nearest[~nearest.index.duplicated(keep="first")]
        result.loc[outside, "distance_m"] = nearest["distance_m"]
        accept = outside & (
            result["distance_m"] <= (tolerance_m if tolerance_m is not None else -1)
        )
        result.loc[accept, "commune_code"] = nearest.loc[accept[accept].index, "commune_code"]
        result.loc[accept, "method"] = "coordinates_nearest"
        result.loc[outside & ~accept, "nearest_code"] = nearest["commune_code"]
    return result


def locate_rows(
    frame: pd.DataFrame,
    communes: pd.DataFrame,
    crosswalk: pd.DataFrame | None = None,
    *,
    strict_codes: bool = True,
    nearest_tolerance_m: float | None = None,
    _gazetteer: _Gazetteer | None = None,
) -> tuple[pd.DataFrame, list[RegistryProblem]]:
    """Place every row on a commune, département or région, and list what fails.

    Resolution order per row: ``commune_code`` (current, municipal arrondissement →
    its commune, former code → today's commune through ``crosswalk``), else
    ``commune_name`` + ``dep_code`` (matched with :func:`normalise_commune_name`),
    else ``longitude``/``latitude`` (point in polygon), else ``dep_code`` alone
    (precision ``departement``), else ``reg_code`` alone (``region``). A former
    code split between several communes falls back to the coordinates when the
    row has them. ``perimeter_communes`` (names or codes separated by ';') are
    resolved the same way; the first listed commune is the row's location.

    Args:
        frame: registry rows (index = row numbers), columns as :data:`REGISTRY_COLUMNS`.
        communes: ``territories.load_communes()`` (geometry needed only for coordinates).
        crosswalk: ``territories.commune_code_crosswalk()`` (old_commune_code,
            commune_code, weight).
        strict_codes: when False (public lists), an unknown code with coordinates is
            placed by its coordinates instead of being a problem.
        nearest_tolerance_m: when set, a point outside every commune but this close
            to one is placed in it (``location_method = coordinates_nearest``).

    Returns:
        (located rows, problems). Located rows keep the input columns, overwrite
        commune_code/dep_code/reg_code with the resolved ones (empty when not
        located) and add commune_name_official, epci_code, ze2020_code,
        perimeter_commune_codes, location_precision, location_method.
    """
    frame = frame.copy()
    for column in REGISTRY_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    frame[list(REGISTRY_COLUMNS)] = frame[list(REGISTRY_COLUMNS)].fillna("").astype(str)
    for column in ("longitude", "latitude"):
        frame[column] = frame[column].str.replace(",", ".", regex=False)
    gazetteer = _gazetteer or _Gazetteer(communes, crosswalk)
    problems: list[RegistryProblem] = []
    resolutions: dict[int, _Resolution] = {}
    perimeters: dict[int, str] = {}
    for row, values in frame.iterrows():
        resolutions[row] = _resolve_row(int(row), values, gazetteer, strict_codes, problems)
        perimeters[row] = _resolve_perimeter(int(row), values, gazetteer, problems)
    wanted = [row for row, r in resolutions.items() if r.needs_point]
    point_rows = [
        row
        for row in wanted
        if _is_number(frame.at[row, "longitude"]) and _is_number(frame.at[row, "latitude"])
    ]
    if point_rows:
        found = _points_to_communes(
            frame.loc[point_rows, ["longitude", "latitude"]], communes, nearest_tolerance_m
        )
        for row in point_rows:
            code = found.at[row, "commune_code"]
            resolution = resolutions[row]
            if isinstance(code, str) and code:
                resolution.commune_code = code
                resolution.precision = "commune"
                if found.at[row, "method"] == "coordinates_nearest":
                    resolution.method = "coordinates_nearest"
                resolution.dep_code = gazetteer.deps[code]
                resolution.reg_code = gazetteer.dep_to_reg[resolution.dep_code]
            else:
                nearest = found.at[row, "nearest_code"] if "nearest_code" in found else None
                hint = (
                    f" The nearest commune is {gazetteer.label(nearest)}, "
                    f"{found.at[row, 'distance_m'] / 1000:.1f} km away."
                    if isinstance(nearest, str)
                    else ""
                )
                problems.append(
                    RegistryProblem(
                        int(row),
                        "longitude",
                        f"{frame.at[row, 'longitude']}, {frame.at[row, 'latitude']}",
                        "the point lies in no commune." + hint,
                        "check longitude/latitude (decimal degrees, WGS84, longitude first).",
                    )
                )
    located = frame.copy()
    located["commune_code"] = [resolutions[r].commune_code for r in frame.index]
    located["dep_code"] = [resolutions[r].dep_code for r in frame.index]
    located["reg_code"] = [resolutions[r].reg_code for r in frame.index]
    located["location_precision"] = [resolutions[r].precision for r in frame.index]
    located["location_method"] = [
        resolutions[r].method if resolutions[r].precision else None for r in frame.index
    ]
    located["perimeter_commune_codes"] = [perimeters[r] for r in frame.index]
    attributes = gazetteer.table.reindex(columns=["commune_name", "epci_code", "ze2020_code"])
    attributes = attributes.rename(columns={"commune_name": "commune_name_official"})
    located = located.drop(
        columns=[
            c for c in ("commune_name_official", "epci_code", "ze2020_code") if c in located.columns
        ]
    )
    located = located.join(attributes, on="commune_code", validate="many_to_one")
    for column in (
        "commune_code",
        "dep_code",
        "reg_code",
        "location_precision",
        "location_method",
        "commune_name_official",
        "epci_code",
        "ze2020_code",
        "perimeter_commune_codes",
    ):
        located[column] = located[column].astype("str").where(located[column].notna(), None)
        located[column] = located[column].replace({"": None, "None": None, "nan": None})
    return located, sorted(problems, key=lambda p: (p.row or 0, p.column))


def _resolve_perimeter(
    row: int, values: pd.Series, gazetteer: _Gazetteer, problems: list[RegistryProblem]
) -> str:
    text = values.get("perimeter_communes", "")
    if not text:
        return ""
    codes: list[str] = []
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        if _CODE_PATTERN.match(item):
            targets, _method = _resolve_code(item, gazetteer)
            if len(targets) == 1:
                codes.append(targets[0])
            else:
                problems.append(
                    RegistryProblem(
                        row,
                        "perimeter_communes",
                        item,
                        "unknown or split commune code in the perimeter.",
                        "give today's INSEE code or the commune's name.",
                    )
                )
        else:
            found = _resolve_name(
                item, values["dep_code"], gazetteer, row, "perimeter_communes", problems
            )
            if found:
                codes.append(found)
    return ";".join(dict.fromkeys(codes))


def locate(
    frame: pd.DataFrame, communes: pd.DataFrame, crosswalk: pd.DataFrame | None = None, **options
) -> pd.DataFrame:
    """:func:`locate_rows`, raising :class:`RegistryError` with every problem when any."""
    located, problems = locate_rows(frame, communes, crosswalk, **options)
    if problems:
        raise RegistryError(frame.attrs.get("path", "registry"), problems)
    return located


# ---------------------------------------------------------------------------
# Checking a registry file
# ---------------------------------------------------------------------------


def _backbone(
    communes: pd.DataFrame | None, crosswalk: pd.DataFrame | None, with_geometry: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    from analysis import territories

    if communes is None:
        communes = territories.load_communes(with_geometry=with_geometry)
    if crosswalk is None:
        crosswalk = territories.commune_code_crosswalk()
    return communes, crosswalk


def check_registry(
    path: Path | str | None = None,
    *,
    communes: pd.DataFrame | None = None,
    crosswalk: pd.DataFrame | None = None,
) -> list[RegistryProblem]:
    """Every problem of a registry file: structure, cells and locations.

    Args:
        path: the CSV; the project's registry when None.
        communes: the backbone's communes (loaded when None).
        crosswalk: the former-code crosswalk (loaded when None).

    Returns:
        The problems, sorted by row (empty when the registry is valid).
    """
    frame = read_registry(path)
    problems = validate_registry(frame)
    if any(p.row is None for p in problems):
        return problems  # columns missing: locating would only repeat them
    bad_rows = {p.row for p in problems if p.column in LOCATION_COLUMNS}
    communes, crosswalk = _backbone(communes, crosswalk)
    _located, location_problems = locate_rows(frame.drop(index=list(bad_rows)), communes, crosswalk)
    return sorted(problems + location_problems, key=lambda p: (p.row or 0, p.column))


def load_registry(path: Path | str | None = None) -> pd.DataFrame:
    """Read a registry and check its structure, raising :class:`RegistryError` on problems.

    Locations are not resolved here (see :func:`locate` or :func:`check_registry`).
    """
    frame = read_registry(path)
    problems = validate_registry(frame)
    if problems:
        raise RegistryError(frame.attrs["path"], problems)
    frame["source_id"] = REGISTRY_SOURCE_ID
    return frame


# ---------------------------------------------------------------------------
# Public lists of the data mirror
# ---------------------------------------------------------------------------


def _catalogue_fields(source_id: str) -> tuple[str, str]:
    source = sources.get_source(source_id)
    return source.landing_page, source.title


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{where}: columns {missing} are missing; the file's layout changed "
            "(update the loader in analysis.registry)."
        )


def tiers_lieux_to_registry(
    raw: pd.DataFrame, *, source_url: str = "", source_title: str = "", where: str = "tiers-lieux"
) -> pd.DataFrame:
    """CGET 2019 tiers-lieux rows as registry rows (kind ``tiers_lieu``).

    ``INSEECOM`` codes are of the COG 2019 (resolved later through the
    crosswalk); a code ``0`` leaves the row to its coordinates. The file's
    zones d'emploi (2010) and départements are ignored: the backbone recomputes them.
    """
    _require_columns(raw, ("ID", "NOM_TL", "INSEECOM", "LAT", "LONG", "TYPO"), where)
    code = raw["INSEECOM"].str.strip()
    code = code.where(code != "0", "").str.zfill(5).where(code != "0", "")
    typology = raw["TYPO"].str.strip().str.replace("Tiers lieux à dominante ", "", regex=False)
    frame = pd.DataFrame(
        {
            "initiative_id": "tl2019-" + raw["ID"].str.strip(),
            "name": raw["NOM_TL"].str.strip(),
            "kind": "tiers_lieu",
            "wave": "cget2019",
            "year": "2019",
            "lead_structure": "",
            "commune_code": code,
            "commune_name": "",
            "dep_code": "",
            "reg_code": "",
            "longitude": raw["LONG"].str.strip(),
            "latitude": raw["LAT"].str.strip(),
            "perimeter_communes": "",
            "themes": typology,
            "source_url": source_url,
            "source_title": source_title,
            "note": np.where(code == "", "code commune absent (0) : placé par ses coordonnées", ""),
            "source_id": "cget_tiers_lieux_2019",
        }
    )
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    frame.attrs["path"] = where
    return frame


def anct_points_to_registry(
    geojson: dict,
    kind: str,
    source_id: str,
    *,
    source_url: str = "",
    source_title: str = "",
    where: str = "",
) -> pd.DataFrame:
    """ANCT "one point per commune" GeoJSON as one registry row per structure.

    A feature lists its structures' ids in ``id_territoire`` and names in
    ``lib_territoire``, both separated by ';'. Rows are expanded to one per id;
    when the counts differ, a single id takes the whole text as its name and
    several ids sharing one name keep it (a note says so); anything else is an error.
    The wave comes from the id: ``manuprox-<round>-<n>`` gives
    ``manufacture_round<round>``; fabriques have one label: ``fabrique_label``.
    The point is the commune's, not the structure's address.
    """
    records = []
    for number, feature in enumerate(geojson.get("features", []), start=1):
        properties = feature.get("properties") or {}
        ids = [
            part.strip()
            for part in str(properties.get("id_territoire", "")).split(";")
            if part.strip()
        ]
        text = " ".join(html.unescape(str(properties.get("lib_territoire", ""))).split())
        names = [part.strip() for part in text.split(";") if part.strip()]
        note = ""
        if len(ids) == len(names):
            pairs = list(zip(ids, names, strict=True))
        elif len(ids) == 1:
            pairs = [(ids[0], text)]
        elif len(names) == 1:
            pairs = [(i, names[0]) for i in ids]
            note = f"le fichier donne un seul nom pour {len(ids)} identifiants"
        else:
            raise ValueError(
                f"{where}: feature {number} (commune {properties.get('id_geo')}) lists "
                f"{len(ids)} ids but {len(names)} names; cannot pair them."
            )
        longitude, latitude = ("", "")
        geometry = feature.get("geometry") or {}
        if geometry.get("type") == "Point":
            longitude, latitude = (str(v) for v in geometry["coordinates"][:2])
        for identifier, name in pairs:
            match = re.match(r"^manuprox-(\d+)-", identifier)
            wave = f"manufacture_round{match.group(1)}" if match else "fabrique_label"
            records.append(
                {
                    "initiative_id": identifier,
                    "name": name,
                    "kind": kind,
                    "wave": wave,
                    "year": "",
                    "lead_structure": "",
                    "commune_code": str(properties.get("id_geo", "")).strip(),
                    "commune_name": "",
                    "dep_code": "",
                    "reg_code": "",
                    "longitude": longitude,
                    "latitude": latitude,
                    "perimeter_communes": "",
                    "themes": "",
                    "source_url": source_url,
                    "source_title": source_title,
                    "note": note,
                    "source_id": source_id,
                    "feature": number,
                }
            )
    frame = pd.DataFrame.from_records(records)
    frame.index = pd.Index(frame.pop("feature"), name="row")
    frame.attrs["path"] = where
    return frame


def load_tiers_lieux() -> pd.DataFrame:
    """The CGET 2019 tiers-lieux as registry rows (row = line of the raw CSV)."""
    path = sources.require_raw("cget_tiers_lieux_2019")
    url, title = _catalogue_fields("cget_tiers_lieux_2019")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return tiers_lieux_to_registry(raw, source_url=url, source_title=title, where=str(path))


def _load_anct_points(source_id: str, kind: str) -> pd.DataFrame:
    """One ANCT point layer (one feature per commune) as registry rows (row = feature number)."""
    path = sources.require_raw(source_id)
    url, title = _catalogue_fields(source_id)
    with open(path, encoding="utf-8") as handle:
        geojson = json.load(handle)
    return anct_points_to_registry(
        geojson, kind, source_id, source_url=url, source_title=title, where=str(path)
    )


def load_fabriques_territoire() -> pd.DataFrame:
    """ANCT Fabriques de territoire as registry rows (row = feature number)."""
    return _load_anct_points("anct_fabriques_territoire", "fabrique_territoire")


def load_manufactures_proximite() -> pd.DataFrame:
    """ANCT Manufactures de proximité as registry rows (row = feature number)."""
    return _load_anct_points("anct_manufactures_proximite", "manufacture_proximite")


PUBLIC_LIST_LOADERS = {
    "cget_tiers_lieux_2019": load_tiers_lieux,
    "anct_fabriques_territoire": load_fabriques_territoire,
    "anct_manufactures_proximite": load_manufactures_proximite,
}


# ---------------------------------------------------------------------------
# The cooperation tables
# ---------------------------------------------------------------------------

_COOPERATION_SCHEMA = pa.DataFrameSchema(
    {
        "initiative_id": pa.Column(str, nullable=False),
        "name": pa.Column(str, nullable=False),
        "kind": pa.Column(str, pa.Check.isin(KINDS)),
        "wave": pa.Column(str, nullable=False),
        "year": pa.Column("Int64", pa.Check.in_range(1980, 2100), nullable=True),
        "source_url": pa.Column(str, pa.Check.str_matches(r"^https?://"), nullable=False),
        "source_id": pa.Column(str, nullable=False),
        "commune_code": pa.Column(str, pa.Check.str_matches(_CODE_PATTERN.pattern), nullable=True),
        "dep_code": pa.Column(str, nullable=True),
        "reg_code": pa.Column(str, nullable=False),
        "location_precision": pa.Column(str, pa.Check.isin(LOCATION_PRECISIONS), nullable=False),
        "longitude": pa.Column(float, pa.Check.in_range(-180, 180), nullable=True),
        "latitude": pa.Column(float, pa.Check.in_range(-90, 90), nullable=True),
    },
    unique=["initiative_id", "wave", "source_id"],
    strict=False,
)


def _commune_points(communes: pd.DataFrame, codes: Iterable[str]) -> pd.DataFrame:
    """Longitude/latitude (WGS84) of a representative point of some communes."""
    wanted = sorted(set(codes))
    if "geometry" not in communes.columns or not wanted:
        return pd.DataFrame(
            columns=["longitude", "latitude"], index=pd.Index([], name="commune_code")
        )
    subset = communes[communes["commune_code"].isin(wanted)]
    subset = subset[subset.geometry.notna()]
    points = subset.geometry.representative_point().to_crs("EPSG:4326")
    return pd.DataFrame(
        {"longitude": points.x.to_numpy(), "latitude": points.y.to_numpy()},
        index=pd.Index(subset["commune_code"].to_numpy(), name="commune_code"),
    )


def cooperation_rows(located: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """Located registry rows as ``cooperation.parquet`` rows, validated.

    Coordinates given by the source are kept (``coordinates_from = source``);
    commune-located rows without them get a point inside their commune
    (``commune_point``); coarser rows get none.
    """
    # positional index: concatenated sources repeat row numbers, and label-based
    # assignment below would then put one row's point on another row
    table = located.reset_index(drop=True)
    if "source_id" not in table.columns:
        table["source_id"] = REGISTRY_SOURCE_ID
    given = (
        pd.to_numeric(table["longitude"].replace("", None), errors="coerce").notna()
        & pd.to_numeric(table["latitude"].replace("", None), errors="coerce").notna()
    )
    table["longitude"] = pd.to_numeric(table["longitude"].where(given, None), errors="coerce")
    table["latitude"] = pd.to_numeric(table["latitude"].where(given, None), errors="coerce")
    table["coordinates_from"] = np.where(given, "source", None)
    fill = ~given & table["commune_code"].notna()
    points = _commune_points(communes, table.loc[fill, "commune_code"])
    if len(points):
        joined = table.loc[fill, ["commune_code"]].join(
            points, on="commune_code", validate="many_to_one"
        )
        has_point = joined["longitude"].notna()
        index = joined.index[has_point]
        table.loc[index, "longitude"] = joined.loc[index, "longitude"]
        table.loc[index, "latitude"] = joined.loc[index, "latitude"]
        table.loc[index, "coordinates_from"] = "commune_point"
    table["year"] = pd.to_numeric(table["year"].replace("", None), errors="coerce").astype("Int64")
    table["lead_structure"] = table["lead_structure"].replace("", None)
    table = table.reindex(columns=list(COOPERATION_COLUMNS)).reset_index(drop=True)
    for column in COOPERATION_COLUMNS:
        if column not in ("year", "longitude", "latitude"):
            table[column] = table[column].astype("str").where(table[column].notna(), None)
    _COOPERATION_SCHEMA.validate(table, lazy=True)
    return table


_LEVEL_COLUMNS = {
    "commune": "commune_code",
    "epci": "epci_code",
    "ze2020": "ze2020_code",
    "dep": "dep_code",
    "reg": "reg_code",
    "fr": "fr_code",
}
_LEVEL_PRECISIONS = {
    "commune": ("commune",),
    "epci": ("commune",),
    "ze2020": ("commune",),
    "dep": ("commune", "departement"),
    "reg": LOCATION_PRECISIONS,
    "fr": LOCATION_PRECISIONS,
}


def count_by_territory(
    cooperation: pd.DataFrame, communes: pd.DataFrame, level: str
) -> pd.DataFrame:
    """Counts of initiatives per territory of one level, every territory listed.

    A row counts in a territory only when its location is at least as precise as
    the level (a PTCE known by its département counts for the département, the
    région and France, not for any EPCI or zone d'emploi). Counts are of distinct
    ``initiative_id`` per kind, per wave and in all.

    Args:
        cooperation: rows as :func:`cooperation_rows` returns them.
        communes: the backbone's communes (codes of every level, population).
        level: one of commune, epci, ze2020, dep, reg, fr.

    Returns:
        Columns level, territory_code, population, n_initiatives,
        initiatives_per_100k, n_<kind> and n_<kind>_per_100k for each kind,
        n_wave_<wave> for each wave present, is_ptce_territory, is_tzcld_territory.
    """
    if level not in _LEVEL_COLUMNS:
        raise KeyError(f"unknown level {level!r}; levels: {', '.join(_LEVEL_COLUMNS)}")
    column = _LEVEL_COLUMNS[level]
    base = pd.DataFrame(communes.drop(columns="geometry", errors="ignore"))
    if column == "fr_code":
        base = base.assign(fr_code="FR")
    territories = (
        base.dropna(subset=[column])
        .groupby(column, as_index=True)["population"]
        .sum(min_count=1)
        .rename("population")
        .to_frame()
    )
    territories.index = territories.index.astype(str)
    territories.index.name = "territory_code"
    rows = cooperation[cooperation["location_precision"].isin(_LEVEL_PRECISIONS[level])].copy()
    if column == "fr_code":
        rows["fr_code"] = "FR"
    rows = rows.rename(columns={column: "territory_code"})
    unknown = set(rows["territory_code"].dropna()) - set(territories.index)
    if unknown:
        raise ValueError(
            f"cooperation rows point to {level} codes absent from the backbone: "
            f"{sorted(unknown)[:10]}"
        )
    out = territories.copy()
    out.insert(0, "level", level)
    out["n_initiatives"] = rows.groupby("territory_code")["initiative_id"].nunique()
    for kind in KINDS:
        out[f"n_{kind}"] = (
            rows[rows["kind"] == kind].groupby("territory_code")["initiative_id"].nunique()
        )
    for wave in sorted(cooperation["wave"].unique()):
        out[f"n_wave_{wave}"] = (
            rows[rows["wave"] == wave].groupby("territory_code")["initiative_id"].nunique()
        )
    count_columns = [c for c in out.columns if c.startswith("n_")]
    out[count_columns] = out[count_columns].fillna(0).astype("int64")
    population = out["population"].where(out["population"] > 0)
    out.insert(
        out.columns.get_loc("n_initiatives") + 1,
        "initiatives_per_100k",
        out["n_initiatives"] / population * 1e5,
    )
    for kind in KINDS:
        out[f"n_{kind}_per_100k"] = out[f"n_{kind}"] / population * 1e5
    out["is_ptce_territory"] = out["n_ptce"] > 0
    out["is_tzcld_territory"] = out["n_tzcld"] > 0
    return out.reset_index()


def assemble_cooperation(
    frames: Sequence[pd.DataFrame],
    communes: pd.DataFrame,
    crosswalk: pd.DataFrame | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Locate the registry and the public lists and build the cooperation table.

    The first frame is the project's (or user's) registry: any problem raises
    :class:`RegistryError`. The others are public lists: codes of older COG
    fall back to coordinates, points up to :data:`NEAREST_TOLERANCE_M` outside a
    commune go to the nearest, and rows that still fail are returned in the report.

    Returns:
        (cooperation rows, report of public-list rows that could not be located:
        source_id, row, initiative_id, column, value, message).
    """
    located_frames = []
    report_rows = []
    gazetteer = _Gazetteer(communes, crosswalk)  # built once: indexing 35,000 names takes time
    for position, frame in enumerate(frames):
        if position == 0:
            located = locate(frame, communes, crosswalk, _gazetteer=gazetteer)
        else:
            located, problems = locate_rows(
                frame,
                communes,
                crosswalk,
                _gazetteer=gazetteer,
                strict_codes=False,
                nearest_tolerance_m=NEAREST_TOLERANCE_M,
            )
            for problem in problems:
                report_rows.append(
                    {
                        "source_id": frame["source_id"].iloc[0],
                        "row": problem.row,
                        "initiative_id": frame.at[problem.row, "initiative_id"]
                        if problem.row in frame.index
                        else "",
                        "column": problem.column,
                        "value": problem.value,
                        "message": problem.message,
                    }
                )
            located = located[located["location_precision"].notna()]
        located_frames.append(located)
    table = cooperation_rows(pd.concat(located_frames), communes)
    report = pd.DataFrame(
        report_rows, columns=["source_id", "row", "initiative_id", "column", "value", "message"]
    )
    return table, report


def cooperation_territories(
    cooperation: pd.DataFrame, communes: pd.DataFrame, levels: Sequence[str] = tuple(_LEVEL_COLUMNS)
) -> pd.DataFrame:
    """:func:`count_by_territory` for several levels, stacked (one row per level and territory)."""
    stacked = pd.concat(
        [count_by_territory(cooperation, communes, level) for level in levels], ignore_index=True
    )
    count_columns = [c for c in stacked.columns if c.startswith("n_") and not c.endswith("_100k")]
    schema = pa.DataFrameSchema(
        {
            "level": pa.Column(str, pa.Check.isin(list(_LEVEL_COLUMNS))),
            "territory_code": pa.Column(str, nullable=False),
            "initiatives_per_100k": pa.Column(float, pa.Check.ge(0), nullable=True),
            "is_ptce_territory": pa.Column(bool),
            "is_tzcld_territory": pa.Column(bool),
            **{c: pa.Column("int64", pa.Check.ge(0)) for c in count_columns},
        },
        unique=["level", "territory_code"],
        strict=False,
    )
    return schema.validate(stacked, lazy=True)


def cooperation_territories_table() -> Path:
    """Where the per-territory counts are written."""
    return paths.cooperation_territories_table()


def cooperation_report_table() -> Path:
    """Where the public-list rows that could not be located are listed."""
    return paths.cooperation_report()


def compute_cooperation(
    registry_path: Path | str | None = None,
    *,
    communes: pd.DataFrame | None = None,
    crosswalk: pd.DataFrame | None = None,
    include_public_lists: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cooperation rows (registry + public lists) and the report, computed in memory."""
    communes, crosswalk = _backbone(communes, crosswalk)
    frames = [load_registry(registry_path)]
    if include_public_lists:
        frames += [loader() for loader in PUBLIC_LIST_LOADERS.values()]
    return assemble_cooperation(frames, communes, crosswalk)


def build_cooperation(registry_path: Path | str | None = None) -> None:
    """Write ``cooperation.parquet``, ``cooperation_territories.parquet`` and the report.

    Raises:
        RegistryError: when the registry has any problem (nothing is written).
    """
    communes, crosswalk = _backbone(None, None)
    table, report = compute_cooperation(registry_path, communes=communes, crosswalk=crosswalk)
    counts = cooperation_territories(table, communes)
    write_parquet_atomically(table, paths.cooperation_table())
    write_parquet_atomically(counts, cooperation_territories_table())
    write_csv_atomically(report, cooperation_report_table())


def load_cooperation() -> pd.DataFrame:
    """``cooperation.parquet`` (run ``ptce data build`` first)."""
    path = paths.cooperation_table()
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `ptce data build`.")
    return read_processed_parquet(path, "the cooperation table")


def cooperation_by_territory(level: str, registry_path: Path | str | None = None) -> pd.DataFrame:
    """Counts per territory of ``level``, indexed by territory_code.

    With ``registry_path`` None, reads the built table; with a path, recomputes
    from that registry (plus the public lists) so analyses accept a custom registry.
    """
    if registry_path is None and cooperation_territories_table().exists():
        counts = read_processed_parquet(
            cooperation_territories_table(), "the cooperation counts per territory"
        )
        counts = counts[counts["level"] == level]
        if counts.empty:
            raise KeyError(f"unknown level {level!r}; levels: {', '.join(_LEVEL_COLUMNS)}")
        counts = counts.dropna(axis="columns", how="all")
    else:
        communes, crosswalk = _backbone(None, None)
        table, _report = compute_cooperation(registry_path, communes=communes, crosswalk=crosswalk)
        counts = count_by_territory(table, communes, level)
    return counts.set_index("territory_code")
