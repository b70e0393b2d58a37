"""Problems found in a user's table (a registry, a public list): where, what, and the fix.

A small ground-floor module so that the registry format (:mod:`analysis.registry`)
and place resolution (:mod:`analysis.geocoding`) report problems the same way
without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_LISTED = 50
"""How many problems an error message lists before pointing to ``ptce registry check``."""


@dataclass(frozen=True)
class RegistryProblem:
    """One problem of one cell (or of the file when ``row`` is None)."""

    row: int | None
    column: str
    value: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        return (
            f"{where}, column {self.column!r}, value {self.value!r}: {self.message} Fix: {self.fix}"
        )


class RegistryError(ValueError):
    """A registry (or public list) has problems; ``problems`` lists them all."""

    def __init__(self, source: str, problems: Sequence[RegistryProblem]):
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {len(self.problems)} problem(s)"]
        lines += [f"  {p}" for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(
                f"  … and {len(self.problems) - MAX_LISTED} more (run `ptce registry check`)."
            )
        super().__init__("\n".join(lines))
