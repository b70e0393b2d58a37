"""Shock windows and regional resilience indices (Martin 2012, Lagravinese 2015, losses).

Everything here is a pure function of DataFrames: a *wide panel* (index =
territory code, columns = periods ``"2008-Q1"`` or ``"2019"``, values = one
indicator) and a *national series* (a ``pd.Series`` indexed by the same
periods). They are loaded by :mod:`analysis.datasets` (``load_panel``,
``compute_resilience``); nothing here reads a file.

Conventions (read these before interpreting a number):

* A shock window has three national turning points: the pre-shock **peak** of
  activity, the **trough**, and the end of the **recovery** horizon. They are
  detected from the national series inside search windows that are data
  (:data:`SHOCKS`), and each can be overridden by parameter.
* For indicators where *lower is better* (the unemployment rate), the "peak of
  activity" is the *minimum* of the series and the trough its *maximum*.
* Lagravinese resistance and recovery compare a territory's change with the
  nation's: relative changes ΔX/X for levels (employment), changes in
  **percentage points** for rates (unemployment, poverty: a rate's relative
  change mixes the shock with the starting level). They are signed so that a
  **positive value always means the territory did better than the nation**
  (for an unemployment rate, the raw formula is multiplied by −1).
* Martin's sensitivity β is not a column: over a contraction (the nation
  moved in the bad direction by construction of the trough) the signed
  Lagravinese resistance equals ``1 − β`` exactly, so the two were one number
  under two labels. :func:`martin_sensitivity` stays for whoever wants β.
* An index divides by the national change; when the nation barely moved it is
  noise. Below :data:`MIN_NATIONAL_CHANGE_POINTS` (rates) or
  :data:`MIN_NATIONAL_CHANGE_RELATIVE` (levels) the index is NaN and
  ``resistance_lagravinese_reason`` / ``recovery_lagravinese_reason`` say why
  (the 2008 unemployment recovery: France −0.2 point, −2.2 %).
* Rate indicators (unemployment rate, in %) also get differences in
  percentage points: a positive ``rise_vs_nation_pp`` means the territory's
  rate rose *more* than the national rate (worse).
* ``cumulative_loss_vs_trend`` is positive when the territory lost relative
  to its own pre-shock linear trend (for levels: percent of trend summed over
  periods; for rates: percentage points summed over periods);
  ``cumulative_loss_vs_peak`` is the same against the pre-shock value held
  constant (prefer it for unemployment in 2008: the 2006-08 fall in
  unemployment, extrapolated, makes the trend version large everywhere).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.labels import WITHHELD_REASONS
from analysis.periods import (
    PERIOD_PATTERN,
    period_frequency,
    period_to_time,
    sorted_periods,
)

SHOCKS: pd.DataFrame = pd.DataFrame(
    [
        {
            "shock": "recession_2008",
            "peak_search_start": 2007,
            "peak_search_end": 2008,
            "trough_search_end": 2010,
            "recovery_end_year": 2011,
            "shock_year": 2008,
        },
        {
            "shock": "covid_2020",
            "peak_search_start": 2019,
            "peak_search_end": 2020,
            "trough_search_end": 2021,
            "recovery_end_year": 2021,
            "shock_year": 2020,
        },
    ]
).set_index("shock")
"""Search windows per shock, in calendar years (inclusive).

The peak is searched in [``peak_search_start``, ``peak_search_end``] — for
``covid_2020`` only up to 2020-Q1 in quarterly data (the last quarter before
the lockdown) —, the trough strictly after the peak up to the end of
``trough_search_end``, and the recovery horizon ends with the last period of
``recovery_end_year`` (or the last observed period if earlier). The 2008
recovery horizon stops in 2011 before the euro-area second dip; the COVID one
stops in 2021 because the départemental unemployment file ends in 2021-Q4.
``shock_year`` dates the shock for treatment timing: an initiative counts as
"in place before the shock" when founded strictly before that year.
"""

_COVID_LAST_PRE_SHOCK_QUARTER = "2020-Q1"

DIRECTIONS: dict[str, str] = {
    "unemployment_rate": "lower_is_better",
    "poverty_rate_pct": "lower_is_better",
}
"""Indicators for which a lower value is better; every other is ``higher_is_better``."""

RATE_INDICATORS: frozenset[str] = frozenset({"unemployment_rate", "poverty_rate_pct"})
"""Indicators expressed in % for which differences are reported in percentage points."""

MIN_NATIONAL_CHANGE_POINTS = 0.5
"""Smallest national change (percentage points) a rate index may be divided by.

Zone-level unemployment changes over a shock spread over several points;
divided by a national change under half a point, the index spans tens of
units (2008 recovery: −14 to +12 at zone level for a national −0.2 point)."""

MIN_NATIONAL_CHANGE_RELATIVE = 0.01
"""Smallest relative national change (1 %) a level index (employment) may be divided by.

Lower than the 5 % sometimes quoted for rates because employment moves little
in relative terms even in a deep shock (COVID 2020: France −3.0 % salaried
employment peak to trough)."""

INDEX_COLUMNS: tuple[str, ...] = (
    "value_peak",
    "value_trough",
    "value_recovery_end",
    "change_contraction",
    "change_recovery",
    "resistance_lagravinese",
    "recovery_lagravinese",
    "rise_pp",
    "rise_vs_nation_pp",
    "recovery_vs_nation_pp",
    "periods_to_pre_shock_value",
    "has_returned_to_pre_shock_value",
    "cumulative_loss_vs_trend",
    "cumulative_loss_vs_peak",
    "own_peak",
    "own_trough",
    "own_depth",
)
"""Numeric columns of :func:`resilience_indices` (then the reason and window columns)."""

REASON_COLUMNS: tuple[str, ...] = ("resistance_lagravinese_reason", "recovery_lagravinese_reason")
"""Why a Lagravinese index is NaN for every territory ("" when it is computed)."""

WINDOW_COLUMNS: tuple[str, ...] = (
    "shock",
    "indicator",
    "direction",
    "peak",
    "trough",
    "recovery_end",
    "frequency",
    "window_source",
    "national_reference",
)


def indicator_direction(indicator: str) -> str:
    """``"lower_is_better"`` for unemployment/poverty rates, else ``"higher_is_better"``."""
    return DIRECTIONS.get(indicator, "higher_is_better")


# --------------------------------------------------------------------------- windows
@dataclass(frozen=True)
class ShockWindow:
    """National turning points of one shock for one indicator.

    Attributes:
        shock: shock name (a key of :data:`SHOCKS`, or a custom name).
        indicator: indicator name (decides the direction).
        direction: ``"higher_is_better"`` or ``"lower_is_better"``.
        peak: last period before the contraction (best national value).
        trough: worst national value after the peak.
        recovery_end: last period of the recovery horizon.
        frequency: ``"quarterly"`` or ``"annual"``.
        window_source: ``"detected"`` or which points were overridden.
        peak_search_start / peak_search_end / trough_search_end: the search
            windows used, so a territory's own turning points are found the
            same way.
        national_peak_value / national_trough_value / national_recovery_value:
            the national values at the turning points.
        national_reference: which national series was used (its ``name``:
            ``"FR"``, ``"FRM"`` or ``"sum_of_territories"``).
    """

    shock: str
    indicator: str
    direction: str
    peak: str
    trough: str
    recovery_end: str
    frequency: str
    window_source: str = "detected"
    peak_search_start: str | None = None
    peak_search_end: str | None = None
    trough_search_end: str | None = None
    national_peak_value: float = float("nan")
    national_trough_value: float = float("nan")
    national_recovery_value: float = float("nan")
    national_reference: str = ""

    def to_dict(self) -> dict:
        """The window as a plain dict (one row of :func:`detect_shock_windows`)."""
        return asdict(self)


def _search_bounds(shock: str, frequency: str, spec: Mapping) -> tuple[str, str, str, str]:
    """Period labels bounding the peak search, the trough search and the recovery."""
    if frequency == "quarterly":
        peak_start = f"{int(spec['peak_search_start'])}-Q1"
        peak_end = f"{int(spec['peak_search_end'])}-Q4"
        if shock == "covid_2020":
            peak_end = _COVID_LAST_PRE_SHOCK_QUARTER
        trough_end = f"{int(spec['trough_search_end'])}-Q4"
        recovery_end = f"{int(spec['recovery_end_year'])}-Q4"
    else:
        peak_start = str(int(spec["peak_search_start"]))
        # In annual data the shock year itself is a trough candidate, not a peak one.
        peak_end = str(int(spec["peak_search_end"]) - (1 if shock == "covid_2020" else 0))
        trough_end = str(int(spec["trough_search_end"]))
        recovery_end = str(int(spec["recovery_end_year"]))
    return peak_start, peak_end, trough_end, recovery_end


def _in_range(periods: list[str], start: str | None, end: str | None) -> list[str]:
    lo = -math.inf if start is None else period_to_time(start)
    hi = math.inf if end is None else period_to_time(end)
    return [p for p in periods if lo <= period_to_time(p) <= hi]


def _best(values: pd.Series, direction: str) -> str:
    """Label of the best value (first occurrence on ties)."""
    return values.idxmin() if direction == "lower_is_better" else values.idxmax()


def _worst(values: pd.Series, direction: str) -> str:
    return values.idxmax() if direction == "lower_is_better" else values.idxmin()


def detect_shock_window(
    national_series: pd.Series,
    shock: str,
    *,
    indicator: str = "salaried_employment_sa",
    direction: str | None = None,
    peak: str | None = None,
    trough: str | None = None,
    recovery_end: str | None = None,
    search: Mapping | None = None,
) -> ShockWindow:
    """Find the national peak, trough and recovery horizon of one shock.

    The peak is the best national value in the peak search window (for
    ``lower_is_better`` indicators, the minimum of the series), the trough the
    worst value strictly after the peak up to the trough search end; the
    recovery horizon ends at the last period of the recovery year, or at the
    last observed period if the series stops earlier.

    Args:
        national_series: national values indexed by period labels.
        shock: a key of :data:`SHOCKS` (``"recession_2008"``, ``"covid_2020"``)
            or any name if ``search`` is given.
        indicator: indicator name; sets the direction unless ``direction`` is given.
        direction: ``"higher_is_better"`` or ``"lower_is_better"`` override.
        peak, trough, recovery_end: override a detected turning point (period labels).
        search: override the search windows (same keys as a :data:`SHOCKS` row).

    Returns:
        The :class:`ShockWindow`.

    Raises:
        KeyError: unknown shock without ``search``.
        ValueError: the series does not cover the search window, or overrides
            are out of order or absent from the series.
    """
    if search is None:
        if shock not in SHOCKS.index:
            raise KeyError(
                f"unknown shock {shock!r}; known shocks: {', '.join(SHOCKS.index)}"
                " (or pass search={...} with the search-window years)"
            )
        search = SHOCKS.loc[shock].to_dict()
    direction = direction or indicator_direction(indicator)
    if direction not in ("higher_is_better", "lower_is_better"):
        raise ValueError(
            f"direction must be 'higher_is_better' or 'lower_is_better', got {direction!r}"
        )
    series = pd.Series(national_series, dtype="float64").dropna()
    series.index = series.index.astype(str)
    periods = sorted_periods(series.index)
    series = series.loc[periods]
    frequency = period_frequency(periods)
    peak_start, peak_end, trough_end, recovery_year_end = _search_bounds(shock, frequency, search)

    overridden = []
    for name, value in (("peak", peak), ("trough", trough), ("recovery_end", recovery_end)):
        if value is not None:
            if str(value) not in series.index:
                raise ValueError(
                    f"{name}={value!r} is not a period of the national series "
                    f"({periods[0]}…{periods[-1]}, {frequency})"
                )
            overridden.append(name)

    if peak is None:
        candidates = _in_range(periods, peak_start, peak_end)
        if not candidates:
            raise ValueError(
                f"the national series ({periods[0]}…{periods[-1]}) does not cover the {shock} "
                f"peak search window {peak_start}…{peak_end}; pass peak=… explicitly"
            )
        peak = _best(series.loc[candidates], direction)
    peak = str(peak)
    if trough is None:
        candidates = [
            p
            for p in _in_range(periods, None, trough_end)
            if period_to_time(p) > period_to_time(peak)
        ]
        if not candidates:
            raise ValueError(
                f"no period after the peak {peak} up to {trough_end} in the national series; "
                "pass trough=…"
            )
        trough = _worst(series.loc[candidates], direction)
    trough = str(trough)
    if recovery_end is None:
        after = [
            p
            for p in _in_range(periods, None, recovery_year_end)
            if period_to_time(p) > period_to_time(trough)
        ]
        recovery_end = after[-1] if after else trough
    recovery_end = str(recovery_end)
    if not period_to_time(peak) < period_to_time(trough) <= period_to_time(recovery_end):
        raise ValueError(
            f"shock window out of order: peak {peak}, trough {trough}, recovery_end {recovery_end}"
            " (need peak < trough <= recovery_end)"
        )
    return ShockWindow(
        shock=shock,
        indicator=indicator,
        direction=direction,
        peak=peak,
        trough=trough,
        recovery_end=recovery_end,
        frequency=frequency,
        window_source="detected" if not overridden else "override:" + ",".join(overridden),
        peak_search_start=peak_start,
        peak_search_end=peak_end,
        trough_search_end=trough_end,
        national_peak_value=float(series[peak]),
        national_trough_value=float(series[trough]),
        national_recovery_value=float(series[recovery_end]),
        national_reference=str(national_series.name)
        if isinstance(national_series.name, str)
        else "",
    )


def detect_shock_windows(
    national_series: pd.Series,
    shock: str | list[str] | None = None,
    *,
    indicator: str = "salaried_employment_sa",
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """The table of shock windows (one row per shock) detected from a national series.

    Args:
        national_series: national values indexed by period labels.
        shock: one shock name, a list, or ``None`` for every shock in :data:`SHOCKS`
            that the series covers.
        indicator: indicator name (sets the direction).
        overrides: per shock, turning points to impose, e.g.
            ``{"covid_2020": {"trough": "2020-Q2"}}``.

    Returns:
        DataFrame indexed by ``shock`` with the :class:`ShockWindow` fields as columns.
    """
    overrides = overrides or {}
    names = (
        list(SHOCKS.index) if shock is None else [shock] if isinstance(shock, str) else list(shock)
    )
    rows = []
    for name in names:
        try:
            window = detect_shock_window(
                national_series, name, indicator=indicator, **overrides.get(name, {})
            )
        except ValueError:
            if shock is None:  # "every shock the series covers": skip the uncovered ones
                continue
            raise
        rows.append(window.to_dict())
    if not rows:
        raise ValueError("the national series covers none of the shocks " + ", ".join(names))
    return pd.DataFrame(rows).set_index("shock", drop=False)


def as_shock_window(window) -> ShockWindow:
    """Accept a :class:`ShockWindow`, a dict, a row (Series) or a one-row DataFrame."""
    if isinstance(window, ShockWindow):
        return window
    if isinstance(window, pd.DataFrame):
        if len(window) != 1:
            raise ValueError(
                f"expected one shock window, got {len(window)} rows; select one with .loc[shock]"
            )
        window = window.iloc[0]
    data = dict(window)
    fields = ShockWindow.__dataclass_fields__
    unknown_required = [
        f
        for f in ("shock", "indicator", "direction", "peak", "trough", "recovery_end", "frequency")
        if f not in data
    ]
    if unknown_required:
        raise ValueError(f"shock window lacks {unknown_required}")
    return ShockWindow(**{k: v for k, v in data.items() if k in fields})


# --------------------------------------------------------------------------- indices
def _relative_change(start, end):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (end - start) / start


def relative_change(panel: pd.DataFrame | pd.Series, start: str, end: str):
    """ΔX/X between two periods, for a wide panel (per row) or a series (scalar)."""
    if isinstance(panel, pd.Series):
        return float(_relative_change(panel[start], panel[end]))
    return _relative_change(panel[start], panel[end])


def martin_sensitivity(regional_change, national_change):
    """Martin (2012) sensitivity index β_r = (ΔE_r/E_r) / (ΔE_N/E_N).

    Martin, R. (2012), "Regional economic resilience, hysteresis and recessionary
    shocks", *Journal of Economic Geography* 12(1): 1-32. β > 1: the territory
    is more sensitive to the shock than the nation; 0 < β < 1: less; β < 0:
    it moved against the nation. Undefined (NaN) when the nation did not move.
    Over a contraction it carries the same information as the signed
    Lagravinese resistance (resistance = 1 − β), which is why
    :func:`resilience_indices` reports only the latter.
    """
    national_change = float(national_change)
    if national_change == 0 or not np.isfinite(national_change):
        return regional_change * np.nan
    return regional_change / national_change


def lagravinese_index(regional_change, national_change, *, direction: str = "higher_is_better"):
    """Lagravinese (2015) resistance / recovery index, signed so that > 0 is better.

    Index = ((ΔE_r/E_r) − (ΔE_N/E_N)) / |ΔE_N/E_N|, computed over the contraction
    (resistance) or the recovery (recovery); :func:`resilience_indices` passes
    changes in percentage points (ΔE_r − ΔE_N) / |ΔE_N| for rates. Lagravinese, A. (2015), "Economic
    crisis and rising gaps North-South: evidence from the Italian regions",
    *Cambridge Journal of Regions, Economy and Society* 8(2): 331-342; also used
    by Martin, Sunley, Gardiner & Tyler (2016), *Regional Studies* 50(4).
    For a ``lower_is_better`` indicator (unemployment rate) the index is
    multiplied by −1, so a positive value still means "did better than the nation".
    The index divides by the national change: when the nation barely moves
    (e.g. unemployment during a short recovery), it becomes large and noisy —
    read the percentage-point columns alongside it.
    """
    national_change = float(national_change)
    if national_change == 0 or not np.isfinite(national_change):
        return regional_change * np.nan
    index = (regional_change - national_change) / abs(national_change)
    return -index if direction == "lower_is_better" else index


def national_change_too_small(national_change: float, *, is_rate: bool) -> str:
    """Why an index dividing by this national change would be noise ("" when it is usable).

    Rates: |change| < :data:`MIN_NATIONAL_CHANGE_POINTS` percentage points;
    levels: |relative change| < :data:`MIN_NATIONAL_CHANGE_RELATIVE`. English words of
    :data:`analysis.labels.WITHHELD_REASONS` (:func:`analysis.labels.withheld_reason`
    gives them in French).
    """
    change = float(national_change)
    words = WITHHELD_REASONS["en"]
    if not np.isfinite(change):
        return words["not_observed"]
    if is_rate and abs(change) < MIN_NATIONAL_CHANGE_POINTS:
        return words["rate"].format(
            change=f"{change:+.2f}", threshold=f"{MIN_NATIONAL_CHANGE_POINTS:g}"
        )
    if not is_rate and abs(change) < MIN_NATIONAL_CHANGE_RELATIVE:
        return words["level"].format(
            change=f"{100 * change:+.1f}", threshold=f"{100 * MIN_NATIONAL_CHANGE_RELATIVE:g}"
        )
    return ""


def periods_to_return(
    panel: pd.DataFrame, reference_period: str, from_period: str, *, direction: str
) -> pd.Series:
    """Number of periods after ``from_period`` until a territory is back to its reference value.

    Counts from the national trough: 0 if the territory is already at least as
    good as at ``reference_period`` (its pre-shock peak) at ``from_period``, NaN
    if it never returns within the panel (right-censored; see
    ``has_returned_to_pre_shock_value``). "As good as" is ``<=`` for
    ``lower_is_better`` indicators (time to return to the pre-shock
    unemployment rate) and ``>=`` otherwise.
    """
    periods = sorted_periods(panel.columns)
    after = [p for p in periods if period_to_time(p) >= period_to_time(from_period)]
    reference = panel[reference_period]
    values = panel[after]
    back = (
        values.le(reference, axis=0)
        if direction == "lower_is_better"
        else values.ge(reference, axis=0)
    )
    back = back & values.notna()
    has_returned = back.any(axis=1)
    first = back.to_numpy().argmax(axis=1).astype(float)
    first[~has_returned.to_numpy()] = np.nan
    first[reference.isna().to_numpy()] = np.nan
    return pd.Series(first, index=panel.index, name="periods_to_pre_shock_value")


def pre_shock_trend(panel: pd.DataFrame, peak: str, trend_periods: int) -> pd.DataFrame:
    """Linear trend fitted per territory on the ``trend_periods`` periods ending at the peak.

    Returns the trend projected over every period of the panel (same shape);
    NaN for territories with a missing value in the fitting window.
    """
    periods = sorted_periods(panel.columns)
    fit_periods = [p for p in periods if period_to_time(p) <= period_to_time(peak)][-trend_periods:]
    if len(fit_periods) < 2:
        raise ValueError(f"need at least 2 periods up to the peak {peak} to fit a pre-shock trend")
    t_fit = np.array([period_to_time(p) for p in fit_periods])
    y = panel[fit_periods].to_numpy(dtype=float)
    t_centered = t_fit - t_fit.mean()
    slope = (y - y.mean(axis=1, keepdims=True)) @ t_centered / (t_centered @ t_centered)
    intercept = y.mean(axis=1)  # value at mean(t_fit); NaN rows stay NaN
    t_all = np.array([period_to_time(p) for p in periods])
    trend = intercept[:, None] + slope[:, None] * (t_all - t_fit.mean())[None, :]
    return pd.DataFrame(trend, index=panel.index, columns=periods)


def cumulative_loss_vs_trend(
    panel: pd.DataFrame,
    window: ShockWindow,
    *,
    trend_periods: int | None = None,
    is_rate: bool | None = None,
) -> pd.Series:
    """Cumulative loss over (peak, recovery_end] against the pre-shock linear trend.

    For levels (employment): Σ_t 100·(trend_t − X_t)/trend_t, in percent of the
    trend summed over periods ("%-quarters"). For rates (unemployment):
    Σ_t (X_t − trend_t) in percentage points summed over periods for a
    ``lower_is_better`` rate. Positive = loss. The trend is an OLS line on
    the ``trend_periods`` periods ending at the peak (default: 8 quarters or
    3 years). In the spirit of the output-loss measures of Cerra & Saxena
    (2008, *American Economic Review* 98(1)) and Martin et al. (2016).
    """
    window = as_shock_window(window)
    if trend_periods is None:
        trend_periods = 8 if window.frequency == "quarterly" else 3
    if is_rate is None:
        is_rate = window.indicator in RATE_INDICATORS
    periods = sorted_periods(panel.columns)
    trend = pre_shock_trend(panel[periods], window.peak, trend_periods)
    span = [
        p
        for p in periods
        if period_to_time(window.peak) < period_to_time(p) <= period_to_time(window.recovery_end)
    ]
    observed = panel[span]
    if is_rate:
        gap = observed - trend[span]
    else:
        gap = 100 * (trend[span] - observed) / trend[span]
    if window.direction == "lower_is_better" and not is_rate:
        gap = -gap
    if window.direction == "higher_is_better" and is_rate:
        gap = -gap
    loss = gap.sum(axis=1, min_count=len(span))
    return loss.rename("cumulative_loss_vs_trend")


def cumulative_loss_vs_peak(
    panel: pd.DataFrame, window, *, is_rate: bool | None = None
) -> pd.Series:
    """Cumulative loss over (peak, recovery_end] against the pre-shock value held constant.

    Same units and sign as :func:`cumulative_loss_vs_trend`, with the
    territory's own value at the national peak as the counterfactual. Reported
    next to the trend version because a linear trend extrapolated over several
    years can be implausible (French unemployment fell fast in 2006-08, so its
    extrapolated trend would keep falling through 2011).
    """
    window = as_shock_window(window)
    if is_rate is None:
        is_rate = window.indicator in RATE_INDICATORS
    periods = sorted_periods(panel.columns)
    span = [
        p
        for p in periods
        if period_to_time(window.peak) < period_to_time(p) <= period_to_time(window.recovery_end)
    ]
    reference = panel[window.peak]
    observed = panel[span]
    if is_rate:
        gap = observed.sub(reference, axis=0)
    else:
        gap = 100 * (-observed.sub(reference, axis=0)).div(reference, axis=0)
    if (window.direction == "lower_is_better") != is_rate:
        gap = -gap
    return gap.sum(axis=1, min_count=len(span)).rename("cumulative_loss_vs_peak")


def territory_turning_points(panel: pd.DataFrame, window: ShockWindow) -> pd.DataFrame:
    """Each territory's own peak and trough, searched in the national windows.

    Returns:
        DataFrame (same index) with ``own_peak``, ``own_trough`` (period labels)
        and ``own_depth`` (relative change peak→trough for levels, difference in
        percentage points for rates).
    """
    window = as_shock_window(window)
    periods = sorted_periods(panel.columns)
    peak_candidates = _in_range(periods, window.peak_search_start, window.peak_search_end) or [
        window.peak
    ]
    is_rate = window.indicator in RATE_INDICATORS
    # one array for the whole panel (a fiche computes every territory's turning points)
    times = np.array([period_to_time(p) for p in periods])
    matrix = panel[periods].to_numpy(dtype=float)
    peak_columns = [periods.index(p) for p in peak_candidates]
    trough_end = window.trough_search_end or window.recovery_end
    latest = math.inf if trough_end is None else period_to_time(trough_end)
    lower = window.direction == "lower_is_better"
    best, worst = (np.nanargmin, np.nanargmax) if lower else (np.nanargmax, np.nanargmin)
    rows = []
    for code, values in zip(panel.index, matrix, strict=True):
        peak_values = values[peak_columns]
        if np.isnan(peak_values).all():
            rows.append((code, None, None, np.nan))
            continue
        peak_column = peak_columns[int(best(peak_values))]  # first occurrence on ties
        trough_columns = np.flatnonzero((times > times[peak_column]) & (times <= latest))
        trough_values = values[trough_columns]
        if trough_values.size == 0 or np.isnan(trough_values).all():
            rows.append((code, periods[peak_column], None, np.nan))
            continue
        trough_column = int(trough_columns[int(worst(trough_values))])
        start, end = values[peak_column], values[trough_column]
        depth = end - start if is_rate else _relative_change(start, end)
        rows.append((code, periods[peak_column], periods[trough_column], float(depth)))
    frame = pd.DataFrame(
        rows, columns=[panel.index.name or "territory_code", "own_peak", "own_trough", "own_depth"]
    )
    return frame.set_index(frame.columns[0])


def resilience_indices(
    wide_panel: pd.DataFrame,
    national_series: pd.Series,
    window,
    *,
    trend_periods: int | None = None,
) -> pd.DataFrame:
    """Every resilience index of every territory for one shock window.

    Args:
        wide_panel: index = territory code, columns = period labels, values of
            ``window.indicator`` (as returned by ``indicators.get``).
        national_series: national values of the same indicator, indexed by period.
        window: a :class:`ShockWindow` (or a row of :func:`detect_shock_windows`).
        trend_periods: periods used for the pre-shock trend (default 8 quarters / 3 years).

    Returns:
        DataFrame indexed by ``territory_code`` with :data:`INDEX_COLUMNS`,
        :data:`REASON_COLUMNS` then :data:`WINDOW_COLUMNS`. ``change_*`` and
        the Lagravinese indices use relative changes for levels and
        percentage-point differences for rates. ``rise_*`` columns are NaN for
        non-rate indicators. A Lagravinese index is NaN everywhere, with its
        reason, when the national change is below the threshold
        (:func:`national_change_too_small`).

    Raises:
        ValueError: the panel or the national series lacks a turning-point period.
    """
    window = as_shock_window(window)
    panel = wide_panel.copy()
    panel.columns = [str(c) for c in panel.columns]
    panel = panel[sorted_periods(panel.columns)].astype("float64")
    national = pd.Series(national_series, dtype="float64")
    national.index = national.index.astype(str)
    for name in ("peak", "trough", "recovery_end"):
        period = getattr(window, name)
        missing = [
            label
            for label, have in (
                ("panel", period in panel.columns),
                ("national series", period in national.index),
            )
            if not have
        ]
        if missing:
            raise ValueError(
                f"the {' and '.join(missing)} lack(s) the {name} period {period} of {window.shock};"
                f" panel covers {panel.columns[0]}…{panel.columns[-1]}"
            )
    peak, trough, end = window.peak, window.trough, window.recovery_end
    is_rate = window.indicator in RATE_INDICATORS
    out = pd.DataFrame(index=panel.index)
    out.index.name = "territory_code"
    out["value_peak"] = panel[peak]
    out["value_trough"] = panel[trough]
    out["value_recovery_end"] = panel[end]
    if is_rate:  # changes in percentage points
        contraction = panel[trough] - panel[peak]
        recovery = panel[end] - panel[trough]
        national_contraction = float(national[trough] - national[peak])
        national_recovery = float(national[end] - national[trough])
    else:
        contraction = relative_change(panel, peak, trough)
        recovery = relative_change(panel, trough, end)
        national_contraction = relative_change(national, peak, trough)
        national_recovery = relative_change(national, trough, end)
    out["change_contraction"] = contraction
    out["change_recovery"] = recovery
    reasons = {}
    for name, regional, national_change in (
        ("resistance_lagravinese", contraction, national_contraction),
        ("recovery_lagravinese", recovery, national_recovery),
    ):
        reasons[name] = national_change_too_small(national_change, is_rate=is_rate)
        out[name] = (
            lagravinese_index(regional, national_change, direction=window.direction)
            if not reasons[name]
            else regional * np.nan
        )
    if is_rate:
        out["rise_pp"] = panel[trough] - panel[peak]
        out["rise_vs_nation_pp"] = out["rise_pp"] - (national[trough] - national[peak])
        out["recovery_vs_nation_pp"] = (panel[end] - panel[trough]) - (
            national[end] - national[trough]
        )
    else:
        out["rise_pp"] = np.nan
        out["rise_vs_nation_pp"] = np.nan
        out["recovery_vs_nation_pp"] = np.nan
    returned = periods_to_return(panel, peak, trough, direction=window.direction)
    out["periods_to_pre_shock_value"] = returned
    out["has_returned_to_pre_shock_value"] = returned.notna()
    out["cumulative_loss_vs_trend"] = cumulative_loss_vs_trend(
        panel, window, trend_periods=trend_periods, is_rate=is_rate
    )
    out["cumulative_loss_vs_peak"] = cumulative_loss_vs_peak(panel, window, is_rate=is_rate)
    own = territory_turning_points(panel, window)
    out = out.join(own.rename_axis("territory_code"), how="left", validate="one_to_one")
    for name, reason in reasons.items():
        out[f"{name}_reason"] = reason
    for column in WINDOW_COLUMNS:
        out[column] = getattr(window, column)
    out = out[list(INDEX_COLUMNS) + list(REASON_COLUMNS) + list(WINDOW_COLUMNS)]
    out.index = out.index.astype(str)
    return INDICES_SCHEMA.validate(out, lazy=True)


INDICES_SCHEMA = pa.DataFrameSchema(
    {
        **{
            name: pa.Column(float, nullable=True)
            for name in INDEX_COLUMNS
            if name not in ("has_returned_to_pre_shock_value", "own_peak", "own_trough")
        },
        "periods_to_pre_shock_value": pa.Column(float, pa.Check.ge(0), nullable=True),
        "has_returned_to_pre_shock_value": pa.Column(bool),
        **{name: pa.Column(str) for name in REASON_COLUMNS},
        "own_peak": pa.Column(None, nullable=True),
        "own_trough": pa.Column(None, nullable=True),
        "direction": pa.Column(str, pa.Check.isin(["higher_is_better", "lower_is_better"])),
        "peak": pa.Column(str, pa.Check.str_matches(PERIOD_PATTERN)),
        "trough": pa.Column(str, pa.Check.str_matches(PERIOD_PATTERN)),
        "recovery_end": pa.Column(str, pa.Check.str_matches(PERIOD_PATTERN)),
    },
    index=pa.Index(str, unique=True, name="territory_code"),
    strict=False,
)
"""Schema of :func:`resilience_indices` (checked, lazily, before returning)."""


def with_overrides(window: ShockWindow, **changes) -> ShockWindow:
    """A copy of a window with some turning points replaced (marks the source)."""
    source = "override:" + ",".join(sorted(changes)) if changes else window.window_source
    return replace(window, window_source=source, **changes)


# --------------------------------------------------------------------------- employment
EMPLOYMENT_COLUMNS: tuple[str, ...] = (
    "change_contraction_vs_nation_pct",
    "change_recovery_vs_nation_pct",
    "expected_change_contraction_jobs",
    "actual_change_contraction_jobs",
    "deviation_contraction_jobs",
    "deviation_contraction_pct",
    "expected_change_recovery_jobs",
    "actual_change_recovery_jobs",
    "deviation_recovery_jobs",
    "cumulative_loss_jobs_quarters",
    "cumulative_loss_vs_nation_jobs_quarters",
)
"""Columns :func:`employment_resilience_indices` adds to :data:`INDEX_COLUMNS`."""


def shift_share_expected_change(
    panel: pd.DataFrame, national_series: pd.Series, start: str, end: str
) -> pd.DataFrame:
    """Expected and actual change of a job count between two periods, and the deviation.

    The expected change is the national growth rate applied to the territory's
    starting level, E_r,start × (N_end / N_start − 1): the "national share"
    component of a shift-share, which Martin, Sunley, Gardiner & Tyler (2016,
    *Regional Studies* 50(4): 561-585) use as the benchmark of resistance and
    recovery. A positive ``deviation_jobs`` means the territory lost fewer (or
    gained more) jobs than the national trend would have given it.

    Returns:
        DataFrame (index of ``panel``) with ``expected_change_jobs``,
        ``actual_change_jobs``, ``deviation_jobs`` and ``deviation_pct``
        (deviation in percent of the starting level).
    """
    national_growth = relative_change(pd.Series(national_series, dtype="float64"), start, end)
    start_level = panel[start].astype(float)
    expected = start_level * national_growth
    actual = panel[end].astype(float) - start_level
    deviation = actual - expected
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation_pct = 100 * deviation / start_level
    return pd.DataFrame(
        {
            "expected_change_jobs": expected,
            "actual_change_jobs": actual,
            "deviation_jobs": deviation,
            "deviation_pct": deviation_pct,
        },
        index=panel.index,
    )


def cumulative_job_loss(panel: pd.DataFrame, national_series: pd.Series, window) -> pd.DataFrame:
    """Jobs lost over (peak, recovery_end], summed over periods (job-quarters for quarterly data).

    ``cumulative_loss_jobs_quarters`` = Σ_t (E_r,peak − E_r,t): against the
    territory's own pre-shock level held constant (the job-count version of
    :func:`cumulative_loss_vs_peak`). ``cumulative_loss_vs_nation_jobs_quarters``
    = Σ_t (E_r,peak × N_t / N_peak − E_r,t): against the path the territory
    would have followed at the national growth rate (the shift-share
    counterfactual). Positive = jobs lost; NaN if a period is missing.
    """
    window = as_shock_window(window)
    national = pd.Series(national_series, dtype="float64")
    national.index = national.index.astype(str)
    periods = sorted_periods(panel.columns)
    span = [
        p
        for p in periods
        if period_to_time(window.peak) < period_to_time(p) <= period_to_time(window.recovery_end)
    ]
    observed = panel[span].astype(float)
    start = panel[window.peak].astype(float)
    own = (-observed.sub(start, axis=0)).sum(axis=1, min_count=len(span))
    national_path = pd.DataFrame(
        np.outer(start, national[span] / national[window.peak]),
        index=panel.index,
        columns=span,
    )
    vs_nation = (national_path - observed).sum(axis=1, min_count=len(span))
    return pd.DataFrame(
        {
            "cumulative_loss_jobs_quarters": own,
            "cumulative_loss_vs_nation_jobs_quarters": vs_nation,
        }
    )


def employment_resilience_indices(
    wide_panel: pd.DataFrame,
    national_series: pd.Series,
    window,
    *,
    trend_periods: int | None = None,
) -> pd.DataFrame:
    """:func:`resilience_indices` for a job count, plus the employment-specific columns.

    Employment is ``higher_is_better`` (:func:`indicator_direction`), so a fall
    is bad and the existing indices already carry the employment sign
    convention: ``resistance_lagravinese`` / ``recovery_lagravinese``
    > 0 mean it did better than France (resistance = 1 − Martin's β, so
    resistance < 0 means it lost jobs faster than France); ``periods_to_pre_shock_value`` is the
    number of quarters from the national trough until the territory is back to
    its pre-shock job count (NaN if not within the panel). Added
    (:data:`EMPLOYMENT_COLUMNS`):

    * ``change_*_vs_nation_pct``: the territory's relative change minus the
      national one, in percentage points (> 0 = better than France);
    * the shift-share expected change and the deviation from it, over the
      contraction (peak → trough) and the recovery (trough → recovery end),
      in jobs (:func:`shift_share_expected_change`);
    * cumulative losses in job-quarters (:func:`cumulative_job_loss`).

    Raises:
        ValueError: the window is for a rate or a ``lower_is_better`` indicator
            (use :func:`resilience_indices`).
    """
    window = as_shock_window(window)
    if window.indicator in RATE_INDICATORS or window.direction != "higher_is_better":
        raise ValueError(
            f"employment indices need a job count with direction 'higher_is_better'; "
            f"{window.indicator!r} is {window.direction}"
            f"{' and a rate' if window.indicator in RATE_INDICATORS else ''}:"
            " use resilience_indices() instead"
        )
    indices = resilience_indices(wide_panel, national_series, window, trend_periods=trend_periods)
    panel = wide_panel.copy()
    panel.columns = [str(c) for c in panel.columns]
    panel.index = panel.index.astype(str)
    panel = panel.loc[indices.index]
    national = pd.Series(national_series, dtype="float64")
    national.index = national.index.astype(str)
    peak, trough, end = window.peak, window.trough, window.recovery_end
    extra = pd.DataFrame(index=indices.index)
    extra["change_contraction_vs_nation_pct"] = 100 * (
        indices["change_contraction"] - relative_change(national, peak, trough)
    )
    extra["change_recovery_vs_nation_pct"] = 100 * (
        indices["change_recovery"] - relative_change(national, trough, end)
    )
    contraction = shift_share_expected_change(panel, national, peak, trough)
    extra["expected_change_contraction_jobs"] = contraction["expected_change_jobs"]
    extra["actual_change_contraction_jobs"] = contraction["actual_change_jobs"]
    extra["deviation_contraction_jobs"] = contraction["deviation_jobs"]
    extra["deviation_contraction_pct"] = contraction["deviation_pct"]
    recovery = shift_share_expected_change(panel, national, trough, end)
    extra["expected_change_recovery_jobs"] = recovery["expected_change_jobs"]
    extra["actual_change_recovery_jobs"] = recovery["actual_change_jobs"]
    extra["deviation_recovery_jobs"] = recovery["deviation_jobs"]
    extra = extra.join(cumulative_job_loss(panel, national, window), validate="one_to_one")
    index_part = indices[list(INDEX_COLUMNS)]
    window_part = indices[list(REASON_COLUMNS) + list(WINDOW_COLUMNS)]
    return pd.concat([index_part, extra[list(EMPLOYMENT_COLUMNS)], window_part], axis=1)
