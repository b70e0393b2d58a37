"""Executing the report batch: cache keys, one run in a worker process, the pool, the batch lock.

The pieces, in the order a batch uses them:

1. :func:`plan_batch` computes each resolved run's cache key (notebook,
   parameters, input and code checksums) and compares it, and the checksums of
   the run's output files, with its ``run.json``: unchanged runs are skipped,
   the others become *tasks* (plain JSON-ready dicts, so a worker process can
   read them).
2. :class:`WorkerPool` runs tasks on ``jobs`` long-lived worker processes
   (``python -m analysis.reports worker``) — the one place where processes are
   managed. Each worker executes one task at a time with
   :func:`analysis.reports.worker.execute_run` (that module, and papermill,
   nbconvert and Pillow, are only imported in the workers).
4. :func:`run_batch` holds the batch lock (:class:`BatchLock`; a second batch
   waits, saying so), removes what a killed batch left, plans, executes, then
   writes ``reports/evidence.csv`` (:mod:`analysis.reports.evidence`), the
   gallery and the index (:mod:`analysis.reports.site`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis import hashing, paths, sources
from analysis.atomic import write_text_atomically
from analysis.reports import site
from analysis.reports.config import (
    FIGURES_DIR,
    STATUS_FAILED,
    STATUS_OK,
    STATUS_SKIPPED,
    STATUS_STALE,
    ReportRun,
    ResolvedRun,
    read_run_record,
    resolve_runs,
)
from analysis.reports.evidence import write_evidence

CACHE_KEY_VERSION = "2"
"""Bumped when the layout of a run folder changes, so every run is redone
(2: ``run.json`` records the sha256 of every output file)."""

PACKAGE_DIR = Path(paths.__file__).resolve().parent
"""``src/analysis``: the code every report depends on."""

CHECKSUM_CACHE_FILE = ".checksums.json"
LOCK_FILE = ".batch.lock"
BUILD_PREFIX = ".build-"
OLD_PREFIX = ".old-"
TASK_PREFIX = ".task-"
THUMB_WIDTH_PX = 360
SLIDE_SUFFIX = ".slide.png"
DEFAULT_CELL_TIMEOUT_S = 900
DEFAULT_LOCK_WAIT_S = 1800
"""How long a second batch waits for the first before giving up."""

WORKER_COMMAND = (sys.executable, "-m", "analysis.reports", "worker")
WORKER_DONE = "ptce-worker-done"
LOCK_FD_ENV = "PTCE_BATCH_LOCK_FD"
"""Tells a worker which inherited descriptor is the batch lock (kept from its kernels)."""


# ---------------------------------------------------------------------------
# Checksums and cache keys
# ---------------------------------------------------------------------------


class ChecksumCache:
    """sha256 of files, remembered by (size, mtime) in ``reports/.checksums.json``.

    A no-change batch must answer in seconds; re-hashing every processed file
    each time would not. A file whose size or modification time changed is
    hashed again.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, list] = {}
        if path is not None and path.exists():
            with contextlib.suppress(ValueError, OSError):
                self.entries = json.loads(path.read_text(encoding="utf-8"))
        self.changed = False

    def sha256(self, file: Path) -> str:
        """The file's sha256, hashed again only when its size or modification time changed."""
        stat = file.stat()
        key = str(file.resolve())
        entry = self.entries.get(key)
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return entry[2]
        digest = hashing.sha256_file(file)
        self.entries[key] = [stat.st_size, stat.st_mtime_ns, digest]
        self.changed = True
        return digest

    def save(self) -> None:
        """Write the remembered checksums (atomically) when any was added or changed."""
        if self.path is None or not self.changed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(json.dumps(self.entries, sort_keys=True), self.path)


def relative_label(path: Path) -> str:
    """A stable label for an input file: relative to the project or data folder."""
    resolved = path.resolve()
    for base, prefix in ((paths.data_dir().resolve(), "data"), (paths.PROJECT_ROOT, "")):
        with contextlib.suppress(ValueError):
            relative = resolved.relative_to(base).as_posix()
            return f"{prefix}/{relative}" if prefix else relative
    return resolved.as_posix()


def _files_under(folder: Path, patterns: Sequence[str] = ("*",)) -> list[Path]:
    if not folder.exists():
        return []
    found = {
        p
        for pattern in patterns
        for p in folder.rglob(pattern)
        if p.is_file()
        and not any(
            part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts
        )
    }
    return sorted(found)


def code_files() -> list[Path]:
    """The package's code and style files: a change to any of them reruns every report.

    The command-line layer (``analysis/cli``, ``__main__``) is left out: no
    notebook imports it.
    """
    package = PACKAGE_DIR
    files = _files_under(package, ("*.py", "*.mplstyle", "*.toml", "*.yml", "*.json"))
    return [
        f for f in files if f.relative_to(package).parts[0] != "cli" and f.name != "__main__.py"
    ]


BUILD_BOOKKEEPING = ("build_state.json", "indicators_parts")
"""Entries of ``data/processed`` that record how the build ran, not data a report reads
(the build's step keys, the indicator parts it caches): a rebuild that gives the
same tables must not rerun the reports."""


def input_files(registry_path: str | None = None) -> list[Path]:
    """Every file a report may read: processed tables, the registry, the catalogue."""
    processed = paths.processed_dir()
    files = [
        f
        for f in _files_under(processed)
        if f.relative_to(processed).parts[0] not in BUILD_BOOKKEEPING
    ]
    if registry_path:
        candidate = Path(registry_path)
        files.append(candidate if candidate.is_absolute() else paths.PROJECT_ROOT / candidate)
    else:
        files += _files_under(paths.REGISTRY_DIR, ("*.csv",))
    if paths.SOURCES_CATALOGUE.exists():
        files.append(paths.SOURCES_CATALOGUE)
    return files


def input_checksums(
    registry_path: str | None = None, cache: ChecksumCache | None = None
) -> dict[str, str]:
    """sha256 of each input file, keyed by its path relative to the project."""
    cache = cache or ChecksumCache(None)
    return {relative_label(f): cache.sha256(f) for f in input_files(registry_path)}


def code_checksums(cache: ChecksumCache | None = None) -> dict[str, str]:
    """sha256 of each code file of the package."""
    cache = cache or ChecksumCache(None)
    return {relative_label(f): cache.sha256(f) for f in code_files()}


def catalogue_checksums() -> dict[str, str]:
    """The catalogue's sha256 of every raw source (what the processed tables derive from)."""
    try:
        return {source_id: s.sha256 for source_id, s in sources.load_catalogue().items()}
    except (OSError, ValueError):
        return {}


def run_cache_key(
    notebook_sha256: str,
    parameters: Mapping[str, Any],
    inputs: Mapping[str, str],
    code: Mapping[str, str],
) -> str:
    """The hash that decides whether a run is redone.

    Args:
        notebook_sha256: sha256 of the notebook file.
        parameters: Every parameter value of the run.
        inputs: Input file label → sha256.
        code: Code file label → sha256.
    """
    return hashing.sha256_json(
        {
            "version": CACHE_KEY_VERSION,
            "notebook": notebook_sha256,
            "parameters": dict(parameters),
            "inputs": dict(inputs),
            "code": dict(code),
        }
    )


def _git(*arguments: str, timeout_s: float) -> str:
    return subprocess.run(
        ["git", *arguments],
        cwd=paths.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=True,
    ).stdout.strip()


def git_commit() -> dict[str, Any]:
    """The checkout's commit and whether the working tree has changes (``None`` outside git)."""
    try:
        commit = _git("rev-parse", "HEAD", timeout_s=10)
        dirty = _git("status", "--porcelain", "--untracked-files=no", timeout_s=20)
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(dirty)}


# ---------------------------------------------------------------------------
# Execution of one run (in a worker process)
# ---------------------------------------------------------------------------


def install_kernelspec(folder: Path) -> dict[str, str]:
    """A ``python3`` kernelspec that runs this very interpreter, and the environment to use it.

    A user-level ``python3`` kernelspec (``~/.local/share/jupyter``) would
    otherwise win over the virtual environment's and run another Python;
    ``JUPYTER_PATH`` puts this one first.

    Returns:
        Environment variables for the worker processes (and their kernels):
        the kernel search path, and a fixed SVG hash salt, hash seed and
        dates so figures are byte-identical between runs (the kernel keeps its
        inline backend so figures show in the notebook and its HTML).
    """
    kernel_dir = folder / "kernels" / "python3"
    kernel_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ptce)",
        "language": "python",
    }
    (kernel_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    existing = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    # Matplotlib defaults for every kernel: SVG ids from a fixed salt (else random).
    matplotlibrc = folder / "matplotlibrc"
    matplotlibrc.write_text("svg.hashsalt: ptce-report\n", encoding="utf-8")
    return {
        "MATPLOTLIBRC": str(matplotlibrc),
        # The inline backend even when the caller set MPLBACKEND=Agg (CI does):
        # figures must show in the executed notebook and its HTML.
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "JUPYTER_PATH": os.pathsep.join([str(folder), *existing]),
        "PYTHONHASHSEED": "0",
        "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "0"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        # tqdm (imported by a dependency) warns that notebook widgets are missing;
        # nothing in the reports uses progress bars, so the warning is noise there.
        "PYTHONWARNINGS": "ignore:IProgress not found",
    }


def error_summary(error: BaseException) -> str:
    ename = getattr(error, "ename", type(error).__name__)
    evalue = getattr(error, "evalue", str(error))
    cell = getattr(error, "cell_index", None)
    where = f" (cell {cell})" if cell is not None else ""
    return f"{ename}: {evalue}{where}".strip()


def _failure_record(task: Mapping[str, Any], error: str, duration: float) -> dict[str, Any]:
    return {
        "run": task["name"],
        "title": task.get("title", ""),
        "notebook": relative_label(Path(task["notebook_path"])),
        "parameters": task["parameters"],
        "status": STATUS_FAILED,
        "error": error,
        "duration_s": round(duration, 2),
        **task["record"],
    }


# ---------------------------------------------------------------------------
# The worker pool (the one place where processes are managed)
# ---------------------------------------------------------------------------


class _Worker:
    """A ``python -m analysis.reports worker`` process executing tasks one after another.

    Why a hand-managed subprocess rather than ``concurrent.futures`` or loky:

    - a worker that dies (a kernel killed for memory, a segfault in a plotting
      library) fails only the task it was running; the next task gets a new
      worker. ``ProcessPoolExecutor`` marks the whole pool broken and fails
      every pending run (loky's executor does the same for its pending tasks);
    - it needs no ``if __name__ == "__main__"`` guard in the caller (a
      notebook, the typer entry point) and no fork of a process holding
      threads (the progress bar's);
    - its environment is the kernels' (kernelspec path, fixed hash seed…),
      set once at start;
    - it is kept alive across tasks, so papermill and nbconvert are imported
      once per worker, not once per run;
    - it inherits the batch lock's file descriptor: workers orphaned by a
      killed batch keep the lock until they finish, so the next batch waits
      instead of deleting their build folders.
    """

    def __init__(self, env: Mapping[str, str], reports_dir: Path, keep_fds: Sequence[int] = ()):
        self.reports_dir = reports_dir
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        lock_env = {LOCK_FD_ENV: ",".join(map(str, keep_fds))} if keep_fds else {}
        self.process = subprocess.Popen(
            list(WORKER_COMMAND),
            env={**env, **lock_env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            bufsize=1,
            pass_fds=tuple(keep_fds),
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def execute(self, task: Mapping[str, Any]) -> dict[str, Any]:
        handle = tempfile.NamedTemporaryFile(
            "w",
            suffix=".json",
            prefix=f"{TASK_PREFIX}{task['name']}-",
            dir=self.reports_dir,
            delete=False,
        )
        with handle:
            json.dump(task, handle, default=str)
        task_path, result_path = Path(handle.name), Path(handle.name + ".result")
        started = time.perf_counter()
        try:
            try:
                self.process.stdin.write(f"{task_path}\n")
                self.process.stdin.flush()
                for line in self.process.stdout:
                    if line.strip() == f"{WORKER_DONE} {task_path}":
                        break
            except (BrokenPipeError, OSError):
                pass
            if result_path.exists():
                return json.loads(result_path.read_text(encoding="utf-8"))
            self.process.kill()
            self.process.wait()
            self.log.seek(0)
            error = (
                f"worker exited with status {self.process.returncode}: {self.log.read()[-2000:]}"
            )
            return _failure_record(task, error, time.perf_counter() - started)
        finally:
            for leftover in (task_path, result_path):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@dataclass
class WorkerPool:
    """``jobs`` worker processes draining a list of tasks.

    Attributes:
        jobs: Tasks executed at once (one worker process and one kernel each).
        env: Environment of the workers and their kernels (see
            :func:`install_kernelspec`).
        reports_dir: Where task files are exchanged with the workers.
        keep_fds: File descriptors the workers inherit (the batch lock).
    """

    jobs: int
    env: Mapping[str, str]
    reports_dir: Path
    keep_fds: Sequence[int] = field(default_factory=tuple)

    def run(
        self,
        tasks: Sequence[Mapping[str, Any]],
        *,
        on_started: Callable[[Mapping[str, Any]], None],
        on_finished: Callable[[dict[str, Any]], None],
    ) -> list[dict[str, Any]]:
        """Execute every task; callbacks run in the calling thread, records in finishing order."""
        pending: queue.Queue = queue.Queue()
        for task in tasks:
            pending.put(task)
        events: queue.Queue = queue.Queue()

        def drive() -> None:
            worker: _Worker | None = None
            try:
                while True:
                    try:
                        task = pending.get_nowait()
                    except queue.Empty:
                        return
                    if worker is None or not worker.alive:
                        if worker is not None:
                            worker.close()
                        worker = _Worker(self.env, self.reports_dir, self.keep_fds)
                    events.put(("started", task))
                    try:
                        record = worker.execute(task)
                    except Exception as error:  # noqa: BLE001 - one broken run must not stop all
                        record = _failure_record(task, error_summary(error), 0.0)
                    events.put(("finished", record))
            finally:
                if worker is not None:
                    worker.close()

        threads = [threading.Thread(target=drive, daemon=True) for _ in range(max(1, self.jobs))]
        for thread in threads:
            thread.start()
        records: list[dict[str, Any]] = []
        while len(records) < len(tasks):
            event, payload = events.get()
            if event == "started":
                on_started(payload)
            else:
                records.append(payload)
                on_finished(payload)
        for thread in threads:
            thread.join()
        return records


# ---------------------------------------------------------------------------
# Planning: what must run again, and why
# ---------------------------------------------------------------------------


@dataclass
class BatchResult:
    """What a batch did: one record (the ``run.json`` content) per run, in order.

    Attributes:
        records: One per run; ``status`` is ``ok``, ``skipped``, ``failed`` or
            ``stale`` (the rerun failed, the last good report was kept).
        index_path: ``reports/index.html``.
        warnings: Problems met while writing the site (a damaged figure
            sidecar…), in words.
    """

    records: list[dict[str, Any]]
    index_path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Runs whose execution failed this time (stale ones included)."""
        return [r for r in self.records if r["status"] in (STATUS_FAILED, STATUS_STALE)]

    @property
    def ok(self) -> bool:
        return not self.failed


def _changed(before: Mapping[str, str] | None, after: Mapping[str, str]) -> list[str]:
    before = before or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def _shown(names: Sequence[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def outputs_problem(previous: Mapping[str, Any], folder: Path, cache: ChecksumCache) -> str:
    """Why a run's published files cannot be trusted, in words; empty when they all match.

    Every output file recorded in ``run.json`` must be there with the same
    sha256 (re-hashed when its size or modification time changed).
    """
    outputs = previous.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        return "outputs not recorded"
    missing = sorted(name for name in outputs if not (folder / name).is_file())
    if missing:
        return f"outputs missing: {_shown(missing)}"
    altered = sorted(
        name for name, digest in outputs.items() if cache.sha256(folder / name) != digest
    )
    if altered:
        return f"outputs altered: {_shown(altered)}"
    return ""


def rerun_reason(
    previous: Mapping[str, Any] | None,
    folder: Path,
    key: str,
    notebook_sha256: str,
    parameters: Mapping[str, Any],
    inputs: Mapping[str, str],
    code: Mapping[str, str],
    cache: ChecksumCache | None = None,
) -> str:
    """Why a run must execute again, in words; empty when it can be skipped.

    Args:
        previous: The run's last ``run.json`` (``None`` if never run).
        folder: The run's folder (its files must still be there, unaltered).
        key: The cache key now.
        notebook_sha256: The notebook's checksum now.
        parameters: The run's parameter values now.
        inputs: Input file checksums now.
        code: Code file checksums now.
        cache: Checksums of the output files (default: hash them all).
    """
    if previous is None:
        return "never run"
    if previous.get("status") != STATUS_OK:
        return f"last run {previous.get('status')}"
    if not previous.get("html") or not (folder / previous["html"]).exists():
        return "outputs missing"
    damaged = outputs_problem(previous, folder, cache or ChecksumCache(None))
    if damaged:
        return damaged
    if previous.get("cache_key") == key:
        return ""
    reasons = []
    if previous.get("notebook_sha256") != notebook_sha256:
        reasons.append("notebook changed")
    if previous.get("parameters") != dict(parameters):
        names = _changed(
            {k: json.dumps(v) for k, v in (previous.get("parameters") or {}).items()},
            {k: json.dumps(v) for k, v in parameters.items()},
        )
        reasons.append(f"parameters changed: {', '.join(names)}")
    for label, before, now in (
        ("inputs", previous.get("inputs"), inputs),
        ("code", previous.get("code"), code),
    ):
        changed = _changed(before, now)
        if changed:
            reasons.append(f"{label} changed: {_shown(changed)}")
    return "; ".join(reasons) or "cache key changed"


def plan_batch(
    resolved: Sequence[ResolvedRun], *, reports_dir: Path, force: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split runs into tasks to execute and records of runs to skip.

    Returns:
        (tasks for :func:`execute_run`, ``run.json`` records of unchanged runs).
    """
    cache = ChecksumCache(reports_dir / CHECKSUM_CACHE_FILE)
    code = code_checksums(cache)
    catalogue = catalogue_checksums()
    git = git_commit()
    inputs_by_registry: dict[str, dict[str, str]] = {}
    tasks, skipped = [], []
    for item in resolved:
        registry = str(item.parameters.get("registry_path") or "")
        if registry not in inputs_by_registry:
            inputs_by_registry[registry] = input_checksums(registry or None, cache)
        inputs = inputs_by_registry[registry]
        parameters = dict(item.parameters)
        if "output_dir" in parameters:
            parameters["output_dir"] = FIGURES_DIR
        notebook_sha256 = cache.sha256(item.notebook_path)
        key = run_cache_key(notebook_sha256, parameters, inputs, code)
        previous = read_run_record(reports_dir, item.run.name)
        reason = (
            "--force"
            if force
            else rerun_reason(
                previous,
                reports_dir / item.run.name,
                key,
                notebook_sha256,
                parameters,
                inputs,
                code,
                cache,
            )
        )
        if not reason:
            skipped.append(previous)
            continue
        tasks.append(
            {
                "name": item.run.name,
                "title": item.run.title,
                "notebook": item.run.notebook,
                "notebook_path": str(item.notebook_path),
                "parameters": parameters,
                "reports_dir": str(reports_dir),
                "record": {
                    "cache_key": key,
                    "rerun_reason": reason,
                    "notebook_sha256": notebook_sha256,
                    "inputs": inputs,
                    "code": code,
                    "catalogue_sha256": catalogue,
                    "git": git,
                    "python": sys.version.split()[0],
                },
            }
        )
    cache.save()
    return tasks, skipped


# ---------------------------------------------------------------------------
# The batch: lock, leftovers, execution, site
# ---------------------------------------------------------------------------


class ReportBatchBusy(RuntimeError):
    """Another batch holds ``reports/.batch.lock`` and did not finish in time."""


class BatchLock:
    """An exclusive lock on ``reports/.batch.lock`` (``flock``), held for a whole batch.

    The kernel releases it when its holders die, even by ``kill -9``: a lock
    left by a killed batch never blocks the next one. The holder's process id
    is written in the file for the waiting message.
    """

    def __init__(self, reports_dir: Path):
        self.path = reports_dir / LOCK_FILE
        self.handle = None

    def holder(self) -> str:
        """The process id written by the batch holding the lock (may be empty)."""
        with contextlib.suppress(OSError):
            return self.path.read_text(encoding="utf-8").strip()
        return ""

    def acquire(
        self,
        timeout: float = DEFAULT_LOCK_WAIT_S,
        on_wait: Callable[[str], None] | None = None,
        poll_s: float = 0.5,
    ) -> BatchLock:
        """Take the lock, waiting up to ``timeout`` seconds (``on_wait`` is told once).

        Raises:
            ReportBatchBusy: still held after ``timeout`` seconds.
        """
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise ReportBatchBusy(
                        f"another `ptce report` (process {self.holder() or '?'}) is writing "
                        f"{self.path.parent} and did not finish within {timeout:g} s; wait for "
                        "it to end (or stop it), then run the command again."
                    ) from None
                if not told and on_wait is not None:
                    on_wait(self.holder())
                    told = True
                time.sleep(poll_s)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.handle = handle
        return self

    def fileno(self) -> int:
        return self.handle.fileno()

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None

    def __enter__(self) -> BatchLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def remove_leftovers(reports_dir: Path) -> list[str]:
    """Remove what a killed batch left in ``reports/``; call only while holding the lock.

    Build folders and task files go. A run folder caught between the two
    renames of a swap (``reports/<run>`` gone, ``.old-<run>-<pid>`` there) is
    put back.

    Returns:
        The names removed or restored, for the log.
    """
    done = []
    for leftover in sorted(reports_dir.glob(".*")):
        name = leftover.name
        if name.startswith(OLD_PREFIX):
            run = name.removeprefix(OLD_PREFIX).rsplit("-", 1)[0]
            if run and not (reports_dir / run).exists() and leftover.is_dir():
                os.replace(leftover, reports_dir / run)
                done.append(f"{name} → {run}")
                continue
        elif not name.startswith((BUILD_PREFIX, TASK_PREFIX)):
            continue
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        done.append(name)
    return done


def run_batch(
    runs: Sequence[ReportRun],
    *,
    jobs: int = 2,
    force: bool = False,
    overrides: Mapping[str, Any] | None = None,
    reports_dir: Path | None = None,
    notebooks_dir: Path | None = None,
    territory_codes: Callable[[str], set[str]] | None | bool = True,
    all_runs: Sequence[ReportRun] | None = None,
    timeout: int = DEFAULT_CELL_TIMEOUT_S,
    lock_wait: float = DEFAULT_LOCK_WAIT_S,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
) -> BatchResult:
    """Validate, then execute the runs in parallel, skipping unchanged ones, then write the site.

    Args:
        runs: The runs to consider (after ``--only``).
        jobs: Runs executed at once (one process and one kernel each).
        force: Redo runs even when unchanged.
        overrides: Parameter values forced on every run (``{"fast": True}``).
        reports_dir: Output folder (default ``reports/``).
        notebooks_dir: Notebook folder (default ``notebooks/``).
        territory_codes: See :func:`~analysis.reports.config.resolve_runs`.
        all_runs: Every configured run, for the index (default ``runs``).
        timeout: Seconds allowed per cell.
        lock_wait: Seconds to wait for another batch writing the same folder.
        on_event: Called with (``"waiting"``, {"holder", "timeout"}),
            (``"cleaned"``, {"leftovers"}), (``"planned"``, {"total",
            "skipped", "to_run"}), (``"started"``, task) and (``"finished"``,
            record) for progress.

    Returns:
        The records of every run (executed or skipped), in configuration order.

    Raises:
        ReportConfigError: before executing anything, if any run is invalid.
        ReportBatchBusy: another batch held the lock for ``lock_wait`` seconds.
    """
    reports_dir = Path(reports_dir or paths.reports_dir())
    reports_dir.mkdir(parents=True, exist_ok=True)
    notify = on_event or (lambda event, payload: None)
    resolved = resolve_runs(
        runs, notebooks_dir=notebooks_dir, overrides=overrides, territory_codes=territory_codes
    )
    lock = BatchLock(reports_dir)
    with lock.acquire(
        lock_wait, on_wait=lambda pid: notify("waiting", {"holder": pid, "timeout": lock_wait})
    ):
        leftovers = remove_leftovers(reports_dir)
        if leftovers:
            notify("cleaned", {"leftovers": leftovers})
        tasks, skipped = plan_batch(resolved, reports_dir=reports_dir, force=force)
        for task in tasks:
            task["timeout"] = timeout
        by_name: dict[str, dict[str, Any]] = {}
        for record in skipped:
            by_name[record["run"]] = {**record, "status": STATUS_SKIPPED}
        notify("planned", {"total": len(resolved), "skipped": len(skipped), "to_run": len(tasks)})
        if tasks:
            with tempfile.TemporaryDirectory(prefix="ptce-kernel-") as kernel_folder:
                env = {**os.environ, **install_kernelspec(Path(kernel_folder))}
                pool = WorkerPool(jobs, env, reports_dir, keep_fds=(lock.fileno(),))
                for record in pool.run(
                    tasks,
                    on_started=lambda task: notify("started", task),
                    on_finished=lambda record: notify("finished", record),
                ):
                    by_name[record["run"]] = record
        records = [by_name[item.run.name] for item in resolved]
        # Every configured comparison run, not only those of this batch (--only).
        _evidence_path, evidence_warnings = write_evidence(all_runs or runs, reports_dir)
        warnings = [*evidence_warnings, *site.write_gallery(reports_dir)]
        index_path = site.write_index(all_runs or runs, reports_dir)
    return BatchResult(records, index_path, warnings)
