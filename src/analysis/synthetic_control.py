"""Synthetic control for one treated territory, with placebo-in-space inference.

A pure methods module: a *wide panel* (index = territory code, columns =
period labels ``"2008-Q1"``, values = one outcome) in, DataFrames out.

The synthetic unit is a convex combination of donors (weights ≥ 0 summing to
1) that reproduces the treated unit's outcome over the pre-treatment periods
(Abadie, Diamond & Hainmueller 2010, *JASA* 105(490)). Weights are solved by
``pysyncon`` with the pre-treatment outcomes as predictors, equally weighted
(``custom_V``), so the fit minimises the pre-treatment squared gap.

Inference is placebo-in-space: each donor in turn is treated as if it had
been labelled at the same date, with the other donors as its pool; the
treated unit's post/pre RMSPE ratio is ranked among all the ratios and
p = rank / (number of donors + 1) (Abadie, Diamond & Hainmueller 2010, §2.4;
Abadie 2021, *JEL* 59(2)). With 40 donors the smallest possible p is 1/41.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pysyncon import Synth

from analysis.labels import format_number, sentence
from analysis.models import conform_effects
from analysis.periods import period_to_time, sorted_periods

PLACEBO_ALPHA = 0.1
"""Placebo p-value at or below which a treated unit's gap is said to stand out (the
sentences and the evidence row use the same level)."""

SUMMARY_COLUMNS: tuple[str, ...] = (
    "unit",
    "treatment_period",
    "n_donors",
    "n_pre_periods",
    "n_post_periods",
    "rmspe_pre",
    "rmspe_post",
    "rmspe_ratio",
    "rank",
    "p_value",
    "mean_post_gap",
    "top_donors",
)
"""Columns of :func:`synthetic_control_summary` (one row per treated unit)."""


@dataclass(frozen=True)
class SyntheticControlResult:
    """One synthetic control and its placebos.

    Attributes:
        unit: the treated unit's code.
        treatment_period: first period of the post-treatment span.
        weights: donor → weight (sums to 1), largest first.
        path: per period: ``observed``, ``synthetic``, ``gap`` (observed −
            synthetic), ``is_post``.
        rmspe_pre / rmspe_post: root mean squared gap before / from the treatment.
        rmspe_ratio: rmspe_post / rmspe_pre.
        placebo: per unit (the treated one first): ``unit``, ``rmspe_pre``,
            ``rmspe_post``, ``rmspe_ratio``, ``is_treated``.
        rank: rank of the treated unit's ratio (1 = largest).
        p_value: rank / number of units in the placebo table.
        placebo_gaps: wide table, one column per unit, of each placebo's gap path.
    """

    unit: str
    treatment_period: str
    weights: pd.Series
    path: pd.DataFrame
    rmspe_pre: float
    rmspe_post: float
    rmspe_ratio: float
    placebo: pd.DataFrame
    rank: int
    p_value: float
    placebo_gaps: pd.DataFrame

    @property
    def mean_post_gap(self) -> float:
        """Average gap over the post-treatment periods (the effect estimate)."""
        return float(self.path.loc[self.path["is_post"], "gap"].mean())


def _split_periods(columns, treatment_period: str) -> tuple[list[str], list[str]]:
    periods = sorted_periods(columns)
    start = period_to_time(treatment_period)
    pre = [p for p in periods if period_to_time(p) < start]
    post = [p for p in periods if period_to_time(p) >= start]
    return pre, post


def _fit_weights(panel: pd.DataFrame, treated: str, donors: list[str], pre: list[str]):
    """Weights of the donors reproducing ``treated`` over ``pre`` (pysyncon ``Synth``)."""
    outcomes = panel[pre].T  # rows = periods, columns = units
    donor_outcomes = outcomes[donors]
    treated_outcomes = outcomes[treated]
    model = Synth()
    model.fit(
        X0=donor_outcomes,
        X1=treated_outcomes,
        Z0=donor_outcomes,
        Z1=treated_outcomes,
        custom_V=np.ones(len(pre)),
    )
    weights = np.clip(np.asarray(model.W, dtype=float), 0, None)
    return pd.Series(weights / weights.sum(), index=donors, name="weight")


def _gap_path(panel: pd.DataFrame, treated: str, weights: pd.Series) -> pd.Series:
    synthetic = panel.loc[weights.index].T @ weights
    return panel.loc[treated] - synthetic


def _rmspe(gap: pd.Series) -> float:
    return float(np.sqrt(np.mean(np.square(gap.to_numpy(dtype=float)))))


def placebo_gap_paths(
    wide_panel: pd.DataFrame, donors: Sequence[str], treatment_period: str
) -> pd.DataFrame:
    """Each donor's gap to its own synthetic control from the other donors (one column each).

    The placebo-in-space fits of :func:`synthetic_control`: they depend on the
    donor pool and the treatment period only, not on the treated unit.
    """
    panel = wide_panel.copy()
    panel.index = panel.index.astype(str)
    panel.columns = [str(c) for c in panel.columns]
    donors = list(dict.fromkeys(str(d) for d in donors))
    pre, post = _split_periods(panel.columns, treatment_period)
    panel = panel.loc[donors, pre + post].astype(float)
    gaps = {}
    for donor in donors:
        others = [d for d in donors if d != donor]
        gaps[donor] = _gap_path(panel, donor, _fit_weights(panel, donor, others, pre))
    return pd.DataFrame(gaps)


def synthetic_control(
    wide_panel: pd.DataFrame,
    treated: str,
    donors: Sequence[str],
    treatment_period: str,
    *,
    with_placebos: bool = True,
    min_pre_periods: int = 8,
    placebos: pd.DataFrame | None = None,
) -> SyntheticControlResult:
    """Synthetic control of ``treated`` from ``donors``, labelled at ``treatment_period``.

    Args:
        wide_panel: index = unit code, columns = period labels, one outcome.
        treated: the treated unit's code (a row of ``wide_panel``).
        donors: the donor pool, chosen by the caller (e.g. zones without any
            initiative); must not contain ``treated``.
        treatment_period: first treated period (e.g. ``"2014-Q1"``).
        with_placebos: run the placebo-in-space fits (one per donor).
        min_pre_periods: refuse a pre-period shorter than this.
        placebos: the donors' placebo gap paths from :func:`placebo_gap_paths`
            for the same donors and treatment period (computed here if ``None``;
            they do not depend on the treated unit, so a summary fits them once).

    Raises:
        ValueError: the treated unit or a donor is not in the panel or has a
            missing value, the treated unit is among the donors, fewer than two
            donors, or too short a pre- or post-period.
    """
    panel = wide_panel.copy()
    panel.index = panel.index.astype(str)
    panel.columns = [str(c) for c in panel.columns]
    treated = str(treated)
    donors = [str(d) for d in donors]
    if treated in donors:
        raise ValueError(f"the treated unit {treated} is in its own donor pool; remove it")
    absent = [u for u in [treated, *donors] if u not in panel.index]
    if absent:
        raise ValueError(f"unit(s) {absent[:5]} not in the panel ({len(panel)} units)")
    if len(set(donors)) < 2:
        raise ValueError(f"need at least two donors, got {sorted(set(donors))}")
    donors = list(dict.fromkeys(donors))
    pre, post = _split_periods(panel.columns, treatment_period)
    if len(pre) < min_pre_periods or not post:
        raise ValueError(
            f"{len(pre)} period(s) before {treatment_period} and {len(post)} from it;"
            f" need at least {min_pre_periods} before and one after"
        )
    panel = panel.loc[[treated, *donors], pre + post].astype(float)
    incomplete = panel.index[panel.isna().any(axis=1)].tolist()
    if incomplete:
        raise ValueError(
            f"unit(s) {incomplete[:5]} have missing values between {pre[0]} and {post[-1]};"
            " drop them from the donor pool or shorten the span"
        )
    weights = _fit_weights(panel, treated, donors, pre)
    gap = _gap_path(panel, treated, weights)
    path = pd.DataFrame(
        {
            "observed": panel.loc[treated],
            "synthetic": panel.loc[treated] - gap,
            "gap": gap,
            "is_post": [p in post for p in panel.columns],
        }
    )
    path.index.name = "period"
    rows = [(treated, _rmspe(gap[pre]), _rmspe(gap[post]), True)]
    gaps = {treated: gap}
    if with_placebos:
        placebo_gaps = (
            placebos if placebos is not None else placebo_gap_paths(panel, donors, treatment_period)
        )
        for donor in donors:
            placebo_gap = placebo_gaps[donor]
            gaps[donor] = placebo_gap
            rows.append((donor, _rmspe(placebo_gap[pre]), _rmspe(placebo_gap[post]), False))
    placebo = pd.DataFrame(rows, columns=["unit", "rmspe_pre", "rmspe_post", "is_treated"])
    with np.errstate(divide="ignore", invalid="ignore"):
        placebo["rmspe_ratio"] = placebo["rmspe_post"] / placebo["rmspe_pre"]
    placebo = placebo[["unit", "rmspe_pre", "rmspe_post", "rmspe_ratio", "is_treated"]]
    ratio = float(placebo.loc[0, "rmspe_ratio"])
    rank = int((placebo["rmspe_ratio"] >= ratio).sum())
    return SyntheticControlResult(
        unit=treated,
        treatment_period=str(treatment_period),
        weights=weights.sort_values(ascending=False),
        path=path,
        rmspe_pre=float(placebo.loc[0, "rmspe_pre"]),
        rmspe_post=float(placebo.loc[0, "rmspe_post"]),
        rmspe_ratio=ratio,
        placebo=placebo,
        rank=rank,
        p_value=rank / len(placebo),
        placebo_gaps=pd.DataFrame(gaps),
    )


def synthetic_control_summary(
    wide_panel: pd.DataFrame,
    treated_units: Mapping[str, str],
    donors: Sequence[str],
    *,
    top: int = 3,
    min_pre_periods: int = 8,
) -> tuple[pd.DataFrame, dict[str, SyntheticControlResult]]:
    """One synthetic control per treated unit, from the same donor pool.

    Args:
        wide_panel: index = unit code, columns = period labels.
        treated_units: treated unit → its treatment period.
        donors: the donor pool (treated units are removed from it).
        top: how many donors, with their weight, in ``top_donors``.

    Returns:
        (the summary table with :data:`SUMMARY_COLUMNS`, each unit's full result).
    """
    treated_codes = {str(u) for u in treated_units}
    pool = [str(d) for d in donors if str(d) not in treated_codes]
    rows, results, placebos = [], {}, {}
    for unit, period in treated_units.items():
        result = synthetic_control(
            wide_panel,
            str(unit),
            pool,
            str(period),
            min_pre_periods=min_pre_periods,
            placebos=placebos.get(str(period)),
        )
        placebos[str(period)] = result.placebo_gaps[pool]
        results[result.unit] = result
        largest = result.weights.head(top)
        rows.append(
            {
                "unit": result.unit,
                "treatment_period": result.treatment_period,
                "n_donors": len(pool),
                "n_pre_periods": int((~result.path["is_post"]).sum()),
                "n_post_periods": int(result.path["is_post"].sum()),
                "rmspe_pre": result.rmspe_pre,
                "rmspe_post": result.rmspe_post,
                "rmspe_ratio": result.rmspe_ratio,
                "rank": result.rank,
                "p_value": result.p_value,
                "mean_post_gap": result.mean_post_gap,
                "top_donors": "; ".join(f"{code}: {w:.2f}" for code, w in largest.items()),
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)), results


# --------------------------------------------------------------------------- sentences and effects
def synthetic_control_sentence(
    summary_row,
    *,
    lang: str = "fr",
    name: str,
    outcome: str,
    unit: str,
    alpha: float = PLACEBO_ALPHA,
    decimals: int = 2,
) -> str:
    """One plain sentence for a row of :func:`synthetic_control_summary`.

    ``alpha`` is the placebo p-value below which the gap is said to stand out
    (with 40 donors the smallest p is 1/41, so 0.1 rather than 0.05).
    """
    row = dict(summary_row)
    number = lambda x: format_number(x, lang, decimals, sign=True)  # noqa: E731
    stands_out = bool(row["p_value"] <= alpha)
    return sentence(
        "synthetic_control",
        lang,
        name=name,
        period=row["treatment_period"],
        outcome=outcome,
        gap=number(row["mean_post_gap"]),
        unit=f" {unit}" if unit else "",
        n_donors=int(row["n_donors"]),
        rank=int(row["rank"]),
        n_units=int(row["n_donors"]) + 1,
        p=format_number(row["p_value"], lang, 2),
        verdict=sentence(
            "synthetic_verdict_stands_out" if stands_out else "synthetic_verdict_noise", lang
        ),
    )


def overall_sentence(
    summary: pd.DataFrame,
    *,
    lang: str = "fr",
    unit: str,
    alpha: float = PLACEBO_ALPHA,
    decimals: int = 2,
) -> str:
    """One sentence over every treated unit of :func:`synthetic_control_summary`."""
    gaps = summary["mean_post_gap"].astype(float)
    number = lambda x: format_number(x, lang, decimals, sign=True)  # noqa: E731
    return sentence(
        "synthetic_overall",
        lang,
        n_treated=len(summary),
        low=number(gaps.min()),
        high=number(gaps.max()),
        mean=number(gaps.mean()),
        unit=f" {unit}" if unit else "",
        n_significant=int((summary["p_value"] <= alpha).sum()),
        alpha_pct=int(round(100 * alpha)),
    )


MEAN_SPECIFICATION = "synthetic_control_mean"
"""The ``specification`` of the row over every treated unit (the run's primary row)."""


def effects_table(
    summary: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    unit: str = "",
    alpha: float = PLACEBO_ALPHA,
) -> pd.DataFrame:
    """:func:`synthetic_control_summary` under the column names of the comparison's ``effects.csv``.

    One row per treated unit (``specification`` names it): ``effect`` is the
    mean post-treatment gap, ``p_value`` the placebo-in-space p-value, no
    interval (``ci_low``/``ci_high`` empty: the placebo ranking is the
    inference), ``n`` the treated unit and its donors, ``n_treated`` 1. Then the
    primary row (:data:`MEAN_SPECIFICATION`, what ``reports/evidence.csv`` keeps):
    the mean of the units' gaps, no interval, and the inference the design has —
    the placebo p-value of the single treated unit, or, for several, no pooled
    p-value (the units share their donors, their ranks are not independent) and
    ``p_value_method`` saying how many units' placebo p-values are at most ``alpha``.
    """
    table = pd.DataFrame(
        {
            "outcome": outcome,
            "treatment": treatment,
            "specification": "synthetic_control_" + summary["unit"].astype(str),
            "effect": summary["mean_post_gap"].astype(float),
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": summary["p_value"].astype(float),
            "n": summary["n_donors"].astype(int) + 1,
            "n_treated": 1,
            "treatment_kind": "binary",
            "confidence": np.nan,
            "p_value_method": "placebo in space (RMSPE ratio rank)",
        }
    ).reset_index(drop=True)
    p_values = table["p_value"].dropna()
    if len(table) == 1:
        method, pooled_p = "placebo in space (RMSPE ratio rank)", float(table["p_value"].iloc[0])
    else:
        n_below = int((p_values <= alpha).sum())
        method = (
            f"placebo in space per treated unit (RMSPE ratio rank): {n_below}"
            f" of {len(table)} units with p <= {alpha:g}"
            + (f" (p from {p_values.min():.3f} to {p_values.max():.3f})" if len(p_values) else "")
        )
        pooled_p = np.nan
    mean_row = {
        "outcome": outcome,
        "treatment": treatment,
        "specification": MEAN_SPECIFICATION,
        "effect": float(table["effect"].mean()) if len(table) else np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": pooled_p,
        "n": int(summary["n_donors"].max()) + len(table) if len(table) else 0,
        "n_treated": len(table),
        "treatment_kind": "binary",
        "confidence": np.nan,
        "p_value_method": method,
    }
    table = pd.concat([table, pd.DataFrame([mean_row])], ignore_index=True)
    return conform_effects(
        table,
        table["specification"] == MEAN_SPECIFICATION,
        estimand="mean post-label gap",
        unit=unit,
    )


def weights_table(results: Mapping[str, SyntheticControlResult]) -> pd.DataFrame:
    """Donor weights of every treated unit, long: ``unit``, ``donor``, ``weight`` (> 0 only)."""
    rows = [
        (unit, donor, float(weight))
        for unit, result in results.items()
        for donor, weight in result.weights.items()
        if weight > 0
    ]
    return pd.DataFrame(rows, columns=["unit", "donor", "weight"])


def paths_table(results: Mapping[str, SyntheticControlResult]) -> pd.DataFrame:
    """Observed and synthetic paths of every treated unit, long: ``unit``, ``period``, ...."""
    frames = [result.path.reset_index().assign(unit=unit) for unit, result in results.items()]
    table = pd.concat(frames, ignore_index=True)
    return table[["unit", "period", "observed", "synthetic", "gap", "is_post"]]
