"""The catalogue and the verified fetch into data/raw."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import re
import threading
from pathlib import Path

import pytest

from analysis import sources


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
    by_file = {s.file: s for s in catalogue.values() if not s.optional}  # optional: not mirrored
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
