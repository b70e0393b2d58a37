"""Benchmark the data build and the report batch: wall time and peak memory of each step.

Steps, each a fresh subprocess in a throw-away data folder whose ``raw/`` links
to the project's verified ``data/raw``:

1. ``cold build``: ``analysis.build.build_all(force=True)`` from ``data/raw``;
2. ``cold report batch``: ``ptce report`` with every run of ``config/reports.yml``;
3. ``no-change report``: ``ptce report`` again (everything skipped);
4. ``one territory fiche``: ``ptce report --only fiche-reg-84 --force``.

Targets on a 2-core machine (issue 7): batch cold < 3 min, no-change < 5 s,
one profile < 10 s. Peak memory is the largest resident set of the step's
process tree (``wait4`` maximum RSS: the biggest single process, e.g. a kernel).

Usage: ``python benchmarks/bench_reports.py [--jobs N] [--keep]`` (``make bench``).
Results go to ``benchmarks/results/bench_reports.json`` and are printed as a
Markdown table for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS_S = {"cold report batch": 180.0, "no-change report": 5.0, "one territory fiche": 10.0}


def measure(name: str, command: list[str], env: dict[str, str]) -> dict:
    """Run ``command``; its wall time, peak RSS and exit status."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "step": name,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "exit_status": process.returncode,
        "target_s": TARGETS_S.get(name),
        "stderr_tail": stderr[-1500:] if process.returncode else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="ptce report --jobs (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away data folder")
    args = parser.parse_args(argv)

    python = sys.executable
    ptce = [python, "-m", "analysis"]
    workspace = Path(tempfile.mkdtemp(prefix="ptce-bench-"))
    (workspace / "processed").mkdir()
    (workspace / "raw").symlink_to((ROOT / "data" / "raw").resolve())
    env = {
        **os.environ,
        "PTCE_DATA_DIR": str(workspace),
        "PTCE_REPORTS_DIR": str(workspace / "reports"),
    }
    steps = [
        ("cold build", [python, "-c", "from analysis import build; build.build_all(force=True)"]),
        ("cold report batch", [*ptce, "report", "--jobs", str(args.jobs)]),
        ("no-change report", [*ptce, "report", "--jobs", str(args.jobs)]),
        ("one territory fiche", [*ptce, "report", "--only", "fiche-reg-84", "--force"]),
    ]
    results = []
    try:
        for name, command in steps:
            print(f"… {name}", file=sys.stderr, flush=True)
            results.append(measure(name, command, env))
            if results[-1]["exit_status"] != 0:
                print(results[-1]["stderr_tail"], file=sys.stderr)
                break
    finally:
        if not args.keep:
            shutil.rmtree(workspace, ignore_errors=True)
    record = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },  # fmt: skip
        "jobs": args.jobs,
        "results": results,
    }
    out = ROOT / "benchmarks" / "results" / "bench_reports.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(
        f"| step | wall time | peak memory | target |\n|---|---|---|---|  ({os.cpu_count()} CPUs)"
    )
    for r in results:
        target = f"< {r['target_s']:.0f} s" if r["target_s"] else ""
        flag = "" if r["exit_status"] == 0 else " (failed)"
        print(f"| {r['step']}{flag} | {r['wall_s']:.1f} s | {r['peak_rss_mb']:.0f} MB | {target} |")
    return 0 if all(r["exit_status"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
