"""The project's shape: environment files agree, README is true, CLI entry points work."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tomllib

import pytest
import yaml
from typer.testing import CliRunner

from analysis import paths, sources
from analysis.cli import app

ROOT = paths.PROJECT_ROOT
runner = CliRunner()


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_installs_the_project_and_agrees_with_pyproject():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    dependencies = environment["dependencies"]
    python = [d for d in dependencies if isinstance(d, str) and d.startswith("python")]
    assert python == ["python=3.11"]
    pip_section = next(d["pip"] for d in dependencies if isinstance(d, dict) and "pip" in d)
    assert any(re.fullmatch(r'-e "?\.\[dev\]"?', line) for line in pip_section), (
        "environment.yml must install the project itself, from pyproject.toml"
    )
    declared = {_name(r) for r in _pyproject()["project"]["dependencies"]}
    declared |= {_name(r) for r in _pyproject()["project"]["optional-dependencies"]["dev"]}
    listed_twice = [
        _name(d) for d in dependencies if isinstance(d, str) and _name(d) not in {"python", "pip"}
    ] + [_name(line) for line in pip_section if not line.startswith("-e")]
    for name in listed_twice:
        assert name in declared, f"environment.yml lists {name}, which pyproject.toml lacks"


def test_dependencies_have_lower_bounds():
    for requirement in _pyproject()["project"]["dependencies"]:
        assert ">=" in requirement, f"{requirement}: pin a lower bound"


def test_readme_sources_table_matches_catalogue():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- sources-table:start -->")[1].split("<!-- sources-table:end -->")[0]
    assert block.strip() == sources.markdown_table().strip(), (
        "README's sources table is stale: paste the output of `ptce data sources-table`"
    )


def test_readme_first_commands_are_make_targets():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make report", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    for target in ("report", "test", "setup", "data", "bench", "deck", "lab", "help"):
        assert re.search(rf"^{target}:.*## ", makefile, re.M), (
            f"make {target} missing or undocumented"
        )


def test_data_folders_stay_out_of_git():
    ignored = (ROOT / ".gitignore").read_text()
    for folder in ("/data/raw/*", "/data/processed/*", "/reports/*"):
        assert folder in ignored


def test_cli_lists_command_groups():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("data", "registry", "indicators", "resilience", "report", "deck"):
        assert group in result.output


def test_python_dash_m_analysis_runs():
    result = subprocess.run(
        [sys.executable, "-m", "analysis", "data", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "fetch" in result.stdout


def test_fetch_unknown_source_is_a_clear_error():
    result = runner.invoke(app, ["data", "fetch", "--only", "nope"])
    assert result.exit_code == 2
    assert "unknown source id 'nope'" in result.output


@pytest.mark.integration
def test_fetch_whole_catalogue_from_real_mirror(mirror, tmp_path, monkeypatch):
    """`ptce data fetch` brings every source in, verified, in under a minute; twice is a no-op."""
    monkeypatch.setenv("PTCE_DATA_DIR", str(tmp_path / "data"))
    started = time.perf_counter()
    first = runner.invoke(app, ["data", "fetch", "--mirror", str(mirror)])
    elapsed = time.perf_counter() - started
    assert first.exit_code == 0, first.output
    catalogue = sources.load_catalogue()
    # an optional source the mirror does not hold stays "optional, not present"
    held = [s for s in catalogue.values() if not s.optional or (mirror / s.file).exists()]
    assert f"{len(held)} fetched, 0 already present, 0 failed" in first.output
    assert all(sources.source_status(s) is sources.Status.PRESENT for s in held)
    assert elapsed < 60
    second = runner.invoke(app, ["data", "fetch", "--mirror", str(mirror)])
    assert second.exit_code == 0
    assert "Nothing to do" in second.output
    status = runner.invoke(app, ["data", "status"])
    assert (
        status.exit_code == 0 and "missing" not in status.output and "corrupt" not in status.output
    )
