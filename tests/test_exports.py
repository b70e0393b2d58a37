"""Tests of the shared table writer: formulas neutralised, real Excel, suffixes refused."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import exports


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
