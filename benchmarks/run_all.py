"""Run every benchmark script (``benchmarks/bench_*.py``) and print a summary table.

Each script runs in its own process, so peak memory (max RSS) is its own. The
scripts print their own detailed timings; this runner adds wall time and peak
memory and writes ``benchmarks/results/latest.json`` (git-ignored) so the README
figures can be refreshed from it. Targets are checked here, not by timed tests.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_script(script: Path) -> dict:
    """Run one benchmark script; return its wall time, peak memory and output."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "script": script.name,
        "wall_s": round(wall, 2),
        "peak_rss_mb_children_so_far": round(usage.ru_maxrss / 1024, 1),
        "returncode": completed.returncode,
        "output": completed.stdout[-4000:],
        "errors": completed.stderr[-2000:] if completed.returncode else "",
    }


def main() -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    results = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        result = run_script(script)
        print(result["output"], end="")
        if result["returncode"]:
            print(result["errors"], file=sys.stderr)
        results.append(result)
    out = HERE / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "results": results,
            },
            indent=2,
        )
    )
    print("\n| script | wall (s) | status |\n|---|---|---|")
    for result in results:
        status = "ok" if result["returncode"] == 0 else "FAILED"
        print(f"| {result['script']} | {result['wall_s']} | {status} |")
    return 1 if any(r["returncode"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
