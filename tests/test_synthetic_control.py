"""Synthetic control: a treated unit built from its donors, with a planted jump."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import datasets, models
from analysis import synthetic_control as sc

PERIODS = [f"{year}-Q{quarter}" for year in range(2003, 2019) for quarter in range(1, 5)]
TREATMENT = "2014-Q1"
TRUE_WEIGHTS = {"d00": 0.5, "d03": 0.3, "d07": 0.2}
JUMP = 1.5


def donor_panel(seed: int = 1, n_donors: int = 12) -> pd.DataFrame:
    """Donors with distinct levels, trends and cycles (so their combination is identified)."""
    rng = np.random.default_rng(seed)
    t = np.arange(len(PERIODS))
    rows = {}
    for i in range(n_donors):
        level = rng.uniform(5, 12)
        slope = rng.normal(scale=0.05)
        cycle = rng.uniform(0.2, 1.0) * np.sin(t / rng.uniform(2, 6) + rng.uniform(0, 6))
        rows[f"d{i:02d}"] = level + slope * t + cycle + rng.normal(scale=0.15, size=len(t))
    return pd.DataFrame.from_dict(rows, orient="index", columns=PERIODS)


def planted_panel() -> pd.DataFrame:
    panel = donor_panel()
    treated = sum(weight * panel.loc[code] for code, weight in TRUE_WEIGHTS.items())
    is_post = np.array([p >= TREATMENT for p in PERIODS])
    panel.loc["T01"] = treated + JUMP * is_post
    return panel


@pytest.fixture(scope="module")
def planted():
    panel = planted_panel()
    donors = [c for c in panel.index if c != "T01"]
    return sc.synthetic_control(panel, "T01", donors, TREATMENT)


def test_weights_and_jump_are_recovered(planted):
    weights = planted.weights
    assert weights.sum() == pytest.approx(1)
    assert (weights >= 0).all()
    for code, weight in TRUE_WEIGHTS.items():
        assert weights[code] == pytest.approx(weight, abs=0.02)
    assert weights.drop(list(TRUE_WEIGHTS)).max() < 0.02
    assert planted.rmspe_pre < 0.02
    post = planted.path[planted.path["is_post"]]
    assert post["gap"].to_numpy() == pytest.approx(np.full(len(post), JUMP), abs=0.05)
    assert planted.mean_post_gap == pytest.approx(JUMP, abs=0.02)


def test_placebo_in_space_ranks_the_treated_unit_first(planted):
    placebo = planted.placebo
    assert len(placebo) == 13 and placebo["is_treated"].sum() == 1
    assert planted.rank == 1
    assert planted.p_value == pytest.approx(1 / 13)
    assert planted.rmspe_ratio == placebo["rmspe_ratio"].max()
    assert list(planted.placebo_gaps.columns) == ["T01", *[f"d{i:02d}" for i in range(12)]]


def test_no_jump_gives_no_effect_and_no_significance():
    # A treated unit with its own noise, like every donor, and nothing planted.
    panel = donor_panel()
    noise = np.random.default_rng(5).normal(scale=0.15, size=len(PERIODS))
    panel.loc["T01"] = sum(w * panel.loc[c] for c, w in TRUE_WEIGHTS.items()) + noise
    donors = [c for c in panel.index if c != "T01"]
    result = sc.synthetic_control(panel, "T01", donors, TREATMENT)
    assert abs(result.mean_post_gap) < 0.1
    assert result.p_value > 0.2


def test_summary_table_over_several_treated_units():
    panel = planted_panel()
    panel.loc["T02"] = 0.6 * panel.loc["d01"] + 0.4 * panel.loc["d05"]
    donors = list(panel.index)  # the treated units are removed from the pool
    table, results = sc.synthetic_control_summary(
        panel, {"T01": TREATMENT, "T02": "2016-Q1"}, donors
    )
    assert list(table.columns) == list(sc.SUMMARY_COLUMNS)
    table = table.set_index("unit")
    assert table.loc["T01", "n_donors"] == 12
    assert table.loc["T01", "mean_post_gap"] == pytest.approx(JUMP, abs=0.02)
    assert abs(table.loc["T02", "mean_post_gap"]) < 0.05
    assert table.loc["T02", "n_pre_periods"] == PERIODS.index("2016-Q1")
    assert table.loc["T01", "top_donors"].startswith("d00: 0.50")
    assert set(results) == {"T01", "T02"}


def test_bad_input_is_refused():
    panel = planted_panel()
    donors = [c for c in panel.index if c != "T01"]
    with pytest.raises(ValueError, match="own donor pool"):
        sc.synthetic_control(panel, "T01", [*donors, "T01"], TREATMENT)
    with pytest.raises(ValueError, match="not in the panel"):
        sc.synthetic_control(panel, "T99", donors, TREATMENT)
    with pytest.raises(ValueError, match="period"):
        sc.synthetic_control(panel, "T01", donors, "2003-Q3")
    holed = panel.copy()
    holed.loc["d02", "2010-Q1"] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        sc.synthetic_control(holed, "T01", donors, TREATMENT)


@pytest.mark.integration
def test_first_wave_inputs_on_the_real_zones(indicators_built, cooperation_built):
    panel, treated, donors = datasets.load_synthetic_control_inputs()
    assert panel.columns[0] == "2003-Q1" and panel.columns[-1] == "2019-Q4"
    assert not panel.isna().any().any()
    assert len(treated) >= 8 and set(treated.values()) == {"2014-Q1"}
    assert not set(treated) & set(donors) and len(donors) >= 10
    # One treated zone against the pool: a pre-period fit and a placebo rank.
    code = sorted(treated)[0]
    result = sc.synthetic_control(panel, code, donors, "2014-Q1")
    assert len(result.placebo) == len(donors) + 1
    assert result.rmspe_pre < panel.loc[code].std()


def test_sentences_and_effects_table_follow_the_placebo_rank(planted):
    table, results = sc.synthetic_control_summary(planted_panel(), {"T01": TREATMENT},
                                                  [f"d{i:02d}" for i in range(12)])  # fmt: skip
    row = table.iloc[0]
    fr = sc.synthetic_control_sentence(row, name="Zone T", outcome="le taux", unit="point(s)")
    assert "se classe 1e sur 13" in fr and "se distingue du bruit" in fr
    assert f"{row['mean_post_gap']:+.2f}".replace(".", ",") in fr
    quiet = dict(row, p_value=0.5)
    assert "ne se distingue pas de zéro" in sc.synthetic_control_sentence(
        quiet, name="Zone T", outcome="le taux", unit="point(s)"
    )
    en = sc.overall_sentence(table, lang="en", unit="point(s)")
    assert "Across the 1 treated territories" in en and "1 of 1" in en
    effects = sc.effects_table(table, outcome="unemployment_rate", treatment="ptce")
    assert effects.loc[0, "effect"] == pytest.approx(JUMP, abs=0.02)
    assert effects.loc[0, "p_value"] == row["p_value"] and effects.loc[0, "n"] == 13
    assert effects.loc[0, "specification"] == "synthetic_control_T01"
    assert list(effects.columns[: len(models.EFFECTS_COLUMNS)]) == list(models.EFFECTS_COLUMNS)
    primary = effects[effects["is_primary"]]  # the mean over the treated units
    assert list(primary["specification"]) == [sc.MEAN_SPECIFICATION] and len(effects) == 2
    assert (
        primary["effect"].iloc[0] == effects.loc[0, "effect"] and primary["n_treated"].iloc[0] == 1
    )
    assert primary["p_value"].iloc[0] == row["p_value"]  # one treated unit: its placebo p-value
    assert primary[["ci_low", "ci_high"]].isna().all(axis=None)  # no interval
    weights = sc.weights_table(results)
    assert weights["weight"].sum() == pytest.approx(1) and (weights["unit"] == "T01").all()
    paths = sc.paths_table(results)
    assert len(paths) == len(PERIODS) and paths["is_post"].sum() == len(PERIODS) - PERIODS.index(
        TREATMENT
    )


def test_placebos_fitted_once_give_the_same_ranks_as_fitting_each_unit_alone():
    panel = planted_panel()
    panel.loc["T02"] = 0.6 * panel.loc["d01"] + 0.4 * panel.loc["d05"]
    donors = [f"d{i:02d}" for i in range(12)]
    table, results = sc.synthetic_control_summary(
        panel, {"T01": TREATMENT, "T02": TREATMENT}, donors
    )
    for unit in ("T01", "T02"):
        alone = sc.synthetic_control(panel.drop(index=({"T01", "T02"} - {unit})), unit, donors,
                                     TREATMENT)  # fmt: skip
        assert results[unit].rank == alone.rank and results[unit].p_value == alone.p_value
        pd.testing.assert_frame_equal(results[unit].placebo, alone.placebo)
