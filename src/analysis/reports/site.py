"""The report site: ``index.html`` (the question and its answer), ``runs.html``, the gallery.

``index.html`` opens with the study's question and the current answer,
generated from the batch's evidence table (``reports/evidence.csv``: one row per
comparison run and primary specification), then one card per national report,
a search box over every territorial fiche (plain JavaScript, no network), the
figure gallery, the methods with their references, the data sources (from the
catalogue) and the downloads. The run log (status, timings, parameters, cache)
is ``runs.html``. French by default; ``index.en.html`` when the batch has
English runs. Words come from :mod:`analysis.labels`; pages are jinja2
templates with autoescape, so registry and user text is always escaped.

Only published run folders appear: entries of ``reports/`` whose name starts
with a dot (build folders of a running or killed batch, the lock, the checksum
cache) are never listed. A damaged figure (a sidecar whose files are missing)
is left out of the gallery with a warning instead of breaking the page; the
batch rebuilds the run it belongs to.
"""

from __future__ import annotations

import json
import math
import unicodedata
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from analysis import gallery, labels, paths, sources
from analysis.atomic import write_text_atomically
from analysis.checks import require_columns
from analysis.keys import FIGURE_SIDECAR_SCHEMA, LANGS
from analysis.reports.config import (
    FAILED_NOTEBOOK_FILE,
    FIGURES_DIR,
    GALLERY_PAGE,
    INDEX_FILE,
    PDF_FILE,
    RUN_FILE,
    STATUS_OK,
    STATUS_SKIPPED,
    STATUS_STALE,
    THUMBS_DIR,
    ReportRun,
    read_run_record,
)


def is_published(path: Path, reports_dir: Path) -> bool:
    """Whether a path under ``reports/`` may be shown: no part of it is hidden."""
    return not paths.is_hidden(path, reports_dir)


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
        if not isinstance(head, dict) or head.get("schema") != FIGURE_SIDECAR_SCHEMA:
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


# ---------------------------------------------------------------------------
# Reading what the batch produced
# ---------------------------------------------------------------------------

EVIDENCE_FILE = "evidence.csv"
"""The batch's evidence table: one row per comparison run and primary specification."""
RUNS_PAGE = "runs.html"
DECK_PATTERN = "*.pptx"
GALLERY_PREVIEW = 8
"""Figures previewed on the index page (the gallery page shows them all)."""
EVIDENCE_COLUMNS = ("run", "shock", "level", "treatment", "estimate", "ci_low", "ci_high")
KEY_FIGURE_PREFIXES = ("effects", "map", "choropleth")
"""A card shows the run's first figure whose file name starts so (else its first figure)."""
POINT_UNITS = ("pp", "point", "points", "percentage_points")

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
    trim_blocks=False,
    keep_trailing_newline=True,
)


def index_page(lang: str) -> str:
    """``index.html`` in French, ``index.<lang>.html`` otherwise."""
    return INDEX_FILE if lang == "fr" else INDEX_FILE.replace(".html", f".{lang}.html")


def read_evidence(reports_dir: Path) -> pd.DataFrame | None:
    """``reports/evidence.csv``, or ``None`` when the batch has not written it yet.

    Raises:
        ValueError: the file lacks a column the site needs (naming the file and
            the columns).
    """
    path = Path(reports_dir) / EVIDENCE_FILE
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype={"run": str, "level": str})
    require_columns(
        frame,
        EVIDENCE_COLUMNS,
        str(path),
        fix="The evidence table is written by `ptce report` (delete the file and run it again).",
        error=ValueError,
    )
    return frame


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _unit_word(unit: Any, value: float, lang: str) -> str:
    unit = "" if unit is None or (isinstance(unit, float) and math.isnan(unit)) else str(unit)
    if unit in POINT_UNITS or not unit:
        return labels.unit_word("point", value, lang)
    return unit


def verdict(row: Mapping[str, Any]) -> str:
    """``better``, ``worse`` or ``no_difference``: where the interval lies, for the outcome."""
    low, high = _number(row.get("ci_low")), _number(row.get("ci_high"))
    if low is None or high is None or low <= 0 <= high:
        return "no_difference"
    higher_is_better = labels.OUTCOME_HIGHER_IS_BETTER.get(str(row.get("outcome")), True)
    above_zero = low > 0
    return "better" if above_zero == higher_is_better else "worse"


SHOCK_COMPARISON_NOTEBOOKS = ("cooperation_and_resilience",)
"""Notebooks whose evidence rows compare treated and other territories over one shock."""


def headline(row: Mapping[str, Any], lang: str = "fr") -> str:
    """One comparison in plain words, with its interval and the number of treated territories.

    ``Pour le choc du Covid-19, les zones d'emploi avec un PTCE n'ont pas mieux
    résisté : écart ajusté −0,08 point [−0,20 ; 0,04], 22 zones d'emploi traitées``
    """
    estimate, low, high = (_number(row.get(c)) for c in ("estimate", "ci_low", "ci_high"))
    own_sentence = row.get(f"sentence_{lang}")
    own_sentence = own_sentence.strip().rstrip(".") if isinstance(own_sentence, str) else ""
    if estimate is None or str(row.get("notebook")) not in SHOCK_COMPARISON_NOTEBOOKS:
        # A design of its own (staggered adoption, dose–response) has no shock and no yes/no
        # treatment for the template below: its notebook's own generated sentence says it.
        return own_sentence or str(row.get("title") or row.get("run"))
    level = str(row.get("level"))
    decimals = (
        labels.decimals_for_range(low, high, 2)
        if low is not None and high is not None
        else labels.decimals_for_range(estimate, 0.0, 2)
    )
    n_treated = _number(row.get("n_treated"))
    n = _number(row.get("n"))
    if n_treated is not None:
        counted = labels.count_phrase(level, int(n_treated), lang, treated=True)
    elif n is not None:
        counted = labels.count_phrase(level, int(n), lang)
    else:
        counted = ""
    fmt = lambda x: labels.format_number(x, lang, decimals)  # noqa: E731 - local shorthand
    sentence = labels.site_text(
        "headline",
        lang,
        shock=labels.phrase("shock", str(row.get("shock")), lang),
        level=labels.phrase("level", level, lang),
        treatment=labels.phrase("treatment", str(row.get("treatment")), lang),
        verdict=labels.phrase("verdict", verdict(row), lang),
        colon=labels.colon(lang),
        semicolon=labels.semicolon(lang),
        estimate=fmt(estimate),
        unit=_unit_word(row.get("unit"), estimate, lang),
        low=fmt(low) if low is not None else "?",
        high=fmt(high) if high is not None else "?",
        n_treated=counted,
        treated_noun="",
    ).rstrip(", ")
    return sentence[:1].upper() + sentence[1:]


SUMMARY_ALPHA = 0.05
"""Level at which the summary counts Holm-adjusted comparisons as significant."""


def answer_summary(rows: Sequence[Mapping[str, Any]], lang: str = "fr") -> str:
    """The answer in two sentences: how the batch's comparisons came out, corrected and sized.

    Counts the rows with an interval by :func:`verdict` (an advantage of the
    cooperative territories established, a disadvantage, no difference), the
    Holm-adjusted p-values under :data:`SUMMARY_ALPHA` over the rows with a
    p-value, and gives the range of minimum detectable effects of the
    shock comparisons (in points of unemployment rise). Empty without rows.
    """
    with_interval = [r for r in rows if _number(r.get("ci_low")) is not None]
    if not with_interval:
        return ""
    verdicts = [verdict(r) for r in with_interval]
    tested = [r for r in rows if _number(r.get("p_value")) is not None]
    significant = sum(1 for r in tested if (_number(r.get("p_holm")) or 1.0) < SUMMARY_ALPHA)
    fmt_count = lambda n: labels.format_number(n, lang, 0)  # noqa: E731 - local shorthand
    text = labels.site_text(
        "answer_summary",
        lang,
        n=fmt_count(len(with_interval)),
        better=fmt_count(verdicts.count("better")),
        worse=fmt_count(verdicts.count("worse")),
        none=fmt_count(verdicts.count("no_difference")),
        n_tested=fmt_count(len(tested)),
        significant=fmt_count(significant),
        alpha=labels.format_percent(100 * SUMMARY_ALPHA, lang, 0),
    )
    mdes = (
        _number(r.get("mde"))
        for r in with_interval
        if str(r.get("notebook")) in SHOCK_COMPARISON_NOTEBOOKS
        and str(r.get("unit") or "") in (*POINT_UNITS, "")
    )
    detectable = [mde for mde in mdes if mde is not None]
    if detectable:
        low, high = min(detectable), max(detectable)
        text += " " + labels.site_text(
            "answer_detectable",
            lang,
            low=labels.format_number(low, lang, 2),
            high=labels.format_number(high, lang, 2),
            unit=_unit_word("points", high, lang),
        )
    return text


def search_key(*parts: Any) -> str:
    """Lower case, accents removed: what the search box compares typed words with."""
    joined = " ".join(str(p) for p in parts if p)
    decomposed = unicodedata.normalize("NFD", joined)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def territory_names(level: str) -> dict[str, str]:
    """Official names of a level's territories, from the processed layer (empty when absent)."""
    path = paths.territory_layer(level)
    if not path.is_file():
        return {}
    try:
        table = pd.read_parquet(path, columns=["territory_code", "territory_name"])
    except (OSError, ValueError, KeyError):
        return {}
    return dict(zip(table["territory_code"].astype(str), table["territory_name"], strict=True))


def is_fiche(run: ReportRun) -> bool:
    """A run about one territory (its parameters name a ``territory_code``)."""
    return bool(str(run.parameters.get("territory_code") or "").strip())


def _existing(folder: Path, name: str | None) -> bool:
    return bool(name) and (folder / str(name)).is_file()


def _href(*parts: str) -> str:
    return "/".join(urllib.parse.quote(p) for p in parts)


def _records(runs: Sequence[ReportRun], reports_dir: Path) -> dict[str, dict[str, Any] | None]:
    return {run.name: read_run_record(reports_dir, run.name) for run in runs}


def _is_stale(record: Mapping[str, Any] | None) -> bool:
    """The last rerun failed: the report linked is the last good one."""
    return bool(record) and record.get("status") == STATUS_STALE


def _report_href(run: ReportRun, record: Mapping[str, Any] | None, reports_dir: Path) -> str:
    if record and _existing(reports_dir / run.name, record.get("html")):
        return _href(run.name, str(record["html"]))
    return ""


def _thumbnails(run_name: str, record: Mapping[str, Any] | None, reports_dir: Path) -> list[dict]:
    """The run's thumbnails whose figure is there: href (the PNG), src, alt text, title."""
    folder = reports_dir / run_name
    found = []
    for thumb in (record or {}).get("thumbnails", []):
        figure = str(thumb).removeprefix(f"{THUMBS_DIR}/")
        if not ((folder / thumb).is_file() and (folder / FIGURES_DIR / figure).is_file()):
            continue
        sidecar = _figure_sidecar(folder / FIGURES_DIR / figure)
        alt = sidecar.get("alt_text") or Path(figure).stem.replace("_", " ")
        found.append(
            {
                "href": _href(run_name, FIGURES_DIR, *figure.split("/")),
                "src": _href(run_name, *str(thumb).split("/")),
                "alt": alt,
                "title": sidecar.get("title") or alt,
            }
        )
    return found


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


def _run_lang(run: ReportRun, record: Mapping[str, Any] | None) -> str:
    return str(
        (record or {}).get("parameters", {}).get("lang") or run.parameters.get("lang") or "fr"
    )


# ---------------------------------------------------------------------------
# The pages
# ---------------------------------------------------------------------------


def _sources() -> list[dict[str, str]]:
    try:
        catalogue = sources.load_catalogue()
    except (OSError, ValueError):
        return []
    return [
        {
            "publisher": s.publisher,
            "title": s.title,
            "licence": s.licence,
            "coverage": s.coverage,
            "landing_page": s.landing_page if s.landing_page.startswith("https://") else "",
        }
        for s in catalogue.values()
    ]


def site_context(runs: Sequence[ReportRun], reports_dir: Path, lang: str = "fr") -> dict[str, Any]:
    """Everything ``site.html.j2`` shows, in ``lang`` (plain data, escaped by the template)."""
    labels.check_lang(lang)
    records = _records(runs, reports_dir)
    evidence = read_evidence(reports_dir)
    evidence_rows: dict[str, list[dict[str, Any]]] = {}
    if evidence is not None:
        for row in evidence.to_dict("records"):
            evidence_rows.setdefault(str(row["run"]), []).append(row)
    national = [
        run for run in runs if not is_fiche(run) and _run_lang(run, records[run.name]) == lang
    ]
    headlines, cards, gallery, csvs = [], [], [], []
    for run in national:
        record = records[run.name]
        href = _report_href(run, record, reports_dir)
        rows = evidence_rows.get(run.name, [])
        for row in rows:
            headlines.append({"text": headline(row, lang), "href": href})
        thumbs = sorted(
            _thumbnails(run.name, record, reports_dir),
            key=lambda t: not Path(t["href"]).name.startswith(KEY_FIGURE_PREFIXES),
        )
        card = {
            "title": run.title or (record or {}).get("title") or run.name,
            "href": href,
            "stale": _is_stale(record),
            "thumb": thumbs[0]["src"] if thumbs else "",
            "alt": thumbs[0]["alt"] if thumbs else "",
            "figure": "",
            "interval": "",
            "sentence": labels.site_text(
                "no_sentence" if evidence is not None else "card_pending", lang
            ),
        }
        if rows:
            first = rows[0]
            estimate, low, high = (_number(first.get(c)) for c in ("estimate", "ci_low", "ci_high"))
            if estimate is not None:
                decimals = labels.decimals_for_range(
                    low if low is not None else estimate, high if high is not None else 0.0, 2
                )
                card["figure"] = (
                    labels.format_number(estimate, lang, decimals, sign=True)
                    + " "
                    + _unit_word(first.get("unit"), estimate, lang)
                )
                if low is not None and high is not None:
                    card["interval"] = (
                        f"[{labels.format_number(low, lang, decimals)}"
                        f"{labels.semicolon(lang)}"
                        f"{labels.format_number(high, lang, decimals)}], "
                        + labels.site_text("interval", lang)
                    )
            card["sentence"] = headline(first, lang) + "."
        cards.append(card)
        gallery += [t for t in thumbs[:2] if t["alt"] not in {g["alt"] for g in gallery}]
        files = [
            {"name": Path(f).name, "href": _href(run.name, *str(f).split("/"))}
            for f in (record or {}).get("files", [])
            if str(f).endswith(".csv") and (reports_dir / run.name / f).is_file()
        ]
        if files:
            csvs.append({"title": card["title"], "files": files})
    fiches = []
    names_by_level: dict[str, dict[str, str]] = {}
    for run in runs:
        if not is_fiche(run):
            continue
        record = records[run.name]
        level = str(run.parameters.get("level") or "")
        code = str(run.parameters.get("territory_code"))
        if level not in names_by_level:
            names_by_level[level] = territory_names(level) if level else {}
        name = names_by_level[level].get(code) or run.title or run.name
        folder = reports_dir / run.name
        # The printed fiche sits beside its page: linked whenever the file is there, even
        # when the run's record does not name it (a PDF printed after the run was recorded).
        pdf = (record or {}).get("pdf") or PDF_FILE
        level_word = labels.phrase("level_short", level, lang)
        fiches.append(
            {
                "name": name,
                "code": code,
                "level": level_word,
                "href": _report_href(run, record, reports_dir),
                "stale": _is_stale(record),
                "pdf": _href(run.name, str(pdf)) if _existing(folder, pdf) else "",
                "search": search_key(name, code, level_word, run.name),
            }
        )
    decks = sorted(p.name for p in reports_dir.glob(DECK_PATTERN) if p.is_file())
    other = "en" if lang == "fr" else "fr"
    has_other = any(_run_lang(run, records[run.name]) == other for run in runs) or other == "fr"
    return {
        "lang": lang,
        "t": {key: labels.site_text(key, lang) for key in _TEXT_KEYS},
        "headlines": headlines,
        "summary": answer_summary(
            [row for run in national for row in evidence_rows.get(run.name, [])], lang
        ),
        "cards": cards,
        "fiches": fiches,
        "gallery": gallery[:GALLERY_PREVIEW],
        "gallery_href": GALLERY_PAGE if (reports_dir / GALLERY_PAGE).is_file() else "",
        "methods": labels.methods(lang),
        "sources": _sources(),
        "deck_href": _href(decks[0]) if decks else "",
        "evidence_href": EVIDENCE_FILE if evidence is not None else "",
        "csvs": csvs,
        "runs_page": RUNS_PAGE,
        "other_page": index_page(other) if has_other else "",
        "other_lang": other,
    }


_TEXT_KEYS = (
    "site_title", "question", "answer_heading", "answer_intro", "evidence_missing",
    "findings_heading", "interval", "read_report", "territories_heading", "territories_intro",
    "search_label", "search_placeholder", "search_none", "fiche_pdf", "no_fiches",
    "gallery_heading", "gallery_intro", "gallery_link", "methods_heading", "sources_heading",
    "source_publisher", "source_title", "source_licence", "source_coverage",
    "downloads_heading", "download_deck", "download_evidence", "download_csvs", "runs_link",
    "other_language", "not_built", "runs_title", "runs_intro", "runs_back", "col_run",
    "col_notebook", "col_parameters", "col_status", "col_links", "col_figures", "col_cache",
    "stale_note", "stale_badge",
)  # fmt: skip


def _format_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def runs_context(runs: Sequence[ReportRun], reports_dir: Path, lang: str = "fr") -> dict[str, Any]:
    """Everything ``runs.html.j2`` shows: one row per configured run."""
    rows = []
    for run in runs:
        record = read_run_record(reports_dir, run.name)
        row: dict[str, Any] = {
            "name": run.name,
            "title": run.title or (record or {}).get("title") or "",
            "notebook": run.notebook,
            "parameters": [],
            "status": labels.site_text("not_run", lang),
            "css": "not-run",
            "links": [],
            "images": [],
        }
        if record is not None:
            status = str(record.get("status", "?"))
            folder = reports_dir / run.name
            links = [
                ("link_report", record.get("html")),
                ("link_pdf", record.get("pdf")),
                ("link_notebook", record.get("executed_notebook")),
                ("link_run", RUN_FILE),
                ("link_failure", FAILED_NOTEBOOK_FILE if status == STATUS_STALE else None),
            ]
            row.update(
                parameters=[
                    (k, _format_value(v))
                    for k, v in sorted(record.get("parameters", {}).items())
                    if k != "output_dir"  # always the run's figures/ folder
                ],
                status=status,
                css={STATUS_OK: "ok", STATUS_SKIPPED: "ok", STATUS_STALE: "stale"}.get(
                    status, "failed"
                ),
                duration=(
                    f"{record['duration_s']:.1f} s" if record.get("duration_s") is not None else ""
                ),
                stale=status == STATUS_STALE,
                error=str(record.get("error") or "")[:2000],
                cache_key=str(record.get("cache_key") or "")[:12],
                reason=str(record.get("rerun_reason") or ""),
                links=[
                    {"label": labels.site_text(label, lang), "href": _href(run.name, str(file))}
                    for label, file in links
                    if _existing(folder, file)
                ],
                images=_thumbnails(run.name, record, reports_dir),
            )
        rows.append(row)
    return {
        "lang": lang,
        "t": {key: labels.site_text(key, lang) for key in _TEXT_KEYS},
        "rows": rows,
        "index_page": INDEX_FILE,
    }


def write_index(runs: Sequence[ReportRun], reports_dir: Path | None = None) -> Path:
    """Write the site: ``index.html`` (``index.en.html`` too for English runs), ``runs.html``.

    Runs are read back from their ``run.json``; a configured run never executed
    is listed as "not run" in the run log. Only files that exist are linked.

    Returns:
        The path of ``reports/index.html``.
    """
    reports_dir = Path(reports_dir or paths.reports_dir())
    records = _records(runs, reports_dir)
    langs = ["fr"] + [
        lang
        for lang in LANGS
        if lang != "fr" and any(_run_lang(run, records[run.name]) == lang for run in runs)
    ]
    for lang in langs:
        page = _TEMPLATES.get_template("site.html.j2").render(site_context(runs, reports_dir, lang))
        write_text_atomically(page, reports_dir / index_page(lang))
    for stale_lang in set(LANGS) - set(langs):  # an English site from an earlier batch
        (reports_dir / index_page(stale_lang)).unlink(missing_ok=True)
    runs_page = _TEMPLATES.get_template("runs.html.j2").render(runs_context(runs, reports_dir))
    write_text_atomically(runs_page, reports_dir / RUNS_PAGE)
    return reports_dir / INDEX_FILE
