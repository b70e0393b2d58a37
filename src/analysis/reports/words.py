"""The site's words and report prose, kept importable here: they live in :mod:`analysis.labels`.

Every French and English word has one home, ``analysis.labels`` (its data file
``report_words.toml``). This module keeps the names report notebooks and callers
used before (``words.text``, ``words.phrase``, ``words.prose``…); new code imports
them from ``analysis.labels`` (``labels.site_text`` is ``words.text``).
"""

from __future__ import annotations

from analysis.labels import (
    PHRASE_KINDS,
    REPORT_WORDS_FILE,
    check_lang,
    count_phrase,
    methods,
    phrase,
    prose,
    takeaways,
)
from analysis.labels import site_text as text

WORDS_FILE = REPORT_WORDS_FILE

__all__ = [
    "PHRASE_KINDS",
    "WORDS_FILE",
    "check_lang",
    "count_phrase",
    "methods",
    "phrase",
    "prose",
    "takeaways",
    "text",
]
