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

Reads are remembered for the life of the process (:data:`READ_MEMO_SIZE` tables):
a batch worker's kernel makes 119 fiches from the same tables, and reading the
communes' geometries and the indicator panel again for each costs more than the
fiche itself. A remembered table is found again only while the file is the same
file (path, inode, size, modification time in nanoseconds: a rebuilt table is
written to a new file and renamed, so it is read afresh), and each caller gets
its own copy, so no caller sees another's changes.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

READ_ERRORS = (OSError, ValueError, pa.ArrowException)
"""What reading a damaged Parquet file raises (truncated: ``ArrowInvalid``; else ``OSError``)."""

READ_MEMO_SIZE = 24
"""Processed tables a process remembers (least recently used forgotten first)."""

_read_memo: OrderedDict[Hashable, Any] = OrderedDict()


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
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ProcessedDataError(path, what, "is missing") from None
    key = (
        str(path.resolve()),
        stat.st_ino,
        stat.st_size,
        stat.st_mtime_ns,
        reader,
        repr(sorted(kwargs.items())),
    )
    if key in _read_memo:
        _read_memo.move_to_end(key)
        return _own_copy(_read_memo[key])
    try:
        table = reader(path, **kwargs)
    except READ_ERRORS as error:
        raise ProcessedDataError(
            path, what, f"cannot be read ({type(error).__name__}: {error})"
        ) from error
    _read_memo[key] = table
    while len(_read_memo) > READ_MEMO_SIZE:
        _read_memo.popitem(last=False)
    return _own_copy(table)


def forget_reads() -> None:
    """Forget every remembered table (the next reads go to the files)."""
    _read_memo.clear()


def _own_copy(table: Any) -> Any:
    """A copy the caller may change (Arrow tables are immutable: shared as they are)."""
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pd.DataFrame):
        return table.copy(deep=True)
    return copy.deepcopy(table)
