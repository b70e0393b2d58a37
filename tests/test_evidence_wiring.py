"""The comparison reports answer "than comparable territories" with the primary specification.

Selection null (the headline must not claim a difference when treatment follows
a covariate that also drives the outcome), a planted effect carried from a
synthetic unemployment panel through the resilience indices to the headline,
pre-shock controls on the real data, and the batch's ``evidence.csv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthetic
from analysis import datasets, dose_response, models, resilience, staggered, synthetic_control
from analysis.reports.config import FIGURES_DIR, ReportRun
from analysis.reports.evidence import EVIDENCE_COLUMNS, EVIDENCE_FILE, write_evidence

FAST = {"n_bootstrap": 499, "n_permutations": 99}


def _selected_on_a_covariate(seed: int, *, strength: float = 1.5) -> pd.DataFrame:
    """Synthetic territories whose treatment follows a cluster-level covariate of the outcome.

    ``poverty`` (one value per cluster, like a département's deprivation) raises
    the outcome by 1 and makes a cluster more likely to be treated; the true
    effect is zero. The raw gap is biased; the primary specification, which
    controls for ``poverty``, is not.
    """
    rng = np.random.default_rng(seed + 50_000)
    frame = synthetic.synthetic_territories(seed).set_index("territory_code")
    clusters = np.sort(frame["cluster_code"].unique())
    poverty = pd.Series(rng.normal(size=len(clusters)), index=clusters)
    score = strength * poverty + rng.gumbel(size=len(clusters))
    treated = set(score.sort_values(ascending=False).index[:12])
    frame["poverty"] = frame["cluster_code"].map(poverty)
    frame["is_ptce_territory"] = frame["cluster_code"].isin(treated).astype(int)
    frame["outcome"] = frame["outcome"] + 1.0 * frame["poverty"]
    return frame


@pytest.mark.slow
def test_selection_null_headline_rarely_claims_a_difference():
    draws = 100
    claims, raw_claims = 0, 0
    for seed in range(draws):
        frame = _selected_on_a_covariate(seed)
        evidence = models.compare_territories(
            frame, "outcome", controls=("x1", "x2", "poverty"), seed=seed, **FAST
        )
        claims += "exclut zéro" in models.headline_sentence(evidence, "fr")
        assert ("excludes zero" in models.headline_sentence(evidence, "en")) == (
            "exclut zéro" in models.headline_sentence(evidence, "fr")
        )
        raw = evidence.results.loc[evidence.results["specification"] == "raw_difference"]
        raw_claims += bool(raw["excludes_zero"].iloc[0])
    print(f"selection null: headline claims {claims}/{draws}, raw gap excludes zero {raw_claims}")
    assert claims / draws <= 0.08, f"headline claims a difference in {claims}/{draws} null draws"
    # The test has teeth: the raw gap (the old headline) is fooled by the selection.
    assert raw_claims / draws >= 0.5, f"raw gap excluded zero in only {raw_claims}/{draws}"


def _synthetic_unemployment_panel(seed: int, effect_pp: float):
    """Quarterly unemployment rates 2005-2012 with a 2008-09 recession; treated rise less."""
    units = synthetic.synthetic_territories(seed).set_index("territory_code")
    rng = np.random.default_rng(seed)
    periods = [f"{year}-Q{q}" for year in range(2005, 2013) for q in range(1, 5)]
    time = np.array([resilience.period_to_time(p) for p in periods])
    # National path: falling until 2008-Q1, +2.3 points by 2009-Q4, then slightly down.
    rise = np.clip((time - 2008.0) / 1.75, 0, 1) - 0.1 * np.clip(time - 2009.75, 0, None)
    decline = 0.3 * np.clip(2008.0 - time, 0, None)
    base = 7 + rng.normal(scale=1.5, size=len(units))
    sensitivity = 2.3 * (1 + 0.15 * units["x1"].to_numpy()) + 0.3 * rng.normal(size=len(units))
    sensitivity = sensitivity - effect_pp * units["is_ptce_territory"].to_numpy()
    values = base[:, None] + decline[None, :] + sensitivity[:, None] * rise[None, :]
    values = values + rng.normal(scale=0.05, size=values.shape)
    panel = pd.DataFrame(values, index=units.index, columns=periods)
    national = panel.mean(axis=0).rename("FRM")
    return units, panel, national


def test_planted_effect_goes_through_the_indices_and_the_comparison():
    planted = 0.8  # treated territories' unemployment rises 0.8 point less
    units, panel, national = _synthetic_unemployment_panel(3, planted)
    window = resilience.detect_shock_window(
        national, "recession_2008", indicator="unemployment_rate"
    )
    assert window.peak == "2008-Q1"
    indices = resilience.resilience_indices(panel, national, window)
    table = indices.join(units[["reg_code", "cluster_code", "centroid_x", "centroid_y", "x1"]])
    table["is_ptce_territory"] = units["is_ptce_territory"]
    evidence = models.compare_territories(
        table, "rise_vs_nation_pp", controls=("x1",), seed=3, **FAST
    )
    primary = evidence.primary
    assert primary["specification"] == "primary"
    assert evidence.results.iloc[0]["is_primary"]
    assert primary["ci_low"] <= -planted <= primary["ci_high"]
    assert primary["ci_high"] < 0
    sentence = models.headline_sentence(evidence, "fr", shock="recession_2008")
    assert "plus basse" in sentence and "exclut zéro" in sentence
    assert "meilleure résilience" in sentence
    assert "Aucun PTCE n'était encore reconnu" in sentence
    english = models.headline_sentence(evidence, "en", shock="recession_2008")
    assert "excludes zero" in english and "better resilience" in english


def test_robust_needs_the_spatial_interval_when_residuals_are_dependent():
    frame = synthetic.synthetic_territories(5, effect=1.5).set_index("territory_code")
    evidence = models.compare_territories(frame, "outcome", controls=("x1", "x2"), **FAST)
    assert evidence.results.iloc[0]["is_primary"]
    spatial = evidence.results["specification"] == "spatial_error_gm_het"
    evidence.morans_p = 0.01
    evidence.results.loc[spatial, ["ci_low", "ci_high", "excludes_zero"]] = [-0.1, 3.0, False]
    verdict = models.primary_verdict(evidence)
    assert verdict["verdict"] != "robust"
    assert "spatial_interval_includes_zero" in verdict["reason_codes"]
    assert "inclut zéro" in verdict["text_fr"]
    evidence.verdict = verdict
    assert "n'est pas robuste à cette dépendance" in models.headline_sentence(evidence, "fr")
    evidence.morans_p = 0.5  # no dependence: the spatial row no longer decides
    assert "spatial_interval_includes_zero" not in models.primary_verdict(evidence)["reason_codes"]


def test_a_rejected_pretrend_blocks_robust():
    frame = synthetic.synthetic_territories(6, effect=1.5).set_index("territory_code")
    panel = synthetic.synthetic_event_panel(6, pretrend_slope=0.4).rename(
        columns={"outcome": "value", "is_ptce_territory": "treatment"}
    )
    evidence = models.compare_territories(
        frame, "outcome", controls=("x1", "x2"), event_panel=panel, morans_p=0.5, **FAST
    )
    assert evidence.pretrend["p_value"] < 0.05
    assert evidence.verdict["verdict"] != "robust"
    assert "pretrend_rejected" in evidence.verdict["reason_codes"]
    assert "Tendance préalable détectée" in models.headline_sentence(evidence, "fr")


def test_each_estimand_votes_once():
    frame = synthetic.synthetic_territories(7).set_index("territory_code")
    evidence = models.compare_territories(frame, "outcome", controls=("x1", "x2"), **FAST)
    assert evidence.verdict["n_estimands"] == 2
    assert set(evidence.results["estimand"]) == {"adjusted", "descriptive", "att"}
    # Flipping the raw gap (descriptive) changes nothing in the verdict.
    before = models.primary_verdict(evidence)
    raw = evidence.results["specification"] == "raw_difference"
    for low, high, excludes in ((0.5, 1.0, True), (-1.0, 1.0, False)):
        evidence.results.loc[raw, ["ci_low", "ci_high", "excludes_zero"]] = [low, high, excludes]
        assert models.primary_verdict(evidence) == before


def test_fit_ols_refuses_cluster_covariance_with_a_pointer():
    frame = synthetic.synthetic_territories(8).set_index("territory_code")
    with pytest.raises(ValueError, match="primary_specification"):
        models.fit_ols(frame, "outcome", controls=("x1",), cov_type="cluster")


def test_pre_shock_periods_never_take_a_later_year():
    annual = ["2006", "2007", "2008", "2014", "2022"]
    assert datasets.pre_shock_periods(annual, 2008, "2008-Q1") == ["2007"]
    assert datasets.pre_shock_periods(["2008", "2014"], 2008, "2008-Q1") == ["2008"]
    assert datasets.pre_shock_periods(["2014", "2019"], 2008, "2008-Q1") == []
    assert datasets.pre_shock_periods(["2014", "2019", "2022"], 2020, "2020-Q1") == ["2019"]
    quarters = [f"{y}-Q{q}" for y in (2007, 2008) for q in range(1, 5)]
    assert datasets.pre_shock_periods(quarters, 2008, "2008-Q1") == [
        "2007-Q1",
        "2007-Q2",
        "2007-Q3",
        "2007-Q4",
    ]


# --------------------------------------------------------------------------- real data
@pytest.fixture
def real_data(request):
    request.getfixturevalue("indicators_built")
    request.getfixturevalue("cooperation_built")
    request.getfixturevalue("backbone")


@pytest.mark.integration
@pytest.mark.parametrize("level", ["ze2020", "dep"])
@pytest.mark.parametrize("shock", ["recession_2008", "covid_2020"])
def test_every_control_used_predates_the_shock(real_data, level, shock):
    table, window = datasets.load_analysis_table("unemployment_rate", level, shock)
    shock_year = int(resilience.SHOCKS.at[shock, "shock_year"])
    periods = table.attrs["control_periods"]
    assert periods, "no control was kept"
    for control, used in periods.items():
        last = used.split("..")[-1]
        assert resilience.period_to_time(last) < shock_year + 1, (control, used)
        assert int(last[:4]) <= shock_year, (control, used)
    if shock == "recession_2008":
        assert "poverty_rate_pct" not in periods  # Filosofi starts in 2014
        assert "median_living_standard_eur" not in periods
        assert "poverty_rate_pct" in table.attrs["dropped_controls"]
    assert table["cluster_code"].notna().all()
    assert table[["centroid_x", "centroid_y"]].notna().all().all()
    # Lambert-93 metres: metropolitan France spans roughly 100–1,250 km east.
    metropolitan = table["centroid_x"].between(0, 1_300_000)
    assert metropolitan.mean() > 0.9


# --------------------------------------------------------------------------- evidence.csv
def _write_effects(reports_dir, run: str, p_value: float, effect: float) -> None:
    folder = reports_dir / run / FIGURES_DIR
    folder.mkdir(parents=True)
    rows = [
        {
            "outcome": "rise_vs_nation_pp",
            "treatment": "is_ptce_territory",
            "specification": "primary",
            "is_primary": True,
            "effect": effect,
            "ci_low": effect - 0.2,
            "ci_high": effect + 0.2,
            "p_value": p_value,
            "p_value_method": "wild cluster bootstrap (Webb)",
            "n": 300,
            "n_treated": 30,
            "n_clusters": 95,
            "mde": 0.25,
            "equivalence_bound": abs(effect) + 0.2,
            "unit": "points",
            "sentence_fr": f"phrase {run}",
            "sentence_en": f"sentence {run}",
        },
        {
            "outcome": "rise_vs_nation_pp",
            "treatment": "is_ptce_territory",
            "specification": "raw_difference",
            "is_primary": False,
            "effect": 9.0,
            "p_value": 0.0001,
        },
    ]
    pd.DataFrame(rows).to_csv(folder / "effects.csv", index=False)


def test_evidence_csv_from_two_runs_with_holm_and_bh(tmp_path):
    runs = [
        ReportRun(
            "run-a",
            "cooperation_and_resilience",
            {"level": "ze2020", "shock": "recession_2008", "indicator": "unemployment_rate"},
            title="A",
        ),
        ReportRun(
            "run-b",
            "cooperation_and_resilience",
            {"level": "dep", "shock": "covid_2020", "indicator": "unemployment_rate"},
            title="B",
        ),
        ReportRun("profile", "territory_profile", {"level": "reg"}),
        ReportRun("not-run-yet", "cooperation_and_resilience", {"level": "dep"}),
    ]
    _write_effects(tmp_path, "run-a", 0.03, -0.1)
    _write_effects(tmp_path, "run-b", 0.02, 0.2)
    path, warnings = write_evidence(runs, tmp_path)
    assert path == tmp_path / EVIDENCE_FILE
    table = pd.read_csv(path)
    assert list(table.columns) == list(EVIDENCE_COLUMNS)
    assert list(table["run"]) == ["run-a", "run-b"]  # primary rows only, profile left out
    assert list(table["specification"]) == ["primary", "primary"]
    assert list(table["estimate"]) == [-0.1, 0.2]
    # Holm: sorted p (0.02, 0.03) → (2·0.02, max(0.04, 1·0.03)) = (0.04, 0.04).
    assert np.allclose(table["p_holm"], [0.04, 0.04])
    # BH: largest 0.03·2/2 = 0.03; then min(0.02·2/1, 0.03) = 0.03.
    assert np.allclose(table["p_bh"], [0.03, 0.03])
    assert list(table["shock"]) == ["recession_2008", "covid_2020"]
    assert any("not-run-yet" in w for w in warnings)


def test_design_runs_effects_are_collected_by_their_primary_row(tmp_path):
    """A staggered, a dose-response and a synthetic-control run's effects.csv give one
    evidence row each; the synthetic control's has no interval and no pooled p-value."""
    overall = pd.DataFrame(
        {
            "estimator": ["callaway_santanna", "did2s", "twfe"],
            "att": [-0.4, -0.3, 0.1],
            "se": [0.1, 0.1, 0.1],
            "ci_low": [-0.6, -0.5, -0.1],
            "ci_high": [-0.2, -0.1, 0.3],
            "n_units": [300, 300, 300],
            "n_treated": [20, 20, 20],
            "pretrend_pvalue": [0.5, np.nan, np.nan],
        }
    )
    slopes = pd.DataFrame(
        {
            "outcome": "rise_vs_nation_pp",
            "dose": ["n_ptce_per_100k", "initiatives_per_100k"] * 2,
            "specification": ["controls", "controls", "no_controls", "no_controls"],
            "estimate": [0.5, -0.2, 0.6, -0.3],
            "ci_low": [0.1, -0.3, 0.2, -0.4],
            "ci_high": [0.9, -0.1, 1.0, -0.2],
            "p_value": [0.01, 0.001, 0.01, 0.001],
            "n": 290,
            "p_value_method": "cluster-robust t",
            "n_treated": [15, 120, 15, 120],
            "n_clusters": 93,
            "mde": [0.6, 0.15, 0.6, 0.15],
            "equivalence_bound": [0.9, 0.3, 1.0, 0.4],
            "controls": "unemployment_rate_pre_shock",
            "inference": "cluster-robust t, clustered by cluster_code, fixed effects reg_code",
        }
    )
    units = pd.DataFrame(
        {"unit": ["01", "02", "03"], "n_donors": [40, 40, 40],
         "mean_post_gap": [-0.5, 0.2, -0.3], "p_value": [0.02, 0.6, 0.04]}
    )  # fmt: skip
    tables = {
        "did": staggered.effects_table(overall, outcome="unemployment_rate", treatment="ptce"),
        "dose": dose_response.effects_table(slopes, unit="points"),
        "synth": synthetic_control.effects_table(
            units, outcome="unemployment_rate", treatment="ptce", unit="points"
        ),
    }
    for run, table in tables.items():
        (tmp_path / run / FIGURES_DIR).mkdir(parents=True)
        table.to_csv(tmp_path / run / FIGURES_DIR / "effects.csv", index=False)
    runs = [
        ReportRun("did", "staggered_adoption", {"level": "ze2020", "treatment": "ptce"}),
        ReportRun("dose", "dose_response", {"level": "ze2020", "shock": "covid_2020"}),
        ReportRun("synth", "synthetic_control", {"level": "ze2020"}),
    ]
    path, warnings = write_evidence(runs, tmp_path)
    table = pd.read_csv(path)
    assert warnings == []
    assert list(table["run"]) == ["did", "dose", "synth"]
    assert list(table["specification"]) == [
        "callaway_santanna", "dose_response_controls", "synthetic_control_mean"
    ]  # fmt: skip
    assert list(table["treatment"]) == ["ptce", "initiatives_per_100k", "ptce"]
    assert table["estimate"].tolist() == pytest.approx([-0.4, -0.2, -0.2])  # mean of 3 gaps
    assert table.loc[1, "p_value_method"] == "cluster-robust t"
    assert table.loc[1, "mde"] == pytest.approx(0.15) and table.loc[1, "n_clusters"] == 93
    synth = table.loc[2]
    assert pd.isna(synth["ci_low"]) and pd.isna(synth["ci_high"]) and synth["n_treated"] == 3
    assert pd.isna(synth["p_value"]) and pd.isna(synth["p_holm"])  # no pooled test, no family
    assert "2 of 3 units with p <= 0.1" in synth["p_value_method"]
    assert synth["unit"] == "points"


def test_headline_calls_a_p_below_5_percent_with_an_interval_holding_zero_borderline():
    """The wild bootstrap's p (null imposed) and interval (unrestricted) can disagree at the
    margin: the headline then says so instead of claiming or denying a difference."""
    frame = synthetic.synthetic_territories(5, effect=1.5).set_index("territory_code")
    evidence = models.compare_territories(frame, "outcome", controls=("x1", "x2"), **FAST)
    primary = evidence.results["is_primary"]
    evidence.results.loc[primary, ["ci_low", "ci_high", "excludes_zero", "p_value"]] = [
        -0.1, 3.0, False, 0.03
    ]  # fmt: skip
    french = models.headline_sentence(evidence, "fr")
    assert "à la limite" in french and "exclut zéro" not in french
    assert "borderline" in models.headline_sentence(evidence, "en")
    evidence.results.loc[primary, "p_value"] = 0.3
    assert "à la limite" not in models.headline_sentence(evidence, "fr")
