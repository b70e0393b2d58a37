"""Figures of the designs: binned scatter of a dose, synthetic control paths, placebo gaps."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis import dose_response, figures, labels, synthetic_control  # noqa: E402

PERIODS = [f"{y}-Q{q}" for y in range(2008, 2016) for q in range(1, 5)]


def test_binned_scatter_draws_the_bins_and_the_regression_line():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"dose": rng.exponential(size=200), "z": rng.normal(size=200)})
    frame["y"] = 0.5 * frame["dose"] + frame["z"] + rng.normal(scale=0.3, size=200)
    bins = dose_response.binned_means(frame, "y", "dose", ["z"], bins=8)
    fig, ax = plt.subplots()
    figures.plot_binned_scatter(bins, ax=ax, lang="fr", x_label="PTCE", y_label="Hausse")
    (line,) = ax.get_lines()
    x, y = line.get_data()
    assert np.polyfit(x, y, 1)[0] == pytest.approx(bins.attrs["slope"])
    assert len(ax.collections[0].get_offsets()) == len(bins)
    alt = figures.get_alt_text(ax)
    assert "200 territoires" in alt and "pente" in alt and "{" not in alt
    plt.close(fig)
    with pytest.raises(ValueError, match="binned_means"):
        figures.plot_binned_scatter(bins.iloc[0:0], x_label="a", y_label="b")


def test_dose_labels_and_units_in_both_languages():
    assert labels.dose_label("n_ptce_per_100k", "fr") == f"PTCE pour 100{labels.NNBSP}000 habitants"
    assert labels.dose_label("n_tiers_lieu_per_100k", "en").endswith("per 100,000 inhabitants")
    assert labels.dose_label("initiatives_per_100k", "en").startswith("Initiatives of every kind")
    assert labels.outcome_unit("rise_vs_nation_pp", "fr") == "point(s)"
    assert labels.outcome_unit("resistance_lagravinese", "en") == ""
    with pytest.raises(KeyError, match="unknown cooperation kind"):
        labels.dose_label("n_nothing_per_100k")


def test_synthetic_control_paths_and_placebo_gaps():
    rng = np.random.default_rng(3)
    donors = pd.DataFrame(
        rng.normal(size=(6, len(PERIODS))).cumsum(axis=1) + 8,
        index=[f"d{i}" for i in range(6)],
        columns=PERIODS,
    )
    panel = donors.copy()
    panel.loc["T"] = 0.5 * donors.loc["d0"] + 0.5 * donors.loc["d1"]
    panel.loc["T", [p for p in PERIODS if p >= "2013-Q1"]] += 1.0
    result = synthetic_control.synthetic_control(panel, "T", list(donors.index), "2013-Q1")
    fig, (top, bottom) = plt.subplots(2, 1)
    figures.plot_synthetic_paths(
        result.path, unit_name="Zone T", treatment_period="2013-Q1", ax=top, lang="en",
        value_label="Rate",
    )  # fmt: skip
    figures.plot_synthetic_gaps(
        result.placebo_gaps, "T", unit_name="Zone T", treatment_period="2013-Q1", ax=bottom
    )
    assert len(top.get_lines()) == 3  # observed, synthetic, the label date
    assert "mean gap after the label +1.00" in figures.get_alt_text(top)
    grey = [line for line in bottom.get_lines() if line.get_color() == figures.NEUTRAL_GREY]
    assert len(grey) == 6 + 1  # the placebos and the label date
    assert "6 placebos" in figures.get_alt_text(bottom)
    assert [t.get_text() for t in bottom.get_xticklabels() if t.get_text()][0].isdigit()
    plt.close(fig)
    with pytest.raises(ValueError, match="not a column"):
        figures.plot_synthetic_gaps(
            result.placebo_gaps, "X", unit_name="X", treatment_period="2013-Q1"
        )
