"""The report batch's configuration: ``config/reports.yml``, notebook parameters, validation.

Everything decided before a notebook runs: the runs of the batch (a notebook
and its parameters), the ``parameters`` cell each notebook declares, and the
check of every run against it (unknown name, wrong type, unknown level,
territory, indicator or shock, a notebook outside ``notebooks/``…), all
problems raised at once. Also the layout of a run folder (``run.json`` and its
neighbours), which the execution writes and the site reads.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis import indicators, keys, paths, resilience, territories

RUN_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
RESERVED_RUN_NAMES = frozenset({"figures", "index", "interactive"})
"""Folder names under ``reports/`` used by other parts (the figure gallery…)."""

# --- the layout of a run folder: reports/<run>/ --------------------------------
RUN_FILE = "run.json"
HTML_FILE = "report.html"
PDF_FILE = "fiche.pdf"
"""A fiche's printed page, beside its ``report.html`` (printed by ``analysis.reports.pdf``)."""
FIGURES_DIR = "figures"
THUMBS_DIR = "thumbs"
FAILED_NOTEBOOK_FILE = "last-failure.ipynb"
"""The executed notebook of a failed rerun, kept beside the last good report."""
INDEX_FILE = "index.html"
GALLERY_PAGE = "figures/index.html"
HIDDEN_PREFIX = paths.HIDDEN_PREFIX
"""Entries of ``reports/`` starting with this are bookkeeping (build folders,
the lock, checksums): never published."""

STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_STALE = "stale"
"""The last rerun failed; the folder still holds the last good report."""
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


def read_run_record(reports_dir: Path, name: str) -> dict[str, Any] | None:
    """The ``run.json`` of a run folder, or ``None`` (absent or unreadable)."""
    path = reports_dir / name / RUN_FILE
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None
    return record if isinstance(record, dict) else None


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
        notebooks_dir: Folder of the notebook: the configuration's ``notebooks_dir``
            (relative to the file, inside ``notebooks/``) or the folder given by
            ``ptce report --notebooks-dir``; empty means ``notebooks/``.
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
        if level not in keys.FICHE_LEVELS or not names_by_level.get(level):
            raise ReportConfigError(
                f"fiches: level {level!r} is not one of {', '.join(keys.FICHE_LEVELS)} "
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


def load_report_config(
    path: Path | None = None, *, notebooks_dir: Path | str | None = None
) -> list[ReportRun]:
    """Read the batch configuration (``config/reports.yml``).

    The file has an optional ``defaults`` mapping (parameters applied to every
    run whose notebook declares them), an optional ``notebooks_dir`` (relative
    to the file; default ``notebooks/``) and a ``runs`` list, each run with
    ``name``, ``notebook`` (a notebook's name, no path: :func:`notebook_name_problem`),
    optional ``title`` and ``parameters``; an optional ``fiches`` rule adds one
    run per territory of its levels (:func:`fiche_runs`).

    A batch file runs the project's notebooks only: its ``notebooks_dir`` must
    lie inside the project's ``notebooks/`` folder (a sub-folder of drafts, say),
    so a file received from someone else cannot run a notebook from elsewhere.
    Another folder is chosen by the person running the batch, explicitly:
    ``ptce report --notebooks-dir DIR`` or ``notebooks_dir=`` here.

    Args:
        path: The batch file (default ``config/reports.yml``).
        notebooks_dir: A notebook folder chosen by the caller (any folder); it
            takes the place of the file's ``notebooks_dir``.

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
            names = territory_names([level for level in levels if level in keys.FICHE_LEVELS])
            expanded = fiche_runs(rule, names)
        except ReportConfigError as error:
            raise ReportConfigError(f"{path}: {error}") from None
        content["runs"] = [*content["runs"], *expanded]
    defaults = content.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ReportConfigError(f"{path}: 'defaults' must be a mapping of parameter: value.")
    if notebooks_dir is not None:
        notebooks_dir = str(Path(notebooks_dir).resolve())
    else:
        notebooks_dir = _configured_notebooks_dir(path, content.get("notebooks_dir"))
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
        not_a_name = notebook_name_problem(notebook)
        if not_a_name:
            problems.append(f"{label}: {not_a_name}.")
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


def _configured_notebooks_dir(path: Path, value: Any) -> str:
    """The batch file's ``notebooks_dir``, resolved; refused outside the project's notebooks.

    Raises:
        ReportConfigError: the folder is not ``notebooks/`` or one of its sub-folders.
    """
    if not value:
        return ""
    folder = (path.parent / str(value)).resolve()
    if not folder.is_relative_to(paths.NOTEBOOKS_DIR.resolve()):
        raise ReportConfigError(
            f"{path}: notebooks_dir {str(value)!r} resolves to {folder}, outside the project's "
            f"notebook folder {paths.NOTEBOOKS_DIR}; a batch file runs the project's "
            "notebooks only. Fix: remove notebooks_dir (or point it inside "
            f"{paths.NOTEBOOKS_DIR}), or choose the folder yourself on the command line: "
            "`ptce report --notebooks-dir DIR`."
        )
    return str(folder)


def select_runs(runs: Sequence[ReportRun], only: Iterable[str] | None) -> list[ReportRun]:
    """The runs whose name matches one of ``only`` (shell patterns); all when empty.

    Raises:
        ReportConfigError: a pattern matches no run (lists the run names).
    """
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


def territory_code_lookup() -> Callable[[str], set[str]]:
    """A level → territory codes lookup on the processed territories, read once per level."""
    cache: dict[str, set[str]] = {}

    def lookup(level: str) -> set[str]:
        if level not in cache:
            frame = territories.load_territories(level, with_geometry=False)
            cache[level] = set(frame["territory_code"].astype(str))
        return cache[level]

    return lookup


def notebook_name_problem(notebook: str) -> str:
    """Why ``notebook`` is not a plain notebook name (empty when it is one).

    A run names a notebook of the notebook folder by its file name, without
    ``.ipynb``: ``territory_fiche``. A path (``../elsewhere/x``, ``/tmp/x``,
    ``sub\\x``) could run code that is not part of the project, and its executed
    copy would land outside the run folder.
    """
    if not notebook:
        return "missing 'notebook' (e.g. notebook: territory_fiche)"
    if "/" in notebook or "\\" in notebook or notebook.startswith("."):
        return (
            f"notebook '{notebook}' is a path, not a notebook name; give the name of a "
            f"notebook of {paths.NOTEBOOKS_DIR.name}/ without folder, '..' or .ipynb "
            "(e.g. notebook: territory_fiche), and put the notebook in that folder"
        )
    return ""


def notebook_outside(folder: Path, notebook_path: Path) -> str:
    """Why a run's notebook may not execute because it lies outside the notebook folder.

    ``notebook: ../../somewhere/evil`` (or a link pointing out) would run code
    that is not part of the project; only notebooks inside the folder run.

    Returns:
        The problem in words, empty when the notebook resolves inside ``folder``.
    """
    root = folder.resolve()
    target = notebook_path.resolve()
    if target.is_relative_to(root):
        return ""
    return (
        f"notebook {notebook_path.name!r} resolves to {target}, "
        f"outside the notebook folder {root}; put the notebook itself (not a link) in {root} "
        "and give its name (e.g. notebook: territory_fiche)"
    )


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
    lookup = territory_code_lookup() if territory_codes is True else (territory_codes or None)
    known_indicators = {str(name) for name in indicators.INDICATORS.index}
    known_shocks = {str(name) for name in resilience.SHOCKS.index}
    known_levels = set(keys.LEVELS)
    problems: list[RunProblem] = []
    resolved: list[ResolvedRun] = []
    declared_cache: dict[Path, dict[str, NotebookParameter] | str] = {}
    for run in runs:
        not_a_name = notebook_name_problem(run.notebook)
        if not_a_name:
            problems.append(RunProblem(run.name, not_a_name))
            continue
        folder = Path(run.notebooks_dir) if run.notebooks_dir else notebooks_dir
        notebook_path = folder / f"{run.notebook}.ipynb"
        outside = notebook_outside(folder, notebook_path)
        if outside:
            problems.append(RunProblem(run.name, outside))
            continue
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
    if isinstance(lang, str) and lang not in keys.LANGS:
        problems.append(f"lang {lang!r} is unknown; use one of {', '.join(keys.LANGS)}")
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
