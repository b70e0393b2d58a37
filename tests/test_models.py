"""Tests for analysis.models on synthetic panels with a known planted effect (or none)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from analysis import datasets, estimation, labels
from analysis import models as m
from analysis import resilience as r

TRUE_EFFECT = 0.5


def synthetic_territories(effect: float, *, n: int = 400, seed: int = 7) -> pd.DataFrame:
    """Synthetic analysis table with selection on x1 (as PTCE form where ESS is dense)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    region = rng.integers(0, 8, size=n)
    treated = rng.random(n) < 1 / (1 + np.exp(-(x1 - 1.0)))
    outcome = effect * treated + 1.0 * x1 - 0.5 * x2 + 0.1 * region + rng.normal(scale=0.5, size=n)
    return pd.DataFrame(
        {
            "resistance_lagravinese": outcome,
            "is_ptce_territory": treated,
            "x1": x1,
            "x2": x2,
            "reg_code": [f"R{k}" for k in region],
        },
        index=pd.Index([f"Z{i:03d}" for i in range(n)], name="territory_code"),
    )


@pytest.fixture(scope="module")
def planted():
    return synthetic_territories(TRUE_EFFECT)


@pytest.fixture(scope="module")
def null():
    return synthetic_territories(0.0, seed=11)


# --------------------------------------------------------------------------- estimators
def test_ols_recovers_planted_effect_within_ci(planted):
    row = m.ols_effect(planted, "resistance_lagravinese", controls=["x1", "x2"]).iloc[0]
    assert row["ci_low"] <= TRUE_EFFECT <= row["ci_high"]
    assert row["ci_low"] > 0
    assert row["n"] == len(planted) and row["n_treated"] == planted["is_ptce_territory"].sum()
    assert set(m.RESULT_COLUMNS) <= set(row.index)


def test_naive_difference_is_biased_by_selection(planted):
    row = m.difference_in_means(planted, "resistance_lagravinese", n_boot=300).iloc[0]
    # Selection on x1 inflates the raw gap: the honest comparison needs controls.
    assert row["ci_low"] > TRUE_EFFECT
    assert row["mean_treated"] - row["mean_control"] == pytest.approx(row["effect"])


def test_matching_recovers_planted_effect_and_improves_balance(planted):
    result = m.nearest_neighbour_matching(
        planted, "resistance_lagravinese", covariates=["x1", "x2"]
    )
    row = result.effect.iloc[0]
    assert row["ci_low"] <= TRUE_EFFECT <= row["ci_high"]
    assert row["ci_low"] > 0
    balance = result.balance.set_index("covariate")
    assert abs(balance.loc["x1", "smd_after"]) < abs(balance.loc["x1", "smd_before"])
    assert abs(balance.loc["x1", "smd_after"]) < 0.25
    assert set(result.matches.columns) == {"treated_code", "control_code", "distance", "weight"}
    assert result.matches.groupby("treated_code")["weight"].sum().eq(1).all()


def test_null_panel_gives_null_results(null):
    ols = m.ols_effect(null, "resistance_lagravinese", controls=["x1", "x2"]).iloc[0]
    matched = m.nearest_neighbour_matching(
        null, "resistance_lagravinese", covariates=["x1", "x2"]
    ).effect.iloc[0]
    for row in (ols, matched):
        assert row["ci_low"] <= 0 <= row["ci_high"]
    permutation = estimation.adjusted_permutation_test(
        null,
        outcome="resistance_lagravinese",
        treatment="is_ptce_territory",
        n_permutations=199,
        controls=["x1", "x2"],
        fixed_effects="reg_code",
    ).iloc[0]
    assert permutation["p_value"] > 0.05


def test_matching_with_exact_region_and_caliper(planted):
    result = m.nearest_neighbour_matching(
        planted, "resistance_lagravinese", covariates=["x1", "x2"], exact="reg_code", caliper=0.05
    )
    pairs = result.matches.assign(
        treated_region=lambda d: planted.loc[d["treated_code"], "reg_code"].to_numpy(),
        control_region=lambda d: planted.loc[d["control_code"], "reg_code"].to_numpy(),
    )
    assert (pairs["treated_region"] == pairs["control_region"]).all()
    assert (pairs["distance"] <= 0.05).all()
    assert result.effect.iloc[0]["n_treated_unmatched"] > 0


def test_permutation_detects_planted_and_its_statistic_is_the_ols_coefficient(planted):
    first = estimation.adjusted_permutation_test(
        planted,
        outcome="resistance_lagravinese",
        treatment="is_ptce_territory",
        controls=["x1", "x2"],
        fixed_effects="reg_code",
        n_permutations=99,
        seed=3,
    ).iloc[0]
    assert first["p_value"] == pytest.approx(1 / 100)  # observed beyond every draw
    ols = m.ols_effect(planted, "resistance_lagravinese", controls=["x1", "x2"]).iloc[0]
    assert first["effect"] == pytest.approx(ols["effect"])  # FWL = statsmodels coefficient


def test_permutation_returns_its_null_draws(planted):
    result = estimation.adjusted_permutation_test(
        planted,
        outcome="resistance_lagravinese",
        treatment="is_ptce_territory",
        n_permutations=49,
        seed=2,
    )
    draws = np.asarray(result.attrs["null"], dtype=float)
    row = result.iloc[0]
    assert draws.shape == (row["n_permutations"],) == (49,)
    assert np.quantile(draws, 0.025) == pytest.approx(row["null_low"])
    assert np.quantile(draws, 0.975) == pytest.approx(row["null_high"])
    expected_p = (1 + np.sum(np.abs(draws) >= abs(row["effect"]) - 1e-12)) / (1 + len(draws))
    assert row["p_value"] == pytest.approx(expected_p)


def test_compare_territories_exposes_permutation_null_and_controls(planted):
    evidence = m.compare_territories(
        planted,
        "resistance_lagravinese",
        controls=["x1", "x2", "absent"],
        cluster="reg_code",
        coordinates=None,
        n_bootstrap=99,
        n_permutations=29,
        strata=None,
    )
    assert len(evidence.permutation_null) == 29
    assert evidence.controls_used == ("x1", "x2")
    assert evidence.controls_dropped == ("absent",)
    assert evidence.results.iloc[0]["specification"] == "primary"
    permutation = evidence.results[evidence.results["specification"] == "adjusted_permutation"]
    direct = estimation.adjusted_permutation_test(
        planted,
        outcome="resistance_lagravinese",
        treatment="is_ptce_territory",
        controls=["x1", "x2"],
        strata=None,
        n_permutations=29,
        seed=0,
    )
    np.testing.assert_array_equal(evidence.permutation_null, direct.attrs["null"])
    assert permutation.iloc[0]["effect"] == pytest.approx(direct.iloc[0]["effect"])


def test_permutation_keeps_treated_count_per_stratum():
    frame = pd.DataFrame(
        {
            "y": [1.0, 2.0, 3.0, 10.0, 11.0, 12.0],
            "t": [1, 0, 0, 1, 0, 0],
            "s": ["a", "a", "a", "b", "b", "b"],
        }
    )
    row = estimation.adjusted_permutation_test(
        frame, outcome="y", treatment="t", fixed_effects=None, strata="s", n_permutations=200
    ).iloc[0]
    # Within strata, the treated unit is the lowest in both: the observed gap is the most
    # extreme draw among the 9 possible relocations, 1/9 of which tie it.
    assert row["n_treated"] == 2
    assert 0.05 < row["p_value"] < 0.25


def test_continuous_treatment_recovers_slope():
    rng = np.random.default_rng(5)
    n = 96
    ess = rng.uniform(8, 16, n)
    control = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "resistance_lagravinese": 0.05 * ess + 0.3 * control + rng.normal(scale=0.1, size=n),
            "ess_share_salaried_jobs_pct": ess,
            "c": control,
            "reg_code": [f"R{k % 12}" for k in range(n)],
        }
    )
    row = m.continuous_treatment_effect(frame, controls=["c"]).iloc[0]
    assert row["ci_low"] <= 0.05 <= row["ci_high"]
    assert row["treatment_kind"] == "continuous"
    assert row["specification"].startswith("continuous_")
    assert row["effect_per_sd"] == pytest.approx(
        row["effect"] * frame["ess_share_salaried_jobs_pct"].std()
    )


def test_ols_drops_singleton_fixed_effect_groups(planted):
    frame = planted.copy()
    frame.loc["Z000", "reg_code"] = "ALONE"
    row = m.ols_effect(frame, "resistance_lagravinese", controls=["x1"]).iloc[0]
    assert row["n_singletons_dropped"] == 1 and row["n"] == len(frame) - 1
    assert np.isfinite([row["ci_low"], row["ci_high"]]).all()


def test_errors_are_clear(planted):
    with pytest.raises(KeyError, match="missing column"):
        m.ols_effect(planted, "missing_outcome")
    bad = planted.assign(is_ptce_territory=2)
    with pytest.raises(ValueError, match="boolean"):
        m.difference_in_means(bad, "resistance_lagravinese")


# --------------------------------------------------------------------------- event study
def test_event_study_gap_and_placebo():
    rng = np.random.default_rng(2)
    periods = [f"{y}-Q{q}" for y in range(2017, 2022) for q in range(1, 5)]
    codes = [f"T{i}" for i in range(20)] + [f"C{i}" for i in range(20)]
    base = rng.normal(scale=0.05, size=(len(codes), len(periods))) + 8.0
    panel = pd.DataFrame(base, index=codes, columns=periods)
    post = [p for p in periods if p > "2019-Q4"]
    panel.loc[[c for c in codes if c.startswith("T")], post] -= (
        1.0  # planted: 1 point less unemployment
    )
    matches = pd.DataFrame(
        {
            "treated_code": [f"T{i}" for i in range(20)],
            "control_code": [f"C{i}" for i in range(20)],
            "distance": 0.0,
            "weight": 1.0,
        }
    )
    window = r.ShockWindow(
        "covid_2020",
        "unemployment_rate",
        "lower_is_better",
        "2019-Q4",
        "2020-Q3",
        "2021-Q4",
        "quarterly",
    )
    table = m.event_study(panel, matches, window, leads=6, lags=4)
    assert list(table["event_time"]) == list(range(-6, 5))
    placebo = table[table["is_placebo"]]
    assert ((placebo["ci_low"] <= 0) & (placebo["ci_high"] >= 0)).mean() >= 0.8
    after = table[table["event_time"] > 0]
    assert ((after["ci_low"] <= -1.0) & (after["ci_high"] >= -1.0)).all()
    assert (after["ci_high"] < 0).all()
    summary = m.pretrend_summary(table)
    assert summary["n_placebo_periods"] == 6 and not summary["has_pretrend"]


# --------------------------------------------------------------------------- Moran's I
def grid_territories(side: int = 6) -> gpd.GeoDataFrame:
    """Synthetic square grid in metropolitan France (Lambert-93) plus one overseas square."""
    cells, codes = [], []
    for i in range(side):
        for j in range(side):
            x0, y0 = 600_000 + i * 10_000, 6_600_000 + j * 10_000
            cells.append(box(x0, y0, x0 + 10_000, y0 + 10_000))
            codes.append(f"G{i}{j}")
    far = gpd.GeoDataFrame(
        {"territory_code": ["OVERSEAS"]}, geometry=[box(-61.8, 16.0, -61.0, 16.5)], crs=4326
    ).to_crs(2154)
    grid = gpd.GeoDataFrame({"territory_code": codes}, geometry=cells, crs=2154)
    # A metropolitan square far from the grid: an island once the overseas one is gone.
    island = gpd.GeoDataFrame(
        {"territory_code": ["ISLAND"]},
        geometry=[box(900_000, 6_200_000, 910_000, 6_210_000)],
        crs=2154,
    )
    return pd.concat([grid, island, far], ignore_index=True)


def test_morans_i_detects_spatial_pattern_and_drops_islands():
    territories = grid_territories()
    values = pd.Series(
        {code: float(code[1]) for code in territories["territory_code"] if code.startswith("G")}
        | {"ISLAND": 1.0, "OVERSEAS": 2.0}
    )
    first = m.morans_i(values, territories, permutations=99, seed=1).iloc[0]
    second = m.morans_i(values, territories, permutations=99, seed=1).iloc[0]
    assert first["morans_i"] > 0.5 and first["p_value"] <= 0.02
    assert first["n"] == 36 and first["n_overseas_dropped"] == 1 and first["n_islands_dropped"] == 1
    assert set(first["dropped_codes"].split(",")) == {"OVERSEAS", "ISLAND"}
    assert first["p_value"] == second["p_value"] and first["z_sim"] == second["z_sim"]


def test_neighbour_weights_are_built_once_per_territories_and_shapes(monkeypatch):
    territories = (
        grid_territories().set_index("territory_code").loc[lambda g: g.index.str[0] == "G"]
    )
    built = []
    queen = m.lpw.Queen.from_dataframe

    def counting(frame, **kwargs):
        built.append(len(frame))
        return queen(frame, **kwargs)

    monkeypatch.setattr(m.lpw.Queen, "from_dataframe", counting)
    m._weights_memo.clear()
    first = m._neighbour_weights(territories, "queen", 5)
    again = m._neighbour_weights(territories, "queen", 5)
    assert built == [36] and again is not first and again.neighbors == first.neighbors
    again.transform = "r"  # a caller's change stays its own
    assert m._neighbour_weights(territories, "queen", 5).transform == "O"
    moved = territories.copy()
    moved.geometry = moved.geometry.translate(50_000, 0)  # other shapes, same codes
    m._neighbour_weights(moved, "queen", 5)
    m._neighbour_weights(territories.iloc[:30], "queen", 5)  # other territories
    assert built == [36, 36, 30]
    with pytest.raises(ValueError, match="contiguity must be"):
        m._neighbour_weights(territories, "rook", 5)
    m._weights_memo.clear()


def test_morans_i_random_values_not_significant():
    territories = grid_territories()
    rng = np.random.default_rng(0)
    values = pd.Series(rng.normal(size=len(territories)), index=territories["territory_code"])
    row = m.morans_i(values, territories, permutations=99, seed=0).iloc[0]
    assert row["p_value"] > 0.05


def test_morans_i_unknown_code_raises():
    with pytest.raises(KeyError, match="no geometry"):
        m.morans_i(pd.Series({"NOPE": 1.0}), grid_territories())


def test_spatial_check_on_regression_residuals():
    territories = grid_territories()
    codes = [c for c in territories["territory_code"] if c.startswith("G")]
    rng = np.random.default_rng(3)
    # Synthetic: the outcome has a west-east gradient the treatment and control do not explain.
    frame = pd.DataFrame(
        {
            "y": [float(code[1]) + rng.normal(scale=0.1) for code in codes],
            "t": [i % 3 == 0 for i in range(len(codes))],
            "x1": rng.normal(size=len(codes)),
        },
        index=pd.Index(codes, name="territory_code"),
    )
    row = m.spatial_check(
        frame, "y", "t", territories, controls=["x1", "missing"], fixed_effects=None,
        permutations=99, seed=0,
    ).iloc[0]  # fmt: skip
    assert row["morans_i"] > 0.5 and row["p_value"] <= 0.02 and row["n"] == len(codes)
    assert row["controls"] == "x1" and row["outcome"] == "y" and row["treatment"] == "t"
    french = m.spatial_sentence(row)
    assert f"N = {len(codes)}" in french and "spatialement corrélés" in french
    # Intervals are clustered; the spatial error model row is the check (no "too narrow").
    assert "modèle à erreurs spatiales" in french and "trop étroits" not in french
    assert "spatial error model row is the check" in m.spatial_sentence(row, lang="en")
    # A report without the spatial error model (dose–response) does not point to it.
    alone = m.spatial_sentence(row, spatial_model=False)
    assert "spatialement corrélés" in alone and "ligne du modèle" not in alone
    assert "aucun modèle à erreurs spatiales" in alone
    assert "no spatial error model is estimated" in m.spatial_sentence(
        row, lang="en", spatial_model=False
    )
    quiet = row.copy()
    quiet["p_value"] = 0.4
    assert "pas d'autocorrélation" in m.spatial_sentence(quiet)
    assert "no established spatial autocorrelation" in m.spatial_sentence(quiet, lang="en")


# --------------------------------------------------------------------------- honesty
def test_summary_sentence_french_and_english(planted, null):
    row = m.ols_effect(planted, "resistance_lagravinese", controls=["x1", "x2"]).iloc[0]
    sentence = m.summary_sentence(row)
    low = labels.format_number(
        row["ci_low"], "fr", m.sentence_decimals([row["effect"], row["ci_low"], row["ci_high"]])
    )
    assert f"N = {len(planted)}" in sentence and low in sentence and "," in low
    assert "exclut zéro" in sentence and "meilleure résilience" in sentence
    assert "pas un effet causal" in sentence
    null_row = m.ols_effect(null, "resistance_lagravinese", controls=["x1", "x2"]).iloc[0]
    assert "inclut zéro" in m.summary_sentence(null_row)
    english = m.summary_sentence(null_row, lang="en")
    assert "includes zero" in english and "not a causal effect" in english
    permutation = estimation.adjusted_permutation_test(
        planted, outcome="resistance_lagravinese", treatment="is_ptce_territory", n_permutations=19
    ).iloc[0]
    assert "permutation" in m.summary_sentence(permutation)
    worse = row.copy()
    worse["outcome"], worse["effect"], worse["ci_low"], worse["ci_high"] = (
        "rise_vs_nation_pp",
        0.8,
        0.2,
        1.4,
    )
    assert "moins bonne résilience" in m.summary_sentence(worse)


def test_summary_sentence_says_what_the_treatment_means_in_time(planted):
    row = m.difference_in_means(planted, "resistance_lagravinese", n_boot=50).iloc[0]
    assert "Aucun PTCE" not in m.summary_sentence(row)
    before = m.summary_sentence(row, shock="recession_2008")
    assert "Aucun PTCE n'était encore reconnu" in before and "plus tard" in before
    after = m.summary_sentence(row, lang="en", shock="covid_2020")
    assert "PTCE founded after the shock" in after
    timed = row.copy()
    timed["treatment"] = "is_ptce_before_shock"
    assert m.timing_note("is_ptce_before_shock", "covid_2020") == ""
    assert "après le choc" not in m.summary_sentence(timed, shock="covid_2020")


def test_robustness_verdicts(planted, null):
    # No cluster column in these tables: the eight régions are the clusters (wild bootstrap).
    options = {
        "controls": ["x1", "x2"],
        "cluster": "reg_code",
        "coordinates": None,
        "n_bootstrap": 999,
        "n_permutations": 99,
    }
    planted_evidence = m.compare_territories(
        planted, "resistance_lagravinese", strata=None, **options
    )
    assert planted_evidence.verdict["verdict"] == "robust"
    assert len(planted_evidence.results) == 4 and planted_evidence.results["excludes_zero"].all()
    null_evidence = m.compare_territories(null, "resistance_lagravinese", **options)
    # The raw difference is biased by selection; with controls the effect vanishes: not robust.
    assert null_evidence.verdict["verdict"] in {"fragile", "null"}
    table = pd.DataFrame(
        {
            "outcome": "y",
            "effect": [0.5, -0.4],
            "ci_low": [0.1, -0.8],
            "ci_high": [0.9, -0.1],
            "p_value": [0.01, 0.02],
            "confidence": 0.95,
        }
    )
    assert m.robustness_verdict(table)["verdict"] == "contradictory"
    # Pre-shock gaps in the event study make an otherwise robust difference fragile.
    with_pretrend = m.robustness_verdict(planted_evidence.results, pretrends={"has_pretrend": True})
    assert with_pretrend["verdict"] == "fragile" and not with_pretrend["pretrend_ok"]
    assert "avant le choc" in with_pretrend["text_fr"]
    assert "pas la preuve d'un effet causal" in planted_evidence.verdict["text_fr"]
    quiet = m.robustness_verdict(table.assign(ci_low=-1.0, ci_high=1.0, p_value=0.5))
    assert quiet["verdict"] == "null" and "avant le choc" not in quiet["text_fr"]
    quiet_pretrend = m.robustness_verdict(
        table.assign(ci_low=-1.0, ci_high=1.0, p_value=0.5), pretrends={"has_pretrend": True}
    )
    assert quiet_pretrend["verdict"] == "null"
    assert "gaps already exist before the shock" in quiet_pretrend["text_en"]


# --------------------------------------------------------------------------- assembly
def test_prepare_analysis_table_fills_absent_cooperation_and_reports():
    indices = pd.DataFrame(
        {"resistance_lagravinese": [0.1, 0.2, 0.3]},
        index=pd.Index(["A", "B", "C"], name="territory_code"),
    )
    cooperation = pd.DataFrame(
        {"n_ptce": [2, 0], "is_ptce_territory": [True, False]}, index=["A", "X"]
    )
    controls = pd.DataFrame(
        {"poverty_rate_pct": [10.0, 12.0, 14.0], "reg_code": ["1", "1", "2"]}, index=["A", "B", "C"]
    )
    table = m.prepare_analysis_table(indices, cooperation, controls)
    assert table["is_ptce_territory"].tolist() == [True, False, False]
    assert table["n_ptce"].tolist() == [2, 0, 0]
    assert table.attrs["no_cooperation_row"] == ["B", "C"]
    assert table.attrs["unmatched_cooperation"] == ["X"]
    assert len(table) == 3


def test_cli_writes_indices(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from analysis.cli import app
    from analysis.cli import resilience as cli_resilience

    panel = pd.DataFrame(
        [[8.0, 7.0, 9.0, 8.5], [6.0, 6.0, 7.0, 6.0]],
        index=pd.Index(["01", "02"], name="code"),
        columns=["2019-Q4", "2020-Q1", "2020-Q3", "2021-Q4"],
    )
    national = panel.mean()

    def fake_compute(indicator, level, shock, overrides=None, trend_periods=None):
        window = r.detect_shock_window(national, shock, indicator=indicator, **(overrides or {}))
        return r.resilience_indices(panel, national, window, trend_periods=2), window

    monkeypatch.setattr(
        cli_resilience.territories,
        "territory_names",
        lambda level: pd.Series({"01": "Ain", "02": "Aisne"}),
    )
    monkeypatch.setattr(datasets, "compute_resilience", fake_compute)
    monkeypatch.setattr(
        datasets,
        "treatment_by_territory",
        lambda level, initiatives: pd.DataFrame(
            {"n_ptce": [1], "is_ptce_territory": [True]}, index=["01"]
        ),
    )
    out = tmp_path / "res.csv"
    result = CliRunner().invoke(
        app,
        [
            "resilience",
            "--indicator",
            "unemployment_rate",
            "--level",
            "dep",
            "--shock",
            "covid_2020",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, dtype={"territory_code": str})
    assert written["territory_code"].tolist() == ["01", "02"]
    assert written["territory_name"].tolist() == ["Ain", "Aisne"]
    assert written["is_ptce_territory"].tolist() == [True, False]
    assert {"resistance_lagravinese", "rise_vs_nation_pp", "peak", "trough"} <= set(written.columns)
    assert cli_resilience is not None


# --------------------------------------------------------------------------- integration
@pytest.fixture(scope="module")
def real_data(request):
    request.getfixturevalue("indicators_built")
    request.getfixturevalue("cooperation_built")


@pytest.mark.integration
@pytest.mark.parametrize(
    ("indicator", "level", "shock", "outcome"),
    [
        ("unemployment_rate", "dep", "recession_2008", "resistance_lagravinese"),
        ("unemployment_rate", "ze2020", "covid_2020", "rise_vs_nation_pp"),
    ],
)
def test_evidence_end_to_end_on_real_data(real_data, indicator, level, shock, outcome):
    table, window = datasets.load_analysis_table(indicator, level, shock)
    assert table.index.is_unique and len(table) >= 90
    # Timing: no PTCE existed before 2008; some did before 2020.
    before = table["is_ptce_before_shock"]
    assert before.sum() == 0 if shock == "recession_2008" else before.sum() > 0
    assert (table.loc[before, "is_ptce_territory"]).all()
    evidence = m.compare_territories(table, outcome, n_bootstrap=199, n_permutations=99)
    results = evidence.results
    assert len(results) == 5 and results.iloc[0]["is_primary"]
    assert results["n_treated"].gt(5).all() and (results["n"] > results["n_treated"]).all()
    assert results.loc[results["specification"] == "raw_difference", "n"].iloc[0] >= 90
    assert np.isfinite(results[["effect", "p_value"]].to_numpy(dtype=float)).all()
    with_ci = results.dropna(subset=["ci_low"])
    assert (with_ci["ci_low"] <= with_ci["effect"]).all() and (
        with_ci["effect"] <= with_ci["ci_high"]
    ).all()
    assert evidence.verdict["verdict"] in {"robust", "fragile", "null", "contradictory"}
    # Départements in 2008 keep two pre-shock controls (unemployment 2007, ESS share 2008).
    assert len(evidence.balance) >= 2 and evidence.balance["smd_after"].notna().all()
    assert isinstance(m.summary_sentence(results.iloc[1]), str)
    panel, _ = datasets.load_panel(indicator, level, shock)
    events = m.event_study(panel, evidence.matches, window, leads=4, lags=6)
    assert len(events) == 11 and events["is_placebo"].sum() == 4


@pytest.mark.integration
def test_continuous_ess_and_moran_on_real_data(real_data):
    from analysis import territories

    table, _ = datasets.load_analysis_table("unemployment_rate", "dep", "recession_2008")
    controls = [c for c in m.DEFAULT_CONTROLS if c in table and table[c].notna().any()]
    row = m.continuous_treatment_effect(table, "resistance_lagravinese", controls=controls).iloc[0]
    assert row["n"] >= 80 and np.isfinite(row[["effect", "ci_low", "ci_high"]].astype(float)).all()
    residuals = m.ols_residuals(
        table, "resistance_lagravinese", "ess_share_salaried_jobs_pct", controls=controls
    )
    layer = territories.load_territories("dep")
    moran = m.morans_i(residuals, layer, permutations=99, seed=0).iloc[0]
    assert moran["n"] >= 80 and np.isfinite(moran["morans_i"])


def test_tzcld_sentences_carry_their_own_caveats(planted):
    row = m.difference_in_means(planted, "resistance_lagravinese", n_boot=50).iloc[0].copy()
    row["treatment"] = "is_tzcld_territory"
    covid = m.summary_sentence(row, shock="covid_2020")
    assert "habilités après le choc" in covid
    assert "PTCE" not in covid, "a TZCLD sentence must not speak of PTCE"
    before = m.summary_sentence(row, lang="en", shock="recession_2008")
    assert "No zero-long-term-unemployment territory was authorised" in before


def test_controls_sentence_names_the_controls_in_words():
    from types import SimpleNamespace

    evidence = SimpleNamespace(
        controls_used=["pre_shock_unemployment_rate", "log_population"],
        controls_dropped=["rural_population_share_pct"],
    )
    french = m.controls_sentence(evidence, {"pre_shock_unemployment_rate": "2019-Q1..2019-Q4"})
    assert "taux de chômage avant le choc (2019-Q1..2019-Q4), population (logarithme)" in french
    assert "part de la population en communes rurales" in french
    assert "_" not in french  # no column name left
    english = m.controls_sentence(evidence, lang="en")
    assert "pre-shock unemployment rate, population (log)" in english and "_" not in english
