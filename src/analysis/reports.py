"""The report batch: parametrised notebooks run with papermill, cached by input checksums.

``config/reports.yml`` lists the runs (a notebook and its parameters). Before
anything executes, every run is checked against its notebook's ``parameters``
cell (unknown name, wrong type, unknown territory code…) and all problems are
raised at once. Each run then executes in its own process and writes
``reports/<run>/``: the executed notebook, an HTML version without code, its
figures (the notebook saves them in the folder passed as ``output_dir``),
thumbnails and ``run.json`` (parameters, input checksums, git commit, duration,
status and the cache key). A run whose notebook, parameters and inputs are
unchanged is skipped. ``reports/index.html`` lists every run.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import html
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis import paths, territories
from analysis.atomic import write_text_atomically
from analysis.keys import FICHE_LEVELS
from analysis.pdf import PDF_FILE, PDF_NOTEBOOKS, print_pdf

CACHE_KEY_VERSION = "1"
"""Bumped when the layout of a run folder changes, so every run is redone."""

RUN_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
RESERVED_RUN_NAMES = frozenset({"figures", "index", "interactive"})
"""Folder names under ``reports/`` used by other parts (the figure gallery…)."""

RUN_FILE = "run.json"
HTML_FILE = "report.html"
FIGURES_DIR = "figures"
THUMBS_DIR = "thumbs"
INDEX_FILE = "index.html"
GALLERY_PAGE = "figures/index.html"
CHECKSUM_CACHE_FILE = ".checksums.json"
THUMB_WIDTH_PX = 360
SLIDE_SUFFIX = ".slide.png"
DEFAULT_CELL_TIMEOUT_S = 900

LANGS = ("fr", "en")
FALLBACK_LEVELS = ("commune", "epci", "ze2020", "dep", "reg", "fr")

STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_SKIPPED = "skipped"
STATUS_NOT_RUN = "not run"

_TYPE_NAMES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (float, int),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


class ReportConfigError(ValueError):
    """The batch configuration or a run's parameters are invalid (lists every problem)."""


# ---------------------------------------------------------------------------
# Notebook parameters
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NotebookParameter:
    """One variable of a notebook's ``parameters`` cell.

    Attributes:
        name: Variable name.
        type_name: ``str``, ``int``, ``float``, ``bool``, ``list``, ``dict`` or
            ``any`` (no annotation and no literal default).
        optional: Whether ``None`` is accepted (annotation ``X | None``).
        default: The default value when it is a literal, else its source text.
    """

    name: str
    type_name: str
    optional: bool
    default: Any

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has this parameter's type."""
        if value is None:
            return self.optional
        if self.type_name == "any":
            return True
        if isinstance(value, bool) and self.type_name != "bool":
            return False
        return isinstance(value, _TYPE_NAMES[self.type_name])

    @property
    def type_label(self) -> str:
        """The type as written in the notebook (``str | None``)."""
        return f"{self.type_name} | None" if self.optional else self.type_name


def _annotation_type(node: ast.expr | None, where: str) -> tuple[str, bool] | None:
    """(type name, optional) of an annotation such as ``str`` or ``str | None``."""
    if node is None:
        return None
    if isinstance(node, ast.Name) and node.id in _TYPE_NAMES:
        return node.id, False
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        sides = [node.left, node.right]
        if any(isinstance(s, ast.Constant) and s.value is None for s in sides):
            other = next(s for s in sides if not (isinstance(s, ast.Constant) and s.value is None))
            inner = _annotation_type(other, where)
            if inner is not None:
                return inner[0], True
    raise ReportConfigError(
        f"{where}: unsupported annotation {ast.unparse(node)!r}; use one of "
        f"{', '.join(_TYPE_NAMES)} optionally followed by '| None'."
    )


def parse_parameters_source(
    source: str, where: str = "parameters cell"
) -> dict[str, NotebookParameter]:
    """Read names, types and defaults from the source of a ``parameters`` cell.

    Args:
        source: Python source with one assignment per parameter, e.g.
            ``level: str = "ze2020"``; comments are allowed.
        where: Named in error messages (notebook path).

    Returns:
        The parameters by name, in cell order.

    Raises:
        ReportConfigError: a statement is not a simple assignment, or an
            annotation is not a supported type.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ReportConfigError(
            f"{where}: the parameters cell is not valid Python ({error})."
        ) from None
    parameters: dict[str, NotebookParameter] = {}
    for statement in tree.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            name, value_node = statement.target.id, statement.value
            annotated = _annotation_type(statement.annotation, f"{where}, parameter {name!r}")
        elif (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            name, value_node, annotated = statement.targets[0].id, statement.value, None
        else:
            raise ReportConfigError(
                f"{where}: line {statement.lineno} is not a simple assignment; the parameters "
                "cell must only hold `name: type = default` lines."
            )
        try:
            default = ast.literal_eval(value_node) if value_node is not None else None
            is_literal = True
        except ValueError:
            default, is_literal = ast.unparse(value_node), False
        if annotated is None:
            inferred = type(default).__name__ if is_literal and default is not None else "any"
            annotated = (inferred if inferred in _TYPE_NAMES else "any", default is None)
        parameters[name] = NotebookParameter(name, annotated[0], annotated[1], default)
    return parameters


def read_notebook_parameters(notebook_path: Path) -> dict[str, NotebookParameter]:
    """The parameters declared in the cell tagged ``parameters`` of a notebook.

    Raises:
        ReportConfigError: the notebook has no (or several) cells tagged
            ``parameters``.
    """
    notebook = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
    cells = [
        cell
        for cell in notebook.get("cells", [])
        if cell.get("cell_type") == "code"
        and "parameters" in cell.get("metadata", {}).get("tags", [])
    ]
    if len(cells) != 1:
        raise ReportConfigError(
            f"{notebook_path}: expected exactly one code cell tagged 'parameters', found "
            f"{len(cells)}; tag it in JupyterLab (property inspector → cell tags)."
        )
    source = cells[0]["source"]
    source = "".join(source) if isinstance(source, list) else source
    return parse_parameters_source(source, where=str(notebook_path))


def prepare_output_dir(output_dir: str, notebook: str) -> Path:
    """The folder a notebook saves its figures and tables in, created.

    Args:
        output_dir: The notebook's ``output_dir`` parameter; the batch passes
            ``figures`` (relative to the run folder). Empty when the notebook
            is run by hand: then ``reports/interactive/<notebook>/``.
        notebook: The notebook's name, for the interactive default.
    """
    folder = Path(output_dir) if output_dir else paths.reports_dir() / "interactive" / notebook
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRun:
    """One run of the batch: a notebook with parameters.

    Attributes:
        name: Folder name under ``reports/`` (lower case, digits, ``-``, ``_``).
        notebook: Notebook name without ``.ipynb`` (in ``notebooks/``).
        parameters: The values given in the configuration (defaults of the
            configuration merged in); the notebook's own defaults fill the rest.
        title: Optional human title shown in the index.
        defaults: The configuration's ``defaults``, applied when the notebook
            declares them (unlike ``parameters``, unknown names are ignored).
        notebooks_dir: Folder of the notebook when the configuration sets
            ``notebooks_dir`` (relative to the configuration file); empty
            means ``notebooks/``.
    """

    name: str
    notebook: str
    parameters: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    notebooks_dir: str = ""


@dataclass(frozen=True)
class RunProblem:
    """One reason a run cannot execute."""

    run: str
    message: str

    def __str__(self) -> str:
        return f"{self.run}: {self.message}"


FICHE_RULE_KEYS = frozenset({"notebook", "levels", "name", "title", "parameters"})
"""Keys of the ``fiches`` rule of ``config/reports.yml``."""


def fiche_runs(
    rule: Mapping[str, Any], names_by_level: Mapping[str, Sequence[tuple[str, str]]]
) -> list[dict[str, Any]]:
    """Expand the ``fiches`` rule of ``config/reports.yml`` into one run entry per territory.

    Args:
        rule: ``notebook``, ``levels`` (e.g. ``[reg, dep]``), ``name`` (a
            pattern with ``{level}`` and ``{code}``, default
            ``fiche-{level}-{code}``), optional ``title`` (``{name}``,
            ``{code}``, ``{level}``) and ``parameters`` (to which ``level`` and
            ``territory_code`` are added).
        names_by_level: Per level, ``(code, name)`` of every territory.

    Returns:
        Entries (``name``, ``notebook``, ``title``, ``parameters``) in the
        order of ``levels`` then of codes; names lower case (``fiche-dep-2a``).

    Raises:
        ReportConfigError: an unknown key, no notebook, a level that is not in
            :data:`analysis.keys.FICHE_LEVELS` or has no territories, a name
            pattern without ``{code}``.
    """
    unknown = set(rule) - FICHE_RULE_KEYS
    if unknown:
        raise ReportConfigError(
            f"fiches: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            f"expected {', '.join(sorted(FICHE_RULE_KEYS))}."
        )
    notebook = str(rule.get("notebook") or "").removesuffix(".ipynb")
    if not notebook:
        raise ReportConfigError("fiches: missing 'notebook' (e.g. territory_fiche).")
    pattern = str(rule.get("name") or "fiche-{level}-{code}")
    if "{code}" not in pattern:
        raise ReportConfigError(f"fiches: name {pattern!r} must contain {{code}}.")
    levels = rule.get("levels") or ["reg", "dep"]
    levels = [levels] if isinstance(levels, str) else list(levels)
    title = str(rule.get("title") or "{name} ({code})")
    parameters = rule.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ReportConfigError("fiches: 'parameters' must be a mapping.")
    entries = []
    for level in levels:
        if level not in FICHE_LEVELS or not names_by_level.get(level):
            raise ReportConfigError(
                f"fiches: level {level!r} is not one of {', '.join(FICHE_LEVELS)} "
                "or has no territories."
            )
        for code, name in sorted(names_by_level[level]):
            values = {"level": level, "code": code, "name": name}
            entries.append(
                {
                    "name": pattern.format(**values).lower(),
                    "notebook": notebook,
                    "title": title.format(**values),
                    "parameters": {**parameters, "level": level, "territory_code": code},
                }
            )
    return entries


def territory_names(levels: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """``(code, name)`` of every territory of each level (from the built territory layers)."""
    names = {}
    for level in levels:
        frame = territories.load_territories(level, with_geometry=False)
        names[level] = list(
            zip(
                frame["territory_code"].astype(str),
                frame["territory_name"].astype(str),
                strict=True,
            )
        )
    return names


def load_report_config(path: Path | None = None) -> list[ReportRun]:
    """Read the batch configuration (``config/reports.yml``).

    The file has an optional ``defaults`` mapping (parameters applied to every
    run whose notebook declares them), an optional ``notebooks_dir`` (relative
    to the file; default ``notebooks/``) and a ``runs`` list, each run with
    ``name``, ``notebook``, optional ``title`` and ``parameters``; an optional
    ``fiches`` rule adds one run per territory of its levels (:func:`fiche_runs`).

    Raises:
        ReportConfigError: naming the file and every malformed run.
    """
    path = Path(path or paths.REPORTS_CONFIG)
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ReportConfigError(f"{path}: not valid YAML ({error}).") from None
    if not isinstance(content, dict) or not isinstance(content.get("runs"), list):
        raise ReportConfigError(f"{path}: expected a mapping with a 'runs' list.")
    unknown_sections = set(content) - {"defaults", "notebooks_dir", "runs", "fiches"}
    if unknown_sections:
        raise ReportConfigError(
            f"{path}: unknown top-level key(s) {', '.join(sorted(map(str, unknown_sections)))}; "
            "expected defaults, notebooks_dir, runs and fiches."
        )
    rule = content.get("fiches")
    if rule:
        if not isinstance(rule, dict):
            raise ReportConfigError(f"{path}: 'fiches' must be a mapping (notebook, levels…).")
        levels = rule.get("levels") or ["reg", "dep"]
        levels = [levels] if isinstance(levels, str) else levels
        try:
            expanded = fiche_runs(
                rule, territory_names([lv for lv in levels if lv in FICHE_LEVELS])
            )
        except ReportConfigError as error:
            raise ReportConfigError(f"{path}: {error}") from None
        content["runs"] = [*content["runs"], *expanded]
    defaults = content.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ReportConfigError(f"{path}: 'defaults' must be a mapping of parameter: value.")
    notebooks_dir = str(content.get("notebooks_dir") or "")
    if notebooks_dir:
        notebooks_dir = str((path.parent / notebooks_dir).resolve())
    problems: list[str] = []
    runs: list[ReportRun] = []
    seen: set[str] = set()
    for position, entry in enumerate(content["runs"], start=1):
        label = f"run #{position}"
        if not isinstance(entry, dict):
            problems.append(f"{label}: expected a mapping with name, notebook, parameters.")
            continue
        name = str(entry.get("name", ""))
        label = f"run #{position} ({name or 'no name'})"
        unknown_keys = set(entry) - {"name", "notebook", "parameters", "title"}
        if unknown_keys:
            problems.append(f"{label}: unknown key(s) {', '.join(sorted(unknown_keys))}.")
        if not RUN_NAME_PATTERN.match(name) or name in RESERVED_RUN_NAMES:
            problems.append(
                f"{label}: name must be lower-case letters, digits, '-' or '_' and not one of "
                f"{', '.join(sorted(RESERVED_RUN_NAMES))}."
            )
        elif name in seen:
            problems.append(f"{label}: duplicate run name {name!r}.")
        seen.add(name)
        notebook = str(entry.get("notebook", "")).removesuffix(".ipynb")
        if not notebook:
            problems.append(f"{label}: missing 'notebook'.")
        parameters = entry.get("parameters") or {}
        if not isinstance(parameters, dict):
            problems.append(f"{label}: 'parameters' must be a mapping.")
            parameters = {}
        runs.append(
            ReportRun(
                name,
                notebook,
                dict(parameters),
                str(entry.get("title", "")),
                dict(defaults),
                notebooks_dir,
            )
        )
    if problems:
        raise ReportConfigError(f"{path}:\n  " + "\n  ".join(problems))
    return runs


def select_runs(runs: Sequence[ReportRun], only: Iterable[str] | None) -> list[ReportRun]:
    """The runs whose name matches one of ``only`` (shell patterns); all when empty.

    Raises:
        ReportConfigError: a pattern matches no run (lists the run names).
    """
    import fnmatch

    patterns = list(only or [])
    if not patterns:
        return list(runs)
    unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(r.name, p) for r in runs)]
    if unmatched:
        raise ReportConfigError(
            f"--only {', '.join(unmatched)} matches no run; runs are: "
            + ", ".join(r.name for r in runs)
        )
    return [r for r in runs if any(fnmatch.fnmatchcase(r.name, p) for p in patterns)]


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _known_territory_codes() -> Callable[[str], set[str]] | None:
    """A level → codes lookup backed by the territories module, if it is there."""
    try:
        from analysis import territories
    except ImportError:
        return None
    cache: dict[str, set[str]] = {}

    def lookup(level: str) -> set[str]:
        if level not in cache:
            frame = territories.load_territories(level, with_geometry=False)
            cache[level] = set(frame["territory_code"].astype(str))
        return cache[level]

    return lookup


def _known_values(module: str, attribute: str) -> set[str] | None:
    """Names listed by another module (indicators, shocks), if it exists."""
    try:
        imported = __import__(f"analysis.{module}", fromlist=[attribute])
    except ImportError:
        return None
    values = getattr(imported, attribute, None)
    if values is None:
        return None
    if hasattr(values, "index") and not isinstance(values, (tuple, list)):
        return {str(v) for v in values.index}
    return {str(v) for v in values}


@dataclass
class ResolvedRun:
    """A validated run: notebook path and every parameter value."""

    run: ReportRun
    notebook_path: Path
    parameters: dict[str, Any]


def resolve_runs(
    runs: Sequence[ReportRun],
    *,
    notebooks_dir: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    territory_codes: Callable[[str], set[str]] | None | bool = True,
) -> list[ResolvedRun]:
    """Check every run against its notebook before anything executes.

    Checks: the notebook exists and has a ``parameters`` cell; every parameter
    is declared there and has the declared type; ``level``, ``lang``,
    ``territory_code``, ``indicator``, ``shock`` and ``registry_path`` take
    known values (territory codes against
    ``territories.load_territories(level)``; indicators and shocks against
    their modules when those exist).

    Args:
        runs: From :func:`load_report_config`.
        notebooks_dir: Where notebooks are (default ``notebooks/``).
        overrides: Values forced on every run whose notebook declares them
            (e.g. ``{"fast": True}`` from ``ptce report --fast``).
        territory_codes: ``level -> set of codes``; ``True`` uses the
            territories module, ``None``/``False`` skips that check.

    Returns:
        The runs with their notebook path and full parameter values (notebook
        defaults filled in).

    Raises:
        ReportConfigError: listing every problem of every run.
    """
    notebooks_dir = Path(notebooks_dir or paths.NOTEBOOKS_DIR)
    lookup = _known_territory_codes() if territory_codes is True else (territory_codes or None)
    known_indicators = _known_values("indicators", "INDICATORS")
    known_shocks = _known_values("resilience", "SHOCKS")
    known_levels = _known_values("territories", "LEVELS") or set(FALLBACK_LEVELS)
    problems: list[RunProblem] = []
    resolved: list[ResolvedRun] = []
    declared_cache: dict[Path, dict[str, NotebookParameter] | str] = {}
    for run in runs:
        folder = Path(run.notebooks_dir) if run.notebooks_dir else notebooks_dir
        notebook_path = folder / f"{run.notebook}.ipynb"
        if notebook_path not in declared_cache:
            if not notebook_path.exists():
                available = sorted(p.stem for p in folder.glob("*.ipynb"))
                declared_cache[notebook_path] = (
                    f"notebook {notebook_path} does not exist; notebooks: {', '.join(available)}"
                )
            else:
                try:
                    declared_cache[notebook_path] = read_notebook_parameters(notebook_path)
                except ReportConfigError as error:
                    declared_cache[notebook_path] = str(error)
        declared = declared_cache[notebook_path]
        if isinstance(declared, str):
            problems.append(RunProblem(run.name, declared))
            continue
        values = {name: p.default for name, p in declared.items()}
        given = [(k, v, " (from defaults)") for k, v in run.defaults.items() if k in declared]
        given += [(k, v, "") for k, v in run.parameters.items()]
        given += [
            (k, v, " (from the command line)")
            for k, v in (overrides or {}).items()
            if k in declared
        ]
        run_problems: list[str] = []
        for name, value, origin in given:
            if name not in declared:
                run_problems.append(
                    f"unknown parameter {name!r} for {run.notebook}; it declares "
                    f"{', '.join(declared)}"
                )
            elif not declared[name].accepts(value):
                run_problems.append(
                    f"parameter {name!r} = {value!r}{origin} is {type(value).__name__}, "
                    f"expected {declared[name].type_label}"
                )
            else:
                values[name] = value
        run_problems += _check_values(values, known_levels, known_indicators, known_shocks, lookup)
        problems += [RunProblem(run.name, message) for message in run_problems]
        registry_path = values.get("registry_path")
        if (
            isinstance(registry_path, str)
            and registry_path
            and not Path(registry_path).is_absolute()
        ):
            # The notebook runs in its report folder: make the path independent of the cwd.
            values["registry_path"] = str(paths.PROJECT_ROOT / registry_path)
        if not run_problems:
            resolved.append(ResolvedRun(run, notebook_path, values))
    if problems:
        raise ReportConfigError(
            f"{len({p.run for p in problems})} run(s) cannot execute; nothing was run:\n  "
            + "\n  ".join(str(p) for p in problems)
        )
    return resolved


def _check_values(
    values: Mapping[str, Any],
    known_levels: set[str],
    known_indicators: set[str] | None,
    known_shocks: set[str] | None,
    territory_codes: Callable[[str], set[str]] | None,
) -> list[str]:
    """Problems with the values of the well-known parameters."""
    problems: list[str] = []
    level = values.get("level")
    if isinstance(level, str) and level and level not in known_levels:
        problems.append(f"level {level!r} is unknown; levels: {', '.join(sorted(known_levels))}")
        level = None
    lang = values.get("lang")
    if isinstance(lang, str) and lang not in LANGS:
        problems.append(f"lang {lang!r} is unknown; use one of {', '.join(LANGS)}")
    for name, known in (("indicator", known_indicators), ("shock", known_shocks)):
        value = values.get(name)
        if known is not None and isinstance(value, str) and value and value not in known:
            problems.append(f"{name} {value!r} is unknown; known: {', '.join(sorted(known))}")
    registry_path = values.get("registry_path")
    if isinstance(registry_path, str) and registry_path:
        candidate = Path(registry_path)
        if not candidate.is_absolute():
            candidate = paths.PROJECT_ROOT / candidate
        if not candidate.exists():
            problems.append(f"registry_path {registry_path!r} does not exist ({candidate})")
    code = values.get("territory_code")
    if isinstance(code, str) and code and territory_codes is not None:
        if not isinstance(level, str) or not level:
            problems.append(f"territory_code {code!r} needs a level")
        else:
            try:
                codes = territory_codes(level)
            except (FileNotFoundError, OSError) as error:
                problems.append(f"cannot check territory_code {code!r} at level {level}: {error}")
            else:
                if code not in codes:
                    sample = ", ".join(sorted(codes)[:12])
                    problems.append(
                        f"territory_code {code!r} is not a {level} code "
                        f"({len(codes)} codes, e.g. {sample})"
                    )
    return problems


# ---------------------------------------------------------------------------
# Checksums and cache keys
# ---------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
        stat = file.stat()
        key = str(file.resolve())
        entry = self.entries.get(key)
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return entry[2]
        digest = _sha256_file(file)
        self.entries[key] = [stat.st_size, stat.st_mtime_ns, digest]
        self.changed = True
        return digest

    def save(self) -> None:
        if self.path is None or not self.changed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(json.dumps(self.entries, sort_keys=True), self.path)


def _relative_label(path: Path) -> str:
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
    package = Path(__file__).resolve().parent
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
    return {_relative_label(f): cache.sha256(f) for f in input_files(registry_path)}


def code_checksums(cache: ChecksumCache | None = None) -> dict[str, str]:
    """sha256 of each code file of the package."""
    cache = cache or ChecksumCache(None)
    return {_relative_label(f): cache.sha256(f) for f in code_files()}


def catalogue_checksums() -> dict[str, str]:
    """The catalogue's sha256 of every raw source (what the processed tables derive from)."""
    try:
        from analysis import sources

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
    payload = json.dumps(
        {
            "version": CACHE_KEY_VERSION,
            "notebook": notebook_sha256,
            "parameters": parameters,
            "inputs": dict(sorted(inputs.items())),
            "code": dict(sorted(code.items())),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def git_commit() -> dict[str, Any]:
    """The checkout's commit and whether the working tree has changes (``None`` outside git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=paths.PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=paths.PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.strip()
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


def export_html(notebook_path: Path, html_path: Path, title: str = "") -> None:
    """Write the HTML version of an executed notebook without its code, usable offline."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    template = (
        "{%- extends 'lab/index.html.j2' -%}"
        "{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}"
        "{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}"
        "{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}"
    )
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"ptce_report.html.j2": template})],
        template_file="ptce_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    notebook = nbformat.read(notebook_path, as_version=4)
    if title:
        notebook.metadata["title"] = title
    body, _ = exporter.from_notebook_node(notebook)
    write_text_atomically(body, html_path)


def _make_thumbnails(figures: Path, thumbs: Path) -> list[str]:
    """PNG thumbnails of the run's figures for the index (deterministic)."""
    from PIL import Image

    made = []
    for png in sorted(figures.rglob("*.png")):
        if png.name.endswith(SLIDE_SUFFIX):
            continue  # the 16:9 slide version of a figure already thumbnailed
        relative = png.relative_to(figures)
        target = thumbs / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(png) as image:
            image = image.convert("RGB")
            ratio = THUMB_WIDTH_PX / max(image.width, 1)
            if ratio < 1:
                image = image.resize(
                    (THUMB_WIDTH_PX, max(1, round(image.height * ratio))), Image.LANCZOS
                )
            image.save(target, format="PNG", optimize=True)
        made.append(relative.as_posix())
    return made


def _swap_into_place(built: Path, final: Path) -> None:
    """Replace ``final`` by ``built`` (a complete folder) with two renames."""
    old = final.with_name(f".old-{final.name}-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(built, final)
    shutil.rmtree(old, ignore_errors=True)


def _error_summary(error: BaseException) -> str:
    ename = getattr(error, "ename", type(error).__name__)
    evalue = getattr(error, "evalue", str(error))
    cell = getattr(error, "cell_index", None)
    where = f" (cell {cell})" if cell is not None else ""
    return f"{ename}: {evalue}{where}".strip()


def execute_run(task: Mapping[str, Any]) -> dict[str, Any]:
    """Execute one run and write its folder; never raises for a failing notebook.

    Args:
        task: ``name``, ``notebook`` (stem), ``notebook_path``, ``parameters``,
            ``title``, ``reports_dir``, ``record`` (fields copied into
            ``run.json``: cache key, inputs, catalogue, git), ``timeout``.

    Returns:
        The ``run.json`` content.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    reports_dir = Path(task["reports_dir"])
    final = reports_dir / task["name"]
    build = Path(tempfile.mkdtemp(prefix=f".build-{task['name']}-", dir=reports_dir))
    build.chmod(0o755)  # mkdtemp makes a private folder; the run folder is shared
    (build / FIGURES_DIR).mkdir()
    executed = build / f"{task['notebook']}.ipynb"
    parameters = {**task["parameters"]}
    if "output_dir" in parameters:
        parameters["output_dir"] = FIGURES_DIR
    started = time.perf_counter()
    status, error = STATUS_OK, None
    try:
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
        status, error = STATUS_FAILED, _error_summary(exc)
    except Exception as exc:  # a kernel that dies or cannot start: record, go on
        status, error = STATUS_FAILED, f"{_error_summary(exc)}\n{traceback.format_exc(limit=3)}"
    duration = time.perf_counter() - started
    if executed.exists():
        try:
            export_html(executed, build / HTML_FILE, title=task.get("title") or task["name"])
        except Exception as exc:  # noqa: BLE001 - an HTML failure must not hide the run's result
            status = STATUS_FAILED
            error = (error + "\n" if error else "") + f"HTML export failed: {_error_summary(exc)}"
    if status == STATUS_OK and task["notebook"] in PDF_NOTEBOOKS:  # a fiche: print it too
        try:
            print_pdf(build / HTML_FILE, build / PDF_FILE)
        except Exception as exc:  # noqa: BLE001 - recorded as the run's failure
            status, error = STATUS_FAILED, f"PDF printing failed: {_error_summary(exc)}"
    thumbs = _make_thumbnails(build / FIGURES_DIR, build / THUMBS_DIR)
    figures = sorted(
        p.relative_to(build).as_posix() for p in (build / FIGURES_DIR).rglob("*") if p.is_file()
    )
    record = {
        "run": task["name"],
        "title": task.get("title", ""),
        "notebook": _relative_label(Path(task["notebook_path"])),
        "parameters": parameters,
        "status": status,
        "error": error,
        "duration_s": round(duration, 2),
        "executed_notebook": executed.name if executed.exists() else None,
        "html": HTML_FILE if (build / HTML_FILE).exists() else None,
        "pdf": PDF_FILE if (build / PDF_FILE).exists() else None,
        "files": figures,
        "thumbnails": [f"{THUMBS_DIR}/{t}" for t in thumbs],
        **task["record"],
    }
    write_text_atomically(
        json.dumps(record, indent=2, sort_keys=True, default=str) + "\n", build / RUN_FILE
    )
    _swap_into_place(build, final)
    return record


WORKER_DONE = "ptce-worker-done"


def _failure_record(task: Mapping[str, Any], error: str, duration: float) -> dict[str, Any]:
    return {
        "run": task["name"],
        "title": task.get("title", ""),
        "notebook": _relative_label(Path(task["notebook_path"])),
        "parameters": task["parameters"],
        "status": STATUS_FAILED,
        "error": error,
        "duration_s": round(duration, 2),
        **task["record"],
    }


class _Worker:
    """A ``python -m analysis.reports worker`` process executing tasks one after another.

    A subprocess rather than ``multiprocessing``: it needs no ``__main__``
    guard in the caller, its environment is the kernel's, and a crash only
    fails the task it was running (a new worker takes the next one). Keeping it
    alive across tasks saves the imports of papermill and nbconvert per run.
    """

    def __init__(self, env: Mapping[str, str], reports_dir: Path):
        self.reports_dir = reports_dir
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "analysis.reports", "worker"],
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            bufsize=1,
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def execute(self, task: Mapping[str, Any]) -> dict[str, Any]:
        handle = tempfile.NamedTemporaryFile(
            "w", suffix=".json", prefix=f".task-{task['name']}-", dir=self.reports_dir, delete=False
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


def _execute_tasks(
    tasks: Sequence[Mapping[str, Any]],
    *,
    jobs: int,
    env: Mapping[str, str],
    reports_dir: Path,
    on_started: Callable[[Mapping[str, Any]], None],
    on_finished: Callable[[dict[str, Any]], None],
) -> list[dict[str, Any]]:
    """Execute tasks on ``jobs`` worker processes; callbacks run in the calling thread."""
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
                    worker = _Worker(env, reports_dir)
                events.put(("started", task))
                try:
                    record = worker.execute(task)
                except Exception as error:  # noqa: BLE001 - one broken run must not stop the batch
                    record = _failure_record(task, _error_summary(error), 0.0)
                events.put(("finished", record))
        finally:
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=drive, daemon=True) for _ in range(max(1, jobs))]
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
# The batch
# ---------------------------------------------------------------------------


@dataclass
class BatchResult:
    """What a batch did: one record (the ``run.json`` content) per run, in order."""

    records: list[dict[str, Any]]
    index_path: Path | None = None

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["status"] == STATUS_FAILED]

    @property
    def ok(self) -> bool:
        return not self.failed


def read_run_record(reports_dir: Path, name: str) -> dict[str, Any] | None:
    """The ``run.json`` of a run folder, or ``None``."""
    path = reports_dir / name / RUN_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def _changed(before: Mapping[str, str] | None, after: Mapping[str, str]) -> list[str]:
    before = before or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def rerun_reason(
    previous: Mapping[str, Any] | None,
    folder: Path,
    key: str,
    notebook_sha256: str,
    parameters: Mapping[str, Any],
    inputs: Mapping[str, str],
    code: Mapping[str, str],
) -> str:
    """Why a run must execute again, in words; empty when it can be skipped.

    Args:
        previous: The run's last ``run.json`` (``None`` if never run).
        folder: The run's folder (its HTML must still be there).
        key: The cache key now.
        notebook_sha256: The notebook's checksum now.
        parameters: The run's parameter values now.
        inputs: Input file checksums now.
        code: Code file checksums now.
    """
    if previous is None:
        return "never run"
    if previous.get("status") != STATUS_OK:
        return f"last run {previous.get('status')}"
    if not previous.get("html") or not (folder / previous["html"]).exists():
        return "outputs missing"
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
            shown = ", ".join(changed[:3]) + (
                f" and {len(changed) - 3} more" if len(changed) > 3 else ""
            )
            reasons.append(f"{label} changed: {shown}")
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


STALE_AFTER_S = 6 * 3600
"""Age after which a build folder or task file left by an interrupted batch is removed."""


def _remove_stale_leftovers(reports_dir: Path) -> None:
    """Remove what an interrupted batch left (old enough not to belong to a running one)."""
    now = time.time()
    for leftover in reports_dir.glob(".*"):
        if not leftover.name.startswith((".build-", ".old-", ".task-")):
            continue
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > STALE_AFTER_S:
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink()


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
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
) -> BatchResult:
    """Validate, then execute the runs in parallel, skipping unchanged ones, then write the index.

    Args:
        runs: The runs to consider (after ``--only``).
        jobs: Runs executed at once (one process and one kernel each).
        force: Redo runs even when unchanged.
        overrides: Parameter values forced on every run (``{"fast": True}``).
        reports_dir: Output folder (default ``reports/``).
        notebooks_dir: Notebook folder (default ``notebooks/``).
        territory_codes: See :func:`resolve_runs`.
        all_runs: Every configured run, for the index (default ``runs``).
        timeout: Seconds allowed per cell.
        on_event: Called with (``"planned"``, {"total", "skipped"}),
            (``"started"``, task) and (``"finished"``, record) for progress.

    Returns:
        The records of every run (executed or skipped), in configuration order.

    Raises:
        ReportConfigError: before executing anything, if any run is invalid.
    """
    reports_dir = Path(reports_dir or paths.reports_dir())
    reports_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_leftovers(reports_dir)
    notify = on_event or (lambda event, payload: None)
    resolved = resolve_runs(
        runs, notebooks_dir=notebooks_dir, overrides=overrides, territory_codes=territory_codes
    )
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
            for record in _execute_tasks(
                tasks,
                jobs=jobs,
                env=env,
                reports_dir=reports_dir,
                on_started=lambda task: notify("started", task),
                on_finished=lambda record: notify("finished", record),
            ):
                by_name[record["run"]] = record
    records = [by_name[item.run.name] for item in resolved]
    from analysis import figures  # the gallery of every run's figures, linked from the index

    figures.write_gallery(reports_dir, reports_dir / GALLERY_PAGE)
    index_path = write_index(all_runs or runs, reports_dir)
    return BatchResult(records, index_path)


# ---------------------------------------------------------------------------
# Index page
# ---------------------------------------------------------------------------

_INDEX_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#222}
h1{font-size:1.6rem} table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.5rem;vertical-align:top;text-align:left}
th{background:#f4f4f4} code{font-size:.85rem}
.ok{color:#1a7f37;font-weight:600}.failed{color:#cf222e;font-weight:600}
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
        css = "ok" if status in (STATUS_OK, STATUS_SKIPPED) else "failed"
        status_cell = f'<span class="{css}">{html.escape(status)}</span>'
        if record.get("duration_s") is not None:
            status_cell += f"<br>{record['duration_s']:.1f} s"
        if record.get("error"):
            status_cell += f"<pre>{html.escape(str(record['error'])[:2000])}</pre>"
        links = []
        for label, file in (
            ("rapport HTML", record.get("html")),
            ("notebook exécuté", record.get("executed_notebook")),
            ("run.json", RUN_FILE),
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
    if (reports_dir / GALLERY_PAGE).exists():  # written by analysis.figures.write_gallery
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


def _worker_main() -> int:
    """Worker loop: read task file paths on stdin, execute each, acknowledge on stdout."""
    import nbconvert  # noqa: F401 - imported once, before the first task
    import papermill  # noqa: F401

    for line in sys.stdin:
        task_path = Path(line.strip())
        if not line.strip():
            continue
        record = execute_run(json.loads(task_path.read_text(encoding="utf-8")))
        result_path = task_path.with_name(task_path.name + ".result")
        write_text_atomically(json.dumps(record, default=str), result_path)
        print(f"{WORKER_DONE} {task_path}", flush=True)
    return 0


def _main(argv: Sequence[str]) -> int:
    """Worker entry point: ``python -m analysis.reports worker`` (used by :func:`run_batch`)."""
    if list(argv) != ["worker"]:
        print("usage: python -m analysis.reports worker  (task paths on stdin)", file=sys.stderr)
        return 2
    return _worker_main()


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
