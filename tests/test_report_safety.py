"""The report batch never publishes or trusts a damaged run (issue 15, cases 4, 5, 13 and 14).

Each test reproduces one case of the hostile-user matrix on tiny synthetic
notebooks written in ``tmp_path`` and asserts the new behaviour: hidden build
folders are never published and are removed by the next batch, a missing or
altered output file makes its run out of date without breaking the site,
notebooks outside ``notebooks/`` are refused, a failed rerun keeps the last
good report, and a batch lock keeps two batches from doing the same work.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis import paths, reports
from analysis.cli import app
from analysis.reports import execute, site
from test_reports import _batch, fixed_inputs, write_tiny_notebook  # noqa: F401 - a fixture

FIGURE_PARAMETERS = '''points: int = 3
fail: bool = False
pause_s: float = 0.0
output_dir: str = ""'''

FIGURE_BODY = """import time
import matplotlib.pyplot as plt
from analysis import figures, reports
out = reports.prepare_output_dir(output_dir, "figure")
assert not fail, "this run was asked to fail"
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot(range(points), [i * i for i in range(points)])
figures.save_figure(fig, "curve", sources=["registry"], out_dir=out, alt_text="A curve.",
                    title="Courbe")
time.sleep(pause_s)"""


def write_figure_notebook(folder: Path) -> Path:
    """A synthetic notebook saving one figure with ``save_figure`` (sidecar and four formats)."""
    return write_tiny_notebook(folder, "figure", FIGURE_PARAMETERS, FIGURE_BODY)


def _site_pages(reports_dir: Path) -> str:
    return "".join(
        (reports_dir / page).read_text()
        for page in ("index.html", "runs.html", "figures/index.html")  # the run log is runs.html
    )


# --- case 13: notebooks outside notebooks/ ----------------------------------


def test_case13_notebook_outside_the_notebook_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PTCE_REPORTS_DIR", str(tmp_path / "rep"))
    write_tiny_notebook(tmp_path / "nb")
    evil = write_tiny_notebook(tmp_path / "somewhere", name="evil")  # it exists: only the path
    config = tmp_path / "cfg" / "reports.yml"
    config.parent.mkdir()
    config.write_text(
        "runs:\n"
        "  - {name: fine, notebook: tiny}\n"
        "  - {name: sneaky, notebook: ../somewhere/evil}\n"
        f"  - {{name: absolute, notebook: {evil}}}\n"
        "  - {name: back, notebook: '..\\somewhere\\evil'}\n",
        encoding="utf-8",
    )
    with pytest.raises(reports.ReportConfigError) as caught:
        reports.load_report_config(config, notebooks_dir=tmp_path / "nb")
    message = str(caught.value)
    assert "run #2 (sneaky): notebook '../somewhere/evil' is a path, not a notebook name" in message
    assert f"run #3 (absolute): notebook '{str(evil).removesuffix('.ipynb')}' is a path" in message
    assert "run #4 (back): notebook '..\\somewhere\\evil' is a path" in message
    assert "without folder, '..' or .ipynb (e.g. notebook: territory_fiche)" in message  # the fix
    assert "(fine)" not in message

    result = CliRunner().invoke(
        app, ["report", "--config", str(config), "--notebooks-dir", str(tmp_path / "nb")]
    )
    assert result.exit_code == 2, result.output
    assert "sneaky" in result.output and "is a path" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "rep" / "sneaky").exists() and not (tmp_path / "rep" / "fine").exists()


def test_case13_a_run_made_in_python_with_a_path_is_refused_before_anything_runs(tmp_path):
    """``../notebooks/territorial_overview`` once ran, its executed copy outside the run folder."""
    project_notebook = f"../{paths.NOTEBOOKS_DIR.name}/territorial_overview"
    runs = [
        reports.ReportRun("escape", project_notebook),
        reports.ReportRun("absolute", str(tmp_path / "evil")),
    ]
    with pytest.raises(reports.ReportConfigError) as caught:
        reports.run_batch(runs, reports_dir=tmp_path / "rep", territory_codes=None)
    message = str(caught.value)
    assert message.startswith("2 run(s) cannot execute; nothing was run")
    assert f"escape: notebook {project_notebook!r} is a path" in message
    assert "absolute: notebook" in message and "Traceback" not in message
    assert not any(p.name in {"escape", "absolute"} for p in (tmp_path / "rep").iterdir())


def test_case13_a_batch_file_may_not_choose_a_notebook_folder_outside_notebooks(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("PTCE_REPORTS_DIR", str(tmp_path / "rep"))
    write_tiny_notebook(tmp_path / "nb")
    config = tmp_path / "reports.yml"
    config.write_text("notebooks_dir: nb\nruns:\n  - {name: x, notebook: tiny}\n")
    with pytest.raises(reports.ReportConfigError) as caught:
        reports.load_report_config(config)
    message = str(caught.value)
    assert str(config) in message and f"resolves to {tmp_path / 'nb'}" in message
    assert "`ptce report --notebooks-dir DIR`" in message  # the fix
    result = CliRunner().invoke(app, ["report", "--config", str(config)])
    assert result.exit_code == 2 and "outside the project's notebook folder" in result.output
    assert not (tmp_path / "rep" / "x").exists()
    # the project's own folder (or one inside it) is fine; so is a folder given explicitly
    config.write_text(
        f"notebooks_dir: {paths.NOTEBOOKS_DIR}\nruns:\n"
        "  - {name: x, notebook: territorial_overview}\n"
    )
    (run,) = reports.load_report_config(config)
    assert run.notebooks_dir == str(paths.NOTEBOOKS_DIR.resolve())
    (run,) = reports.load_report_config(config, notebooks_dir=tmp_path / "nb")
    assert run.notebooks_dir == str(tmp_path / "nb")


def test_case13_a_link_leading_out_of_the_notebook_folder_is_refused(tmp_path):
    write_tiny_notebook(tmp_path / "elsewhere", name="evil")
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "linked.ipynb").symlink_to(tmp_path / "elsewhere" / "evil.ipynb")
    with pytest.raises(reports.ReportConfigError, match="linked: notebook 'linked.ipynb'"):
        reports.resolve_runs(
            [reports.ReportRun("linked", "linked")],
            notebooks_dir=tmp_path / "nb",
            territory_codes=None,
        )


# --- console messages escape user text ---------------------------------------


def test_report_cli_prints_user_text_verbatim_not_as_markup(tmp_path, monkeypatch):
    monkeypatch.setenv("PTCE_REPORTS_DIR", str(tmp_path / "rep"))
    write_tiny_notebook(tmp_path / "nb")
    config = tmp_path / "reports.yml"
    config.write_text(
        "runs:\n  - {name: x, notebook: tiny, parameters: {points: '[red]many[/red]'}}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    folder = ["--notebooks-dir", str(tmp_path / "nb")]
    invalid = runner.invoke(app, ["report", "--config", str(config), *folder])
    assert invalid.exit_code == 2 and "'[red]many[/red]' is str" in invalid.output
    unmatched = runner.invoke(
        app, ["report", "--config", str(config), *folder, "--only", "[bold]y"]
    )
    assert unmatched.exit_code == 2 and "--only [bold]y matches no run" in unmatched.output


# --- case 14: the batch lock ---------------------------------------------------


def test_case14_a_second_batch_waits_for_the_lock_then_gives_up_with_a_message(tmp_path):
    reports_dir = tmp_path / "rep"
    reports_dir.mkdir()
    events = []
    holder = execute.BatchLock(reports_dir).acquire(timeout=0)
    try:
        started = time.monotonic()
        with pytest.raises(reports.ReportBatchBusy) as caught:
            reports.run_batch(
                [], reports_dir=reports_dir, lock_wait=1.0, on_event=lambda *e: events.append(e)
            )
        assert time.monotonic() - started >= 1.0
        assert f"(process {os.getpid()})" in str(caught.value)
        assert "did not finish within 1 s" in str(caught.value)
        assert events == [("waiting", {"holder": str(os.getpid()), "timeout": 1.0})]
        assert not (reports_dir / "index.html").exists()  # nothing was done

        busy = CliRunner().invoke(
            app, ["report", "--config", str(_empty_config(tmp_path)), "--wait", "0"],
            env={"PTCE_REPORTS_DIR": str(reports_dir)},
        )  # fmt: skip
        assert busy.exit_code == 3, busy.output
        assert "Reports busy" in busy.output and "another `ptce report`" in busy.output

        # Waiting long enough: the batch runs once the holder is done.
        threading.Timer(1.0, holder.release).start()
        events.clear()
        result = reports.run_batch(
            [], reports_dir=reports_dir, lock_wait=60, on_event=lambda *e: events.append(e)
        )
        assert events[0][0] == "waiting" and events[-1][0] == "planned"
        assert result.index_path == reports_dir / "index.html" and result.index_path.exists()
    finally:
        holder.release()


def _empty_config(tmp_path: Path) -> Path:
    path = tmp_path / "empty.yml"
    path.write_text("runs: []\n", encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.usefixtures("fixed_inputs")
def test_case14_a_failed_rerun_keeps_the_last_good_report_marked_stale(tmp_path):
    write_figure_notebook(tmp_path / "nb")
    reports_dir = tmp_path / "rep"
    good = _batch(tmp_path, [reports.ReportRun("keep", "figure", {"points": 4})])
    assert good.ok
    folder = reports_dir / "keep"
    before = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "run.json"
    }
    assert "report.html" in before and "figures/curve.pdf" in before

    failed = _batch(tmp_path, [reports.ReportRun("keep", "figure", {"points": 4, "fail": True})])
    (record,) = failed.records
    assert not failed.ok and record["status"] == "stale"
    assert "this run was asked to fail" in record["error"]
    after = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in ("run.json", "last-failure.ipynb")
    }
    assert after == before  # the last good report and figures, byte for byte
    on_disk = json.loads((folder / "run.json").read_text())
    assert on_disk["status"] == "stale" and "asked to fail" in on_disk["error"]
    assert on_disk["parameters"]["fail"] is False  # describes the report that is there
    assert on_disk["failed_attempt"]["executed_notebook"] == "last-failure.ipynb"
    assert (folder / "last-failure.ipynb").exists()
    assert not list(reports_dir.glob(".build-*"))
    index = (reports_dir / "runs.html").read_text()  # the run log: status, error, links
    assert 'class="stale"' in index and "asked to fail" in index
    assert 'href="keep/report.html"' in index and 'href="keep/last-failure.ipynb"' in index
    front = (reports_dir / "index.html").read_text()  # the site's card says so too
    assert "rapport périmé : la dernière exécution a échoué" in front

    # A stale run is retried; once it succeeds the folder is whole again.
    again = _batch(tmp_path, [reports.ReportRun("keep", "figure", {"points": 4})])
    assert again.records[0]["status"] == "ok"
    assert again.records[0]["rerun_reason"] == "last run stale"
    assert not (folder / "last-failure.ipynb").exists()
    assert "rapport périmé" not in (reports_dir / "index.html").read_text()


@pytest.mark.slow
@pytest.mark.usefixtures("fixed_inputs")
def test_case14_the_cli_shows_the_failed_attempt_of_a_stale_run(tmp_path, monkeypatch):
    """The stale line once showed the last good run's duration and reason (``— --force``)."""
    monkeypatch.setenv("PTCE_REPORTS_DIR", str(tmp_path / "rep"))
    write_figure_notebook(tmp_path / "nb")
    config = tmp_path / "reports.yml"
    command = ["report", "--config", str(config), "--notebooks-dir", str(tmp_path / "nb")]
    config.write_text("runs:\n  - {name: keep, notebook: figure}\n")
    runner = CliRunner()
    good = runner.invoke(app, [*command, "--force"], terminal_width=200)
    assert good.exit_code == 0, good.output
    config.write_text("runs:\n  - {name: keep, notebook: figure, parameters: {fail: true}}\n")
    failed = runner.invoke(app, command, terminal_width=200)
    assert failed.exit_code == 1, failed.output
    record = json.loads((tmp_path / "rep" / "keep" / "run.json").read_text())
    attempt = record["failed_attempt"]
    assert record["rerun_reason"] == "--force"  # the kept report's, not this attempt's
    joined = " ".join(failed.output.split())  # rich wraps at 80 columns
    line = joined[joined.index("✗ stale keep") :].split("Rapports")[0]
    assert "AssertionError: this run was asked to fail" in line and "--force" not in line
    assert "last good report kept" in line
    (row,) = [row for row in failed.output.splitlines() if row.startswith("│ keep")]
    tried, kept = f"{attempt['duration_s']:.1f} s", f"{record['duration_s']:.1f} s"
    assert f"({tried})" in line and tried in row
    if tried != kept:
        assert kept not in line and kept not in row


# --- case 5: missing or altered output files ----------------------------------


@pytest.mark.slow
@pytest.mark.usefixtures("fixed_inputs")
def test_case5_a_missing_figure_file_breaks_nothing_and_its_run_is_rebuilt(tmp_path):
    write_figure_notebook(tmp_path / "nb")
    write_tiny_notebook(tmp_path / "nb")
    reports_dir = tmp_path / "rep"
    damaged, other = reports.ReportRun("damaged", "figure"), reports.ReportRun("other", "tiny")
    assert _batch(tmp_path, [damaged, other]).ok
    record = json.loads((reports_dir / "damaged" / "run.json").read_text())
    assert set(record["outputs"]) >= {"report.html", "figures/curve.pdf", "figures/curve.json"}

    (reports_dir / "damaged" / "figures" / "curve.pdf").unlink()
    # Another run's command: no traceback, the gallery leaves the damaged figure out.
    unrelated = _batch(tmp_path, [other], all_runs=[damaged, other])
    assert unrelated.records[0]["status"] == "skipped"
    assert any("curve.pdf" in w and "ptce report" in w for w in unrelated.warnings)
    assert "damaged/figures/curve.png" not in (reports_dir / "figures" / "index.html").read_text()
    # The damaged run is not up to date: it is rebuilt, saying why.
    rebuilt = _batch(tmp_path, [damaged, other])
    assert [r["status"] for r in rebuilt.records] == ["ok", "skipped"]
    assert rebuilt.records[0]["rerun_reason"] == "outputs missing: figures/curve.pdf"
    assert (reports_dir / "damaged" / "figures" / "curve.pdf").exists() and not rebuilt.warnings
    assert "damaged/figures/curve.png" in (reports_dir / "figures" / "index.html").read_text()

    # An altered file (same size or not) is caught by its sha256.
    svg = reports_dir / "damaged" / "figures" / "curve.svg"
    svg.write_text(svg.read_text().replace("Courbe", "Cxurbe"))
    resolved = reports.resolve_runs([damaged], notebooks_dir=tmp_path / "nb", territory_codes=None)
    tasks, skipped = execute.plan_batch(resolved, reports_dir=reports_dir)
    assert (
        not skipped and tasks[0]["record"]["rerun_reason"] == "outputs altered: figures/curve.svg"
    )


# --- case 4: a batch killed mid-run -------------------------------------------

KILLED_BATCH = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from analysis import reports
    from analysis.reports import execute

    execute.input_files = lambda registry_path=None: []  # nothing from the real data folder
    execute.code_files = lambda: []
    reports.run_batch(
        [reports.ReportRun("slow", "figure", {"pause_s": 300.0})],
        jobs=1,
        notebooks_dir=Path(sys.argv[1]),
        reports_dir=Path(sys.argv[2]),
        territory_codes=None,
    )
    """
)


def _wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.usefixtures("fixed_inputs")
def test_case4_a_killed_batch_never_publishes_its_half_built_run(tmp_path):
    write_figure_notebook(tmp_path / "nb")
    write_tiny_notebook(tmp_path / "nb")
    reports_dir = tmp_path / "rep"
    reports_dir.mkdir()
    batch = subprocess.Popen(
        [sys.executable, "-c", KILLED_BATCH, str(tmp_path / "nb"), str(reports_dir)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        sidecar = _wait_for(
            lambda: next(reports_dir.glob(".build-slow-*/figures/curve.json"), None),
            240,
            "the killed batch's first figure",
        )
        # While it runs, a second batch on the same folder is told and gives up.
        with pytest.raises(reports.ReportBatchBusy, match=f"process {batch.pid}"):
            reports.run_batch([], reports_dir=reports_dir, lock_wait=0.5)
    finally:
        os.killpg(batch.pid, signal.SIGKILL)  # the batch and its worker: kill -9
        batch.wait()
    build = sidecar.parent.parent
    assert build.is_dir() and not (reports_dir / "slow").exists()  # the half-built run

    # The site written meanwhile (e.g. `ptce deck`, another batch) does not list it.
    assert not site.write_gallery(reports_dir)
    site.write_index([reports.ReportRun("slow", "figure")], reports_dir)
    pages = _site_pages(reports_dir)
    assert ".build" not in pages and "curve" not in pages and "not run" in pages

    # The next batch removes the leftovers first: the kernel released the lock with its
    # holders (it may wait the instant the killed worker takes to exit).
    events = []
    result = _batch(
        tmp_path, [reports.ReportRun("other", "tiny")], on_event=lambda *e: events.append(e)
    )
    cleaned = [payload["leftovers"] for event, payload in events if event == "cleaned"]
    assert result.ok and build.name in cleaned[0]
    assert not build.exists() and not list(reports_dir.glob(".task-*"))
    assert ".build" not in _site_pages(reports_dir)


def test_leftovers_of_a_killed_swap_are_put_back_or_removed(tmp_path):
    reports_dir = tmp_path / "rep"
    (reports_dir / ".old-profil-reg-84-4242").mkdir(parents=True)  # killed between renames
    (reports_dir / ".old-profil-reg-84-4242" / "run.json").write_text("{}")
    (reports_dir / "national").mkdir()
    (reports_dir / ".old-national-77").mkdir()  # the new folder is in place: old one goes
    (reports_dir / ".build-national-x1y2").mkdir()
    (reports_dir / ".task-national-abc.json").write_text("{}")
    (reports_dir / ".checksums.json").write_text("{}")
    done = execute.remove_leftovers(reports_dir)
    assert (reports_dir / "profil-reg-84" / "run.json").exists()
    assert sorted(p.name for p in reports_dir.iterdir()) == [
        ".checksums.json", "national", "profil-reg-84",
    ]  # fmt: skip
    assert ".old-profil-reg-84-4242 → profil-reg-84" in done and len(done) == 4
