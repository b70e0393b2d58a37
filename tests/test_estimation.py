"""Tests for analysis.estimation on synthetic territories (fast; calibration: test_calibration)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from wildboottest.wildboottest import WildboottestCL

import synthetic
from analysis import estimation as e

TREATMENT = "is_ptce_territory"


def primary(frame, **options):
    options.setdefault("controls", ["x1", "x2"])
    return e.primary_specification(frame, outcome="outcome", treatment=TREATMENT, **options).iloc[0]


def test_primary_recovers_a_planted_effect_and_matches_statsmodels():
    frame = synthetic.synthetic_territories(3, effect=1.5, n_treated_clusters=30)
    row = primary(frame)
    assert row["ci_low"] <= 1.5 <= row["ci_high"]
    assert row["ci_low"] > 0 and row["p_value"] < 0.05
    assert row["p_value_method"] == e.P_VALUE_CLUSTER_T  # 95 clusters, 30 of them treated
    assert (row["n"], row["n_clusters"], row["controls"]) == (300, 95, "x1, x2")
    assert row["n_treated"] == frame[TREATMENT].sum()
    # Same point estimate as OLS with région dummies (statsmodels), clustered SE close.
    reference = smf.ols(f"outcome ~ {TREATMENT} + x1 + x2 + C(reg_code)", frame).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(frame["cluster_code"])[0]}
    )
    assert row["effect"] == pytest.approx(reference.params[TREATMENT], rel=1e-8)
    assert row["std_error"] == pytest.approx(reference.bse[TREATMENT], rel=0.05)
    assert row["residual_sd"] == pytest.approx(np.sqrt(reference.scale), rel=1e-6)


def test_raw_difference_is_the_gap_in_means_and_descriptive():
    frame = synthetic.synthetic_territories(4)
    row = e.raw_difference(frame, outcome="outcome", treatment=TREATMENT, n_bootstrap=199)
    row = row.iloc[0]
    means = frame.groupby(TREATMENT)["outcome"].mean()
    assert row["effect"] == pytest.approx(means[1] - means[0])
    assert row["is_descriptive"] and row["specification"] == "raw_difference"
    assert row["controls"] == "" and row["fixed_effects"] == ""


def test_wild_bootstrap_used_below_forty_clusters():
    frame = synthetic.synthetic_territories(5, effect=0.0)
    frame["is_ptce_territory"] = frame["reg_code"].isin(["R00", "R03", "R07"]).astype(int)
    few = primary(
        frame, fixed_effects=None, cluster="reg_code", n_bootstrap=999, seed=1, controls=["x1"]
    )
    assert few["n_clusters"] == 13
    assert few["p_value_method"] == e.P_VALUE_WILD_BOOTSTRAP
    assert 0 <= few["p_value"] <= 1 and few["ci_low"] < few["effect"] < few["ci_high"]
    again = primary(
        frame, fixed_effects=None, cluster="reg_code", n_bootstrap=999, seed=1, controls=["x1"]
    )
    assert again["p_value"] == few["p_value"]  # seeded
    many = primary(synthetic.synthetic_territories(5, n_treated_clusters=30))
    assert many["n_clusters"] == 95 and many["p_value_method"] == e.P_VALUE_CLUSTER_T


def test_wild_bootstrap_used_with_few_treated_clusters():
    planted = synthetic.synthetic_territories(9, effect=1.5)  # 12 treated clusters of 95
    row = primary(planted, n_bootstrap=999)
    assert (row["n_clusters"], row["n_treated_clusters"]) == (95, 12)
    assert row["p_value_method"] == e.P_VALUE_WILD_BOOTSTRAP
    assert row["ci_low"] <= 1.5 <= row["ci_high"] and row["ci_low"] > 0
    assert row["p_value"] < 0.05


def test_primary_rejects_bad_input():
    frame = synthetic.synthetic_territories(6, n_treated_clusters=30)
    bad = frame.assign(is_ptce_territory=frame[TREATMENT].replace(1, 2))
    with pytest.raises(ValueError, match="0/1"):
        primary(bad)
    with pytest.raises(KeyError, match="nope"):
        primary(frame, controls=["nope"])
    constant = frame.assign(x3=1.0)
    assert primary(constant, controls=["x1", "x3"])["controls"] == "x1"


def test_adjusted_permutation_test_clusters_and_seed():
    planted = synthetic.synthetic_territories(7, effect=2.0, n_treated_clusters=30)
    options = dict(
        outcome="outcome", treatment=TREATMENT, controls=["x1", "x2"], cluster="cluster_code"
    )
    row = e.adjusted_permutation_test(planted, n_permutations=199, seed=3, **options).iloc[0]
    # The statistic is the primary specification's coefficient (Frisch–Waugh–Lovell).
    assert row["effect"] == pytest.approx(primary(planted)["effect"])
    assert row["p_value"] < 0.05
    assert row["p_value_method"] == "permutation of clusters within reg_code"
    again = e.adjusted_permutation_test(planted, n_permutations=199, seed=3, **options)
    assert again.iloc[0]["p_value"] == row["p_value"]
    mixed = planted.copy()
    first_treated = mixed.index[mixed[TREATMENT] == 1][0]
    cluster = mixed.loc[first_treated, "cluster_code"]
    extra = mixed.index[(mixed["cluster_code"] != cluster) & (mixed[TREATMENT] == 0)][0]
    mixed.loc[extra, "cluster_code"] = cluster
    with pytest.raises(ValueError, match="varies inside cluster"):
        e.adjusted_permutation_test(mixed, n_permutations=9, **options)


def test_spatial_error_model_row_and_verdict_rule():
    frame = synthetic.synthetic_territories(8, effect=1.5)
    spatial = e.spatial_error_model(
        frame, outcome="outcome", treatment=TREATMENT, controls=["x1", "x2"]
    ).iloc[0]
    assert spatial["ci_low"] <= 1.5 <= spatial["ci_high"]
    assert np.isfinite(spatial["spatial_lambda"]) and spatial["k_neighbours"] == 8

    def row(low, high):
        return pd.Series({"effect": (low + high) / 2, "ci_low": low, "ci_high": high})

    verdict = e.verdict_under_spatial_dependence
    assert verdict(row(-0.1, 0.5), row(0.1, 0.5), 0.5)["reason_code"] == "primary_includes_zero"
    assert verdict(row(0.1, 0.5), None, 0.5)["is_robust"]
    dependent_ok = verdict(row(0.1, 0.5), row(0.05, 0.6), 0.01)
    assert dependent_ok["is_robust"] and "also excludes zero" in dependent_ok["reason"]
    dependent_bad = verdict(row(0.1, 0.5), row(-0.05, 0.6), 0.01)
    assert not dependent_bad["is_robust"]
    assert dependent_bad["reason_code"] == "spatial_interval_includes_zero"
    assert not verdict(row(0.1, 0.5), row(-0.6, -0.1), 0.01)["is_robust"]  # opposite sign
    assert verdict(row(0.1, 0.5), None, 0.01)["reason_code"] == "spatial_check_missing"


def test_minimum_detectable_effect_against_hand_value():
    # Bloom (1995): (1.95996 + 0.84162) · 1 · sqrt(1/38 + 1/262) = 2.80158 · 0.173588.
    mde = e.minimum_detectable_effect(300, 38, 1.0)
    assert mde == pytest.approx(0.486322, rel=1e-4)
    assert e.minimum_detectable_effect(300, 38, 1.0, design_effect=4.0) == pytest.approx(2 * mde)
    assert e.minimum_detectable_effect(300, 38, 2.0) == pytest.approx(2 * mde)
    assert e.minimum_detectable_effect_from_se(0.1) == pytest.approx(0.280158, rel=1e-4)
    assert e.minimum_detectable_effect_from_se(0.1, df=12) > 0.280158  # t is wider than z
    with pytest.raises(ValueError, match="treated"):
        e.minimum_detectable_effect(10, 10, 1.0)


def test_equivalence_bound():
    assert e.equivalence_bound(-0.2, 0.5) == 0.5
    assert e.equivalence_bound(-0.7, -0.1) == 0.7
    assert math.isnan(e.equivalence_bound(np.nan, 0.5))


def test_joint_pretrend_test_rejects_a_planted_pretrend_not_a_flat_one():
    trending = synthetic.synthetic_event_panel(11, effect=1.0, pretrend_slope=0.3)
    fit = e.event_study_regression(trending, outcome="outcome", treatment=TREATMENT)
    test = e.joint_pretrend_test(fit)
    assert test["p_value"] < 0.001
    assert (test["distribution"], test["df_numerator"], test["df_denominator"]) == ("F", 5, 94)
    flat = synthetic.synthetic_event_panel(11, effect=1.0, pretrend_slope=0.0)
    flat_fit = e.event_study_regression(flat, outcome="outcome", treatment=TREATMENT)
    post = flat_fit.coefficients.query("event_time >= 0")
    assert ((post["ci_low"] <= 1.0) & (1.0 <= post["ci_high"])).mean() >= 0.7
    assert e.joint_pretrend_test(flat_fit)["p_value"] > 0.05
    # The coefficients + covariance entry point gives the same statistic (χ² without df).
    placebo = flat_fit.coefficients.query("is_placebo")
    series = pd.Series(placebo["effect"].to_numpy(), index=placebo["event_time"])
    chi2 = e.joint_pretrend_test(series, flat_fit.covariance)
    assert chi2["distribution"] == "chi2"
    assert chi2["statistic"] == pytest.approx(5 * e.joint_pretrend_test(flat_fit)["statistic"])


def test_wild_bootstrap_kernel_compiled_once_gives_the_library_numbers(monkeypatch):
    assert WildboottestCL.get_denom is e._wild_bootstrap_denominators
    options = dict(outcome="outcome", treatment="is_ptce_territory", controls=["x1", "x2"])
    ours = [
        e.primary_specification(
            synthetic.synthetic_territories(seed, effect=0.4), seed=seed, n_bootstrap=99, **options
        ).iloc[0]
        for seed in range(3)
    ]
    monkeypatch.setattr(WildboottestCL, "get_denom", e._LIBRARY_GET_DENOM)
    for seed, row in enumerate(ours):
        library = e.primary_specification(
            synthetic.synthetic_territories(seed, effect=0.4), seed=seed, n_bootstrap=99, **options
        ).iloc[0]
        assert row["p_value_method"] == library["p_value_method"] == e.P_VALUE_WILD_BOOTSTRAP
        assert row["p_value"] == library["p_value"]
        assert row["ci_low"] == pytest.approx(library["ci_low"], rel=1e-12)
        assert row["ci_high"] == pytest.approx(library["ci_high"], rel=1e-12)
