"""Calibration of the primary specification and the adjusted permutation test (slow).

Each test draws 200 synthetic countries shaped like the zones d'emploi (300
territories in 95 clusters nested in 13 régions, 12 whole clusters treated,
an outcome with région and cluster shocks) from :mod:`synthetic`, seeded, and
measures a frequency: the rejection rate of a true null at 5 % (must lie in
2–8 %) or the coverage of a planted effect by the 95 % interval (92–98 %).
The bootstrap runs 199 draws inside each synthetic draw to keep the suite at
a few minutes; the measured rates are printed (``pytest -s``). Measured on
2026-12-02 (seeds as below): primary specification 5.0 % rejection under the
null (every draw took the wild cluster bootstrap: 12 treated clusters),
95.5 % coverage of the planted effect; adjusted permutation test 5.0 %
rejection. About 20 s per test since the bootstrap's numba kernel is compiled
once per process (``analysis.estimation``), 3 CPU-minutes before.
"""

from __future__ import annotations

import numpy as np
import pytest

import synthetic
from analysis import estimation as e

N_DRAWS = 200
PLANTED_EFFECT = 0.7
OPTIONS = dict(outcome="outcome", treatment="is_ptce_territory", controls=["x1", "x2"])

pytestmark = pytest.mark.slow


def primary_rows(effect: float, first_seed: int):
    for seed in range(first_seed, first_seed + N_DRAWS):
        frame = synthetic.synthetic_territories(seed, effect=effect)
        yield e.primary_specification(frame, seed=seed, n_bootstrap=199, **OPTIONS).iloc[0]


def test_primary_specification_size_under_the_null():
    rows = list(primary_rows(0.0, first_seed=0))
    rejection = np.mean([row["p_value"] < 0.05 for row in rows])
    methods = {row["p_value_method"] for row in rows}
    print(f"primary specification: rejection rate under the null {rejection:.3f} ({methods})")
    assert 0.02 <= rejection <= 0.08, f"rejection rate {rejection:.3f} at a nominal 5 %"


def test_primary_specification_interval_covers_a_planted_effect():
    rows = list(primary_rows(PLANTED_EFFECT, first_seed=10_000))
    coverage = np.mean([row["ci_low"] <= PLANTED_EFFECT <= row["ci_high"] for row in rows])
    print(f"primary specification: 95 % interval coverage {coverage:.3f}")
    assert 0.92 <= coverage <= 0.98, f"coverage {coverage:.3f} of a nominal 95 % interval"


def test_adjusted_permutation_test_size_under_the_null():
    rejections = []
    for seed in range(20_000, 20_000 + N_DRAWS):
        frame = synthetic.synthetic_territories(seed)
        row = e.adjusted_permutation_test(
            frame, cluster="cluster_code", n_permutations=199, seed=seed, **OPTIONS
        ).iloc[0]
        rejections.append(row["p_value"] < 0.05)
    rejection = float(np.mean(rejections))
    print(f"adjusted permutation test: rejection rate under the null {rejection:.3f}")
    assert 0.02 <= rejection <= 0.08, f"rejection rate {rejection:.3f} at a nominal 5 %"
