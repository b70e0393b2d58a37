"""The cooperation tables: public lists, SIRENE cooperatives, counts per territory, quality.

:func:`build_cooperation` places every row of the registry (:mod:`analysis.registry`,
placed by :mod:`analysis.geocoding`) and of the public lists of the data mirror
(CGET tiers-lieux 2019, ANCT Fabriques de territoire and Manufactures de
proximité; SCOP and SCIC of the optional SIRENE extract) and writes
``cooperation.parquet`` (one row per initiative-label) and
``cooperation_territories.parquet`` (counts per territory of each level). The
functions below it tabulate those rows: counts, the role of local authorities,
ESS establishments per inhabitant, what the registry covers and lacks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis import paths, sources
from analysis.atomic import read_processed_parquet, write_csv_atomically, write_parquet_atomically
from analysis.geocoding import COMMUNE_CODE, Gazetteer, arrondissement_parent, locate, locate_rows
from analysis.keys import (
    FRANCE_CODE,
    KINDS,
    LEVEL_CODE_COLUMN,
    LEVEL_PRECISIONS,
    LEVELS,
    LOCATION_PRECISIONS,
)
from analysis.loaders import sirene
from analysis.loaders.anct_points import load_fabriques_territoire, load_manufactures_proximite
from analysis.loaders.tiers_lieux import load_tiers_lieux
from analysis.registry import (
    LOCAL_AUTHORITY_ROLES,
    REGISTRY_SOURCE_ID,
    load_backbone,
    load_registry,
    parse_local_authorities,
    split_list,
    valid_entries,
)

INPUT_SOURCES: tuple[str, ...] = (
    "cget_tiers_lieux_2019",
    "anct_fabriques_territoire",
    "anct_manufactures_proximite",
)
"""Catalogue ids :func:`build_cooperation` needs (besides the backbone and the registry)."""

OPTIONAL_SOURCES: tuple[str, ...] = (sirene.ESTABLISHMENTS_SOURCE, sirene.LEGAL_UNITS_SOURCE)
"""Catalogue ids used when present (the SIRENE stock extract); the build works without them."""

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
    "local_authorities",
    "local_authority_roles",
)
"""Columns of ``cooperation.parquet`` (one row per initiative-label)."""
NEAREST_TOLERANCE_M = 2000.0
"""Public lists only: a point this close to a commune (sea, border) is placed in it."""

PUBLIC_LIST_LOADERS = {
    "cget_tiers_lieux_2019": load_tiers_lieux,
    "anct_fabriques_territoire": load_fabriques_territoire,
    "anct_manufactures_proximite": load_manufactures_proximite,
}
"""Public list id → its reader (registry-format rows)."""

_COOPERATION_SCHEMA = pa.DataFrameSchema(
    {
        "initiative_id": pa.Column(str, nullable=False),
        "name": pa.Column(str, nullable=False),
        "kind": pa.Column(str, pa.Check.isin(KINDS)),
        "wave": pa.Column(str, nullable=False),
        "year": pa.Column("Int64", pa.Check.in_range(1980, 2100), nullable=True),
        "source_url": pa.Column(str, pa.Check.str_matches(r"^https?://"), nullable=False),
        "source_id": pa.Column(str, nullable=False),
        "commune_code": pa.Column(str, pa.Check.str_matches(COMMUNE_CODE.pattern), nullable=True),
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
    for column in ("lead_structure", "local_authorities", "local_authority_roles"):
        if column not in table.columns:
            table[column] = None
        table[column] = table[column].replace("", None)
    table = table.reindex(columns=list(COOPERATION_COLUMNS)).reset_index(drop=True)
    for column in COOPERATION_COLUMNS:
        if column not in ("year", "longitude", "latitude"):
            table[column] = table[column].astype("str").where(table[column].notna(), None)
    _COOPERATION_SCHEMA.validate(table, lazy=True)
    return table


def _level_column(level: str) -> str:
    if level not in LEVEL_CODE_COLUMN:
        raise KeyError(f"unknown level {level!r}; levels: {', '.join(LEVELS)}")
    return LEVEL_CODE_COLUMN[level]


def _rows_counting_at(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    """Rows located precisely enough to count at ``level``, with its code as territory_code."""
    column = _level_column(level)
    rows = frame[frame["location_precision"].isin(LEVEL_PRECISIONS[level])].copy()
    if column == "fr_code":
        rows["fr_code"] = FRANCE_CODE
    return rows.rename(columns={column: "territory_code"})


def _territory_populations(communes: pd.DataFrame, level: str) -> pd.DataFrame:
    """Population of every territory of ``level`` (index territory_code), from the communes."""
    column = _level_column(level)
    base = pd.DataFrame(communes.drop(columns="geometry", errors="ignore"))
    if column == "fr_code":
        base = base.assign(fr_code=FRANCE_CODE)
    territories = (
        base.dropna(subset=[column])
        .groupby(column, as_index=True)["population"]
        .sum(min_count=1)
        .rename("population")
        .to_frame()
    )
    territories.index = territories.index.astype(str)
    territories.index.name = "territory_code"
    return territories


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
    territories = _territory_populations(communes, level)
    rows = _rows_counting_at(cooperation, level)
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
    former_names: pd.DataFrame | None = None,
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
    gazetteer = Gazetteer(communes, crosswalk, former_names)  # built once for every frame
    for position, frame in enumerate(frames):
        if position == 0:
            located = locate(frame, communes, crosswalk, gazetteer=gazetteer)
        else:
            located, problems = locate_rows(
                frame,
                communes,
                crosswalk,
                gazetteer=gazetteer,
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
    cooperation: pd.DataFrame, communes: pd.DataFrame, levels: Sequence[str] = LEVELS
) -> pd.DataFrame:
    """:func:`count_by_territory` for several levels, stacked (one row per level and territory)."""
    stacked = pd.concat(
        [count_by_territory(cooperation, communes, level) for level in levels], ignore_index=True
    )
    count_columns = [c for c in stacked.columns if c.startswith("n_") and not c.endswith("_100k")]
    schema = pa.DataFrameSchema(
        {
            "level": pa.Column(str, pa.Check.isin(list(LEVELS))),
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
    registry: pd.DataFrame | None = None,
    communes: pd.DataFrame | None = None,
    crosswalk: pd.DataFrame | None = None,
    former_names: pd.DataFrame | None = None,
    include_public_lists: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cooperation rows (registry + public lists + SIRENE when present) and the report, in memory.

    Args:
        registry_path: the registry CSV (the project's when None); read here
            unless ``registry`` is given.
        registry: the registry already read (``registry.read_registry`` or
            ``registry.load_registry``): checked, not read again.
        communes, crosswalk, former_names: the backbone frames, loaded when
            ``communes`` is None.
        include_public_lists: add the public lists and SIRENE (else the registry only).
    """
    if communes is None:
        communes, crosswalk, former_names = load_backbone()
    frames = [load_registry(registry_path) if registry is None else valid_entries(registry)]
    if include_public_lists:
        frames += [loader() for loader in PUBLIC_LIST_LOADERS.values()]
        establishments = load_sirene_establishments()
        if establishments is not None:
            source = sources.get_source(sirene.LEGAL_UNITS_SOURCE)
            frames.append(
                sirene.cooperatives_to_registry(
                    establishments,
                    source_url=source.landing_page,
                    source_title=source.title,
                    where=str(source.raw_path),
                )
            )
    return assemble_cooperation(frames, communes, crosswalk, former_names)


def sirene_present() -> bool:
    """Whether both optional SIRENE files are in ``data/raw``."""
    return all(sources.raw_path(source_id).exists() for source_id in OPTIONAL_SOURCES)


def load_sirene_establishments() -> pd.DataFrame | None:
    """Active ESS / SCOP / SCIC establishments of the optional SIRENE extract, None without it."""
    if not sirene_present():
        return None
    return sirene.read_sirene(
        sources.raw_path(sirene.ESTABLISHMENTS_SOURCE), sources.raw_path(sirene.LEGAL_UNITS_SOURCE)
    )


def build_cooperation(registry_path: Path | str | None = None) -> None:
    """Write ``cooperation.parquet``, ``cooperation_territories.parquet`` and the report.

    With the optional SIRENE extract in ``data/raw``, its SCOP and SCIC join the
    cooperation rows and the per-territory table gains ``n_ess_establishments``
    and ``ess_establishments_per_1000``; without it both are left out.

    Raises:
        RegistryError: when the registry has any problem (nothing is written).
    """
    communes, crosswalk, former_names = load_backbone()
    table, report = compute_cooperation(
        registry_path, communes=communes, crosswalk=crosswalk, former_names=former_names
    )
    counts = cooperation_territories(table, communes)
    establishments = load_sirene_establishments()
    if establishments is not None:
        ess = ess_establishments_by_territory(establishments, communes, crosswalk)
        counts = counts.merge(
            ess, on=["level", "territory_code"], how="left", validate="one_to_one"
        )
    write_parquet_atomically(table, paths.cooperation_table())
    write_parquet_atomically(counts, cooperation_territories_table())
    write_csv_atomically(report, cooperation_report_table())


def load_cooperation() -> pd.DataFrame:
    """``cooperation.parquet`` (run ``ptce data build`` first)."""
    path = paths.cooperation_table()
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `ptce data build`.")
    return read_processed_parquet(path, "the cooperation table")


def cooperation_by_territory(level: str) -> pd.DataFrame:
    """The built counts per territory of ``level`` (``ptce data build``), indexed by territory_code.

    A custom registry's counts: ``datasets.cooperation_counts(level, initiatives)``.
    """
    path = cooperation_territories_table()
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `ptce data build`.")
    counts = read_processed_parquet(path, "the cooperation counts per territory")
    counts = counts[counts["level"] == level]
    if counts.empty:
        raise KeyError(f"unknown level {level!r}; levels: {', '.join(LEVELS)}")
    counts = counts.dropna(axis="columns", how="all")
    return counts.set_index("territory_code")


# ---------------------------------------------------------------------------
# ESS establishments (optional SIRENE extract)
# ---------------------------------------------------------------------------


def today_commune_codes(
    codes: pd.Series, communes: pd.DataFrame, crosswalk: pd.DataFrame | None
) -> pd.Series:
    """Today's commune of each code (arrondissement → its commune, former code → crosswalk).

    Codes that are unknown, empty or split between several communes give None.
    """
    current = set(communes["commune_code"].astype(str))
    mapping: dict[str, str] = {}
    if crosswalk is not None and len(crosswalk):
        targets = crosswalk.groupby("old_commune_code")["commune_code"].agg(
            lambda s: sorted(set(s))
        )
        mapping = {old: new[0] for old, new in targets.items() if len(new) == 1}

    def resolve(code: str) -> str | None:
        if code in current:
            return code
        parent = arrondissement_parent(code) if code else None
        if parent in current:
            return parent
        return mapping.get(code)

    return codes.astype(str).map(resolve)


def ess_establishments_by_territory(
    establishments: pd.DataFrame,
    communes: pd.DataFrame,
    crosswalk: pd.DataFrame | None,
    levels: Sequence[str] = LEVELS,
) -> pd.DataFrame:
    """Active establishments of the ESS per territory and per 1,000 inhabitants.

    Args:
        establishments: :func:`analysis.loaders.sirene.read_sirene` rows (closed
            establishments are already left out there).
        communes: the backbone's communes (codes of every level, population).
        crosswalk: former codes → today's (establishments of a merged commune count
            in today's one).
        levels: levels to count at.

    Returns:
        level, territory_code, n_ess_establishments, ess_establishments_per_1000
        (every territory listed; establishments abroad or with an unknown or split
        code are left out and counted in ``attrs["unplaced"]``).
    """
    ess = establishments[establishments["is_ess"]].copy()
    ess["commune_code"] = today_commune_codes(ess["commune_code"], communes, crosswalk)
    unplaced = int(ess["commune_code"].isna().sum())
    ess = ess.dropna(subset=["commune_code"])
    codes = pd.DataFrame(communes.drop(columns="geometry", errors="ignore"))
    codes = codes.assign(fr_code=FRANCE_CODE)
    wanted = [LEVEL_CODE_COLUMN[level] for level in levels if level != "commune"]
    located = ess.merge(
        codes[["commune_code", *wanted]], on="commune_code", how="left", validate="many_to_one"
    )
    frames = []
    for level in levels:
        table = _territory_populations(communes, level).assign(level=level)
        counts = located.groupby(LEVEL_CODE_COLUMN[level])["siret"].nunique()
        table["n_ess_establishments"] = counts.reindex(table.index).fillna(0).astype("int64")
        population = table["population"].where(table["population"] > 0)
        table["ess_establishments_per_1000"] = table["n_ess_establishments"] / population * 1e3
        frames.append(
            table.reset_index()[
                ["level", "territory_code", "n_ess_establishments", "ess_establishments_per_1000"]
            ]
        )
    result = pd.concat(frames, ignore_index=True)
    result.attrs["unplaced"] = unplaced
    return result


# ---------------------------------------------------------------------------
# Local authorities
# ---------------------------------------------------------------------------

AUTHORITY_KINDS: tuple[str, ...] = ("commune", "epci", "departement", "region", "other")
"""Kinds of local authority, in display order (``other``: not recognised)."""

INVOLVEMENT_ROLES: tuple[str, ...] = ("lead", "member", "funder")
"""Roles :func:`local_authority_involvement` counts separately."""

_REGION_WORDS = r"\bregion\b|\bconseil regional\b"
_NAME_WORDS: tuple[tuple[str, str], ...] = (
    (_REGION_WORDS, "region"),
    (r"\bdepartement\b|\bconseil departemental\b|\bcollectivite europeenne\b", "departement"),
    (
        r"\bcommunaute\b|\bmetropole\b|\bagglomeration\b|\bagglo\b|\bepci\b|^(cc|ca|cu)\b",
        "epci",
    ),
    (r"\bcommune\b|\bville\b|\bmairie\b|\bmunicipalite\b", "commune"),
)
"""Words of an authority's name that give its kind when no code does (first match wins)."""


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def _kind_from_words(plain: str) -> str:
    for pattern, kind in _NAME_WORDS:
        if re.search(pattern, plain):
            return kind
    return "other"


def authority_kind(name: str, code: str = "", *, epci_codes: Iterable[str] = ()) -> str:
    """The kind of a local authority: commune, epci, departement, region or other.

    From the code when given: a 5-character INSEE code is a commune, a 9-digit
    SIREN found among ``epci_codes`` an EPCI, ``2A``/``2B`` or three characters a
    département, two digits a région when the name says « Région », else a
    département. Otherwise (and for a SIREN that is not an EPCI's) from the
    name's words (« Région », « Département », « Communauté », « Métropole »,
    « Ville »…).
    """
    plain = _plain(name)
    if code:
        if COMMUNE_CODE.match(code):
            return "commune"
        if re.fullmatch(r"\d{9}", code) and code in set(epci_codes):
            return "epci"
        if re.fullmatch(r"2[AB]|97\d", code):
            return "departement"
        if re.fullmatch(r"\d{2}", code):
            return "region" if re.search(_REGION_WORDS, plain) else "departement"
    return _kind_from_words(plain)


def local_authority_rows(frame: pd.DataFrame, *, epci_codes: Iterable[str] = ()) -> pd.DataFrame:
    """One row per (initiative-label, local authority): name, code, kind and role.

    Args:
        frame: registry or cooperation rows with ``local_authorities`` and
            ``local_authority_roles`` (validated by ``ptce registry check``).
        epci_codes: SIREN codes of the EPCI (``territories.load_territories("epci")``).

    Returns:
        The frame's other columns plus authority_name, authority_code,
        authority_kind, role.
    """
    epci = set(epci_codes)
    records = []
    for position, values in enumerate(frame.to_dict("records")):
        authorities = parse_local_authorities(values.get("local_authorities") or "")
        roles = split_list(values.get("local_authority_roles") or "")
        for (name, code), role in zip(authorities, roles, strict=False):
            records.append(
                {
                    "position": position,
                    "authority_name": name,
                    "authority_code": code,
                    "authority_kind": authority_kind(name, code, epci_codes=epci),
                    "role": role if role in LOCAL_AUTHORITY_ROLES else "",
                }
            )
    long = pd.DataFrame.from_records(
        records, columns=["position", "authority_name", "authority_code", "authority_kind", "role"]
    )
    base = frame.drop(columns=["local_authorities", "local_authority_roles"], errors="ignore")
    base = base.reset_index(drop=True).iloc[long["position"].to_numpy()].reset_index(drop=True)
    return base.join(long.drop(columns="position"))


def local_authority_involvement(
    initiatives: pd.DataFrame,
    level: str,
    *,
    kind: str = "ptce",
    epci_codes: Iterable[str] = (),
) -> pd.DataFrame:
    """Per territory and wave: initiatives of ``kind`` with a local authority as lead, member
    or funder, and which kinds of authority take part.

    Rows count where they are located precisely enough for ``level`` (the rule
    of :func:`count_by_territory`); counts are of distinct ``initiative_id``.

    Returns:
        territory_code, wave, n_<kind>, n_<kind>_with_authority (any role),
        n_<kind>_authority_lead / _member / _funder, and n_<kind>_with_<authority
        kind> for commune, epci, departement, region and other. Only territories
        and waves with at least one initiative of ``kind``.
    """
    columns = ["territory_code", "wave", f"n_{kind}", f"n_{kind}_with_authority"]
    columns += [f"n_{kind}_authority_{role}" for role in INVOLVEMENT_ROLES]
    columns += [f"n_{kind}_with_{authority}" for authority in AUTHORITY_KINDS]
    selected = initiatives[initiatives["kind"] == kind].copy()
    for column in ("local_authorities", "local_authority_roles"):
        if column not in selected.columns:
            selected[column] = ""
        selected[column] = selected[column].fillna("")
    rows = _rows_counting_at(selected, level)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    keys = ["territory_code", "wave"]
    table = rows.groupby(keys)["initiative_id"].nunique().rename(f"n_{kind}").to_frame()
    authorities = local_authority_rows(
        rows[[*keys, "initiative_id", "local_authorities", "local_authority_roles"]],
        epci_codes=epci_codes,
    )

    def distinct(mask: pd.Series) -> pd.Series:
        return authorities[mask].groupby(keys)["initiative_id"].nunique()

    table[f"n_{kind}_with_authority"] = distinct(authorities["role"] != "")
    for role in INVOLVEMENT_ROLES:
        table[f"n_{kind}_authority_{role}"] = distinct(authorities["role"] == role)
    for authority in AUTHORITY_KINDS:
        table[f"n_{kind}_with_{authority}"] = distinct(authorities["authority_kind"] == authority)
    table = table.fillna(0).astype("int64").reset_index()
    return table[columns].sort_values(keys, ignore_index=True)


# ---------------------------------------------------------------------------
# What the registry covers and lacks
# ---------------------------------------------------------------------------


def registry_quality_tables(
    entries: pd.DataFrame,
    initiatives: pd.DataFrame,
    problems: Sequence[Any],
    *,
    level: str,
    territories: pd.DataFrame,
    kinds: Sequence[str] | None = None,
) -> dict[str, Any]:
    """What the registry covers and lacks, as tables.

    Args:
        entries: The registry as read (``registry.load_registry``).
        initiatives: Located rows, registry and public lists
            (:func:`load_cooperation` or :func:`compute_cooperation`).
        problems: ``registry.check_registry`` output (objects with ``row``,
            ``column``, ``value``, ``message``, ``fix``).
        level: Level of the coverage table (``dep``, ``reg``…).
        territories: ``territories.load_territories(level)``.
        kinds: Kinds in display order (default ``analysis.keys.KINDS``).

    Returns:
        ``summary`` (one row per measure), ``problems``, ``kind_counts``
        (Series by kind), ``coverage_by_kind``, ``coverage_by_wave``,
        ``location_precision``, ``sources``, ``territories_without_initiative``,
        ``local_authorities`` (:func:`local_authority_involvement` at ``level``).
    """
    kinds = list(kinds or KINDS)
    code_column = _level_column(level)
    problem_table = pd.DataFrame(
        [
            {
                "row": p.row,
                "column": p.column,
                "value": p.value,
                "message": p.message,
                "fix": p.fix,
            }
            for p in problems
        ],
        columns=["row", "column", "value", "message", "fix"],
    )
    is_registry = initiatives["source_id"].astype(str) == REGISTRY_SOURCE_ID
    located = initiatives[code_column].notna()
    kind_counts = initiatives["kind"].value_counts().reindex(kinds, fill_value=0)
    coverage_by_kind = (
        initiatives.assign(
            from_registry=is_registry,
            located=located,
            with_commune=initiatives["commune_code"].notna(),
        )
        .groupby("kind", observed=True)
        .agg(
            n_initiatives=("initiative_id", "size"),
            n_from_registry=("from_registry", "sum"),
            n_with_commune=("with_commune", "sum"),
            n_located_at_level=("located", "sum"),
            first_year=("year", "min"),
            last_year=("year", "max"),
        )
        .reindex(kinds)
        .fillna({"n_initiatives": 0, "n_from_registry": 0, "n_with_commune": 0})
        # Counts stay whole numbers (the reindex of kinds without rows made them floats).
        .astype(
            {
                c: "Int64"
                for c in (
                    "n_initiatives",
                    "n_from_registry",
                    "n_with_commune",
                    "n_located_at_level",
                )
            }
        )  # fmt: skip
        .reset_index()
    )
    coverage_by_wave = (
        initiatives.groupby(["kind", "wave"], observed=True, dropna=False)
        .agg(n_initiatives=("initiative_id", "size"), n_with_commune=("commune_code", "count"))
        .reset_index()
        .sort_values(["kind", "wave"], kind="mergesort")
    )
    precision = (
        initiatives["location_precision"]
        .fillna("none")
        .value_counts()
        .rename_axis("location_precision")
        .rename("n_initiatives")
        .reset_index()
        .sort_values(["n_initiatives", "location_precision"], ascending=[False, True])
    )
    sources = (
        initiatives.groupby("source_id", observed=True)
        .agg(n_initiatives=("initiative_id", "size"), kinds=("kind", _join_unique))
        .reset_index()
        .sort_values("source_id")
    )
    present = set(initiatives.loc[located, code_column].astype(str))
    without = territories.loc[
        ~territories["territory_code"].astype(str).isin(present),
        ["territory_code", "territory_name", "population"],
    ].sort_values(["population", "territory_code"], ascending=[False, True])
    summary = pd.DataFrame(
        {
            "measure": [
                "registry_rows",
                "registry_problems",
                "registry_rows_without_commune_code",
                "initiatives_with_public_lists",
                f"initiatives_not_located_at_{level}",
                f"territories_{level}_without_initiative",
            ],
            "value": [
                len(entries),
                len(problem_table),
                int(entries["commune_code"].isna().sum()) if "commune_code" in entries else 0,
                len(initiatives),
                int((~located).sum()),
                len(without),
            ],
        }
    )
    return {
        "summary": summary,
        "problems": problem_table,
        "kind_counts": kind_counts,
        "coverage_by_kind": coverage_by_kind,
        "coverage_by_wave": coverage_by_wave,
        "location_precision": precision,
        "sources": sources,
        "territories_without_initiative": without.reset_index(drop=True),
        "local_authorities": local_authority_involvement(initiatives, level),
    }


def _join_unique(values: pd.Series) -> str:
    return ", ".join(sorted({str(v) for v in values.dropna()}))
