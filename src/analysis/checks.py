"""Small input checks shared by every floor: missing columns named loudly; numbers in text cells."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def require_columns(
    frame: pd.DataFrame,
    columns: Iterable[str],
    what: str,
    *,
    fix: str = "",
    error: type[Exception] = KeyError,
) -> None:
    """Raise when ``frame`` lacks any of ``columns``.

    Args:
        frame: The table to check.
        columns: Columns the caller needs.
        what: Who needs them (a function or file name), first in the message.
        fix: Optional sentence telling the user what to do, appended to the message.
        error: The exception type raised (``ValueError`` for callers whose
            contract says a bad table is a bad value).

    Raises:
        KeyError: (or ``error``) naming the missing columns and every column present.
    """
    missing = [str(c) for c in columns if c not in frame.columns]
    if missing:
        message = (
            f"{what}: missing column(s) {', '.join(missing)}; "
            f"columns present: {', '.join(map(str, frame.columns))}."
        )
        raise error(f"{message} {fix}".strip())


def is_number(text: str) -> bool:
    """Whether a text cell is a number (a decimal comma is accepted: ``"4,5"``)."""
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True
