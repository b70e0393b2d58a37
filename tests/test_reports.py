"""The report batch: notebook parameters, configuration, validation, caching, execution, index.

The machinery is tested on tiny throwaway notebooks written in ``tmp_path``
(synthetic test fixtures); the project's own notebooks are executed on the real
data in ``test_notebooks.py``.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
import urllib.parse
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from typer.testing import CliRunner

from analysis import hashing, reports
from analysis.cli import app
from analysis.reports import execute

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

TINY_PARAMETERS = '''level: str = "dep"
territory_code: str = ""
points: int = 3
scale: float = 1.0
fail: bool = False
label: str | None = None
output_dir: str = ""'''

TINY_BODY = """import matplotlib.pyplot as plt
import pandas as pd
from pathlib import Path
from analysis import reports
out = reports.prepare_output_dir(output_dir, "tiny")
assert not fail, "this run was asked to fail"
frame = pd.DataFrame({"x": range(points), "y": [scale * i * i for i in range(points)]})
frame.to_csv(out / "table.csv", index=False)
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot(frame["x"], frame["y"])
fig.savefig(out / "curve.png", dpi=40, metadata={"Software": None})
fig.savefig(out / "curve.svg", metadata={"Date": None})
SECRET_CODE_MARKER = 'code must not show in the HTML'
from IPython.display import Markdown, display
display(Markdown(f"points {points}"))  # report pages show displayed prose, never stream output"""


def write_tiny_notebook(
    folder: Path, name: str = "tiny", parameters: str = TINY_PARAMETERS, body: str = TINY_BODY
):
    """A synthetic three-cell notebook: parameters, a table and a figure."""
    notebook = new_notebook()
    notebook.cells = [
        new_markdown_cell("# Tiny test notebook"),
        new_code_cell(parameters, metadata={"tags": ["parameters"]}),
        new_code_cell(body),
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture()
def fixed_inputs(tmp_path, monkeypatch):
    """Pin the batch's input and code files to two tmp files the test controls.

    Other people edit ``src/analysis`` while the suite runs; the cache logic is
    tested against files only this test touches.
    """
    data_file = tmp_path / "inputs" / "table.csv"
    code_file = tmp_path / "inputs" / "code.py"
    data_file.parent.mkdir()
    data_file.write_text("a,b\n1,2\n")
    code_file.write_text("x = 1\n")
    monkeypatch.setattr(execute, "input_files", lambda registry_path=None: [data_file])
    monkeypatch.setattr(execute, "code_files", lambda: [code_file])
    return data_file, code_file


# --- parameters cell --------------------------------------------------------


def test_parameters_cell_gives_names_types_and_defaults():
    source = (
        "# comment\nlevel: str = 'ze2020'\nn: int = 3\nratio: float = 0.5\nfast: bool = False\n"
        "code: str | None = None\ncodes: list = ['01', '02']\nplain = 4\nuntyped = None\n"
        "path: str = str(1)\n"
    )
    parameters = reports.parse_parameters_source(source)
    assert list(parameters) == [
        "level", "n", "ratio", "fast", "code", "codes", "plain", "untyped", "path",
    ]  # fmt: skip
    assert parameters["level"].default == "ze2020" and parameters["level"].type_name == "str"
    assert parameters["code"].optional and parameters["code"].accepts(None)
    assert not parameters["level"].accepts(None)
    assert parameters["codes"].default == ["01", "02"]
    assert parameters["plain"].type_name == "int"
    assert parameters["untyped"].type_name == "any" and parameters["untyped"].accepts("x")
    assert parameters["path"].default == "str(1)"  # not a literal: kept as source text
    assert parameters["ratio"].accepts(2) and not parameters["n"].accepts(2.0)
    assert not parameters["n"].accepts(True) and parameters["fast"].accepts(True)


@pytest.mark.parametrize(
    "source, fragment",
    [
        ("import os\nlevel: str = 'x'", "line 1 is not a simple assignment"),
        ("level: tuple = ()", "unsupported annotation 'tuple'"),
        ("level: str = ", "not valid Python"),
    ],
)
def test_parameters_cell_rejects_what_papermill_cannot_fill(source, fragment):
    with pytest.raises(reports.ReportConfigError, match=fragment):
        reports.parse_parameters_source(source, where="nb.ipynb")


def test_notebook_without_parameters_tag_is_an_error(tmp_path):
    notebook = new_notebook(cells=[new_code_cell("level = 'x'")])
    path = tmp_path / "untagged.ipynb"
    nbformat.write(notebook, path)
    with pytest.raises(reports.ReportConfigError, match="exactly one code cell tagged"):
        reports.read_notebook_parameters(path)


def test_prepare_output_dir_defaults_to_interactive_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PTCE_REPORTS_DIR", str(tmp_path / "rep"))
    assert reports.prepare_output_dir("", "tiny") == tmp_path / "rep" / "interactive" / "tiny"
    assert reports.prepare_output_dir(str(tmp_path / "x"), "tiny").is_dir()


# --- configuration and validation -------------------------------------------


def _write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reports.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_config_lists_every_malformed_run(tmp_path):
    path = _write_config(
        tmp_path,
        "runs:\n"
        "  - {name: ok-run, notebook: tiny}\n"
        "  - {name: ok-run, notebook: tiny}\n"
        "  - {name: Bad Name, notebook: tiny}\n"
        "  - {name: figures, notebook: tiny}\n"
        "  - {name: x, notebook: tiny, paramters: {}}\n"
        "  - {name: y}\n",
    )
    with pytest.raises(reports.ReportConfigError) as caught:
        reports.load_report_config(path)
    message = str(caught.value)
    assert "duplicate run name 'ok-run'" in message
    assert "Bad Name" in message and "(figures)" in message
    assert "unknown key(s) paramters" in message and "(y): missing 'notebook'" in message


def test_config_rejects_unknown_sections(tmp_path):
    path = _write_config(tmp_path, "default: {lang: fr}\nruns: []\n")
    with pytest.raises(reports.ReportConfigError, match="unknown top-level key"):
        reports.load_report_config(path)


def test_config_defaults_apply_only_to_notebooks_declaring_them(tmp_path):
    write_tiny_notebook(tmp_path / "nb")
    path = _write_config(
        tmp_path,
        "defaults: {points: 5, lang: en}\n"
        "runs:\n  - name: a\n    notebook: tiny\n    parameters: {scale: 2.0}\n",
    )
    runs = reports.load_report_config(path, notebooks_dir=tmp_path / "nb")
    (resolved,) = reports.resolve_runs(runs, territory_codes=None)
    assert resolved.parameters["points"] == 5 and resolved.parameters["scale"] == 2.0
    assert "lang" not in resolved.parameters  # tiny has no lang parameter
    assert resolved.notebook_path == tmp_path / "nb" / "tiny.ipynb"


def test_validation_lists_all_bad_runs_before_executing_anything(tmp_path):
    write_tiny_notebook(tmp_path / "nb")
    runs = [
        reports.ReportRun("good", "tiny", {"points": 4}),
        reports.ReportRun("unknown-name", "tiny", {"pionts": 4}),
        reports.ReportRun("wrong-type", "tiny", {"points": "4", "fail": 1}),
        reports.ReportRun("bad-code", "tiny", {"level": "dep", "territory_code": "999"}),
        reports.ReportRun("bad-level", "tiny", {"level": "canton"}),
        reports.ReportRun("no-notebook", "missing", {}),
    ]
    rep = tmp_path / "rep"
    with pytest.raises(reports.ReportConfigError) as caught:
        reports.run_batch(
            runs,
            notebooks_dir=tmp_path / "nb",
            reports_dir=rep,
            territory_codes=lambda level: {"01", "2A"} if level == "dep" else set(),
        )
    message = str(caught.value)
    assert message.startswith("5 run(s) cannot execute; nothing was run")
    assert "unknown-name: unknown parameter 'pionts'" in message
    assert "wrong-type: parameter 'points' = '4' is str, expected int" in message
    assert "wrong-type: parameter 'fail' = 1 is int, expected bool" in message
    assert "bad-code: territory_code '999' is not a dep code" in message
    assert "bad-level: level 'canton' is unknown" in message
    assert "no-notebook: notebook" in message and "notebooks: tiny" in message
    assert not any(line.strip().startswith("good:") for line in message.splitlines())
    assert not any(p.name not in {".checksums.json"} for p in rep.iterdir())


def test_fast_override_applies_only_where_declared(tmp_path):
    write_tiny_notebook(tmp_path / "nb", parameters=TINY_PARAMETERS + "\nfast: bool = False")
    write_tiny_notebook(tmp_path / "nb", name="plain")
    runs = [reports.ReportRun("a", "tiny"), reports.ReportRun("b", "plain")]
    resolved = reports.resolve_runs(
        runs, notebooks_dir=tmp_path / "nb", overrides={"fast": True}, territory_codes=None
    )
    assert resolved[0].parameters["fast"] is True and "fast" not in resolved[1].parameters


def test_select_runs_by_name_or_pattern():
    runs = [
        reports.ReportRun(n, "tiny") for n in ("national-covid", "profil-reg-11", "profil-reg-84")
    ]
    assert [r.name for r in reports.select_runs(runs, ["profil-*"])] == [
        "profil-reg-11",
        "profil-reg-84",
    ]
    assert len(reports.select_runs(runs, None)) == 3
    with pytest.raises(reports.ReportConfigError, match="matches no run"):
        reports.select_runs(runs, ["nope"])


def test_cache_key_changes_with_each_ingredient():
    base = reports.run_cache_key("nb", {"a": 1}, {"f": "1"}, {"c": "1"})
    assert base == reports.run_cache_key("nb", {"a": 1}, {"f": "1"}, {"c": "1"})
    variants = [
        reports.run_cache_key("nb2", {"a": 1}, {"f": "1"}, {"c": "1"}),
        reports.run_cache_key("nb", {"a": 2}, {"f": "1"}, {"c": "1"}),
        reports.run_cache_key("nb", {"a": 1}, {"f": "2"}, {"c": "1"}),
        reports.run_cache_key("nb", {"a": 1}, {"f": "1"}, {"c": "2"}),
    ]
    assert len({base, *variants}) == 5


def test_checksum_cache_rehashes_changed_files(tmp_path):
    file = tmp_path / "f.txt"
    file.write_text("one")
    cache = reports.ChecksumCache(tmp_path / "cache.json")
    first = cache.sha256(file)
    cache.save()
    file.write_text("two!")
    again = reports.ChecksumCache(tmp_path / "cache.json")
    assert again.sha256(file) != first


# --- execution --------------------------------------------------------------


def _batch(tmp_path, runs, **kwargs):
    return reports.run_batch(
        runs,
        jobs=2,
        notebooks_dir=tmp_path / "nb",
        reports_dir=tmp_path / "rep",
        territory_codes=None,
        **kwargs,
    )


@pytest.mark.slow
def test_batch_runs_skips_reruns_and_survives_a_failing_run(tmp_path, fixed_inputs, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as in CI: kernels must still show figures inline
    data_file, code_file = fixed_inputs
    write_tiny_notebook(tmp_path / "nb")
    runs = [
        reports.ReportRun("first", "tiny", {"points": 4}, title="Premier"),
        reports.ReportRun("broken", "tiny", {"fail": True}),
        reports.ReportRun("second", "tiny", {"points": 5}),
    ]
    result = _batch(tmp_path, runs)
    status = {r["run"]: r["status"] for r in result.records}
    assert status == {"first": "ok", "broken": "failed", "second": "ok"}
    assert not result.ok and "this run was asked to fail" in result.failed[0]["error"]

    folder = tmp_path / "rep" / "first"
    record = json.loads((folder / "run.json").read_text())
    assert record["parameters"] == {
        "level": "dep", "territory_code": "", "points": 4, "scale": 1.0, "fail": False,
        "label": None, "output_dir": "figures",
    }  # fmt: skip
    assert record["inputs"] == {execute.relative_label(data_file): hashing.sha256_file(data_file)}
    assert set(record) >= {"cache_key", "git", "duration_s", "catalogue_sha256", "code"}
    assert record["rerun_reason"] == "never run"
    assert record["duration_s"] > 0
    assert sorted(record["files"]) == [
        "figures/curve.png",
        "figures/curve.svg",
        "figures/table.csv",
    ]
    assert (folder / "thumbs" / "curve.png").exists() and (folder / "tiny.ipynb").exists()
    executed = nbformat.read(folder / "tiny.ipynb", as_version=4)
    assert any(
        "image/png" in o.get("data", {}) for c in executed.cells for o in c.get("outputs", [])
    )
    html_text = (folder / "report.html").read_text()
    assert "points 4" in html_text and "SECRET_CODE_MARKER" not in html_text
    assert "cdnjs" not in html_text  # usable offline
    assert (tmp_path / "rep" / "broken" / "report.html").exists()  # failures are inspectable
    assert not list((tmp_path / "rep").glob(".build-*"))

    # Nothing changed: everything that succeeded is skipped, the failure is retried.
    again = _batch(tmp_path, runs)
    assert {r["run"]: r["status"] for r in again.records} == {
        "first": "skipped", "broken": "failed", "second": "skipped",
    }  # fmt: skip
    # One parameter changed: only that run is redone.
    runs[2] = reports.ReportRun("second", "tiny", {"points": 6})
    changed = _batch(tmp_path, runs[::2])
    assert [r["status"] for r in changed.records] == ["skipped", "ok"]
    assert changed.records[1]["rerun_reason"] == "parameters changed: points"
    # An input changed: every run is redone, saying why; so does --force.
    data_file.write_text("a,b\n1,3\n")
    redone = _batch(tmp_path, runs[:1]).records[0]
    assert redone["status"] == "ok" and redone["rerun_reason"].startswith("inputs changed: ")
    assert data_file.name in redone["rerun_reason"]
    forced = _batch(tmp_path, runs[:1], force=True).records[0]
    assert forced["status"] == "ok" and forced["rerun_reason"] == "--force"
    code_file.write_text("x = 2\n")
    redone = _batch(tmp_path, runs[:1]).records[0]
    assert redone["status"] == "ok" and redone["rerun_reason"].startswith("code changed: ")


@pytest.mark.slow
def test_same_inputs_give_byte_identical_figures_and_tables(tmp_path, fixed_inputs):
    write_tiny_notebook(tmp_path / "nb")
    runs = [reports.ReportRun("twice", "tiny", {"points": 7})]
    _batch(tmp_path, runs)
    first = {p.name: p.read_bytes() for p in (tmp_path / "rep" / "twice" / "figures").iterdir()}
    _batch(tmp_path, runs, force=True)
    second = {p.name: p.read_bytes() for p in (tmp_path / "rep" / "twice" / "figures").iterdir()}
    assert set(first) == {"curve.png", "curve.svg", "table.csv"} and first == second


@pytest.mark.slow
def test_cli_report_exit_codes(tmp_path, fixed_inputs, monkeypatch):
    monkeypatch.setenv("PTCE_REPORTS_DIR", str(tmp_path / "rep"))
    write_tiny_notebook(tmp_path / "nb")
    config = _write_config(
        tmp_path,
        "runs:\n"
        "  - {name: fine, notebook: tiny}\n"
        "  - {name: broken, notebook: tiny, parameters: {fail: true}}\n",
    )
    runner = CliRunner()
    folder = ["--notebooks-dir", str(tmp_path / "nb")]
    failed = runner.invoke(app, ["report", "--config", str(config), *folder, "--jobs", "2"])
    assert failed.exit_code == 1, failed.output
    assert "broken" in failed.output and "failed" in failed.output
    only = runner.invoke(app, ["report", "--config", str(config), *folder, "--only", "fine"])
    assert only.exit_code == 0 and "skipped" in only.output
    bad = _write_config(tmp_path, "runs:\n  - {name: x, notebook: tiny, "
                        "parameters: {points: many}}\n")  # fmt: skip
    invalid = runner.invoke(app, ["report", "--config", str(bad), *folder])
    assert invalid.exit_code == 2 and "expected int" in invalid.output
    assert not (tmp_path / "rep" / "x").exists()


# --- the index in a real browser ---------------------------------------------


class _RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder and remembers the status of every request."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".ipynb": "application/json",
        ".json": "application/json",
    }
    statuses: dict[str, int]

    def log_message(self, format, *args):  # noqa: A002 - keep the test output quiet
        pass

    def send_response(self, code, message=None):
        self.statuses[urllib.parse.unquote(self.path.split("?")[0])] = code
        super().send_response(code, message)


def check_index_in_chromium(reports_dir: Path) -> dict[str, int]:
    """Open ``index.html`` in headless Chromium; every image must render and every link load.

    Returns:
        The HTTP status of each URL requested (for the caller's assertions).
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    statuses: dict[str, int] = {}
    handler = functools.partial(
        type("Handler", (_RecordingHandler,), {"statuses": statuses}), directory=str(reports_dir)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = reports_dir.parent / f".chromium-profile-{reports_dir.name}"
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        driver.get(base + "index.html")
        assert driver.title, "index.html has no title"
        images = driver.execute_script(
            "return Array.from(document.images).map(i => "
            "[i.getAttribute('src'), i.complete && i.naturalWidth > 0]);"
        )
        broken = [src for src, loaded in images if not loaded]
        assert not broken, f"images that do not load: {broken}"
        links = driver.execute_script(
            "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);"
        )
        links = [link for link in links if link.startswith(base)]  # sources cite external pages
        for link in links:
            driver.get(link.split("#")[0])
            assert not driver.current_url.startswith("chrome-error"), link
            path = urllib.parse.unquote(urllib.parse.urlparse(link).path)
            # 304: the browser revalidated a file it had already loaded (it exists)
            assert statuses.get(path) in (200, 304), f"{link}: HTTP {statuses.get(path)}"
        statuses["__images__"] = len(images)
        statuses["__links__"] = len(links)
    finally:
        driver.quit()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    return statuses


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium and chromium-driver")
def test_index_links_and_images_load_in_chromium(tmp_path, fixed_inputs):
    write_tiny_notebook(tmp_path / "nb")
    runs = [
        reports.ReportRun("alpha", "tiny", {"points": 4}, title="Alpha <&> test"),
        reports.ReportRun("broken", "tiny", {"fail": True}),
    ]
    configured = [*runs, reports.ReportRun("never-run", "tiny")]
    _batch(tmp_path, runs, all_runs=configured)
    index = (tmp_path / "rep" / "index.html").read_text()
    assert "Alpha &lt;&amp;&gt; test" in index
    runs_page = (tmp_path / "rep" / "runs.html").read_text()  # the run log
    assert "Alpha &lt;&amp;&gt; test" in runs_page and "not run" in runs_page
    statuses = check_index_in_chromium(tmp_path / "rep")
    assert statuses["__images__"] >= 1  # alpha's PNG figure (card and gallery)
    assert statuses["__links__"] >= 4  # report, CSV, runs.html, gallery…
    # 304: the browser revalidated a file it had already loaded (it exists)
    assert statuses["/alpha/report.html"] in (200, 304)


# --- report content helpers (tiny synthetic tables) -----------------------------


def test_figure_sources_cite_the_registry_by_its_source_id():
    from analysis import figures, registry, report_content

    ids = ["registry", "cget_tiers_lieux_2019", "registry", None, float("nan")]
    assert report_content.figure_sources(ids) == ["cget_tiers_lieux_2019", "registry"]
    # One id for the registry rows and its citation: no mapping between the two.
    assert registry.REGISTRY_SOURCE_ID in figures.PROJECT_CITATIONS
    line = figures.source_line(report_content.figure_sources([registry.REGISTRY_SOURCE_ID]))
    assert figures.PROJECT_CITATIONS[registry.REGISTRY_SOURCE_ID]["fr"] in line


def test_attach_to_territories_reports_unmatched_codes_and_fills_counts():
    import pandas as pd

    from analysis import report_content

    layer = pd.DataFrame({"territory_code": ["01", "02", "03"], "territory_name": ["A", "B", "C"]})
    values = pd.DataFrame({"n_ptce": [2, 1], "share": [0.5, 0.1]}, index=["01", "99"])
    merged, unmatched = report_content.attach_to_territories(layer, values, fill_zero_prefix="n_")
    assert unmatched == ["99"]
    assert merged["n_ptce"].tolist() == [2, 0, 0]
    assert merged["share"].isna().tolist() == [False, True, True]
    with pytest.raises(ValueError, match="duplicated territory codes"):
        report_content.attach_to_territories(layer, pd.DataFrame({"x": [1, 2]}, index=["01", "01"]))


def test_rank_territories_gives_best_and_worst_with_reproducible_ties():
    import pandas as pd

    from analysis import report_content

    frame = pd.DataFrame(
        {
            "territory_code": ["a", "b", "c", "d", "e"],
            "territory_name": list("ABCDE"),
            "score": [3.0, 1.0, 3.0, None, 0.5],
        }
    )
    table = report_content.rank_territories(frame, "score", n=2)
    assert table["territory_code"].tolist() == ["a", "c", "b", "e"]
    assert table["group"].tolist() == ["best", "best", "worst", "worst"]
    assert table["rank"].tolist() == [1, 2, 3, 4]
    lower = report_content.rank_territories(frame, "score", n=1, higher_is_better=False)
    assert lower["territory_code"].tolist() == ["e", "c"]


def test_reference_values_align_periods_and_prefer_france_with_overseas():
    import pandas as pd

    from analysis import report_content

    own = pd.DataFrame({"2018": [5.0], "2019": [6.0], "2020": [None]}, index=["84"])
    region = pd.DataFrame({"2019": [7.0]}, index=["84"])
    france = pd.DataFrame({"2019": [8.0, 7.5]}, index=["FRM", "FR"])
    values = report_content.reference_values(own, region, france)
    assert values == {
        "period": "2019", "territory": 6.0, "region": 7.0, "france": 7.5, "latest_period": "2019"
    }  # fmt: skip
    empty = report_content.reference_values(own.iloc[:0], None, None)
    assert empty["period"] is None
    # The zone is newer than its région and France: the latest period common to the three.
    newer = pd.DataFrame({"2019": [6.0], "2021": [5.0], "2023": [4.0]}, index=["84"])
    region = pd.DataFrame({"2019": [7.0], "2021": [6.5]}, index=["84"])
    france = pd.DataFrame({"2019": [8.0], "2021": [7.0], "2022": [6.9]}, index=["FRM"])
    values = report_content.reference_values(newer, region, france)
    assert values == {
        "period": "2021", "territory": 5.0, "region": 6.5, "france": 7.0, "latest_period": "2023"
    }  # fmt: skip
    # A région (no région column) falls back on France alone.
    assert report_content.reference_values(newer, None, france)["period"] == "2021"
    # No common period at all: the territory's latest, the references missing.
    alone = report_content.reference_values(newer, None, france.iloc[:, 2:])
    assert alone["period"] == "2023" and alone["territory"] == 4.0
    assert alone["france"] != alone["france"]  # NaN
    long_run = pd.DataFrame({"1990": [None, 9.0], "2019": [8.0, 7.9]}, index=["FR", "FRM"])
    assert report_content.longest_national_code(long_run) == "FRM"


def test_resilience_row_ranks_the_territory_among_its_peers():
    import pandas as pd

    from analysis import report_content
    from analysis.resilience import ShockWindow

    window = ShockWindow("covid_2020", "unemployment_rate", "lower_is_better", "2020-Q1",
                         "2020-Q3", "2021-Q4", "quarterly")  # fmt: skip
    indices = pd.DataFrame(
        {"resistance_lagravinese": [0.2, -0.1, 0.5], "rise_vs_nation_pp": [1.0, 2.0, 0.5]},
        index=["11", "84", "93"],
    )
    row = report_content.resilience_row(indices, window, "84", "Covid")
    assert row["resistance_lagravinese_rank"] == "3 / 3"  # higher is better
    assert row["rise_vs_nation_pp_rank"] == "3 / 3"  # lower is better: 2.0 is the worst
    assert row["peak"] == "2020-Q1" and row["note"] == ""
    assert "absent" in report_content.resilience_row(indices, window, "00", "Covid")["note"]


def test_profile_from_tables_finds_the_region_or_lists_codes():
    import pandas as pd

    from analysis import report_content

    deps = pd.DataFrame(
        {
            "territory_code": ["33", "69"],
            "territory_name": ["Gironde", "Rhône"],
            "population": [1, 2],
        }
    )
    regs = pd.DataFrame({"territory_code": ["75", "84"], "territory_name": ["N-A", "ARA"]})
    majority = pd.Series({"33": "75", "69": "84"})
    profile = report_content.profile_from_tables("dep", "69", deps, regs, majority)
    assert (profile.territory_name, profile.region_code, profile.region_name) == (
        "Rhône",
        "84",
        "ARA",
    )
    assert profile.reference_names == "ARA, France"
    region = report_content.profile_from_tables("reg", "84", regs.assign(population=5), regs, None)
    assert region.region_code == "" and region.reference_names == "France"
    with pytest.raises(KeyError, match="'2A' is not a dep code"):
        report_content.profile_from_tables("dep", "2A", deps, regs, majority)


def test_majority_parent_and_epci_zone_in_profile():
    import pandas as pd

    from analysis import report_content

    communes = pd.DataFrame(
        {
            "epci_code": ["e1", "e1", "e1", "e2", "e2"],
            "ze2020_code": ["z2", "z1", "z1", "z3", "z4"],
            "population": [500, 300, 300, 10, 10],
        }
    )
    majority = report_content.majority_parent(communes, "epci_code", "ze2020_code")
    assert majority.to_dict() == {"e1": "z1", "e2": "z3"}  # 600 > 500; tie → smallest code
    epcis = pd.DataFrame({"territory_code": ["e1"], "territory_name": ["CA"], "population": [1100]})
    regs = pd.DataFrame({"territory_code": ["84"], "territory_name": ["ARA"]})
    zones = pd.DataFrame({"territory_code": ["z1"], "territory_name": ["Lyon"]})
    profile = report_content.profile_from_tables(
        "epci", "e1", epcis, regs, pd.Series({"e1": "84"}), zones=zones, majority_zone=majority
    )
    assert (profile.zone_code, profile.zone_name, profile.region_name) == ("z1", "Lyon", "ARA")
