"""What runs inside a worker process: one report run executed, built aside, then published.

:func:`execute_run` takes one task planned by
:func:`analysis.reports.execute.plan_batch` and executes it: papermill into a
hidden build folder ``reports/.build-<run>-…``, the page a reader sees
(:mod:`analysis.reports.pages`), thumbnails,
``run.json`` with the sha256 of every output file, then one swap into
``reports/<run>/``. A failed rerun never replaces a good report: the last good
one stays, marked ``stale`` with the error beside it. Only the worker
processes import this module (and papermill, nbconvert, Pillow with it), so
the command line stays quick to start.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import papermill
from papermill.exceptions import PapermillExecutionError
from PIL import Image

from analysis import hashing
from analysis.atomic import write_text_atomically
from analysis.reports import pages
from analysis.reports.config import (
    FAILED_NOTEBOOK_FILE,
    FIGURES_DIR,
    HTML_FILE,
    PDF_FILE,
    RUN_FILE,
    STATUS_FAILED,
    STATUS_OK,
    STATUS_STALE,
    THUMBS_DIR,
    read_run_record,
)
from analysis.reports.execute import (
    BUILD_PREFIX,
    DEFAULT_CELL_TIMEOUT_S,
    LOCK_FD_ENV,
    OLD_PREFIX,
    SLIDE_SUFFIX,
    THUMB_WIDTH_PX,
    WORKER_DONE,
    error_summary,
    relative_label,
)
from analysis.reports.kernels import WarmKernel
from analysis.reports.pdf import PDF_NOTEBOOKS, PagePrinter, print_pdf

FICHE_THUMBNAILS = 1
"""Thumbnails of a fiche in the run log (its map): 119 fiches × 3 would make the log heavy."""


def _make_thumbnails(figures: Path, thumbs: Path, limit: int | None = None) -> list[str]:
    """PNG thumbnails of the run's figures for the index (deterministic), the first ``limit``."""
    made: list[str] = []
    for png in sorted(figures.rglob("*.png")):
        if png.name.endswith(SLIDE_SUFFIX):
            continue  # the 16:9 slide version of a figure already thumbnailed
        if limit is not None and len(made) >= limit:
            break
        relative = png.relative_to(figures)
        target = thumbs / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(png) as image:
            image = image.convert("RGB")
            # reduce by whole factors first (fast), then Lanczos the last step
            image.thumbnail((THUMB_WIDTH_PX, image.height), Image.LANCZOS, reducing_gap=2.0)
            image.save(target, format="PNG", optimize=True)
        made.append(relative.as_posix())
    return made


def _swap_into_place(built: Path, final: Path) -> None:
    """Replace ``final`` by ``built`` (a complete folder) with two renames."""
    old = final.with_name(f"{OLD_PREFIX}{final.name}-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(built, final)
    shutil.rmtree(old, ignore_errors=True)


def output_checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file of a built run folder (but ``run.json``), by relative path."""
    return {
        path.relative_to(folder).as_posix(): hashing.sha256_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).as_posix() != RUN_FILE
    }


def _keep_last_good(build: Path, final: Path, record: dict[str, Any]) -> dict[str, Any] | None:
    """After a failed rerun, keep ``final`` (the last good report) and mark it stale.

    The failed attempt's executed notebook is kept beside it
    (``last-failure.ipynb``), its ``run.json`` says ``status: stale`` with the
    error; the rest of the attempt is removed.

    Returns:
        The stale ``run.json`` content, or ``None`` when there is no good report
        to keep (never run, or only failures so far).
    """
    previous = read_run_record(final.parent, final.name)
    if (
        previous is None
        or previous.get("status") not in (STATUS_OK, STATUS_STALE)
        or not previous.get("html")
        or not (final / previous["html"]).exists()
    ):
        return None
    executed = build / str(record.get("executed_notebook") or "")
    if record.get("executed_notebook") and executed.is_file():
        os.replace(executed, final / FAILED_NOTEBOOK_FILE)
    stale = {
        **previous,
        "status": STATUS_STALE,
        "error": record["error"],
        "failed_attempt": {
            "rerun_reason": record.get("rerun_reason"),
            "duration_s": record.get("duration_s"),
            "cache_key": record.get("cache_key"),
            "git": record.get("git"),
            "executed_notebook": FAILED_NOTEBOOK_FILE
            if (final / FAILED_NOTEBOOK_FILE).exists()
            else None,
        },
    }
    write_text_atomically(
        json.dumps(stale, indent=2, sort_keys=True, default=str) + "\n", final / RUN_FILE
    )
    shutil.rmtree(build, ignore_errors=True)
    return stale


def execute_run(
    task: Mapping[str, Any],
    kernel: WarmKernel | None = None,
    printer: PagePrinter | None = None,
) -> dict[str, Any]:
    """Execute one run and publish its folder; never raises for a failing notebook.

    The run is built in a hidden folder ``reports/.build-<run>-…`` and swapped
    into ``reports/<run>/`` only once complete: a batch killed mid-run leaves
    the previous report untouched (and the hidden folder, removed by the next
    batch). A failed run replaces the folder only when there is no good report
    to keep; otherwise the good one stays, marked ``stale`` with the error.

    Args:
        task: From :func:`plan_batch`: ``name``, ``notebook`` (stem),
            ``notebook_path``, ``parameters``, ``title``, ``reports_dir``,
            ``record`` (fields copied into ``run.json``: cache key, inputs,
            catalogue, git), ``timeout``.
        kernel: A warm kernel to execute in (reset first); ``None``: a new
            kernel for this run only.
        printer: The worker's kept browser for a fiche's PDF; ``None``: a
            browser started for this page.

    Returns:
        The ``run.json`` content now in ``reports/<run>/``.
    """
    reports_dir = Path(task["reports_dir"])
    final = reports_dir / task["name"]
    build = Path(tempfile.mkdtemp(prefix=f"{BUILD_PREFIX}{task['name']}-", dir=reports_dir))
    build.chmod(0o755)  # mkdtemp makes a private folder; the run folder is shared
    (build / FIGURES_DIR).mkdir()
    executed = build / Path(task["notebook_path"]).name  # a plain name: stays in the run folder
    parameters = {**task["parameters"]}
    if "output_dir" in parameters:
        parameters["output_dir"] = FIGURES_DIR
    started = time.perf_counter()
    status, error = STATUS_OK, None
    try:
        if kernel is not None:
            kernel.execute_notebook(
                Path(task["notebook_path"]),
                executed,
                parameters=parameters,
                cwd=build,
                timeout=task.get("timeout", DEFAULT_CELL_TIMEOUT_S),
            )
        else:
            papermill.execute_notebook(
                str(task["notebook_path"]),
                str(executed),
                parameters=parameters,
                kernel_name="python3",
                language="python",
                cwd=str(build),
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                execution_timeout=task.get("timeout", DEFAULT_CELL_TIMEOUT_S),
            )
    except PapermillExecutionError as exc:
        status, error = STATUS_FAILED, error_summary(exc)
    except Exception as exc:  # a kernel that dies or cannot start: record, go on
        status, error = STATUS_FAILED, f"{error_summary(exc)}\n{traceback.format_exc(limit=3)}"
    duration = time.perf_counter() - started
    timings = {"notebook": round(duration, 2)}
    step_started = time.perf_counter()
    if executed.exists():
        try:
            pages.export_html(
                executed,
                build / HTML_FILE,
                title=task.get("title") or task["name"],
                files=[
                    p.relative_to(build).as_posix()
                    for p in sorted((build / FIGURES_DIR).rglob("*"))
                    if p.is_file()
                ],
                lang=str(parameters.get("lang") or "fr"),
            )
        except Exception as exc:  # noqa: BLE001 - an HTML failure must not hide the run's result
            status = STATUS_FAILED
            error = (error + "\n" if error else "") + f"HTML export failed: {error_summary(exc)}"
    timings["html"] = round(time.perf_counter() - step_started, 2)
    if status == STATUS_OK and task["notebook"] in PDF_NOTEBOOKS:  # a fiche: print it too
        step_started = time.perf_counter()
        try:
            (printer.print_pdf if printer is not None else print_pdf)(
                build / HTML_FILE, build / PDF_FILE
            )
        except Exception as exc:  # noqa: BLE001 - recorded as the run's failure
            status, error = STATUS_FAILED, f"PDF printing failed: {error_summary(exc)}"
        timings["pdf"] = round(time.perf_counter() - step_started, 2)
    step_started = time.perf_counter()
    thumbs = _make_thumbnails(
        build / FIGURES_DIR,
        build / THUMBS_DIR,
        limit=FICHE_THUMBNAILS if task["notebook"] in PDF_NOTEBOOKS else None,
    )
    timings["thumbnails"] = round(time.perf_counter() - step_started, 2)
    figures = sorted(
        p.relative_to(build).as_posix() for p in (build / FIGURES_DIR).rglob("*") if p.is_file()
    )
    record = {
        "run": task["name"],
        "title": task.get("title", ""),
        "notebook": relative_label(Path(task["notebook_path"])),
        "parameters": parameters,
        "status": status,
        "error": error,
        "duration_s": round(duration, 2),
        "step_durations_s": timings,
        "executed_notebook": executed.name if executed.exists() else None,
        "html": HTML_FILE if (build / HTML_FILE).exists() else None,
        "pdf": PDF_FILE if (build / PDF_FILE).exists() else None,
        "files": figures,
        "thumbnails": [f"{THUMBS_DIR}/{t}" for t in thumbs],
        **task["record"],
    }
    if status != STATUS_OK:
        stale = _keep_last_good(build, final, record)
        if stale is not None:
            return stale
    record["outputs"] = output_checksums(build)
    write_text_atomically(
        json.dumps(record, indent=2, sort_keys=True, default=str) + "\n", build / RUN_FILE
    )
    _swap_into_place(build, final)
    return record


def worker_main(lines: Sequence[str] | None = None) -> int:
    """Worker loop: read task file paths on stdin, execute each, acknowledge on stdout."""
    # The batch lock is the worker's to hold, not its kernels' (jupyter_client
    # launches kernels with close_fds=False).
    for fd in filter(None, os.environ.pop(LOCK_FD_ENV, "").split(",")):
        os.set_inheritable(int(fd), False)
    kernel = WarmKernel()  # one kernel for every run of this worker, reset in between
    printer = PagePrinter()  # one browser for every fiche of this worker
    try:
        for line in lines if lines is not None else sys.stdin:
            task_path = Path(line.strip())
            if not line.strip():
                continue
            task = json.loads(task_path.read_text(encoding="utf-8"))
            record = execute_run(task, kernel, printer)
            result_path = task_path.with_name(task_path.name + ".result")
            write_text_atomically(json.dumps(record, default=str), result_path)
            print(f"{WORKER_DONE} {task_path}", flush=True)
    finally:
        kernel.shutdown()
        printer.close()
    return 0
