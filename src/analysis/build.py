"""Build the processed tables from ``data/raw`` in order, skipping what is up to date.

Steps, in order: ``backbone`` (territories), ``indicators``, ``cooperation``.
A step's key hashes the checksums of the raw sources it reads, its own code and
the keys of the steps it depends on (plus the registry files for
``cooperation``). ``data/processed/build_state.json`` keeps, for each step of
the last successful build, its key and every output it wrote with the output's
sha256, size and row count.

A step is up to date when its key is unchanged **and** every output is present
and matches its recorded sha256; otherwise it is rebuilt and the report says
why. Raw inputs are re-verified first (:func:`analysis.sources.source_status`:
size + mtime fast path, sha256 when either changed): an edited raw file stops
the build with the file, both hashes and the fix.

The check needs no lock and writes nothing, so a read-only data tree that is
fully built works; building takes a lock (``.build.lock``, holding the pid of
the build), and a second build waits for the first with a message.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import importlib.util
import inspect
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from analysis import paths, sources
from analysis.atomic import READ_ERRORS, write_text_atomically
from analysis.hashing import sha256_file, sha256_json
from analysis.keys import ZONING_LEVELS

Report = Callable[[str, str, float], None]
"""Called with (step, state, seconds); state is "up to date", "built", "rebuilding: <why>" or
a note of the step's own (a cached part it rebuilds, and why: starting with "rebuilding")."""


class BuildError(RuntimeError):
    """The build cannot proceed (read-only data tree…); the message says what to do."""


@dataclass(frozen=True)
class Step:
    """One build step: which module builds which outputs from which inputs."""

    name: str
    module: str
    function: str
    depends_on: tuple[str, ...]
    outputs: Callable[[], list[Path]]
    extra_inputs: Callable[[], list[Path]] = lambda: []


def _registry_files() -> list[Path]:
    return sorted(p for p in paths.REGISTRY_DIR.glob("*.csv"))


def _cooperation_inputs() -> list[Path]:
    """Registry files, the modules the cooperation step calls, and optional raw files present."""
    package = Path(__file__).parent
    code = [package / f"{name}.py" for name in ("registry", "geocoding", "problems", "exports")]
    optional = [
        source.raw_path
        for source in sources.load_catalogue().values()
        if source.optional and source.raw_path.exists()
    ]
    return _registry_files() + code + optional


STEPS: dict[str, Step] = {
    "backbone": Step(
        "backbone",
        "analysis.territories",
        "build_backbone",
        (),
        lambda: (
            [
                paths.communes_table(),
                paths.crosswalk_table(),
                paths.former_commune_names_table(),
                paths.backbone_report(),
            ]
            + [paths.territory_layer(level) for level in ZONING_LEVELS]
        ),
    ),
    "indicators": Step(
        "indicators",
        "analysis.indicators",
        "build_indicators",
        ("backbone",),
        lambda: [paths.indicators_table()],
    ),
    "cooperation": Step(
        "cooperation",
        "analysis.cooperation",
        "build_cooperation",
        ("backbone",),
        lambda: [
            paths.cooperation_table(),
            paths.cooperation_territories_table(),
            paths.cooperation_report(),
        ],
        _cooperation_inputs,
    ),
}


# --------------------------------------------------------------------------- state


def _state_path() -> Path:
    return paths.processed_dir() / "build_state.json"


def read_state() -> dict[str, dict]:
    """Per step of the last successful build: ``{"key": …, "outputs": {name: record}}``.

    Entries of an older format (a bare key, no output records) are dropped: their
    outputs were never verified, so the step is rebuilt once.
    """
    try:
        state = json.loads(_state_path().read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return {name: entry for name, entry in state.items() if isinstance(entry, dict)}


def _write_state(state: dict[str, dict]) -> None:
    write_text_atomically(json.dumps(state, indent=2, sort_keys=True), _state_path())


def _output_name(path: Path) -> str:
    processed = paths.processed_dir()
    return path.relative_to(processed).as_posix() if path.is_relative_to(processed) else str(path)


def _row_count(path: Path) -> int | None:
    """Rows of a written table (Parquet metadata; CSV parsed); None for other files."""
    try:
        if path.suffix == ".parquet":
            return pq.ParquetFile(path).metadata.num_rows
        if path.suffix == ".csv":
            return len(pd.read_csv(path, dtype="str", keep_default_na=False))
    except (*READ_ERRORS, pd.errors.EmptyDataError):
        return None
    return None


def output_record(path: Path) -> dict:
    """What the build state remembers of one output: sha256, size, rows."""
    return {"sha256": sha256_file(path), "size": path.stat().st_size, "rows": _row_count(path)}


def _outputs_problem(step: Step, recorded: dict[str, dict]) -> tuple[str | None, list[Path]]:
    """Why a step's outputs cannot be trusted (None when they all match) and which ones."""
    problems: list[str] = []
    bad: list[Path] = []
    for path in step.outputs():
        name = _output_name(path)
        record = recorded.get(name)
        if not path.exists():
            problems.append(f"{name} is missing")
        elif record is None:
            problems.append(f"{name} is not recorded in the build state")
            bad.append(path)
        elif path.stat().st_size != record["size"]:
            problems.append(
                f"{name} changed size ({record['size']:,} bytes written, "
                f"{path.stat().st_size:,} now)"
            )
            bad.append(path)
        elif sha256_file(path) != record["sha256"]:
            problems.append(f"{name} does not match the sha256 recorded when it was written")
            bad.append(path)
    return ("; ".join(problems) or None), bad


# --------------------------------------------------------------------------- keys


def _code_files(module_name: str) -> list[Path]:
    """The source files of a step's module (a package counts whole)."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(module_name)
    origin = Path(spec.origin)
    files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    # loaders used by a module live in the `loaders` subpackage when it exists
    loaders = origin.parent / "loaders"
    if loaders.is_dir() and origin.name != "__init__.py":
        files += sorted(loaders.rglob("*.py"))
    return files


def _input_sources(name: str) -> list[sources.Source]:
    module = importlib.import_module(STEPS[name].module)
    catalogue = sources.load_catalogue()
    return [catalogue[source_id] for source_id in sorted(getattr(module, "INPUT_SOURCES", ()))]


def step_key(name: str, _cache: dict[str, str] | None = None) -> str:
    """Hash of everything a step's outputs depend on."""
    cache = _cache if _cache is not None else {}
    if name in cache:
        return cache[name]
    step = STEPS[name]
    inputs = {
        "sources": [
            [source.id, "absent" if _optional_absent(source) else source.sha256]
            for source in _input_sources(name)
        ],
        "files": [
            [path.name, sha256_file(path)]
            for path in _code_files(step.module) + step.extra_inputs()
        ],
        "steps": [[dependency, step_key(dependency, cache)] for dependency in step.depends_on],
    }
    cache[name] = sha256_json(inputs)
    return cache[name]


def _optional_absent(source: sources.Source) -> bool:
    return source.optional and not source.raw_path.exists()


def _check_raw_inputs(name: str, *, building: bool) -> None:
    """Stop on an edited raw input (always) or a missing one (when the step must be built).

    Raises:
        sources.ChecksumMismatchError: the file, both hashes and the fetch command.
        FileNotFoundError: the missing file and the fetch command.
    """
    for source in _input_sources(name):
        status = sources.source_status(source)
        if status is sources.Status.CORRUPT or (building and status is sources.Status.MISSING):
            try:
                sources.verify_raw(source)
            except (FileNotFoundError, sources.ChecksumMismatchError) as error:
                raise type(error)(f"build step '{name}': {error}") from None


# --------------------------------------------------------------------------- plan and build


def _why_stale(name: str, force: bool, keys: dict[str, str], state: dict[str, dict]) -> str | None:
    """Why step ``name`` must be built (None: up to date)."""
    if force:
        return "forced"
    entry = state.get(name)
    if entry is None:
        return "never built"
    if entry.get("key") != step_key(name, keys):
        return "its inputs or code changed"
    problem, _ = _outputs_problem(STEPS[name], entry.get("outputs", {}))
    return problem


def _with_dependencies(names: list[str]) -> list[str]:
    ordered: list[str] = []

    def visit(name: str) -> None:
        for dependency in STEPS[name].depends_on:
            visit(dependency)
        if name not in ordered:
            ordered.append(name)

    for name in names:
        visit(name)
    return ordered


def _plan(names: list[str], force: bool) -> dict[str, str | None]:
    """For each step (dependencies first), why it must be built, or None.

    ``force`` applies to the steps asked for; the steps they depend on are rebuilt
    only when they are not up to date.
    """
    state = read_state()
    keys: dict[str, str] = {}
    plan: dict[str, str | None] = {}
    for name in _with_dependencies(names):
        _check_raw_inputs(name, building=False)
        reason = _why_stale(name, force and name in names, keys, state)
        if reason is None and any(plan[d] is not None for d in STEPS[name].depends_on):
            reason = "a step it depends on was rebuilt"
        plan[name] = reason
    return plan


@contextlib.contextmanager
def _build_lock(
    on_wait: Callable[[str], None] | None = None, needs: str = "something needs building"
) -> Iterator[None]:
    """One build at a time across processes; the lock file holds the pid of the holder.

    ``needs`` says why the lock is taken, for the error on a read-only data tree.
    """
    lock_path = paths.processed_dir() / ".build.lock"
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+")  # no truncation: the holder's pid stays readable
    except OSError as error:
        raise BuildError(
            f"cannot write in {lock_path.parent} ({error.strerror}), and {needs}. Fix: make "
            "the data folder writable, or point PTCE_DATA_DIR at a writable copy of it."
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            if on_wait:
                on_wait(f"another build is running (pid {holder}), waiting…")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_step(name: str, reason: str, *, force: bool, report: Report | None) -> None:
    step = STEPS[name]
    _check_raw_inputs(name, building=True)
    state = read_state()
    if report and name in state and reason != "forced":
        report(name, f"rebuilding: {reason}", 0.0)
    # an output that no longer matches its record is removed, so the step's own
    # caches (the indicator parts) cannot take it for current
    _, bad = _outputs_problem(step, state.get(name, {}).get("outputs", {}))
    for path in bad:
        path.unlink(missing_ok=True)
    started = time.perf_counter()
    module = importlib.import_module(step.module)
    function = getattr(module, step.function)
    accepted = inspect.signature(function).parameters
    options: dict[str, Any] = {"force": force} if "force" in accepted else {}
    if "log" in accepted and report:  # the step's own notes (a cache it rebuilds, and why)
        options["log"] = lambda message: report(name, message, 0.0)
    function(**options)
    missing = [str(path) for path in step.outputs() if not path.exists()]
    if missing:
        raise BuildError(f"build step '{name}' did not write {', '.join(missing)}")
    state = read_state()
    state[name] = {
        "key": step_key(name),
        "outputs": {_output_name(path): output_record(path) for path in step.outputs()},
    }
    _write_state(state)
    if report:
        report(name, "built", time.perf_counter() - started)


def _build(
    names: list[str],
    *,
    force: bool,
    report: Report | None,
    on_wait: Callable[[str], None] | None,
) -> dict[str, bool]:
    plan = _plan(names, force)
    stale = [f"step '{name}' needs building ({why})" for name, why in plan.items() if why]
    if stale:
        with _build_lock(on_wait, needs="; ".join(stale)):
            if not force:  # another build may have done the work while we waited
                plan = _plan(names, force)
            for name, reason in plan.items():
                if reason is not None:
                    _run_step(name, reason, force=force and name in names, report=report)
                elif report:
                    report(name, "up to date", 0.0)
    elif report:
        for name in plan:
            report(name, "up to date", 0.0)
    return {name: reason is not None for name, reason in plan.items()}


def ensure_built(
    name: str,
    *,
    force: bool = False,
    report: Report | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> bool:
    """Build step ``name`` (and the steps it depends on) unless up to date.

    Safe to call from several processes at once: they wait for each other
    (``on_wait`` is told when this call has to wait). ``force`` reaches every
    step, including the step functions' own caches.

    Returns:
        True when the step was (re)built, False when it was up to date.

    Raises:
        sources.ChecksumMismatchError: a raw input was edited or damaged.
        FileNotFoundError: a raw input the build needs is not fetched.
        BuildError: the data folder is read-only and something needs building.
    """
    return _build([name], force=force, report=report, on_wait=on_wait)[name]


def build_all(
    *,
    force: bool = False,
    report: Report | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> None:
    """Build every step in order (see :func:`ensure_built`)."""
    _build(list(STEPS), force=force, report=report, on_wait=on_wait)
