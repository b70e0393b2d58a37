"""The report site and report pages as a reader meets them; warm kernels.

Unit tests build a small ``reports/`` folder inline (run records, a few files,
an inline ``evidence.csv``). The slow tests run tiny notebooks through the real
batch (warm kernels, the page export), then check every page and open the site
in headless Chromium.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pypdf
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from analysis import report_content, reports
from analysis.reports import check, kernels, pages, site, words, worker
from analysis.reports.config import ReportRun
from test_reports import _batch, fixed_inputs, write_tiny_notebook  # noqa: F401 - a fixture

CHROMIUM = Path("/usr/bin/chromium")

EVIDENCE_CSV = """run,title,notebook,level,shock,indicator,outcome,treatment,specification,estimate,ci_low,ci_high,p_value,p_value_method,p_holm,p_bh,n,n_treated,n_clusters,mde,equivalence_bound,unit,sentence_fr,sentence_en
national-covid,Covid,cooperation_and_resilience,ze2020,covid_2020,unemployment_rate,rise_vs_nation_pp,is_ptce_territory,ols_hc3+controls,-0.0806,-0.2026,0.0402,0.23,wild,0.5,0.4,302,22,13,0.15,0.1,pp,phrase,sentence
national-dep-2008,Départements,cooperation_and_resilience,dep,recession_2008,unemployment_rate,rise_vs_nation_pp,is_ptce_territory,ols_hc3+controls,-0.31,-0.52,-0.10,0.01,wild,0.02,0.02,96,37,13,0.2,0.1,pp,phrase,sentence
"""  # noqa: E501 - one CSV row per line


def _record(folder: Path, run: ReportRun, **fields) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "run": run.name,
        "title": run.title,
        "status": "ok",
        "parameters": dict(run.parameters),
        "html": "report.html",
        "executed_notebook": "nb.ipynb",
        "files": [],
        "thumbnails": [],
        "duration_s": 1.5,
        "cache_key": "0123456789abcdef",
        "rerun_reason": "never run",
        **fields,
    }
    (folder / "report.html").write_text("<html><title>r</title><body>ok</body></html>")
    (folder / "run.json").write_text(json.dumps(record))


@pytest.fixture()
def small_site(tmp_path):
    """A reports folder: two national runs (one with a CSV), two fiches, one never-run run."""
    reports_dir = tmp_path / "reports"
    runs = [
        ReportRun(
            "national-covid",
            "cooperation_and_resilience",
            {"level": "ze2020", "shock": "covid_2020", "lang": "fr"},
            title="Covid <script>alert(1)</script>",
        ),
        ReportRun("national-dep-2008", "cooperation_and_resilience", {"level": "dep"}, title="Dép"),
        ReportRun(
            "fiche-dep-14",
            "territory_fiche",
            {"level": "dep", "territory_code": "14"},
            title="Fiche territoriale : Calvados (14)",
        ),  # fmt: skip
        ReportRun(
            "fiche-reg-28",
            "territory_fiche",
            {"level": "reg", "territory_code": "28"},
            title="Fiche territoriale : Normandie (28)",
        ),  # fmt: skip
        ReportRun("never-run", "territory_fiche", {"level": "dep", "territory_code": "61"}),
    ]
    _record(reports_dir / "national-covid", runs[0], files=["figures/effects.csv"])
    (reports_dir / "national-covid" / "figures").mkdir()
    (reports_dir / "national-covid" / "figures" / "effects.csv").write_text("a\n1\n")
    _record(reports_dir / "national-dep-2008", runs[1])
    _record(reports_dir / "fiche-dep-14", runs[2], pdf="fiche.pdf")
    (reports_dir / "fiche-dep-14" / "fiche.pdf").write_bytes(b"%PDF-1.4")
    _record(reports_dir / "fiche-reg-28", runs[3])
    return reports_dir, runs


# --- the site ----------------------------------------------------------------------


def test_headline_reads_in_plain_french():
    row = pd.read_csv(pd.io.common.StringIO(EVIDENCE_CSV)).iloc[0].to_dict()
    assert site.headline(row, "fr") == (
        "Pour le choc du Covid-19, les zones d'emploi avec un PTCE n'ont pas mieux résisté\u00a0: "
        "écart ajusté \u22120,08 point [\u22120,20\u00a0; 0,04], 22 zones d'emploi traitées"
    )
    assert site.headline(row, "en").startswith(
        "For the COVID-19 shock, employment zones with a PTCE did not withstand it better: "
        "adjusted difference \u22120.08 point"
    )
    better = pd.read_csv(pd.io.common.StringIO(EVIDENCE_CSV)).iloc[1].to_dict()
    assert site.verdict(better) == "better"  # a smaller rise in unemployment, interval below 0
    assert "1 département traité" in site.headline({**better, "n_treated": 1}, "fr")
    assert site.verdict({**better, "ci_low": 0.1, "ci_high": 0.3}) == "worse"


def test_answer_summary_counts_verdicts_holm_and_the_detectable_effects():
    rows = pd.read_csv(pd.io.common.StringIO(EVIDENCE_CSV)).to_dict("records")
    summary = site.answer_summary(rows, "fr")
    assert "sur 2 comparaisons nationales" in summary
    assert "favorable aux territoires coopératifs dans 1, défavorable dans 0" in summary
    assert "contient zéro (aucune différence établie) dans 1" in summary
    assert "Après correction de Holm sur les 2 tests du lot" in summary
    assert summary.count("significatives au seuil de 5\u00a0% : 1") == 1  # p_holm 0.02
    assert "écart de 0,15 à 0,20 point" in summary  # the MDEs of the two shock comparisons
    # an unadjusted p-value under 5 % whose Holm p-value is not: not counted significant
    rows[1]["p_holm"] = 0.2
    assert "significant at 5%: 0" in site.answer_summary(rows, "en")
    assert site.answer_summary([], "fr") == ""


def test_index_answers_the_question_from_the_evidence_table(small_site):
    reports_dir, runs = small_site
    (reports_dir / "evidence.csv").write_text(EVIDENCE_CSV)
    index_path = site.write_index(runs, reports_dir)
    page = index_path.read_text()
    assert page.index(words.text("question")[:40].replace("'", "&#39;")) < page.index(
        "écart ajusté"
    )
    assert page.count('<li><a href="national-covid/report.html">Pour le choc du Covid-19') == 1
    assert page.index('class="summary">En bref, sur 2 comparaisons') < page.index("<ul>")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page  # escaped
    for section in ("answer", "findings", "territories", "gallery", "methods", "sources",
                    "downloads"):  # fmt: skip
        assert f'id="{section}"' in page
    for reference in (
        "Martin 2012",
        "Lagravinese",
        "Callaway",
        "Abadie",
        "Cameron",
        "Webb",
        "Holm",
    ):
        assert reference.split()[0] in page
    assert 'href="evidence.csv"' in page and 'href="national-covid/figures/effects.csv"' in page
    assert 'href="fiche-dep-14/fiche.pdf"' in page and "Licence Ouverte" in page
    assert "index.en.html" not in page  # no English run
    runs_page = (reports_dir / site.RUNS_PAGE).read_text()
    assert "not run" in runs_page and "0123456789ab" in runs_page and "1.5 s" in runs_page
    assert not check.page_problems(reports_dir)


def test_each_fiche_links_its_printed_pdf_when_the_file_is_there(small_site):
    reports_dir, runs = small_site
    page = site.write_index(runs, reports_dir).read_text()
    assert 'href="fiche-dep-14/fiche.pdf"' in page  # named by its record
    assert "fiche-reg-28/fiche.pdf" not in page  # no file, no link
    (reports_dir / "fiche-reg-28" / "fiche.pdf").write_bytes(b"%PDF-1.4")  # record silent
    page = site.write_index(runs, reports_dir).read_text()
    assert 'href="fiche-reg-28/fiche.pdf"' in page
    assert "never-run/fiche.pdf" not in page and not check.page_problems(reports_dir)


def test_index_without_evidence_says_it_is_not_built(small_site):
    reports_dir, runs = small_site
    page = site.write_index(runs, reports_dir).read_text()
    assert "pas encore construit" in page and 'href="evidence.csv"' not in page


def test_search_entries_carry_names_and_codes_without_accents(small_site):
    reports_dir, runs = small_site
    context = site.site_context(runs, reports_dir, "fr")
    entries = {entry["code"]: entry for entry in context["fiches"]}
    assert set(entries) == {"14", "28", "61"}
    assert "calvados" in entries["14"]["search"] and entries["14"]["href"]
    assert entries["61"]["href"] == ""  # never run: listed, not linked
    assert site.search_key("Île-de-France") == "ile-de-france"


def test_english_site_when_the_batch_has_english_runs(small_site):
    reports_dir, runs = small_site
    runs.append(ReportRun("national-covid-en", "cooperation_and_resilience", {"lang": "en"}))
    _record(reports_dir / "national-covid-en", runs[-1])
    site.write_index(runs, reports_dir)
    english = (reports_dir / "index.en.html").read_text()
    assert '<html lang="en">' in english and "The answer so far" in english
    assert 'href="index.en.html"' in (reports_dir / "index.html").read_text()
    site.write_index(runs[:-1], reports_dir)
    assert not (reports_dir / "index.en.html").exists()


def test_page_problems_find_what_a_reader_must_not_meet(tmp_path):
    (tmp_path / "a.html").write_text(
        '<p>NaN and &lt;NA&gt; and 1 ... 5 and In [3]:</p><img src="x.png">'
        '<a href="missing.html">m</a><a href="https://example.org">ok</a>'
        "<style>.x{content:'NaN'}</style><script>var NaN_ok = '...';</script>"
    )
    problems = "\n".join(check.page_problems(tmp_path))
    for expected in ("NaN", "<NA>", "truncation", "prompt", "without alt", "missing image x.png",
                     "broken link missing.html"):  # fmt: skip
        assert expected in problems
    assert "example.org" not in problems and problems.count("\n") == 6


# --- report pages --------------------------------------------------------------------


def test_prepare_for_reading_drops_code_streams_hidden_cells_and_empty_headings():
    notebook = new_notebook()
    shown = new_code_cell("x", outputs=[new_output("display_data", data={"text/plain": "x"})])
    notebook.cells = [
        new_markdown_cell("# Question with `shock`", metadata={"tags": ["hide-in-report"]}),
        new_code_cell("level = 'dep'", metadata={"tags": ["parameters"]}),
        new_markdown_cell("## Chargement"),
        new_code_cell("load()", outputs=[new_output("stream", name="stdout", text="log")]),
        new_markdown_cell("## Résultats\n\n### Carte"),
        shown,
        new_markdown_cell("### Vide"),
        new_markdown_cell("## Fin"),
    ]
    ready = pages.prepare_for_reading(notebook)
    assert [c.source for c in ready.cells] == ["## Résultats\n\n### Carte", "x"]
    assert len(notebook.cells) == 8  # the executed notebook itself is untouched


def test_page_opens_with_one_title_the_notebook_s_own_or_the_run_s():
    described = new_notebook()
    described.cells = [
        new_markdown_cell("# Question with `shock`", metadata={"tags": ["hide-in-report"]}),
        new_markdown_cell("## Résultats"),
        new_code_cell("x", outputs=[new_output("display_data", data={"text/plain": "x"})]),
    ]
    ready = pages.add_title(pages.prepare_for_reading(described), "Covid <b>&</b> PTCE")
    assert ready.cells[0].source == "# Covid &lt;b&gt;&amp;&lt;/b&gt; PTCE"  # the run's, escaped
    assert "`shock`" not in "".join(c.source for c in ready.cells)
    question = {"text/markdown": "# Les zones d'emploi avec un PTCE ?"}
    generated = new_code_cell("t", outputs=[new_output("display_data", data=question)])
    own = new_notebook()
    own.cells = [generated, new_markdown_cell("## Résultats")]
    assert pages.has_title(own)
    assert len(pages.add_title(own, "Run title").cells) == 2  # never a second H1
    html_title = new_code_cell("t", outputs=[new_output(
        "display_data", data={"text/html": "<h1>Calvados</h1>"})])  # fmt: skip
    assert pages.has_title(new_notebook(cells=[html_title]))
    assert not pages.has_title(new_notebook(cells=[new_markdown_cell("## Only a section")]))
    page = "<nav>back</nav><!--ptce-toc--><h1>T</h1>" + "".join(
        f'<h2 id="s{i}">S{i}<a class="anchor-link" href="#s{i}">¶</a></h2>' for i in range(3)
    )
    placed = pages.place_table_of_contents(page, "fr")
    assert placed.index("</h1>") < placed.index("ptce-toc") and "<!--ptce-toc-->" not in placed


def test_display_table_shows_codes_in_words():
    frame = pd.DataFrame(
        {
            "estimator": ["callaway_santanna", "did2s", "twfe"],
            "contiguity": ["queen", "knn", "other"],
            "distribution": ["F", "chi2", "F"],
            "reason": [
                "labelled after the panel ends: kept as never treated",
                "hosts a ptce of unknown date: neither treated at a known date nor control",
                "labelled tzcld but no unemployment_rate series at level ze2020",
            ],
        }
    )
    page = report_content.display_table(frame, lang="fr").to_html()
    for code in ("callaway_santanna", "did2s<", "twfe", "queen", ">F<", "labelled", "hosts a"):
        assert code not in page
    assert ">Callaway et Sant&#39;Anna<" in page and "deux étapes de Gardner" in page
    assert "contiguïté" in page and "loi de Fisher (F)" in page and ">other<" in page
    assert "gardé comme jamais traité" in page and "accueille un PTCE de date inconnue" in page
    assert "sans série « Taux de chômage » à la maille zone d&#39;emploi" in page
    designs = pd.DataFrame(
        {"dose": ["n_ptce_per_100k", "ess_share_salaried_jobs_pct"],
         "inference": ["CRV1 clustered by reg_code", "HC1"], "mean_post_gap": [0.1, 0.2]}
    )  # fmt: skip
    designs_page = report_content.display_table(designs, lang="fr").to_html()
    assert "PTCE pour 100" in designs_page and "n_ptce" not in designs_page
    assert "regroupées par région" in designs_page and "(HC1)" in designs_page
    assert ">Erreurs-types<" in designs_page and ">Écart moyen après le label<" in designs_page
    english = report_content.display_table(frame, lang="en").to_html()
    assert "Gardner&#39;s two-stage" in english and "kept as never treated" in english
    frame.to_csv(pd.io.common.StringIO())  # the frame itself keeps its codes
    assert frame.loc[0, "estimator"] == "callaway_santanna"


def test_display_table_reads_in_french_without_index_nan_or_truncation():
    frame = pd.DataFrame(
        {
            "territory_name": ["Calvados", "<b>Orne</b>"],
            "unemployment_rate": [7.1234, np.nan],
            "n": [1200, 3],
            "is_x": [True, False],
            "p_value": [0.0123, pd.NA],
            "kind": ["ptce", "tiers_lieu"],
            "first_year": [2013.0, np.nan],
        },
        index=pd.Index(["14", "61"], name="territory_code"),
    )
    page = report_content.display_table(frame, lang="fr").to_html()
    assert ">Code<" in page and ">Territoire<" in page and ">Taux de chômage<" in page
    assert ">7,12<" in page and ">1\u202f200<" in page and ">0,012<" in page and ">oui<" in page
    assert "NaN" not in page and "&lt;NA&gt;" not in page and page.count(">—<") == 3
    assert "&lt;b&gt;Orne" in page and "<b>Orne" not in page
    assert ">Tiers-lieux<" in page and ">2013<" in page  # kinds in words, years as years
    assert 'class="blank' not in page  # no index column
    long = report_content.display_table(pd.DataFrame({"n": range(100)}), csv="figures/t.csv")
    assert "sur 100" in long.data and 'href="figures/t.csv"' in long.data
    assert long.data.count("<tr>") == 61  # header + the first 60 rows
    full = report_content.display_table(pd.DataFrame({"n": range(100)}))
    assert full.to_html().count("<tr>") == 101  # no CSV: every row


# --- warm kernels and the batch --------------------------------------------------------

READER_BODY = """import pandas as pd
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from analysis import report_content, reports
out = reports.prepare_output_dir(output_dir, "tiny")
frame = pd.DataFrame({"territory_code": ["14", "61"], "value": [points * 1.5, None]})
frame.to_csv(out / "table.csv", index=False)
print("a log line the reader must not see")
secret = "leaked from an earlier notebook" if "leftover" in globals() else "clean"
leftover = 1
display(Markdown(f"> **À retenir** : {points} points, {secret}."))
display(report_content.display_table(frame, lang="fr"))
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([1, 2, 3], [points, 2, 1])
fig.savefig(out / "curve.png", dpi=40, metadata={"Software": None})
plt.rcParams["lines.linewidth"] = 7
plt.show()"""


def _reader_notebook(folder: Path) -> Path:
    path = write_tiny_notebook(folder, body=READER_BODY)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2:2] = [
        new_markdown_cell("## Chargement"),
        new_code_cell("import pandas as pd"),
        new_markdown_cell("## Résultats"),
    ]
    nbformat.write(notebook, path)
    return path


@pytest.mark.slow
def test_report_in_a_reused_kernel_is_identical_to_one_in_a_fresh_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = _reader_notebook(tmp_path / "nb")

    def run(name: str, kernel) -> Path:
        task = {
            "name": name, "title": "Tiny", "notebook": "tiny", "notebook_path": str(notebook),
            "parameters": {"points": 4, "output_dir": "figures"},
            "reports_dir": str(tmp_path / "rep"), "record": {}, "timeout": 120,
        }  # fmt: skip
        record = worker.execute_run(task, kernel)
        assert record["status"] == "ok", record["error"]
        return tmp_path / "rep" / name

    (tmp_path / "rep").mkdir()
    fresh = run("fresh", None)
    warm = kernels.WarmKernel()
    try:
        first = run("warm-first", warm)
        reused = run("warm-second", warm)
        assert warm.notebooks == 2 and warm.alive  # the same kernel ran both
    finally:
        warm.shutdown()
    reference = (fresh / "report.html").read_text()
    assert "clean" in reference and "leaked" not in reference
    for folder in (first, reused):
        assert (folder / "report.html").read_text() == reference
        for name in ("figures/curve.png", "figures/table.csv"):
            assert (folder / name).read_bytes() == (fresh / name).read_bytes(), name
        executed = nbformat.read(folder / "tiny.ipynb", as_version=4)
        counts = [c.execution_count for c in executed.cells if c.cell_type == "code"]
        assert counts == [1, 2, 3, 4]  # numbered as in a fresh kernel
    assert "a log line" not in reference and "In&nbsp;[" not in reference
    assert "Chargement" not in reference and "Résultats" in reference


@pytest.mark.slow
@pytest.mark.usefixtures("fixed_inputs")
def test_small_batch_site_has_no_broken_link_and_the_search_finds_calvados(tmp_path):
    _reader_notebook(tmp_path / "nb")
    runs = [
        ReportRun("national-covid", "tiny", {"points": 4}, title="Coopération et résilience"),
        ReportRun(
            "fiche-dep-14",
            "tiny",
            {"points": 5, "level": "dep", "territory_code": "14"},
            title="Fiche territoriale : Calvados (14)",
        ),  # fmt: skip
        ReportRun(
            "fiche-reg-28",
            "tiny",
            {"points": 6, "level": "reg", "territory_code": "28"},
            title="Fiche territoriale : Normandie (28)",
        ),  # fmt: skip
    ]
    result = _batch(tmp_path, runs)
    assert result.ok, result.failed
    reports_dir = tmp_path / "rep"
    (reports_dir / "evidence.csv").write_text(EVIDENCE_CSV)
    reports.write_index(runs, reports_dir)
    assert check.page_problems(reports_dir) == []
    report = (reports_dir / "national-covid" / "report.html").read_text()
    assert 'href="figures/table.csv"' in report and 'href="tiny.ipynb"' in report
    assert 'href="../index.html"' in report
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium and chromium-driver")
    seen = check.browse(reports_dir)
    assert any("Calvados" in entry for entry in seen["search"]["Calvados"])
    assert any("14" in entry for entry in seen["search"]["14"])
    assert not any("Normandie" in entry for entry in seen["search"]["14"])
    assert not seen["broken_images"]
    assert {p.name for p in seen["screenshots"]} >= {"site.png", "national-report.png", "fiche.png"}
    shutil.rmtree(reports_dir / check.SCREENSHOTS_DIR)


def test_files_section_names_figures_by_their_title_escaped(tmp_path):
    figures_dir = tmp_path / "figures"
    figures_dir.mkdir()
    for name in ("rise_map.png", "rise_map.svg", "rise_map.slide.png", "other_plot.png"):
        (figures_dir / name).write_bytes(b"x")
    sidecar = {  # as figures.save_figure writes it
        "schema": "ptce-figure/1",
        "name": "rise_map",
        "title": "<Carte> de la hausse",
        "caption": None,
        "alt_text": "Carte.",
        "sources": ["registry"],
        "source_line": "Sources : registre",
        "lang": "fr",
        "files": {"png": "rise_map.png", "svg": "rise_map.svg"},
    }
    (figures_dir / "rise_map.json").write_text(json.dumps(sidecar), encoding="utf-8")
    files = sorted(p.relative_to(tmp_path).as_posix() for p in figures_dir.iterdir())
    section = pages.files_section(tmp_path, files, "", "fr")
    assert "&lt;Carte&gt; de la hausse — " in section and "<Carte>" not in section
    assert "other plot — " in section  # no sidecar: the file name in words
    assert "slide" not in section and 'href="figures/rise_map.svg"' in section


def test_report_check_flags_a_fiche_of_three_pages_or_not_a4(tmp_path):
    for name, sizes in {
        "fiche-dep-14": [(595.3, 841.9)] * 2,
        "fiche-reg-84": [(595.3, 841.9)] * 3,
        "fiche-dep-61": [(612, 792)],
    }.items():
        writer = pypdf.PdfWriter()
        for width, height in sizes:
            writer.add_blank_page(width=width, height=height)
        (tmp_path / name).mkdir()
        with open(tmp_path / name / "fiche.pdf", "wb") as handle:
            writer.write(handle)
    problems = check.pdf_problems(tmp_path)
    assert problems == [
        "fiche-dep-61/fiche.pdf: a page of 612 x 792 pt, not A4",
        "fiche-reg-84/fiche.pdf: 3 pages (one or two expected)",
    ]
