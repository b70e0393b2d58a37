"""Comparisons of cooperating vs comparable territories: tidy effects, CIs, balance, honesty.

Every estimator takes an *analysis table* (one row per territory: an outcome
from :mod:`analysis.resilience`, a treatment column such as
``is_ptce_territory``, pre-shock covariates and ``reg_code``) and returns a tidy
one-row (or per-quarter) DataFrame with :data:`RESULT_COLUMNS`, so notebooks
can concatenate, plot and summarise them. Nothing here reads a file: the
analysis table comes from :func:`analysis.datasets.load_analysis_table`.

Selection into treatment is the main threat to any causal reading: PTCE form
where the social and solidarity economy (ESS) is already dense, and the first
PTCE call dates from 2013 — *after* the 2008-09 recession, so for that shock a
"PTCE territory" is a territory that will later host one. The balance table,
the pre-shock placebo quarters and the caution in :func:`summary_sentence` are
there to keep that in view.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import esda
import numpy as np
import pandas as pd
import pandera.pandas as pa
import statsmodels.formula.api as smf
from libpysal import weights as lpw
from scipy import stats

from analysis import estimation, labels
from analysis.checks import require_columns
from analysis.hashing import sha256_bytes
from analysis.keys import LANGS
from analysis.labels import OUTCOME_HIGHER_IS_BETTER
from analysis.periods import sorted_periods
from analysis.resilience import RATE_INDICATORS, SHOCKS, as_shock_window

RESULT_COLUMNS: tuple[str, ...] = (
    "outcome",
    "treatment",
    "specification",
    "effect",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "n_treated",
    "n_control",
    "treatment_kind",
    "confidence",
)
"""Columns every estimator returns (extra, estimator-specific columns follow)."""

DEFAULT_CONTROLS: tuple[str, ...] = (
    "pre_shock_unemployment_rate",
    "log_population",
    "log_density_inhab_km2",
    "ess_share_salaried_jobs_pct",
    "poverty_rate_pct",
    "median_living_standard_eur",
    "dense_population_share_pct",
    "rural_population_share_pct",
)
"""Candidate controls of the primary specification and covariates of the matching.
Those absent from the analysis table are skipped: ``datasets.load_controls`` keeps
only values from before the shock (no Filosofi or density grid for 2008), and the
treatment itself is never a control. The intermediate density share is left out:
the three shares sum to 100."""

OVERSEAS_BOUNDS_LONLAT = (-5.5, 41.0, 10.0, 51.5)
"""(min lon, min lat, max lon, max lat) of metropolitan France incl. Corsica:
territories whose centroid falls outside are treated as overseas."""


def _ci_ordered(frame: pd.DataFrame) -> pd.Series:
    both = frame["ci_low"].notna() & frame["ci_high"].notna()
    tolerance = 1e-9 * (1 + frame["effect"].abs())
    return ~both | (
        (frame["ci_low"] <= frame["effect"] + tolerance)
        & (frame["effect"] <= frame["ci_high"] + tolerance)
    )


RESULT_SCHEMA = pa.DataFrameSchema(
    {
        "outcome": pa.Column(str),
        "treatment": pa.Column(str),
        "specification": pa.Column(str),
        "effect": pa.Column(float, nullable=True),
        "ci_low": pa.Column(float, nullable=True),
        "ci_high": pa.Column(float, nullable=True),
        "p_value": pa.Column(float, pa.Check.in_range(0, 1), nullable=True),
        "n": pa.Column(int, pa.Check.ge(0)),
        "n_treated": pa.Column(float, pa.Check.ge(0), nullable=True, coerce=True),
        "treatment_kind": pa.Column(str, pa.Check.isin(["binary", "continuous"])),
        "confidence": pa.Column(float, pa.Check.in_range(0, 1, include_min=False)),
    },
    checks=[pa.Check(_ci_ordered, error="ci_low <= effect <= ci_high")],
    strict=False,
)
"""The columns every estimator returns, checked where each result row is made."""


# --------------------------------------------------------------------------- helpers
def _result(
    *,
    outcome: str,
    treatment: str,
    specification: str,
    effect: float,
    ci_low: float,
    ci_high: float,
    p_value: float,
    n: int,
    n_treated: int | float,
    treatment_kind: str = "binary",
    confidence: float = 0.95,
    **extra,
) -> pd.DataFrame:
    row = {
        "outcome": outcome,
        "treatment": treatment,
        "specification": specification,
        "effect": float(effect),
        "ci_low": float(ci_low),
        "ci_high": float(ci_high),
        "p_value": float(p_value),
        "n": int(n),
        "n_treated": int(n_treated) if pd.notna(n_treated) else np.nan,
        "n_control": int(n - n_treated) if pd.notna(n_treated) else np.nan,
        "treatment_kind": treatment_kind,
        "confidence": float(confidence),
    }
    row.update(extra)
    table = pd.DataFrame([row])
    RESULT_SCHEMA.validate(table.astype({"n_treated": "float64"}), lazy=True)
    return table


def _binary(series: pd.Series, name: str) -> pd.Series:
    values = series.astype("float64")
    bad = values.dropna()[~values.dropna().isin([0.0, 1.0])]
    if len(bad):
        raise ValueError(
            f"treatment column {name!r} must be boolean/0-1; "
            f"found values {sorted(bad.unique())[:5]}"
        )
    return values


def _complete_rows(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    return frame.dropna(subset=list(columns))


@contextmanager
def _seeded_global_numpy(seed: int | None):
    """Seed numpy's global generator (esda uses it) and restore its state afterwards."""
    state = np.random.get_state()
    if seed is not None:
        np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


# --------------------------------------------------------------------------- difference in means
def difference_in_means(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str = "is_ptce_territory",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean outcome of treated minus control territories, with a bootstrap CI.

    The CI is the percentile interval of ``n_boot`` bootstrap replicates that
    resample treated and control territories separately (seeded); the p-value
    is Welch's unequal-variance t-test. Rows with a missing outcome or
    treatment are left out (``n`` says how many remain).

    Returns:
        One row with :data:`RESULT_COLUMNS` plus ``mean_treated``, ``mean_control``.
    """
    require_columns(frame, [outcome, treatment], "difference_in_means")
    data = _complete_rows(frame, [outcome, treatment])
    is_treated = _binary(data[treatment], treatment) == 1
    y_t = data.loc[is_treated, outcome].to_numpy(float)
    y_c = data.loc[~is_treated, outcome].to_numpy(float)
    if len(y_t) < 2 or len(y_c) < 2:
        raise ValueError(
            f"difference_in_means on {outcome!r}: need ≥2 treated and ≥2 control territories,"
            f" got {len(y_t)} and {len(y_c)}"
        )
    effect = y_t.mean() - y_c.mean()
    rng = np.random.default_rng(seed)
    boot_t = rng.choice(y_t, size=(n_boot, len(y_t)), replace=True).mean(axis=1)
    boot_c = rng.choice(y_c, size=(n_boot, len(y_c)), replace=True).mean(axis=1)
    alpha = 1 - confidence
    low, high = np.quantile(boot_t - boot_c, [alpha / 2, 1 - alpha / 2])
    p_value = stats.ttest_ind(y_t, y_c, equal_var=False).pvalue
    return _result(
        outcome=outcome,
        treatment=treatment,
        specification="difference_in_means",
        effect=effect,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        n=len(data),
        n_treated=len(y_t),
        confidence=confidence,
        mean_treated=y_t.mean(),
        mean_control=y_c.mean(),
        n_boot=n_boot,
        seed=seed,
    )


# --------------------------------------------------------------------------- OLS
def _q(name: str) -> str:
    return f'Q("{name}")'


def drop_singleton_groups(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, list]:
    """Drop rows alone in their fixed-effect group (they identify nothing and break HC3)."""
    counts = frame[column].map(frame[column].value_counts())
    singletons = frame.index[counts == 1].tolist()
    return frame.loc[counts > 1], singletons


def fit_ols(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str = "is_ptce_territory",
    *,
    controls: Sequence[str] = DEFAULT_CONTROLS,
    fixed_effects: str | None = "reg_code",
    cov_type: str = "HC3",
):
    """Fit ``outcome ~ treatment + controls + C(fixed_effects)`` by OLS (statsmodels formulas).

    Rows with a missing value in any used column are left out, and so are
    territories alone in their fixed-effect group (with one observation the
    dummy fits it exactly, leverage 1, and HC3 is undefined).

    Returns:
        ``(fitted results, data used, singleton codes dropped)``.
    """
    if cov_type == "cluster":
        raise ValueError(
            "fit_ols does not cluster (statsmodels needs the groups passed at fit time): use"
            " analysis.estimation.primary_specification, which clusters with pyfixest and"
            " switches to a wild cluster bootstrap when clusters are few"
        )
    controls = [c for c in controls if c != treatment]  # a dose is never its own control
    columns = [outcome, treatment, *controls] + ([fixed_effects] if fixed_effects else [])
    require_columns(frame, columns, "fit_ols")
    data = _complete_rows(frame[columns], columns).copy()
    singletons: list = []
    if fixed_effects:
        data, singletons = drop_singleton_groups(data, fixed_effects)
        data[fixed_effects] = data[fixed_effects].astype(str)
    if data[treatment].dtype == bool or str(data[treatment].dtype) == "boolean":
        data[treatment] = data[treatment].astype(float)
    rhs = [_q(treatment), *(_q(c) for c in controls)]
    if fixed_effects:
        rhs.append(f"C({_q(fixed_effects)})")
    formula = f"{_q(outcome)} ~ " + " + ".join(rhs)
    if len(data) <= len(rhs) + 1:
        raise ValueError(
            f"fit_ols on {outcome!r}: {len(data)} complete rows for {len(rhs)} terms; too few"
        )
    result = smf.ols(formula, data=data).fit(cov_type=cov_type)
    return result, data, singletons


def ols_effect(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str = "is_ptce_territory",
    *,
    controls: Sequence[str] = DEFAULT_CONTROLS,
    fixed_effects: str | None = "reg_code",
    cov_type: str = "HC3",
    confidence: float = 0.95,
    treatment_kind: str | None = None,
) -> pd.DataFrame:
    """OLS coefficient of the treatment with heteroskedasticity-robust (HC3) errors.

    HC3: MacKinnon & White (1985), recommended for small samples by Long &
    Ervin (2000). See :func:`fit_ols` for the rows used.

    Returns:
        One row with :data:`RESULT_COLUMNS` plus ``r_squared``, ``n_singletons_dropped``,
        ``controls`` and (continuous treatment) ``effect_per_sd``.
    """
    result, data, singletons = fit_ols(
        frame, outcome, treatment, controls=controls, fixed_effects=fixed_effects, cov_type=cov_type
    )
    term = _q(treatment)
    low, high = result.conf_int(alpha=1 - confidence).loc[term]
    values = data[treatment].astype(float)
    kind = treatment_kind or ("binary" if set(values.unique()) <= {0.0, 1.0} else "continuous")
    spec = (
        f"ols_{cov_type.lower()}"
        + ("+controls" if controls else "")
        + (f"+{fixed_effects}_fe" if fixed_effects else "")
    )
    extra = {
        "r_squared": result.rsquared,
        "n_singletons_dropped": len(singletons),
        "controls": ",".join(controls),
    }
    if kind == "continuous":
        extra["effect_per_sd"] = result.params[term] * values.std()
    return _result(
        outcome=outcome,
        treatment=treatment,
        specification=spec,
        effect=result.params[term],
        ci_low=low,
        ci_high=high,
        p_value=result.pvalues[term],
        n=int(result.nobs),
        n_treated=int((values > 0).sum()) if kind == "binary" else np.nan,
        treatment_kind=kind,
        confidence=confidence,
        **extra,
    )


def ols_residuals(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str = "is_ptce_territory",
    *,
    controls: Sequence[str] = DEFAULT_CONTROLS,
    fixed_effects: str | None = "reg_code",
) -> pd.Series:
    """Residuals of the :func:`fit_ols` model, indexed by territory (for Moran's I)."""
    result, data, _ = fit_ols(
        frame, outcome, treatment, controls=controls, fixed_effects=fixed_effects
    )
    return pd.Series(result.resid, index=data.index, name="residual")


def continuous_treatment_effect(
    frame: pd.DataFrame,
    outcome: str = "resistance_lagravinese",
    exposure: str = "ess_share_salaried_jobs_pct",
    *,
    controls: Sequence[str] = DEFAULT_CONTROLS,
    fixed_effects: str | None = "reg_code",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Continuous treatment: outcome on a dose (e.g. ESS share of salaried jobs in 2008).

    Designed for départements (ESS share is published at that level only):
    effect = change in the outcome per +1 point of exposure, HC3 errors, with
    ``effect_per_sd`` for one standard deviation of exposure.
    """
    table = ols_effect(
        frame,
        outcome,
        exposure,
        controls=controls,
        fixed_effects=fixed_effects,
        confidence=confidence,
        treatment_kind="continuous",
    )
    table["specification"] = "continuous_" + table["specification"]
    return table


# --------------------------------------------------------------------------- matching
@dataclass
class MatchingResult:
    """Output of :func:`nearest_neighbour_matching`.

    Attributes:
        effect: one-row tidy table (ATT).
        balance: per covariate, means and standardized mean differences before/after.
        matches: one row per (treated, control) pair with distance and weight.
    """

    effect: pd.DataFrame
    balance: pd.DataFrame
    matches: pd.DataFrame


def standardized_mean_difference(
    treated: pd.Series, control: pd.Series, pooled_sd: float, control_weights=None
) -> float:
    """(mean_t − mean_c) / pooled SD (Austin 2009, *Statistics in Medicine* 28)."""
    mean_c = (
        np.average(control, weights=control_weights)
        if control_weights is not None
        else control.mean()
    )
    if pooled_sd == 0 or not np.isfinite(pooled_sd):
        return 0.0 if np.isclose(treated.mean(), mean_c) else np.inf
    return float((treated.mean() - mean_c) / pooled_sd)


def balance_table(
    frame: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    matches: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Covariate balance before and (if ``matches`` given) after matching.

    The SMD uses the pooled SD of the unmatched samples, sqrt((s²_t + s²_c)/2),
    in both columns so the two are comparable; |SMD| < 0.1 is the usual
    "balanced" threshold, > 0.25 a serious imbalance (Stuart 2010,
    *Statistical Science* 25(1)).
    """
    is_treated = _binary(frame[treatment], treatment) == 1
    rows = []
    for column in covariates:
        x_t = frame.loc[is_treated, column].astype(float)
        x_c = frame.loc[~is_treated, column].astype(float)
        pooled = math.sqrt((x_t.var() + x_c.var()) / 2)
        row = {
            "covariate": column,
            "mean_treated": x_t.mean(),
            "mean_control": x_c.mean(),
            "smd_before": standardized_mean_difference(x_t, x_c, pooled),
            "variance_ratio_before": x_t.var() / x_c.var() if x_c.var() > 0 else np.nan,
        }
        if matches is not None:
            weights = matches.groupby("control_code")["weight"].sum()
            x_m = frame.loc[weights.index, column].astype(float)
            x_tm = frame.loc[matches["treated_code"].unique(), column].astype(float)
            row["mean_matched_control"] = float(np.average(x_m, weights=weights))
            row["smd_after"] = standardized_mean_difference(
                x_tm, x_m, pooled, control_weights=weights.to_numpy()
            )
        rows.append(row)
    return pd.DataFrame(rows)


def nearest_neighbour_matching(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str = "is_ptce_territory",
    *,
    covariates: Sequence[str] = DEFAULT_CONTROLS,
    n_neighbours: int = 1,
    exact: str | None = None,
    caliper: float | None = None,
    bias_correction: bool = True,
    confidence: float = 0.95,
) -> MatchingResult:
    """Nearest-neighbour matching (with replacement) on standardized pre-shock covariates.

    Each treated territory is matched to its ``n_neighbours`` nearest controls
    in Euclidean distance on covariates standardized by their full-sample SD,
    optionally within the same ``exact`` group (e.g. ``reg_code``) and within
    a ``caliper`` (in SD units; treated without a control inside it are
    dropped and counted in ``n_treated_unmatched``). The estimand is the
    average effect on the treated (ATT); its variance is the Abadie & Imbens
    (2006, *Econometrica* 74(1)) estimator for the population ATT, with
    conditional variances from the nearest same-group neighbour. With
    ``bias_correction`` (default) each matched control's outcome is adjusted
    by a linear regression of the outcome on the covariates among controls,
    μ̂₀(X_i) − μ̂₀(X_j) (Abadie & Imbens 2011, *JBES* 29(1)), which removes the
    bias left by imperfect matches; the balance table still shows them.

    Returns:
        :class:`MatchingResult` (effect row, balance table, pairs).
    """
    columns = [outcome, treatment, *covariates] + ([exact] if exact else [])
    require_columns(frame, columns, "nearest_neighbour_matching")
    data = _complete_rows(frame[columns], columns)
    is_treated = _binary(data[treatment], treatment) == 1
    x = data[list(covariates)].astype(float)
    sd = x.std().replace(0, 1.0)
    z = ((x - x.mean()) / sd).to_numpy()
    y = data[outcome].to_numpy(float)
    codes = data.index.to_numpy()
    treated_idx = np.flatnonzero(is_treated.to_numpy())
    control_idx = np.flatnonzero(~is_treated.to_numpy())
    if len(treated_idx) < 1 or len(control_idx) < n_neighbours:
        raise ValueError(
            f"matching on {outcome!r}: {len(treated_idx)} treated and {len(control_idx)} controls "
            "with complete covariates"
        )
    groups = data[exact].to_numpy() if exact else np.zeros(len(data))
    pairs = []
    unmatched = 0
    for i in treated_idx:
        candidates = control_idx[groups[control_idx] == groups[i]]
        if len(candidates) == 0:
            unmatched += 1
            continue
        distance = np.sqrt(((z[candidates] - z[i]) ** 2).sum(axis=1))
        order = np.argsort(distance, kind="stable")[:n_neighbours]
        chosen, chosen_distance = candidates[order], distance[order]
        if caliper is not None:
            keep = chosen_distance <= caliper
            chosen, chosen_distance = chosen[keep], chosen_distance[keep]
        if len(chosen) == 0:
            unmatched += 1
            continue
        for j, d in zip(chosen, chosen_distance, strict=True):
            pairs.append((i, j, d, 1.0 / len(chosen)))
    if not pairs:
        raise ValueError(
            f"matching on {outcome!r}: no treated territory found a control "
            "(caliper/exact too strict?)"
        )
    pair_frame = pd.DataFrame(pairs, columns=["ti", "cj", "distance", "weight"])
    matched_treated = pair_frame["ti"].unique()
    control_outcome = y[pair_frame["cj"]]
    if bias_correction:
        design = np.column_stack([np.ones(len(control_idx)), z[control_idx]])
        beta = np.linalg.lstsq(design, y[control_idx], rcond=None)[0][1:]
        control_outcome = control_outcome + (z[pair_frame["ti"]] - z[pair_frame["cj"]]) @ beta
    y0_hat = pair_frame.assign(wy=pair_frame["weight"] * control_outcome).groupby("ti")["wy"].sum()
    diffs = y[y0_hat.index] - y0_hat.to_numpy()
    n1 = len(matched_treated)
    att = diffs.mean()
    # Abadie-Imbens PATT variance: heterogeneity term + reuse of controls,
    # (K_j (K_j - 1) / M^2) σ²_j.
    times_used = pair_frame.groupby("cj")["weight"].sum()  # K_j / M
    sigma2 = _within_group_variance(z, y, control_idx, times_used.index.to_numpy())
    m = n_neighbours
    reuse = ((times_used.to_numpy() * m) * (times_used.to_numpy() * m - 1) / m**2) * sigma2
    variance = (((diffs - att) ** 2).sum() + reuse.sum()) / n1**2
    se = math.sqrt(variance) if variance > 0 else np.nan
    z_crit = stats.norm.ppf(0.5 + confidence / 2)
    p_value = 2 * stats.norm.sf(abs(att / se)) if se and np.isfinite(se) else np.nan
    matches = pd.DataFrame(
        {
            "treated_code": codes[pair_frame["ti"]],
            "control_code": codes[pair_frame["cj"]],
            "distance": pair_frame["distance"].to_numpy(),
            "weight": pair_frame["weight"].to_numpy(),
        }
    )
    balance = balance_table(data, treatment, covariates, matches)
    n_controls_used = matches["control_code"].nunique()
    spec = (
        f"nn_matching_k{n_neighbours}"
        + ("_biascorr" if bias_correction else "")
        + (f"_exact_{exact}" if exact else "")
        + (f"_caliper{caliper}" if caliper else "")
    )
    effect = _result(
        outcome=outcome,
        treatment=treatment,
        specification=spec,
        effect=att,
        ci_low=att - z_crit * se,
        ci_high=att + z_crit * se,
        p_value=p_value,
        n=n1 + n_controls_used,
        n_treated=n1,
        confidence=confidence,
        n_treated_unmatched=unmatched,
        n_controls_available=len(control_idx),
        max_abs_smd_before=float(balance["smd_before"].abs().max()),
        max_abs_smd_after=float(balance["smd_after"].abs().max()),
        covariates=",".join(covariates),
    )
    return MatchingResult(effect=effect, balance=balance, matches=matches)


def _within_group_variance(
    z: np.ndarray, y: np.ndarray, group_idx: np.ndarray, units: np.ndarray
) -> np.ndarray:
    """σ²(X_j) = ½ (Y_j − Y_nn(j))² with nn(j) the nearest other unit of the same group."""
    out = np.empty(len(units))
    for k, j in enumerate(units):
        others = group_idx[group_idx != j]
        if len(others) == 0:
            out[k] = 0.0
            continue
        nearest = others[np.argmin(((z[others] - z[j]) ** 2).sum(axis=1))]
        out[k] = 0.5 * (y[j] - y[nearest]) ** 2
    return out


# --------------------------------------------------------------------------- event study
def event_study(
    wide_panel: pd.DataFrame,
    matches: pd.DataFrame,
    window,
    *,
    leads: int = 8,
    lags: int = 12,
    transform: str = "auto",
    confidence: float = 0.95,
    treatment: str = "is_ptce_territory",
) -> pd.DataFrame:
    """Period-by-period gap between treated territories and their matched controls.

    For each treated territory i and period t, the gap is
    d_i(t) = Δy_i(t) − Σ_j w_ij Δy_j(t), where Δy(t) is the change since the
    national peak (``transform="difference"``: in the indicator's unit, e.g.
    percentage points for rates; ``"log_percent"``: 100·log(y_t / y_peak) for
    levels; ``"auto"`` picks the first for rates and the second otherwise).
    The event-time effect is the mean of d_i(t) over treated territories with
    a t-based CI (pairs treated as independent; controls reused by several
    treated make it slightly optimistic). Periods before the peak
    (``event_time < 0``) are placebo periods: a gap there signals different
    pre-trends, i.e. selection.

    Args:
        wide_panel: the indicator panel (index territory code, columns periods).
        matches: pairs from :func:`nearest_neighbour_matching` (``treated_code``,
            ``control_code``, ``weight``).
        window: the shock window (its ``peak`` is event time 0).
        leads, lags: periods before / after the peak to report.

    Returns:
        Tidy table: ``event_time``, ``period``, ``is_placebo``, ``is_reference``
        (event time 0, the normalisation period, gap 0 by construction) +
        :data:`RESULT_COLUMNS`.
    """
    window = as_shock_window(window)
    panel = wide_panel.copy()
    panel.columns = [str(c) for c in panel.columns]
    periods = sorted_periods(panel.columns)
    if window.peak not in periods:
        raise ValueError(f"the panel lacks the peak period {window.peak}")
    missing = sorted(set(matches["treated_code"]).union(matches["control_code"]) - set(panel.index))
    if missing:
        raise KeyError(f"event_study: matched territories absent from the panel: {missing[:10]}")
    if transform == "auto":
        transform = "difference" if window.indicator in RATE_INDICATORS else "log_percent"
    values = panel[periods].astype(float)
    if transform == "difference":
        change = values.sub(values[window.peak], axis=0)
    elif transform == "log_percent":
        change = 100 * np.log(values.div(values[window.peak], axis=0))
    else:
        raise ValueError(
            f"transform must be 'auto', 'difference' or 'log_percent', got {transform!r}"
        )
    peak_pos = periods.index(window.peak)
    selected = periods[max(0, peak_pos - leads) : peak_pos + lags + 1]
    control_change = (
        change.loc[matches["control_code"], selected]
        .mul(matches["weight"].to_numpy(), axis=0)
        .set_axis(matches["treated_code"].to_numpy())
        .groupby(level=0)
        .sum(min_count=1)
    )
    gaps = change.loc[control_change.index, selected] - control_change
    rows = []
    for period in selected:
        d = gaps[period].dropna().to_numpy()
        event_time = periods.index(period) - peak_pos
        n1 = len(d)
        if n1 >= 2:
            mean, se = d.mean(), d.std(ddof=1) / math.sqrt(n1)
            t_crit = stats.t.ppf(0.5 + confidence / 2, n1 - 1)
            p = 2 * stats.t.sf(abs(mean / se), n1 - 1) if se > 0 else (0.0 if mean != 0 else 1.0)
            low, high = mean - t_crit * se, mean + t_crit * se
        else:
            mean = d.mean() if n1 else np.nan
            low = high = p = np.nan
        row = _result(
            outcome=f"{window.indicator}:{transform}_since_peak",
            treatment=treatment,
            specification="event_study_matched",
            effect=mean,
            ci_low=low,
            ci_high=high,
            p_value=p,
            n=n1
            + matches.loc[
                matches["treated_code"].isin(gaps[period].dropna().index), "control_code"
            ].nunique(),
            n_treated=n1,
            confidence=confidence,
        )
        row.insert(
            0, "is_reference", event_time == 0
        )  # the normalisation period: gap 0 by construction
        row.insert(0, "is_placebo", event_time < 0)
        row.insert(0, "period", period)
        row.insert(0, "event_time", event_time)
        rows.append(row)
    return pd.concat(rows, ignore_index=True)


def pretrend_summary(event_table: pd.DataFrame) -> dict:
    """How many pre-shock placebo periods show a gap whose CI excludes zero."""
    placebo = event_table[event_table["is_placebo"]].dropna(subset=["ci_low", "ci_high"])
    excluding = placebo[(placebo["ci_low"] > 0) | (placebo["ci_high"] < 0)]
    return {
        "n_placebo_periods": len(placebo),
        "n_placebo_excluding_zero": len(excluding),
        "max_abs_placebo_gap": float(placebo["effect"].abs().max()) if len(placebo) else np.nan,
        "has_pretrend": bool(len(excluding) > max(0, 0.05 * len(placebo))),
    }


# --------------------------------------------------------------------------- spatial check
def overseas_codes(territories) -> list:
    """Codes of territories whose centroid lies outside metropolitan France (incl. Corsica)."""
    geo = territories.to_crs(4326) if territories.crs is not None else territories
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # centroid in geographic CRS: precise enough for a bounding box
        centroid = geo.geometry.centroid
    lon_min, lat_min, lon_max, lat_max = OVERSEAS_BOUNDS_LONLAT
    outside = ~(centroid.x.between(lon_min, lon_max) & centroid.y.between(lat_min, lat_max))
    return list(geo.index[outside.to_numpy()])


WEIGHTS_MEMO_SIZE = 8
"""Neighbour matrices remembered (a report checks several outcomes on the same territories)."""

_weights_memo: dict[tuple, Any] = {}


def _neighbour_weights(geo, contiguity: str, k: int):
    """libpysal weights of ``geo``'s territories; the same territories and shapes built once.

    Building queen contiguity for the 300 zones d'emploi takes 0.8 s and a
    dose–response report checks six doses on them. The key is the codes, the
    shapes (WKB digest) and the settings; each caller gets its own copy.
    """
    if contiguity not in ("queen", "knn"):
        raise ValueError(f"contiguity must be 'queen' or 'knn', got {contiguity!r}")
    key = (
        tuple(map(str, geo.index)),
        sha256_bytes(b"".join(geo.geometry.to_wkb())),
        contiguity,
        k if contiguity == "knn" else None,
    )
    if key not in _weights_memo:
        if len(_weights_memo) >= WEIGHTS_MEMO_SIZE:
            _weights_memo.pop(next(iter(_weights_memo)))
        if contiguity == "queen":
            built = lpw.Queen.from_dataframe(geo, use_index=True, silence_warnings=True)
        else:
            built = lpw.KNN.from_dataframe(geo, k=k, use_index=True)
        _weights_memo[key] = built
    return copy.deepcopy(_weights_memo[key])


def morans_i(
    values: pd.Series,
    territories,
    *,
    permutations: int = 999,
    seed: int = 0,
    contiguity: str = "queen",
    k: int = 5,
    drop_overseas: bool = True,
) -> pd.DataFrame:
    """Moran's I of a variable (typically OLS residuals) over territories, with seeded permutations.

    Overseas territories (centroid outside metropolitan France) have no land
    neighbours: they are dropped *before* building the weights when
    ``drop_overseas`` (counted in ``n_overseas_dropped``). Any remaining
    island (a territory with no contiguous neighbour) is then dropped too and
    the weights rebuilt (``n_islands_dropped``, ``dropped_codes``). Values
    without a geometry raise a KeyError.

    Args:
        values: indexed by territory code.
        territories: GeoDataFrame indexed by territory code (or with a
            ``territory_code`` column) and a geometry.
        contiguity: ``"queen"`` (shared vertex) or ``"knn"`` (``k`` nearest centroids).

    Returns:
        One row: ``morans_i``, ``expected_i``, ``p_value`` (pseudo p-value of the
        permutations), ``z_sim``, ``n``, ``n_overseas_dropped``,
        ``n_islands_dropped``, ``dropped_codes``, ``contiguity``, ``permutations``, ``seed``.
    """
    geo = territories
    if "territory_code" in geo.columns:
        geo = geo.set_index("territory_code")
    values = pd.Series(values, dtype="float64").dropna()
    unknown = sorted(set(values.index) - set(geo.index))
    if unknown:
        raise KeyError(
            f"morans_i: {len(unknown)} codes have no geometry in the territories layer: "
            f"{unknown[:10]}"
        )
    geo = geo.loc[values.index, ["geometry"]]
    geo = geo[~geo.geometry.isna() & ~geo.geometry.is_empty]
    no_geometry = sorted(set(values.index) - set(geo.index))
    overseas = overseas_codes(geo) if drop_overseas else []
    geo = geo.drop(index=overseas)
    islands: list = []

    w = _neighbour_weights(geo, contiguity, k)
    if w.islands:
        islands = list(w.islands)
        geo = geo.drop(index=islands)
        w = _neighbour_weights(geo, contiguity, k)
    w.transform = "r"
    y = values.loc[list(w.id_order)].to_numpy()
    with _seeded_global_numpy(seed):
        moran = esda.Moran(y, w, permutations=permutations)
    dropped = [*no_geometry, *overseas, *islands]
    return pd.DataFrame(
        [
            {
                "morans_i": float(moran.I),
                "expected_i": float(moran.EI),
                "p_value": float(moran.p_sim) if permutations else float(moran.p_norm),
                "z_sim": float(moran.z_sim) if permutations else np.nan,
                "n": int(w.n),
                "n_overseas_dropped": len(overseas),
                "n_islands_dropped": len(islands),
                "n_without_geometry": len(no_geometry),
                "dropped_codes": ",".join(map(str, dropped)),
                "contiguity": contiguity,
                "permutations": permutations,
                "seed": seed,
            }
        ]
    )


# --------------------------------------------------------------------------- honesty
# The numbers and the logic that choose a sentence live here; the words (templates
# with named fields, one table per language) live in analysis.labels.

FIRST_PTCE_YEAR = 2013
"""Year of the first national PTCE call (no PTCE is recorded before it)."""
FIRST_TZCLD_YEAR = 2016
"""Year the first ten zero-long-term-unemployment territories were authorised."""


def _caution_key(treatment: str | None, continuous: bool) -> str:
    """Which selection caveat fits the treatment."""
    if continuous:
        return "continuous"
    return "binary_tzcld" if treatment and "tzcld" in treatment else "binary"


def timing_note(treatment: str, shock: str | None, lang: str = "fr") -> str:
    """What the treatment means in time for this shock ("" when nothing needs saying).

    ``is_ptce_territory`` flags territories hosting a PTCE *today*: for a shock
    before :data:`FIRST_PTCE_YEAR` that means "will host one later"; for a
    later shock the group includes PTCE founded after it.
    """
    labels.check_lang(lang)
    if shock is None or treatment not in ("is_ptce_territory", "is_tzcld_territory"):
        return ""
    if shock not in SHOCKS.index:
        return ""
    year = int(SHOCKS.at[shock, "shock_year"])
    if treatment == "is_tzcld_territory":
        key = "before_tzcld" if year < FIRST_TZCLD_YEAR else "includes_later_tzcld"
    else:
        key = "before_ptce" if year <= FIRST_PTCE_YEAR else "includes_later"
    return labels.timing(key, lang)


def sentence_decimals(values: Iterable[float]) -> int:
    """Decimals of the numbers of a result sentence: three significant digits of the spread
    of zero and the finite ``values`` (``labels.decimals_for_range``, as in figure legends)."""
    finite = [0.0, *(float(v) for v in values if v is not None and np.isfinite(v))]
    return labels.decimals_for_range(min(finite), max(finite))


def summary_sentence(result, lang: str = "fr", *, shock: str | None = None) -> str:
    """A plain-language sentence built from one result row (never typed by hand).

    States the sign and size of the effect, its confidence interval (or the
    permutation p-value), N and the number of treated territories, whether the
    interval excludes zero, whether the direction means better or worse
    resilience when the outcome is known, what the treatment means in time
    for the shock (:func:`timing_note`), and a caution about selection. The
    words are the templates of ``analysis.labels.SENTENCES``.

    Args:
        result: one row of an estimator's table (Series, dict or one-row DataFrame).
        lang: ``"fr"`` (default) or ``"en"``.
        shock: the shock the outcome measures (``recession_2008``, ``covid_2020``);
            adds the timing note when given.
    """
    if isinstance(result, pd.DataFrame):
        if len(result) != 1:
            raise ValueError(f"summary_sentence needs one result row, got {len(result)}")
        result = result.iloc[0]
    row = dict(result)
    labels.check_lang(lang)
    outcome, treatment = str(row.get("outcome", "")), str(row.get("treatment", ""))
    effect = float(row["effect"])
    low, high = float(row.get("ci_low", np.nan)), float(row.get("ci_high", np.nan))
    p_value = float(row.get("p_value", np.nan))
    n, n_treated = row.get("n"), row.get("n_treated")
    confidence = int(round(100 * float(row.get("confidence", 0.95) or 0.95)))
    decimals = sentence_decimals([effect, low, high])

    def number(x: float) -> str:
        return labels.format_number(x, lang, decimals)

    continuous = row.get("treatment_kind") == "continuous"
    has_ci = np.isfinite(low) and np.isfinite(high)
    excludes_zero = has_ci and (low > 0 or high < 0)
    higher_better = OUTCOME_HIGHER_IS_BETTER.get(outcome)
    better = None if higher_better is None or effect == 0 else (effect > 0) == higher_better
    if continuous:
        head_key = "head_continuous"
    else:
        head_key = "head_higher" if effect > 0 else "head_lower" if effect < 0 else "head_equal"
    head = labels.sentence(
        head_key,
        lang,
        subject=labels.treatment_subject(treatment, lang, continuous=continuous),
        outcome=labels.outcome_phrase(outcome, lang),
        effect=number(effect),
        size=number(abs(effect)),
    )
    if better is not None and excludes_zero:
        head += labels.sentence("better" if better else "worse", lang)
    if has_ci:
        uncertainty = labels.sentence(
            "uncertainty_ci", lang, confidence=confidence, low=number(low), high=number(high)
        )
        verdict_key = "ci_excludes_zero" if excludes_zero else "ci_includes_zero"
    else:
        uncertainty = labels.sentence(
            "uncertainty_permutation", lang, p=labels.format_p(p_value, lang)
        )
        verdict_key = "permutation_rare" if p_value < 0.05 else "permutation_common"
    has_treated = n_treated is not None and pd.notna(n_treated)
    counts = labels.sentence(
        "counts_treated" if has_treated else "counts",
        lang,
        n=int(n),
        treated=int(n_treated) if has_treated else None,
    )
    result_text = labels.sentence(
        "result",
        lang,
        head=head,
        uncertainty=uncertainty,
        counts=counts,
        specification=str(row.get("specification", "")),
        verdict=labels.sentence(verdict_key, lang),
    )
    caution = labels.caution(_caution_key(treatment, continuous), lang)
    return " ".join(filter(None, [result_text, timing_note(treatment, shock, lang), caution]))


def robustness_table(results: Iterable[pd.DataFrame] | pd.DataFrame) -> pd.DataFrame:
    """Stack result tables and flag, per row, the sign and whether the CI (or p) excludes zero.

    Adds ``sign`` (−1, 0, 1) and ``excludes_zero`` (CI excludes 0; for rows
    without a CI, p_value < 1 − confidence).
    """
    table = (
        results
        if isinstance(results, pd.DataFrame)
        else pd.concat(list(results), ignore_index=True)
    )
    table = table.copy()
    has_ci = table["ci_low"].notna() & table["ci_high"].notna()
    alpha = 1 - table["confidence"].fillna(0.95)
    table["sign"] = np.sign(table["effect"]).astype("Int64")
    table["excludes_zero"] = np.where(
        has_ci, (table["ci_low"] > 0) | (table["ci_high"] < 0), table["p_value"] < alpha
    ).astype(bool)
    return table


def robustness_verdict(
    table: pd.DataFrame,
    outcome: str | None = None,
    *,
    max_abs_smd: float = 0.25,
    pretrends: dict | None = None,
) -> dict:
    """Call a difference robust only if it holds across every specification.

    Verdicts: ``"robust"`` (≥ 2 specifications, same sign everywhere, every
    CI/permutation test excludes zero, balance after matching within
    ``max_abs_smd`` if a matching row is present, and no pre-shock gap if
    ``pretrends`` — :func:`pretrend_summary` of the event study — is given);
    ``"null"`` (no specification excludes zero); ``"contradictory"``
    (significant effects of opposite signs); ``"fragile"`` otherwise. Even a
    robust difference is an association, not a causal effect (selection), and
    the texts say so.

    Returns:
        dict with ``verdict``, ``n_specifications``, ``n_excluding_zero``,
        ``same_sign``, ``balance_ok``, ``pretrend_ok``, ``text_fr``, ``text_en``.
    """
    table = robustness_table(table) if "excludes_zero" not in table.columns else table
    if outcome is not None:
        table = table[table["outcome"] == outcome]
    if table.empty:
        raise ValueError(f"no result rows for outcome {outcome!r}")
    n_spec = len(table)
    significant = table[table["excludes_zero"]]
    signs = set(table["sign"].dropna().astype(int)) - {0}
    significant_signs = set(significant["sign"].dropna().astype(int)) - {0}
    balance_ok = True
    if "max_abs_smd_after" in table.columns and table["max_abs_smd_after"].notna().any():
        balance_ok = bool((table["max_abs_smd_after"].dropna().abs() <= max_abs_smd).all())
    pretrend_ok = not (pretrends or {}).get("has_pretrend", False)
    if len(significant) == 0:
        verdict = "null"
    elif len(significant_signs) > 1:
        verdict = "contradictory"
    elif (
        n_spec >= 2
        and len(significant) == n_spec
        and len(signs) == 1
        and balance_ok
        and pretrend_ok
    ):
        verdict = "robust"
    else:
        verdict = "fragile"
    problems = [
        key
        for key, ok in (("problem_balance", balance_ok), ("problem_pretrend", pretrend_ok))
        if not ok
    ]
    joiner = "problem_and" if verdict == "fragile" else "problem_moreover"

    def verdict_text(lang: str) -> str:
        extra = "".join(
            labels.sentence(joiner, lang, problem=labels.sentence(key, lang)) for key in problems
        )
        return labels.sentence(
            f"verdict_{verdict}",
            lang,
            n_spec=n_spec,
            n_significant=len(significant),
            problems="" if verdict == "robust" else extra,
        )

    return {
        "verdict": verdict,
        "n_specifications": n_spec,
        "n_excluding_zero": len(significant),
        "same_sign": len(signs) <= 1,
        "balance_ok": balance_ok,
        "pretrend_ok": pretrend_ok,
        "text_fr": verdict_text("fr"),
        "text_en": verdict_text("en"),
    }


@dataclass
class Evidence:
    """Everything :func:`compare_territories` computed for one outcome.

    ``results`` lists the primary specification first (``is_primary``), then
    the robustness rows: the raw gap (descriptive), the adjusted permutation
    test, the spatial error model and the matching estimator.
    """

    results: pd.DataFrame
    balance: pd.DataFrame
    matches: pd.DataFrame
    verdict: dict
    permutation_null: np.ndarray = field(default_factory=lambda: np.empty(0))
    """Null draws of the adjusted permutation test (for a histogram)."""
    controls_used: tuple[str, ...] = ()
    """The controls present in the table and used by the primary specification and matching."""
    controls_dropped: tuple[str, ...] = ()
    """Candidate controls left out (no pre-shock period at this level), named in the prose."""
    pretrend: dict | None = None
    """:func:`analysis.estimation.joint_pretrend_test` of the event study (None: not run)."""
    event_study: pd.DataFrame | None = None
    """Event-study coefficients (clustered), when a long panel was given."""
    morans_p: float | None = None
    """Permutation p-value of the residuals' Moran's I (None: not computed)."""

    @property
    def primary(self) -> pd.Series:
        """The primary specification's row."""
        return self.results.loc[self.results["is_primary"]].iloc[0]


def usable_controls(
    frame: pd.DataFrame, controls: Sequence[str] = DEFAULT_CONTROLS, treatment: str | None = None
) -> list[str]:
    """The ``controls`` present in ``frame`` with at least one value, never the treatment."""
    return [c for c in controls if c != treatment and c in frame.columns and frame[c].notna().any()]


ESTIMANDS: dict[str, str] = {
    "primary": "adjusted",
    "adjusted_permutation": "adjusted",
    "spatial_error_gm_het": "adjusted",
    "raw_difference": "descriptive",
}
"""What each row estimates: the verdict counts each estimand once (matching rows: ``att``)."""


def specification_label(code: str, lang: str = "fr") -> str:
    """The display name of one row of :attr:`Evidence.results` (``labels.specification_label``)."""
    return labels.specification_label(code, lang)


def specification_labels(lang: str = "fr", codes: Iterable[str] = ()) -> dict[str, str]:
    """Specification code → display name, for ``figures.plot_effects(row_labels=…)``."""
    return {str(code): labels.specification_label(code, lang) for code in codes}


def _treatment_is_clustered(frame: pd.DataFrame, treatment: str, cluster: str) -> bool:
    values = frame[[treatment, cluster]].dropna()
    return bool((values.groupby(cluster)[treatment].nunique() <= 1).all())


def compare_territories(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str = "is_ptce_territory",
    *,
    controls: Sequence[str] = DEFAULT_CONTROLS,
    fixed_effects: str | None = "reg_code",
    cluster: str = "cluster_code",
    strata: str | None = "reg_code",
    coordinates: tuple[str, str] | None = ("centroid_x", "centroid_y"),
    event_panel: pd.DataFrame | None = None,
    morans_p: float | None = None,
    n_bootstrap: int = 9999,
    n_permutations: int = 999,
    n_neighbours: int = 1,
    seed: int = 0,
) -> Evidence:
    """The primary specification, then the robustness rows, and the verdict.

    1. **Primary** (:func:`analysis.estimation.primary_specification`): OLS on
       the pre-shock controls with région fixed effects, clustered by
       ``cluster``, wild cluster bootstrap when clusters are few; with its
       minimum detectable effect (80 % power, 5 %) and equivalence bound.
    2. The **raw gap** (descriptive, never the headline).
    3. The **adjusted permutation test** (whole clusters permuted when the
       treatment is constant within clusters, else territories, within
       ``strata``).
    4. The **spatial error model** (when ``coordinates`` are in ``frame``).
    5. **Nearest-neighbour matching** (an ATT: a second estimand).

    With ``event_panel`` (``territory_code``, ``event_time``, ``value``,
    ``treatment``, ``cluster_code``) a clustered event study runs and its
    pre-shock coefficients are tested jointly; a rejected test blocks
    "robust". ``morans_p`` (residual Moran's I, :func:`spatial_check`) decides
    whether the spatial model's interval must also exclude zero.
    """
    usable = usable_controls(frame, controls, treatment)
    dropped = tuple(c for c in controls if c not in usable and c != treatment)
    common = {"outcome": outcome, "treatment": treatment}
    bootstrap = {"cluster": cluster, "seed": seed, "n_bootstrap": n_bootstrap}
    primary = estimation.primary_specification(
        frame, **common, controls=usable, fixed_effects=fixed_effects, **bootstrap
    )
    primary = primary.assign(**estimation.detectable_effects(primary.iloc[0]))
    rows = [primary, estimation.raw_difference(frame, **common, **bootstrap)]
    permutation = estimation.adjusted_permutation_test(
        frame,
        **common,
        controls=usable,
        fixed_effects=fixed_effects,
        strata=strata,
        cluster=cluster if _treatment_is_clustered(frame, treatment, cluster) else None,
        n_permutations=n_permutations,
        seed=seed,
    )
    null_draws = np.asarray(permutation.attrs.get("null", np.empty(0)), float)
    rows.append(permutation)
    spatial = None
    if coordinates is not None and set(coordinates) <= set(frame.columns):
        spatial = estimation.spatial_error_model(
            frame,
            **common,
            controls=usable,
            fixed_effects=fixed_effects,
            x=coordinates[0],
            y=coordinates[1],
        )
        rows.append(spatial)
    matching = nearest_neighbour_matching(
        frame, outcome, treatment, covariates=usable, n_neighbours=n_neighbours
    )
    rows.append(matching.effect)
    table = pd.concat(rows, ignore_index=True)
    table["confidence"] = table["confidence"].fillna(0.95)
    table["is_primary"] = table["specification"] == "primary"
    table["is_descriptive"] = table["specification"] == "raw_difference"
    table["estimand"] = table["specification"].map(ESTIMANDS).fillna("att")
    table = robustness_table(table)
    event_table, pretrend = None, None
    if event_panel is not None:
        fit = estimation.event_study_regression(
            event_panel, outcome="value", treatment="treatment", cluster="cluster_code"
        )
        event_table = fit.coefficients
        pretrend = estimation.joint_pretrend_test(fit)
    evidence = Evidence(
        results=table,
        balance=matching.balance,
        matches=matching.matches,
        verdict={},
        permutation_null=null_draws,
        controls_used=tuple(usable),
        controls_dropped=dropped,
        pretrend=pretrend,
        event_study=event_table,
        morans_p=morans_p,
    )
    evidence.verdict = primary_verdict(evidence)
    return evidence


def _row(results: pd.DataFrame, mask: pd.Series) -> pd.Series | None:
    rows = results.loc[mask]
    return rows.iloc[0] if len(rows) else None


def primary_verdict(evidence: Evidence, *, alpha: float = 0.05, max_abs_smd: float = 0.25) -> dict:
    """Judge the evidence counting each estimand once.

    Two estimands vote: the **adjusted effect** (primary specification; the
    permutation test and the spatial model are checks of the same estimand,
    not extra votes) and the **matching ATT**. The raw gap is descriptive and
    never votes. "robust" needs: the primary interval excludes zero, the
    permutation p < ``alpha``, when residual Moran's p < ``alpha`` the
    spatial model's interval excludes zero too (same sign), matching excludes
    zero with the same sign and balances (max |SMD| ≤ ``max_abs_smd``), and
    the joint pre-trend test is not rejected. "null": neither estimand
    excludes zero; "contradictory": both do, with opposite signs; else
    "fragile".

    Returns:
        ``verdict``, ``reason_codes``, ``n_estimands``, ``spatial`` (the
        :func:`analysis.estimation.verdict_under_spatial_dependence` dict),
        ``pretrend_ok``, ``text_fr``, ``text_en``.
    """
    table = evidence.results
    primary = evidence.primary
    permutation = _row(table, table["specification"] == "adjusted_permutation")
    spatial_row = _row(table, table["specification"] == "spatial_error_gm_het")
    matching = _row(table, table["estimand"] == "att")
    morans_p = evidence.morans_p
    # Moran's I not computed: the spatial interval is required whenever it exists.
    moran_for_rule = (0.0 if spatial_row is not None else 1.0) if morans_p is None else morans_p
    spatial = estimation.verdict_under_spatial_dependence(
        primary, spatial_row, moran_for_rule, alpha=alpha
    )
    adjusted_sig = bool(primary["excludes_zero"])
    matching_sig = matching is not None and bool(matching["excludes_zero"])
    same_sign = matching is None or np.sign(matching["effect"]) == np.sign(primary["effect"])
    balance_ok = True
    if "max_abs_smd_after" in table.columns and table["max_abs_smd_after"].notna().any():
        balance_ok = bool((table["max_abs_smd_after"].dropna().abs() <= max_abs_smd).all())
    pretrend_p = (evidence.pretrend or {}).get("p_value", np.nan)
    pretrend_ok = not (np.isfinite(pretrend_p) and pretrend_p < alpha)
    reasons: list[str] = []
    if not adjusted_sig:
        reasons.append("primary_includes_zero")
    if permutation is not None and not (permutation["p_value"] < alpha) and adjusted_sig:
        reasons.append("permutation_not_significant")
    if adjusted_sig and spatial["reason_code"] in (
        "spatial_interval_includes_zero",
        "spatial_check_missing",
    ):
        untested = morans_p is None and spatial["reason_code"] == "spatial_interval_includes_zero"
        reasons.append(
            "spatial_untested_interval_includes_zero" if untested else spatial["reason_code"]
        )
    if matching is not None and not (matching_sig and same_sign):
        reasons.append("matching_disagrees")
    if not balance_ok:
        reasons.append("balance_poor")
    if not pretrend_ok:
        reasons.append("pretrend_rejected")
    if not adjusted_sig and not matching_sig:
        verdict = "null"
    elif adjusted_sig and matching_sig and not same_sign:
        verdict = "contradictory"
    elif not reasons:
        verdict = "robust"
    else:
        verdict = "fragile"
    shown = [r for r in reasons if not (verdict == "null" and r in _NULL_IMPLIED)]
    if verdict == "contradictory":
        shown = [r for r in shown if r != "matching_disagrees"]
    texts = {}
    for lang in LANGS:
        values = {
            "p": labels.format_p(float(permutation["p_value"]), lang)
            if permutation is not None
            else "",
            "moran": labels.format_p(float(morans_p), lang) if morans_p is not None else "",
            "pretrend": labels.format_p(float(pretrend_p), lang),
        }
        phrases = [labels.evidence_sentence(f"reason_{r}", lang, **values) for r in shown]
        joined = ""
        if phrases:
            joiner = labels.semicolon(lang) if verdict != "fragile" else ", "
            key = "reasons_fragile" if verdict == "fragile" else "reasons_list"
            joined = labels.evidence_sentence(key, lang, reasons=joiner.join(phrases))
        note = (
            labels.evidence_sentence("spatial_robust_note", lang, **values)
            if spatial["reason_code"] == "robust_to_spatial_dependence" and morans_p is not None
            else ""
        )
        texts[lang] = labels.evidence_sentence(
            f"verdict_{verdict}", lang, reasons=joined, spatial=note
        )
    return {
        "verdict": verdict,
        "reason_codes": reasons,
        "n_estimands": 1 + (matching is not None),
        "spatial": spatial,
        "pretrend_ok": pretrend_ok,
        "balance_ok": balance_ok,
        "text_fr": texts["fr"],
        "text_en": texts["en"],
    }


_NULL_IMPLIED = ("primary_includes_zero", "matching_disagrees")


def spatial_check(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str,
    territories,
    *,
    controls: Sequence[str] = DEFAULT_CONTROLS,
    fixed_effects: str | None = "reg_code",
    permutations: int = 999,
    seed: int = 0,
    contiguity: str = "queen",
) -> pd.DataFrame:
    """Moran's I of the residuals of the OLS of :func:`compare_territories` (same controls).

    Spatially correlated residuals mean the OLS standard errors, which treat
    territories as independent, are too optimistic. Overseas territories and
    islands without a contiguous neighbour are dropped before the weights are
    built, and counted (see :func:`morans_i`).

    Args:
        frame: The analysis table (index territory code).
        outcome, treatment: As for :func:`ols_effect`.
        territories: GeoDataFrame of the level (``territories.load_territories``).
        controls: Candidate controls; those absent or empty are skipped, as in
            :func:`compare_territories`.

    Returns:
        The :func:`morans_i` row plus ``outcome``, ``treatment`` and ``controls``.
    """
    usable = usable_controls(frame, controls, treatment)
    residuals = ols_residuals(
        frame, outcome, treatment, controls=usable, fixed_effects=fixed_effects
    )
    row = morans_i(
        residuals, territories, permutations=permutations, seed=seed, contiguity=contiguity
    )
    row.insert(0, "treatment", treatment)
    row.insert(0, "outcome", outcome)
    row["controls"] = ",".join(usable)
    return row


def spatial_sentence(
    row, lang: str = "fr", *, alpha: float = 0.05, spatial_model: bool = True
) -> str:
    """A plain-language sentence on the Moran's I of residuals (one :func:`spatial_check` row).

    Says the value, the permutation p-value, N and how many territories were
    left out (overseas, islands, no geometry), and what a significant value
    implies for the confidence intervals (templates of ``analysis.labels.SENTENCES``).

    Args:
        row: One :func:`spatial_check` row (or a one-row table).
        lang: ``fr`` or ``en``.
        alpha: Level below which the residuals are called spatially correlated.
        spatial_model: Whether the report also estimates the spatial error model
            (:func:`compare_territories` does; a dose–response report does not): the
            sentence only points to that check when it exists.
    """
    if isinstance(row, pd.DataFrame):
        if len(row) != 1:
            raise ValueError(f"spatial_sentence needs one row, got {len(row)}")
        row = row.iloc[0]
    labels.check_lang(lang)
    value, p_value = float(row["morans_i"]), float(row["p_value"])
    dropped = int(row.get("n_overseas_dropped", 0)) + int(row.get("n_islands_dropped", 0))
    dropped += int(row.get("n_without_geometry", 0) or 0)
    n, permutations = int(row["n"]), int(row.get("permutations", 0))
    significant = np.isfinite(p_value) and p_value < alpha
    head = labels.sentence(
        "spatial_head",
        lang,
        value=labels.format_number(value, lang, 3),
        p=labels.format_p(p_value, lang),
        permutations=permutations,
        n=n,
        left_out=labels.sentence("spatial_left_out", lang, dropped=dropped) if dropped else "",
    )
    correlated = "spatial_correlated" if spatial_model else "spatial_correlated_no_model"
    tail = labels.sentence(correlated if significant else "spatial_quiet", lang)
    return labels.sentence("spatial", lang, head=head, tail=tail)


# --------------------------------------------------------------------------- analysis table
def prepare_analysis_table(
    indices: pd.DataFrame, cooperation: pd.DataFrame, controls: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Join indices (one row per territory) with cooperation flags and controls.

    Territories absent from ``cooperation`` get zero counts and ``False``
    flags (the registry lists only territories with initiatives in some
    versions); their codes are listed in ``attrs["no_cooperation_row"]``.
    Cooperation or control rows for territories without indices are reported
    in ``attrs["unmatched_*"]``, never silently joined.
    """
    table = indices.copy()
    table.index.name = "territory_code"
    coop = cooperation.copy()
    coop.index.name = "territory_code"
    table = table.join(coop, how="left", validate="one_to_one")
    absent = sorted(set(indices.index) - set(coop.index))
    for column in coop.columns:
        if column.startswith("is_"):
            table[column] = table[column].astype("boolean").fillna(False).astype(bool)
        elif column.startswith("n_") and pd.api.types.is_numeric_dtype(coop[column]):
            table[column] = table[column].fillna(0)
    report = {
        "no_cooperation_row": absent,
        "unmatched_cooperation": sorted(set(coop.index) - set(indices.index)),
    }
    if controls is not None:
        overlap = [c for c in controls.columns if c in table.columns]
        table = table.join(controls.drop(columns=overlap), how="left", validate="one_to_one")
        report["unmatched_controls"] = sorted(set(controls.index) - set(indices.index))
        report["missing_controls"] = list(controls.attrs.get("missing_controls", []))
        report["control_periods"] = dict(controls.attrs.get("periods_used", {}))
        report["dropped_controls"] = list(controls.attrs.get("dropped_controls", []))
    table.attrs.update(report)  # set last: joins do not always carry attrs over
    return table


# --------------------------------------------------------------------------- headline
P_VALUE_METHOD_KEYS: dict[str, str] = {
    estimation.P_VALUE_WILD_BOOTSTRAP: "p_method_wild",
    estimation.P_VALUE_CLUSTER_T: "p_method_cluster",
}


CI_VERDICT_KEYS: dict[str, str] = {
    "excludes": "excludes",
    "borderline": "includes_borderline",
    "includes": "includes",
}
"""``estimation.interval_verdict`` → its words in ``labels.EVIDENCE_SENTENCES``."""


def p_value_method_words(method: str, lang: str = "fr") -> str:
    """A p-value method in words (``"wild cluster bootstrap (Webb)"`` → « bootstrap sauvage
    par grappes (Webb) »); an unknown method is returned as it is."""
    key = P_VALUE_METHOD_KEYS.get(str(method))
    return labels.evidence_sentence(key, lang) if key else str(method)


def _with_unit(value: float, outcome: str, lang: str, decimals: int) -> str:
    text = labels.format_number(value, lang, decimals)
    unit_key = labels.OUTCOME_UNIT_KEYS.get(outcome)
    if unit_key is None:
        return text
    return f"{text} {labels.unit_word(unit_key, value, lang)}"


def headline_sentence(evidence: Evidence, lang: str = "fr", *, shock: str | None = None) -> str:
    """The report's headline, from the primary specification only (never the raw gap).

    Sign and size in the outcome's unit, the interval, the clustered or
    bootstrap p-value, N, treated territories and clusters, the joint
    pre-trend test, the minimum detectable effect and the equivalence bound
    ("les données excluent un effet supérieur à X"), the spatial-dependence
    check when it matters, what the treatment means in time for the shock and
    the selection caveat: one template per language (``headline`` in
    ``labels.EVIDENCE_SENTENCES``); the logic here only picks the slots' words.
    """
    labels.check_lang(lang)
    row = evidence.primary
    outcome, treatment = str(row["outcome"]), str(row["treatment"])
    effect, low, high = float(row["effect"]), float(row["ci_low"]), float(row["ci_high"])
    decimals = sentence_decimals([effect, low, high])
    words = lambda key, **values: labels.evidence_sentence(key, lang, **values)  # noqa: E731
    excludes = bool(row["excludes_zero"])
    higher_better = OUTCOME_HIGHER_IS_BETTER.get(outcome)
    better = ""
    if excludes and higher_better is not None and effect != 0:
        better = words("better" if (effect > 0) == higher_better else "worse")
    pretrend = evidence.pretrend
    if pretrend is None or not np.isfinite(pretrend.get("p_value", np.nan)):
        pretrend_text = words("pretrend_untested")
    else:
        key = "pretrend_detected" if pretrend["p_value"] < 0.05 else "pretrend_none"
        pretrend_text = words(
            key, k=int(pretrend["n_placebo"]), p=labels.format_p(float(pretrend["p_value"]), lang)
        )
    spatial_text = ""
    spatial_code = evidence.verdict.get("spatial", {}).get("reason_code", "")
    if excludes and evidence.morans_p is not None and evidence.morans_p < 0.05:
        key = (
            "spatial_robust"
            if spatial_code == "robust_to_spatial_dependence"
            else "spatial_fragile"
        )
        spatial_text = words(key, p=labels.format_p(float(evidence.morans_p), lang))
    method = str(row["p_value_method"])
    direction = "higher" if effect > 0 else "lower" if effect < 0 else "equal"
    text = words(
        "headline",
        subject=labels.treatment_subject(treatment, lang),
        outcome_label=labels.outcome_phrase(outcome, lang),
        direction=words(direction),
        size=_with_unit(abs(effect), outcome, lang, decimals),
        better=better,
        confidence=int(round(100 * float(row["confidence"]))),
        low=labels.format_number(low, lang, decimals),
        high=labels.format_number(high, lang, decimals),
        p=labels.format_p(float(row["p_value"]), lang),
        p_method=p_value_method_words(method, lang),
        n=int(row["n"]),
        n_treated=int(row["n_treated"]),
        n_clusters=int(row["n_clusters"]),
        ci_verdict=words(CI_VERDICT_KEYS[estimation.interval_verdict(excludes, row["p_value"])]),
        pretrend=pretrend_text,
        mde=_with_unit(float(row["mde"]), outcome, lang, decimals),
        bound=_with_unit(float(row["equivalence_bound"]), outcome, lang, decimals),
        spatial=spatial_text,
        timing=timing_note(treatment, shock, lang),
        caution=labels.caution(_caution_key(treatment, False), lang),
    )
    return " ".join(text.split())


def controls_sentence(evidence: Evidence, periods: dict | None = None, lang: str = "fr") -> str:
    """The controls the primary specification used (with their periods), and those left out.

    Controls read as words (``labels.variable_label``: "taux de chômage avant le choc");
    the ``controls`` column of ``effects.csv`` keeps their names.
    """
    periods = periods or {}

    def words(control: str) -> str:
        return labels.lower_first(labels.variable_label(control, lang))

    used = [
        f"{words(c)} ({periods[c]})" if c in periods else words(c) for c in evidence.controls_used
    ]
    none = labels.evidence_sentence("none", lang)
    return labels.evidence_sentence(
        "controls",
        lang,
        used=", ".join(used) or none,
        dropped=", ".join(map(words, evidence.controls_dropped)) or none,
    )


def multiplicity_sentence(n_comparisons: int, lang: str = "fr") -> str:
    """How many comparisons the batch makes, and where the adjusted p-values are."""
    return labels.evidence_sentence("multiplicity", lang, n=int(n_comparisons))


EFFECTS_COLUMNS: tuple[str, ...] = (
    "outcome",
    "treatment",
    "specification",
    "label",
    "is_primary",
    "is_descriptive",
    "estimand",
    "effect",
    "ci_low",
    "ci_high",
    "p_value",
    "p_value_method",
    "n",
    "n_treated",
    "n_clusters",
    "mde",
    "equivalence_bound",
    "unit",
    "controls",
    "sentence_fr",
    "sentence_en",
)
"""Columns of a comparison run's ``effects.csv`` (read by ``reports/evidence.csv``)."""


def conform_effects(
    table: pd.DataFrame, is_primary: pd.Series | bool, **constants: Any
) -> pd.DataFrame:
    """A design's effects under :data:`EFFECTS_COLUMNS` (the comparison's ``effects.csv``).

    ``is_primary`` marks the row that answers the run's question (at most one);
    ``constants`` fill columns the design knows for every row (``unit``,
    ``p_value_method``, ...). Columns still absent are left empty; the design's
    own columns follow.
    """
    table = table.assign(is_primary=is_primary, **constants)
    table["is_primary"] = table["is_primary"].astype(bool)
    if int(table["is_primary"].sum()) > 1:
        raise ValueError(f"at most one primary row, got {int(table['is_primary'].sum())}")
    if "is_descriptive" not in table.columns:
        table["is_descriptive"] = False
    for column in EFFECTS_COLUMNS:
        if column not in table.columns:
            text = column in ("label", "estimand", "unit", "controls") or column.startswith(
                "sentence"
            )
            table[column] = "" if text else np.nan
    extra = [c for c in table.columns if c not in EFFECTS_COLUMNS]
    return table[[*EFFECTS_COLUMNS, *extra]].reset_index(drop=True)


def effects_table(
    evidence: Evidence, *, shock: str | None = None, lang: str = "fr", controls_text: str = ""
) -> pd.DataFrame:
    """The rows of ``effects.csv``: every specification, the headline sentences on the primary.

    ``controls`` names the controls used (every row) and, in prose
    (``controls_text``), the dropped ones.
    """
    table = evidence.results.copy()
    table["label"] = table["specification"].map(lambda code: specification_label(code, lang))
    for column in ("n_clusters", "mde", "equivalence_bound", "p_value_method"):
        if column not in table.columns:
            table[column] = np.nan
    outcome = str(evidence.primary["outcome"])
    unit = labels.OUTCOME_UNIT_KEYS.get(outcome, "")
    table["unit"] = f"{unit}s" if unit else ""
    table["controls"] = controls_text or ", ".join(evidence.controls_used)
    for language in LANGS:
        table[f"sentence_{language}"] = ""
        table.loc[table["is_primary"], f"sentence_{language}"] = headline_sentence(
            evidence, language, shock=shock
        )
    extra = [c for c in table.columns if c not in EFFECTS_COLUMNS]
    return table[[*EFFECTS_COLUMNS, *extra]]
