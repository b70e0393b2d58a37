"""Staggered difference-in-differences: group-time effects, event studies, pre-trend test.

A pure methods module: every function takes a long panel (one row per unit and
period) and returns DataFrames; nothing here reads or writes a file.

The long panel has a unit column, a period column (labels ``"2008-Q1"`` or
``"2019"``), an outcome column and the period of the unit's *first* label
(``first_treated``: a period label, or ``0`` / ``NaN`` / ``None`` for a unit
never treated). Period labels become integer indices in one place,
:func:`period_index` (quarters are counted, so ``2008-Q1`` + 4 = ``2009-Q1``).

Three estimators, stacked in one event-study table:

* ``callaway_santanna`` — group-time average effects ATT(g, t) of Callaway &
  Sant'Anna (2021, *Journal of Econometrics* 225(2)), with never-treated or
  not-yet-treated controls, aggregated by event time and overall, through the
  maintained port of R's ``did`` (``csdid``). The base period is *universal*
  (every effect is measured against the period before the label), so pre- and
  post-label coefficients of the event study are comparable (Roth 2024).
* ``did2s`` — Gardner's (2021) two-stage estimator through ``pyfixest``: unit
  and period effects fitted on untreated observations only, then the event-time
  dummies on the residualised outcome. Robust to heterogeneous effects too; the
  second estimator of the comparison.
* ``twfe`` — the naive two-way fixed-effects regression (unit and period
  effects, one treatment dummy or binned event-time dummies). Shown only as the
  biased reference: with effects that vary across cohorts and grow with
  exposure, it compares late cohorts with early ones already treated
  (Goodman-Bacon 2021) and can be far from any average effect.

Every interval is at level 1 − ``alpha`` and clustered by unit. The joint
pre-trend test (every event-study coefficient before −1 is zero) uses
Hotelling's small-sample scaling of the Wald statistic (see :func:`_wald`).

The estimators differ in their baseline: Callaway & Sant'Anna compare each
period with the one before the label; did2s and TWFE with unit effects fitted
on every pre-label period. On a long panel (départements from 1982) the two
can diverge; ``start`` shortens the panel.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass, field

_ROOT_WAS_CONFIGURED = bool(logging.getLogger().handlers)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyfixest as pf  # noqa: E402
import pyfixest.estimation.FixestMulti_  # noqa: E402, F401  (see below)
from csdid.att_gt import ATTgt  # noqa: E402
from scipy import stats  # noqa: E402

from analysis import periods  # noqa: E402
from analysis.checks import require_columns  # noqa: E402
from analysis.estimation import equivalence_bound, minimum_detectable_effect_from_se  # noqa: E402
from analysis.keys import LEVEL_CODE_COLUMN, LEVEL_PRECISIONS  # noqa: E402
from analysis.labels import dropped_reason_text, format_number, sentence  # noqa: E402
from analysis.models import conform_effects  # noqa: E402
from analysis.periods import period_frequency, period_index, period_year  # noqa: E402

if not _ROOT_WAS_CONFIGURED:
    # pyfixest calls logging.basicConfig(level=INFO) when its estimators are first
    # imported (FixestMulti_ → feols_compressed_); undone here, else every library's
    # INFO messages (fontTools subsetting each PDF figure) fill the notebooks' reports.
    for _handler in list(logging.getLogger().handlers):
        logging.getLogger().removeHandler(_handler)
    logging.getLogger().setLevel(logging.WARNING)

ESTIMATORS: tuple[str, ...] = ("callaway_santanna", "did2s", "twfe")
"""Estimators of :func:`staggered_did`; ``twfe`` is the biased reference."""

CONTROL_GROUPS: tuple[str, ...] = ("never_treated", "not_yet_treated")
"""Control groups of the Callaway & Sant'Anna estimator."""

EVENT_STUDY_COLUMNS: tuple[str, ...] = (
    "event_time",
    "att",
    "ci_low",
    "ci_high",
    "n_treated",
    "estimator",
)
"""Columns of the event-study table (a contract of ``ptce did``)."""

GROUP_TIME_COLUMNS: tuple[str, ...] = (
    "cohort",
    "period",
    "event_time",
    "att",
    "se",
    "ci_low",
    "ci_high",
    "n_treated",
    "estimator",
    "control_group",
)
"""Columns of the group-time table (cohort and period as labels)."""

OVERALL_COLUMNS: tuple[str, ...] = (
    "estimator",
    "att",
    "se",
    "ci_low",
    "ci_high",
    "n_treated",
    "n_units",
    "control_group",
    "pretrend_statistic",
    "pretrend_df",
    "pretrend_pvalue",
    "pretrend_pvalue_asymptotic",
)
"""Columns of the overall-effect table (one row per estimator). ``pretrend_pvalue``
uses Hotelling's small-sample scaling (few treated units, a dozen coefficients);
``pretrend_pvalue_asymptotic`` the χ² reference, which over-rejects then."""

DEFAULT_WINDOW: tuple[int, int] = (-12, 12)
"""Event times shown: 12 periods (quarters) either side of the label."""

_CSDID_CONTROL = {"never_treated": "nevertreated", "not_yet_treated": "notyettreated"}


# --------------------------------------------------------------------------- periods
def period_label(index: int, frequency: str) -> str:
    """Inverse of :func:`analysis.periods.period_index` (``8032``, quarterly → ``"2008-Q1"``)."""
    if frequency == "quarterly":
        return periods.period_label(index // 4, index % 4 + 1)
    return periods.period_label(index)


def _is_never(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value in (0, "0", "")


# --------------------------------------------------------------------------- treatment timing
TIMING_COLUMNS: tuple[str, ...] = (
    "territory_code",
    "first_treated_period",
    "first_wave",
    "date_precision",
    "n_labels",
)
"""Columns of :func:`first_label_periods`."""


def first_label_periods(
    initiatives: pd.DataFrame,
    level: str,
    kind: str,
    wave_periods: dict[str, str],
    *,
    frequency: str = "quarterly",
    undated_quarter: int = 1,
) -> pd.DataFrame:
    """The period of each territory's first label of ``kind`` (a territory is treated from it).

    Only initiatives located precisely enough for ``level`` count
    (:data:`analysis.keys.LEVEL_PRECISIONS`: a row known only by its
    département counts at département level, never in a zone d'emploi). A
    row's label period is its wave's date in ``wave_periods`` when the wave is
    dated there, else its ``year`` (quarter ``undated_quarter`` of it at
    quarterly frequency; ``date_precision`` says which).

    Args:
        initiatives: the cooperation table (``kind``, ``wave``, ``year``,
            ``location_precision`` and the level's code column).
        level: a zoning level (``ze2020``, ``dep``…).
        kind: ``ptce``, ``tzcld``…
        wave_periods: wave → period label of the label's date (``"2014-Q1"``).
        frequency: ``"quarterly"`` or ``"annual"`` (the panel's).
        undated_quarter: quarter used for a label known only by its year.

    Returns:
        One row per treated territory with :data:`TIMING_COLUMNS`, and
        ``attrs["undated_territories"]``: territories hosting an initiative of
        ``kind`` whose date is unknown and that have no dated label — they are
        neither treated at a known date nor clean controls.
    """
    column = LEVEL_CODE_COLUMN[level]
    require_columns(
        initiatives,
        ("kind", "wave", "year", "location_precision", column),
        "first_label_periods (the cooperation table)",
        error=ValueError,
    )
    rows = initiatives[
        (initiatives["kind"] == kind)
        & initiatives["location_precision"].isin(LEVEL_PRECISIONS[level])
        & initiatives[column].notna()
    ].copy()
    rows["territory_code"] = rows[column].astype(str)

    def label_of(row) -> tuple[str | None, str]:
        wave_period = wave_periods.get(str(row["wave"]))
        if wave_period is not None:
            if frequency == "annual":
                return periods.period_label(period_year(wave_period)), "wave"
            return wave_period, "wave"
        if pd.isna(row["year"]):
            return None, "unknown"
        year = int(row["year"])
        quarter = undated_quarter if frequency == "quarterly" else None
        return periods.period_label(year, quarter), "year"

    labels = [label_of(row) for _, row in rows.iterrows()]
    rows["label_period"] = [label for label, _ in labels]
    rows["date_precision"] = [precision for _, precision in labels]
    dated = rows[rows["label_period"].notna()].copy()
    dated["t"] = dated["label_period"].map(period_index)
    dated = dated.sort_values(["territory_code", "t"])
    first = dated.groupby("territory_code", as_index=False).agg(
        first_treated_period=("label_period", "first"),
        first_wave=("wave", "first"),
        date_precision=("date_precision", "first"),
        n_labels=("wave", "size"),
    )
    undated = sorted(
        set(rows.loc[rows["label_period"].isna(), "territory_code"]) - set(first["territory_code"])
    )
    first = first[list(TIMING_COLUMNS)]
    first.attrs["undated_territories"] = undated
    return first


def long_panel_with_timing(
    wide_panel: pd.DataFrame, timing: pd.DataFrame, *, exclude=()
) -> pd.DataFrame:
    """The long panel :func:`staggered_did` takes, from a wide panel and first-label periods.

    Args:
        wide_panel: index = territory code, columns = period labels, one outcome.
        timing: :func:`first_label_periods` (one row per treated territory).
        exclude: territories to leave out (e.g. ``timing.attrs["undated_territories"]``).

    Returns:
        Columns ``unit``, ``period``, ``outcome``, ``first_treated_period``
        (NaN = never treated), and ``attrs["treated_not_in_panel"]`` (treated
        territories without an outcome row) and ``attrs["excluded"]``.
    """
    panel = wide_panel.copy()
    panel.index = panel.index.astype(str)
    panel.columns = [str(c) for c in panel.columns]
    if timing["territory_code"].duplicated().any():
        raise ValueError("the timing table has several rows for a territory; keep the first label")
    excluded = sorted(set(map(str, exclude)) & set(panel.index))
    panel = panel.drop(index=excluded)
    long = (
        panel.rename_axis("unit")
        .reset_index()
        .melt(id_vars="unit", var_name="period", value_name="outcome")
    )
    first = timing.set_index("territory_code")["first_treated_period"]
    long = long.merge(
        first.rename("first_treated_period"),
        left_on="unit",
        right_index=True,
        how="left",
        validate="many_to_one",
    )
    long.attrs["treated_not_in_panel"] = sorted(set(first.index) - set(panel.index) - set(excluded))
    long.attrs["excluded"] = excluded
    return long


# --------------------------------------------------------------------------- panel
@dataclass(frozen=True)
class StaggeredPanel:
    """A long panel ready for the estimators.

    Attributes:
        data: columns ``unit`` (original code), ``unit_id`` (1..n), ``period``
            (label), ``t`` (integer index), ``cohort`` (index of the first
            treated period, 0 = never treated), ``y`` (outcome), ``is_treated``
            (0/1), ``event_time`` (t − cohort; NaN for never treated).
        frequency: ``"quarterly"`` or ``"annual"``.
        dropped: units left out and why (``unit``, ``first_treated``, ``reason``).
    """

    data: pd.DataFrame
    frequency: str
    dropped: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["unit", "first_treated", "reason"])
    )


def prepare_panel(
    frame: pd.DataFrame,
    *,
    unit: str = "unit",
    period: str = "period",
    outcome: str = "outcome",
    first_treated: str = "first_treated_period",
    log_outcome: bool = False,
    start: str | None = None,
) -> StaggeredPanel:
    """Check a long panel and turn its labels into the integer indices the estimators need.

    Units labelled at or before the first period of the panel have no
    pre-label period and cannot identify anything: they are dropped and named
    in ``dropped``; so are units whose outcome is missing in some period (the
    estimators need a balanced panel) and units labelled after the panel ends
    (they are kept as never treated within the panel, and named).

    With ``log_outcome``, the outcome becomes 100 × ln(outcome), so effects read
    as (log-point) percentages — the scale for job counts, where a level
    difference would be dominated by the largest zones.

    ``start`` drops the periods before it: a long panel (départements from
    1982) lets did2s and TWFE fit unit effects on decades of pre-label data,
    so their baseline is the whole pre-period rather than the last one.

    Raises:
        ValueError: a missing column, a duplicated (unit, period) row, period
            labels of mixed frequency, or a label period of the wrong frequency.
    """
    require_columns(
        frame,
        (unit, period, outcome, first_treated),
        "prepare_panel",
        fix="Pass unit=, period=, outcome=, first_treated= to name them.",
        error=ValueError,
    )
    data = frame[[unit, period, outcome, first_treated]].copy()
    data.columns = ["unit", "period", "y", "first_treated"]
    data["unit"] = data["unit"].astype(str)
    data["period"] = data["period"].astype(str)
    if log_outcome:
        not_positive = data["y"] <= 0
        if not_positive.any():
            example = data.loc[not_positive, ["unit", "period"]].iloc[0].tolist()
            raise ValueError(
                f"log_outcome needs positive outcomes; {int(not_positive.sum())} are not, "
                f"e.g. {example}"
            )
        data["y"] = 100 * np.log(data["y"].astype(float))
    duplicated = data.duplicated(["unit", "period"])
    if duplicated.any():
        example = data.loc[duplicated, ["unit", "period"]].iloc[0].tolist()
        raise ValueError(
            f"{int(duplicated.sum())} duplicated (unit, period) rows, e.g. {example};"
            " aggregate to one row per unit and period first"
        )
    frequency = period_frequency(data["period"].unique())
    data["t"] = [period_index(p) for p in data["period"]]
    if start is not None:
        data = data[data["t"] >= period_index(start)]
        if data.empty:
            raise ValueError(f"no period from start={start!r} on")
    first = data.groupby("unit")["first_treated"].first()
    inconsistent = data.groupby("unit")["first_treated"].nunique(dropna=False) > 1
    if inconsistent.any():
        raise ValueError(
            "units with several first-treated periods: "
            f"{list(inconsistent[inconsistent].index)[:5]}; the first label of a unit is one period"
        )
    cohort = {}
    for code, value in first.items():
        if _is_never(value):
            cohort[code] = 0
            continue
        if isinstance(value, int | float | np.integer | np.floating):
            value = str(int(value))
        label = str(value)
        if period_frequency([label]) != frequency:
            raise ValueError(
                f"unit {code}: first treated period {label!r} is not a {frequency} label"
                f" like the panel's periods (e.g. {data['period'].iloc[0]!r})"
            )
        cohort[code] = period_index(label)
    data["cohort"] = data["unit"].map(cohort).astype(int)
    first_t, last_t = int(data["t"].min()), int(data["t"].max())
    dropped = []
    too_early = sorted(code for code, g in cohort.items() if 0 < g <= first_t)
    dropped += [
        (code, first[code], dropped_reason_text("labelled_before_panel")) for code in too_early
    ]
    too_late = sorted(code for code, g in cohort.items() if g > last_t)
    dropped += [
        (code, first[code], dropped_reason_text("labelled_after_panel")) for code in too_late
    ]
    data.loc[data["unit"].isin(too_late), "cohort"] = 0
    data = data[~data["unit"].isin(too_early)]
    n_periods = data["t"].nunique()
    complete = data.dropna(subset=["y"]).groupby("unit")["t"].nunique() == n_periods
    incomplete = sorted(set(data["unit"]) - set(complete[complete].index))
    dropped += [
        (code, first[code], dropped_reason_text("outcome_incomplete")) for code in incomplete
    ]
    data = data[~data["unit"].isin(incomplete)].copy()
    if data.empty:
        raise ValueError("no unit left in the panel after dropping the unusable ones")
    units = sorted(data["unit"].unique())
    data["unit_id"] = data["unit"].map({code: i + 1 for i, code in enumerate(units)})
    data["is_treated"] = ((data["cohort"] > 0) & (data["t"] >= data["cohort"])).astype(int)
    data["event_time"] = np.where(data["cohort"] > 0, data["t"] - data["cohort"], np.nan)
    data = data.sort_values(["unit_id", "t"]).reset_index(drop=True)
    columns = ["unit", "unit_id", "period", "t", "cohort", "y", "is_treated", "event_time"]
    return StaggeredPanel(
        data=data[columns],
        frequency=frequency,
        dropped=pd.DataFrame(dropped, columns=["unit", "first_treated", "reason"]),
    )


def _n_treated_by_event_time(data: pd.DataFrame) -> pd.Series:
    treated = data[data["cohort"] > 0]
    return treated.groupby("event_time")["unit_id"].nunique().rename("n_treated")


def _check_estimable(data: pd.DataFrame) -> None:
    cohorts = data.loc[data["cohort"] > 0, "cohort"].unique()
    if len(cohorts) == 0:
        raise ValueError("no treated unit in the panel: nothing to estimate")
    if (data["cohort"] == 0).sum() == 0 and len(cohorts) < 2:
        raise ValueError("one cohort and no never-treated unit: no control group")


# --------------------------------------------------------------------------- Callaway & Sant'Anna
@dataclass(frozen=True)
class CallawaySantAnnaResult:
    """The outputs of :func:`callaway_santanna`."""

    group_time: pd.DataFrame
    event_study: pd.DataFrame
    cohort_effects: pd.DataFrame
    overall: pd.DataFrame


def _quiet(function, *args, **kwargs):
    """Call a csdid function without its console summary and chatter."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _wald(
    estimates: np.ndarray, covariance: np.ndarray, n_treated: int
) -> tuple[float, int, float, float]:
    """Joint test that ``estimates`` are all zero: statistic, df, small-sample and χ² p-values.

    The χ² reference over-rejects when a dozen pre-period coefficients are tested
    with a covariance estimated from a few dozen treated units (13-15 % instead
    of 5 % on simulated null panels with 30 treated units per cohort). The
    p-value uses Hotelling's T² scaling instead, W·(G − q)/((G − 1)·q) ~ F(q, G − q),
    with G the number of treated units, which carry most of the variance.
    """
    keep = np.isfinite(estimates) & np.isfinite(np.diag(covariance)) & (np.diag(covariance) > 0)
    if not keep.any():
        return float("nan"), 0, float("nan"), float("nan")
    estimates, covariance = estimates[keep], covariance[np.ix_(keep, keep)]
    statistic = float(estimates @ np.linalg.pinv(covariance) @ estimates)
    df = int(keep.sum())
    asymptotic = float(stats.chi2.sf(statistic, df))
    if n_treated <= df:
        return statistic, df, float("nan"), asymptotic
    scaled = statistic * (n_treated - df) / ((n_treated - 1) * df)
    return statistic, df, float(stats.f.sf(scaled, df, n_treated - df)), asymptotic


def callaway_santanna(
    panel: StaggeredPanel,
    *,
    control_group: str = "never_treated",
    window: tuple[int, int] = DEFAULT_WINDOW,
    alpha: float = 0.05,
) -> CallawaySantAnnaResult:
    """Group-time effects of Callaway & Sant'Anna (2021) and their aggregations.

    Outcome-regression estimator without covariates (``est_method="reg"``),
    universal base period, analytical standard errors from the influence
    functions (clustered by unit, the sampling unit of the panel).

    Returns:
        ``group_time`` (:data:`GROUP_TIME_COLUMNS`), ``event_study``
        (:data:`EVENT_STUDY_COLUMNS` over ``window``), ``cohort_effects``
        (one row per cohort: its average effect over its post-label periods)
        and ``overall`` (one row: the average over every treated post-label
        unit-period — the "simple" aggregation — with the joint pre-trend test
        of the event-study coefficients before −1).
    """
    if control_group not in CONTROL_GROUPS:
        raise ValueError(f"control_group must be one of {CONTROL_GROUPS}, got {control_group!r}")
    data = panel.data
    _check_estimable(data)
    z = stats.norm.ppf(1 - alpha / 2)
    model = _quiet(
        ATTgt,
        yname="y",
        tname="t",
        idname="unit_id",
        gname="cohort",
        data=data[["unit_id", "t", "cohort", "y"]],
        control_group=_CSDID_CONTROL[control_group],
        alp=alpha,
    )
    model = _quiet(model.fit, est_method="reg", base_period="universal", bstrap=False)
    results = model.results
    cohort_sizes = data.drop_duplicates("unit_id").groupby("cohort").size()
    group_time = pd.DataFrame(
        {
            "cohort_index": np.asarray(results["group"], dtype=int),
            "t": np.asarray(results["year"], dtype=int),
            "att": np.asarray(results["att"], dtype=float),
            "se": np.asarray(results["se"], dtype=float),
        }
    )
    group_time["event_time"] = group_time["t"] - group_time["cohort_index"]
    group_time["ci_low"] = group_time["att"] - z * group_time["se"]
    group_time["ci_high"] = group_time["att"] + z * group_time["se"]
    group_time["n_treated"] = group_time["cohort_index"].map(cohort_sizes).astype(int)
    group_time["cohort"] = [period_label(g, panel.frequency) for g in group_time["cohort_index"]]
    group_time["period"] = [period_label(t, panel.frequency) for t in group_time["t"]]
    group_time["estimator"] = "callaway_santanna"
    group_time["control_group"] = control_group

    lo, hi = window
    _quiet(model.aggte, typec="dynamic", min_e=lo, max_e=hi, na_rm=True)
    dynamic = model.atte
    event_times = np.asarray(dynamic["egt"], dtype=int)
    att_e = np.asarray(dynamic["att_egt"], dtype=float)
    se_e = np.asarray(dynamic["se_egt"], dtype=float).reshape(-1)
    n_treated = _n_treated_by_event_time(data)
    event_study = pd.DataFrame(
        {
            "event_time": event_times,
            "att": att_e,
            "ci_low": att_e - z * se_e,
            "ci_high": att_e + z * se_e,
        }
    )
    event_study["n_treated"] = event_study["event_time"].map(n_treated).fillna(0).astype(int)
    event_study["estimator"] = "callaway_santanna"
    # Joint pre-trend test: every event-study coefficient before −1 (−1 is the base, 0 by
    # construction) is zero; covariance from the influence functions of the aggregation.
    influence = np.asarray(dynamic["inf_function"]["dynamic_inf_func_e"], dtype=float)
    n_units = influence.shape[0]
    covariance = influence.T @ influence / n_units**2
    pre = event_times < -1
    n_treated_units = int(cohort_sizes.drop(0, errors="ignore").sum())
    statistic, df, pvalue, asymptotic = _wald(
        att_e[pre], covariance[np.ix_(pre, pre)], n_treated_units
    )

    _quiet(model.aggte, typec="group", na_rm=True)
    by_group = model.atte
    cohorts = np.asarray(by_group["egt"], dtype=int)
    att_g = np.asarray(by_group["att_egt"], dtype=float)
    se_g = np.asarray(by_group["se_egt"], dtype=float).reshape(-1)
    cohort_effects = pd.DataFrame(
        {
            "cohort": [period_label(g, panel.frequency) for g in cohorts],
            "att": att_g,
            "se": se_g,
            "ci_low": att_g - z * se_g,
            "ci_high": att_g + z * se_g,
            "n_treated": [int(cohort_sizes.get(g, 0)) for g in cohorts],
            "estimator": "callaway_santanna",
        }
    )

    _quiet(model.aggte, typec="simple", na_rm=True)
    simple = model.atte
    att, se = float(simple["overall_att"]), float(simple["overall_se"])
    overall = pd.DataFrame(
        [
            {
                "estimator": "callaway_santanna",
                "att": att,
                "se": se,
                "ci_low": att - z * se,
                "ci_high": att + z * se,
                "n_treated": int(cohort_sizes.drop(0, errors="ignore").sum()),
                "n_units": int(data["unit_id"].nunique()),
                "control_group": control_group,
                "pretrend_statistic": statistic,
                "pretrend_df": df,
                "pretrend_pvalue": pvalue,
                "pretrend_pvalue_asymptotic": asymptotic,
            }
        ]
    )
    return CallawaySantAnnaResult(
        group_time=group_time[list(GROUP_TIME_COLUMNS)],
        event_study=event_study[list(EVENT_STUDY_COLUMNS)],
        cohort_effects=cohort_effects,
        overall=overall[list(OVERALL_COLUMNS)],
    )


# --------------------------------------------------------------------------- regressions
def _event_name(event_time: int) -> str:
    return f"event_m{-event_time}" if event_time < 0 else f"event_p{event_time}"


def _event_dummies(data: pd.DataFrame, event_times, *, bin_ends: bool) -> pd.DataFrame:
    data = data.copy()
    event = data["event_time"]
    lo, hi = min(event_times), max(event_times)
    if bin_ends:
        event = event.clip(lower=lo, upper=hi)
    for e in event_times:
        data[_event_name(e)] = (event == e).astype(int)
    return data


def _regression_rows(fit, names, event_times, alpha, estimator, n_treated) -> pd.DataFrame:
    coefficients = fit.coef()
    intervals = fit.confint(alpha=alpha)
    rows = []
    for e, name in zip(event_times, names, strict=True):
        if name in coefficients.index:
            rows.append(
                (e, coefficients[name], intervals.loc[name].iloc[0], intervals.loc[name].iloc[1])
            )
        else:  # the base period, or an event time without treated observations
            value = 0.0 if e == -1 else float("nan")
            rows.append((e, value, value, value))
    table = pd.DataFrame(rows, columns=["event_time", "att", "ci_low", "ci_high"])
    table["n_treated"] = table["event_time"].map(n_treated).fillna(0).astype(int)
    table["estimator"] = estimator
    return table[list(EVENT_STUDY_COLUMNS)]


def _overall_row(fit, alpha, estimator, data, pretrend=(np.nan, 0, np.nan, np.nan)) -> dict:
    interval = fit.confint(alpha=alpha).loc["is_treated"]
    return {
        "estimator": estimator,
        "att": float(fit.coef()["is_treated"]),
        "se": float(fit.se()["is_treated"]),
        "ci_low": float(interval.iloc[0]),
        "ci_high": float(interval.iloc[1]),
        "n_treated": int(data.loc[data["cohort"] > 0, "unit_id"].nunique()),
        "n_units": int(data["unit_id"].nunique()),
        "control_group": "untreated_observations",
        "pretrend_statistic": pretrend[0],
        "pretrend_df": pretrend[1],
        "pretrend_pvalue": pretrend[2],
        "pretrend_pvalue_asymptotic": pretrend[3],
    }


def _regression_pretrend(fit, names, event_times, n_treated: int) -> tuple:
    pre = [n for n, e in zip(names, event_times, strict=True) if e < -1 and n in fit.coef().index]
    if not pre:
        return float("nan"), 0, float("nan"), float("nan")
    coefficients = fit.coef()
    vcov = pd.DataFrame(fit._vcov, index=coefficients.index, columns=coefficients.index)
    return _wald(coefficients[pre].to_numpy(), vcov.loc[pre, pre].to_numpy(), n_treated)


def did2s(
    panel: StaggeredPanel, *, window: tuple[int, int] = DEFAULT_WINDOW, alpha: float = 0.05
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gardner's (2021) two-stage estimator (``pyfixest.did2s``), clustered by unit.

    Unit and period effects are fitted on untreated observations (never-treated
    units and the pre-label periods of the others); treated observations beyond
    the window are left out of the event study so they do not enter its
    reference.

    Returns:
        (event study with :data:`EVENT_STUDY_COLUMNS`, one overall row with
        :data:`OVERALL_COLUMNS`).
    """
    data = panel.data
    _check_estimable(data)
    lo, hi = window
    event_times = [e for e in range(lo, hi + 1)]
    names = [_event_name(e) for e in event_times]
    in_window = data[~((data["is_treated"] == 1) & (data["event_time"] > hi))]
    dummies = _event_dummies(in_window, event_times, bin_ends=False)
    regressors = [n for n, e in zip(names, event_times, strict=True) if e != -1]
    present = [n for n in regressors if dummies[n].any()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dynamic = pf.did2s(
            dummies,
            yname="y",
            first_stage="~ 0 | unit_id + t",
            second_stage="~ " + " + ".join(present),
            treatment="is_treated",
            cluster="unit_id",
        )
        static = pf.did2s(
            data,
            yname="y",
            first_stage="~ 0 | unit_id + t",
            second_stage="~ is_treated",
            treatment="is_treated",
            cluster="unit_id",
        )
    n_treated = _n_treated_by_event_time(data)
    event_study = _regression_rows(dynamic, names, event_times, alpha, "did2s", n_treated)
    pretrend = _regression_pretrend(
        dynamic, names, event_times, int(data.loc[data["cohort"] > 0, "unit_id"].nunique())
    )
    overall = pd.DataFrame([_overall_row(static, alpha, "did2s", data, pretrend)])
    return event_study, overall[list(OVERALL_COLUMNS)]


def twfe(
    panel: StaggeredPanel, *, window: tuple[int, int] = DEFAULT_WINDOW, alpha: float = 0.05
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The naive two-way fixed-effects reference (biased under staggered, heterogeneous effects).

    Static: ``y ~ is_treated | unit + period``; dynamic: event-time dummies with
    the window's ends binned (−1 omitted). Clustered by unit.
    """
    data = panel.data
    _check_estimable(data)
    lo, hi = window
    event_times = list(range(lo, hi + 1))
    names = [_event_name(e) for e in event_times]
    dummies = _event_dummies(data, event_times, bin_ends=True)
    present = [n for n, e in zip(names, event_times, strict=True) if e != -1 and dummies[n].any()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dynamic = pf.feols(
            "y ~ " + " + ".join(present) + " | unit_id + t",
            data=dummies,
            vcov={"CRV1": "unit_id"},
        )
        static = pf.feols("y ~ is_treated | unit_id + t", data=data, vcov={"CRV1": "unit_id"})
    n_treated = _n_treated_by_event_time(data)
    event_study = _regression_rows(dynamic, names, event_times, alpha, "twfe", n_treated)
    pretrend = _regression_pretrend(
        dynamic, names, event_times, int(data.loc[data["cohort"] > 0, "unit_id"].nunique())
    )
    overall = pd.DataFrame([_overall_row(static, alpha, "twfe", data, pretrend)])
    return event_study, overall[list(OVERALL_COLUMNS)]


# --------------------------------------------------------------------------- all together
@dataclass(frozen=True)
class StaggeredResult:
    """Every table of one staggered design.

    Attributes:
        event_study: :data:`EVENT_STUDY_COLUMNS`, estimators stacked.
        group_time: :data:`GROUP_TIME_COLUMNS` (Callaway & Sant'Anna cells).
        cohort_effects: the average effect of each cohort (Callaway & Sant'Anna).
        overall: :data:`OVERALL_COLUMNS`, one row per estimator.
        dropped: the units left out and why.
        frequency: ``"quarterly"`` or ``"annual"``.
    """

    event_study: pd.DataFrame
    group_time: pd.DataFrame
    cohort_effects: pd.DataFrame
    overall: pd.DataFrame
    dropped: pd.DataFrame
    frequency: str


def staggered_did(
    frame: pd.DataFrame,
    *,
    unit: str = "unit",
    period: str = "period",
    outcome: str = "outcome",
    first_treated: str = "first_treated_period",
    control_group: str = "never_treated",
    estimators: tuple[str, ...] = ESTIMATORS,
    window: tuple[int, int] = DEFAULT_WINDOW,
    alpha: float = 0.05,
    log_outcome: bool = False,
    start: str | None = None,
) -> StaggeredResult:
    """Run the staggered design on a long panel with each requested estimator.

    Args:
        frame: one row per unit and period (see the module docstring).
        unit, period, outcome, first_treated: column names in ``frame``.
        control_group: ``"never_treated"`` or ``"not_yet_treated"``
            (Callaway & Sant'Anna; did2s always uses every untreated observation).
        estimators: a subset of :data:`ESTIMATORS`.
        window: first and last event time of the event study.
        alpha: 1 − confidence level of every interval.
        log_outcome: estimate on 100 × ln(outcome) (see :func:`prepare_panel`).
        start: first period kept (see :func:`prepare_panel`).

    Returns:
        The :class:`StaggeredResult`.
    """
    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown:
        raise ValueError(f"unknown estimator(s) {unknown}; choose among {ESTIMATORS}")
    if window[0] > -2 or window[1] < 0:
        raise ValueError(f"window {window} must include event times -2 … 0")
    panel = prepare_panel(
        frame,
        unit=unit,
        period=period,
        outcome=outcome,
        first_treated=first_treated,
        log_outcome=log_outcome,
        start=start,
    )
    event_studies, overalls = [], []
    group_time = pd.DataFrame(columns=list(GROUP_TIME_COLUMNS))
    cohort_effects = pd.DataFrame()
    if "callaway_santanna" in estimators:
        cs = callaway_santanna(panel, control_group=control_group, window=window, alpha=alpha)
        event_studies.append(cs.event_study)
        overalls.append(cs.overall)
        group_time, cohort_effects = cs.group_time, cs.cohort_effects
    for name, function in (("did2s", did2s), ("twfe", twfe)):
        if name in estimators:
            event_study, overall = function(panel, window=window, alpha=alpha)
            event_studies.append(event_study)
            overalls.append(overall)
    return StaggeredResult(
        event_study=pd.concat(event_studies, ignore_index=True),
        group_time=group_time,
        cohort_effects=cohort_effects,
        overall=pd.concat(overalls, ignore_index=True),
        dropped=panel.dropped,
        frequency=panel.frequency,
    )


# --------------------------------------------------------------------------- sentence
def overall_sentence(
    overall_row, *, lang: str = "fr", treatment: str, outcome: str, unit: str, decimals: int = 2
) -> str:
    """One sentence stating an overall effect, its interval and the pre-trend test.

    The words are :data:`analysis.labels.SENTENCES` (``staggered``, ``estimator_*``).

    Args:
        overall_row: a row of ``StaggeredResult.overall``.
        treatment: what the label is called in the sentence (``"PTCE"``).
        outcome: the outcome's label, lower case (``"le taux de chômage"``).
        unit: the outcome's unit (``"point"``, ``"emplois"``).
    """
    row = dict(overall_row)
    att, low, high = (
        format_number(row[k], lang, decimals, sign=True) for k in ("att", "ci_low", "ci_high")
    )
    p = row["pretrend_pvalue"]
    excludes_zero = row["ci_low"] > 0 or row["ci_high"] < 0
    return sentence(
        "staggered",
        lang,
        name=sentence(f"estimator_{row['estimator']}", lang),
        treatment=treatment,
        outcome=outcome,
        n_treated=int(row["n_treated"]),
        att=att,
        unit=unit,
        low=low,
        high=high,
        verdict=sentence("staggered_excludes" if excludes_zero else "staggered_includes", lang),
        pretrend=sentence(
            "staggered_pretrend_rejects" if p < 0.05 else "staggered_pretrend_holds", lang
        ),
        p=format_number(p, lang, 2),
    )


def effects_table(
    overall: pd.DataFrame, *, outcome: str, treatment: str, unit: str = ""
) -> pd.DataFrame:
    """``StaggeredResult.overall`` under the column names of the comparison's ``effects.csv``.

    ``specification`` is the estimator; ``p_value`` is two-sided from the
    normal approximation (att / se); ``n`` counts the units, ``n_treated`` the
    treated ones; ``mde`` is the effect detectable with 80 % power at 5 % given
    ``se``, ``equivalence_bound`` the largest |effect| the interval does not
    exclude; ``pretrend_pvalue`` follows. Columns of
    :data:`analysis.models.EFFECTS_COLUMNS`, ``is_primary`` on the
    Callaway–Sant'Anna row; ``unit`` names the effect's unit.
    """
    att, se = overall["att"].astype(float), overall["se"].astype(float)
    table = pd.DataFrame(
        {
            "outcome": outcome,
            "treatment": treatment,
            "specification": overall["estimator"],
            "effect": att,
            "ci_low": overall["ci_low"].astype(float),
            "ci_high": overall["ci_high"].astype(float),
            "p_value": 2 * stats.norm.sf(np.abs(att / se)),
            "n": overall["n_units"].astype(int),
            "n_treated": overall["n_treated"].astype(int),
            "mde": [minimum_detectable_effect_from_se(value) for value in se],
            "equivalence_bound": [
                equivalence_bound(low, high)
                for low, high in zip(overall["ci_low"], overall["ci_high"], strict=True)
            ],
            "treatment_kind": "staggered",
            "confidence": 0.95,
            "pretrend_pvalue": overall["pretrend_pvalue"].astype(float),
        }
    ).reset_index(drop=True)
    # The Callaway–Sant'Anna overall ATT is the run's answer; did2s and the naive
    # two-way fixed effects are the comparison and the biased reference.
    return conform_effects(
        table,
        table["specification"] == "callaway_santanna",
        estimand="ATT",
        p_value_method="normal approximation (att / se)",
        unit=unit,
    )
