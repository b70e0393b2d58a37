"""The package's floors, checked on its source: imports run down only, methods never load.

Every module of ``src/analysis`` is read with :mod:`ast` (nothing is imported)
and placed on a floor by :data:`FLOORS`. The test fails when

* a module imports from a floor above its own;
* a methods module (pure functions of DataFrames) imports a loading module
  (one that reads or writes files: :data:`LOADING_FLOORS`, ``paths``, ``atomic``);
* any import (of ``analysis`` or of a library) sits inside a function or a class
  (a hidden dependency);
* a methods module calls the disk: ``open``, ``read_parquet``, ``read_csv``…,
  ``to_parquet``, or ``to_csv``/``to_excel`` given a path (:func:`disk_calls_in`);
* a module other than ``keys`` spells a national code (``"FR"``, ``"FRM"``);
* a module is on no floor: a new module is classified here, deliberately, by
  adding one line to :data:`FLOORS`.

Known violations in modules other helpers are splitting are listed in
:data:`KNOWN_VIOLATIONS`, each with its reason; they are expected to fail
(strict xfail) and the entry goes when the module is fixed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "src" / "analysis"

FLOOR_ORDER: tuple[str, ...] = (
    "ground",  # shared constants, paths, words, hashes: imports no other floor
    "intake",  # the catalogue, fetching, one reader per raw file
    "build",  # processed tables: backbone, registry, cooperation, indicators, the build order
    "methods",  # pure functions of DataFrames: never a file, never a loading module
    "analysis input",  # datasets: loads processed tables and assembles them through the methods
    "show",  # figures, maps, gallery
    "publish",  # reports: configuration, execution, site
    "entry",  # the ptce command
)
"""Floors, lowest first. ``datasets`` sits above the methods because it assembles
analysis tables with them (``compute_resilience`` = load the panel, detect the
window, compute the indices); the methods never see it."""

FLOORS: dict[str, str] = {
    # A package name ("loaders", "cli", "reports") covers its submodules.
    "__init__": "ground",
    "paths": "ground",
    "keys": "ground",
    "hashing": "ground",
    "labels": "ground",
    "periods": "ground",  # period labels: parsed, ordered, written (loaders and methods share it)
    "checks": "ground",
    "atomic": "ground",
    "problems": "ground",
    "exports": "ground",  # CSV/XLSX for people; imports only atomic
    "sources": "intake",
    "loaders": "intake",
    "territories": "build",
    "registry": "build",
    "geocoding": "build",
    "cooperation": "build",
    "indicators": "build",
    "build": "build",
    "resilience": "methods",
    "multiplicity": "methods",
    "models": "methods",
    "report_content": "methods",  # pure helpers of report content; datasets feeds them
    "fiche_content": "methods",  # pure tables of a territory's fiche
    "estimation": "methods",
    "staggered": "methods",
    "synthetic_control": "methods",
    "dose_response": "methods",
    "datasets": "analysis input",
    "figures": "show",
    "maps": "show",
    "gallery": "show",
    "reports": "publish",
    "reports.config": "publish",  # the batch file, notebook parameters, validation
    "reports.execute": "publish",  # cache keys, worker pool, lock, run_batch
    "reports.worker": "publish",  # one run, inside a worker process
    "reports.site": "publish",  # index page (the answer), runs.html and gallery
    "reports.pages": "publish",  # a report page as a reader sees it
    "reports.kernels": "publish",  # warm kernels reused across the runs of a worker
    "reports.words": "publish",  # words of the site and report prose (words.toml)
    "reports.check": "publish",  # make report-check: page checks, headless Chromium
    "reports.evidence": "publish",  # reports/evidence.csv: primary rows + adjusted p-values
    "reports.pdf": "publish",  # fiches printed to A4 PDF (headless Chromium)
    "reports.fiches": "publish",  # one fiche on demand (ptce fiche)
    "cli": "entry",
    "__main__": "entry",
}

LOADING_FLOORS: frozenset[str] = frozenset({"intake", "build", "analysis input"})
"""Floors whose modules read or write files; a methods module imports none of them."""

LOADING_GROUND: frozenset[str] = frozenset({"paths", "atomic"})
"""Ground modules that touch the disk (folders, atomic writes)."""

KNOWN_VIOLATIONS: dict[tuple[str, str, str], str] = {}


@dataclass(frozen=True)
class Violation:
    module: str
    rule: str  # "upward", "loads" or "in function"
    imported: str  # an analysis module (relative name), or a library for "in function"
    line: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.module, self.rule, _top(self.imported))


def _module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


MODULES = _module_names()


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (PACKAGE_DIR / relative).with_suffix(".py").exists() or (
        PACKAGE_DIR / relative / "__init__.py"
    ).exists()


def _top(name: str) -> str:
    """The key of :data:`FLOORS` that classifies a module (itself or its package)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in FLOORS:
            return candidate
    return name


def floor_of(name: str) -> str | None:
    return FLOORS.get(_top(name))


def _source_path(name: str) -> Path:
    relative = Path(*name.split("."))
    package = PACKAGE_DIR / relative / "__init__.py"
    return package if package.exists() else (PACKAGE_DIR / relative).with_suffix(".py")


def _imported_modules(node: ast.Import | ast.ImportFrom, importer: str) -> list[str]:
    """The ``analysis`` modules an import statement reaches (names relative to the package)."""
    if isinstance(node, ast.Import):
        return [
            alias.name.removeprefix("analysis.")
            for alias in node.names
            if alias.name.startswith("analysis.")
        ]
    if node.level:  # relative: resolve against the importer's package
        package = importer.split(".")[: -node.level] if importer != "__init__" else []
        base = ".".join([*package, *(node.module.split(".") if node.module else [])])
    elif node.module == "analysis" or (node.module or "").startswith("analysis."):
        base = node.module.removeprefix("analysis").removeprefix(".")
    else:
        return []
    found = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}" if base else alias.name
        if _is_module(candidate):
            found.append(candidate)
        else:
            found.append(base or "__init__")
    return found


def _library_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    """What an import statement of something other than ``analysis`` names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return ["." * node.level + (node.module or "")]


def violations_of(name: str) -> list[Violation]:
    tree = ast.parse(_source_path(name).read_text(encoding="utf-8"))
    own = floor_of(name)
    found: list[Violation] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                reached = _imported_modules(child, name)
                if nested:
                    for imported in reached or _library_names(child):
                        found.append(Violation(name, "in function", imported, child.lineno))
                for imported in reached:
                    floor = floor_of(imported)
                    if floor is not None and FLOOR_ORDER.index(floor) > FLOOR_ORDER.index(own):
                        found.append(Violation(name, "upward", imported, child.lineno))
                    if own == "methods" and (
                        floor in LOADING_FLOORS or _top(imported) in LOADING_GROUND
                    ):
                        found.append(Violation(name, "loads", imported, child.lineno))
            inner = nested or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
            )
            visit(child, inner)

    visit(tree, False)
    return found


def test_every_module_is_on_a_floor():
    unknown = [name for name in MODULES if floor_of(name) is None]
    assert not unknown, (
        f"modules on no floor: {unknown}. Add one line per module to FLOORS in "
        f"{Path(__file__).name} ({', '.join(FLOOR_ORDER)})."
    )


def test_floors_are_known():
    assert set(FLOORS.values()) <= set(FLOOR_ORDER)


@pytest.mark.parametrize("name", MODULES)
def test_imports_run_down_and_methods_never_load(name):
    if floor_of(name) is None:
        pytest.skip("unclassified: see test_every_module_is_on_a_floor")
    broken = [v for v in violations_of(name) if v.key not in KNOWN_VIOLATIONS]
    assert not broken, "\n".join(
        f"{v.module}:{v.line} imports {v.imported} ({v.rule}: "
        + {
            "upward": f"{floor_of(v.imported)} is above {floor_of(v.module)}",
            "loads": "a methods module never imports a loading module",
            "in function": "imports sit at the top of the module",
        }[v.rule]
        + ")"
        for v in broken
    )


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(key, marks=pytest.mark.xfail(strict=True, reason=reason), id="-".join(key))
        for key, reason in KNOWN_VIOLATIONS.items()
    ],
)
def test_known_violation_is_gone(key):
    module = key[0]
    present = {v.key for name in MODULES if _top(name) == module for v in violations_of(name)}
    assert key not in present, f"still there: {key}"


def test_the_checker_sees_what_it_must(tmp_path, monkeypatch):
    # A methods module that loads, reaches up and hides imports (of analysis or of a library,
    # in a function or a class): all are caught.
    source = (
        "from analysis import indicators\n"
        "from analysis.figures import save_figure\n"
        "import json\n"
        "def f():\n"
        "    from analysis import paths\n"
        "    import numpy as np\n"
        "class C:\n"
        "    from scipy import stats\n"
    )
    (tmp_path / "models.py").write_text(source, encoding="utf-8")
    (tmp_path / "indicators.py").write_text("", encoding="utf-8")
    (tmp_path / "figures.py").write_text("", encoding="utf-8")
    (tmp_path / "paths.py").write_text("", encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.PACKAGE_DIR", tmp_path)
    rules = {(v.rule, v.imported) for v in violations_of("models")}
    assert rules == {
        ("loads", "indicators"),
        ("upward", "figures"),
        ("in function", "paths"),
        ("loads", "paths"),
        ("in function", "numpy"),
        ("in function", "scipy"),
    }


NATIONAL_LITERALS = frozenset({"FR", "FRM"})
"""The national codes: spelled once, in :mod:`analysis.keys` (FRANCE_CODE, METROPOLE_CODE)."""


def national_literals_in(source: str) -> list[int]:
    """Lines of ``source`` where a national code is written as a string literal."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and node.value in NATIONAL_LITERALS
    ]


@pytest.mark.parametrize("name", [name for name in MODULES if name != "keys"])
def test_national_codes_come_from_keys(name):
    lines = national_literals_in(_source_path(name).read_text(encoding="utf-8"))
    assert not lines, f"{name}: lines {lines} spell 'FR'/'FRM'; import them from analysis.keys"


def test_the_national_code_check_sees_a_literal():
    assert national_literals_in('x = "FR"\ny = {"M": "FRM"}\n"""Docs may say "FR"."""\n') == [1, 2]


DISK_CALLS: frozenset[str] = frozenset(
    {
        "open",
        "read_parquet",
        "read_csv",
        "read_excel",
        "read_file",
        "read_feather",
        "read_text",
        "read_bytes",
        "to_parquet",
        "to_feather",
        "to_file",
        "write_text",
        "write_bytes",
        "savefig",
    }
)
"""Calls that read or write a file whatever their arguments (``open(…)``, ``x.read_csv(…)``…)."""

PATH_WRITERS: frozenset[str] = frozenset({"to_csv", "to_excel"})
"""Calls that write a file when given a path (a bare ``frame.to_csv()`` returns text)."""

PATH_KEYWORDS: frozenset[str] = frozenset({"path_or_buf", "excel_writer"})


def disk_calls_in(source: str) -> list[tuple[int, str]]:
    """(line, call) of every call in ``source`` that touches the disk."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        called = (
            function.id
            if isinstance(function, ast.Name)
            else function.attr
            if isinstance(function, ast.Attribute)
            else None
        )
        with_path = bool(node.args) or any(k.arg in PATH_KEYWORDS for k in node.keywords)
        if called in DISK_CALLS or (called in PATH_WRITERS and with_path):
            found.append((node.lineno, called))
    return sorted(found)


@pytest.mark.parametrize("name", [name for name in MODULES if floor_of(name) == "methods"])
def test_methods_never_touch_the_disk(name):
    calls = disk_calls_in(_source_path(name).read_text(encoding="utf-8"))
    assert not calls, (
        f"{name} (methods floor) touches the disk at {calls}: take and return DataFrames; "
        "reading and writing belong to datasets, figures or reports"
    )


def test_the_disk_check_sees_reads_and_writes():
    source = (
        "import pandas as pd\n"
        "frame = pd.read_parquet('x.parquet')\n"
        "with open('y.txt') as f:\n"
        "    pass\n"
        "frame.to_csv('out.csv')\n"
        "frame.to_excel(excel_writer='out.xlsx')\n"
        "text = frame.to_csv()\n"  # a string, not a file: allowed
        "frame.to_parquet(buffer)\n"
    )
    assert disk_calls_in(source) == [
        (2, "read_parquet"),
        (3, "open"),
        (5, "to_csv"),
        (6, "to_excel"),
        (8, "to_parquet"),
    ]
