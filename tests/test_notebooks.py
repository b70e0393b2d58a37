"""The report notebooks: thin, parametrised, valid against the batch, run on the real data."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from analysis import paths, reports

NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = {
    "territorial_overview",
    "shock_resilience",
    "cooperation_and_resilience",
    "territory_fiche",
    "registry_quality",
    "staggered_adoption",
    "dose_response",
    "synthetic_control",
}
NOT_YET_IN_BATCH: set[str] = set()
"""Notebooks written before their runs join config/reports.yml (checked for shape only)."""
PARAMETERS_IN_EVERY_NOTEBOOK = {"level", "registry_path", "lang", "output_dir"}
PARAMETERS_BY_NOTEBOOK = {
    "shock_resilience": {"shock", "indicator"},
    "cooperation_and_resilience": {"shock", "indicator", "fast"},
    "territory_fiche": {"territory_code"},
    "territorial_overview": {"indicator"},
    "staggered_adoption": {"indicator", "treatment", "estimator", "control_group", "start"},
    "dose_response": {"shock", "indicator", "outcome", "doses", "cluster", "fast"},
    "synthetic_control": {"indicator", "treatment", "treatment_period", "start", "end", "fast"},
}
FORBIDDEN_CALLS = {"read_csv", "read_parquet", "read_excel", "read_file", "open", "require_raw"}


def _code(notebook) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_the_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} == EXPECTED | NOT_YET_IN_BATCH


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin_stripped_and_documented(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    for heading in ("**Question.**", "**Entrées.**", "**Sorties**"):
        assert heading in first.source, f"{path.name}: first cell must state {heading}"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs"
    tree = ast.parse("\n".join(_code(notebook)))
    definitions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert not definitions, f"{path.name}: move {[d.name for d in definitions]} to analysis.*"
    called = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not called & FORBIDDEN_CALLS, (
        f"{path.name} reads files itself: {called & FORBIDDEN_CALLS}"
    )
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    # IPython.display: prose and tables shown as Markdown and HTML, not as printed output
    assert imported <= {"analysis", "matplotlib", "IPython"}, f"{path.name} imports {imported}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_typed_and_complete(path):
    declared = reports.read_notebook_parameters(path)
    expected = PARAMETERS_IN_EVERY_NOTEBOOK | PARAMETERS_BY_NOTEBOOK.get(path.stem, set())
    assert expected <= set(declared), f"{path.name} lacks {expected - set(declared)}"
    untyped = [p.name for p in declared.values() if p.type_name == "any"]
    assert not untyped
    assert declared["lang"].default == "fr" and declared["output_dir"].default == ""
    source = next(
        c.source
        for c in nbformat.read(path, as_version=4).cells
        if "parameters" in c.metadata.get("tags", [])
    )
    assert all(": " in line.split("=")[0] for line in source.splitlines() if line.strip())


def test_config_runs_every_notebook_and_every_region_profile():
    runs = reports.load_report_config()
    assert {r.notebook for r in runs} == EXPECTED
    national = [r for r in runs if r.notebook in {"shock_resilience", "cooperation_and_resilience"}]
    assert {(r.notebook, r.parameters["shock"]) for r in national} == {
        (n, s)
        for n in ("shock_resilience", "cooperation_and_resilience")
        for s in ("recession_2008", "covid_2020")
    }
    # PTCE vs other territories at both levels the issue names, for both shocks.
    cooperation = {
        (r.parameters["level"], r.parameters["shock"])
        for r in runs
        if r.notebook == "cooperation_and_resilience"
    }
    assert cooperation == {
        (lv, s) for lv in ("ze2020", "dep") for s in ("recession_2008", "covid_2020")
    }
    # Employment: resilience at zone level, and the comparison for three treatments.
    employment = [r for r in runs if r.parameters.get("indicator") == "salaried_employment_sa"]
    assert ("shock_resilience", "ze2020", "covid_2020") in {
        (r.notebook, r.parameters["level"], r.parameters.get("shock")) for r in employment
    }
    assert {
        r.parameters["treatment"] for r in employment if r.notebook == "cooperation_and_resilience"
    } == {"is_ptce_territory", "is_ptce_before_shock", "is_tzcld_territory"}
    # Staggered adoption: PTCE and TZCLD x unemployment (zones, départements) and employment.
    staggered = {
        (r.parameters["treatment"], r.parameters["indicator"], r.parameters["level"])
        for r in runs
        if r.notebook == "staggered_adoption"
    }
    assert staggered == {
        (t, i, lv)
        for t in ("ptce", "tzcld")
        for i, lv in (
            ("unemployment_rate", "ze2020"),
            ("salaried_employment_sa", "ze2020"),
            ("unemployment_rate", "dep"),
        )
    }
    # Dose-response: every kind's density for both shocks; the ESS share by département.
    doses = [r for r in runs if r.notebook == "dose_response"]
    assert {r.parameters["shock"] for r in doses if not r.parameters.get("doses")} == {
        "recession_2008",
        "covid_2020",
    }
    assert [
        (r.parameters["level"], r.parameters["shock"])
        for r in doses
        if r.parameters.get("doses") == "ess_share_salaried_jobs_pct"
    ] == [("dep", "recession_2008")]
    assert [r.parameters["treatment_period"] for r in runs if r.notebook == "synthetic_control"]
    fiches = [r for r in runs if r.notebook == "territory_fiche"]
    assert {r.parameters["level"] for r in fiches} == {"reg", "dep"}  # the `fiches` rule


@pytest.mark.integration
def test_config_validates_against_notebooks_and_real_territory_codes(backbone):
    from analysis import territories

    runs = reports.load_report_config()
    resolved = reports.resolve_runs(runs)  # raises, listing every bad run
    fiches = {
        (r.parameters["level"], r.parameters["territory_code"])
        for r in resolved
        if r.run.notebook == "territory_fiche"
    }
    expected = {
        (level, code)
        for level in ("reg", "dep")
        for code in territories.load_territories(level, with_geometry=False)["territory_code"]
    }
    assert fiches == expected and len(fiches) == 119
    broken = [
        reports.ReportRun("x", "territory_fiche", {"level": "reg", "territory_code": "99"}),
        reports.ReportRun("y", "shock_resilience", {"shock": "covid_2021", "indicator": "chomage"}),
        reports.ReportRun("z", "territorial_overview", {"lang": "de", "registry_path": "nope.csv"}),
    ]
    with pytest.raises(reports.ReportConfigError) as caught:
        reports.resolve_runs(broken)
    message = str(caught.value)
    assert message.startswith("3 run(s) cannot execute")
    assert "x: territory_code '99' is not a reg code" in message
    assert "y: shock 'covid_2021' is unknown; known: covid_2020, recession_2008" in message
    assert "y: indicator 'chomage' is unknown" in message
    assert "z: lang 'de' is unknown" in message and "z: registry_path 'nope.csv'" in message


@pytest.fixture(scope="module")
def executed_reports(tmp_path_factory, backbone, indicators_built, cooperation_built):
    """One run per notebook (the first of each in config/reports.yml), fast, on the real data."""
    reports_dir = tmp_path_factory.mktemp("reports")
    runs = reports.load_report_config()
    first = {}
    for run in runs:
        first.setdefault(run.notebook, run)
    result = reports.run_batch(
        list(first.values()), jobs=2, overrides={"fast": True}, reports_dir=reports_dir
    )
    return reports_dir, result


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.xdist_group("real_reports")
def test_every_notebook_executes_on_the_real_data(executed_reports):
    reports_dir, result = executed_reports
    failures = {r["run"]: r["error"] for r in result.records if r["status"] != "ok"}
    assert not failures, failures
    assert {Path(r["notebook"]).stem for r in result.records} == EXPECTED
    for record in result.records:
        folder = reports_dir / record["run"]
        assert (folder / "report.html").stat().st_size > 10_000
        page = (folder / "report.html").read_text(encoding="utf-8")
        assert "Warning:" not in page, f"{record['run']}: a warning leaked into the report"
        figures = [f for f in record["files"] if f.endswith(".png") and ".slide." not in f]
        assert figures, f"{record['run']} saved no figure"
        assert any(f.endswith(".csv") for f in record["files"]), f"{record['run']} saved no table"
        assert record["inputs"] and record["cache_key"]
        executed = nbformat.read(folder / Path(record["notebook"]).name, as_version=4)
        errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
                  if o.output_type == "error"]  # fmt: skip
        assert not errors


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.xdist_group("real_reports")
def test_a_report_run_twice_gives_byte_identical_figures_and_tables(executed_reports):
    reports_dir, result = executed_reports
    record = next(r for r in result.records if Path(r["notebook"]).stem == "territory_fiche")
    folder = reports_dir / record["run"] / "figures"
    before = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    run = next(r for r in reports.load_report_config() if r.name == record["run"])
    again = reports.run_batch([run], force=True, overrides={"fast": True}, reports_dir=reports_dir)
    assert again.records[0]["status"] == "ok"
    after = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    assert set(before) == set(after)
    differing = sorted(name for name in before if before[name] != after[name])
    assert not differing, f"not reproducible: {differing}"
    rerun = json.loads((folder.parent / "run.json").read_text())
    assert rerun["parameters"] == record["parameters"] and rerun["rerun_reason"] == "--force"


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.xdist_group("real_reports")
def test_registry_quality_report_shows_the_role_of_local_authorities(executed_reports):
    """Issue 14 §3: per wave and per territory, PTCE with a local authority and its role."""
    reports_dir, result = executed_reports
    record = next(r for r in result.records if Path(r["notebook"]).stem == "registry_quality")
    folder = reports_dir / record["run"]
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "Le rôle des collectivités dans les PTCE" in page and "Collectivité porteuse" in page
    table = pd.read_csv(folder / "figures" / "local_authorities.csv", dtype={"territory_code": str})
    registry = pd.read_csv("data/registry/initiatives.csv", dtype=str)
    named = registry[(registry["kind"] == "ptce") & registry["local_authorities"].notna()]
    assert 0 < table["n_ptce_with_authority"].sum() <= len(named)
    assert table["territory_name"].notna().all()


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.xdist_group("real_reports")
def test_real_index_loads_in_chromium(executed_reports):
    from test_reports import CHROMIUM, check_index_in_chromium

    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium and chromium-driver")
    reports_dir, result = executed_reports
    configured = {r.name: r for r in reports.load_report_config()}
    reports.write_index([configured[r["run"]] for r in result.records], reports_dir)
    statuses = check_index_in_chromium(reports_dir)
    assert statuses["__images__"] >= len(result.records)
    for record in result.records:
        # 304: the browser revalidated a file it had already loaded (it exists)
        assert statuses[f"/{record['run']}/report.html"] in (200, 304)


def test_relative_registry_path_is_made_independent_of_the_run_folder():
    run = reports.ReportRun(
        "custom", "registry_quality", {"registry_path": "data/registry/initiatives.csv"}
    )
    (resolved,) = reports.resolve_runs([run], territory_codes=None)
    assert resolved.parameters["registry_path"] == str(paths.default_registry())
