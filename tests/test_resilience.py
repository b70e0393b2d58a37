"""Tests for analysis.resilience: shock windows and indices on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import datasets, labels
from analysis import resilience as r


def quarters(first: int, last: int) -> list[str]:
    return [f"{y}-Q{q}" for y in range(first, last + 1) for q in range(1, 5)]


# --------------------------------------------------------------------------- periods
def test_period_to_time_and_frequency():
    assert r.period_to_time("2008-Q1") == 2008.0
    assert r.period_to_time("2008-Q3") == 2008.5
    assert r.period_to_time("2019") == 2019.0
    assert r.period_frequency(["2008-Q1", "2008-Q2"]) == "quarterly"
    assert r.period_frequency(["2019", "2020"]) == "annual"
    with pytest.raises(ValueError, match="YYYY"):
        r.period_to_time("2008T1")
    with pytest.raises(ValueError, match="mix"):
        r.period_frequency(["2008", "2008-Q1"])


# --------------------------------------------------------------------------- windows
def synthetic_national_employment() -> pd.Series:
    """Synthetic national employment: +0.5/quarter, a dip bottoming in 2009-Q2."""
    periods = quarters(2005, 2012)
    values = pd.Series(100 + 0.5 * np.arange(len(periods)), index=periods)
    dip = dict(zip(quarters(2008, 2009)[3:], [-2.0, -5.0, -8.0, -7.0, -5.0], strict=True))
    for period, change in dip.items():
        values[period] += change
    return values


def test_detect_window_employment_finds_peak_and_trough():
    national = synthetic_national_employment()
    window = r.detect_shock_window(national, "recession_2008", indicator="salaried_employment_sa")
    # Peak: best value in 2007-2008 → 2008-Q3 (before the first drop in 2008-Q4).
    assert window.peak == "2008-Q3"
    assert window.trough == "2009-Q2"  # the deepest point (-8)
    assert window.recovery_end == "2011-Q4"
    assert window.window_source == "detected"
    assert window.national_peak_value == national["2008-Q3"]


def test_detect_window_unemployment_uses_minimum_as_peak():
    periods = quarters(2006, 2012)
    rate = pd.Series(8.0, index=periods)
    rate["2008-Q1"] = 7.0  # lowest unemployment = peak of activity
    rate["2009-Q4"] = 9.6  # highest = trough
    rate["2012-Q4"] = 11.0  # outside the trough search window: ignored
    window = r.detect_shock_window(rate, "recession_2008", indicator="unemployment_rate")
    assert window.direction == "lower_is_better"
    assert (window.peak, window.trough) == ("2008-Q1", "2009-Q4")


def test_detect_window_overrides_and_errors():
    national = synthetic_national_employment()
    window = r.detect_shock_window(national, "recession_2008", trough="2009-Q4")
    assert window.trough == "2009-Q4" and window.window_source == "override:trough"
    with pytest.raises(ValueError, match="not a period"):
        r.detect_shock_window(national, "recession_2008", peak="1999-Q1")
    with pytest.raises(KeyError, match="known shocks"):
        r.detect_shock_window(national, "oil_1973")
    with pytest.raises(ValueError, match="does not cover"):
        r.detect_shock_window(national, "covid_2020")


def test_detect_windows_table_and_covid_peak_stops_before_lockdown():
    periods = quarters(2018, 2022)
    employment = pd.Series(100.0 + np.arange(len(periods)) * 0.1, index=periods)
    employment["2020-Q2"] = 95.0
    employment["2020-Q3"] = 98.0
    table = r.detect_shock_windows(employment, None)
    assert list(table.index) == ["covid_2020"]  # 2008 not covered: skipped when shock=None
    row = table.loc["covid_2020"]
    assert (
        row["peak"] == "2020-Q1" and row["trough"] == "2020-Q2" and row["recovery_end"] == "2021-Q4"
    )
    window = r.as_shock_window(row)
    assert window.peak_search_end == "2020-Q1"


def test_detect_window_annual_series():
    years = [str(y) for y in range(2015, 2024)]
    employment = pd.Series([1, 2, 3, 4, 5, 4.5, 4.8, 5.2, 5.5], index=years, dtype=float)
    window = r.detect_shock_window(employment, "covid_2020")
    assert (window.peak, window.trough, window.recovery_end, window.frequency) == (
        "2019",
        "2020",
        "2021",
        "annual",
    )


# --------------------------------------------------------------------------- indices
def three_region_example():
    """Hand-computed example: three regions summing to the nation.

    Peak 2008-Q4, trough 2009-Q4, recovery end 2011-Q4.
    """
    periods = quarters(2007, 2011)
    regions = {"A": (50, 45, 50), "B": (30, 24, 27), "C": (20, 21, 22)}
    panel = pd.DataFrame(np.nan, index=pd.Index(list(regions), name="code"), columns=periods)
    for code, (p, t, e) in regions.items():
        panel.loc[code, periods[:8]] = p  # flat before and at the peak
        panel.loc[code, periods[8:12]] = t
        panel.loc[code, periods[12:]] = e
    national = panel.sum()
    window = r.ShockWindow(
        shock="test",
        indicator="salaried_employment_sa",
        direction="higher_is_better",
        peak="2008-Q4",
        trough="2009-Q4",
        recovery_end="2011-Q4",
        frequency="quarterly",
        peak_search_start="2007-Q1",
        peak_search_end="2008-Q4",
        trough_search_end="2010-Q4",
    )
    return panel, national, window


def test_martin_and_lagravinese_on_three_regions():
    panel, national, window = three_region_example()
    indices = r.resilience_indices(panel, national, window)
    # Nation: 100 → 90 (−10 %) → 99 (+10 %).
    expected = {
        #     beta    resistance     recovery
        "A": (1.0, 0.0, (5 / 45 - 0.1) / 0.1),
        "B": (2.0, -1.0, (3 / 24 - 0.1) / 0.1),
        "C": (-0.5, 1.5, (1 / 21 - 0.1) / 0.1),
    }
    for code, (beta, resistance, recovery) in expected.items():
        row = indices.loc[code]
        assert r.martin_sensitivity(row["change_contraction"], -0.1) == pytest.approx(beta)
        assert row["resistance_lagravinese"] == pytest.approx(resistance)
        assert row["recovery_lagravinese"] == pytest.approx(recovery)
    # Martin's β is not a column: over a contraction resistance = 1 − β exactly.
    assert "sensitivity_martin" not in indices.columns
    assert (indices[list(r.REASON_COLUMNS)] == "").all(axis=None)
    assert indices.loc["B", "change_contraction"] == pytest.approx(-0.2)
    # Back to the pre-shock level: A in 2010-Q1 (1 quarter after the 2009-Q4 trough),
    # B never, C at once.
    assert indices.loc["A", "periods_to_pre_shock_value"] == 1
    assert indices.loc["C", "periods_to_pre_shock_value"] == 0
    assert math.isnan(indices.loc["B", "periods_to_pre_shock_value"])
    assert not indices.loc["B", "has_returned_to_pre_shock_value"]
    assert indices.index.name == "territory_code"
    assert set(r.WINDOW_COLUMNS) <= set(indices.columns)
    assert (indices["peak"] == "2008-Q4").all()


def test_unemployment_shock_in_points_and_time_to_return():
    periods = quarters(2007, 2011)
    nation = pd.Series(7.0, index=periods)
    nation[periods[8:]] = [9.0] * 4 + [8.0] * 8
    x = pd.Series(6.0, index=periods)
    x[periods[8:]] = [9.0, 8.0, 7.0, 6.5, 6.0] + [6.0] * 7
    y = pd.Series(7.0, index=periods)
    y[periods[8:]] = [8.0] * 12
    panel = pd.DataFrame({"X": x, "Y": y}).T
    window = r.detect_shock_window(
        nation, "recession_2008", indicator="unemployment_rate", peak="2008-Q4"
    )
    assert window.trough == "2009-Q1"  # first quarter at the maximum (9.0)
    indices = r.resilience_indices(panel, nation, window)
    # X: 6 → 9 = +3 pts vs +2 for France → +1 point worse;
    # back at 6.0 four quarters after the trough.
    assert indices.loc["X", "rise_pp"] == pytest.approx(3.0)
    assert indices.loc["X", "rise_vs_nation_pp"] == pytest.approx(1.0)
    assert indices.loc["X", "periods_to_pre_shock_value"] == 4
    # Y: 7 → 8 = +1 point (1 better than France), never back to 7.
    assert indices.loc["Y", "rise_vs_nation_pp"] == pytest.approx(-1.0)
    assert math.isnan(indices.loc["Y", "periods_to_pre_shock_value"])
    # For a rate the indices use points, signed "positive = better": France +2 points,
    # Y +1 (half the national rise: +0.5), X +3 (−0.5).
    assert indices.loc["Y", "resistance_lagravinese"] == pytest.approx(0.5)
    assert indices.loc["X", "resistance_lagravinese"] == pytest.approx(-0.5)
    assert indices.loc["Y", "resistance_lagravinese"] == pytest.approx(
        1 - r.martin_sensitivity(indices.loc["Y", "change_contraction"], 2.0)
    )
    # Recovery: France 9 → 8 (−1 point); X 9 → 6 (−3: +2), Y 8 → 8 (0: −1).
    assert indices.loc["X", "recovery_lagravinese"] == pytest.approx(2.0)
    assert indices.loc["Y", "recovery_lagravinese"] == pytest.approx(-1.0)


def test_rate_index_nan_with_reason_when_nation_barely_moves():
    periods = quarters(2007, 2011)
    nation = pd.Series(7.0, index=periods)
    nation[periods[8:]] = [9.2] * 4 + [9.0] * 8  # recovery −0.2 point, as France in 2008-11
    territory = nation.copy()
    territory[periods[12:]] = 8.0  # a real fall of 1.2 points
    panel = pd.DataFrame({"Z": territory, "W": nation}).T
    window = r.detect_shock_window(
        nation, "recession_2008", indicator="unemployment_rate", peak="2008-Q4"
    )
    indices = r.resilience_indices(panel, nation, window)
    assert indices["recovery_lagravinese"].isna().all()
    assert "below the 0.5-point threshold" in indices.loc["Z", "recovery_lagravinese_reason"]
    french = labels.withheld_reason(indices.loc["Z", "recovery_lagravinese_reason"], "fr")
    assert "sous le seuil de 0,5 point" in french and "below" not in french
    assert indices["resistance_lagravinese"].notna().all()
    assert indices.loc["Z", "resistance_lagravinese_reason"] == ""
    # The points columns stay: the territory's recovery beat the nation's by 1 point.
    assert indices.loc["Z", "recovery_vs_nation_pp"] == pytest.approx(-1.0)


def test_level_index_nan_with_reason_below_one_percent():
    panel, national, window = three_region_example()
    flat = panel.copy()
    flat.loc["A", window.trough] = 50 - 0.5  # nation 100 → 99.5: −0.5 %
    flat.loc["B", window.trough] = 30
    flat.loc["C", window.trough] = 20
    indices = r.resilience_indices(flat, flat.sum(), window)
    assert indices["resistance_lagravinese"].isna().all()
    assert "-0.5 %" in indices.loc["A", "resistance_lagravinese_reason"]
    french = labels.withheld_reason(indices.loc["A", "resistance_lagravinese_reason"], "fr")
    assert french == "variation nationale de -0,5 %, sous le seuil de 1 %"
    assert labels.withheld_reason("something else", "fr") == "something else"
    assert r.national_change_too_small(-0.011, is_rate=False) == ""
    assert r.national_change_too_small(0.6, is_rate=True) == ""


def test_cumulative_loss_against_trend():
    periods = quarters(2006, 2010)
    t = np.arange(len(periods), dtype=float)
    on_trend = pd.Series(100 + t, index=periods)
    dipped = on_trend.copy()
    peak_position = periods.index("2008-Q4")
    # 10 % below trend in the four quarters after the peak, back on trend afterwards.
    dipped.iloc[peak_position + 1 : peak_position + 5] *= 0.9
    panel = pd.DataFrame({"ON": on_trend, "DIP": dipped}).T
    window = r.ShockWindow(
        "test",
        "salaried_employment_sa",
        "higher_is_better",
        "2008-Q4",
        "2009-Q1",
        "2010-Q4",
        "quarterly",
    )
    loss = r.cumulative_loss_vs_trend(panel, window, trend_periods=8)
    assert loss["ON"] == pytest.approx(0.0, abs=1e-9)
    assert loss["DIP"] == pytest.approx(40.0)  # 4 quarters × 10 % of trend


def test_cumulative_loss_for_rates_in_points():
    periods = quarters(2006, 2010)
    rate = pd.Series(8.0, index=periods)
    rate[periods[12:14]] = 10.0  # two quarters 2 points above a flat trend
    window = r.ShockWindow(
        "test", "unemployment_rate", "lower_is_better", "2008-Q4", "2009-Q1", "2010-Q4", "quarterly"
    )
    loss = r.cumulative_loss_vs_trend(pd.DataFrame({"Z": rate}).T, window)
    assert loss["Z"] == pytest.approx(4.0)


def test_territory_turning_points_own_peak_and_trough():
    panel, national, window = three_region_example()
    panel = panel.copy()
    panel.loc["C", "2010-Q2"] = 19.0  # C's own trough comes later than the nation's
    own = r.territory_turning_points(panel, window)
    assert own.loc["A", "own_peak"] == "2007-Q1"  # flat: the first best value
    assert own.loc["A", "own_trough"] == "2009-Q1"
    assert own.loc["C", "own_trough"] == "2010-Q2"
    assert own.loc["C", "own_depth"] == pytest.approx(-0.05)


def test_indices_fail_loudly_when_periods_missing():
    panel, national, window = three_region_example()
    with pytest.raises(ValueError, match="trough"):
        r.resilience_indices(panel.drop(columns="2009-Q4"), national, window)


def test_martin_nan_when_nation_flat():
    assert math.isnan(r.martin_sensitivity(0.1, 0.0))
    assert math.isnan(r.lagravinese_index(0.1, 0.0))


# --------------------------------------------------------------------------- integration
@pytest.fixture(scope="module")
def built_indicators(request):
    request.getfixturevalue("indicators_built")


@pytest.mark.integration
@pytest.mark.parametrize(
    ("indicator", "level", "shock"),
    [
        ("unemployment_rate", "dep", "recession_2008"),
        ("unemployment_rate", "ze2020", "recession_2008"),
        ("unemployment_rate", "dep", "covid_2020"),
        ("salaried_employment_sa", "ze2020", "covid_2020"),
    ],
)
def test_resilience_on_real_data(built_indicators, indicator, level, shock):
    indices, window = datasets.compute_resilience(indicator, level, shock)
    expected_min = {"dep": 90, "ze2020": 280}[level]
    assert len(indices) >= expected_min
    assert indices.index.is_unique
    assert window.frequency == "quarterly"
    assert r.period_to_time(window.peak) < r.period_to_time(window.trough)
    core = indices[["change_contraction", "resistance_lagravinese"]]
    # Overseas territories start in 2014, so for 2008 they are NaN; the rest must be finite.
    finite_share = np.isfinite(core.to_numpy(dtype=float)).all(axis=1).mean()
    assert finite_share > 0.9
    recovery_reason = indices["recovery_lagravinese_reason"].iloc[0]
    if (indicator, shock) == ("unemployment_rate", "recession_2008"):
        # France métropolitaine 9.2 % → 9.0 % in 2009-Q4 → 2011-Q4: too small to divide by.
        assert indices["recovery_lagravinese"].isna().all() and "threshold" in recovery_reason
    else:
        assert recovery_reason == ""
        assert np.isfinite(indices["recovery_lagravinese"]).mean() > 0.9


def test_cumulative_loss_against_peak_level():
    periods = quarters(2006, 2010)
    falling = pd.Series(
        np.linspace(10, 6, len(periods)), index=periods
    )  # keeps improving: negative loss
    window = r.ShockWindow(
        "test", "unemployment_rate", "lower_is_better", "2008-Q4", "2009-Q1", "2010-Q4", "quarterly"
    )
    panel = pd.DataFrame({"F": falling}).T
    vs_peak = r.cumulative_loss_vs_peak(panel, window)["F"]
    vs_trend = r.cumulative_loss_vs_trend(panel, window)["F"]
    step = 4 / (len(periods) - 1)
    assert vs_peak == pytest.approx(
        -step * sum(range(1, 9))
    )  # 8 quarters, each further below the peak
    assert vs_trend == pytest.approx(0.0, abs=1e-9)  # exactly on its trend
