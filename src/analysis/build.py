"""Build the processed tables from ``data/raw`` in order, skipping what is up to date.

Steps, in order: ``backbone`` (territories), ``indicators``, ``cooperation``.
A step's key hashes the checksums of the raw sources it reads, its own code and
the keys of the steps it depends on (plus the registry files for
``cooperation``). The keys of the last successful build live in
``data/processed/build_state.json``; a step whose key and outputs are unchanged
is skipped.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import importlib.util
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analysis import paths, sources


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
            + [paths.territory_layer(level) for level in ("epci", "ze2020", "dep", "reg", "fr")]
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


def _state_path() -> Path:
    return paths.processed_dir() / "build_state.json"


def read_state() -> dict[str, str]:
    """Keys of the last successful build of each step."""
    try:
        return json.loads(_state_path().read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _write_state(state: dict[str, str]) -> None:
    target = _state_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(state, indent=2, sort_keys=True))
    os.replace(temporary, target)


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


def step_key(name: str, _cache: dict[str, str] | None = None) -> str:
    """Hash of everything a step's outputs depend on."""
    cache = _cache if _cache is not None else {}
    if name in cache:
        return cache[name]
    step = STEPS[name]
    module = importlib.import_module(step.module)
    digest = hashlib.sha256()
    catalogue = sources.load_catalogue()
    for source_id in sorted(getattr(module, "INPUT_SOURCES", ())):
        digest.update(f"source {source_id} {catalogue[source_id].sha256}\n".encode())
    for path in _code_files(step.module) + step.extra_inputs():
        digest.update(f"file {path.name} {sources.sha256_of(path)}\n".encode())
    for dependency in step.depends_on:
        digest.update(f"step {dependency} {step_key(dependency, cache)}\n".encode())
    cache[name] = digest.hexdigest()
    return cache[name]


def _check_raw_inputs(name: str) -> None:
    """Fail early, naming the fix, when a raw input of the step is not fetched."""
    module = importlib.import_module(STEPS[name].module)
    catalogue = sources.load_catalogue()
    for source_id in getattr(module, "INPUT_SOURCES", ()):
        status = sources.source_status(catalogue[source_id])
        if status is not sources.Status.PRESENT:
            raise FileNotFoundError(
                f"build step '{name}' needs source '{source_id}', which is {status.value} in "
                f"{paths.raw_dir()}: run `ptce data fetch --only {source_id}` "
                "(with --mirror DIR or DATA_MIRROR when offline)."
            )


@contextlib.contextmanager
def _build_lock():
    """One build at a time across processes (parallel test workers, two shells)."""
    lock_path = paths.processed_dir() / ".build.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_built(
    name: str,
    *,
    force: bool = False,
    report: Callable[[str, str, float], None] | None = None,
) -> bool:
    """Build step ``name`` (and the steps it depends on) unless up to date.

    Safe to call from several processes at once: they wait for each other.

    Returns:
        True when the step was (re)built, False when it was up to date.
    """
    with _build_lock():
        return _ensure_built_locked(name, force=force, report=report, done={})


def _ensure_built_locked(
    name: str,
    *,
    force: bool,
    report: Callable[[str, str, float], None] | None,
    done: dict[str, bool],
) -> bool:
    if name in done:  # already handled in this call (shared dependency)
        return done[name]
    step = STEPS[name]
    for dependency in step.depends_on:
        _ensure_built_locked(dependency, force=force, report=report, done=done)
    key = step_key(name)
    state = read_state()
    outputs_exist = all(path.exists() for path in step.outputs())
    if not force and state.get(name) == key and outputs_exist:
        if report:
            report(name, "up to date", 0.0)
        done[name] = False
        return False
    _check_raw_inputs(name)
    started = time.perf_counter()
    module = importlib.import_module(step.module)
    getattr(module, step.function)()
    state = read_state()
    state[name] = key
    _write_state(state)
    if report:
        report(name, "built", time.perf_counter() - started)
    done[name] = True
    return True


def build_all(
    *, force: bool = False, report: Callable[[str, str, float], None] | None = None
) -> None:
    """Build every step in order."""
    done: dict[str, bool] = {}
    with _build_lock():
        for name in STEPS:
            _ensure_built_locked(name, force=force, report=report, done=done)
