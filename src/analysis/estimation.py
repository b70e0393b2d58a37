"""Inference for "treated territories vs comparable territories": one primary specification.

Pure functions of DataFrames (methods floor: no disk, no loading module). The
estimators come from well-kept libraries: pyfixest (OLS with fixed effects,
cluster-robust CRV1 standard errors, wild cluster bootstrap through the
``wildboottest`` package, Wald tests) and PySAL ``spreg`` (spatial error
model); what is written here is the glue, the permutation test's statistic and
the power formulas.

Conventions:

* The **primary specification** is OLS of the outcome on a 0/1 treatment,
  pre-shock controls and région fixed effects, standard errors clustered by
  ``cluster`` (the caller passes the cluster as a column: zones d'emploi and
  EPCI by their majority département, départements by région — see
  ``analysis.report_content.majority_parent``). Below ``wild_bootstrap_below``
  clusters (default 40), or when fewer than ``wild_bootstrap_below_treated``
  clusters (default 20) are treated (or untreated), the p-value comes from a
  wild cluster bootstrap with Webb's six-point weights, restricted under the
  null (WCR), and the interval from the unrestricted bootstrap's symmetric
  percentile-t (WCU). The second trigger is measured, not folklore: on
  synthetic territories shaped like the zones d'emploi (300 units, 95
  clusters, 12 treated clusters, 200 draws) the CRV1 t-test rejected a true
  null 9.0 % of the time at 5 % and its interval covered 92 %, the WCR
  bootstrap rejected 5.0 % and the WCU interval covered 94.5 % (MacKinnon &
  Webb 2017 describe the same failure with few treated clusters). With 13–38
  treated territories the real comparisons nearly always take the bootstrap.
* The **raw difference** (:func:`raw_difference`) is the same regression with
  no control and no fixed effect, clustered the same way; it is descriptive
  (``is_descriptive`` is True) and never a headline.
* ``wildboottest`` 0.3.2 (the latest release) defines its numba kernel for
  the CRV1 bootstrap denominators inside ``WildboottestCL.get_denom``, so
  numba compiles it again on every call: about one second per bootstrap,
  85 % of a primary estimate's time. This module replaces that method by
  :func:`_wild_bootstrap_denominators`: the same arithmetic, the kernel
  compiled once per process (and cached on disk), the ``G × G`` loop of
  matrix products written as one product. ``tests/test_estimation.py``
  checks it gives the library's numbers.
* Pyfixest 0.60 (the installed version) offers no Conley (distance-based)
  standard errors, so spatial robustness is a spatial error model
  (:func:`spatial_error_model`, ``spreg.GM_Error_Het`` with a k-nearest
  neighbours matrix built from territory centroids).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import libpysal
import numpy as np
import pandas as pd
import pyfixest as pf
import spreg
from numba import njit
from scipy import stats
from wildboottest.wildboottest import WildboottestCL

from analysis.checks import require_columns

ESTIMATE_COLUMNS: tuple[str, ...] = (
    "outcome",
    "treatment",
    "specification",
    "is_descriptive",
    "effect",
    "std_error",
    "ci_low",
    "ci_high",
    "confidence",
    "p_value",
    "p_value_method",
    "n",
    "n_treated",
    "n_clusters",
    "n_treated_clusters",
    "controls",
    "fixed_effects",
    "cluster",
    "residual_sd",
)
"""Columns of :func:`primary_specification` and :func:`raw_difference` (one row each)."""

P_VALUE_CLUSTER_T = "cluster-robust t"
P_VALUE_WILD_BOOTSTRAP = "wild cluster bootstrap (Webb)"


# --------------------------------------------------------------------------- helpers
def _as_binary(series: pd.Series, name: str) -> np.ndarray:
    values = pd.to_numeric(series.astype("float64"), errors="coerce")
    bad = series[~values.isin([0.0, 1.0])]
    if len(bad):
        raise ValueError(
            f"treatment {name!r} must be 0/1 (or boolean); row {bad.index[0]!r} holds "
            f"{bad.iloc[0]!r}: recode it before estimating"
        )
    return values.to_numpy(dtype=float)


def _as_continuous(series: pd.Series, name: str) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    bad = series[~np.isfinite(values)]
    if len(bad):
        raise ValueError(
            f"treatment {name!r} must be a finite number; row {bad.index[0]!r} holds "
            f"{bad.iloc[0]!r}: recode it before estimating"
        )
    return values.to_numpy(dtype=float)


TREATMENT_KINDS: dict[str, object] = {"binary": _as_binary, "continuous": _as_continuous}
"""How a treatment column is read: 0/1 (a label) or a number (a dose: the effect is a slope)."""


def _complete(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    columns = list(dict.fromkeys(columns))
    return frame.loc[frame[columns].notna().all(axis=1), columns].copy()


def _varying(frame: pd.DataFrame, controls: Sequence[str]) -> list[str]:
    """Controls that vary in the estimation sample (a constant one is collinear with the FE)."""
    return [c for c in controls if frame[c].astype(float).nunique() > 1]


def _model_frame(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str,
    controls: Sequence[str],
    fixed_effects: str | None,
    cluster: str | None,
    treatment_kind: str = "binary",
) -> tuple[pd.DataFrame, list[str]]:
    """Complete rows renamed to formula-safe names: y, d, x0…, fe, cl."""
    if treatment_kind not in TREATMENT_KINDS:
        raise ValueError(
            f"treatment_kind must be one of {sorted(TREATMENT_KINDS)}, got {treatment_kind!r}"
        )
    columns = [outcome, treatment, *controls]
    columns += [c for c in (fixed_effects, cluster) if c]
    require_columns(frame, columns, "estimation")
    data = _complete(frame, columns)
    if data.empty:
        raise ValueError(f"no row has {outcome!r}, {treatment!r} and every control filled")
    if fixed_effects:
        # A territory alone in its fixed-effect group carries no information on β; pyfixest
        # would drop it with a warning, drop it here so ``n`` counts what was fitted.
        sizes = data.groupby(fixed_effects)[outcome].transform("size")
        data = data.loc[sizes > 1]
    used = _varying(data, controls)
    safe = pd.DataFrame(
        {
            "y": data[outcome].astype(float).to_numpy(),
            "d": TREATMENT_KINDS[treatment_kind](data[treatment], treatment),
        },
        index=data.index,
    )
    for k, control in enumerate(used):
        safe[f"x{k}"] = data[control].astype(float).to_numpy()
    if fixed_effects:
        safe["fe"] = data[fixed_effects].astype(str).to_numpy()
    if cluster:
        # Integer codes: the wild bootstrap's numba kernels reject string cluster labels.
        safe["cl"] = pd.factorize(data[cluster].astype(str))[0]
    return safe, used


def _adjustment_matrix(data: pd.DataFrame, n_controls: int) -> np.ndarray:
    """Controls then fixed-effect dummies (first level dropped) of a :func:`_model_frame`."""
    parts = [data[[f"x{k}" for k in range(n_controls)]].to_numpy(float)]
    if "fe" in data.columns:
        parts.append(pd.get_dummies(data["fe"], drop_first=True).to_numpy(float))
    return np.hstack(parts)


def _formula(n_controls: int, fixed_effects: bool) -> str:
    right = " + ".join(["d", *(f"x{k}" for k in range(n_controls))])
    return f"y ~ {right}" + (" | fe" if fixed_effects else "")


# --------------------------------------------------------------------------- wild bootstrap kernel
@njit(cache=True)
def _wild_cluster_denominators(
    cluster_scores: np.ndarray, leverage: np.ndarray, weights: np.ndarray, ssc: float
) -> np.ndarray:
    """Squared bootstrap standard-error numerators of each draw (wildboottest's CRV1 kernel)."""
    n_clusters, n_draws = weights.shape
    denominators = np.zeros(n_draws)
    for b in range(n_draws):
        total = 0.0
        for g in range(n_clusters):
            shared = 0.0
            for h in range(n_clusters):
                shared += weights[h, b] * leverage[g, h]
            z = cluster_scores[g] * weights[g, b] - shared
            total += z * z
        denominators[b] = ssc * total
    return denominators


_LIBRARY_GET_DENOM = WildboottestCL.get_denom


def _wild_bootstrap_denominators(self: WildboottestCL) -> None:
    """``WildboottestCL.get_denom`` with its CRV1 kernel compiled once (see the module notes)."""
    if self.crv_type != "crv1":
        _LIBRARY_GET_DENOM(self)
        return
    left = np.stack([self.R @ self.tXXinv @ block @ self.tXXinv for block in self.tXgXg_list])
    leverage = left @ self.scores_mat
    self.denom = _wild_cluster_denominators(
        np.asarray(self.Cg, dtype=np.float64).reshape(-1),
        np.ascontiguousarray(leverage, dtype=np.float64),
        np.ascontiguousarray(self.v, dtype=np.float64),
        float(self.ssc),
    )


WildboottestCL.get_denom = _wild_bootstrap_denominators


# --------------------------------------------------------------------------- primary
def primary_specification(
    frame: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    controls: Sequence[str] = (),
    fixed_effects: str | None = "reg_code",
    cluster: str = "cluster_code",
    wild_bootstrap_below: int = 40,
    wild_bootstrap_below_treated: int = 20,
    seed: int = 0,
    n_bootstrap: int = 9999,
    confidence: float = 0.95,
    specification: str = "primary",
    treatment_kind: str = "binary",
) -> pd.DataFrame:
    """The declared primary estimate: OLS + région FE, clustered, wild bootstrap if few clusters.

    ``y_i = β·d_i + γ'x_i + α_région(i) + ε_i`` fitted by ``pyfixest.feols``
    with CRV1 standard errors clustered by ``cluster``. With ``G`` clusters,
    the interval and p-value use Student's t with ``G − 1`` degrees of freedom
    (pyfixest's default). When ``G < wild_bootstrap_below``, or fewer than
    ``wild_bootstrap_below_treated`` clusters hold a treated (or an
    untreated) territory, the p-value is a wild cluster bootstrap
    (``Feols.wildboottest``, Webb weights, null imposed, ``n_bootstrap``
    draws, ``seed``) and the interval is
    ``β̂ ± q·SE`` with ``q`` the ``confidence`` quantile of |t*| in the
    unrestricted bootstrap (Cameron, Gelbach & Miller 2008; Webb 2023).

    Args:
        frame: one row per territory.
        outcome, treatment: column names (treatment 0/1 or boolean).
        controls: pre-shock controls; those constant in the sample are dropped
            and the ``controls`` column lists the ones used.
        fixed_effects: column of the fixed effects (None: intercept only).
        cluster: column of the cluster each territory belongs to.
        wild_bootstrap_below: cluster count under which the bootstrap is used.
        wild_bootstrap_below_treated: treated (or untreated) cluster count
            under which the bootstrap is used.
        seed, n_bootstrap: bootstrap seed and draws.
        confidence: interval level.
        specification: label written in the ``specification`` column.
        treatment_kind: ``"binary"`` (0/1, the effect is a gap) or
            ``"continuous"`` (a dose, the effect is a slope per unit; "treated"
            then counts territories and clusters with a positive dose).

    Returns:
        One row with :data:`ESTIMATE_COLUMNS`.

    Raises:
        KeyError: a column is missing. ValueError: non-binary treatment, no
        treated or no untreated territory, fewer than two clusters.
    """
    data, used = _model_frame(
        frame, outcome, treatment, controls, fixed_effects, cluster, treatment_kind
    )
    treated = data["d"] > 0
    n_treated = int(treated.sum())
    if treatment_kind == "binary" and (n_treated == 0 or n_treated == len(data)):
        raise ValueError(
            f"{treatment!r} must have treated and untreated rows among the {len(data)} complete"
            f" rows (treated: {n_treated})"
        )
    if treatment_kind == "continuous" and data["d"].nunique() < 2:
        raise ValueError(f"the dose {treatment!r} does not vary: no slope to estimate")
    n_clusters = int(data["cl"].nunique())
    if n_clusters < 2:
        raise ValueError(f"need at least two clusters in {cluster!r}, got {n_clusters}")
    n_treated_clusters = int(data.loc[treated, "cl"].nunique())
    n_untreated_clusters = int(data.loc[~treated, "cl"].nunique())
    use_bootstrap = (
        n_clusters < wild_bootstrap_below
        or min(n_treated_clusters, n_untreated_clusters) < wild_bootstrap_below_treated
    )
    fit = pf.feols(
        _formula(len(used), fixed_effects is not None), data, vcov={"CRV1": "cl"}, copy_data=False
    )
    if "d" not in fit.coef().index:
        raise ValueError(
            f"{treatment!r} is collinear with the fixed effects or controls (e.g. every treated"
            " territory alone in its région): the effect is not identified"
        )
    alpha = 1 - confidence
    effect = float(fit.coef()["d"])
    std_error = float(fit.se()["d"])
    if use_bootstrap:
        restricted = fit.wildboottest(
            param="d", reps=n_bootstrap, seed=seed, weights_type="webb", impose_null=True
        )
        _, t_unrestricted = fit.wildboottest(
            param="d",
            reps=n_bootstrap,
            seed=seed,
            weights_type="webb",
            impose_null=False,
            return_bootstrapped_t_stats=True,
        )
        p_value = float(restricted["Pr(>|t|)"])
        critical = float(np.quantile(np.abs(np.asarray(t_unrestricted, float)), confidence))
        ci_low, ci_high = effect - critical * std_error, effect + critical * std_error
        method = P_VALUE_WILD_BOOTSTRAP
    else:
        interval = fit.confint(alpha=alpha).loc["d"]
        ci_low, ci_high = float(interval.iloc[0]), float(interval.iloc[1])
        p_value = float(fit.pvalue()["d"])
        method = P_VALUE_CLUSTER_T
    residuals = np.asarray(fit.resid(), float)
    # Without fixed effects the intercept is among the coefficients; with them, one per level.
    dof = max(len(data) - len(fit.coef()) - (data["fe"].nunique() if fixed_effects else 0), 1)
    row = {
        "outcome": outcome,
        "treatment": treatment,
        "specification": specification,
        "is_descriptive": False,
        "effect": effect,
        "std_error": std_error,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "confidence": confidence,
        "p_value": p_value,
        "p_value_method": method,
        "n": len(data),
        "n_treated": n_treated,
        "n_clusters": n_clusters,
        "n_treated_clusters": n_treated_clusters,
        "controls": ", ".join(used),
        "fixed_effects": fixed_effects or "",
        "cluster": cluster,
        "residual_sd": float(np.sqrt(residuals @ residuals / dof)),
    }
    return pd.DataFrame([row], columns=list(ESTIMATE_COLUMNS))


def raw_difference(
    frame: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    cluster: str = "cluster_code",
    wild_bootstrap_below: int = 40,
    wild_bootstrap_below_treated: int = 20,
    seed: int = 0,
    n_bootstrap: int = 9999,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The unadjusted gap (treated mean − others' mean), clustered like the primary estimate.

    Descriptive: no control, no fixed effect (``is_descriptive`` is True,
    ``specification`` is ``"raw_difference"``). It belongs in tables and
    figures, labelled as the raw gap, never in the headline.
    """
    row = primary_specification(
        frame,
        outcome=outcome,
        treatment=treatment,
        controls=(),
        fixed_effects=None,
        cluster=cluster,
        wild_bootstrap_below=wild_bootstrap_below,
        wild_bootstrap_below_treated=wild_bootstrap_below_treated,
        seed=seed,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        specification="raw_difference",
    )
    row["is_descriptive"] = True
    return row


# --------------------------------------------------------------------------- permutation
def _cluster_assignment(
    data: pd.DataFrame, treatment: np.ndarray, cluster: str | None, strata: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map units to assignment blocks: (unit → block index, block treatment, block stratum)."""
    if cluster is None:
        blocks = np.arange(len(data))
    else:
        codes, blocks = np.unique(data[cluster].astype(str).to_numpy(), return_inverse=True)
        per_block = pd.Series(treatment).groupby(blocks).agg(["min", "max"])
        mixed = per_block.index[per_block["min"] != per_block["max"]]
        if len(mixed):
            raise ValueError(
                f"treatment varies inside cluster {codes[mixed[0]]!r} of {cluster!r}: whole"
                " clusters cannot be permuted; pass cluster=None to permute territories"
            )
    block_treatment = pd.Series(treatment).groupby(blocks).first().to_numpy()
    if strata is None:
        block_stratum = np.zeros(len(block_treatment), dtype=int)
    else:
        # A cluster straddling two strata goes with the stratum most of its units are in.
        unit_strata = data[strata].astype(str).to_numpy()
        block_stratum_codes = (
            pd.Series(unit_strata).groupby(blocks).agg(lambda s: s.value_counts().index[0])
        )
        _, block_stratum = np.unique(block_stratum_codes.to_numpy(), return_inverse=True)
    return blocks, block_treatment, block_stratum


def _residualizer(design: np.ndarray):
    """v ↦ v − P v with P the projection on the columns of ``design`` (Frisch–Waugh–Lovell)."""
    q, r = np.linalg.qr(design)
    diagonal = np.abs(np.diag(r))
    q = q[:, diagonal > 1e-10 * max(1.0, diagonal.max())]
    return lambda v: v - q @ (q.T @ v)


def adjusted_permutation_test(
    frame: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    controls: Sequence[str] = (),
    fixed_effects: str | None = "reg_code",
    strata: str | None = "reg_code",
    cluster: str | None = None,
    n_permutations: int = 999,
    seed: int = 0,
) -> pd.DataFrame:
    """Randomisation inference on the adjusted treatment coefficient.

    The statistic is the coefficient of the primary specification (treatment
    after partialling out the controls and the fixed effects, by
    Frisch–Waugh–Lovell: ``β = d̃'ỹ / d̃'d̃``). The treatment is re-assigned
    ``n_permutations`` times (seeded) within each stratum; with ``cluster``
    the assignment moves whole clusters (each cluster keeps one treatment
    status, clusters are shuffled among the clusters of their stratum), which
    is how the real treatment was assigned when it is clustered. Two-sided
    p-value ``(1 + #{|β*| ≥ |β|}) / (1 + n_permutations)`` (Phipson & Smyth
    2010).

    Returns:
        One row: ``outcome``, ``treatment``, ``specification``, ``effect``,
        ``p_value``, ``p_value_method``, ``n``, ``n_treated``,
        ``n_permutations``, ``null_low``/``null_high`` (2.5 % and 97.5 %
        quantiles of the null draws), ``controls``, ``strata``, ``cluster``,
        ``seed``.
    """
    columns = [c for c in (strata, cluster) if c and c != fixed_effects]
    data, used = _model_frame(frame, outcome, treatment, controls, fixed_effects, None)
    extra = _complete(frame.loc[data.index], columns) if columns else None
    if extra is not None and len(extra) < len(data):
        raise ValueError(f"strata/cluster columns {columns} have missing values")
    source = frame.loc[data.index]
    residualize = _residualizer(
        np.hstack([np.ones((len(data), 1)), _adjustment_matrix(data, len(used))])
    )
    y_res = residualize(data["y"].to_numpy(float))
    d = data["d"].to_numpy(float)

    def coefficients(treatments: np.ndarray) -> np.ndarray:
        d_res = residualize(treatments)
        denominator = np.einsum("ij,ij->j", d_res, d_res)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(denominator > 1e-12, y_res @ d_res / denominator, np.nan)

    observed = float(coefficients(d[:, None])[0])
    blocks, block_treatment, block_stratum = _cluster_assignment(source, d, cluster, strata)
    rng = np.random.default_rng(seed)
    permuted_blocks = np.empty((len(block_treatment), n_permutations))
    for stratum in np.unique(block_stratum):
        members = np.flatnonzero(block_stratum == stratum)
        permuted_blocks[members] = rng.permuted(
            np.repeat(block_treatment[members][:, None], n_permutations, axis=1), axis=0
        )
    null = coefficients(permuted_blocks[blocks])
    null = null[np.isfinite(null)]
    p_value = (1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / (1 + len(null))
    unit = "clusters" if cluster else "territories"
    row = {
        "outcome": outcome,
        "treatment": treatment,
        "specification": "adjusted_permutation",
        "effect": observed,
        "p_value": float(p_value),
        "p_value_method": f"permutation of {unit}" + (f" within {strata}" if strata else ""),
        "n": len(data),
        "n_treated": int(d.sum()),
        "n_permutations": len(null),
        "null_low": float(np.quantile(null, 0.025)) if len(null) else np.nan,
        "null_high": float(np.quantile(null, 0.975)) if len(null) else np.nan,
        "controls": ", ".join(used),
        "strata": strata or "",
        "cluster": cluster or "",
        "seed": seed,
    }
    out = pd.DataFrame([row])
    out.attrs["null"] = null  # the draws, for a histogram of the null distribution
    return out


# --------------------------------------------------------------------------- spatial
def spatial_error_model(
    frame: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    controls: Sequence[str] = (),
    fixed_effects: str | None = "reg_code",
    x: str = "centroid_x",
    y: str = "centroid_y",
    k_neighbours: int = 8,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Robustness row: the treatment effect in a spatial error model (PySAL ``spreg``).

    ``y = Xβ + u, u = λWu + ε`` estimated by GMM with heteroskedasticity-
    robust inference (``spreg.GM_Error_Het``, Arraiz et al. 2010), ``W`` the
    row-standardised ``k_neighbours``-nearest-neighbours matrix of the
    territory centroids (``x``, ``y``: projected coordinates, e.g. Lambert-93
    metres, so distances are meaningful). Fixed effects enter as dummies.

    Returns:
        One row: ``specification`` (``"spatial_error_gm_het"``), ``effect``,
        ``std_error``, ``ci_low``, ``ci_high`` (normal), ``p_value``,
        ``p_value_method``, ``spatial_lambda``, ``n``, ``n_treated``,
        ``k_neighbours``.
    """
    require_columns(frame, [x, y], "spatial_error_model")
    data, used = _model_frame(frame, outcome, treatment, controls, fixed_effects, None)
    coordinates = frame.loc[data.index, [x, y]].astype(float)
    if coordinates.isna().any(axis=None):
        bad = coordinates.index[coordinates.isna().any(axis=1)][0]
        raise ValueError(f"territory {bad!r} has no centroid in {x!r}/{y!r}")
    with warnings.catch_warnings():  # disconnected components are reported in the row instead
        warnings.simplefilter("ignore", UserWarning)
        weights = libpysal.weights.KNN.from_array(coordinates.to_numpy(), k=k_neighbours)
    weights.transform = "r"
    regressors = [data[["d"]].to_numpy(float), _adjustment_matrix(data, len(used))]
    with contextlib.redirect_stdout(io.StringIO()):  # spreg 1.9 prints its class name
        model = spreg.GM_Error_Het(data[["y"]].to_numpy(float), np.hstack(regressors), weights)
    effect = float(model.betas[1, 0])  # betas: constant, treatment, …, lambda
    std_error = float(np.sqrt(model.vm[1, 1]))
    z = stats.norm.ppf(0.5 + confidence / 2)
    row = {
        "outcome": outcome,
        "treatment": treatment,
        "specification": "spatial_error_gm_het",
        "is_descriptive": False,
        "effect": effect,
        "std_error": std_error,
        "ci_low": effect - z * std_error,
        "ci_high": effect + z * std_error,
        "confidence": confidence,
        "p_value": float(2 * stats.norm.sf(abs(effect / std_error))),
        "p_value_method": f"spatial error model (GM_Error_Het, KNN k={k_neighbours})",
        "spatial_lambda": float(model.betas[-1, 0]),
        "n": len(data),
        "n_treated": int(data["d"].sum()),
        "controls": ", ".join(used),
        "fixed_effects": fixed_effects or "",
        "k_neighbours": k_neighbours,
        "n_weight_components": int(weights.n_components),
    }
    return pd.DataFrame([row])


def _excludes_zero(row) -> bool:
    low, high = float(row["ci_low"]), float(row["ci_high"])
    return bool(np.isfinite(low) and np.isfinite(high) and (low > 0 or high < 0))


def _first(row):
    return row.iloc[0] if isinstance(row, pd.DataFrame) else row


def verdict_under_spatial_dependence(primary_row, spatial_row, morans_p: float, *, alpha=0.05):
    """Whether a result may be called robust once residual spatial dependence is weighed.

    Rule: a result is robust only if the primary interval excludes zero; when
    the residuals' Moran's I is significant (``morans_p < alpha``) the
    dependence-robust interval (``spatial_row``) must also exclude zero, on
    the same side.

    Returns:
        ``{"is_robust": bool, "reason_code": str, "reason": str}``; codes:
        ``primary_includes_zero``, ``no_spatial_dependence``,
        ``robust_to_spatial_dependence``, ``spatial_interval_includes_zero``,
        ``spatial_check_missing``.
    """
    primary, spatial = _first(primary_row), None if spatial_row is None else _first(spatial_row)
    if not _excludes_zero(primary):
        return {
            "is_robust": False,
            "reason_code": "primary_includes_zero",
            "reason": "the primary interval includes zero",
        }
    if not (morans_p < alpha):
        return {
            "is_robust": True,
            "reason_code": "no_spatial_dependence",
            "reason": f"residual Moran's I not significant (p = {morans_p:.3f})",
        }
    if spatial is None:
        return {
            "is_robust": False,
            "reason_code": "spatial_check_missing",
            "reason": f"residuals are spatially dependent (Moran p = {morans_p:.3f}) and no"
            " dependence-robust interval was computed",
        }
    same_side = np.sign(float(spatial["effect"])) == np.sign(float(primary["effect"]))
    if _excludes_zero(spatial) and same_side:
        return {
            "is_robust": True,
            "reason_code": "robust_to_spatial_dependence",
            "reason": f"residuals are spatially dependent (Moran p = {morans_p:.3f}) but the"
            " dependence-robust interval also excludes zero",
        }
    return {
        "is_robust": False,
        "reason_code": "spatial_interval_includes_zero",
        "reason": f"residuals are spatially dependent (Moran p = {morans_p:.3f}) and the"
        " dependence-robust interval includes zero",
    }


# --------------------------------------------------------------------------- power
def _power_multiplier(alpha: float, power: float, df: float | None) -> float:
    if df is None:
        return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    return float(stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df))


def minimum_detectable_effect(
    n: int,
    n_treated: int,
    residual_sd: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    design_effect: float = 1.0,
    df: float | None = None,
) -> float:
    """Smallest true effect a two-sided test of size ``alpha`` detects with ``power``.

    Bloom (1995, *Evaluation Review* 19(5): 547-556)::

        MDE = (z_{1−α/2} + z_{power}) · σ · sqrt(1/n_t + 1/n_c) · sqrt(deff)

    with σ the residual standard deviation of the outcome given the controls,
    ``n_t`` treated and ``n_c = n − n_t`` untreated territories, and ``deff``
    the design effect (variance inflation from clustering: the squared ratio
    of the clustered to the unclustered standard error). The multiplier is
    2.80 at 5 % and 80 %; with ``df`` Student's t replaces z.
    """
    n_control = n - n_treated
    if n_treated <= 0 or n_control <= 0:
        raise ValueError(f"need treated and untreated units, got n={n}, n_treated={n_treated}")
    standard_error = residual_sd * np.sqrt(1 / n_treated + 1 / n_control) * np.sqrt(design_effect)
    return _power_multiplier(alpha, power, df) * float(standard_error)


def minimum_detectable_effect_from_se(
    std_error: float, *, alpha: float = 0.05, power: float = 0.8, df: float | None = None
) -> float:
    """MDE from an estimated (e.g. clustered) standard error: ≈ 2.8 · SE at 5 % and 80 %."""
    return _power_multiplier(alpha, power, df) * float(std_error)


def equivalence_bound(ci_low: float, ci_high: float) -> float:
    """The largest |effect| the interval does not exclude: ``max(|ci_low|, |ci_high|)``.

    "The data exclude an effect larger than X (in absolute value)" at the
    interval's level. NaN when an end is missing.
    """
    low, high = float(ci_low), float(ci_high)
    if not (np.isfinite(low) and np.isfinite(high)):
        return float("nan")
    return max(abs(low), abs(high))


def detectable_effects(estimate: pd.Series, *, alpha: float = 0.05, power: float = 0.8) -> dict:
    """``mde`` and ``equivalence_bound`` of a :func:`primary_specification` row.

    The MDE uses the row's clustered standard error with Student's t on
    ``n_clusters − 1`` degrees of freedom; the bound is the interval's far end.
    """
    return {
        "mde": minimum_detectable_effect_from_se(
            float(estimate["std_error"]), alpha=alpha, power=power,
            df=int(estimate["n_clusters"]) - 1,
        ),
        "equivalence_bound": equivalence_bound(estimate["ci_low"], estimate["ci_high"]),
    }  # fmt: skip


def interval_verdict(excludes_zero: bool, p_value: float, *, alpha: float = 0.05) -> str:
    """What an estimate's interval and test say together: ``"excludes"`` (the interval
    excludes zero), ``"borderline"`` (it holds zero while ``p < alpha``: the wild
    bootstrap's test imposes the null, its interval does not, so the two can disagree
    at the margin) or ``"includes"``."""
    if excludes_zero:
        return "excludes"
    return "borderline" if float(p_value) < alpha else "includes"


# --------------------------------------------------------------------------- event study
@dataclass(frozen=True)
class EventStudyFit:
    """An event-study regression: per event time coefficients and their covariance.

    Attributes:
        coefficients: one row per event time (``event_time``, ``is_placebo``,
            ``effect``, ``std_error``, ``ci_low``, ``ci_high``, ``p_value``);
            the reference period is a row with effect 0 and NaN inference.
        covariance: clustered covariance of the non-reference coefficients,
            indexed by event time.
        df_denominator: ``G − 1`` (clusters minus one) for F tests.
        reference: the omitted event time.
    """

    coefficients: pd.DataFrame
    covariance: pd.DataFrame
    df_denominator: int
    reference: int


def _event_name(k: int) -> str:
    return f"ev_m{-k}" if k < 0 else f"ev_p{k}"


def event_study_regression(
    long_frame: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    unit: str = "territory_code",
    event_time: str = "event_time",
    cluster: str = "cluster_code",
    reference: int = -1,
    confidence: float = 0.95,
) -> EventStudyFit:
    """Two-way fixed-effects event study, clustered, fitted with pyfixest.

    ``y_it = Σ_{k≠ref} β_k · d_i · 1[t = k] + α_i + δ_t + ε_it``, one row per
    territory and event time (event time 0 = the national peak, negative =
    before the shock), standard errors clustered by ``cluster``. The β_k with
    k < 0 (except the reference) are the pre-shock placebo coefficients
    :func:`joint_pretrend_test` tests jointly.
    """
    require_columns(
        long_frame, [outcome, treatment, unit, event_time, cluster], "event_study_regression"
    )
    data = _complete(long_frame, [outcome, treatment, unit, event_time, cluster])
    times = sorted(int(k) for k in data[event_time].unique())
    if reference not in times:
        raise ValueError(f"reference event time {reference} absent (event times: {times})")
    d = _as_binary(data[treatment], treatment)
    model = pd.DataFrame(
        {
            "y": data[outcome].astype(float).to_numpy(),
            "unit": data[unit].astype(str).to_numpy(),
            "time": data[event_time].astype(int).to_numpy(),
            "cl": pd.factorize(data[cluster].astype(str))[0],
        }
    )
    estimated = [k for k in times if k != reference]
    for k in estimated:
        model[_event_name(k)] = d * (model["time"].to_numpy() == k)
    names = [_event_name(k) for k in estimated]
    fit = pf.feols(f"y ~ {' + '.join(names)} | unit + time", model, vcov={"CRV1": "cl"})
    kept = [k for k in estimated if _event_name(k) in fit.coef().index]
    interval = fit.confint(alpha=1 - confidence)
    rows = [
        {
            "event_time": k,
            "is_placebo": k < 0,
            "is_reference": False,
            "effect": float(fit.coef()[_event_name(k)]),
            "std_error": float(fit.se()[_event_name(k)]),
            "ci_low": float(interval.loc[_event_name(k)].iloc[0]),
            "ci_high": float(interval.loc[_event_name(k)].iloc[1]),
            "p_value": float(fit.pvalue()[_event_name(k)]),
        }
        for k in kept
    ]
    rows.append(
        {
            "event_time": reference,
            "is_placebo": False,
            "is_reference": True,
            "effect": 0.0,
            "std_error": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": np.nan,
        }
    )
    coefficients = pd.DataFrame(rows).sort_values("event_time", ignore_index=True)
    position = {name: i for i, name in enumerate(fit.coef().index)}
    order = [position[_event_name(k)] for k in kept]
    covariance = pd.DataFrame(
        np.asarray(fit._vcov)[np.ix_(order, order)],  # pyfixest 0.60: no public vcov getter
        index=kept,
        columns=kept,
    )
    return EventStudyFit(
        coefficients=coefficients,
        covariance=covariance,
        df_denominator=int(model["cl"].nunique()) - 1,
        reference=reference,
    )


def joint_pretrend_test(
    fit: EventStudyFit | pd.Series,
    covariance: pd.DataFrame | None = None,
    *,
    df_denominator: int | None = None,
) -> dict:
    """Joint Wald test that every pre-shock event-study coefficient is zero.

    ``W = b' V⁻¹ b`` over the k placebo coefficients (event time < 0, the
    reference excluded). With ``df_denominator`` (clusters − 1) the statistic
    is ``F = W / k`` against F(k, G − 1); without, W against χ²(k).

    Args:
        fit: an :class:`EventStudyFit`, or the coefficients as a Series indexed
            by event time (then pass ``covariance``, same index).
        covariance: the coefficients' covariance (only with a Series).
        df_denominator: denominator degrees of freedom (taken from the fit).

    Returns:
        ``{"statistic", "p_value", "distribution", "df_numerator",
        "df_denominator", "n_placebo"}``.
    """
    if isinstance(fit, EventStudyFit):
        table = fit.coefficients
        placebo = table.loc[table["is_placebo"] & ~table["is_reference"]]
        coefficients = pd.Series(placebo["effect"].to_numpy(), index=placebo["event_time"])
        covariance = fit.covariance
        df_denominator = fit.df_denominator if df_denominator is None else df_denominator
    else:
        if covariance is None:
            raise ValueError("pass the covariance matrix of the coefficients")
        coefficients = fit[[k for k in fit.index if int(k) < 0]]
    if coefficients.empty:
        raise ValueError("no pre-shock coefficient to test (all event times are >= 0)")
    b = coefficients.to_numpy(float)
    v = covariance.loc[coefficients.index, coefficients.index].to_numpy(float)
    wald = float(b @ np.linalg.solve(v, b))
    k = len(b)
    if df_denominator is None:
        return {
            "statistic": wald,
            "p_value": float(stats.chi2.sf(wald, k)),
            "distribution": "chi2",
            "df_numerator": k,
            "df_denominator": np.nan,
            "n_placebo": k,
        }
    f_statistic = wald / k
    return {
        "statistic": f_statistic,
        "p_value": float(stats.f.sf(f_statistic, k, df_denominator)),
        "distribution": "F",
        "df_numerator": k,
        "df_denominator": int(df_denominator),
        "n_placebo": k,
    }
