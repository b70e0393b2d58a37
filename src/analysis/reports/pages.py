"""Report pages that read like a report: an executed notebook turned into HTML for readers.

What a reader never sees: code, prompts, the ``parameters`` cells, stream
output (``print``, warnings, logs), cells tagged ``remove-cell`` (or
``hide-in-report``: the researcher's description with its placeholders), and
headings left empty once all that is gone ("Chargement", "Calculs"). What a
reader gets on top: one title (the notebook's own, generated from its parameters,
or else the run's title), a link back to the site, a table of contents when the
report has several sections, and the files of the report — its tables (CSV),
its figures (PNG, SVG, PDF) and its executed notebook for researchers.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

import jinja2
import nbformat
from nbconvert import HTMLExporter

from analysis import labels
from analysis.atomic import write_text_atomically
from analysis.gallery import read_sidecar
from analysis.keys import FIGURE_SIDECAR_SCHEMA
from analysis.reports.config import FIGURES_DIR

REMOVE_CELL_TAGS = ("remove-cell", "hide-in-report", "parameters", "injected-parameters")
"""Cells tagged so are left out of the report page (they stay in the executed notebook)."""
REMOVE_OUTPUT_TAGS = ("remove-output",)
DROPPED_OUTPUT_TYPES = ("stream",)
TOC_MIN_SECTIONS = 3
"""A report with at least this many second-level sections gets a table of contents."""
FIGURE_EXTENSIONS = (".png", ".svg", ".pdf")
SLIDE_SUFFIX = ".slide.png"
TOC_MARKER = "<!--ptce-toc-->"
SIDECAR_SCHEMA_PREFIX = FIGURE_SIDECAR_SCHEMA.rsplit("/", 1)[0] + "/"
"""Any version of the JSON sidecar ``figures.save_figure`` writes beside each figure."""

_HEADING_ONLY = re.compile(r"^\s*(#{1,6})\s+\S.*$")
_H2 = re.compile(r'<h2 id="([^"]+)">(.*?)<a class="anchor-link"', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_H1_LINE = re.compile(r"^#\s+\S")
_HTML_H1 = re.compile(r"<h1[\s>]", re.IGNORECASE)

PAGE_CSS = """
body.jp-Notebook{max-width:60rem;margin:0 auto;padding:1rem 1.5rem 3rem;
 font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.55}
.jp-Cell{padding:0}.jp-OutputArea-output{overflow-x:auto}.jp-RenderedImage img{max-width:100%}
.jp-RenderedHTMLCommon blockquote{border-left:6px solid #0b5394;background:#eef5fc;
 margin:1rem 0;padding:.75rem 1.25rem;border-radius:4px;color:inherit}
.jp-RenderedHTMLCommon table{font-size:.9rem;margin:.5rem 0 1rem}
.jp-RenderedHTMLCommon td,.jp-RenderedHTMLCommon th{text-align:right;padding:.3rem .6rem}
.jp-RenderedHTMLCommon td:first-child,.jp-RenderedHTMLCommon th:first-child{text-align:left}
.jp-RenderedHTMLCommon caption{caption-side:top;text-align:left;font-weight:600;padding:.25rem 0}
nav.ptce-back{font-size:.95rem;margin:.5rem 0 1rem}
nav.ptce-toc{background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;
 padding:.5rem 1rem;margin:1rem 0}
nav.ptce-toc ol{margin:.25rem 0;padding-left:1.25rem}
section.ptce-files{border-top:1px solid #d0d7de;margin-top:2rem;padding-top:.5rem;font-size:.95rem}
section.ptce-files ul{padding-left:1.25rem}
@media print{nav.ptce-back,nav.ptce-toc,section.ptce-files{display:none}}
"""

_TEMPLATE = (
    """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}<style>{{ resources.ptce.css }}</style>{% endblock extra_css %}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ (output | get_metadata('alt', 'image/png') or '') | escape_html }}">
</div>
{%- endblock data_png %}
{%- block body_header -%}
{{ super() }}
{{ resources.ptce.back }}
"""
    + TOC_MARKER
    + """
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.ptce.files }}
{{ super() }}
{% endblock body_footer %}
"""
)


def _is_heading_only(cell: nbformat.NotebookNode) -> int:
    """The heading level of a markdown cell made only of headings (0 otherwise)."""
    if cell.cell_type != "markdown":
        return 0
    lines = [line for line in cell.source.splitlines() if line.strip()]
    if not lines or not all(_HEADING_ONLY.match(line) for line in lines):
        return 0
    return min(len(_HEADING_ONLY.match(line).group(1)) for line in lines)


def _shows_something(cell: nbformat.NotebookNode) -> bool:
    if cell.cell_type == "markdown":
        return bool(cell.source.strip())
    return cell.cell_type == "code" and bool(cell.get("outputs"))


def prepare_for_reading(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as a reader sees it (a copy): no hidden cells, streams or empty headings.

    A heading is empty when nothing visible follows it before the next heading
    of the same or a higher level (or the end).
    """
    notebook = nbformat.from_dict(notebook)
    kept = []
    for cell in notebook.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & set(REMOVE_CELL_TAGS):
            continue
        if cell.cell_type == "code":
            if tags & set(REMOVE_OUTPUT_TAGS):
                cell.outputs = []
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if o.get("output_type") not in DROPPED_OUTPUT_TYPES
            ]
        kept.append(cell)
    visible = []
    for position, cell in enumerate(kept):
        level = _is_heading_only(cell)
        if level:
            has_content = False
            for following in kept[position + 1 :]:
                following_level = _is_heading_only(following)
                if following_level and following_level <= level:
                    break
                if not following_level and _shows_something(following):
                    has_content = True
                    break
            if not has_content:
                continue
        if cell.cell_type == "code" and not cell.get("outputs"):
            continue
        visible.append(cell)
    notebook.cells = visible
    return notebook


def _markdown_has_h1(text: str) -> bool:
    return any(_H1_LINE.match(line) for line in text.splitlines())


def has_title(notebook: nbformat.NotebookNode) -> bool:
    """Whether the page shows a first-level heading of its own (a cell or a displayed output)."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and _markdown_has_h1(cell.source):
            return True
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if _markdown_has_h1(str(data.get("text/markdown", ""))):
                return True
            if _HTML_H1.search(str(data.get("text/html", ""))):
                return True
    return False


def add_title(notebook: nbformat.NotebookNode, title: str) -> nbformat.NotebookNode:
    """Open the page with ``title`` as its heading, unless the notebook shows its own (in place).

    A report notebook either shows a title generated from its parameters
    (``labels.comparison_question``, ``labels.prose("shock_resilience_title")``, a fiche's
    name) or hides its description cell and gets the run's title here: one heading, never two.
    """
    if title.strip() and not has_title(notebook):
        heading = nbformat.v4.new_markdown_cell(f"# {html.escape(title.strip())}")
        heading.metadata["tags"] = ["ptce-title"]
        notebook.cells.insert(0, heading)
    return notebook


def figure_alt_texts(figures_dir: Path) -> list[str]:
    """Alt texts of the figures a run saved (their sidecars), in the order they were saved."""
    sidecars = []
    for path in Path(figures_dir).rglob("*.json") if Path(figures_dir).is_dir() else ():
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            continue
        if isinstance(content, dict) and str(content.get("schema", "")).startswith(
            SIDECAR_SCHEMA_PREFIX
        ):
            sidecars.append((path.stat().st_mtime_ns, path.name, str(content.get("alt_text", ""))))
    return [alt for _, _, alt in sorted(sidecars)]


def attach_alt_texts(notebook: nbformat.NotebookNode, alt_texts: Sequence[str]) -> None:
    """Give every image output its alt text (in place).

    Figures are shown in the order they are saved, so when there are as many
    images as saved figures the sidecars' alt texts are used in order; other
    images are described by the heading they sit under.
    """
    images = []
    heading = ""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            titles = [line.lstrip("#").strip() for line in cell.source.splitlines()]
            titles = [t for t, line in zip(titles, cell.source.splitlines(), strict=True)
                      if line.startswith("#") and t]  # fmt: skip
            heading = titles[-1] if titles else heading
            continue
        for output in cell.get("outputs", []):
            if any(key.startswith("image/") for key in output.get("data", {})):
                images.append((output, heading))
    use_sidecars = len(images) == len(alt_texts)
    for position, (output, heading) in enumerate(images):
        metadata = output.setdefault("metadata", {})
        for mime in [key for key in output["data"] if key.startswith("image/")]:
            entry = metadata.setdefault(mime, {})
            if not entry.get("alt"):
                entry["alt"] = (alt_texts[position] if use_sidecars else "") or heading or "Figure"


def _href(relative: str) -> str:
    return html.escape(urllib.parse.quote(relative), quote=True)


def _figure_name(folder: Path, stem: str) -> str:
    """A figure's title from its sidecar (``gallery.read_sidecar``), else its file name in words."""
    try:
        title = read_sidecar(folder / f"{stem}.json").title
    except (OSError, ValueError):
        title = None
    return str(title) if title else Path(stem).name.replace("_", " ")


def files_section(folder: Path, files: Sequence[str], notebook_file: str, lang: str) -> str:
    """HTML list of a report's tables, figures (each format) and executed notebook."""
    tables = sorted(f for f in files if f.endswith(".csv"))
    by_figure: dict[str, list[str]] = {}
    for file in sorted(files):
        if file.endswith(SLIDE_SUFFIX) or not file.endswith(FIGURE_EXTENSIONS):
            continue
        by_figure.setdefault(file.rsplit(".", 1)[0], []).append(file)
    items = []
    if tables:
        links = ", ".join(f'<a href="{_href(f)}">{html.escape(Path(f).name)}</a>' for f in tables)
        items.append(
            f"<li>{html.escape(labels.site_text('tables_files', lang))}&nbsp;: {links}</li>"
        )
    if by_figure:
        figures = "".join(
            "<li>"
            + html.escape(_figure_name(folder, stem))
            + " — "
            + " · ".join(
                f'<a href="{_href(f)}">{html.escape(f.rsplit(".", 1)[1].upper())}</a>'
                for f in formats
            )
            + "</li>"
            for stem, formats in by_figure.items()
        )
        items.append(
            f"<li>{html.escape(labels.site_text('figures_files', lang))}<ul>{figures}</ul></li>"
        )
    if notebook_file and (folder / notebook_file).is_file():
        items.append(
            f'<li><a href="{_href(notebook_file)}">'
            f"{html.escape(labels.site_text('download_notebook', lang))}</a></li>"
        )
    if not items:
        return ""
    heading = html.escape(labels.site_text("downloads_report", lang))
    return f'<section class="ptce-files"><h2>{heading}</h2><ul>{"".join(items)}</ul></section>'


def table_of_contents(page: str, lang: str) -> str:
    """A ``<nav>`` listing the page's second-level headings, or ``""`` when there are few."""
    sections = _H2.findall(page)
    if len(sections) < TOC_MIN_SECTIONS:
        return ""
    entries = "".join(
        f'<li><a href="#{html.escape(anchor, quote=True)}">{_TAG.sub("", title).strip()}</a></li>'
        for anchor, title in sections
    )
    return (
        f'<nav class="ptce-toc"><strong>{html.escape(labels.site_text("contents", lang))}</strong>'
        f"<ol>{entries}</ol></nav>"
    )


def place_table_of_contents(page: str, lang: str) -> str:
    """The page with its table of contents under its title (or at the top when it has none)."""
    toc = table_of_contents(page, lang)
    if toc and "</h1>" in page:
        return page.replace(TOC_MARKER, "", 1).replace("</h1>", "</h1>" + toc, 1)
    return page.replace(TOC_MARKER, toc, 1)


def export_html(
    notebook_path: Path,
    html_path: Path,
    title: str = "",
    *,
    files: Sequence[str] = (),
    lang: str = "fr",
    site_index: str = "../index.html",
) -> None:
    """Write the page a reader sees for an executed notebook (offline: images embedded).

    Args:
        notebook_path: The executed notebook.
        html_path: The page to write (its folder holds ``files``).
        title: The run's title: the page's ``<title>``, and its heading when the
            notebook shows none of its own (:func:`add_title`).
        files: The report's files, relative to the page's folder (tables, figures).
        lang: Language of the words around the report.
        site_index: Link back to the site's index page ("" for none).
    """
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"ptce_report.html.j2": _TEMPLATE})],
        template_file="ptce_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    notebook = prepare_for_reading(nbformat.read(notebook_path, as_version=4))
    if title:
        notebook.metadata["title"] = title
        add_title(notebook, title)
    folder = Path(html_path).parent
    attach_alt_texts(notebook, figure_alt_texts(folder / FIGURES_DIR))
    back = (
        f'<nav class="ptce-back"><a href="{html.escape(site_index, quote=True)}">'
        f"{html.escape(labels.site_text('back_to_site', lang))}</a></nav>"
        if site_index
        else ""
    )
    resources = {
        "ptce": {
            "css": PAGE_CSS,
            "back": back,
            "files": files_section(folder, files, Path(notebook_path).name, lang),
        }
    }
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    body = place_table_of_contents(body, lang)
    write_text_atomically(body, html_path)
