"""Issue 15, build side: nothing corrupt is trusted, caches recover, read-only trees, one build.

Each test reproduces one numbered case of issue 15 on a scratch ``PTCE_DATA_DIR``
and asserts the new behaviour: a clear message naming the file and the fix, the
exit code, nothing lost.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis import atomic, build, cooperation, paths, sources, territories
from analysis import indicators as ind
from analysis.cli import app

runner = CliRunner()


def _says(output: str, *expected: str) -> bool:
    """Whether console output holds every expected text, whatever rich's line wrapping."""
    squashed = "".join(output.split())
    return all("".join(text.split()) in squashed for text in expected)


@pytest.fixture()
def toy(tmp_path, monkeypatch):
    """Two steps of a throwaway module over one synthetic raw source, in a scratch data tree.

    Step ``a`` writes a Parquet table from the raw file and accepts ``force``; step ``b``
    (after ``a``) writes a text file. ``module.CALLS`` records each call with its force.
    """
    data = tmp_path / "data"
    monkeypatch.setenv("PTCE_DATA_DIR", str(data))
    content = b"code,value\n01001,1\n01002,2\n"
    catalogue_file = tmp_path / "sources.toml"
    catalogue_file.write_text(
        textwrap.dedent(
            f"""
            [toy_raw]
            title = "Toy raw file"
            publisher = "tests"
            file = "toy.csv"
            sha256 = "{hashlib.sha256(content).hexdigest()}"
            licence = "CC0"
            landing_page = "https://example.invalid/"
            obtain = "from the test mirror"
            citation_fr = "Test"
            citation_en = "Test"
            """
        )
    )
    monkeypatch.setattr(paths, "SOURCES_CATALOGUE", catalogue_file)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "toy.csv").write_bytes(content)
    sources.fetch_source(sources.get_source("toy_raw"), mirror)

    module_file = tmp_path / "toy_integrity_module.py"
    module_file.write_text(
        textwrap.dedent(
            """
            import pandas as pd
            from analysis import paths, sources
            from analysis.atomic import write_parquet_atomically
            INPUT_SOURCES = ("toy_raw",)
            CALLS = []
            def make_a(force=False):
                CALLS.append(("a", force))
                frame = pd.read_csv(sources.require_raw("toy_raw"), dtype=str)
                write_parquet_atomically(frame, paths.processed_dir() / "a.parquet")
            def make_b():
                CALLS.append(("b", None))
                (paths.processed_dir() / "b.txt").write_text("b")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("toy_integrity_module", None)
    import toy_integrity_module  # noqa: F401  (registered in sys.modules for the steps)

    steps = {
        "a": build.Step(
            "a", "toy_integrity_module", "make_a", (), lambda: [paths.processed_dir() / "a.parquet"]
        ),
        "b": build.Step(
            "b", "toy_integrity_module", "make_b", ("a",), lambda: [paths.processed_dir() / "b.txt"]
        ),
    }
    monkeypatch.setattr(build, "STEPS", steps)
    yield sys.modules["toy_integrity_module"]
    sys.modules.pop("toy_integrity_module", None)


def _run(*args: str):
    return runner.invoke(app, list(args))


# --------------------------------------------------------------------------- case 1


def test_case1_outputs_recorded_with_sha256_and_rows(toy):
    build.build_all()
    recorded = build.read_state()["a"]["outputs"]["a.parquet"]
    table = paths.processed_dir() / "a.parquet"
    assert recorded["sha256"] == hashlib.sha256(table.read_bytes()).hexdigest()
    assert recorded["rows"] == 2 and recorded["size"] == table.stat().st_size
    assert build.read_state()["b"]["outputs"]["b.txt"]["rows"] is None  # not a table


def test_case1_truncated_output_is_rebuilt_and_says_why(toy):
    build.build_all()
    table = paths.processed_dir() / "a.parquet"
    good = table.read_bytes()
    with open(table, "r+b") as handle:
        handle.truncate(100)
    seen: list[tuple[str, str]] = []
    build.build_all(report=lambda name, state, _: seen.append((name, state)))
    assert seen[0][0] == "a" and seen[0][1].startswith("rebuilding: a.parquet changed size")
    assert ("a", "built") in seen
    assert table.read_bytes() == good, "the table is rebuilt whole"
    # an edit that keeps the size is caught by the sha256
    flipped = bytearray(good)
    flipped[len(flipped) // 2] ^= 0xFF
    table.write_bytes(bytes(flipped))
    seen.clear()
    build.build_all(report=lambda name, state, _: seen.append((name, state)))
    assert "does not match the sha256" in seen[0][1]
    assert table.read_bytes() == good


def test_case1_cli_rebuild_message_and_force_reaches_step(toy):
    assert _run("data", "build").exit_code == 0
    (paths.processed_dir() / "a.parquet").write_bytes(b"PAR1 garbage")
    result = _run("data", "build")
    assert result.exit_code == 0, result.output
    assert _says(result.output, "a: rebuilding: a.parquet changed size")
    toy.CALLS.clear()
    result = _run("data", "build", "--step", "a", "--force")
    assert result.exit_code == 0, result.output
    assert toy.CALLS == [("a", True)], "--force is passed to the step function"
    toy.CALLS.clear()
    result = _run("data", "build", "--step", "b", "--force")
    assert result.exit_code == 0, result.output
    assert toy.CALLS == [("b", None)], "the forced step only: its up-to-date dependency is kept"


def test_case1_truncated_processed_table_gives_clean_error(tmp_path, monkeypatch):
    """A consumer meeting a damaged table names it and says `ptce data build` (no traceback)."""
    monkeypatch.setenv("PTCE_DATA_DIR", str(tmp_path))
    frame = pd.DataFrame({"commune_code": ["61001"], "commune_name": ["Alençon"]})
    communes = paths.communes_table()
    atomic.write_parquet_atomically(frame, communes)
    with open(communes, "r+b") as handle:
        handle.truncate(communes.stat().st_size // 2)
    with pytest.raises(atomic.ProcessedDataError, match="ptce data build") as error:
        atomic.read_processed_parquet(communes, "the communes table")
    assert str(communes) in str(error.value)
    result = _run("territories", "show", "61001")
    assert result.exit_code == 2  # the lookup commands' code for a table they cannot use
    assert "Traceback" not in result.output
    assert _says(result.output, str(paths.communes_table()), "run `ptce data build`")


def _truncated_table(path: Path) -> Path:
    """A small Parquet table cut in half, as a killed copy leaves it."""
    frame = pd.DataFrame({"territory_code": ["61"], "territory_name": ["Orne"]})
    atomic.write_parquet_atomically(frame, path)
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)
    return path


def test_case1_fiche_on_a_truncated_layer_is_a_clean_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PTCE_DATA_DIR", str(tmp_path))
    layer = _truncated_table(paths.territory_layer("dep"))
    out = tmp_path / "fiche"
    result = _run("fiche", "--level", "dep", "--code", "61", "--out", str(out), "--no-pdf")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "ProcessedDataError" not in result.output
    assert _says(result.output, str(layer), "cannot be read", "run `ptce data build`")
    assert not (out / "territory_fiche.ipynb").exists()


def test_case1_registry_check_on_a_truncated_backbone_says_it_once(tmp_path, monkeypatch):
    monkeypatch.setenv("PTCE_DATA_DIR", str(tmp_path))
    communes = _truncated_table(paths.communes_table())
    registry_file = tmp_path / "r.csv"
    registry_file.write_text(
        "initiative_id,name,kind,wave,source_url,dep_code\na,A,ptce,w1,https://e.org,61\n",
        encoding="utf-8",
    )
    result = _run("registry", "check", str(registry_file))
    assert result.exit_code == 2, result.output
    assert _says(result.output, str(communes), "run `ptce data build`")
    assert "Build the territories first" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


# --------------------------------------------------------------------------- case 2


@pytest.mark.integration
def test_case2_unreadable_cached_part_is_rebuilt(raw_data, tmp_path, monkeypatch):
    (tmp_path / "raw").symlink_to(sources.raw_path("insee_itdd").parents[1])
    monkeypatch.setenv("PTCE_DATA_DIR", str(tmp_path))
    communes = pd.DataFrame({"commune_code": ["01001"], "dep_code": ["01"]})
    parts = [p for p in ind.PARTS if p.name == "itdd"]
    context = ind.BuildContext(communes_loader=lambda: communes)
    ind.build_indicators(context=context, parts=parts)
    expected = ind.load_indicators()
    part_file = ind.parts_dir() / "itdd.parquet"
    with open(part_file, "r+b") as handle:
        handle.truncate(part_file.stat().st_size // 2)
    paths.indicators_table().unlink()
    messages: list[str] = []
    ind.build_indicators(context=context, parts=parts, log=messages.append)
    assert any("itdd: cached file unreadable" in m and "rebuilding" in m for m in messages)
    assert any(m.startswith("indicators part itdd: built") for m in messages)
    pd.testing.assert_frame_equal(ind.load_indicators(), expected)


def test_case2_a_step_s_own_rebuild_note_reaches_the_cli(toy, monkeypatch):
    """``build_indicators(log=…)`` says when it rebuilds an unreadable cached part: shown."""
    original = toy.make_a

    def make_a_with_notes(force=False, log=None):
        log("rebuilding toy part a1: cached file unreadable (ArrowInvalid: truncated)")
        log("toy part a1: built, 2 rows (0.0 s)")
        original(force=force)

    monkeypatch.setattr(toy, "make_a", make_a_with_notes)
    result = _run("data", "build")
    assert result.exit_code == 0, result.output
    assert _says(result.output, "! a: rebuilding toy part a1: cached file unreadable")
    assert _says(result.output, "toy part a1: built, 2 rows", "✓ a: built")
    seen: list[tuple[str, str]] = []
    build.build_all(force=True, report=lambda name, state, _: seen.append((name, state)))
    assert ("a", "rebuilding toy part a1: cached file unreadable (ArrowInvalid: truncated)") in seen


# --------------------------------------------------------------------------- case 7


def _tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


def _read_only(monkeypatch) -> None:
    """Make opening the build lock fail as on a read-only mount (root ignores chmod)."""

    def refuse(*_args, **_kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(build, "open", refuse, raising=False)


def test_case7_read_only_tree_works_when_nothing_to_build(toy, monkeypatch):
    build.build_all()
    (paths.processed_dir() / ".build.lock").unlink()
    before = _tree(paths.data_dir())
    _read_only(monkeypatch)
    result = _run("data", "build")
    assert result.exit_code == 0, result.output
    assert "a: up to date" in result.output and "b: up to date" in result.output
    assert _tree(paths.data_dir()) == before, "a pure check writes nothing, not even a lock"


def test_case7_read_only_tree_fails_clearly_when_something_to_build(toy, monkeypatch):
    build.build_all()
    (paths.processed_dir() / "b.txt").unlink()
    _read_only(monkeypatch)
    result = _run("data", "build")
    assert result.exit_code == 1
    assert _says(result.output, "Read-only file system", str(paths.processed_dir()))
    assert _says(result.output, "PTCE_DATA_DIR") and "Traceback" not in result.output


# --------------------------------------------------------------------------- case 9


def test_case9_edited_raw_file_stops_the_build(toy):
    build.build_all()
    source = sources.get_source("toy_raw")
    os.chmod(source.raw_path, 0o644)
    source.raw_path.write_bytes(b"code,value\n01001,9\n01002,2\n")  # same size, new bytes
    edited = hashlib.sha256(source.raw_path.read_bytes()).hexdigest()
    with pytest.raises(sources.ChecksumMismatchError) as error:
        build.build_all()
    message = str(error.value)
    assert str(source.raw_path) in message
    assert source.sha256 in message and edited in message
    assert "ptce data fetch --only toy_raw" in message
    result = _run("data", "build")
    assert result.exit_code == 1 and _says(result.output, "ptce data fetch --only toy_raw")
    status = _run("data", "status")
    assert status.exit_code == 1 and "corrupt" in status.output


def test_case9_raw_checks_use_size_and_mtime_then_sha256(toy, monkeypatch):
    source = sources.get_source("toy_raw")
    assert sources.source_status(source) is sources.Status.PRESENT
    checks = json.loads((paths.processed_dir() / ".raw_checks.json").read_text())
    assert checks["toy_raw/toy.csv"]["sha256"] == source.sha256
    hashed: list[Path] = []
    real = sources.sha256_file
    monkeypatch.setattr(sources, "sha256_file", lambda p: hashed.append(p) or real(p))
    assert sources.source_status(source) is sources.Status.PRESENT
    assert hashed == [], "unchanged size and mtime: the recorded sha256 is reused"
    os.utime(source.raw_path, ns=(time.time_ns(), time.time_ns()))
    assert sources.source_status(source) is sources.Status.PRESENT
    assert hashed == [source.raw_path], "a changed mtime re-hashes the file"


# --------------------------------------------------------------------------- case 14


def test_case14_second_build_waits_with_a_message(toy, tmp_path):
    build.build_all()
    (paths.processed_dir() / "b.txt").unlink()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from analysis import build\n"
            "with build._build_lock():\n"
            "    print('locked', flush=True)\n"
            "    time.sleep(1.5)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PTCE_DATA_DIR": str(paths.data_dir())},
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        result = _run("data", "build")
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert result.exit_code == 0, result.output
    assert f"another build is running (pid {holder.pid}), waiting…" in result.output
    assert waited > 0.5 and "b: built" in result.output


def test_lock_file_is_left_empty_after_a_build(toy):
    build.build_all()
    assert (paths.processed_dir() / ".build.lock").read_text() == ""


@pytest.mark.parametrize(
    ("table", "load"),
    [
        (paths.indicators_table, lambda: ind.load_indicators()),
        (lambda: paths.territory_layer("dep"), lambda: territories.load_territories("dep")),
        (paths.cooperation_table, lambda: cooperation.load_cooperation()),
    ],
    ids=["indicators", "territory-layer", "cooperation"],
)
def test_case1_consumers_name_the_damaged_table(table, load, tmp_path, monkeypatch):
    monkeypatch.setenv("PTCE_DATA_DIR", str(tmp_path))
    target = table()
    atomic.write_parquet_atomically(pd.DataFrame({"level": ["dep"], "code": ["61"]}), target)
    with open(target, "r+b") as handle:
        handle.truncate(target.stat().st_size - 8)  # the footer is gone
    with pytest.raises(atomic.ProcessedDataError, match="run `ptce data build`") as error:
        load()
    assert error.value.path == target
