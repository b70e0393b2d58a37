"""The report site: ``reports/index.html`` (every run, its status and figures) and the gallery.

Only published run folders appear: entries of ``reports/`` whose name starts
with a dot (build folders of a running or killed batch, the lock, the checksum
cache) are never listed. A damaged figure (a sidecar whose files are missing)
is left out of the gallery with a warning instead of breaking the page; the
batch rebuilds the run it belongs to.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis import figures, gallery, paths
from analysis.atomic import write_text_atomically
from analysis.reports.config import (
    FAILED_NOTEBOOK_FILE,
    FIGURES_DIR,
    GALLERY_PAGE,
    HIDDEN_PREFIX,
    INDEX_FILE,
    RUN_FILE,
    STATUS_NOT_RUN,
    STATUS_OK,
    STATUS_SKIPPED,
    STATUS_STALE,
    THUMBS_DIR,
    ReportRun,
    read_run_record,
)


def is_published(path: Path, reports_dir: Path) -> bool:
    """Whether a path under ``reports/`` may be shown: no part of it is hidden."""
    relative = path.relative_to(reports_dir)
    return not any(part.startswith(HIDDEN_PREFIX) for part in relative.parts)


def published_figures(reports_dir: Path) -> tuple[list[gallery.FigureRecord], list[str]]:
    """Every figure saved under ``reports/`` outside hidden folders, and the damaged ones.

    Returns:
        (figure records in path order, one message per sidecar that could not
        be read: naming the file and the fix).
    """
    reports_dir = Path(reports_dir).resolve()
    records, problems = [], []
    for path in sorted(reports_dir.rglob("*.json")):
        if not is_published(path, reports_dir):
            continue
        try:
            head = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            continue
        if not isinstance(head, dict) or head.get("schema") != figures.SIDECAR_SCHEMA:
            continue
        try:
            records.append(gallery.read_sidecar(path))
        except ValueError as error:
            problems.append(
                f"{error} Left out of the gallery; `ptce report` rebuilds the run it belongs to."
            )
    return records, problems


def write_gallery(reports_dir: Path | None = None, *, lang: str = "fr") -> list[str]:
    """Write ``reports/figures/index.html``: every published figure with its sources.

    Returns:
        Warnings about damaged figures left out (empty when all are whole).
    """
    reports_dir = Path(reports_dir or paths.reports_dir())
    page_path = reports_dir / GALLERY_PAGE
    page_path.parent.mkdir(parents=True, exist_ok=True)
    records, problems = published_figures(reports_dir)
    page = gallery.gallery_html(records, page_path.parent.resolve(), lang=lang)
    write_text_atomically(page, page_path)
    return problems


_INDEX_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#222}
h1{font-size:1.6rem} table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.5rem;vertical-align:top;text-align:left}
th{background:#f4f4f4} code{font-size:.85rem}
.ok{color:#1a7f37;font-weight:600}.failed{color:#cf222e;font-weight:600}
.stale{color:#9a6700;font-weight:600}
.not-run{color:#777}.figures img{max-width:180px;margin:0 .3rem .3rem 0;border:1px solid #ccc}
pre{white-space:pre-wrap;max-width:40rem;font-size:.8rem;color:#cf222e}
"""


def _format_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _figure_sidecar(png: Path) -> dict[str, Any]:
    """The JSON that ``figures.save_figure`` writes next to a figure (title, alt text), if any."""
    sidecar = png.with_suffix(".json")
    if not sidecar.exists():
        return {}
    try:
        content = json.loads(sidecar.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return content if isinstance(content, dict) else {}


def write_index(runs: Sequence[ReportRun], reports_dir: Path | None = None) -> Path:
    """Write ``reports/index.html``: every configured run, its parameters, status and figures.

    Runs are read back from their ``run.json``; a configured run never executed
    is listed as "not run". Only files that exist are linked.
    """
    reports_dir = Path(reports_dir or paths.reports_dir())
    rows = []
    for run in runs:
        record = read_run_record(reports_dir, run.name)
        name = html.escape(run.name)
        title = html.escape(run.title or (record or {}).get("title") or "")
        if record is None:
            rows.append(
                f'<tr id="{name}"><td><strong>{name}</strong><br>{title}</td>'
                f"<td><code>{html.escape(run.notebook)}</code></td><td></td>"
                f'<td class="not-run">{STATUS_NOT_RUN}</td><td></td><td></td></tr>'
            )
            continue
        folder = reports_dir / run.name
        parameters = "<br>".join(
            f"<code>{html.escape(k)} = {html.escape(_format_value(v))}</code>"
            for k, v in sorted(record.get("parameters", {}).items())
            if k != "output_dir"  # always the run's figures/ folder
        )
        status = record.get("status", "?")
        css = {STATUS_OK: "ok", STATUS_SKIPPED: "ok", STATUS_STALE: "stale"}.get(status, "failed")
        status_cell = f'<span class="{css}">{html.escape(status)}</span>'
        if record.get("duration_s") is not None:
            status_cell += f"<br>{record['duration_s']:.1f} s"
        if status == STATUS_STALE:
            status_cell += (
                "<br>La dernière exécution a échoué ; le rapport ci-contre est le dernier "
                "rapport réussi."
            )
        if record.get("error"):
            status_cell += f"<pre>{html.escape(str(record['error'])[:2000])}</pre>"
        links = []
        for label, file in (
            ("rapport HTML", record.get("html")),
            ("notebook exécuté", record.get("executed_notebook")),
            ("run.json", RUN_FILE),
            ("notebook de l'échec", FAILED_NOTEBOOK_FILE if status == STATUS_STALE else None),
        ):
            if file and (folder / file).exists():
                href = html.escape(f"{run.name}/{file}", quote=True)
                links.append(f'<a href="{href}">{html.escape(label)}</a>')
        images = []
        for thumb in record.get("thumbnails", []):
            figure = thumb.removeprefix(f"{THUMBS_DIR}/")
            if (folder / thumb).exists() and (folder / FIGURES_DIR / figure).exists():
                href = html.escape(f"{run.name}/{FIGURES_DIR}/{figure}", quote=True)
                src = html.escape(f"{run.name}/{thumb}", quote=True)
                sidecar = _figure_sidecar(folder / FIGURES_DIR / figure)
                alt = html.escape(
                    sidecar.get("alt_text") or Path(figure).stem.replace("_", " "), quote=True
                )
                tooltip = html.escape(sidecar.get("title") or alt, quote=True)
                images.append(
                    f'<a href="{href}"><img src="{src}" alt="{alt}" title="{tooltip}"></a>'
                )
        rows.append(
            f'<tr id="{name}"><td><strong>{name}</strong><br>{title}</td>'
            f"<td><code>{html.escape(run.notebook)}</code></td><td>{parameters}</td>"
            f"<td>{status_cell}</td><td>{'<br>'.join(links)}</td>"
            f'<td class="figures">{"".join(images)}</td></tr>'
        )
    gallery = ""
    if (reports_dir / GALLERY_PAGE).exists():  # written by write_gallery
        gallery = f'<p><a href="{GALLERY_PAGE}">Galerie des figures (formats, sources)</a></p>\n'
    page = (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        "<title>Rapports PTCE — index</title>\n"
        f"<style>{_INDEX_CSS}</style>\n</head>\n<body>\n"
        "<h1>Rapports : coopération économique territoriale et résilience</h1>\n"
        "<p>Chaque ligne est une exécution de <code>config/reports.yml</code> "
        "(régénérer : <code>ptce report</code> ou <code>make report</code>).</p>\n"
        + gallery
        + "<table>\n<thead><tr><th>Exécution</th><th>Notebook</th><th>Paramètres</th>"
        "<th>Statut</th><th>Liens</th><th>Figures</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n</body>\n</html>\n"
    )
    target = reports_dir / INDEX_FILE
    write_text_atomically(page, target)
    return target
