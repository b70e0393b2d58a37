"""Tests of analysis.gallery: sidecars read back, the HTML gallery, the deck and its command."""

from __future__ import annotations

import html
import json
import re

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis import figures, gallery  # noqa: E402
from figure_data import (  # noqa: E402
    SOURCE,
    close_figures,  # noqa: F401 - autouse fixture
    effects_figure,
)


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
        effects_figure(),
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
    page = gallery.write_gallery(saved_figures, saved_figures / "figures" / "index.html")
    content = page.read_text(encoding="utf-8")
    records = gallery.find_figures(saved_figures)
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

    records = gallery.find_figures(saved_figures / "national")
    out = gallery.build_deck(records, tmp_path / "deck.pptx")
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
        str(gallery.build_deck(records, tmp_path / "cover.pptx", title="Séminaire"))
    )
    assert len(with_cover.slides) == len(records) + 1
    cover = with_cover.slides[0]
    assert cover.shapes.title.text == "Séminaire"
    assert all(shape.height > 0 for shape in cover.shapes)
    with pytest.raises(ValueError, match="no figure"):
        gallery.build_deck([], tmp_path / "empty.pptx")


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
        gallery.read_sidecar(bad)


def test_default_gallery_covers_every_report(saved_figures, monkeypatch):
    monkeypatch.setenv("PTCE_REPORTS_DIR", str(saved_figures))
    page = gallery.write_gallery()
    assert page == saved_figures / "figures" / "index.html"
    content = page.read_text(encoding="utf-8")
    assert content.count("<figure") == 3
    assert 'src="../territory_x/figures/kinds_en.png"' in content


def test_case4_hidden_build_folders_stay_out_of_the_gallery_and_the_deck(
    saved_figures, tmp_path, monkeypatch
):
    """A killed batch leaves ``reports/.build-<run>-…`` with a whole figure: never shown."""
    from pptx import Presentation
    from typer.testing import CliRunner

    from analysis.cli import app

    figures.save_figure(
        figures.plot_kind_counts(pd.Series({"ptce": 1})).figure,
        "half_built",
        sources=["registry"],
        out_dir=saved_figures / ".build-x" / "figures",
        title="Half built",
    )
    assert (saved_figures / ".build-x" / "figures" / "half_built.json").is_file()
    monkeypatch.setenv("PTCE_REPORTS_DIR", str(saved_figures))
    runner = CliRunner()
    result = runner.invoke(app, ["gallery"])
    assert result.exit_code == 0, result.output
    content = (saved_figures / "figures" / "index.html").read_text(encoding="utf-8")
    assert content.count("<figure") == 3 and "half_built" not in content
    assert ".build-x" not in content and "Half built" not in content
    for option in (["--report", "*"], ["--all"], []):
        out = tmp_path / f"deck{len(option)}.pptx"
        result = runner.invoke(app, ["deck", *option, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert len(Presentation(str(out)).slides) == 3, option
    result = runner.invoke(app, ["deck", "--report", ".build-*", "--out", str(tmp_path / "h.pptx")])
    assert result.exit_code != 0 and not (tmp_path / "h.pptx").exists()
    assert "no report matches" in result.output
