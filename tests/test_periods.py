"""Period labels: one parser, one writer, shared by the loaders and the methods."""

import pytest

from analysis import periods


def test_labels_are_written_and_read_back():
    assert periods.period_label(2008, 1) == "2008-Q1"
    assert periods.period_label(2019) == "2019"
    assert periods.period_label(2008.0, 4.0) == "2008-Q4"  # numbers read from a spreadsheet
    with pytest.raises(ValueError, match="quarter 5"):
        periods.period_label(2008, 5)
    for label in ("2008-Q1", "2008-Q4", "2019"):
        assert periods.QUARTER.match(label) or periods.YEAR.match(label)


def test_time_year_step_and_index():
    assert periods.period_to_time("2008-Q3") == 2008.5
    assert periods.period_year("2008-Q3") == 2008
    assert periods.period_step("2008-Q3") == 0.25
    assert periods.period_step("2019") == 1.0
    assert periods.period_index("2009-Q1") - periods.period_index("2008-Q4") == 1
    assert periods.period_index("2019") == 2019
    with pytest.raises(ValueError, match="neither"):
        periods.period_to_time("2008T1")


def test_frequency_and_order():
    assert periods.period_frequency(["2008-Q1", "2008-Q2"]) == "quarterly"
    assert periods.period_frequency(["2019"]) == "annual"
    with pytest.raises(ValueError, match="mix"):
        periods.period_frequency(["2008", "2008-Q1"])
    assert periods.sorted_periods(["2009-Q1", "2008-Q4", "2008-Q1"]) == [
        "2008-Q1",
        "2008-Q4",
        "2009-Q1",
    ]
