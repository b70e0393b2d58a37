"""Dose-response: a planted linear dose effect is recovered, a null stays null."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import datasets, models
from analysis import dose_response as dr


def territories(seed: int, slope: float, n: int = 300, n_regions: int = 13) -> pd.DataFrame:
    """Territories in regions (a shared regional shock); the dose is correlated with a control."""
    rng = np.random.default_rng(seed)
    region = rng.integers(0, n_regions, size=n)
    region_shock = rng.normal(scale=0.5, size=n_regions)[region]
    density = rng.normal(size=n)
    dose = np.clip(2 + 0.8 * density + rng.normal(scale=0.7, size=n), 0, None)
    outcome = 1 + slope * dose - 0.6 * density + region_shock + rng.normal(scale=0.8, size=n)
    return pd.DataFrame(
        {"outcome": outcome, "dose": dose, "density": density, "region": region.astype(str)}
    )


def test_planted_linear_dose_effect_is_recovered():
    frame = territories(seed=1, slope=0.8)
    row = dr.dose_response(frame, "outcome", "dose", ["density"], cluster="region").iloc[0]
    assert list(row.index) == list(dr.DOSE_RESPONSE_COLUMNS)
    assert row["ci_low"] <= 0.8 <= row["ci_high"]
    assert row["p_value"] < 0.001
    assert row["n"] == 300 and row["n_clusters"] == 13
    assert row["inference"] == "CRV1 clustered by region"
    # Without the control the slope is confounded (the control lowers the outcome).
    naive = dr.dose_response(frame, "outcome", "dose", cluster="region").iloc[0]
    assert naive["estimate"] < row["estimate"] - 0.2


@pytest.mark.slow
def test_null_dose_stays_null_across_seeded_draws():
    """Calibration: with no effect, the 5 % test rejects in about 5 % of 200 draws."""
    rejections = 0
    draws = 200
    for seed in range(draws):
        frame = territories(seed=1000 + seed, slope=0.0)
        row = dr.dose_response(frame, "outcome", "dose", ["density"]).iloc[0]
        rejections += row["p_value"] < 0.05
    assert 0.02 <= rejections / draws <= 0.09


def test_binned_means_follow_the_fitted_slope():
    frame = territories(seed=2, slope=0.8)
    table = dr.binned_means(frame, "outcome", "dose", ["density"], bins=10)
    assert len(table) == 10 and table["n"].sum() == 300
    fitted = dr.dose_response(frame, "outcome", "dose", ["density"]).iloc[0]
    assert table.attrs["slope"] == pytest.approx(fitted["estimate"], rel=1e-6)
    assert table["dose_mean"].is_monotonic_increasing
    assert np.corrcoef(table["dose_mean"], table["outcome_mean"])[0, 1] > 0.8


def test_missing_rows_are_left_out_and_bad_input_refused():
    frame = territories(seed=3, slope=0.5)
    frame.loc[:9, "density"] = np.nan
    assert dr.dose_response(frame, "outcome", "dose", ["density"]).loc[0, "n"] == 290
    with pytest.raises(ValueError, match="lacks column"):
        dr.dose_response(frame, "outcome", "initiatives_per_100k")
    flat = frame.assign(dose=1.0)
    with pytest.raises(ValueError, match="does not vary"):
        dr.dose_response(flat, "outcome", "dose")


# --------------------------------------------------------------- runs, sentences, effects
def test_several_doses_with_and_without_controls_and_the_effects_columns():
    frame = territories(seed=3, slope=0.8)
    frame["null_dose"] = np.random.default_rng(9).exponential(size=len(frame))
    frame.loc[:49, "null_dose"] = 0.0
    table = dr.dose_responses(
        frame, "outcome", ["dose", "null_dose"], ["density"], cluster="region"
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


def test_sentence_says_plainly_whether_the_slope_differs_from_zero():
    frame = territories(seed=4, slope=0.8)
    planted = dr.dose_response(frame, "outcome", "dose", ["density"], cluster="region").iloc[0]
    null = dr.dose_response(territories(seed=4, slope=0.0), "outcome", "dose", ["density"],
                            cluster="region").iloc[0]  # fmt: skip
    if null["ci_low"] > 0 or null["ci_high"] < 0:
        pytest.skip("this seeded null draw happens to reject")
    words = {"dose": "PTCE pour 100 000 habitants", "outcome": "la hausse", "unit": "point(s)"}
    fr = dr.dose_response_sentence(planted, lang="fr", **words)
    assert "exclut zéro" in fr and "300 territoires" in fr and "13 groupes" in fr
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
    with_itself = dr.dose_response(frame, "y", "dose", ["x", "dose"])
    without = dr.dose_response(frame, "y", "dose", ["x"])
    assert with_itself["estimate"].iloc[0] == pytest.approx(without["estimate"].iloc[0])
    assert with_itself["estimate"].iloc[0] == pytest.approx(0.5, abs=0.05)
