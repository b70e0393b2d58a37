"""Saved figures read back: sidecars, the HTML gallery and the PowerPoint deck.

:func:`analysis.figures.save_figure` writes each figure with a ``<name>.json``
sidecar (title, alt text, sources, language, files); this module reads them
(:func:`read_sidecar`, :func:`find_figures`) and builds the gallery page
(:func:`write_gallery`) and a 16:9 deck (:func:`build_deck`).
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from pptx import Presentation
from pptx.util import Emu, Inches, Pt

from analysis import paths
from analysis.atomic import write_atomically
from analysis.keys import FIGURE_FORMATS, SLIDE_SIZE_INCHES
from analysis.keys import FIGURE_SIDECAR_SCHEMA as SIDECAR_SCHEMA
from analysis.labels import check_lang, colon, text
from analysis.paths import default_figures_dir


@dataclass(frozen=True)
class FigureRecord:
    """A saved figure as described by its sidecar (file paths made absolute)."""

    name: str
    title: str | None
    caption: str | None
    alt_text: str
    sources: tuple[str, ...]
    source_line: str
    lang: str
    files: dict[str, Path] = field(compare=False)
    sidecar: Path = field(compare=False)

    @property
    def display_title(self) -> str:
        return self.title or self.name


_SIDECAR_KEYS = ("name", "alt_text", "sources", "source_line", "lang", "files")


def read_sidecar(path: Path | str) -> FigureRecord:
    """Read one ``<name>.json`` sidecar written by :func:`save_figure`.

    Raises:
        ValueError: naming the file and the missing key or the missing image file.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path}: not valid JSON ({error}); re-save the figure with save_figure()."
        ) from None
    if data.get("schema") != SIDECAR_SCHEMA:
        raise ValueError(
            f"{path}: not a figure sidecar "
            f"(schema {data.get('schema')!r}, expected {SIDECAR_SCHEMA!r})."
        )
    missing = [k for k in _SIDECAR_KEYS if k not in data]
    if missing:
        raise ValueError(
            f"{path}: sidecar lacks {', '.join(missing)}; re-save the figure with save_figure()."
        )
    files = {key: path.parent / value for key, value in data["files"].items()}
    absent = [str(p) for p in files.values() if not p.exists()]
    if absent:
        raise ValueError(
            f"{path}: files listed in the sidecar are missing: {', '.join(absent)}; "
            "re-save the figure."
        )
    return FigureRecord(
        name=data["name"],
        title=data.get("title"),
        caption=data.get("caption"),
        alt_text=data["alt_text"],
        sources=tuple(data["sources"]),
        source_line=data["source_line"],
        lang=data["lang"],
        files=files,
        sidecar=path,
    )


def find_figures(root: Path | str, *, recursive: bool = True) -> list[FigureRecord]:
    """Every figure saved under ``root`` (sidecars with the figure schema), in path order.

    Hidden folders and files (a name starting with ``.``, such as the
    ``.build-<run>-…`` folder a killed batch leaves) are skipped: never published.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of figures.")
    pattern = "**/*.json" if recursive else "*.json"
    records = []
    for path in sorted(p for p in root.glob(pattern) if not paths.is_hidden(p, root)):
        try:
            head = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(head, dict) and head.get("schema") == SIDECAR_SCHEMA:
            records.append(read_sidecar(path))
    return records


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


def gallery_html(records: Sequence[FigureRecord], page_dir: Path, *, lang: str = "fr") -> str:
    """The gallery page: each figure with caption, sources, alt text and links to each format."""
    check_lang(lang)
    esc = html.escape
    labels_ = {
        "png": "PNG 300 dpi",
        "svg": "SVG",
        "pdf": "PDF",
        "slide_png": f"PNG 16:9 ({text('slide', lang)})",
    }
    separator = colon(lang)
    items = []
    section = None
    for record in records:
        folder = record.sidecar.parent
        group = folder.parent if folder.name == "figures" else folder  # reports/<run>/figures
        if group != section:
            section = group
            items.append(f"<h2>{esc(group.name)}</h2>")
        anchor = re.sub(r"[^a-z0-9_.-]+", "--", f"{group.name}--{record.name}".lower())
        links = " · ".join(
            f'<a href="{esc(_relative(record.files[key], page_dir))}">{esc(labels_[key])}</a>'
            for key in FIGURE_FORMATS
            if key in record.files
        )
        caption = f"<p>{esc(record.caption)}</p>" if record.caption else ""
        image = esc(_relative(record.files["png"], page_dir))
        items.append(
            f'<figure id="{esc(anchor)}" lang="{esc(record.lang)}">\n'
            f'  <img src="{image}" alt="{esc(record.alt_text)}" loading="lazy">\n'
            f"  <figcaption>\n    <h3>{esc(record.display_title)}</h3>\n    {caption}\n"
            f'    <p class="sources">{esc(record.source_line)}</p>\n'
            f'    <p class="alt"><strong>{esc(text("description", lang))}</strong>{separator}'
            f"{esc(record.alt_text)}</p>\n"
            f'    <p class="formats"><strong>{esc(text("formats", lang))}</strong>{separator}'
            f"{links}</p>\n  </figcaption>\n</figure>"
        )
    title = esc(text("gallery_title", lang))
    style = (
        "body{font-family:'DejaVu Sans',sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem;color:#222}"
        "figure{margin:0 0 3rem;border-bottom:1px solid #ddd;padding-bottom:1.5rem}"
        "img{max-width:100%;height:auto}h2{margin-top:3rem}h3{font-size:1.2rem;margin:.6rem 0}"
        ".sources,.alt,.formats{font-size:.9rem;color:#444}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{style}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
        f"<p>{esc(text('gallery_intro', lang))}</p>\n" + "\n".join(items) + "\n</body>\n</html>\n"
    )


def write_gallery(
    figures_dir: Path | str | None = None,
    out_html: Path | str | None = None,
    *,
    lang: str = "fr",
    recursive: bool = True,
) -> Path:
    """Write the HTML gallery of every figure saved under ``figures_dir``.

    Args:
        figures_dir: Folder searched (recursively) for figure sidecars; default
            ``reports/`` (every run's figures and ``reports/figures``).
        out_html: The page; default ``reports/figures/index.html`` when
            ``figures_dir`` is the default, else ``<figures_dir>/index.html``.
        lang: Language of the page's own words.
        recursive: Search sub-folders.

    Returns:
        The page written (links to the figures are relative to it).
    """
    if figures_dir is None:
        figures_dir = paths.reports_dir()
        out_html = out_html if out_html is not None else default_figures_dir() / "index.html"
    figures_dir = Path(figures_dir)
    out_html = Path(out_html) if out_html is not None else figures_dir / "index.html"
    records = find_figures(figures_dir, recursive=recursive)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    page = gallery_html(records, out_html.parent.resolve(), lang=lang)
    write_atomically(out_html, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return out_html


def build_deck(
    records: Sequence[FigureRecord],
    out_path: Path | str,
    *,
    title: str | None = None,
    subtitle: str | None = None,
) -> Path:
    """Write a 16:9 PowerPoint deck: one slide per figure, title, alt text and sources in the notes.

    Args:
        records: Figures to show, in order (see :func:`find_figures`).
        out_path: The ``.pptx`` to write.
        title: When given, a cover slide with this title comes first.
        subtitle: Subtitle of the cover slide.

    Raises:
        ValueError: when there is no figure to show.
    """
    if not records:
        raise ValueError(
            "no figure to put in the deck: save figures with save_figure() or run `ptce report`."
        )
    out_path = Path(out_path)
    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(SLIDE_SIZE_INCHES[0]), Inches(SLIDE_SIZE_INCHES[1])
    margin, title_height = Inches(0.4), Inches(0.95)
    if title:
        cover = deck.slides.add_slide(deck.slide_layouts[0])  # "Title Slide"
        heading, body = cover.shapes.title, cover.placeholders[1]
        # the default template is 4:3: place both boxes on the 16:9 slide explicitly
        for shape, top, height in ((heading, 2.0, 1.6), (body, 3.8, 1.2)):
            shape.left, shape.width = margin, deck.slide_width - 2 * margin
            shape.top, shape.height = Inches(top), Inches(height)
        heading.text = title
        body.text = subtitle or ""
    for record in records:
        slide = deck.slides.add_slide(deck.slide_layouts[5])  # "Title Only"
        heading = slide.shapes.title
        heading.left, heading.top = margin, Inches(0.2)
        heading.width, heading.height = deck.slide_width - 2 * margin, title_height
        heading.text = record.display_title
        for paragraph in heading.text_frame.paragraphs:
            for run in paragraph.runs:
                run.font.size = Pt(28)
        box_top = Inches(0.2) + title_height
        box_width = deck.slide_width - 2 * margin
        box_height = deck.slide_height - box_top - Inches(0.15)
        image = record.files.get("slide_png") or record.files["png"]
        with Image.open(image) as img:
            ratio = img.width / img.height
        width = min(box_width, int(box_height * ratio))
        height = int(width / ratio)
        left = int((deck.slide_width - width) / 2)
        picture = slide.shapes.add_picture(
            str(image), Emu(left), Emu(box_top), Emu(width), Emu(height)
        )
        properties = picture._element.nvPicPr.cNvPr  # python-pptx has no public alt-text setter
        properties.set("descr", record.alt_text)
        properties.set("title", record.display_title)
        notes = [record.source_line, ""]
        if record.caption:
            notes += [record.caption, ""]
        notes.append(f"{text('description', record.lang)}{colon(record.lang)}{record.alt_text}")
        slide.notes_slide.notes_text_frame.text = "\n".join(notes)
    write_atomically(out_path, lambda tmp: deck.save(str(tmp)))
    return out_path
