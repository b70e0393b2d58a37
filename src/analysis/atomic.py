"""Atomic writes: a file is either its old self or its complete new self, never half-written.

Every writer of the project goes through :func:`write_atomically`: the content is
written to a hidden temporary file in the target's folder, then renamed over the
target (``os.replace`` is atomic on one file system). On any error, including an
interruption, the temporary file is removed and the target is left untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def write_atomically(target: Path | str, write: Callable[[Path], None]) -> Path:
    """Call ``write(temporary_path)``, then move the result onto ``target``.

    Args:
        target: the final path; its folder is created when missing.
        write: writes the complete content to the path it is given.

    Returns:
        The target path.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    os.chmod(temporary, 0o644)  # mkstemp makes private files; outputs are shared
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def write_parquet_atomically(frame: pd.DataFrame, target: Path | str, **kwargs) -> Path:
    """Write a (Geo)DataFrame to Parquet atomically (GeoParquet for GeoDataFrames)."""
    kwargs.setdefault("index", False)
    return write_atomically(target, lambda path: frame.to_parquet(path, **kwargs))


def write_csv_atomically(frame: pd.DataFrame, target: Path | str, **kwargs) -> Path:
    """Write a DataFrame to CSV atomically."""
    kwargs.setdefault("index", False)
    return write_atomically(target, lambda path: frame.to_csv(path, **kwargs))


def write_text_atomically(text: str, target: Path | str) -> Path:
    """Write UTF-8 text atomically."""
    return write_atomically(target, lambda path: path.write_text(text, encoding="utf-8"))


def write_bytes_atomically(content: bytes, target: Path | str) -> Path:
    """Write bytes atomically."""
    return write_atomically(target, lambda path: path.write_bytes(content))
