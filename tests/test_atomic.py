"""Atomic writers leave the old file intact when writing fails."""

import pandas as pd
import pytest

from analysis import atomic


def test_failed_write_keeps_old_content_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")

    def broken(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic.write_atomically(target, broken)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_parquet_and_csv_round_trip(tmp_path):
    frame = pd.DataFrame({"commune_code": ["01001", "2A004"], "population": [832, 67_000]})
    atomic.write_parquet_atomically(frame, tmp_path / "sub" / "t.parquet")
    atomic.write_csv_atomically(frame, tmp_path / "t.csv")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "sub" / "t.parquet"), frame)
    assert pd.read_csv(tmp_path / "t.csv", dtype=str)["commune_code"].tolist() == ["01001", "2A004"]
