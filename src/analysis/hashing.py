"""One content-hash helper for every cache (build steps, indicator parts, reports)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CHUNK_BYTES = 1 << 20


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(content: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(content).hexdigest()


def sha256_text(text: str) -> str:
    """Hex sha256 of a text (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_json(value: Any) -> str:
    """Hex sha256 of a JSON-serialisable value, keys sorted (stable across runs)."""
    return sha256_text(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False))


def sha256_files(files: Iterable[Path], *, root: Path | None = None) -> str:
    """One hex sha256 over several files: their names (relative to ``root``) and contents."""
    digest = hashlib.sha256()
    for file in sorted(Path(f) for f in files):
        name = file.relative_to(root).as_posix() if root is not None else file.as_posix()
        digest.update(f"{name}\0{sha256_file(file)}\n".encode())
    return digest.hexdigest()
