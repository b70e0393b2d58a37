"""Benchmark of the indicators panel: full build, no-change rebuild, load (wall time, peak memory).

Runs in a scratch data folder (``PTCE_DATA_DIR``) whose ``raw`` links to the
project's ``data/raw``, so the project's processed tables are not touched. The
backbone is copied from ``data/processed`` when built there, else built in the
scratch folder first (not timed). Each phase runs in its own process so its
peak memory (max RSS) is its own.

Targets (issue 5): full panel < 60 s on 2 cores, no-change rebuild < 3 s,
load < 1 s.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis import build, paths  # light: the phases import what they time themselves

TARGETS_S = {"full_build": 60.0, "no_change_rebuild": 3.0, "load": 1.0}

PHASES = {
    "backbone": "from analysis import territories; territories.build_backbone()",
    "full_build": "from analysis import indicators; indicators.build_indicators(force=True)",
    "no_change_rebuild": "from analysis import indicators; indicators.build_indicators()",
    "load": "indicators.load_indicators()",
}
SETUP = {"load": "from analysis import indicators"}
"""Code run before the timed phase (imports are timed separately as ``import_s``)."""


def _child(phase: str) -> None:
    """Run one phase in this process and print its timing and peak memory as JSON."""
    namespace: dict = {}
    started = time.perf_counter()
    exec(SETUP.get(phase, ""), namespace)  # noqa: S102 - fixed code from SETUP
    imported = time.perf_counter()
    exec(PHASES[phase], namespace)  # noqa: S102 - fixed code from PHASES
    wall = time.perf_counter() - imported
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "phase": phase,
                "wall_s": round(wall, 3),
                "import_s": round(imported - started, 3),
                "peak_rss_mb": round(peak_mb, 1),
            }
        )
    )


def _run(phase: str, env: dict[str, str]) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--phase", phase],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode:
        raise RuntimeError(f"phase {phase} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="bench_indicators_"))
    try:
        (scratch / "raw").symlink_to(paths.raw_dir().resolve(), target_is_directory=True)
        processed = scratch / "processed"
        processed.mkdir()
        env = {**os.environ, "PTCE_DATA_DIR": str(scratch)}
        backbone_files = build.STEPS["backbone"].outputs()  # every file the step writes
        if all(p.exists() for p in backbone_files):
            for path in backbone_files:
                target = processed / path.relative_to(paths.processed_dir())
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
            print("backbone: copied from data/processed")
        else:
            result = _run("backbone", env)
            print(f"backbone: built in the scratch folder ({result['wall_s']:.1f} s, not a target)")
        results = [_run(phase, env) for phase in ("full_build", "no_change_rebuild", "load")]
        print(f"{'phase':<20}{'wall (s)':>10}{'target (s)':>12}{'peak RSS (MB)':>15}  ok")
        failed = False
        for result in results:
            target = TARGETS_S[result["phase"]]
            ok = result["wall_s"] < target
            failed |= not ok
            print(
                f"{result['phase']:<20}{result['wall_s']:>10.2f}{target:>12.0f}"
                f"{result['peak_rss_mb']:>15.0f}  {'yes' if ok else 'NO'}"
            )
        load = results[-1]
        print(
            f"load: {load['wall_s']:.2f} s for the call, {load['import_s'] + load['wall_s']:.2f} s "
            "with the imports of pandas and analysis.indicators"
        )
        size_mb = (processed / "indicators.parquet").stat().st_size / 1e6
        print(f"indicators.parquet: {size_mb:.1f} MB; cores: {os.cpu_count()}")
        return 1 if failed else 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--phase":
        _child(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
