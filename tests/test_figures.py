"""Tests of analysis.figures: style, colours, plots, saving, the source line, image baselines."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402
from PIL import Image  # noqa: E402

from analysis import figures, keys, labels, maps, sources  # noqa: E402
from figure_data import (  # noqa: E402
    MINUS,
    NBSP,
    NNBSP,
    SOURCE,
    SYNTHETIC_DICTIONARY,
    close_figures,  # noqa: F401 - autouse fixture
    effects_figure,
    synthetic_grid,
    synthetic_results,
)

BASELINE_DIR = Path(__file__).parent / "baseline_images"
UPDATE_BASELINES = os.environ.get("PTCE_UPDATE_BASELINES") == "1"


def test_number_formatter_picks_the_fewest_decimals():
    formatter = figures.NumberFormatter("fr")
    assert formatter.format_ticks([0.0, 2.5, 5.0]) == ["0,0", "2,5", "5,0"]
    assert formatter.format_ticks([0.0, 1000.0, 2000.0]) == ["0", f"1{NNBSP}000", f"2{NNBSP}000"]
    percent = figures.NumberFormatter("fr", percent=True)
    assert percent.format_ticks([5.0, 7.5]) == [f"5,0{NBSP}%", f"7,5{NBSP}%"]
    assert figures.NumberFormatter("en", percent=True).format_ticks([5.0, 7.5]) == ["5.0%", "7.5%"]


def test_labels_from_the_project_dictionary():
    indicators = pytest.importorskip("analysis.indicators")
    row = indicators.INDICATORS.loc["unemployment_rate"]
    assert labels.label("unemployment_rate", "fr") == row["label_fr"]
    assert labels.label("unemployment_rate", "en") == row["label_en"]
    assert figures.indicator_sources("unemployment_rate") == tuple(row["source_ids"])


def test_source_line_in_french_and_english():
    first = sources.get_source(SOURCE)
    second = sources.get_source("insee_ze2020_composition")
    assert figures.source_line([SOURCE], "fr") == (
        f"Source{NBSP}: {first.citation_fr}{NBSP}; traitement{NBSP}: projet PTCE-résilience"
    )
    assert figures.source_line([SOURCE, "insee_ze2020_composition", SOURCE], "en") == (
        f"Sources: {first.citation_en}; {second.citation_en}; processing: PTCE-resilience project"
    )
    line = figures.source_line(["registry"], "fr", date="données 2023")
    assert line.startswith(f"Source{NBSP}: {labels.PROJECT_CITATIONS['registry']['fr']}")
    assert line.endswith("projet PTCE-résilience, données 2023")


def test_source_line_needs_known_sources():
    with pytest.raises(ValueError, match="at least one source"):
        figures.source_line([], "fr")
    with pytest.raises(sources.CatalogueError, match="no_such_source"):
        figures.source_line(["no_such_source"], "fr")


def test_kind_colours_are_fixed_distinct_and_cover_every_kind():
    assert set(keys.KINDS) <= set(figures.KIND_COLOURS)
    assert list(figures.KIND_COLOURS)[: len(keys.KINDS)] == list(keys.KINDS)
    assert {"other", "none"} <= set(figures.KIND_COLOURS)
    assert len(set(figures.KIND_COLOURS.values())) == len(figures.KIND_COLOURS)
    palette = set(figures.OKABE_ITO.values()) | {figures.NEUTRAL_GREY, figures.MISSING_COLOUR}
    assert set(figures.KIND_COLOURS.values()) <= palette
    for lang in labels.LANGS:
        assert set(labels.KIND_LABELS[lang]) == set(figures.KIND_COLOURS)


def test_style_sheet_sets_a_font_present_on_a_bare_machine():
    from matplotlib import font_manager

    with figures.style_context():
        assert matplotlib.rcParams["font.family"] == ["DejaVu Sans"]
        assert matplotlib.rcParams["svg.hashsalt"] == "ptce-resilience"
        found = font_manager.findfont(
            font_manager.FontProperties(family="DejaVu Sans"), fallback_to_default=False
        )
    assert Path(found).exists()


def test_effects_plot_in_both_languages():
    ax = figures.plot_effects(synthetic_results(), dictionary=SYNTHETIC_DICTIONARY)
    assert ax.get_xlabel() == "Effet estimé sur : taux de chômage"
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Appariement",
        "Tous les territoires",
        "Doubles différences",
    ]
    notes = [t.get_text() for t in ax.texts]
    assert f"n{NBSP}={NBSP}1{NNBSP}300 dont 45 traités" in notes
    alt = figures.get_alt_text(ax)
    assert f"de {MINUS}0,24 (Tous les territoires) à +0,31 (Appariement)" in alt
    assert "contient zéro dans 2 cas sur 3" in alt
    ax_en = figures.plot_effects(synthetic_results(), lang="en", dictionary=SYNTHETIC_DICTIONARY)
    assert ax_en.get_xlabel() == "Estimated effect on: unemployment rate"
    assert "n = 1,300, 45 treated" in [t.get_text() for t in ax_en.texts]
    assert "contains zero in 2 of 3 cases" in figures.get_alt_text(ax_en)


def test_effects_plot_needs_its_columns():
    with pytest.raises(KeyError, match="ci_low"):
        figures.plot_effects(synthetic_results().drop(columns="ci_low"))


def test_series_plot_uses_group_colours_and_labels():
    wide = pd.DataFrame(
        [[7.1, 7.5, 9.0, 8.2], [6.5, 6.7, 8.0, 7.9]],
        index=["treated", "comparison"],
        columns=["2008-Q1", "2008-Q2", "2008-Q3", "2009-Q1"],
    )
    wide.attrs["indicator"] = "unemployment_rate"
    ax = figures.plot_series(
        wide, dictionary=SYNTHETIC_DICTIONARY, shocks=[("2008-Q2", "2008-Q3", "Crise")]
    )
    assert ax.get_ylabel() == "Taux de chômage (%)"
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == [
        labels.text("treated"),
        labels.text("comparison"),
    ]
    assert (
        matplotlib.colors.to_hex(lines[0].get_color()).upper() == figures.GROUP_COLOURS["treated"]
    )
    assert lines[0].get_xdata()[2] == 2008.5
    alt = figures.get_alt_text(ax)
    assert alt.startswith("Taux de chômage de 2008-Q1 à 2009-Q1 (2 séries)")
    assert f"de 7,1{NBSP}% à 8,2{NBSP}%" in alt
    ax_en = figures.plot_series(wide, lang="en", dictionary=SYNTHETIC_DICTIONARY)
    assert ax_en.get_ylabel() == "Unemployment rate (%)"
    assert "from 7.1% to 8.2%" in figures.get_alt_text(ax_en)


def test_event_study_plot():
    table = pd.DataFrame(
        {"event_time": range(-3, 4), "effect": [0.0, 0.1, 0.0, 0.4, 0.5, 0.3, 0.1]}
    )
    table["ci_low"], table["ci_high"] = table["effect"] - 0.2, table["effect"] + 0.2
    ax = figures.plot_event_study(
        table, indicator="unemployment_rate", dictionary=SYNTHETIC_DICTIONARY
    )
    assert ax.get_xlabel() == "Trimestres depuis le début du choc"
    assert ax.get_ylabel() == f"Écart estimé{NBSP}: taux de chômage"
    alt = figures.get_alt_text(ax)
    assert "de +0,10 à +0,50 après" in alt
    # after event time 0 (the peak): 0.5 and 0.3 exclude zero, 0.1 does not
    assert "2 coefficients sur 3 après le choc" in alt
    ax_en = figures.plot_event_study(table, lang="en", time_unit="year", value_label="Employment")
    assert ax_en.get_xlabel() == "Years since the start of the shock"
    assert "2 of 3 post-shock coefficients" in figures.get_alt_text(ax_en)
    flagged = table.assign(is_reference=table["event_time"] == -1)
    ax_flagged = figures.plot_event_study(flagged, value_label="x")
    assert "3 coefficients sur 4 après le choc" in figures.get_alt_text(ax_flagged)


def test_kind_counts_plot_uses_the_fixed_kind_colours():
    counts = pd.Series({"tzcld": 60, "ptce": 158, "tiers_lieu": 1800})
    ax = figures.plot_kind_counts(counts)
    bars = ax.patches
    assert [matplotlib.colors.to_hex(b.get_facecolor()).upper() for b in bars] == [
        figures.KIND_COLOURS[k] for k in ("ptce", "tzcld", "tiers_lieu")
    ]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["PTCE", "TZCLD", "Tiers-lieux"]
    assert (
        figures.get_alt_text(ax)
        == f"Nombre d'initiatives par type : PTCE 158, TZCLD 60, Tiers-lieux 1{NNBSP}800."
    )
    ax_en = figures.plot_kind_counts(counts, lang="en")
    assert (
        figures.get_alt_text(ax_en)
        == "Number of initiatives by kind: PTCE 158, TZCLD 60, Third places 1,800."
    )
    with pytest.raises(KeyError, match="unknown kind"):
        figures.plot_kind_counts(pd.Series({"ptce_typo": 1}))


def test_distribution_plot():
    frame = pd.DataFrame(
        {
            "group": ["treated"] * 3 + ["comparison"] * 4,
            "resistance": [0.1, 0.2, 0.9, -0.5, 0.0, 0.3, 0.4],
        }
    )
    ax = figures.plot_distribution(
        frame,
        "resistance",
        "group",
        value_label="Indice de résistance",
        order=["treated", "comparison"],
    )
    alt = figures.get_alt_text(ax)
    assert f"médiane 0,20 pour Territoires avec coopération (n{NBSP}={NBSP}3)" in alt
    assert f"médiane 0,15 pour Territoires de comparaison (n{NBSP}={NBSP}4)" in alt


def test_balance_plot_labels_covariates_from_the_dictionary():
    balance = pd.DataFrame(
        {
            "covariate": ["unemployment_rate", "share_x"],
            "smd_before": [0.4, -0.2],
            "smd_after": [0.05, -0.12],
        }
    )
    ax = figures.plot_balance(balance, lang="en", dictionary=SYNTHETIC_DICTIONARY)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Unemployment rate", "share_x"]
    assert figures.get_alt_text(ax) == (
        "Standardised mean differences for 2 variables: 2 beyond 0.1 before matching, 1 after."
    )


def test_helpers_draw_on_a_given_axis():
    fig, (left, right) = plt.subplots(1, 2)
    assert figures.plot_kind_counts(pd.Series({"ptce": 3}), ax=left) is left
    assert (
        figures.plot_effects(synthetic_results(), ax=right, dictionary=SYNTHETIC_DICTIONARY)
        is right
    )
    assert (
        figures.figure_alt_text(fig)
        == f"{figures.get_alt_text(left)} {figures.get_alt_text(right)}"
    )


def test_save_figure_writes_every_format_and_a_sidecar(tmp_path):
    fig = effects_figure()
    size = tuple(fig.get_size_inches())
    files = figures.save_figure(
        fig,
        "unemployment_effects",
        sources=[SOURCE],
        out_dir=tmp_path,
        title="Effet des coopérations sur le chômage",
        caption="Trois spécifications.",
    )
    assert set(files) == {"png", "svg", "pdf", "slide_png", "json"}
    assert all(path.exists() and path.parent == tmp_path for path in files.values())
    with Image.open(files["png"]) as png:
        assert png.size == (round(size[0] * 300), round(size[1] * 300))
    with Image.open(files["slide_png"]) as slide:
        assert abs(slide.width / slide.height - 16 / 9) < 0.01
        assert slide.width >= 1900
    assert files["pdf"].read_bytes().startswith(b"%PDF")
    assert b"<svg" in files["svg"].read_bytes()[:500]
    sidecar = json.loads(files["json"].read_text(encoding="utf-8"))
    assert sidecar["title"] == "Effet des coopérations sur le chômage"
    assert sidecar["sources"] == [SOURCE] and sidecar["lang"] == "fr"
    assert sidecar["source_line"] == figures.source_line([SOURCE], "fr")
    assert sidecar["alt_text"] == figures.figure_alt_text(fig)
    assert sidecar["files"]["slide_png"] == "unemployment_effects.slide.png"
    # the figure is restored after the slide version, and carries its source line
    assert tuple(fig.get_size_inches()) == size
    assert any(t.get_text().startswith("Source") for t in fig.texts)


def test_save_figure_is_deterministic(tmp_path):
    hashes = []
    for run in ("a", "b"):
        values = [5.2, 6.1, 7.3, 8.8, 9.9, 12.5, 4.1, 6.6]
        fig = maps.plot_choropleth(
            synthetic_grid(values),
            "unemployment_rate",
            dictionary=SYNTHETIC_DICTIONARY,
            insets=False,
        ).figure
        files = figures.save_figure(
            fig, "map", sources=[SOURCE], out_dir=tmp_path / run, title="Carte"
        )
        hashes.append({k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in files.items()})
        plt.close(fig)
    assert hashes[0] == hashes[1]
    assert b"/CreationDate" not in (tmp_path / "a" / "map.pdf").read_bytes()
    assert b"<dc:date>" not in (tmp_path / "a" / "map.svg").read_bytes()


def test_save_figure_requires_alt_text_sources_and_a_good_name(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with pytest.raises(ValueError, match="alt text"):
        figures.save_figure(fig, "line", sources=[SOURCE], out_dir=tmp_path)
    with pytest.raises(ValueError, match="at least one source"):
        figures.save_figure(fig, "line", sources=[], out_dir=tmp_path, alt_text="A line.")
    with pytest.raises(ValueError, match="named by content"):
        figures.save_figure(
            fig, "Figure 3.png", sources=[SOURCE], out_dir=tmp_path, alt_text="A line."
        )
    files = figures.save_figure(
        fig, "line", sources=[SOURCE], out_dir=tmp_path, alt_text="A line.", lang="en"
    )
    assert json.loads(files["json"].read_text())["alt_text"] == "A line."


def _compare_with_baseline(fig, name: str, tmp_path: Path, tol: float = 6.0) -> None:
    """Render ``fig`` at low resolution and compare it with tests/baseline_images/<name>.png.

    Set PTCE_UPDATE_BASELINES=1 to (re)write the baseline after a deliberate change.
    """
    actual = tmp_path / f"{name}.png"
    with figures.style_context():
        fig.savefig(actual, dpi=60, metadata={"Software": None})
    expected = BASELINE_DIR / f"{name}.png"
    if UPDATE_BASELINES:
        BASELINE_DIR.mkdir(exist_ok=True)
        expected.write_bytes(actual.read_bytes())
    assert expected.exists(), f"{expected} missing: run with PTCE_UPDATE_BASELINES=1 to create it."
    problem = compare_images(str(expected), str(actual), tol=tol)
    assert problem is None, problem


def test_image_resilience_index_map(tmp_path):
    rng = np.random.default_rng(42)
    values = np.round(rng.normal(0.0, 1.0, 24), 2)
    gdf = synthetic_grid(list(values))
    gdf["resistance_index"] = gdf.pop("unemployment_rate")
    ax = maps.plot_choropleth(
        gdf,
        "resistance_index",
        legend_title="Indice de résistance, 2008-2009",
        center=0.0,
        insets=False,
    )
    figures.save_figure(
        ax.figure,
        "resistance_map",
        sources=[SOURCE],
        out_dir=tmp_path,
        title="Résistance au choc de 2008",
    )
    _compare_with_baseline(ax.figure, "resistance_map", tmp_path)


def test_image_effects_plot(tmp_path):
    fig = effects_figure()
    figures.save_figure(
        fig,
        "effects",
        sources=[SOURCE, "registry"],
        out_dir=tmp_path,
        title="Effet des coopérations sur le chômage",
    )
    _compare_with_baseline(fig, "effects", tmp_path)


def test_image_comparison_detects_a_change(tmp_path):
    if UPDATE_BASELINES:
        pytest.skip("baselines are being rewritten")
    fig = effects_figure()
    figures.save_figure(
        fig,
        "effects",
        sources=[SOURCE, "registry"],
        out_dir=tmp_path,
        title="Effet des coopérations sur le chômage",
    )
    fig.axes[0].plot([0.0, 0.5], [0.0, 2.0], color="red", linewidth=4)
    with pytest.raises(AssertionError):
        _compare_with_baseline(fig, "effects", tmp_path)


def test_use_style_and_number_format_for_hand_made_plots():
    with matplotlib.rc_context():
        figures.use_style()
        assert matplotlib.rcParams["axes.spines.top"] is False
        fig, ax = plt.subplots()
        ax.plot([0, 1000, 2000], [0.0, 2.5, 5.0])
        figures.apply_number_format(ax, "y", "fr", percent=True)
        figures.apply_number_format(ax, "x", "fr")
        fig.canvas.draw()
        y_ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        x_ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert all(t.endswith(f"{NBSP}%") and "." not in t for t in y_ticks)
    assert f"1{NNBSP}000" in x_ticks


@pytest.mark.parametrize("layout", [None, "tight", "constrained"])
def test_source_line_never_overlaps_the_plot(tmp_path, layout):
    fig, ax = plt.subplots(layout=layout)
    ax.plot([1, 2, 3], [3, 1, 2])
    ax.set_xlabel("Période")
    figures.save_figure(fig, "line", sources=[SOURCE], out_dir=tmp_path, alt_text="Une ligne.")
    renderer = fig.canvas.get_renderer()
    line = next(t for t in fig.texts if t.get_text().startswith("Source"))
    assert line.get_window_extent(renderer).y1 < ax.get_tightbbox(renderer).y0


def test_effects_plot_names_model_specifications():
    results = synthetic_results().assign(
        specification=["difference_in_means", "ols_hc3+controls", "nn_matching_k1_biascorr"]
    )
    ax = figures.plot_effects(results, dictionary=SYNTHETIC_DICTIONARY)
    ticks = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    assert ticks[0] == "Différence de moyennes"
    assert ticks[2] == "Appariement (1 plus proche voisin), biais corrigé"
    alt = figures.get_alt_text(ax)  # extremes: -0.24 (row 2) and +0.31 (row 1)
    assert f"de {MINUS}0,24 (Régression (MCO, erreurs HC3) + contrôles)" in alt
    assert "à +0,31 (Différence de moyennes)" in alt


def test_permutation_plot_marks_the_observed_value_in_both_languages():
    draws = np.random.default_rng(0).normal(scale=0.1, size=999)  # synthetic null draws
    ax = figures.plot_permutation(draws, -0.25, indicator="unemployment_rate",
                                  dictionary=SYNTHETIC_DICTIONARY)  # fmt: skip
    assert ax.get_xlabel() == f"Écart de moyennes, traités moins comparés{NBSP}: taux de chômage"
    assert ax.get_ylabel() == "Nombre de tirages"
    assert sum(p.get_height() for p in ax.patches) == 999
    vertical = sorted(line.get_xdata()[0] for line in ax.get_lines())
    assert vertical == pytest.approx([-0.25, 0.25])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Traitement réparti au hasard (999 tirages)" in legend
    assert f"Écart observé ({MINUS}0,25)" in legend
    share = np.mean(np.abs(draws) >= 0.25)
    alt = figures.get_alt_text(ax)
    expected_share = labels.format_percent(100 * share, "fr", 1)
    assert "999 écarts" in alt and f"par {expected_share} des tirages" in alt
    ax_en = figures.plot_permutation(draws, 0.05, lang="en")
    assert ax_en.get_xlabel() == "Difference in means, treated minus comparison"
    assert "Observed difference (+0.05)" in [t.get_text() for t in ax_en.get_legend().get_texts()]
    assert "reached or exceeded in absolute value by" in figures.get_alt_text(ax_en)
    with pytest.raises(ValueError, match="no finite"):
        figures.plot_permutation([np.nan], 0.1)


def test_least_squares_line_matches_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    x = rng.uniform(5, 15, 40)  # synthetic points
    y = 0.3 * x + rng.normal(size=40)
    grid = np.array([5.0, 10.0, 15.0])
    band = figures.least_squares_line(x, y, grid)
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    prediction = fit.get_prediction(sm.add_constant(grid)).summary_frame(alpha=0.05)
    np.testing.assert_allclose(band["fit"], prediction["mean"])
    np.testing.assert_allclose(band["low"], prediction["mean_ci_lower"])
    np.testing.assert_allclose(band["high"], prediction["mean_ci_upper"])
    assert band.attrs["slope"] == pytest.approx(fit.params[1])
    assert band.attrs["slope_low"] == pytest.approx(fit.conf_int()[1][0])
    with pytest.raises(ValueError, match="constant"):
        figures.least_squares_line([1, 1, 1], [1, 2, 3], grid)


def test_scatter_fit_plot_draws_points_line_and_band():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"unemployment_rate": rng.uniform(5, 15, 30)})  # synthetic points
    frame["salaried_employment"] = 2 * frame["unemployment_rate"] + rng.normal(size=30)
    frame.loc[0, "salaried_employment"] = np.nan
    ax = figures.plot_scatter_fit(
        frame, "unemployment_rate", "salaried_employment", dictionary=SYNTHETIC_DICTIONARY
    )
    assert ax.get_xlabel() == "Taux de chômage (%)"
    assert ax.get_ylabel() == "Emploi salarié (emplois)"
    assert len(ax.collections[0].get_offsets()) == 29  # the row with a missing value is not drawn
    alt = figures.get_alt_text(ax)
    assert alt.startswith("Nuage de 29 territoires : emploi salarié selon taux de chômage")
    slope = figures.least_squares_line(
        frame["unemployment_rate"].iloc[1:], frame["salaried_employment"].iloc[1:], [0.0]
    ).attrs["slope"]
    assert f"pente {labels.format_number(slope, 'fr', 3, sign=True)}" in alt
    ax_en = figures.plot_scatter_fit(
        frame, "unemployment_rate", "salaried_employment", lang="en", x_label="ESS share"
    , dictionary=SYNTHETIC_DICTIONARY)  # fmt: skip
    assert ax_en.get_xlabel() == "ESS share"
    assert "Least-squares line (no controls)" in [
        t.get_text() for t in ax_en.get_legend().get_texts()
    ]
    plt.close("all")
