"""Worker entry point: ``python -m analysis.reports worker`` (started by the batch's pool)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from analysis.reports.worker import worker_main


def main(argv: Sequence[str]) -> int:
    """Run the worker loop (task file paths on stdin) when called with ``worker``."""
    if list(argv) != ["worker"]:
        print("usage: python -m analysis.reports worker  (task paths on stdin)", file=sys.stderr)
        return 2
    return worker_main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
