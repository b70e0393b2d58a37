"""Words of the report site and of report prose, read once from ``words.toml`` beside this module.

French and English are one logic with two vocabularies. :func:`phrase` says how
a run's parameter value reads inside a sentence (``covid_2020`` → "le choc du
Covid-19", ``ze2020`` → "les zones d'emploi", ``is_ptce_territory`` → "avec un
PTCE"); :func:`text` fills the site's templates; :func:`methods` gives the
methods section with its references.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis.keys import LANGS

WORDS_FILE = Path(__file__).with_name("words.toml")

with open(WORDS_FILE, "rb") as _handle:
    _WORDS: dict[str, Any] = tomllib.load(_handle)

PHRASE_KINDS: tuple[str, ...] = tuple(_WORDS["phrases"])
"""Parameters with sentence phrases: ``shock``, ``level``, ``treatment``, ``indicator``…"""


def check_lang(lang: str) -> str:
    """``lang`` itself when it is one of :data:`analysis.keys.LANGS`, else a clear error."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


def _fill(table: str, key: str, lang: str, values: dict[str, Any]) -> str:
    """Template ``key`` of ``[table.<lang>]`` in ``words.toml``, its ``{fields}`` filled."""
    try:
        template = _WORDS[table][check_lang(lang)][key]
    except KeyError:
        raise KeyError(f"no {key!r} in {WORDS_FILE.name} [{table}.{lang}]") from None
    return template.format(**values) if values else template


def text(key: str, lang: str = "fr", **values: Any) -> str:
    """The site text ``key`` in ``lang``, its ``{fields}`` filled from ``values``."""
    return _fill("text", key, lang, values)


def phrase(kind: str, value: str, lang: str = "fr") -> str:
    """How a parameter value reads in a sentence; the value itself when it has no phrase.

    Args:
        kind: ``shock``, ``level``, ``level_short``, ``treatment``, ``indicator``
            or ``verdict`` (:data:`PHRASE_KINDS`).
        value: The parameter value (``covid_2020``, ``ze2020``…).
        lang: ``fr`` or ``en``.
    """
    table = _WORDS["phrases"].get(kind)
    if table is None:
        raise KeyError(f"no phrases for {kind!r}; known: {', '.join(PHRASE_KINDS)}")
    return table[check_lang(lang)].get(str(value), str(value))


def count_phrase(level: str, count: int, lang: str = "fr", *, treated: bool = False) -> str:
    """``22 zones traitées``, ``1 département traité``, ``5 régions`` (French agreement)."""
    entry = _WORDS["phrases"]["level_noun"][check_lang(lang)].get(level)
    singular, plural, gender = (entry or f"{level}|{level}|m").split("|")
    noun = singular if count == 1 else plural
    if not treated:
        return f"{count} {noun}"
    if lang == "fr":
        adjective = "traitée" if gender == "f" else "traité"
        adjective += "" if count == 1 else "s"
        return f"{count} {noun} {adjective}"
    return f"{count} treated {noun}"


def methods(lang: str = "fr") -> list[dict[str, Any]]:
    """The methods section: ``title``, ``body`` and ``references`` of each part."""
    return list(_WORDS["methods"][check_lang(lang)])


def prose(key: str, lang: str = "fr", **values: Any) -> str:
    """A report's Markdown template ``key`` (``[prose]`` of ``words.toml``), filled."""
    return _fill("prose", key, lang, values)


def takeaways(points: Sequence[str], lang: str = "fr") -> str:
    """The "À retenir" box of a report: a Markdown block quote with one bullet per point."""
    lines = [f"> {prose('takeaways', lang)}", ">"] + [f"> - {point}" for point in points if point]
    return "\n".join(lines)
