"""Tests of analysis.figures: style, FR/EN labels and numbers, helpers, saving, gallery, deck."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402
from PIL import Image  # noqa: E402
from shapely.geometry import box  # noqa: E402

from analysis import figures, sources  # noqa: E402

NBSP, NNBSP, MINUS = "\u00a0", "\u202f", "\u2212"
BASELINE_DIR = Path(__file__).parent / "baseline_images"
UPDATE_BASELINES = os.environ.get("PTCE_UPDATE_BASELINES") == "1"
SOURCE = "insee_unemployment_ze"

# Synthetic unit-test fixtures: a tiny indicator dictionary, results and maps.
SYNTHETIC_DICTIONARY = pd.DataFrame(
    {
        "label_fr": ["Taux de chômage", "Emploi salarié"],
        "label_en": ["Unemployment rate", "Salaried employment"],
        "unit": ["pct", "jobs"],
        "unit_label_fr": ["%", "emplois"],
        "unit_label_en": ["%", "jobs"],
        "source_ids": [("insee_unemployment_ze",), ("urssaf_employment_ze",)],
    },
    index=pd.Index(["unemployment_rate", "salaried_employment"], name="indicator"),
)


def synthetic_grid(values, *, crs=2154) -> gpd.GeoDataFrame:
    """Synthetic squares in Lambert-93, four per row, with names and a value column."""
    geometries = [
        box(
            600_000 + (i % 4) * 50_000,
            6_600_000 + (i // 4) * 50_000,
            650_000 + (i % 4) * 50_000,
            6_650_000 + (i // 4) * 50_000,
        )
        for i in range(len(values))
    ]
    return gpd.GeoDataFrame(
        {
            "territory_code": [f"Z{i:02d}" for i in range(len(values))],
            "territory_name": [f"Zone {i}" for i in range(len(values))],
            "unemployment_rate": values,
        },
        geometry=geometries,
        crs=crs,
    )


def synthetic_results() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "specification": ["Appariement", "Tous les territoires", "Doubles différences"],
            "effect": [0.31, -0.24, 0.12],
            "ci_low": [-0.1, -0.52, 0.02],
            "ci_high": [0.72, 0.04, 0.22],
            "n": [120, 1300, 240],
            "n_treated": [30, 45, 40],
            "outcome": "unemployment_rate",
        }
    )


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --- numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "lang", "decimals", "kwargs", "expected"),
    [
        (12345.678, "fr", 1, {}, f"12{NNBSP}345,7"),
        (12345.678, "en", 1, {}, "12,345.7"),
        (12.5, "fr", 1, {"percent": True}, f"12,5{NBSP}%"),
        (12.5, "en", 1, {"percent": True}, "12.5%"),
        (-0.04, "fr", 1, {}, "0,0"),  # rounds to zero: no minus sign
        (-1234567.0, "fr", 0, {}, f"{MINUS}1{NNBSP}234{NNBSP}567"),
        (0.3, "fr", 2, {"sign": True}, "+0,30"),
        (-0.3, "en", 2, {"sign": True}, f"{MINUS}0.30"),
        (999.96, "fr", 1, {}, f"1{NNBSP}000,0"),
        (float("nan"), "fr", 1, {}, "n.d."),
        (None, "en", 1, {}, "n/a"),
    ],
)
def test_format_number(value, lang, decimals, kwargs, expected):
    assert figures.format_number(value, lang, decimals, **kwargs) == expected


def test_format_number_rejects_unknown_language():
    with pytest.raises(ValueError, match="lang"):
        figures.format_number(1.0, "de")


def test_number_formatter_picks_the_fewest_decimals():
    formatter = figures.NumberFormatter("fr")
    assert formatter.format_ticks([0.0, 2.5, 5.0]) == ["0,0", "2,5", "5,0"]
    assert formatter.format_ticks([0.0, 1000.0, 2000.0]) == ["0", f"1{NNBSP}000", f"2{NNBSP}000"]
    percent = figures.NumberFormatter("fr", percent=True)
    assert percent.format_ticks([5.0, 7.5]) == [f"5,0{NBSP}%", f"7,5{NBSP}%"]
    assert figures.NumberFormatter("en", percent=True).format_ticks([5.0, 7.5]) == ["5.0%", "7.5%"]


def test_format_date_in_both_languages():
    import datetime as dt

    assert figures.format_date(dt.date(2026, 11, 1), "fr") == "1er novembre 2026"
    assert figures.format_date(dt.date(2026, 11, 26), "en") == "26 November 2026"


# --- labels from metadata ----------------------------------------------------


def test_labels_come_from_the_dictionary_in_both_languages():
    assert (
        figures.label("unemployment_rate", "fr", dictionary=SYNTHETIC_DICTIONARY)
        == "Taux de chômage"
    )
    assert (
        figures.label("unemployment_rate", "en", dictionary=SYNTHETIC_DICTIONARY)
        == "Unemployment rate"
    )
    assert (
        figures.axis_label("salaried_employment", "fr", dictionary=SYNTHETIC_DICTIONARY)
        == "Emploi salarié (emplois)"
    )
    assert (
        figures.axis_label("salaried_employment", "en", dictionary=SYNTHETIC_DICTIONARY)
        == "Salaried employment (jobs)"
    )
    assert figures.is_percent("unemployment_rate", dictionary=SYNTHETIC_DICTIONARY)
    assert not figures.is_percent("salaried_employment", dictionary=SYNTHETIC_DICTIONARY)


def test_unknown_indicator_lists_the_known_ones():
    with pytest.raises(KeyError, match="salaried_employment"):
        figures.label("no_such_indicator", dictionary=SYNTHETIC_DICTIONARY)


def test_labels_from_the_project_dictionary():
    indicators = pytest.importorskip("analysis.indicators")
    row = indicators.INDICATORS.loc["unemployment_rate"]
    assert figures.label("unemployment_rate", "fr") == row["label_fr"]
    assert figures.label("unemployment_rate", "en") == row["label_en"]
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
    assert line.startswith(f"Source{NBSP}: {figures.PROJECT_CITATIONS['registry']['fr']}")
    assert line.endswith("projet PTCE-résilience, données 2023")


def test_source_line_needs_known_sources():
    with pytest.raises(ValueError, match="at least one source"):
        figures.source_line([], "fr")
    with pytest.raises(sources.CatalogueError, match="no_such_source"):
        figures.source_line(["no_such_source"], "fr")


def test_kind_colours_are_fixed_distinct_and_cover_every_kind():
    registry = pytest.importorskip("analysis.registry")
    assert set(registry.KINDS) <= set(figures.KIND_COLOURS)
    assert {"other", "none"} <= set(figures.KIND_COLOURS)
    assert len(set(figures.KIND_COLOURS.values())) == len(figures.KIND_COLOURS)
    palette = set(figures.OKABE_ITO.values()) | {figures.NEUTRAL_GREY, figures.TEXT_GREY}
    assert set(figures.KIND_COLOURS.values()) <= palette
    for lang in figures.LANGS:
        assert set(figures.KIND_LABELS[lang]) == set(figures.KIND_COLOURS)


def test_style_sheet_sets_a_font_present_on_a_bare_machine():
    from matplotlib import font_manager

    with figures.style_context():
        assert matplotlib.rcParams["font.family"] == ["DejaVu Sans"]
        assert matplotlib.rcParams["svg.hashsalt"] == "ptce-resilience"
        found = font_manager.findfont(
            font_manager.FontProperties(family="DejaVu Sans"), fallback_to_default=False
        )
    assert Path(found).exists()


def test_period_to_number():
    assert figures.period_to_number("2019") == 2019.0
    assert figures.period_to_number("2008-Q3") == 2008.5
    assert figures.period_to_number("2020-T2") == 2020.25
    with pytest.raises(ValueError, match="2008-Q1"):
        figures.period_to_number("Q1 2008")


# --- plotting helpers -------------------------------------------------------------


def _legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_choropleth_legend_states_the_classes_in_french():
    values = [5.2, 6.1, 7.3, 8.8, 9.9, 12.5, 4.1, np.nan, 6.6, 7.7, 10.2, 11.1]
    ax = figures.plot_choropleth(
        synthetic_grid(values),
        "unemployment_rate",
        k=4,
        dictionary=SYNTHETIC_DICTIONARY,
        insets=False,
    )
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "Taux de chômage (%)"
    texts = _legend_texts(ax)
    assert len(texts) == 5 and texts[-1] == "Données manquantes (1)"
    import mapclassify

    observed = np.array([v for v in values if not np.isnan(v)])
    classes = mapclassify.Quantiles(observed, k=4)
    lows = [observed.min(), *classes.bins[:-1]]
    expected = [
        f"{figures.format_number(lo, 'fr', 2)} – {figures.format_number(hi, 'fr', 2)} ({n})"
        for lo, hi, n in zip(lows, classes.bins, classes.counts, strict=True)
    ]
    assert texts[:4] == expected
    assert texts[0].startswith("4,10 – ") and "," in texts[0]
    alt = figures.get_alt_text(ax)
    assert alt.startswith("Carte de 12 territoires : taux de chômage, en 4 classes (quantiles)")
    assert f"de 4,1{NBSP}% (Zone 6) à 12,5{NBSP}% (Zone 5)" in alt
    assert "1 sans donnée" in alt


def test_choropleth_in_english_with_user_defined_classes():
    gdf = synthetic_grid([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    ax = figures.plot_choropleth(
        gdf,
        "unemployment_rate",
        lang="en",
        scheme="user_defined",
        classification_kwds={"bins": [2.5, 6.0]},
        dictionary=SYNTHETIC_DICTIONARY,
        insets=False,
    )
    assert _legend_texts(ax) == ["1.0 – 2.5 (2)", "2.5 – 6.0 (4)"]
    assert "in 2 classes (chosen classes)" in figures.get_alt_text(ax)


def test_choropleth_places_overseas_insets():
    territories = pytest.importorskip("analysis.territories")
    gdf = gpd.GeoDataFrame(
        {
            "dep_code": ["01", "02", "974"],
            "territory_name": ["A", "B", "La Réunion"],
            "unemployment_rate": [7.0, 8.0, 18.0],
        },
        geometry=[box(2, 46, 3, 47), box(3, 46, 4, 47), box(55.3, -21.3, 55.8, -20.9)],
        crs=4326,
    )
    ax = figures.plot_choropleth(gdf, "unemployment_rate", k=2, dictionary=SYNTHETIC_DICTIONARY)
    assert "(outre-mer en encadrés)" in figures.get_alt_text(ax)
    frame = territories.overseas_inset_frames().set_index("dep_code").loc["974", "geometry"]
    xmin, ymin, xmax, ymax = frame.bounds
    # the Réunion polygon was moved into its inset box, whose frame is drawn
    from matplotlib.collections import LineCollection

    polygons = [
        p.get_extents()
        for c in ax.collections
        if not isinstance(c, LineCollection)
        for p in c.get_paths()
    ]
    assert len(polygons) == 3
    inside = [xmin <= b.x0 and b.x1 <= xmax and ymin <= b.y0 and b.y1 <= ymax for b in polygons]
    assert inside == [False, False, True]
    assert any(isinstance(c, LineCollection) for c in ax.collections)


def test_choropleth_reports_bad_input():
    gdf = synthetic_grid([1.0, 2.0])
    with pytest.raises(KeyError, match="missing column"):
        figures.plot_choropleth(gdf, "nope", insets=False, dictionary=SYNTHETIC_DICTIONARY)
    with pytest.raises(ValueError, match="no CRS"):
        figures.plot_choropleth(
            gdf.set_crs(None, allow_override=True),
            "unemployment_rate",
            insets=False,
            dictionary=SYNTHETIC_DICTIONARY,
        )
    with pytest.raises(TypeError, match="GeoDataFrame"):
        figures.plot_choropleth(pd.DataFrame(gdf.drop(columns="geometry")), "unemployment_rate")


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
        figures.text("treated"),
        figures.text("comparison"),
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


# --- saving, gallery, deck ------------------------------------------------------------


def _effects_figure():
    return figures.plot_effects(synthetic_results(), dictionary=SYNTHETIC_DICTIONARY).figure


def test_save_figure_writes_every_format_and_a_sidecar(tmp_path):
    fig = _effects_figure()
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
        fig = figures.plot_choropleth(
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


@pytest.fixture
def saved_figures(tmp_path):
    """Three figures saved in two report folders (synthetic data)."""
    counts = pd.Series({"ptce": 158, "tzcld": 60})
    figures.save_figure(
        figures.plot_kind_counts(counts).figure,
        "kinds",
        sources=["registry"],
        out_dir=tmp_path / "national" / "figures",
        title="Initiatives par type",
    )
    figures.save_figure(
        _effects_figure(),
        "effects",
        sources=[SOURCE],
        out_dir=tmp_path / "national" / "figures",
        title="Effets",
    )
    figures.save_figure(
        figures.plot_kind_counts(counts, lang="en").figure,
        "kinds_en",
        lang="en",
        sources=["registry"],
        out_dir=tmp_path / "territory_x" / "figures",
    )
    return tmp_path


def test_gallery_lists_every_figure_with_links(saved_figures):
    page = figures.write_gallery(saved_figures, saved_figures / "figures" / "index.html")
    content = page.read_text(encoding="utf-8")
    records = figures.find_figures(saved_figures)
    assert len(records) == 3
    assert content.count("<figure") == 3
    for record in records:
        assert f'alt="{html.escape(record.alt_text)}"' in content
        assert html.escape(record.source_line) in content
    assert re.findall(r"<h2>([^<]+)</h2>", content) == ["national", "territory_x"]
    ids = re.findall(r'<figure id="([^"]+)"', content)
    assert len(set(ids)) == len(ids) == 3
    links = re.findall(r'(?:href|src)="([^"]+)"', content)
    assert len(links) == 3 * 5  # image + four formats
    for link in links:
        assert (page.parent / link).resolve().exists(), link


def test_deck_has_one_slide_per_figure(saved_figures, tmp_path):
    from pptx import Presentation

    records = figures.find_figures(saved_figures / "national")
    out = figures.build_deck(records, tmp_path / "deck.pptx")
    deck = Presentation(str(out))
    slides = list(deck.slides)
    assert len(slides) == len(records) == 2
    assert abs(deck.slide_width / deck.slide_height - 16 / 9) < 0.01
    for slide, record in zip(slides, records, strict=True):
        assert slide.shapes.title.text == record.display_title
        pictures = [s for s in slide.shapes if s.shape_type == 13]  # MSO_SHAPE_TYPE.PICTURE
        assert len(pictures) == 1
        assert pictures[0]._element.nvPicPr.cNvPr.get("descr") == record.alt_text
        for shape in (slide.shapes.title, pictures[0]):  # every box inside the 16:9 slide
            assert shape.height > 0 and shape.top >= 0 and shape.left >= 0
            assert shape.left + shape.width <= deck.slide_width
            assert shape.top + shape.height <= deck.slide_height
        assert slide.shapes.title.top + slide.shapes.title.height <= pictures[0].top
        notes = slide.notes_slide.notes_text_frame.text
        assert record.source_line in notes and record.alt_text in notes
    with_cover = Presentation(
        str(figures.build_deck(records, tmp_path / "cover.pptx", title="Séminaire"))
    )
    assert len(with_cover.slides) == len(records) + 1
    cover = with_cover.slides[0]
    assert cover.shapes.title.text == "Séminaire"
    assert all(shape.height > 0 for shape in cover.shapes)
    with pytest.raises(ValueError, match="no figure"):
        figures.build_deck([], tmp_path / "empty.pptx")


def test_deck_command(saved_figures, tmp_path, monkeypatch):
    from pptx import Presentation
    from typer.testing import CliRunner

    from analysis.cli import app

    monkeypatch.setenv("PTCE_REPORTS_DIR", str(saved_figures))
    runner = CliRunner()
    result = runner.invoke(
        app, ["deck", "--report", "territory_x", "--out", str(tmp_path / "t.pptx")]
    )
    assert result.exit_code == 0, result.output
    assert len(Presentation(str(tmp_path / "t.pptx")).slides) == 1
    result = runner.invoke(app, ["deck", "--all", "--out", str(tmp_path / "all.pptx")])
    assert result.exit_code == 0, result.output
    assert len(Presentation(str(tmp_path / "all.pptx")).slides) == 3
    result = runner.invoke(
        app, ["deck", "--report", "territory_*", "--out", str(tmp_path / "p.pptx")]
    )
    assert result.exit_code == 0, result.output
    assert len(Presentation(str(tmp_path / "p.pptx")).slides) == 1
    result = runner.invoke(app, ["deck", "--report", "nowhere", "--out", str(tmp_path / "x.pptx")])
    assert result.exit_code != 0 and "territory_x" in result.output
    result = runner.invoke(app, ["gallery", "--figures-dir", str(saved_figures)])
    assert result.exit_code == 0, result.output
    assert (saved_figures / "index.html").exists()


def test_read_sidecar_names_the_problem(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"schema": figures.SIDECAR_SCHEMA, "name": "x"}))
    with pytest.raises(ValueError, match=r"x\.json: sidecar lacks alt_text"):
        figures.read_sidecar(bad)


# --- image comparison of the two key national figures ---------------------------------


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
    ax = figures.plot_choropleth(
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
    fig = _effects_figure()
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
    fig = _effects_figure()
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


def test_resilience_measures_have_title_labels_in_both_languages():
    models = pytest.importorskip("analysis.models")
    resilience = pytest.importorskip("analysis.resilience")
    for measure in ("resistance_lagravinese", "recovery_lagravinese", "sensitivity_martin"):
        assert measure in resilience.INDEX_COLUMNS
        for lang in figures.LANGS:
            title = figures.label(measure, lang)
            assert (
                title[0].isupper() and title.lower() in models.OUTCOME_LABELS[measure][lang].lower()
            )
    assert figures.label("resistance_lagravinese", "en") == "Resistance index (Lagravinese)"
    for covariate in models.DEFAULT_CONTROLS:  # every covariate of the balance plot has a label
        assert figures.label(covariate, "fr") and figures.label(covariate, "en")


# --- integration: a national map on the real backbone -----------------------------------


@pytest.mark.integration
def test_national_map_on_the_real_backbone(backbone, tmp_path):
    from analysis import territories

    layer = territories.load_territories("ze2020")
    layer["density"] = layer["population"] / layer["area_km2"]
    ax = figures.plot_choropleth(layer, "density", indicator="density_inhab_km2")
    alt = figures.get_alt_text(ax)
    assert alt.startswith(f"Carte de {figures.format_number(len(layer), 'fr', 0)} territoires")
    assert "(outre-mer en encadrés)" in alt
    files = figures.save_figure(
        ax.figure,
        "density_ze2020_map",
        sources=figures.indicator_sources("density_inhab_km2"),
        out_dir=tmp_path,
        title="Densité de population par zone d'emploi",
    )
    assert all(path.stat().st_size > 0 for path in files.values())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    counts = [int(re.search(r"\((\d+)\)$", entry).group(1)) for entry in legend]
    assert sum(counts) == len(layer)


def test_initiatives_map_colours_points_by_kind():
    pytest.importorskip("analysis.territories")
    initiatives = pd.DataFrame(
        {
            "kind": ["ptce", "ptce", "tzcld", "tiers_lieu"],
            "longitude": [2.35, 4.85, 55.45, np.nan],
            "latitude": [48.85, 45.75, -21.1, np.nan],
            "dep_code": ["75", "69", "974", "13"],
        }
    )
    ax = figures.plot_initiatives_map(initiatives)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["PTCE (2)", "TZCLD (1)"]
    colours = [matplotlib.colors.to_hex(c.get_facecolor()[0]).upper() for c in ax.collections[-2:]]
    assert colours == [figures.KIND_COLOURS[k] for k in ("ptce", "tzcld")]
    assert figures.get_alt_text(ax) == (
        "Carte de 3 initiatives de coopération localisées (outre-mer en encadrés) : PTCE 2, "
        "TZCLD 1 ; non représentées faute de localisation : 1."
    )
    ax_en = figures.plot_initiatives_map(initiatives.iloc[:2], lang="en", insets=False)
    assert figures.get_alt_text(ax_en) == "Map of 2 located cooperation initiatives: PTCE 2."


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


def test_choropleth_centred_classes_take_the_hue_of_their_side():
    gdf = synthetic_grid([-2.0, -1.0, -0.5, 0.5, 1.0, 3.0])
    ax = figures.plot_choropleth(
        gdf,
        "unemployment_rate",
        scheme="user_defined",
        center=0.0,
        insets=False,
        classification_kwds={"bins": [-1.0, 0.0, 1.0, 3.0]},
        legend_title="Indice",
    )
    colours = [h.get_facecolor() for h in ax.get_legend().legend_handles]
    # PuOr: orange (red > blue) below the centre, purple (blue > red) above
    assert [np.sign(c[2] - c[0]) for c in colours] == [-1, -1, 1, 1]


def test_default_gallery_covers_every_report(saved_figures, monkeypatch):
    monkeypatch.setenv("PTCE_REPORTS_DIR", str(saved_figures))
    page = figures.write_gallery()
    assert page == saved_figures / "figures" / "index.html"
    content = page.read_text(encoding="utf-8")
    assert content.count("<figure") == 3
    assert 'src="../territory_x/figures/kinds_en.png"' in content


@pytest.mark.parametrize(
    ("code", "french", "english"),
    [
        ("difference_in_means", "Différence de moyennes", "Difference in means"),
        (
            "ols_hc3+controls+reg_code_fe",
            "Régression (MCO, erreurs HC3) + contrôles + effets fixes région",
            "Regression (OLS, HC3 errors) + controls + région fixed effects",
        ),
        (
            "nn_matching_k3_biascorr_exact_reg_code",
            "Appariement (3 plus proches voisins), biais corrigé, exact sur région",
            "Matching (3 nearest neighbours), bias-corrected, exact on région",
        ),
        (
            "permutation_difference_in_means_within_reg_code",
            "Test de permutation (différence de moyennes), au sein de chaque région",
            "Permutation test (difference in means), within each région",
        ),
        ("continuous_ols_hc3", "Régression (MCO, erreurs HC3)", "Regression (OLS, HC3 errors)"),
        ("a_new_estimator", "a_new_estimator", "a_new_estimator"),
    ],
)
def test_specification_labels(code, french, english):
    assert figures.specification_label(code, "fr") == french
    assert figures.specification_label(code, "en") == english


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


def test_signed_resilience_measures_are_mapped_around_their_reference():
    gdf = synthetic_grid([-2.0, -1.0, -0.5, 0.5, 1.0, 3.0])
    gdf["resistance_lagravinese"] = gdf.pop("unemployment_rate")
    kwargs = {"scheme": "user_defined", "insets": False, "legend_title": "Indice",
              "classification_kwds": {"bins": [-1.0, 0.0, 1.0, 3.0]}}  # fmt: skip
    ax = figures.plot_choropleth(gdf, "resistance_lagravinese", **kwargs)
    colours = [h.get_facecolor() for h in ax.get_legend().legend_handles]
    assert [np.sign(c[2] - c[0]) for c in colours] == [-1, -1, 1, 1]
    plain = figures.plot_choropleth(gdf, "resistance_lagravinese", center=False, **kwargs)
    viridis = plt.get_cmap("viridis")
    assert plain.get_legend().legend_handles[0].get_facecolor() == viridis(0.0)


# --- permutation histogram and scatter with fit (synthetic draws and points) ---------------


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
    expected_share = figures.format_percent(100 * share, "fr", 1)
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
    assert f"pente {figures.format_number(slope, 'fr', 3, sign=True)}" in alt
    ax_en = figures.plot_scatter_fit(
        frame, "unemployment_rate", "salaried_employment", lang="en", x_label="ESS share"
    , dictionary=SYNTHETIC_DICTIONARY)  # fmt: skip
    assert ax_en.get_xlabel() == "ESS share"
    assert "Least-squares line (no controls)" in [
        t.get_text() for t in ax_en.get_legend().get_texts()
    ]
    plt.close("all")
