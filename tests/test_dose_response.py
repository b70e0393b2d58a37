"""Dose-response: a planted linear dose effect is recovered, a null stays null."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthetic
from analysis import datasets, models
from analysis import dose_response as dr
from analysis import estimation as e


def territories(seed: int, slope: float, n: int = 300) -> pd.DataFrame:
    """Territories shaped like the zones d'emploi (:mod:`synthetic`: 95 clusters in 13 régions,
    région and cluster shocks); the dose varies by cluster (neighbours alike), is zero in a
    fifth of the territories and rises with a control that lowers the outcome."""
    frame = synthetic.synthetic_territories(seed, n_units=n)
    rng = np.random.default_rng(seed + 7)
    cluster_level = rng.normal(size=frame["cluster_code"].nunique())
    codes = pd.factorize(frame["cluster_code"])[0]
    dose = np.clip(
        2 + 0.8 * frame["x1"] + cluster_level[codes] + rng.normal(scale=0.7, size=n), 0, None
    )
    dose[rng.random(n) < 0.2] = 0.0
    frame["dose"] = dose
    frame["outcome"] = frame["outcome"] + slope * dose - 1.5 * frame["x1"]
    return frame


SPEC = dict(controls=["x1", "x2"], n_bootstrap=199)


def test_planted_linear_dose_effect_is_recovered():
    frame = territories(seed=1, slope=0.8)
    row = dr.dose_response(frame, "outcome", "dose", seed=1, **SPEC).iloc[0]
    assert list(row.index) == list(dr.DOSE_RESPONSE_COLUMNS)
    assert row["ci_low"] <= 0.8 <= row["ci_high"]
    assert row["p_value"] < 0.01
    assert row["n"] == 300 and row["n_clusters"] == 95
    assert row["p_value_method"] in (e.P_VALUE_CLUSTER_T, e.P_VALUE_WILD_BOOTSTRAP)
    assert "clustered by cluster_code" in row["inference"] and "reg_code" in row["inference"]
    assert row["controls"] == "x1, x2"
    assert 0 < row["mde"] < 1 and row["equivalence_bound"] == pytest.approx(row["ci_high"])
    # Without the controls the slope is confounded (x1 raises the dose, lowers the outcome).
    naive = dr.dose_response(frame, "outcome", "dose", fixed_effects=None, n_bootstrap=199)
    assert naive["estimate"].iloc[0] < row["estimate"] - 0.2


def draws(slope: float, first_seed: int, n_draws: int = 200):
    for seed in range(first_seed, first_seed + n_draws):
        yield dr.dose_response(territories(seed, slope), "outcome", "dose", seed=seed, **SPEC).iloc[
            0
        ]


@pytest.mark.slow
def test_null_dose_stays_null_across_seeded_draws():
    """Calibration: with no effect, the 5 % test rejects in 2-8 % of 200 seeded draws."""
    rejection = np.mean([row["p_value"] < 0.05 for row in draws(0.0, first_seed=1000)])
    print(f"dose-response: rejection rate under the null {rejection:.3f}")
    assert 0.02 <= rejection <= 0.08, f"rejection rate {rejection:.3f} at a nominal 5 %"


@pytest.mark.slow
def test_dose_interval_covers_a_planted_slope_across_seeded_draws():
    """Calibration: the 95 % interval covers a planted slope in 92-98 % of 200 seeded draws."""
    rows = list(draws(0.3, first_seed=5000))
    coverage = np.mean([row["ci_low"] <= 0.3 <= row["ci_high"] for row in rows])
    print(f"dose-response: 95 % interval coverage {coverage:.3f}")
    assert 0.92 <= coverage <= 0.98, f"coverage {coverage:.3f} of a nominal 95 % interval"


def test_binned_means_follow_the_fitted_slope():
    frame = territories(seed=2, slope=0.8)
    table = dr.binned_means(frame, "outcome", "dose", ["x1", "x2"], fixed_effects="reg_code")
    assert len(table) <= 10 and table["n"].sum() == 300
    fitted = dr.dose_response(frame, "outcome", "dose", **SPEC).iloc[0]
    assert table.attrs["slope"] == pytest.approx(fitted["estimate"], rel=1e-6)
    assert table["dose_mean"].is_monotonic_increasing
    assert np.corrcoef(table["dose_mean"], table["outcome_mean"])[0, 1] > 0.8


def test_missing_rows_are_left_out_and_bad_input_refused():
    frame = territories(seed=3, slope=0.5)
    frame.loc[:9, "x1"] = np.nan
    assert dr.dose_response(frame, "outcome", "dose", **SPEC).loc[0, "n"] == 290
    with pytest.raises(ValueError, match="missing column.*initiatives_per_100k"):
        dr.dose_response(frame, "outcome", "initiatives_per_100k")
    flat = frame.assign(dose=1.0)
    with pytest.raises(ValueError, match="does not vary"):
        dr.dose_response(flat, "outcome", "dose")
    words = frame.assign(dose=frame["dose"].astype(object))
    words.loc[20, "dose"] = "many"
    with pytest.raises(ValueError, match="finite number"):
        dr.dose_response(words, "outcome", "dose", **SPEC)


# --------------------------------------------------------------- runs, sentences, effects
def test_several_doses_with_and_without_controls_and_the_effects_columns():
    frame = territories(seed=3, slope=0.8)
    frame["null_dose"] = np.random.default_rng(9).exponential(size=len(frame))
    frame.loc[:49, "null_dose"] = 0.0
    table = dr.dose_responses(
        frame, "outcome", ["dose", "null_dose"], ["x1", "x2"], n_bootstrap=199
    )
    assert list(table["specification"]) == ["controls", "controls", "no_controls", "no_controls"]
    assert list(table["dose"]) == ["dose", "null_dose", "dose", "null_dose"]
    planted = table.iloc[0]
    assert planted["ci_low"] <= 0.8 <= planted["ci_high"]
    assert table.iloc[1]["n_treated"] == len(frame) - 50
    effects = dr.effects_table(table)
    assert list(effects.columns[: len(models.EFFECTS_COLUMNS)]) == list(models.EFFECTS_COLUMNS)
    assert effects["is_primary"].sum() == 1  # the controlled slope of the first named dose
    assert effects.loc[effects["is_primary"], "treatment"].item() == "dose"
    assert effects.loc[effects["is_primary"], "specification"].item() == "dose_response_controls"
    assert effects["specification"].iloc[0] == "dose_response_controls"
    assert effects["effect"].tolist() == table["estimate"].tolist()
    # The raw slope (no control, no fixed effect) is descriptive, never the answer.
    assert effects["is_descriptive"].tolist() == [False, False, True, True]


def test_sentence_says_plainly_whether_the_slope_differs_from_zero():
    frame = territories(seed=4, slope=0.8)
    planted = dr.dose_response(frame, "outcome", "dose", **SPEC).iloc[0]
    null = dr.dose_response(territories(seed=4, slope=0.0), "outcome", "dose", **SPEC).iloc[0]
    if null["ci_low"] > 0 or null["ci_high"] < 0:
        pytest.skip("this seeded null draw happens to reject")
    words = {"dose": "PTCE pour 100 000 habitants", "outcome": "la hausse", "unit": "point(s)"}
    fr = dr.dose_response_sentence(planted, lang="fr", **words)
    assert "exclut zéro" in fr and "300 territoires" in fr and "95 grappes" in fr
    assert "Pente minimale détectable" in fr and "p " in fr
    assert f"{planted['estimate']:.3f}".replace(".", ",") in fr
    assert "ne distinguent pas cette pente de zéro" in dr.dose_response_sentence(null, **words)
    en = dr.dose_response_sentence(null, lang="en", **words)
    assert "cannot tell this slope from zero" in en and "95% CI" in en


def test_dose_list_defaults_to_each_listed_kind_then_all_kinds():
    assert datasets.dose_list("") == [
        "n_tiers_lieu_per_100k",
        "n_fabrique_territoire_per_100k",
        "n_manufacture_proximite_per_100k",
        "n_ptce_per_100k",
        "n_tzcld_per_100k",
        "initiatives_per_100k",
    ]
    assert datasets.dose_list(" ess_share_salaried_jobs_pct, n_ptce_per_100k ") == [
        "ess_share_salaried_jobs_pct",
        "n_ptce_per_100k",
    ]


def test_a_dose_listed_among_the_controls_is_not_its_own_control():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"dose": rng.normal(size=200), "x": rng.normal(size=200)})
    frame["y"] = 0.5 * frame["dose"] + frame["x"] + rng.normal(scale=0.1, size=200)
    frame["cluster_code"] = np.arange(200) // 4
    options = dict(fixed_effects=None, n_bootstrap=199)
    with_itself = dr.dose_response(frame, "y", "dose", ["x", "dose"], **options)
    without = dr.dose_response(frame, "y", "dose", ["x"], **options)
    assert with_itself["estimate"].iloc[0] == pytest.approx(without["estimate"].iloc[0])
    assert with_itself["estimate"].iloc[0] == pytest.approx(0.5, abs=0.05)


def test_sentence_says_when_the_bootstrap_test_and_interval_disagree():
    """A wild-bootstrap p below 5 % with an interval that holds zero is called borderline."""
    row = {
        "n": 96, "n_treated": 96, "estimate": 0.025, "ci_low": -0.002, "ci_high": 0.052,
        "p_value": 0.023, "p_value_method": e.P_VALUE_WILD_BOOTSTRAP, "n_clusters": 13,
        "mde": 0.025, "equivalence_bound": 0.052,
    }  # fmt: skip
    words = {"dose": "part de l'ESS", "outcome": "la résistance", "unit": ""}
    fr = dr.dose_response_sentence(row, lang="fr", **words)
    assert "à la limite" in fr and "p = 0,023" in fr and "bootstrap sauvage" in fr
    assert "exclut zéro" not in fr
    en = dr.dose_response_sentence({**row, "p_value": 0.2}, lang="en", **words)
    assert "borderline" not in en and "cannot tell this slope from zero" in en
