"""Staggered difference-in-differences on synthetic panels with a planted effect."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis import labels, models, staggered, territories
from analysis.cli import app

PERIODS = [f"{year}-Q{quarter}" for year in range(2010, 2018) for quarter in range(1, 5)]
SLOPES = {"2012-Q1": 0.30, "2014-Q1": 0.15, "2016-Q1": 0.05}
"""Planted effect per quarter of exposure: early cohorts gain more, and the effect grows."""


def planted_panel(seed: int = 7, n_units: int = 160) -> pd.DataFrame:
    """Three cohorts and never-treated units; effect = cohort slope × (quarters since + 1)."""
    rng = np.random.default_rng(seed)
    cohorts = [None, *SLOPES]
    rows = []
    for i in range(n_units):
        cohort = cohorts[i % 4]
        level = rng.normal(scale=2)
        for k, period in enumerate(PERIODS):
            exposure = None if cohort is None else k - PERIODS.index(cohort)
            effect = 0.0 if cohort is None or exposure < 0 else SLOPES[cohort] * (exposure + 1)
            common = 0.05 * k + np.sin(k / 3)
            rows.append(
                (
                    f"u{i:03d}",
                    period,
                    cohort,
                    level + common + effect + rng.normal(scale=0.3),
                    effect,
                )
            )
    return pd.DataFrame(
        rows, columns=["unit", "period", "first_treated_period", "outcome", "effect"]
    )


def true_effects(frame: pd.DataFrame) -> tuple[float, pd.Series]:
    """The planted average effect over treated unit-periods, overall and by cohort."""
    treated = frame[
        frame["first_treated_period"].notna()
        & (
            frame["period"].map(staggered.period_index)
            >= frame["first_treated_period"].map(
                lambda p: staggered.period_index(p) if isinstance(p, str) else np.inf
            )
        )
    ]
    return treated["effect"].mean(), treated.groupby("first_treated_period")["effect"].mean()


@pytest.fixture(scope="module")
def planted():
    frame = planted_panel()
    return frame, staggered.staggered_did(frame)


def test_period_index_counts_quarters_and_round_trips():
    assert staggered.period_index("2009-Q1") - staggered.period_index("2008-Q4") == 1
    assert staggered.period_index("2009-Q1") - staggered.period_index("2008-Q1") == 4
    assert staggered.period_index("2019") == 2019
    for label in ("2008-Q1", "2013-Q4"):
        assert staggered.period_label(staggered.period_index(label), "quarterly") == label


def test_callaway_santanna_recovers_each_cohort_and_twfe_is_biased(planted):
    frame, result = planted
    overall_truth, cohort_truth = true_effects(frame)
    cohorts = result.cohort_effects.set_index("cohort")
    assert set(cohorts.index) == set(SLOPES)
    for cohort, truth in cohort_truth.items():
        row = cohorts.loc[cohort]
        assert row["ci_low"] <= truth <= row["ci_high"], (cohort, truth, row.to_dict())
    overall = result.overall.set_index("estimator")
    cs = overall.loc["callaway_santanna"]
    assert cs["ci_low"] <= overall_truth <= cs["ci_high"]
    did2s = overall.loc["did2s"]
    assert did2s["ci_low"] <= overall_truth <= did2s["ci_high"]
    # The naive two-way fixed effects estimate is far below the truth, its interval excludes it.
    reference = overall.loc["twfe"]
    assert reference["ci_high"] < overall_truth
    assert reference["att"] < 0.5 * overall_truth


def test_event_study_has_the_contract_columns_and_follows_the_planted_path(planted):
    frame, result = planted
    table = result.event_study
    assert list(table.columns) == list(staggered.EVENT_STUDY_COLUMNS)
    cs = table[table["estimator"] == "callaway_santanna"].set_index("event_time")
    assert cs.index.min() == -12 and cs.index.max() == 12
    # Event time e mixes the cohorts observed e quarters after their label.
    treated = frame[frame["first_treated_period"].notna()].copy()
    treated["event_time"] = treated["period"].map(staggered.period_index) - treated[
        "first_treated_period"
    ].map(staggered.period_index)
    truth = treated.groupby("event_time")["effect"].mean()
    for e in (0, 4, 8, 12):
        assert cs.loc[e, "ci_low"] <= truth[e] <= cs.loc[e, "ci_high"], e
    # Before the label nothing was planted: pre-trend test not rejected, coefficients small.
    assert result.overall.set_index("estimator").loc["callaway_santanna", "pretrend_pvalue"] > 0.05
    # The chi-squared reference is the more liberal of the two p-values.
    overall = result.overall
    assert (overall["pretrend_pvalue_asymptotic"] <= overall["pretrend_pvalue"]).all()
    assert list(overall.columns) == list(staggered.OVERALL_COLUMNS)
    assert cs.loc[cs.index < 0, "att"].abs().max() < 0.2
    assert cs.loc[-1, "att"] == 0
    # n_treated: 40 units per cohort; at e = 12 only the two earliest cohorts are observed.
    assert cs.loc[0, "n_treated"] == 120
    assert cs.loc[12, "n_treated"] == 80


def test_group_time_table_is_labelled_with_periods(planted):
    _, result = planted
    table = result.group_time
    assert list(table.columns) == list(staggered.GROUP_TIME_COLUMNS)
    assert set(table["cohort"]) == set(SLOPES)
    cell = table[(table["cohort"] == "2012-Q1") & (table["period"] == "2012-Q4")].iloc[0]
    assert cell["event_time"] == 3
    assert cell["ci_low"] <= SLOPES["2012-Q1"] * 4 <= cell["ci_high"]


def test_pretrend_test_detects_a_planted_anticipation():
    frame = planted_panel(seed=3)
    # Treated units drift up 0.15 a quarter during the two years before their label.
    index = frame["period"].map(staggered.period_index)
    first = frame["first_treated_period"].map(
        lambda p: staggered.period_index(p) if isinstance(p, str) else np.nan
    )
    lead = (first - index).where(lambda d: (d > 0) & (d <= 8))
    frame["outcome"] = frame["outcome"] + (0.15 * (9 - lead)).fillna(0)
    result = staggered.staggered_did(frame, estimators=("callaway_santanna",))
    assert result.overall.loc[0, "pretrend_pvalue"] < 0.01


def test_not_yet_treated_controls_work_without_never_treated_units():
    frame = planted_panel(seed=11)
    frame = frame[frame["first_treated_period"].notna()]
    result = staggered.staggered_did(
        frame, control_group="not_yet_treated", estimators=("callaway_santanna",)
    )
    row = result.overall.iloc[0]
    assert row["control_group"] == "not_yet_treated"
    # Without never-treated units, effects are identified only while a cohort is still
    # untreated: before 2016-Q1, for the 2012 and 2014 cohorts. The truth is their average.
    identified = frame[
        (frame["period"] >= frame["first_treated_period"]) & (frame["period"] < "2016-Q1")
    ]
    assert row["ci_low"] <= identified["effect"].mean() <= row["ci_high"]
    cohorts = result.cohort_effects.set_index("cohort")
    assert set(cohorts.index) == {"2012-Q1", "2014-Q1"}
    for cohort, truth in identified.groupby("first_treated_period")["effect"].mean().items():
        assert cohorts.loc[cohort, "ci_low"] <= truth <= cohorts.loc[cohort, "ci_high"]


def test_units_labelled_before_the_panel_are_dropped_and_named():
    frame = planted_panel(n_units=40)
    early = frame["unit"] == "u001"
    frame.loc[early, "first_treated_period"] = "2008-Q1"
    late = frame["unit"] == "u002"
    frame.loc[late, "first_treated_period"] = "2030-Q1"
    gap = (frame["unit"] == "u003") & (frame["period"] == "2011-Q2")
    frame.loc[gap, "outcome"] = np.nan
    panel = staggered.prepare_panel(frame)
    dropped = panel.dropped.set_index("unit")
    assert "before the panel" in dropped.loc["u001", "reason"]
    assert "after the panel" in dropped.loc["u002", "reason"]
    assert "missing" in dropped.loc["u003", "reason"]
    kept = set(panel.data["unit"])
    assert "u001" not in kept and "u003" not in kept
    assert (panel.data.loc[panel.data["unit"] == "u002", "cohort"] == 0).all()


def test_bad_input_is_refused_with_the_fix():
    frame = planted_panel(n_units=8)
    with pytest.raises(ValueError, match="missing column.*outcome.*Pass unit="):
        staggered.prepare_panel(frame.rename(columns={"outcome": "y"}))
    with pytest.raises(ValueError, match="duplicated"):
        staggered.prepare_panel(pd.concat([frame, frame.head(1)]))
    wrong = frame.copy()
    wrong.loc[wrong["first_treated_period"].notna(), "first_treated_period"] = "2014"
    with pytest.raises(ValueError, match="not a quarterly label"):
        staggered.prepare_panel(wrong)
    with pytest.raises(ValueError, match="unknown estimator"):
        staggered.staggered_did(frame, estimators=("synthetic",))


def test_first_label_periods_takes_the_first_dated_label_at_the_right_precision():
    initiatives = pd.DataFrame(
        {
            "kind": ["ptce", "ptce", "ptce", "ptce", "ptce", "tzcld"],
            "wave": ["w2016", "w2014", "other", "w2014", "other", "w2014"],
            "year": [2016, 2014, 2011, 2014, None, 2016],
            "location_precision": [
                "commune",
                "commune",
                "commune",
                "departement",
                "commune",
                "commune",
            ],
            "ze2020_code": ["Z1", "Z1", "Z2", None, "Z3", "Z4"],
            "dep_code": ["D1", "D1", "D1", "D2", "D3", "D4"],
        }
    )
    waves = {"w2014": "2014-Q1", "w2016": "2016-Q4"}
    zones = staggered.first_label_periods(initiatives, "ze2020", "ptce", waves).set_index(
        "territory_code"
    )
    assert list(zones.index) == ["Z1", "Z2"]  # the département-only row never counts in a zone
    assert zones.loc["Z1", "first_treated_period"] == "2014-Q1"
    assert zones.loc["Z1", "n_labels"] == 2
    assert zones.loc["Z2", ["first_treated_period", "date_precision"]].tolist() == [
        "2011-Q1",
        "year",
    ]
    assert zones.attrs["undated_territories"] == ["Z3"]
    deps = staggered.first_label_periods(initiatives, "dep", "ptce", waves, frequency="annual")
    deps = deps.set_index("territory_code")["first_treated_period"]
    assert deps.to_dict() == {"D1": "2011", "D2": "2014"}  # D3's only row is undated


def test_long_panel_with_timing_marks_treated_units_and_names_the_missing():
    wide = pd.DataFrame(
        {"2014-Q1": [1.0, 2.0, 3.0], "2014-Q2": [1.5, 2.5, 3.5]}, index=["A", "B", "C"]
    )
    timing = pd.DataFrame(
        {"territory_code": ["A", "X"], "first_treated_period": ["2014-Q2", "2014-Q2"]}
    )
    long = staggered.long_panel_with_timing(wide, timing, exclude=["C"])
    assert len(long) == 4 and set(long["unit"]) == {"A", "B"}
    assert long.loc[long["unit"] == "A", "first_treated_period"].eq("2014-Q2").all()
    assert long.loc[long["unit"] == "B", "first_treated_period"].isna().all()
    assert long.attrs["treated_not_in_panel"] == ["X"]
    assert long.attrs["excluded"] == ["C"]


def test_overall_sentence_states_effect_interval_and_pretrend(planted):
    _, result = planted
    row = result.overall.iloc[0]
    french = staggered.overall_sentence(
        row, lang="fr", treatment="PTCE", outcome="le résultat", unit="point"
    )
    assert labels.format_number(row["att"], "fr", 2, sign=True) in french
    assert "l'estimateur de Callaway et Sant'Anna" in french
    assert "exclut zéro" in french and "ne rejette pas" in french
    assert "120 territoires" in french
    english = staggered.overall_sentence(
        result.overall.iloc[2], lang="en", treatment="PTCE", outcome="the outcome", unit="point"
    )
    assert "naive two-way fixed-effects" in english and "rejects parallel trends" in english


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_estimator_is_named_in_labels(lang):
    names = {labels.sentence(f"estimator_{name}", lang) for name in staggered.ESTIMATORS}
    assert len(names) == len(staggered.ESTIMATORS)


def test_log_outcome_reads_effects_in_log_points(planted):
    frame, result = planted
    # Jobs = 1000 × exp(outcome / 100): on 100 × ln(jobs) the planted effects are unchanged.
    jobs = frame.assign(outcome=1000 * np.exp(frame["outcome"] / 100))
    logged = staggered.staggered_did(jobs, estimators=("callaway_santanna",), log_outcome=True)
    assert logged.cohort_effects["att"].to_numpy() == pytest.approx(
        result.cohort_effects["att"].to_numpy(), rel=1e-6
    )
    with pytest.raises(ValueError, match="positive"):
        staggered.staggered_did(frame.assign(outcome=-1.0), log_outcome=True)


@pytest.mark.integration
def test_ptce_did_on_the_real_zone_panel(tmp_path, indicators_built, cooperation_built):
    out = tmp_path / "did.csv"
    arguments = ["did", "--indicator", "unemployment_rate", "--level", "ze2020"]
    outcome = CliRunner().invoke(app, [*arguments, "--treatment", "ptce", "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output
    event_study = pd.read_csv(out)
    assert list(event_study.columns) == list(staggered.EVENT_STUDY_COLUMNS)
    assert set(event_study["estimator"]) == set(staggered.ESTIMATORS)
    assert event_study["event_time"].between(-12, 12).all()
    group_time = pd.read_csv(tmp_path / "did.group_time.csv", dtype={"cohort": str})
    assert "2014-Q1" in set(group_time["cohort"])  # the first national call's winners
    overall = pd.read_csv(tmp_path / "did.overall.csv").set_index("estimator")
    assert (overall["ci_low"] < overall["att"]).all() and (
        overall["att"] < overall["ci_high"]
    ).all()
    dropped = pd.read_csv(tmp_path / "did.dropped.csv", dtype={"unit": str})
    # Overseas zones start in 2014 (incomplete series); undated PTCE zones are named.
    assert dropped["reason"].str.contains("missing").any()
    assert dropped["reason"].str.contains("unknown date").any()
    # every territory named beside its code (the report's tables show the names)
    official = territories.territory_names("ze2020")
    assert dropped["territory_name"].tolist() == [official[u] for u in dropped["unit"]]


def null_panel(seed: int, n_units: int = 120, rho: float = 0.7) -> pd.DataFrame:
    """Three cohorts, no effect, no pre-trend; serially correlated AR(1) noise within units."""
    rng = np.random.default_rng(seed)
    cohorts = [None, *SLOPES]
    rows = []
    for i in range(n_units):
        cohort, level, noise = cohorts[i % 4], rng.normal(scale=2), 0.0
        for k, period in enumerate(PERIODS):
            noise = rho * noise + rng.normal(scale=0.3)
            rows.append((f"u{i:03d}", period, cohort, level + 0.05 * k + noise))
    return pd.DataFrame(rows, columns=["unit", "period", "first_treated_period", "outcome"])


@pytest.mark.slow
def test_pretrend_test_and_intervals_are_calibrated_under_the_null():
    """60 null panels: the joint pre-trend test rejects near 5 %, the CS interval covers 0."""
    draws = 60
    rejections = {name: 0 for name in staggered.ESTIMATORS}
    covered = 0
    for seed in range(draws):
        overall = staggered.staggered_did(null_panel(seed)).overall.set_index("estimator")
        for name in staggered.ESTIMATORS:
            rejections[name] += overall.loc[name, "pretrend_pvalue"] < 0.05
        cs = overall.loc["callaway_santanna"]
        covered += cs["ci_low"] <= 0 <= cs["ci_high"]
    print(f"staggered null: pre-trend rejections {rejections} of {draws}, CS covers 0 {covered}")
    for name in ("callaway_santanna", "did2s"):
        assert rejections[name] / draws <= 0.12, rejections
    assert covered / draws >= 0.88


def test_effects_table_has_the_comparison_columns_and_a_consistent_p_value(planted):
    _, result = planted
    effects = staggered.effects_table(result.overall, outcome="outcome", treatment="ptce")
    assert list(effects.columns[: len(models.EFFECTS_COLUMNS)]) == list(models.EFFECTS_COLUMNS)
    assert effects.loc[effects["is_primary"], "specification"].tolist() == ["callaway_santanna"]
    assert list(effects["specification"]) == list(result.overall["estimator"])
    assert effects["effect"].tolist() == result.overall["att"].tolist()
    excludes_zero = (effects["ci_low"] > 0) | (effects["ci_high"] < 0)
    assert ((effects["p_value"] < 0.05) == excludes_zero).all()
    assert (effects["n_treated"] == result.overall["n_treated"]).all()
    # 80 % power at 5 %: (1.96 + 0.84) standard errors; the bound is the interval's far end.
    assert effects["mde"].to_numpy() == pytest.approx(2.8016 * result.overall["se"], rel=1e-3)
    far_end = np.maximum(effects["ci_low"].abs(), effects["ci_high"].abs())
    assert effects["equivalence_bound"].to_numpy() == pytest.approx(far_end.to_numpy())


def test_importing_the_estimators_leaves_the_root_logger_alone():
    """pyfixest's logging.basicConfig(INFO) is undone: no INFO flood in the reports."""
    code = (
        "import logging, numpy as np, pandas as pd\n"
        "from analysis import dose_response, staggered\n"
        "frame = pd.DataFrame({'y': np.arange(9.0), 'x': np.arange(9.0) % 4})\n"
        "staggered.pf.feols('y ~ x', data=frame)\n"
        "root = logging.getLogger()\n"
        "print(root.level, len(root.handlers))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["30", "0"]
