"""Period labels, one home: ``2008-Q1`` (a quarter) and ``2019`` (a year) read, ordered, written."""

from __future__ import annotations

import re
from collections.abc import Iterable

QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
"""A quarter label: ``2008-Q1`` (year, quarter)."""

YEAR = re.compile(r"^(\d{4})$")
"""A year label: ``2019``."""

PERIOD_PATTERN = r"^\d{4}(-Q[1-4])?$"
"""Either label, as a pattern for schemas (pandera ``str_matches``)."""

PERIODS_PER_YEAR: dict[str, int] = {"quarterly": 4, "annual": 1}
"""The two frequencies of the panel and how many periods a year holds."""


def period_label(year: int, quarter: int | None = None) -> str:
    """The label of a period: ``(2008, 1)`` → ``"2008-Q1"``, ``(2019,)`` → ``"2019"``."""
    if quarter is None:
        return str(int(year))
    if int(quarter) not in (1, 2, 3, 4):
        raise ValueError(f"quarter {quarter!r} is not 1, 2, 3 or 4")
    return f"{int(year)}-Q{int(quarter)}"


def period_to_time(period: str) -> float:
    """Convert ``"2008-Q3"`` to 2008.5 and ``"2008"`` to 2008.0.

    Raises:
        ValueError: if the period is neither ``YYYY`` nor ``YYYY-Qn``.
    """
    text = str(period)
    if match := QUARTER.match(text):
        return int(match.group(1)) + (int(match.group(2)) - 1) / 4
    if match := YEAR.match(text):
        return float(match.group(1))
    raise ValueError(f"period {period!r} is neither 'YYYY' nor 'YYYY-Qn' (e.g. '2008-Q1')")


def period_year(period: str) -> int:
    """The calendar year of a period label (``"2008-Q3"`` → 2008)."""
    return int(period_to_time(period))


def period_frequency(periods: Iterable) -> str:
    """``"quarterly"`` or ``"annual"`` for a collection of period labels (all the same kind)."""
    labels = [str(p) for p in periods]
    if not labels:
        raise ValueError("no periods given")
    if all(QUARTER.match(p) for p in labels):
        return "quarterly"
    if all(YEAR.match(p) for p in labels):
        return "annual"
    bad = [p for p in labels if not (QUARTER.match(p) or YEAR.match(p))][:5]
    raise ValueError(
        f"periods mix quarterly and annual labels or are malformed (examples: {bad or labels[:5]});"
        " use 'YYYY-Qn' or 'YYYY' consistently"
    )


def periods_per_year(frequency: str) -> int:
    """4 for quarterly, 1 for annual."""
    return PERIODS_PER_YEAR[frequency]


def period_step(period: str) -> float:
    """The length of one period in years: 0.25 for ``2008-Q1``, 1.0 for ``2019``."""
    return 1 / periods_per_year(period_frequency([period]))


def period_index(period: str) -> int:
    """Integer position of a period label: quarters counted (``2008-Q1`` → 8032), years as is.

    ``2008-Q1`` and ``2008-Q2`` are one apart, and so are ``2008`` and ``2009``.
    """
    return int(round(period_to_time(period) * periods_per_year(period_frequency([period]))))


def sorted_periods(periods: Iterable) -> list[str]:
    """Period labels as text, in time order (``2008-Q4`` before ``2009-Q1``)."""
    return sorted((str(p) for p in periods), key=period_to_time)
