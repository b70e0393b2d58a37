"""Time the backbone: build from data/raw (target < 30 s, 2 cores), load each level (< 0.5 s).

The build runs in a temporary ``PTCE_DATA_DIR`` whose ``raw`` folder links to
the project's ``data/raw``, so the user's processed tables are not touched.
Prints wall and CPU time of the build, the load time of every level (first
read, then the median of five reads from disk, then one read remembered by the
process: ``analysis.atomic`` keeps each table read) and the process's peak memory.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

BUILD_TARGET_S = 30.0
LOAD_TARGET_S = 0.5


def main() -> int:
    started = time.perf_counter()
    from analysis import atomic, paths, territories

    import_s = time.perf_counter() - started
    raw = paths.raw_dir().resolve()
    with tempfile.TemporaryDirectory(prefix="bench-backbone-") as folder:
        os.environ["PTCE_DATA_DIR"] = folder
        (Path(folder) / "raw").symlink_to(raw, target_is_directory=True)

        wall, cpu = time.perf_counter(), time.process_time()
        territories.build_backbone()
        build_wall, build_cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak_build_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        print(f"import analysis.territories: {import_s:.2f} s")
        print(
            f"build_backbone: wall {build_wall:.1f} s, CPU {build_cpu:.1f} s "
            f"(target < {BUILD_TARGET_S:.0f} s), peak memory {peak_build_mb:.0f} MB"
        )
        print("| level | first load (s) | median of 5 (s) | remembered (s) | rows | file (MB) |")
        print("|---|---|---|---|---|---|")
        slow = []
        for level in territories.LEVELS:
            path = paths.communes_table() if level == "commune" else paths.territory_layer(level)
            first = time.perf_counter()
            frame = territories.load_territories(level)
            first_s = time.perf_counter() - first
            times = []
            for _ in range(5):
                atomic.forget_reads()  # a read from the file, not from the process's memory
                tick = time.perf_counter()
                territories.load_territories(level)
                times.append(time.perf_counter() - tick)
            median = statistics.median(times)
            tick = time.perf_counter()
            territories.load_territories(level)
            remembered = time.perf_counter() - tick
            slow += [level] if median > LOAD_TARGET_S else []
            print(
                f"| {level} | {first_s:.3f} | {median:.3f} | {remembered:.3f} | {len(frame)} "
                f"| {path.stat().st_size / 1e6:.1f} |"
            )
        atomic.forget_reads()
        tick = time.perf_counter()
        territories.load_communes(with_geometry=False)
        print(f"load_communes(with_geometry=False): {time.perf_counter() - tick:.3f} s")
        print(
            "peak memory (whole run): "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
            f"CPUs: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f}"
        )
    ok = build_wall < BUILD_TARGET_S and not slow
    if not ok:
        print(f"TARGET MISSED: build {build_wall:.1f} s; slow levels {slow}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
