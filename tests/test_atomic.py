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


def test_processed_reads_are_remembered_copied_and_renewed_when_the_file_changes(tmp_path):
    atomic.forget_reads()
    target = tmp_path / "table.parquet"
    atomic.write_parquet_atomically(pd.DataFrame({"a": [1, 2]}), target)
    first = atomic.read_processed_parquet(target, "a test table")
    first.loc[0, "a"] = 99  # a caller changing its copy…
    second = atomic.read_processed_parquet(target, "a test table")
    assert second["a"].tolist() == [1, 2]  # …changes nobody else's
    assert second is not first
    # the same file read again comes from memory, not from the disk
    reads = []

    def counting_reader(path, **kwargs):
        reads.append(path)
        return pd.read_parquet(path, **kwargs)

    for _ in range(3):
        assert atomic.read_processed_parquet(target, "a test", counting_reader)["a"].sum() == 3
    assert len(reads) == 1
    # a rebuilt table (a new file renamed over the old one) is read afresh
    atomic.write_parquet_atomically(pd.DataFrame({"a": [3]}), target)
    assert atomic.read_processed_parquet(target, "a test table")["a"].tolist() == [3]
    # other arguments are another read
    columns = atomic.read_processed_parquet(target, "a test table", columns=["a"])
    assert columns.columns.tolist() == ["a"]
    atomic.forget_reads()
