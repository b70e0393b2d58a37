"""Cooperation as a dose: the outcome regressed on the density of initiatives, and binned means.

A pure methods module. The dose is continuous (initiatives per 100,000
inhabitants, of one kind or of all kinds); the slope is estimated by OLS with
``pyfixest`` and cluster-robust standard errors (CRV1) when a cluster column
is given (e.g. the région of each zone), heteroskedasticity-robust (HC1)
otherwise. The binned scatter partials the controls out of both the outcome
and the dose first (Frisch–Waugh–Lovell), so the slope through its points is
the regression slope (Cattaneo, Crump, Farrell & Feng 2024, *AER* 114(5)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.labels import OUTCOME_UNIT_KEYS, format_number, sentence
from analysis.models import conform_effects
from analysis.staggered import pf  # pyfixest, with its logging side effect undone

ALL_KINDS_DOSE = "initiatives_per_100k"
"""The density of every kind of initiative together (the primary dose when present)."""

DOSE_RESPONSE_COLUMNS: tuple[str, ...] = (
    "outcome",
    "dose",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "n_clusters",
    "n_treated",
    "inference",
)
"""Columns of :func:`dose_response` (one row)."""


def _check_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the table lacks column(s) {missing}; it has {list(frame.columns)}")


def _complete(frame, outcome, dose, controls, cluster) -> pd.DataFrame:
    columns = [outcome, dose, *controls, *([cluster] if cluster else [])]
    _check_columns(frame, columns)
    data = frame[columns].dropna()
    if len(data) < len(controls) + 3:
        raise ValueError(
            f"{len(data)} complete rows for {outcome} on {dose} with {len(controls)} control(s):"
            " too few to estimate a slope"
        )
    if data[dose].nunique() < 2:
        raise ValueError(f"the dose {dose!r} does not vary: no slope to estimate")
    return data


def dose_response(
    frame: pd.DataFrame,
    outcome: str,
    dose: str,
    controls: Sequence[str] = (),
    *,
    cluster: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Slope of ``outcome`` on ``dose``, adjusting for ``controls``.

    Args:
        frame: one row per territory.
        outcome: the outcome column (e.g. ``rise_vs_nation_pp``).
        dose: the dose column (e.g. ``initiatives_per_100k``).
        controls: control columns, entered linearly.
        cluster: column of clusters for CRV1 standard errors (``None``: HC1).
        alpha: 1 − confidence level.

    Returns:
        One row with :data:`DOSE_RESPONSE_COLUMNS`; rows with a missing value
        in any column used are left out (``n`` says how many remain;
        ``n_treated`` how many of them have a positive dose). A dose that is
        also among the controls (the 2008 ESS share) is never its own control.
    """
    controls = [c for c in controls if c != dose]
    data = _complete(frame, outcome, dose, controls, cluster).reset_index(drop=True)
    rename = {c: f"x{i}" for i, c in enumerate([outcome, dose, *controls])}
    data = data.rename(columns=rename)
    terms = [rename[dose], *(rename[c] for c in controls)]
    formula = f"{rename[outcome]} ~ " + " + ".join(terms)
    if cluster:
        vcov = {"CRV1": cluster}
        inference = f"CRV1 clustered by {cluster}"
    else:
        vcov = "hetero"
        inference = "HC1"
    fit = pf.feols(formula, data=data, vcov=vcov)
    term = rename[dose]
    interval = fit.confint(alpha=alpha).loc[term]
    row = {
        "outcome": outcome,
        "dose": dose,
        "estimate": float(fit.coef()[term]),
        "se": float(fit.se()[term]),
        "ci_low": float(interval.iloc[0]),
        "ci_high": float(interval.iloc[1]),
        "p_value": float(fit.pvalue()[term]),
        "n": int(len(data)),
        "n_clusters": int(data[cluster].nunique()) if cluster else int(len(data)),
        "n_treated": int((data[rename[dose]] > 0).sum()),
        "inference": inference,
    }
    return pd.DataFrame([row], columns=list(DOSE_RESPONSE_COLUMNS))


def dose_responses(
    frame: pd.DataFrame,
    outcome: str,
    doses: Sequence[str],
    controls: Sequence[str] = (),
    *,
    cluster: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """:func:`dose_response` for each dose, with the controls then without.

    Returns:
        One row per dose and specification (``specification``: ``controls``
        first, the primary one, then ``no_controls``), columns
        :data:`DOSE_RESPONSE_COLUMNS` after ``specification``.
    """
    rows = [
        dose_response(frame, outcome, dose, used, cluster=cluster, alpha=alpha).assign(
            specification=name
        )
        for name, used in (("controls", list(controls)), ("no_controls", []))
        for dose in doses
    ]
    table = pd.concat(rows, ignore_index=True)
    return table[["specification", *DOSE_RESPONSE_COLUMNS]]


def binned_means(
    frame: pd.DataFrame,
    outcome: str,
    dose: str,
    controls: Sequence[str] = (),
    *,
    bins: int = 10,
) -> pd.DataFrame:
    """Binned scatter of ``outcome`` against ``dose`` with the controls partialled out.

    Both variables are residualised on the controls (and re-centred on their
    means, so the axes keep their units); the dose is cut into ``bins``
    quantile bins (fewer if the dose has ties, e.g. many zeros).

    Returns:
        One row per bin: ``bin``, ``dose_mean``, ``outcome_mean``, ``n``; and
        the fitted line's ``intercept`` and ``slope`` as attributes (``.attrs``).
    """
    controls = [c for c in controls if c != dose]  # never its own control
    data = _complete(frame, outcome, dose, controls, None)
    x, y = data[dose].to_numpy(float), data[outcome].to_numpy(float)
    if controls:
        design = np.column_stack([np.ones(len(data)), data[controls].to_numpy(float)])
        projector = design @ np.linalg.pinv(design)
        x = x - projector @ x + x.mean()
        y = y - projector @ y + y.mean()
    cuts = pd.qcut(x, q=bins, labels=False, duplicates="drop")
    table = (
        pd.DataFrame({"bin": cuts, "dose": x, "outcome": y})
        .groupby("bin")
        .agg(dose_mean=("dose", "mean"), outcome_mean=("outcome", "mean"), n=("dose", "size"))
        .reset_index()
    )
    slope, intercept = np.polyfit(x, y, 1)
    table.attrs.update({"intercept": float(intercept), "slope": float(slope)})
    return table


# --------------------------------------------------------------------------- sentence and effects
def dose_response_sentence(
    row, *, lang: str = "fr", dose: str, outcome: str, unit: str, decimals: int = 3
) -> str:
    """One plain sentence for a row of :func:`dose_response` (template ``dose_response`` of
    :data:`analysis.labels.SENTENCES`).

    Args:
        row: a row (Series or dict) of :func:`dose_response`.
        dose: the dose in words, with its unit (``"PTCE pour 100 000 habitants"``).
        outcome: the outcome in words, lower case.
        unit: the outcome's unit (``"point"``).
    """
    row = dict(row)
    excludes_zero = bool(row["ci_low"] > 0 or row["ci_high"] < 0)
    clustered = str(row["inference"]).startswith("CRV1")
    number = lambda x: format_number(x, lang, decimals, sign=True)  # noqa: E731
    return sentence(
        "dose_response",
        lang,
        n=int(row["n"]),
        n_treated=int(row["n_treated"]),
        dose=dose,
        estimate=number(row["estimate"]),
        unit=f" {unit}" if unit else "",
        outcome=outcome,
        low=number(row["ci_low"]),
        high=number(row["ci_high"]),
        inference=sentence(
            "dose_inference_clustered" if clustered else "dose_inference_robust",
            lang,
            n_clusters=int(row["n_clusters"]),
        ),
        verdict=sentence(
            "dose_verdict_excludes" if excludes_zero else "dose_verdict_includes", lang
        ),
    )


def primary_dose(doses: Sequence[str]) -> str:
    """The dose whose slope answers a run's question.

    A run over every kind of initiative asks about cooperation as a whole: the
    all-kinds density (``initiatives_per_100k``) when it is among the doses;
    otherwise the first dose named (for the ESS run, the ESS share of salaried
    jobs: the only dose it names).
    """
    if not doses:
        raise ValueError("no dose")
    return ALL_KINDS_DOSE if ALL_KINDS_DOSE in doses else doses[0]


def effects_table(rows: pd.DataFrame, *, unit: str | None = None) -> pd.DataFrame:
    """Rows of :func:`dose_responses` under the column names of the comparison's ``effects.csv``.

    Columns: ``outcome``, ``treatment`` (the dose), ``specification``
    (``dose_response_controls`` or ``dose_response_no_controls``), ``effect``,
    ``ci_low``, ``ci_high``, ``p_value``, ``n``, ``n_treated`` (territories
    with a positive dose), ``treatment_kind`` (``continuous``), ``confidence``
    and ``inference``, under :data:`analysis.models.EFFECTS_COLUMNS`:
    ``is_primary`` marks the slope with controls of :func:`primary_dose`;
    ``unit`` defaults to the outcome's (``points`` for a change in points).
    """
    table = rows.rename(columns={"dose": "treatment", "estimate": "effect"})
    table = table.assign(
        specification="dose_response_" + table["specification"].astype(str),
        treatment_kind="continuous",
        confidence=0.95,
    )
    columns = [
        "outcome", "treatment", "specification", "effect", "ci_low", "ci_high", "p_value",
        "n", "n_treated", "treatment_kind", "confidence", "inference",
    ]  # fmt: skip
    table = table[columns].reset_index(drop=True)
    primary = (table["treatment"] == primary_dose(list(dict.fromkeys(table["treatment"])))) & (
        table["specification"] == "dose_response_controls"
    )
    if unit is None:  # the outcome's unit, as in the comparison's effects.csv
        unit = table["outcome"].map(
            lambda o: f"{OUTCOME_UNIT_KEYS[o]}s" if o in OUTCOME_UNIT_KEYS else ""
        )
    return conform_effects(
        table, primary, estimand="slope", p_value_method=table["inference"], unit=unit
    )
