"""Territory fiches: neighbours, sub-territories, HTML tables, the batch rule, the PDF."""

from __future__ import annotations

import base64
import io
import math
import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pypdf
import pytest
from PIL import Image

from analysis import fiche_content, figures, maps, reports
from analysis.keys import LEVEL_PRECISIONS
from analysis.reports import config, fiches, pdf

A4_POINTS = (595.3, 841.9)


# --------------------------------------------------------------------------- ranks


def test_rank_label_counts_only_territories_with_a_value():
    values = pd.Series([3.0, 1.0, np.nan, 2.0], index=["a", "b", "c", "d"])
    assert fiche_content.rank_label(values, "a") == "1 / 3"
    assert fiche_content.rank_label(values, "a", higher_first=False) == "3 / 3"
    assert fiche_content.rank_label(values, "c") == "—"
    assert fiche_content.rank_label(values, "zz") == "—"


# --------------------------------------------------------------------------- neighbours


@pytest.fixture
def controls():
    # x and y on very different scales: standardising makes them weigh the same
    return pd.DataFrame(
        {
            "x": [0.0, 1.0, 2.0, 10.0, 0.0],
            "y": [0.0, 0.0, 0.0, 0.0, 3000.0],
            "z": [np.nan, 1.0, 1.0, 1.0, 1.0],  # constant where observed: no information
        },
        index=["t0", "t1", "t2", "t3", "t4"],
    )


def test_nearest_territories_on_standardised_controls(controls):
    found = fiche_content.nearest_territories(controls, "t1", k=3)
    # t0 and t2 are one unit of x away (a tie: the smaller code first); t4 is as close on
    # x but 3000 away on y, which standardised is 2.5 standard deviations: farther than t3
    assert list(found["territory_code"]) == ["t0", "t2", "t3"]
    assert list(found["rank"]) == [1, 2, 3]
    assert found["distance"].is_monotonic_increasing
    assert found.attrs["variables"] == ["x", "y"]  # z is constant where observed: dropped
    sd_x = controls["x"].std(ddof=0)
    assert math.isclose(found["distance"].iloc[0], 1.0 / sd_x)


def test_nearest_territories_leaves_out_variables_the_territory_lacks(controls):
    controls["z"] = [np.nan, 1.0, 5.0, 1.0, 1.0]
    # t0 has no z: matched on x and y only, every other territory a candidate
    found = fiche_content.nearest_territories(controls, "t0", k=2)
    assert found.attrs["variables"] == ["x", "y"]
    assert list(found["territory_code"]) == ["t1", "t2"]
    # t1 has z: matched on x, y and z, and t0 (no z) cannot be compared
    found = fiche_content.nearest_territories(controls, "t1", k=4)
    assert found.attrs["variables"] == ["x", "y", "z"]
    assert list(found["territory_code"]) == ["t3", "t4", "t2"]


def test_nearest_territories_rejects_an_unknown_or_empty_territory(controls):
    with pytest.raises(KeyError, match="zz"):
        fiche_content.nearest_territories(controls, "zz")
    empty = controls.assign(x=np.nan, y=np.nan)
    empty.loc["t1", "z"] = np.nan
    with pytest.raises(ValueError, match="no control"):
        fiche_content.nearest_territories(empty, "t1")


def test_neighbour_controls_take_logs_of_population_and_density():
    base = pd.DataFrame(
        {"population": [1000.0, 0.0], "area_km2": [10.0, 5.0], "poverty_rate_pct": [12.0, 9.0]},
        index=["a", "b"],
    )
    table = fiche_content.neighbour_controls(base)
    assert list(table.columns) == ["log_population", "log_density", "poverty_rate_pct"]
    assert math.isclose(table.at["a", "log_density"], math.log(100.0))
    assert np.isnan(table.at["b", "log_population"])


def test_comparison_table_puts_the_territory_first_with_each_shock(controls):
    neighbours = fiche_content.nearest_territories(controls, "t1", k=2)
    names = pd.Series({"t0": "Zéro", "t1": "Un", "t2": "Deux"})
    rises = {"2008": pd.Series({"t1": 0.5, "t2": -0.2}), "2020": pd.Series({"t0": 1.0})}
    table = fiche_content.comparison_table(
        "t1", neighbours, names, controls[["x"]].rename(columns={"x": "population"}), rises
    )
    assert list(table["territory_code"]) == ["t1", "t0", "t2"]
    assert list(table["is_self"]) == [True, False, False]
    assert table.loc[0, "distance"] == 0.0
    assert list(table["territory_name"]) == ["Un", "Zéro", "Deux"]
    assert np.isnan(table.loc[1, "2008"]) and table.loc[2, "2008"] == -0.2
    assert table.loc[1, "2020"] == 1.0
    assert list(table["population"]) == [1.0, 0.0, 2.0]


def test_comparable_territories_never_fail_the_fiche(controls):
    table, reason = fiche_content.comparable_territories(
        controls.drop(index="t1"), "t1", pd.Series(dtype=str), {}
    )
    assert table.empty and "t1" in reason


# --------------------------------------------------------------------------- sub-territories


def test_children_are_the_territories_whose_majority_parent_it_is():
    parents = pd.Series({"2801": "14", "2802": "50", "2803": "14"})
    assert fiche_content.children_of(parents, "14") == ["2801", "2803"]
    assert fiche_content.children_of(parents, "61") == []


def test_sub_territory_table_ranks_among_the_sub_territories():
    children = pd.DataFrame(
        {"territory_code": ["27", "14", "50"], "territory_name": ["Eure", "Calvados", "Manche"]}
    )
    rises = {"2008": pd.Series({"14": 0.2, "27": 0.4, "50": -0.3}), "2020": pd.Series({"14": 0.1})}
    table = fiche_content.sub_territory_table(children, rises, higher_is_better=False)
    assert list(table["territory_code"]) == ["14", "27", "50"]
    assert list(table["2008 rank"]) == ["2 / 3", "3 / 3", "1 / 3"]
    assert list(table["2020 rank"]) == ["1 / 1", "—", "—"]
    assert np.isnan(table.loc[1, "2020"])
    with pytest.raises(ValueError, match="duplicated"):
        fiche_content.sub_territory_table(pd.concat([children, children]), rises)


# --------------------------------------------------------------------------- HTML


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.links, self.images = [], [], []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._in_cell = True
            self.cells.append("")
        if tag == "a":
            self.links.append(dict(attrs)["href"])
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.cells[-1] += data


def _parse(page: str) -> _Cells:
    parser = _Cells()
    parser.feed(page)
    return parser


def test_initiatives_html_escapes_user_text_and_links_only_web_pages():
    rows = pd.DataFrame(
        {
            "kind": ["ptce", "tiers_lieu", "garage_solidaire"],
            "name": ["<script>alert(1)</script>", "Le & Lieu", None],
            "wave": ["aap2013_laureat", "cget2019", np.nan],
            "year": [2014, np.nan, 2020],
            "commune_name_official": ["Caen", np.nan, "Lisieux"],
            "source_url": ["https://example.org/a?b=1&c=2", "javascript:alert(1)", np.nan],
        }
    )
    page = fiche_content.initiatives_html(rows, "fr")
    assert "<script>" not in page and "&lt;script&gt;" in page
    parsed = _parse(page)
    assert parsed.links == ["https://example.org/a?b=1&c=2"]
    assert "appel 2013, lauréat" in parsed.cells and "base CGET 2019" in parsed.cells
    assert "garage solidaire" in parsed.cells  # a kind outside KINDS: its name as written
    assert "2014" in parsed.cells  # a year, not "2 014"
    assert not {"nan", "NaN", "<NA>", "None", ""} & set(parsed.cells[6:])


def test_initiatives_beyond_a_few_per_kind_are_left_off_the_print_only():
    n = fiche_content.PRINT_ROWS_PER_KIND + 2
    rows = pd.DataFrame(
        {
            "kind": ["tiers_lieu"] * n,
            "name": [f"Lieu {i}" for i in range(n)],
            "wave": ["cget2019"] * n,
            "year": [2019] * n,
            "commune_name_official": ["Caen"] * n,
            "source_url": ["https://example.org"] * n,
        }
    )
    page = fiche_content.initiatives_html(rows, "en")
    assert page.count("fiche-more") == 2 * 6  # two rows of six cells
    assert "2 more initiative(s)" in page
    assert len(_parse(page).links) == n  # the page lists them all


def test_html_table_formats_numbers_in_french_without_nan():
    frame = pd.DataFrame({"Nom": ["A", None], "Valeur": [1234.56, np.nan], "Rang": ["1 / 2", "—"]})
    page = fiche_content.html_table(frame, lang="fr", decimals={"Valeur": 1})
    cells = _parse(page).cells
    assert "1\u202f234,6" in cells and cells.count("—") == 3
    assert "NaN" not in page and "nan" not in page.lower().replace("nan-", "")


def test_territory_initiatives_counts_a_precision_only_where_it_counts():
    located = pd.DataFrame(
        {
            "kind": ["ptce", "ptce", "tzcld"],
            "name": ["b", "a", "c"],
            "dep_code": ["14", "14", "14"],
            "ze2020_code": ["2804", None, "2804"],
            "location_precision": ["commune", "departement", "commune"],
        }
    )
    dep = fiche_content.territory_initiatives(located, "dep_code", "14", LEVEL_PRECISIONS["dep"])
    assert list(dep["name"]) == ["a", "b", "c"]
    zone = fiche_content.territory_initiatives(
        located, "ze2020_code", "2804", LEVEL_PRECISIONS["ze2020"]
    )
    assert list(zone["name"]) == ["b", "c"]
    assert list(fiche_content.kind_counts(zone))[:2] == [1, 1]


def test_indexed_series_and_spans_within():
    wide = pd.DataFrame({"2012-Q1": [np.nan, 50.0], "2012-Q2": [200.0, 100.0]}, index=["a", "b"])
    indexed = fiche_content.indexed_series(wide)
    assert indexed.attrs["base_period"] == "2012-Q2"
    assert list(indexed["2012-Q2"]) == [100.0, 100.0]
    spans = [("2008-Q1", "2011-Q4", "2008"), ("2020-Q1", "2021-Q4", "2020")]
    assert fiche_content.spans_within(spans, ["2012-Q1", "2023-Q2"]) == [spans[1]]


def test_markdown_title_names_the_territory_and_its_code():
    profile = type("P", (), {"territory_name": "Côte-d'Or", "territory_code": "21", "level": "dep"})
    assert fiche_content.fiche_title(profile, "fr") == "# Côte-d'Or (département 21)"


# --------------------------------------------------------------------------- the batch rule


def test_fiche_rule_expands_one_run_per_territory():
    names = {"reg": [("28", "Normandie")], "dep": [("2A", "Corse-du-Sud"), ("14", "Calvados")]}
    rule = {"notebook": "territory_fiche", "levels": ["reg", "dep"], "title": "Fiche : {name}"}
    runs = config.fiche_runs(rule, names)
    assert [r["name"] for r in runs] == ["fiche-reg-28", "fiche-dep-14", "fiche-dep-2a"]
    assert runs[2]["parameters"] == {"level": "dep", "territory_code": "2A"}
    assert runs[0]["title"] == "Fiche : Normandie"
    with pytest.raises(config.ReportConfigError, match="unknown key"):
        config.fiche_runs({**rule, "level": "reg"}, names)
    with pytest.raises(config.ReportConfigError, match="commune"):
        config.fiche_runs({**rule, "levels": ["commune"]}, names)
    with pytest.raises(config.ReportConfigError, match="must contain"):
        config.fiche_runs({**rule, "name": "fiche"}, names)


@pytest.mark.integration
def test_fiche_rule_yields_119_runs_on_the_real_layers(backbone):
    runs = reports.load_report_config()
    fiche_runs = [r for r in runs if r.notebook == fiches.FICHE_NOTEBOOK]
    assert len(fiche_runs) == 119
    assert len(reports.select_runs(runs, ["fiche-dep-*"])) == 101
    assert {"fiche-reg-28", "fiche-dep-14", "fiche-dep-2a", "fiche-dep-976"} <= {
        r.name for r in fiche_runs
    }


# --------------------------------------------------------------------------- PDF


def test_a_missing_chromium_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PTCE_CHROMIUM", raising=False)
    with pytest.raises(pdf.ChromiumMissing, match="apt-get install chromium"):
        pdf.find_chromium()
    monkeypatch.setenv("PTCE_CHROMIUM", "/nowhere/chromium")
    with pytest.raises(pdf.ChromiumMissing, match="PTCE_CHROMIUM"):
        pdf.find_chromium()


A4_PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><style>
@page { size: A4; margin: 12mm; } body { font-family: sans-serif; }
</style></head><body><h1>{title}</h1><p>Une page imprimée.</p></body></html>"""


def _a4_pages(path) -> list[tuple[float, float]]:
    reader = pypdf.PdfReader(path)
    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]


@pytest.mark.slow
def test_a_kept_browser_prints_many_pages_and_falls_back_without_chromedriver(
    tmp_path, monkeypatch
):
    if shutil.which("chromium") is None or pdf.find_chromedriver() is None:
        pytest.skip("needs Debian's chromium and chromium-driver")
    pages = []
    for name in ("Calvados", "Orne"):
        page = tmp_path / f"{name}.html"
        page.write_text(A4_PAGE.replace("{title}", name), encoding="utf-8")
        pages.append(page)
    with pdf.PagePrinter() as printer:
        for page in pages:
            printer.print_pdf(page, page.with_suffix(".pdf"))
        driver = printer.driver
        assert driver is not None and not printer.fallback and printer.pages == 2
    assert printer.driver is None  # closed on leaving the block
    for page in pages:
        sizes = _a4_pages(page.with_suffix(".pdf"))
        assert len(sizes) == 1
        assert all(abs(a - b) < 2 for a, b in zip(sizes[0], A4_POINTS, strict=True)), sizes
        assert page.stem in pypdf.PdfReader(page.with_suffix(".pdf")).pages[0].extract_text()
    # no ChromeDriver: each page gets its own browser, same PDF
    monkeypatch.setenv("PTCE_CHROMEDRIVER", str(tmp_path / "no-chromedriver"))
    with pdf.PagePrinter() as printer:
        out = printer.print_pdf(pages[0], tmp_path / "fallback.pdf")
        assert printer.fallback and printer.driver is None
    assert _a4_pages(out) == _a4_pages(pages[0].with_suffix(".pdf"))
    with pytest.raises(FileNotFoundError, match="no HTML page"):
        pdf.PagePrinter().print_pdf(tmp_path / "missing.html", tmp_path / "x.pdf")


@pytest.mark.integration
def test_an_unknown_territory_is_a_clear_error(backbone):
    with pytest.raises(ValueError, match="not a epci code"):
        fiches.check_territory("epci", "123")
    with pytest.raises(ValueError, match="a fiche is made for"):
        fiches.check_territory("commune", "14118")


@pytest.mark.integration
@pytest.mark.slow
def test_a_fiche_is_a_clean_page_and_a_one_or_two_page_a4_pdf(
    tmp_path, backbone, indicators_built, cooperation_built
):
    if shutil.which("chromium") is None:
        pytest.skip("needs Debian's chromium")
    made = fiches.make_fiche("dep", "14", tmp_path / "fiche")
    page = made["html"].read_text(encoding="utf-8")
    readable = re.sub(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", "", page)  # embedded images
    for forbidden in ("NaN", "&lt;NA&gt;", "<NA>", "In [", "Warning"):
        assert forbidden not in readable, forbidden
    text_only = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", readable, flags=re.S)
    text_only = re.sub(r"<[^>]+>", " ", text_only)
    assert "..." not in text_only and "…" not in text_only
    assert "<h1" in page and "Calvados (département 14)" in page
    images = _parse(page).images
    assert len(images) >= 3 and all(image.get("alt") for image in images)  # maps, series
    reader = pypdf.PdfReader(made["pdf"])
    assert len(reader.pages) in (1, 2)
    for sheet in reader.pages:
        size = (float(sheet.mediabox.width), float(sheet.mediabox.height))
        assert all(abs(a - b) < 2 for a, b in zip(size, A4_POINTS, strict=True)), size
    assert "Calvados" in reader.pages[0].extract_text()


# --------------------------------------------------------------------------- plots


@pytest.fixture
def squares():
    geopandas = pytest.importorskip("geopandas")
    shapely = pytest.importorskip("shapely.geometry")
    return geopandas.GeoDataFrame(
        {
            "territory_code": ["a", "b", "c"],
            "territory_name": ["Aval", "Bourg", "Cap"],
            "rise": [-0.5, 0.2, np.nan],
        },
        geometry=[shapely.box(i, 45, i + 1, 46) for i in range(3)],
        crs="EPSG:4326",
    ).to_crs(2154)


def test_territory_map_draws_points_by_kind_and_describes_them(squares, tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    initiatives = pd.DataFrame(
        {
            "kind": ["ptce", "tiers_lieu", "garage_solidaire", "tzcld"],
            "longitude": [0.5, 1.5, 2.5, np.nan],
            "latitude": [45.5, 45.5, 45.5, np.nan],
        }
    )
    fig, ax = plt.subplots()
    maps.plot_territory_initiatives(squares, initiatives, ax=ax, lang="fr", outline=squares)
    alt = figures.get_alt_text(ax)
    assert (
        alt.startswith("Carte de 3 initiatives") and "PTCE 1" in alt and "garage_solidaire 1" in alt
    )
    assert "non représentées faute de localisation : 1" in alt
    # the legend lies inside the saved figure (beside an equal-aspect map it was cut off)
    fig.set_size_inches(7.5, 5.2)
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    canvas = fig.bbox
    assert canvas.x0 <= legend.x0 and legend.x1 <= canvas.x1
    assert canvas.y0 <= legend.y0 and legend.y1 <= canvas.y1
    xmin, _ymin, xmax, _ymax = squares.total_bounds
    assert ax.get_xlim()[0] < xmin and ax.get_xlim()[1] > xmax
    page = figures.figure_html(fig, dpi=40)
    assert page.startswith('<img class="ptce-figure" src="data:image/png;base64,')
    assert 'alt="Carte de 3 initiatives' in page
    # the page can show the saved print PNG, reduced, instead of drawing the figure again
    saved = figures.save_figure(fig, "squares_map", sources=["registry"], out_dir=tmp_path,
                                formats=("png",))  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["squares_map.json", "squares_map.png"]
    reused = figures.figure_html(fig, dpi=60, css_class="ptce-map", png=saved["png"])
    assert reused.startswith('<img class="ptce-figure ptce-map" src="data:image/png;base64,')
    assert 'alt="Carte de 3 initiatives' in reused
    encoded = reused.split("base64,", 1)[1].split('"', 1)[0]
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as shown, Image.open(saved["png"]) as p:
        assert shown.size == (round(p.width * 60 / figures.PNG_DPI), round(p.height * 60 / 300))
    with pytest.raises(ValueError, match="must include 'png'"):
        figures.save_figure(fig, "squares_map", sources=["registry"], out_dir=tmp_path,
                            formats=("svg",))  # fmt: skip
    plt.close(fig)


def test_diverging_map_names_the_extremes(squares):
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    maps.plot_diverging_map(squares, "rise", ax=ax, lang="en", legend_title="Rise (points)")
    alt = figures.get_alt_text(ax)
    assert "from −0.5 (Aval) to 0.2 (Bourg)" in alt and "centred on 0.0" in alt
    plt.close(fig)
    with pytest.raises(ValueError, match="no value"):
        maps.plot_diverging_map(squares.assign(rise=np.nan), "rise", legend_title="x")


def test_indicator_table_of_a_one_departement_region_keeps_both_columns():
    profile = type(
        "P",
        (),
        {
            "territory_name": "Guadeloupe",
            "territory_code": "971",
            "region_code": "01",
            "region_name": "Guadeloupe",
        },
    )
    references = pd.DataFrame(
        {
            "label": ["Taux de chômage", "Effectifs salariés"],
            "unit": ["pct", "jobs"],
            "territory": [15.5, np.nan],
            "region": [15.5, np.nan],
            "france": [7.4, 1.0],
            "period": ["2021-Q4", None],
            "rank": ["2 / 100", "—"],
        }
    )
    cells = _parse(fiche_content.indicators_html(references, profile, "fr")).cells
    assert cells[:6] == [
        "Indicateur",
        "Guadeloupe",
        "Région Guadeloupe",
        "France",
        "Période",
        "Rang",
    ]
    assert cells[6:] == ["Taux de chômage", "15,5", "15,5", "7,4", "2021-Q4", "2 / 100"]


def test_indicator_table_says_when_it_shows_the_period_common_to_the_three():
    profile = type(
        "P",
        (),
        {"territory_name": "Zone", "territory_code": "8410", "region_code": "84",
         "region_name": "Auvergne-Rhône-Alpes"},
    )  # fmt: skip
    references = pd.DataFrame(
        {
            "label": ["Taux de chômage", "Population"],
            "unit": ["pct", "persons"],
            "territory": [6.5, 1000.0],
            "region": [7.0, 8000.0],
            "france": [7.4, 68000.0],
            "period": ["2021-Q4", "2022"],
            "latest_period": ["2023-Q3", "2022"],
            "rank": ["2 / 100", "5 / 100"],
        }
    )
    cells = _parse(fiche_content.indicators_html(references, profile, "fr")).cells
    assert cells[6:11] == ["Taux de chômage", "6,5", "7,0", "7,4",
                           "2021-Q4 (dernière période commune aux trois ; 2023-Q3 pour le "
                           "territoire seul)"]  # fmt: skip
    assert cells[12:] == [
        "Population",
        "1\u202f000",
        "8\u202f000",
        "68\u202f000",
        "2022",
        "5 / 100",
    ]
    assert "—" not in cells


def test_local_authority_text_counts_roles_and_kinds_or_says_none_is_named():
    involvement = pd.DataFrame(
        {
            "territory_code": ["62", "14"], "wave": "all", "n_ptce": [3, 2],
            "n_ptce_with_authority": [2, 0], "n_ptce_authority_lead": [0, 0],
            "n_ptce_authority_member": [0, 0], "n_ptce_authority_funder": [1, 0],
            "n_ptce_with_commune": [1, 0], "n_ptce_with_epci": [1, 0],
            "n_ptce_with_departement": [0, 0], "n_ptce_with_region": [1, 0],
            "n_ptce_with_other": [0, 0],
        }
    )  # fmt: skip
    text = fiche_content.local_authority_text(involvement, "62", "fr")
    assert "impliquée dans 2 des 3 PTCE" in text and "financeuse dans 1" in text
    assert "commune (1), EPCI (1), région (1)" in text and "département" not in text
    assert "name no local authority" in fiche_content.local_authority_text(involvement, "14", "en")
    assert (
        fiche_content.local_authority_text(involvement, "75", "fr") == ""
    )  # no PTCE: nothing said
    alone = involvement.assign(n_ptce=1, n_ptce_with_authority=[1, 0])
    assert "impliquée dans le PTCE de ce territoire" in fiche_content.local_authority_text(
        alone, "62", "fr"
    )
    assert "pour le PTCE de ce territoire ne nomment" in fiche_content.local_authority_text(
        alone, "14", "fr"
    )
