"""Holm and Benjamini–Hochberg adjustments: known values, and statsmodels' on random draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from analysis import multiplicity


def test_adjust_p_values_holm_and_bh_known_values():
    table = pd.DataFrame({"run": list("abcde"), "p_value": [0.01, 0.04, 0.03, 0.005, np.nan]})
    adjusted = multiplicity.adjust_p_values(table)
    # Holm: sorted 0.005·4, 0.01·3, 0.03·2, 0.04·1 → 0.02, 0.03, 0.06, max(0.06, 0.04).
    assert adjusted["p_value_holm"].iloc[:4].tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: p·m/rank = 0.02, 0.02, 0.04, 0.04 (ranks 1..4), then running minimum from the top.
    assert adjusted["p_value_bh"].iloc[:4].tolist() == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert adjusted[["p_value_holm", "p_value_bh"]].iloc[4].isna().all()
    assert adjusted.attrs["n_comparisons"] == 4


@pytest.mark.parametrize("seed", range(20))
def test_same_adjustments_as_statsmodels(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 40))
    p = rng.uniform(0, 1, size) ** rng.uniform(0.5, 4)
    p[rng.uniform(0, 1, size) < 0.2] = p[0]  # ties
    np.testing.assert_allclose(multiplicity.holm(p), multipletests(p, method="holm")[1])
    np.testing.assert_allclose(
        multiplicity.benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1]
    )


def test_no_p_value_no_comparison_and_bad_values_refused():
    empty = multiplicity.adjust_p_values(pd.DataFrame({"p_value": [np.nan, np.nan]}))
    assert empty.attrs["n_comparisons"] == 0
    assert empty["p_value_holm"].isna().all()
    with pytest.raises(ValueError, match="outside"):
        multiplicity.adjust_p_values(pd.DataFrame({"p_value": [0.2, 1.5]}))
