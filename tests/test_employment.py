"""Employment resilience: sign convention, shift-share expectation, job-quarters lost."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis import datasets, indicators, sources
from analysis import resilience as r
from analysis.cli import app
from analysis.loaders import urssaf

PERIODS = [f"{y}-Q{q}" for y in range(2018, 2022) for q in range(1, 5)]


def two_zones() -> tuple[pd.DataFrame, pd.Series, r.ShockWindow]:
    """Zone A falls 10 % while France falls 5 %; zone B falls 3.3 %. France = A + B."""
    panel = pd.DataFrame(
        {
            "A": [980, 982, 984, 986, 990, 994, 997, 1000]
            + [950, 900, 950, 1000, 1000, 1000, 1000, 1000],
            "B": [2960, 2965, 2970, 2975, 2980, 2985, 2990, 3000]
            + [2950, 2900, 2900, 2950, 3000, 3000, 3000, 3000],
        },
        index=PERIODS,
        dtype=float,
    ).T
    national = panel.sum()
    window = r.detect_shock_window(national, "covid_2020", indicator="salaried_employment_sa")
    return panel, national, window


def test_window_and_sign_convention_for_a_fall_in_jobs():
    panel, national, window = two_zones()
    assert (window.peak, window.trough, window.recovery_end) == ("2019-Q4", "2020-Q2", "2021-Q4")
    table = r.employment_resilience_indices(panel, national, window)
    a, b = table.loc["A"], table.loc["B"]
    # France: 4000 → 3800 (−5 %). A: −10 % (twice as sensitive), B: −3.3 %.
    # Martin's β (2 for A) is not a column: resistance = 1 − β.
    assert a["resistance_lagravinese"] == pytest.approx(1 - 2.0)  # did worse: negative
    assert b["resistance_lagravinese"] == pytest.approx(1 - (100 / 3000) / 0.05)
    assert b["resistance_lagravinese"] > 0
    assert a["change_contraction_vs_nation_pct"] == pytest.approx(-5.0)
    assert b["change_contraction_vs_nation_pct"] == pytest.approx(100 * (0.05 - 1 / 30))
    # Quarters from the national trough (2020-Q2) back to the pre-shock job count.
    assert a["periods_to_pre_shock_value"] == 2
    assert b["periods_to_pre_shock_value"] == 3


def test_shift_share_expected_change_and_deviation():
    panel, national, window = two_zones()
    table = r.employment_resilience_indices(panel, national, window)
    a, b = table.loc["A"], table.loc["B"]
    assert a["expected_change_contraction_jobs"] == pytest.approx(-50)
    assert a["actual_change_contraction_jobs"] == pytest.approx(-100)
    assert a["deviation_contraction_jobs"] == pytest.approx(-50)
    assert a["deviation_contraction_pct"] == pytest.approx(-5)
    assert b["expected_change_contraction_jobs"] == pytest.approx(-150)
    assert b["deviation_contraction_jobs"] == pytest.approx(50)
    # Recovery: France 3800 → 4000 (+200/3800); A from 900.
    assert a["expected_change_recovery_jobs"] == pytest.approx(900 * 200 / 3800)
    assert a["deviation_recovery_jobs"] == pytest.approx(100 - 900 * 200 / 3800)
    # France is the sum of the zones: the deviations from the national share cancel out.
    assert table["deviation_contraction_jobs"].sum() == pytest.approx(0)
    assert table["deviation_recovery_jobs"].sum() == pytest.approx(0, abs=1e-9)


def test_cumulative_loss_in_job_quarters():
    panel, national, window = two_zones()
    table = r.employment_resilience_indices(panel, national, window)
    # Over (2019-Q4, 2021-Q4]: A is 50, 100, 50 jobs below 1000 in three quarters.
    assert table.loc["A", "cumulative_loss_jobs_quarters"] == pytest.approx(200)
    assert table.loc["B", "cumulative_loss_jobs_quarters"] == pytest.approx(50 + 100 + 100 + 50)
    # Against the national path 1000 × N_t / 4000 = 975, 950, 962.5, 987.5, then 1000.
    assert table.loc["A", "cumulative_loss_vs_nation_jobs_quarters"] == pytest.approx(75)
    assert table.loc["B", "cumulative_loss_vs_nation_jobs_quarters"] == pytest.approx(-75)
    assert list(table.columns[: len(r.INDEX_COLUMNS)]) == list(r.INDEX_COLUMNS)
    assert set(r.EMPLOYMENT_COLUMNS) <= set(table.columns)


def test_rates_are_refused():
    panel, national, window = two_zones()
    rate_window = r.ShockWindow(
        **{
            **window.to_dict(),
            "indicator": "unemployment_rate",
            "direction": "lower_is_better",
        }
    )
    with pytest.raises(ValueError, match="resilience_indices"):
        r.employment_resilience_indices(panel, national, rate_window)


def test_missing_quarter_gives_nan_loss_not_a_smaller_one():
    panel, national, window = two_zones()
    panel.loc["A", "2020-Q3"] = float("nan")
    table = r.employment_resilience_indices(panel, national, window)
    assert math.isnan(table.loc["A", "cumulative_loss_jobs_quarters"])
    assert table.loc["B", "cumulative_loss_jobs_quarters"] == pytest.approx(300)


# --------------------------------------------------------------------------- real data
@pytest.mark.integration
def test_employment_indices_match_hand_sums_of_the_urssaf_file(indicators_built):
    """Two zones: 0051 (several rows per quarter, one per former région) and 2406 (one row)."""
    raw = pd.read_csv(sources.require_raw(urssaf.SOURCE), dtype={"code_zone_d_emploi": "str"})
    raw["period"] = raw["annee"].astype(str) + "-Q" + raw["trimestre"].astype(str)

    def jobs(zone: str | None, period: str) -> float:
        rows = raw[raw["period"] == period]
        if zone is not None:
            rows = rows[rows["code_zone_d_emploi"] == zone]
        return float(rows["effectifs_salaries_cvs"].sum())

    assert (raw[(raw["code_zone_d_emploi"] == "0051") & (raw["period"] == "2019-Q4")]).shape[0] > 1
    panel = indicators.get("salaried_employment_sa", "ze2020")
    panel.columns = [str(c) for c in panel.columns]
    panel.index = panel.index.astype(str)
    national = pd.Series({p: jobs(None, p) for p in panel.columns}, name="sum_of_territories")
    window = r.detect_shock_window(national, "covid_2020", indicator="salaried_employment_sa")
    assert window.peak == "2019-Q4"
    table = r.employment_resilience_indices(panel, national, window)
    n_peak, n_trough, n_end = (
        jobs(None, p) for p in (window.peak, window.trough, window.recovery_end)
    )
    span = [p for p in panel.columns if window.peak < p <= window.recovery_end]
    for zone in ("0051", "2406"):
        peak, trough, end = (
            jobs(zone, p) for p in (window.peak, window.trough, window.recovery_end)
        )
        row = table.loc[zone]
        assert row["value_peak"] == peak and row["value_trough"] == trough
        assert row["resistance_lagravinese"] == pytest.approx(
            1 - (trough / peak - 1) / (n_trough / n_peak - 1)
        )
        assert row["change_contraction_vs_nation_pct"] == pytest.approx(
            100 * ((trough / peak - 1) - (n_trough / n_peak - 1))
        )
        assert row["expected_change_contraction_jobs"] == pytest.approx(
            peak * (n_trough / n_peak - 1)
        )
        assert row["deviation_recovery_jobs"] == pytest.approx(
            (end - trough) - trough * (n_end / n_trough - 1)
        )
        assert row["cumulative_loss_jobs_quarters"] == pytest.approx(
            sum(peak - jobs(zone, p) for p in span)
        )
        assert row["cumulative_loss_vs_nation_jobs_quarters"] == pytest.approx(
            sum(peak * jobs(None, p) / n_peak - jobs(zone, p) for p in span)
        )


@pytest.mark.integration
def test_ptce_resilience_gives_the_employment_indices_and_states_the_window(
    tmp_path, indicators_built, cooperation_built
):
    indices, window = datasets.compute_resilience("salaried_employment_sa", "ze2020", "covid_2020")
    assert set(r.EMPLOYMENT_COLUMNS) <= set(indices.columns)
    assert window.peak == "2019-Q4" and window.direction == "higher_is_better"
    # The shift-share deviation in % and the change vs France are the same number.
    assert indices["deviation_contraction_pct"].to_numpy() == pytest.approx(
        indices["change_contraction_vs_nation_pct"].to_numpy(), nan_ok=True
    )
    rates, _ = datasets.compute_resilience("unemployment_rate", "ze2020", "covid_2020")
    assert not set(r.EMPLOYMENT_COLUMNS) & set(rates.columns)
    out = tmp_path / "employment.csv"
    result = CliRunner().invoke(
        app,
        ["resilience", "--indicator", "salaried_employment_sa", "--level", "ze2020",
         "--shock", "covid_2020", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"'peak': '2019-Q4', 'trough': '{window.trough}'" in result.output
    assert f"'recovery_end': '{window.recovery_end}'" in result.output
    table = pd.read_csv(out, dtype={"territory_code": str})
    assert len(table) == len(indices) and "cumulative_loss_jobs_quarters" in table.columns
