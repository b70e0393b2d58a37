"""Atomic writes, and guarded reads of processed tables.

A file is either its old self or its complete new self, never half-written.

Every writer of the project goes through :func:`write_atomically`: the content is
written to a hidden temporary file in the target's folder, then renamed over the
target (``os.replace`` is atomic on one file system). On any error, including an
interruption, the temporary file is removed and the target is left untouched.

Every reader of a processed table goes through :func:`read_processed_parquet`:
a missing, truncated or otherwise unreadable table raises
:class:`ProcessedDataError`, whose message names the file and the fix (``ptce
data build``). It is a ``FileNotFoundError`` (the table the command needs is not
there in usable form), so every ``ptce`` command that already reports a missing
processed table prints it as one line, without a traceback.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa

READ_ERRORS = (OSError, ValueError, pa.ArrowException)
"""What reading a damaged Parquet file raises (truncated: ``ArrowInvalid``; else ``OSError``)."""


class ProcessedDataError(FileNotFoundError):
    """A processed table is missing or unreadable; the message names it and says how to rebuild."""

    def __init__(self, path: Path | str, what: str, reason: str) -> None:
        self.path = Path(path)
        super().__init__(
            f"{self.path} ({what}) {reason}: run `ptce data build` to rebuild it "
            "(`ptce data build --force` if it still fails)."
        )


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


def read_processed_parquet(
    path: Path | str,
    what: str,
    reader: Callable[..., pd.DataFrame] = pd.read_parquet,
    **kwargs,
) -> pd.DataFrame:
    """``reader(path, **kwargs)``, with a clear error when the table is missing or damaged.

    Args:
        path: the processed table.
        what: what the table is, in a few words ("the communes table").
        reader: the function that reads it (``pd.read_parquet``, ``gpd.read_parquet``…).

    Raises:
        ProcessedDataError: naming the file and the fix, when it is missing or unreadable.
    """
    path = Path(path)
    if not path.exists():
        raise ProcessedDataError(path, what, "is missing")
    try:
        return reader(path, **kwargs)
    except READ_ERRORS as error:
        raise ProcessedDataError(
            path, what, f"cannot be read ({type(error).__name__}: {error})"
        ) from error
