"""Analysis inputs: load processed tables and assemble what the methods and notebooks take.

The one module between the built tables (``indicators``, ``territories``,
``cooperation``) and the pure methods (``resilience``, ``models``,
``report_content``): panels and national series, shock windows, pre-shock
controls, cooperation counts and treatments, the analysis table, a
territory's profile. Methods never import it; it calls them to assemble its
tables. The cooperation table is read (or, from a custom registry, checked and
located) once by :func:`load_initiatives` and passed down as a DataFrame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import indicators, territories
from analysis.checks import require_columns
from analysis.cooperation import (
    compute_cooperation,
    cooperation_by_territory,
    count_by_territory,
    load_cooperation,
)
from analysis.fiche_content import MISSING, SUB_LEVEL, children_of, indexed_series, rank_label
from analysis.keys import (
    FRANCE_CODE,
    LEVEL_CODE_COLUMN,
    LEVEL_PRECISIONS,
    NATIONAL_CODES,
    NATIONAL_NAMES,
)
from analysis.labels import dropped_reason_text, profile_note, shock_label
from analysis.models import prepare_analysis_table
from analysis.periods import period_frequency, period_to_time, period_year, sorted_periods
from analysis.report_content import (
    PROFILE_INDICATORS,
    TerritoryProfile,
    longest_national_code,
    majority_parent,
    profile_from_tables,
    reference_values,
    resilience_row,
)
from analysis.resilience import (
    RATE_INDICATORS,
    SHOCKS,
    ShockWindow,
    as_shock_window,
    detect_shock_window,
    employment_resilience_indices,
    resilience_indices,
)
from analysis.staggered import (
    ESTIMATORS,
    StaggeredResult,
    first_label_periods,
    long_panel_with_timing,
    staggered_did,
)

# --------------------------------------------------------------------------- panels and windows


def _covers(series: pd.Series, shock: str | None) -> bool:
    """Whether a national series is observed over the shock's whole search span."""
    if shock is None or shock not in SHOCKS.index:
        return series.notna().any()
    observed = series.dropna()
    if observed.empty:
        return False
    times = [period_to_time(p) for p in observed.index.astype(str)]
    spec = SHOCKS.loc[shock]
    return min(times) <= spec["peak_search_start"] and max(times) >= spec["trough_search_end"]


def national_series_for(
    indicator: str,
    panel: pd.DataFrame | None = None,
    shock: str | None = None,
    *,
    table: pd.DataFrame | None = None,
) -> pd.Series:
    """The national reference series of an indicator (reads the indicators table).

    Additive indicators (``aggregation == "sum"``: salaried employment, payroll)
    are the sum of the territories of ``panel`` — the nation as the sum of its
    zones, so the reference covers exactly the panel (periods where an observed
    territory is missing get NaN, never a silently smaller total). Other
    indicators (unemployment rates) use the level ``"fr"`` row: ``"FR"`` when it
    covers the shock, else ``"FRM"`` (France métropolitaine: the INSEE
    unemployment file gives ``"FR"`` only from 2014, when the DROM enter it).
    The series ``name`` says which code was used. ``table``: a long
    indicators table already loaded (``indicators.load_indicators``) to read
    instead of the file.
    """
    aggregation = None
    try:
        aggregation = indicators.indicator_info(indicator).get("aggregation")
    except (KeyError, AttributeError):
        pass
    if aggregation == "sum" and panel is not None:
        # Territories never observed are left out; a period where any observed
        # territory is missing gets NaN rather than a silently smaller total.
        observed = panel.dropna(axis=0, how="all")
        return (
            observed.sum(axis=0, min_count=len(observed))
            .rename("sum_of_territories")
            .astype("float64")
        )
    national = indicators.get(indicator, "fr", panel=table)
    for code in NATIONAL_CODES:
        if code in national.index and _covers(national.loc[code], shock):
            series = national.loc[code].astype("float64").rename(code)
            series.index = series.index.astype(str)
            return series
    raise ValueError(
        f"no national row ({', '.join(NATIONAL_CODES)}) of {indicator!r} at level 'fr' covers "
        f"{shock or 'any period'}; national rows present: {list(national.index)}"
    )


def load_panel(
    indicator: str, level: str, shock: str | None = None, *, table: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.Series]:
    """The wide panel of an indicator (territories × periods) and its national series.

    ``table``: a long indicators table already loaded, read instead of the file.
    """
    panel = indicators.get(indicator, level, panel=table)
    if panel.empty or panel.shape[1] == 0:
        raise ValueError(
            f"the indicators table has no {indicator!r} values at level {level!r}"
            " (e.g. URSSAF salaried employment exists only by zone d'emploi: use --level ze2020)"
        )
    panel.columns = [str(c) for c in panel.columns]
    panel.index = panel.index.astype(str)
    return panel, national_series_for(indicator, panel, shock, table=table)


EMPLOYMENT_INDICATORS: frozenset[str] = frozenset({"salaried_employment", "salaried_employment_sa"})
"""Job counts: :func:`compute_resilience` gives them the employment indices
(:func:`analysis.resilience.employment_resilience_indices`: changes vs France in
%, shift-share expected change and deviation, job-quarters lost)."""


def compute_resilience(
    indicator: str,
    level: str,
    shock: str,
    *,
    overrides: Mapping[str, str] | None = None,
    trend_periods: int | None = None,
    table: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, ShockWindow]:
    """Load, detect the window, compute the indices (the ``ptce resilience`` pipeline).

    Job counts (:data:`EMPLOYMENT_INDICATORS`) get
    :func:`analysis.resilience.employment_resilience_indices` (a fall is bad;
    the employment columns follow the common ones); other indicators get
    :func:`analysis.resilience.resilience_indices`.

    ``table``: a long indicators table already loaded, read instead of the file.

    Returns:
        (indices per territory, the shock window used).
    """
    panel, national = load_panel(indicator, level, shock, table=table)
    window = detect_shock_window(national, shock, indicator=indicator, **dict(overrides or {}))
    measure = (
        employment_resilience_indices if indicator in EMPLOYMENT_INDICATORS else resilience_indices
    )
    return measure(panel, national, window, trend_periods=trend_periods), window


def load_shock_windows(
    indicators_by_level: Mapping[str, str] | None = None,
    shocks: tuple[str, ...] = tuple(SHOCKS.index),
) -> pd.DataFrame:
    """Shock windows per indicator: national turning points found from the data.

    Args:
        indicators_by_level: indicator → level whose panel defines the national
            series (default: unemployment rate by département, salaried
            employment by zone d'emploi).
        shocks: shocks to detect; a shock the series does not cover is skipped
            (salaried employment starts in 2012, so it has no 2008 window).

    Returns:
        One row per (indicator, shock) with the :class:`ShockWindow` fields.
    """
    indicators_by_level = indicators_by_level or {
        "unemployment_rate": "dep",
        "salaried_employment_sa": "ze2020",
    }
    rows = []
    for indicator, level in indicators_by_level.items():
        for shock in shocks:
            try:
                _panel, national = load_panel(indicator, level, shock)
                rows.append(detect_shock_window(national, shock, indicator=indicator).to_dict())
            except ValueError:
                continue
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- controls


def majority_region(communes: pd.DataFrame, level: str) -> pd.Series:
    """Région of each territory: the région holding most of its population.

    Zones d'emploi (and a few EPCI) span régions; the fixed effect uses the
    région of the majority of the zone's inhabitants (ties: the smallest code).
    """
    if level == "reg":
        return communes.groupby("reg_code")["reg_code"].first().rename("reg_code")
    return majority_parent(communes, LEVEL_CODE_COLUMN[level], "reg_code")


def _pick_period(columns: Sequence[str], target: float) -> str:
    """Latest period at or before ``target`` (fractional year), else the earliest.

    For descriptive profiles only: controls use :func:`pre_shock_periods`, which
    never falls back to a later period.
    """
    ordered = sorted(columns, key=period_to_time)
    before = [p for p in ordered if period_to_time(p) <= target]
    return before[-1] if before else ordered[0]


CONTROL_INDICATORS: dict[str, tuple[str, str]] = {
    "pre_shock_unemployment_rate": ("unemployment_rate", "mean"),
    "log_population": ("population", "log"),
    "log_density_inhab_km2": ("density_inhab_km2", "log"),
    "ess_share_salaried_jobs_pct": ("ess_share_salaried_jobs_pct", "value"),
    "poverty_rate_pct": ("poverty_rate_pct", "value"),
    "median_living_standard_eur": ("median_living_standard_eur", "value"),
    "dense_population_share_pct": ("dense_population_share_pct", "value"),
    "rural_population_share_pct": ("rural_population_share_pct", "value"),
}
"""Candidate pre-shock controls: column → (indicator, transform). A candidate
without a period at or before the shock's first year is dropped and named
(Filosofi starts in 2014, the density grid is 2024: neither is a 2008 control)."""


def pre_shock_periods(periods: Sequence[str], shock_year: int, peak: str) -> list[str]:
    """The periods a pre-shock control may use (empty: the control is dropped).

    Quarterly series: the four quarters before the national peak (the year
    before the shock: 2007-Q1…2007-Q4 for a 2008-Q1 peak), averaged by the
    caller. Annual series: the latest year before ``shock_year``, else
    ``shock_year`` itself (the ESS share of 2008 for the 2008 recession);
    never a later year.
    """
    ordered = sorted_periods(periods)
    if ordered and period_frequency(ordered) == "quarterly":
        peak_time = period_to_time(peak)
        before = [p for p in ordered if period_to_time(p) < peak_time - 1e-9]
        return before[-4:]
    years = [p for p in ordered if period_year(p) <= shock_year]
    earlier = [p for p in years if period_year(p) < shock_year]
    return [earlier[-1]] if earlier else years[-1:]


def load_controls(level: str, window) -> pd.DataFrame:
    """Pre-shock covariates per territory, strictly from before the shock.

    Each candidate of :data:`CONTROL_INDICATORS` takes the periods
    :func:`pre_shock_periods` allows (``window.shock``'s first year from
    :data:`analysis.resilience.SHOCKS`): for 2008, the 2007 unemployment rate,
    population and density of 2007 (zone d'emploi series) and the 2008 ESS
    share (départements, régions); for COVID, 2019 values. A candidate absent
    at the level or without an allowed period is dropped, never taken from a
    later year. Also ``reg_code`` (majority région).

    Returns:
        Controls indexed by territory_code; ``attrs["dropped_controls"]``
        (names), ``attrs["missing_controls"]`` (name and reason),
        ``attrs["periods_used"]`` (control → periods).
    """
    window = as_shock_window(window)
    shock_year = (
        int(SHOCKS.at[window.shock, "shock_year"])
        if window.shock in SHOCKS.index
        else period_year(window.peak)
    )
    columns, dropped, reasons, periods_used = {}, [], [], {}
    for name, (indicator, transform) in CONTROL_INDICATORS.items():
        try:
            panel = indicators.get(indicator, level)
        except (KeyError, ValueError) as error:
            panel, why = None, str(error).splitlines()[0]
        else:
            why = f"no value at level {level}"
        periods = [] if panel is None or panel.empty else list(map(str, panel.columns))
        chosen = pre_shock_periods(periods, shock_year, window.peak)
        if not chosen:
            if periods:
                why = f"no period at or before {shock_year} (first: {min(periods)})"
            dropped.append(name)
            reasons.append(f"{name}: {why}")
            continue
        panel.columns = list(map(str, panel.columns))
        values = panel[chosen].astype("float64").mean(axis=1)
        if transform == "log":
            values = np.log(values.where(values > 0))
        columns[name] = values
        periods_used[name] = chosen[0] if len(chosen) == 1 else f"{chosen[0]}..{chosen[-1]}"
    controls = pd.DataFrame(columns)
    controls.index = controls.index.astype(str)
    controls.index.name = "territory_code"
    communes = territories.load_communes(with_geometry=False)
    controls = controls.join(majority_region(communes, level).rename("reg_code"), how="outer")
    controls.attrs["dropped_controls"] = dropped
    controls.attrs["missing_controls"] = reasons
    controls.attrs["periods_used"] = periods_used
    controls.attrs["shock_year"] = shock_year
    return controls


def cluster_codes(level: str, communes: pd.DataFrame | None = None) -> pd.Series:
    """The cluster of each territory for clustered inference.

    Zones d'emploi and EPCI: their majority département; départements: their
    région; régions: themselves.
    """
    communes = territories.load_communes(with_geometry=False) if communes is None else communes
    if level in ("ze2020", "epci"):
        return majority_parent(communes, LEVEL_CODE_COLUMN[level], "dep_code").rename(
            "cluster_code"
        )
    if level == "dep":
        return majority_parent(communes, "dep_code", "reg_code").rename("cluster_code")
    codes = communes[LEVEL_CODE_COLUMN[level]].dropna().astype(str).unique()
    return pd.Series(codes, index=pd.Index(codes, name="territory_code"), name="cluster_code")


LAMBERT_93 = "EPSG:2154"


def territory_centroids(level: str) -> pd.DataFrame:
    """Projected centroids (Lambert-93 metres) ``centroid_x``, ``centroid_y`` per territory."""
    layer = territories.load_territories(level).set_index("territory_code")
    points = layer.geometry.to_crs(LAMBERT_93).centroid
    frame = pd.DataFrame({"centroid_x": points.x, "centroid_y": points.y})
    frame.index = frame.index.astype(str)
    frame.index.name = "territory_code"
    return frame


def event_study_panel(
    panel: pd.DataFrame,
    window,
    table: pd.DataFrame,
    treatment: str,
    *,
    pre_periods: int = 8,
    post_periods: int = 8,
) -> pd.DataFrame:
    """Long panel (territory × event time) for the clustered event study.

    Event time 0 is the national peak; ``pre_periods`` periods before it and
    ``post_periods`` after it. Columns: ``territory_code``, ``event_time``,
    ``value``, ``treatment`` (0/1 from ``table``), ``cluster_code``.
    """
    window = as_shock_window(window)
    require_columns(table, [treatment, "cluster_code"], "event_study_panel")
    ordered = sorted_periods(panel.columns)
    if window.peak not in ordered:
        raise ValueError(f"the panel has no period {window.peak!r} (the national peak)")
    start = ordered.index(window.peak)
    kept = ordered[max(start - pre_periods, 0) : start + post_periods + 1]
    wide = panel[kept].copy()
    wide.columns = [ordered.index(p) - start for p in kept]
    wide.index = wide.index.astype(str)
    long = wide.rename_axis(index="territory_code", columns="event_time").stack()
    long = long.rename("value").reset_index()
    units = table[[treatment, "cluster_code"]].copy()
    units[treatment] = units[treatment].astype(float)
    long = long.merge(
        units.rename(columns={treatment: "treatment"}),
        left_on="territory_code",
        right_index=True,
        how="inner",
        validate="many_to_one",
    )
    return long


# --------------------------------------------------------------------------- cooperation


def load_initiatives(
    registry_path: Path | str | None = None, *, registry: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Located cooperation rows: the built table, or computed once from a custom registry.

    With a path, the registry is read, checked and located (with the public
    lists) here, once; with ``registry`` (a custom registry the caller has
    already read with ``registry.read_registry``) it is checked and located
    without being read again. Pass the result down to :func:`cooperation_counts`,
    :func:`treatment_by_territory` and :func:`load_analysis_table`.
    """
    if registry_path is None and registry is None:
        return load_cooperation()
    table, _report = compute_cooperation(registry_path, registry=registry)
    return table


def cooperation_counts(level: str, initiatives: pd.DataFrame | None = None) -> pd.DataFrame:
    """Initiatives per territory of ``level``, every territory listed, indexed by territory_code.

    Args:
        level: epci, ze2020, dep, reg (or commune, fr).
        initiatives: the cooperation table from :func:`load_initiatives`;
            ``None`` reads the built counts (``cooperation_territories.parquet``).
    """
    if initiatives is None:
        return cooperation_by_territory(level)
    communes = territories.load_communes(with_geometry=False)
    return count_by_territory(initiatives, communes, level).set_index("territory_code")


def treatment_by_territory(level: str, initiatives: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counts and ``is_*_territory`` flags per territory (from :func:`cooperation_counts`)."""
    cooperation = cooperation_counts(level, initiatives)
    cooperation.index = cooperation.index.astype(str)
    cooperation.index.name = "territory_code"
    # Keep counts and flags only: population and level come from the indicators/backbone.
    keep = [
        c for c in cooperation.columns if c.startswith(("n_", "is_")) or c == "initiatives_per_100k"
    ]
    return cooperation[keep]


def treatment_established_before(
    initiatives: pd.DataFrame, level: str, before_year: int, *, kind: str = "ptce"
) -> pd.Series:
    """Territories hosting an initiative of ``kind`` founded strictly before ``before_year``.

    Treatment timing matters: PTCE labelled in 2021 or later cannot have
    helped a territory through the 2020 shock, and no PTCE existed before the
    2008-09 recession. Initiatives with an unknown year are not counted; their
    number is in ``attrs["n_unknown_year"]``. A location counts at a level as
    in ``cooperation.count_by_territory`` (:data:`analysis.keys.LEVEL_PRECISIONS`:
    a PTCE known only by its département counts for the département, not for
    a zone d'emploi).

    Args:
        initiatives: the cooperation table (``kind``, ``year``,
            ``location_precision`` and ``<level>_code`` columns).
        level: ``epci``, ``ze2020``, ``dep`` or ``reg``.
        before_year: e.g. 2020 for the COVID shock.
        kind: the kind of initiative.

    Returns:
        Boolean Series indexed by the codes of the territories that host one
        (every other territory is untreated), named ``is_<kind>_before_<year>``.
    """
    code_column = LEVEL_CODE_COLUMN[level]
    require_columns(
        initiatives,
        ["kind", "year", "location_precision", code_column],
        "treatment_established_before",
    )
    rows = initiatives[
        (initiatives["kind"] == kind)
        & initiatives["location_precision"].isin(LEVEL_PRECISIONS[level])
    ]
    year = pd.to_numeric(rows["year"], errors="coerce")
    founded = rows[year < before_year]
    codes = sorted(founded[code_column].dropna().astype(str).unique())
    flags = pd.Series(True, index=pd.Index(codes, name="territory_code"), dtype=bool)
    flags.name = f"is_{kind}_before_{before_year}"
    flags.attrs["n_unknown_year"] = int(year.isna().sum())
    return flags


def load_analysis_table(
    indicator: str,
    level: str,
    shock: str,
    *,
    initiatives: pd.DataFrame | None = None,
    overrides: dict | None = None,
) -> tuple[pd.DataFrame, ShockWindow]:
    """Indices + cooperation + controls for one indicator, level and shock (the notebooks' input).

    Args:
        indicator, level, shock: what to measure, where, around which shock.
        initiatives: the cooperation table from :func:`load_initiatives`
            (``None``: the built tables).
        overrides: turning points imposed on the shock window.

    Returns:
        ``(analysis table indexed by territory_code, the ShockWindow used)``.
    """
    indices, window = compute_resilience(indicator, level, shock, overrides=overrides)
    cooperation = treatment_by_territory(level, initiatives)
    if shock in SHOCKS.index:
        # Timing-aware treatment: PTCE founded before the shock year.
        located = load_cooperation() if initiatives is None else initiatives
        before = int(SHOCKS.at[shock, "shock_year"])
        flags = treatment_established_before(located, level, before)
        unknown = sorted(set(flags.index) - set(cooperation.index))
        if unknown:
            raise ValueError(
                f"initiatives located in {level} codes absent from the counts: {unknown}"
            )
        cooperation["is_ptce_before_shock"] = cooperation.index.isin(flags.index)
    controls = load_controls(level, window)
    attrs = dict(controls.attrs)
    controls = controls.join(cluster_codes(level), how="left", validate="one_to_one")
    controls = controls.join(territory_centroids(level), how="left", validate="one_to_one")
    controls.attrs.update(attrs)  # joins do not always carry attrs over
    table = prepare_analysis_table(indices, cooperation, controls)
    return table, window


# --------------------------------------------------------------------------- dose-response
DOSE_KINDS: tuple[str, ...] = (
    "tiers_lieu",
    "fabrique_territoire",
    "manufacture_proximite",
    "ptce",
    "tzcld",
)
"""The kinds whose density is a dose: those with a nationwide list (tiers-lieux of the
2019 census, Fabriques de territoire, Manufactures de proximité) or a national label
(PTCE, TZCLD). SCIC, SCOP and employer groups enter the registry only case by case, so
their density would measure the registry's coverage, not cooperation."""

DENSITY_DOSES: tuple[str, ...] = (
    *(f"n_{kind}_per_100k" for kind in DOSE_KINDS),
    "initiatives_per_100k",
)
"""The doses of the dose-response runs: each of :data:`DOSE_KINDS` per 100,000
inhabitants (columns of :func:`treatment_by_territory`), then all kinds together."""


def dose_list(doses: str) -> list[str]:
    """The doses of a run's ``doses`` parameter (comma-separated; empty: :data:`DENSITY_DOSES`)."""
    named = [d.strip() for d in doses.split(",") if d.strip()]
    return named or list(DENSITY_DOSES)


# --------------------------------------------------------------------------- territory profile


def territory_profile(level: str, territory_code: str) -> TerritoryProfile:
    """A territory, its région and (for an EPCI) its zone d'emploi, from the territory tables."""
    layer = territories.load_territories(level, with_geometry=False)
    regions = territories.load_territories("reg", with_geometry=False)
    majority = zones = majority_zone = None
    if level not in ("reg", "fr"):
        communes = territories.load_communes(with_geometry=False)
        majority = majority_region(communes, level)
        majority.index = majority.index.astype(str)
        if level == "epci":
            zones = territories.load_territories("ze2020", with_geometry=False)
            majority_zone = majority_parent(communes, "epci_code", "ze2020_code")
    return profile_from_tables(
        level, territory_code, layer, regions, majority, zones=zones, majority_zone=majority_zone
    )


def indicators_vs_references(
    profile: TerritoryProfile,
    indicator_names: Sequence[str] = PROFILE_INDICATORS,
    lang: str = "fr",
    *,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The territory's latest value of each indicator next to its région's and France's.

    When the territory's latest period is newer than its references', the three values
    are those of the latest period common to the three (``period``), the territory's
    own latest period is ``latest_period`` and ``note`` says so. Indicators not published
    at the territory's level are listed with an empty value and the reason, not dropped.
    ``table``: a long indicators table already loaded (with the territory's level, ``reg``
    and ``fr``).
    """
    levels = {profile.level, "reg", "fr"}
    panel = table
    if panel is None:
        panel = indicators.load_indicators(levels=sorted(levels), indicators=list(indicator_names))
    rows = []
    for name in indicator_names:
        info = indicators.indicator_info(name)
        label = info[f"label_{lang}"]
        try:
            own = indicators.get(name, profile.level, codes=[profile.territory_code], panel=panel)
        except (KeyError, ValueError) as error:
            rows.append({"indicator": name, "label": label, "note": str(error)})
            continue
        region = None
        if profile.region_code:
            try:
                region = indicators.get(name, "reg", codes=[profile.region_code], panel=panel)
            except (KeyError, ValueError):
                region = None
        try:
            france = indicators.get(name, "fr", panel=panel)
        except (KeyError, ValueError):
            france = None
        values = reference_values(own, region, france)
        note = "" if values["period"] else profile_note("not_at_level", lang, level=profile.level)
        if values["period"] and values["latest_period"] != values["period"]:
            note = profile_note("common_period", lang, latest=values["latest_period"])
        elif values["period"] and (
            pd.isna(values["france"]) or (profile.region_code and pd.isna(values["region"]))
        ):
            note = profile_note("no_reference", lang)
        rows.append(
            {
                "indicator": name,
                "label": label,
                "unit": info.get("unit", ""),
                **values,
                "note": note,
            }
        )
    columns = ["indicator", "label", "unit", "period", "territory", "region", "france"]
    return pd.DataFrame(rows).reindex(columns=[*columns, "latest_period", "note"])


def profile_series(
    profile: TerritoryProfile,
    indicator: str,
    lang: str = "fr",
    *,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Wide series of the territory, its région and France, for ``figures.plot_series``.

    Rows are ``report_content.SERIES_ROLES`` (``territory``, ``region``,
    ``national``; an EPCI without the indicator gets its ``zone`` d'emploi
    instead of itself); ``attrs["labels"]`` names them (the national row says
    whether it is France or France métropolitaine) and ``attrs["indicator"]`` is set.
    ``table``: a long indicators table already loaded (with the territory's
    level, ``ze2020``, ``reg`` and ``fr``).
    """
    rows: dict[str, pd.Series] = {}
    labels: dict[str, str] = {}
    panel = table
    if panel is None:
        panel = indicators.load_indicators(
            levels=sorted({profile.level, "reg", "fr"}), indicators=[indicator]
        )
    own = indicators.get(indicator, profile.level, codes=[profile.territory_code], panel=panel)
    if len(own):
        rows["territory"], labels["territory"] = own.iloc[0], profile.territory_name
    elif profile.zone_code:
        zone_panel = table
        if zone_panel is None:
            zone_panel = indicators.load_indicators(levels=["ze2020"], indicators=[indicator])
        zone = indicators.get(indicator, "ze2020", codes=[profile.zone_code], panel=zone_panel)
        if len(zone):
            rows["zone"] = zone.iloc[0]
            labels["zone"] = profile_note("zone", lang, name=profile.zone_name)
    if profile.region_code:
        region = indicators.get(indicator, "reg", codes=[profile.region_code], panel=panel)
        same = "territory" in rows and len(region) and region.iloc[0].equals(rows["territory"])
        if len(region) and not same:  # a one-département région (overseas) is drawn once
            rows["region"], labels["region"] = region.iloc[0], profile.region_name
    france = indicators.get(indicator, "fr", panel=panel)
    code = longest_national_code(france)
    if code is not None:
        rows["national"], labels["national"] = france.loc[code], NATIONAL_NAMES[code][lang]
    wide = pd.DataFrame(rows).T
    wide = wide[sorted(wide.columns, key=str)]
    wide.attrs["indicator"] = indicator
    wide.attrs["labels"] = labels
    return wide


def profile_resilience(
    profile: TerritoryProfile, indicator: str, shocks: Sequence[str], lang: str = "fr"
) -> pd.DataFrame:
    """The territory's resilience measures for each shock (computes the indices of its level).

    A shock the indicator does not cover at this level gives a row with the
    reason in ``note`` instead of failing the profile.
    """
    rows = []
    for shock in shocks:
        label = shock_label(shock, lang)
        level, code, note = profile.level, profile.territory_code, ""
        try:
            indices, window = compute_resilience(indicator, level, shock)
        except (KeyError, ValueError) as error:
            if not profile.zone_code:
                rows.append({"shock": shock, "shock_label": label, "note": str(error)})
                continue
            # Not published for this level (EPCI): measure it on the EPCI's zone d'emploi.
            level, code = "ze2020", profile.zone_code
            note = profile_note("measured_on_zone", lang, name=profile.zone_name, code=code)
            try:
                indices, window = compute_resilience(indicator, level, shock)
            except (KeyError, ValueError) as zone_error:
                rows.append({"shock": shock, "shock_label": label, "note": str(zone_error)})
                continue
        indices.index = indices.index.astype(str)
        row = resilience_row(indices, window, code, label)
        row["note"] = "; ".join(filter(None, [note, row["note"]]))
        rows.append(row)
    base = ["shock", "shock_label", "peak", "trough", "recovery_end"]
    table = pd.DataFrame(rows)
    extra = [c for c in table.columns if c not in base and c != "note"]
    return table.reindex(columns=[*base, *extra, "note"])


# --------------------------------------------------------------------------- territory fiche

FICHE_INDICATOR = "unemployment_rate"
"""The indicator of a fiche's series, resilience indices and sub-territory map."""

FICHE_EMPLOYMENT_INDICATOR = "salaried_employment_sa"
"""Salaried employment (URSSAF, by zone d'emploi only): a second series where it exists."""

FICHE_CONTROL_INDICATORS: tuple[str, ...] = (
    "population",
    "unemployment_rate",
    "poverty_rate_pct",
    "rural_population_share_pct",
)
"""Indicators the comparable territories are matched on (before each shock)."""


def fiche_levels(level: str) -> list[str]:
    """Levels of the indicators table a fiche of ``level`` reads."""
    sub = SUB_LEVEL.get(level)
    return sorted({level, "reg", "fr", "ze2020", *([sub] if sub else [])})


def load_fiche_table(
    level: str, indicator_names: Sequence[str] = PROFILE_INDICATORS
) -> pd.DataFrame:
    """The long indicators table a fiche needs, read once (its levels and indicators only)."""
    names = sorted({*indicator_names, *FICHE_CONTROL_INDICATORS, FICHE_INDICATOR})
    return indicators.load_indicators(levels=fiche_levels(level), indicators=names)


def fiche_indices(
    level: str, table: pd.DataFrame, shocks: Sequence[str] = tuple(SHOCKS.index)
) -> dict[str, tuple[pd.DataFrame, ShockWindow]]:
    """Resilience indices of every territory of ``level`` for each shock the series covers.

    Returns:
        ``{shock: (indices indexed by territory code, window)}``; a shock the
        unemployment series does not cover at this level (none at EPCI level)
        is absent.
    """
    found: dict[str, tuple[pd.DataFrame, ShockWindow]] = {}
    for shock in shocks:
        try:
            indices, window = compute_resilience(FICHE_INDICATOR, level, shock, table=table)
        except (KeyError, ValueError):
            continue
        indices.index = indices.index.astype(str)
        found[shock] = (indices, window)
    return found


def fiche_resilience(
    profile: TerritoryProfile,
    indices: Mapping[str, tuple[pd.DataFrame, ShockWindow]],
    zone_indices: Mapping[str, tuple[pd.DataFrame, ShockWindow]] | None = None,
    lang: str = "fr",
) -> pd.DataFrame:
    """One row per shock: the window, the territory's measures and their ranks.

    An EPCI has no unemployment rate of its own: its zone d'emploi's row is
    given (``zone_indices``), with a note saying so.
    """
    rows = []
    for shock in SHOCKS.index:
        label = shock_label(shock, lang)
        source, code, note = indices, profile.territory_code, ""
        if shock not in indices and zone_indices and profile.zone_code:
            source, code = zone_indices, profile.zone_code
            note = profile_note("measured_on_zone", lang, name=profile.zone_name, code=code)
        if shock not in source:
            rows.append({"shock": shock, "shock_label": label, "note": ""})
            continue
        frame, window = source[shock]
        row = resilience_row(frame, window, code, label)
        row["note"] = note
        rows.append(row)
    base = ["shock", "shock_label", "peak", "trough", "recovery_end"]
    table = pd.DataFrame(rows)
    extra = [c for c in table.columns if c not in base and c != "note"]
    return table.reindex(columns=[*base, *extra, "note"])


def fiche_indicator_ranks(
    profile: TerritoryProfile, references: pd.DataFrame, table: pd.DataFrame
) -> list[str]:
    """Rank of the territory among its level on each row of :func:`indicators_vs_references`.

    Rank 1 is the highest value, at the period of the row; "—" where the
    indicator has no value at the territory's level.
    """
    ranks = []
    for name, period in zip(references["indicator"], references["period"], strict=True):
        if period is None or pd.isna(period):
            ranks.append(MISSING)
            continue
        panel = indicators.get(name, profile.level, periods=[str(period)], panel=table)
        values = panel[str(period)] if str(period) in panel else pd.Series(dtype="float64")
        ranks.append(rank_label(values, profile.territory_code))
    return ranks


def _value_before(panel: pd.DataFrame, target: float) -> pd.Series:
    """Each territory's value at the latest period at or before ``target`` (else the earliest)."""
    if panel.empty:
        return pd.Series(dtype="float64")
    period = _pick_period(list(map(str, panel.columns)), target)
    return panel[period].astype("float64")


def fiche_controls(
    level: str,
    table: pd.DataFrame,
    windows: Mapping[str, ShockWindow],
    layer: pd.DataFrame,
) -> pd.DataFrame:
    """Pre-shock values of every territory of ``level`` for matching comparable territories.

    Columns: ``population`` (at the first shock's peak), ``area_km2`` (the
    backbone's), ``unemployment_before_<year>`` (at each shock's peak),
    ``poverty_rate_pct`` and ``rural_population_share_pct`` (latest at or
    before the last shock's peak; Filosofi starts in 2014).
    """
    ordered = sorted(windows.values(), key=lambda w: period_to_time(w.peak))
    first = period_to_time(ordered[0].peak) if ordered else 2019.0
    last = period_to_time(ordered[-1].peak) if ordered else 2019.0
    base = pd.DataFrame(index=layer["territory_code"].astype(str))
    base["area_km2"] = layer["area_km2"].to_numpy()
    base["population"] = _value_before(indicators.get("population", level, panel=table), first)
    base.loc[base["population"].isna(), "population"] = layer.set_index(
        layer["territory_code"].astype(str)
    )["population"]
    unemployment = indicators.get(FICHE_INDICATOR, level, panel=table)
    for window in ordered:
        year = int(SHOCKS.at[window.shock, "shock_year"]) if window.shock in SHOCKS.index else 0
        base[f"unemployment_before_{year}"] = _value_before(
            unemployment, period_to_time(window.peak)
        )
    for name in ("poverty_rate_pct", "rural_population_share_pct"):
        base[name] = _value_before(indicators.get(name, level, panel=table), last)
    base.index.name = "territory_code"
    return base


def fiche_layers(profile: TerritoryProfile) -> dict[str, Any]:
    """The geometries a fiche draws.

    Returns:
        ``outline`` (the territory), ``boundaries`` (its communes, or its EPCI
        for a région: the EPCI most of whose inhabitants live in it),
        ``layer`` (every territory of its level, without geometry: names,
        population, area), ``children`` (the sub-territories of
        :data:`analysis.fiche_content.SUB_LEVEL` with geometry: the
        départements of a région, the zones d'emploi most of whose
        inhabitants live in a département; empty below).
    """
    level, code = profile.level, profile.territory_code
    communes = territories.load_communes(with_geometry=True)
    outline = territories.load_territories(level)
    outline = outline[outline["territory_code"].astype(str) == code]
    if level == "reg":
        epci = territories.load_territories("epci")
        region_of = majority_parent(communes, "epci_code", "reg_code")
        boundaries = epci[epci["territory_code"].astype(str).isin(children_of(region_of, code))]
    else:
        boundaries = communes[communes[LEVEL_CODE_COLUMN[level]].astype(str) == code]
    sub = SUB_LEVEL.get(level)
    children = None
    if sub is not None:
        parent_of = majority_parent(communes, LEVEL_CODE_COLUMN[sub], LEVEL_CODE_COLUMN[level])
        layer = territories.load_territories(sub)
        children = layer[layer["territory_code"].astype(str).isin(children_of(parent_of, code))]
    # a local projection (UTM zone of the territory): shapes as on a map, overseas included
    crs = outline.estimate_utm_crs()
    if children is not None:
        children = children.to_crs(crs)
    return {
        "outline": outline.to_crs(crs),
        "boundaries": boundaries.to_crs(crs),
        "layer": territories.load_territories(level, with_geometry=False),
        "children": children,
    }


def fiche_employment_series(profile: TerritoryProfile, lang: str = "fr") -> pd.DataFrame | None:
    """Private salaried employment of a zone d'emploi (an EPCI's zone) and of France, as indices.

    URSSAF publishes it by zone d'emploi only: ``None`` for a département or
    a région. Rows ``territory`` (or ``zone``) and ``national`` (the sum of
    the zones), 100 at the first quarter both observe; ``attrs["labels"]``
    names them and ``attrs["base_period"]`` gives the base.
    """
    code = {"ze2020": profile.territory_code, "epci": profile.zone_code}.get(profile.level, "")
    if not code:
        return None
    panel, national = load_panel(FICHE_EMPLOYMENT_INDICATOR, "ze2020")
    if code not in panel.index:
        return None
    role = "territory" if profile.level == "ze2020" else "zone"
    name = (
        profile.territory_name
        if role == "territory"
        else profile_note("zone", lang, name=profile.zone_name)
    )
    wide = pd.DataFrame({role: panel.loc[code], "national": national}).T
    wide = indexed_series(wide.dropna(axis=1, how="all"))
    wide.attrs["labels"] = {role: name, "national": NATIONAL_NAMES[FRANCE_CODE][lang]}
    return wide


# --------------------------------------------------------------------------- staggered adoption
WAVE_LABEL_PERIODS: dict[str, str] = {
    "aap2013_laureat": "2014-Q1",  # winners of the first national call, 10 Jan 2014
    "aap2015_laureat": "2016-Q1",  # winners of the second call, 14 Jan 2016
    "ami2023_laureat": "2023-Q4",  # winners announced 17 Oct 2023
    "tzcld_phase1": "2016-Q4",  # arrêté of 24 Nov 2016
    "tzcld_phase2": "2021-Q4",  # territories authorised from Nov 2021
}
"""Quarter of each dated wave (dates from ``data/registry/README.md``). The 2021 call
(``ami2021_*``) and ``other_known`` rows carry a year only: they are placed in the
first quarter of their ``year`` (``date_precision`` = ``year`` in the timing table)."""


def load_staggered_panel(
    indicator: str, level: str, kind: str, initiatives: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The long panel of a staggered design on the ``kind`` labels, and the label timing.

    A territory is treated from its first dated label
    (:func:`analysis.staggered.first_label_periods`); territories hosting a
    ``kind`` initiative of unknown date are left out (neither treated at a
    known date nor clean controls).

    Returns:
        (long panel for :func:`analysis.staggered.staggered_did`, with
        ``attrs["excluded"]`` and ``attrs["treated_not_in_panel"]``; the timing
        table, one row per treated territory).
    """
    panel = indicators.get(indicator, level)
    if panel.empty:
        raise ValueError(f"the indicators table has no {indicator!r} values at level {level!r}")
    frequency = period_frequency([str(c) for c in panel.columns])
    initiatives = load_cooperation() if initiatives is None else initiatives
    timing = first_label_periods(initiatives, level, kind, WAVE_LABEL_PERIODS, frequency=frequency)
    long = long_panel_with_timing(panel, timing, exclude=timing.attrs["undated_territories"])
    return long, timing


def compute_staggered(
    indicator: str,
    level: str,
    kind: str,
    *,
    control_group: str = "never_treated",
    estimators: tuple[str, ...] = ESTIMATORS,
    initiatives: pd.DataFrame | None = None,
    log_outcome: bool | None = None,
    start: str | None = None,
) -> tuple[StaggeredResult, pd.DataFrame, pd.DataFrame]:
    """Load and estimate one staggered design (the ``ptce did`` pipeline).

    ``log_outcome`` defaults to True for counts (jobs, payroll: effects in log
    points ≈ %) and False for rates (effects in percentage points).

    Returns:
        (the :class:`analysis.staggered.StaggeredResult`, the timing table,
        every unit left out or recoded, with the reason).
    """
    long, timing = load_staggered_panel(indicator, level, kind, initiatives)
    if log_outcome is None:
        log_outcome = indicator not in RATE_INDICATORS
    result = staggered_did(
        long,
        control_group=control_group,
        estimators=estimators,
        log_outcome=log_outcome,
        start=start,
    )
    extra = [
        (code, None, dropped_reason_text("unknown_date", kind=kind))
        for code in long.attrs["excluded"]
    ] + [
        (code, None, dropped_reason_text("no_series", kind=kind, indicator=indicator, level=level))
        for code in long.attrs["treated_not_in_panel"]
    ]
    dropped = pd.concat(
        [result.dropped, pd.DataFrame(extra, columns=["unit", "first_treated", "reason"])],
        ignore_index=True,
    )
    # a reader meets territories by their names, next to their codes
    names = territories.territory_names(level)
    timing = timing.copy()
    timing.insert(
        timing.columns.get_loc("territory_code") + 1,
        "territory_name",
        timing["territory_code"].astype(str).map(names),
    )
    dropped.insert(1, "territory_name", dropped["unit"].astype(str).map(names))
    return result, timing, dropped


# --------------------------------------------------------------------------- synthetic control
def load_synthetic_control_inputs(
    indicator: str = "unemployment_rate",
    level: str = "ze2020",
    kind: str = "ptce",
    treatment_period: str = "2014-Q1",
    *,
    start: str = "2003-Q1",
    end: str = "2019-Q4",
    initiatives: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Inputs of :func:`analysis.synthetic_control.synthetic_control_summary`.

    Treated: territories whose first dated ``kind`` label is ``treatment_period``
    (the first-wave PTCE zones by default). Donors: territories hosting no
    initiative of any kind located precisely enough for ``level`` (an
    initiative known only by its département may still sit in a donor zone).
    The panel is cut to [``start``, ``end``] (by default before the COVID
    shock) and keeps territories observed in every period.

    Returns:
        (wide panel, treated territory → treatment period, donor codes).
    """
    panel = indicators.get(indicator, level)
    panel.columns = [str(c) for c in panel.columns]
    panel.index = panel.index.astype(str)
    lo, hi = period_to_time(start), period_to_time(end)
    panel = panel[[c for c in panel.columns if lo <= period_to_time(c) <= hi]].dropna()
    initiatives = load_cooperation() if initiatives is None else initiatives
    frequency = period_frequency(list(panel.columns))
    timing = first_label_periods(initiatives, level, kind, WAVE_LABEL_PERIODS, frequency=frequency)
    treated = {
        code: period
        for code, period in zip(
            timing["territory_code"], timing["first_treated_period"], strict=True
        )
        if period == treatment_period and code in panel.index
    }
    column = LEVEL_CODE_COLUMN[level]
    located = initiatives[initiatives["location_precision"].isin(LEVEL_PRECISIONS[level])]
    hosting = set(located[column].dropna().astype(str))
    donors = [code for code in panel.index if code not in hosting]
    return panel, treated, donors
