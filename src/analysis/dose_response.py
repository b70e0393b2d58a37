"""Cooperation as a dose: the outcome regressed on the density of initiatives, and binned means.

A pure methods module. The dose is continuous (initiatives per 100,000
inhabitants, of one kind or of all kinds; the ESS share of jobs); its slope is
estimated with the comparison's primary specification
(:func:`analysis.estimation.primary_specification` with a continuous
treatment): OLS on the pre-shock controls with région fixed effects, standard
errors clustered by ``cluster`` (zones d'emploi by their majority
département, départements by région), a wild cluster bootstrap when clusters
are few — the same inference as the yes/no comparisons, so one referee's
question gets one answer. The binned scatter partials the controls and the
fixed effects out of both the outcome and the dose first (Frisch–Waugh–Lovell),
so the slope through its points is the regression slope (Cattaneo, Crump,
Farrell & Feng 2024, *AER* 114(5)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import estimation
from analysis.checks import require_columns
from analysis.labels import OUTCOME_UNIT_KEYS, format_number, format_p, sentence
from analysis.models import conform_effects, p_value_method_words

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
    "p_value_method",
    "n",
    "n_clusters",
    "n_treated",
    "mde",
    "equivalence_bound",
    "controls",
    "inference",
)
"""Columns of :func:`dose_response` (one row)."""


def _complete(frame, outcome, dose, controls, extra=()) -> pd.DataFrame:
    columns = list(dict.fromkeys([outcome, dose, *controls, *(c for c in extra if c)]))
    require_columns(frame, columns, "dose_response", error=ValueError)
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
    fixed_effects: str | None = "reg_code",
    cluster: str = "cluster_code",
    n_bootstrap: int = 9999,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Slope of ``outcome`` on ``dose``, adjusting for ``controls`` and ``fixed_effects``.

    Args:
        frame: one row per territory.
        outcome: the outcome column (e.g. ``rise_vs_nation_pp``).
        dose: the dose column (e.g. ``initiatives_per_100k``).
        controls: control columns, entered linearly.
        fixed_effects: column of the fixed effects (``None``: intercept only).
        cluster: column of the clusters of the standard errors.
        n_bootstrap, seed: wild cluster bootstrap draws and seed (used when
            clusters are few, as in the primary specification).
        confidence: interval level.

    Returns:
        One row with :data:`DOSE_RESPONSE_COLUMNS`; rows with a missing value
        in any column used are left out (``n`` says how many remain;
        ``n_treated`` how many of them have a positive dose). A dose that is
        also among the controls (the 2008 ESS share) is never its own control.
        ``mde`` is the slope a test of size 5 % detects with 80 % power given
        the clustered standard error; ``equivalence_bound`` the largest slope
        the interval does not exclude.
    """
    controls = [c for c in controls if c != dose]
    _complete(frame, outcome, dose, controls, (fixed_effects, cluster))
    fit = estimation.primary_specification(
        frame,
        outcome=outcome,
        treatment=dose,
        controls=controls,
        fixed_effects=fixed_effects,
        cluster=cluster,
        n_bootstrap=n_bootstrap,
        seed=seed,
        confidence=confidence,
        treatment_kind="continuous",
    ).iloc[0]
    n_clusters = int(fit["n_clusters"])
    inference = f"{fit['p_value_method']}, clustered by {cluster}" + (
        f", fixed effects {fixed_effects}" if fixed_effects else ""
    )
    row = {
        "outcome": outcome,
        "dose": dose,
        "estimate": float(fit["effect"]),
        "se": float(fit["std_error"]),
        "ci_low": float(fit["ci_low"]),
        "ci_high": float(fit["ci_high"]),
        "p_value": float(fit["p_value"]),
        "p_value_method": str(fit["p_value_method"]),
        "n": int(fit["n"]),
        "n_clusters": n_clusters,
        "n_treated": int(fit["n_treated"]),
        **estimation.detectable_effects(fit),
        "controls": str(fit["controls"]),
        "inference": inference,
    }
    return pd.DataFrame([row], columns=list(DOSE_RESPONSE_COLUMNS))


def dose_responses(
    frame: pd.DataFrame,
    outcome: str,
    doses: Sequence[str],
    controls: Sequence[str] = (),
    *,
    fixed_effects: str | None = "reg_code",
    cluster: str = "cluster_code",
    n_bootstrap: int = 9999,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`dose_response` for each dose: adjusted, then raw.

    Returns:
        One row per dose and specification, columns :data:`DOSE_RESPONSE_COLUMNS`
        after ``specification``: ``controls`` first (the primary one: controls
        and ``fixed_effects``), then ``no_controls`` (the raw slope, no control
        and no fixed effect, clustered the same way: descriptive).
    """
    specifications = (("controls", list(controls), fixed_effects), ("no_controls", [], None))
    rows = [
        dose_response(
            frame, outcome, dose, used, fixed_effects=effects, cluster=cluster,
            n_bootstrap=n_bootstrap, seed=seed,
        ).assign(specification=name)
        for name, used, effects in specifications
        for dose in doses
    ]  # fmt: skip
    table = pd.concat(rows, ignore_index=True)
    return table[["specification", *DOSE_RESPONSE_COLUMNS]]


def binned_means(
    frame: pd.DataFrame,
    outcome: str,
    dose: str,
    controls: Sequence[str] = (),
    *,
    fixed_effects: str | None = None,
    bins: int = 10,
) -> pd.DataFrame:
    """Binned scatter of ``outcome`` on ``dose``, controls and fixed effects partialled out.

    Both variables are residualised on the controls and the fixed effects'
    dummies (and re-centred on their means, so the axes keep their units),
    on the rows the regression uses (a territory alone in its fixed-effect
    group is left out, as in the primary specification); the dose is cut into
    ``bins`` quantile bins (fewer if the dose has ties, e.g. many zeros).

    Returns:
        One row per bin: ``bin``, ``dose_mean``, ``outcome_mean``, ``n``; and
        the fitted line's ``intercept`` and ``slope`` as attributes (``.attrs``).
    """
    controls = [c for c in controls if c != dose]  # never its own control
    data = _complete(frame, outcome, dose, controls, (fixed_effects,))
    if fixed_effects:
        data = data.loc[data.groupby(fixed_effects)[outcome].transform("size") > 1]
    parts = [np.ones((len(data), 1)), data[controls].to_numpy(float)]
    if fixed_effects:
        parts.append(
            pd.get_dummies(data[fixed_effects].astype(str), drop_first=True).to_numpy(float)
        )
    x, y = data[dose].to_numpy(float), data[outcome].to_numpy(float)
    design = np.hstack(parts)
    if design.shape[1] > 1:
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
        p=format_p(float(row["p_value"]), lang),
        p_method=p_value_method_words(row["p_value_method"], lang),
        n_clusters=int(row["n_clusters"]),
        mde=format_number(float(row["mde"]), lang, decimals),
        bound=format_number(float(row["equivalence_bound"]), lang, decimals),
        verdict=sentence(
            f"dose_verdict_{estimation.interval_verdict(excludes_zero, row['p_value'])}", lang
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
    ``ci_low``, ``ci_high``, ``p_value`` and its method, ``n``, ``n_treated``
    (territories with a positive dose), ``n_clusters``, ``mde``,
    ``equivalence_bound``, ``controls``, ``treatment_kind`` (``continuous``),
    ``confidence`` and ``inference``, under :data:`analysis.models.EFFECTS_COLUMNS`:
    ``is_primary`` marks the slope with controls of :func:`primary_dose`;
    ``unit`` defaults to the outcome's (``points`` for a change in points).
    """
    table = rows.rename(columns={"dose": "treatment", "estimate": "effect"})
    table = table.assign(
        specification="dose_response_" + table["specification"].astype(str),
        # The slope without controls or fixed effects is descriptive, as the raw gap is.
        is_descriptive=table["specification"].astype(str) == "no_controls",
        treatment_kind="continuous",
        confidence=0.95,
    )
    columns = [
        "outcome", "treatment", "specification", "effect", "ci_low", "ci_high", "p_value",
        "p_value_method", "n", "n_treated", "n_clusters", "mde", "equivalence_bound",
        "controls", "is_descriptive", "treatment_kind", "confidence", "inference",
    ]  # fmt: skip
    table = table[columns].reset_index(drop=True)
    primary = (table["treatment"] == primary_dose(list(dict.fromkeys(table["treatment"])))) & (
        table["specification"] == "dose_response_controls"
    )
    if unit is None:  # the outcome's unit, as in the comparison's effects.csv
        unit = table["outcome"].map(
            lambda o: f"{OUTCOME_UNIT_KEYS[o]}s" if o in OUTCOME_UNIT_KEYS else ""
        )
    return conform_effects(table, primary, estimand="slope", unit=unit)
