"""Benchmark the data build and the report batch: wall time and peak memory of each step.

Steps, each a fresh subprocess in a throw-away data folder whose ``raw/`` links
to the project's verified ``data/raw``:

1. ``cold build``: ``analysis.build.build_all(force=True)`` from ``data/raw``;
2. ``cold report batch``: ``ptce report`` with every run of ``config/reports.yml``
   (national reports and territorial fiches, HTML and PDF; warm kernels);
3. ``no-change report``: ``ptce report`` again (everything skipped);
4. ``one forced fiche``: ``ptce report --only <fiche> --force`` (PDF included);
5. ``bare papermill``: ``papermill`` on the same notebook and parameters, nothing
   else (no HTML, no PDF), measured right after step 4 for the ratio;
6. ``on-demand fiche``: ``ptce fiche --level epci --code 200054781`` (an EPCI,
   which no batch makes; HTML and PDF).

Targets on a 2-core machine (issue 16): batch cold < 5 min, no-change < 3 s, one
forced fiche ≤ 1.5 × bare papermill, one on-demand fiche < 4 s, peak memory < 2 GB.
Peak memory is the largest resident set of the step's process tree (``wait4`` maximum RSS: the
biggest single process, e.g. a kernel).

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

from analysis.reports import ReportRun, load_report_config

ROOT = Path(__file__).resolve().parents[1]
TARGETS_S = {"cold report batch": 300.0, "no-change report": 3.0, "on-demand fiche": 4.0}
ON_DEMAND_FICHE = ("epci", "200054781")
"""An EPCI (Métropole du Grand Paris), made on demand: no batch run makes EPCI fiches."""
PEAK_MEMORY_TARGET_MB = 2048.0
FICHE_RATIO_TARGET = 1.5
"""One forced fiche, at most this many times a bare papermill run of the same notebook."""
PREFERRED_FICHES = ("fiche-dep-14", "fiche-reg-28", "profil-reg-28")


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
    fiche = pick_fiche()
    bare_out = workspace / "bare"
    bare_out.mkdir()
    # -r: a raw string parameter (with -p, papermill reads the code "14" as the number 14)
    parameters = [x for k, v in fiche.parameters.items() if k != "output_dir"
                  for x in ("-r" if isinstance(v, str) else "-p", k, str(v))]  # fmt: skip
    steps = [
        ("cold build", [python, "-c", "from analysis import build; build.build_all(force=True)"]),
        ("cold report batch", [*ptce, "report", "--jobs", str(args.jobs)]),
        ("no-change report", [*ptce, "report", "--jobs", str(args.jobs)]),
        ("one forced fiche", [*ptce, "report", "--only", fiche.name, "--force"]),
        ("bare papermill", [python, "-m", "papermill", "--no-progress-bar",
                            str(ROOT / "notebooks" / f"{fiche.notebook}.ipynb"),
                            str(bare_out / "out.ipynb"), *parameters,
                            "-r", "output_dir", str(bare_out)]),
        ("on-demand fiche", [*ptce, "fiche", "--level", ON_DEMAND_FICHE[0],
                             "--code", ON_DEMAND_FICHE[1], "--out", str(workspace / "on-demand")]),
    ]  # fmt: skip
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
    by_step = {r["step"]: r for r in results}
    misses = [
        f"{r['step']}: {r['wall_s']:.1f} s > {r['target_s']:.0f} s"
        for r in results
        if r["target_s"] and r["wall_s"] > r["target_s"]
    ] + [
        f"{r['step']}: peak {r['peak_rss_mb']:.0f} MB > {PEAK_MEMORY_TARGET_MB:.0f} MB"
        for r in results
        if r["step"] != "cold build" and r["peak_rss_mb"] > PEAK_MEMORY_TARGET_MB
    ]
    if "one forced fiche" in by_step and "bare papermill" in by_step:
        ratio = by_step["one forced fiche"]["wall_s"] / max(
            by_step["bare papermill"]["wall_s"], 0.01
        )
        record["fiche_ratio"] = round(ratio, 2)
        out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"one forced fiche / bare papermill ({fiche.name}): {ratio:.2f} "
              f"(target <= {FICHE_RATIO_TARGET})")  # fmt: skip
        if ratio > FICHE_RATIO_TARGET:
            misses.append(f"one forced fiche is {ratio:.2f} x bare papermill")
    for miss in misses:
        print(f"target missed: {miss}", file=sys.stderr)
    return 0 if all(r["exit_status"] == 0 for r in results) and not misses else 1


def pick_fiche() -> ReportRun:
    """The fiche the single-run steps use: a preferred one when configured, else the first."""
    runs = load_report_config()
    fiches = [r for r in runs if str(r.parameters.get("territory_code") or "")]
    by_name = {r.name: r for r in fiches}
    for name in PREFERRED_FICHES:
        if name in by_name:
            return by_name[name]
    if not fiches:
        raise SystemExit("config/reports.yml has no territorial fiche to benchmark")
    return fiches[0]


if __name__ == "__main__":
    sys.exit(main())
