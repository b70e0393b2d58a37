"""Adjusting p-values over the comparisons a batch made (Holm; Benjamini–Hochberg).

A pure function of a table, kept apart from :mod:`analysis.estimation` so the
report batch can write ``evidence.csv`` without importing the estimation stack
(statsmodels' ``multipletests`` alone takes more than a second to import, a
third of the time budget of a batch with nothing to redo). The two procedures
are a few lines each; ``tests/test_multiplicity.py`` checks them against
``statsmodels.stats.multitest.multipletests`` on random and tied p-values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.checks import require_columns


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error rate), in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="mergesort")
    stepped = (m - np.arange(m)) * p[order]
    adjusted = np.minimum(np.maximum.accumulate(stepped), 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg step-up adjusted p-values (false discovery rate), in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="mergesort")[::-1]  # largest first
    scaled = p[order] * m / np.arange(m, 0, -1)
    adjusted = np.minimum(np.minimum.accumulate(scaled), 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out


def adjust_p_values(table: pd.DataFrame, *, p_column: str = "p_value") -> pd.DataFrame:
    """Add ``p_value_holm`` and ``p_value_bh`` (Benjamini–Hochberg) over the rows of a batch.

    The family is every row with a p-value (missing ones stay missing and do
    not count); ``attrs["n_comparisons"]`` says how many.
    """
    require_columns(table, [p_column], "adjust_p_values")
    out = table.copy()
    out["p_value_holm"] = np.nan
    out["p_value_bh"] = np.nan
    present = out[p_column].notna().to_numpy()
    if present.any():
        p = out.loc[present, p_column].astype(float).to_numpy()
        if ((p < 0) | (p > 1)).any():
            raise ValueError(f"adjust_p_values: {p_column!r} holds values outside [0, 1].")
        out.loc[present, "p_value_holm"] = holm(p)
        out.loc[present, "p_value_bh"] = benjamini_hochberg(p)
    out.attrs["n_comparisons"] = int(present.sum())
    return out
