"""Small input checks shared by every floor: a missing column fails loudly, naming what is there."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def require_columns(
    frame: pd.DataFrame, columns: Iterable[str], what: str, *, fix: str = ""
) -> None:
    """Raise when ``frame`` lacks any of ``columns``.

    Args:
        frame: The table to check.
        columns: Columns the caller needs.
        what: Who needs them (a function or file name), first in the message.
        fix: Optional sentence telling the user what to do, appended to the message.

    Raises:
        KeyError: naming the missing columns and every column present.
    """
    missing = [str(c) for c in columns if c not in frame.columns]
    if missing:
        message = (
            f"{what}: missing column(s) {', '.join(missing)}; "
            f"columns present: {', '.join(map(str, frame.columns))}."
        )
        raise KeyError(f"{message} {fix}".strip())
