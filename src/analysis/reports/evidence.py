"""The batch's evidence table: ``reports/evidence.csv``, one row per comparison run.

After a batch, :func:`write_evidence` reads the ``effects.csv`` each comparison
run wrote in its ``figures/`` folder, keeps the primary specification's row
(``is_primary``) — and the synthetic control's mean gap, which has no interval —
adds the run's identity (title, notebook, level, shock,
indicator) and p-values adjusted over the batch for multiple comparisons
(Holm; Benjamini–Hochberg) with :func:`analysis.multiplicity.adjust_p_values`.
The columns are :data:`EVIDENCE_COLUMNS` (the site reads exactly these).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analysis.atomic import write_text_atomically
from analysis.multiplicity import adjust_p_values
from analysis.reports.config import FIGURES_DIR, ReportRun

EVIDENCE_FILE = "evidence.csv"
EFFECTS_FILE = "effects.csv"
COMPARISON_NOTEBOOKS: frozenset[str] = frozenset(
    {"cooperation_and_resilience", "staggered_adoption", "dose_response"}
)
"""Notebooks whose ``effects.csv`` has one ``is_primary`` row answering the run's
question with an interval (comparison, Callaway–Sant'Anna overall ATT, dose slope with
controls): the comparisons the batch's multiplicity sentence counts."""
EVIDENCE_NOTEBOOKS: frozenset[str] = COMPARISON_NOTEBOOKS | {"synthetic_control"}
"""Notebooks with a row in ``evidence.csv``: the comparisons, and the synthetic control
(its primary row is the mean post-label gap over the treated units, with the placebo
inference it has and empty interval columns)."""

EVIDENCE_COLUMNS: tuple[str, ...] = (
    "run",
    "title",
    "notebook",
    "level",
    "shock",
    "indicator",
    "outcome",
    "treatment",
    "specification",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "p_value_method",
    "p_holm",
    "p_bh",
    "n",
    "n_treated",
    "n_clusters",
    "mde",
    "equivalence_bound",
    "unit",
    "sentence_fr",
    "sentence_en",
)
"""Columns of ``reports/evidence.csv``, in order."""

COPIED_COLUMNS: tuple[str, ...] = tuple(
    c for c in EVIDENCE_COLUMNS[EVIDENCE_COLUMNS.index("ci_low") :] if c not in ("p_holm", "p_bh")
)
"""Columns taken as they are from the primary row of a run's ``effects.csv``."""


def comparison_runs(runs: Sequence[ReportRun]) -> list[ReportRun]:
    """The runs of the batch that make a comparison (their notebook is a comparison notebook)."""
    return [run for run in runs if run.notebook in COMPARISON_NOTEBOOKS]


def evidence_runs(runs: Sequence[ReportRun]) -> list[ReportRun]:
    """The runs of the batch with a row in ``evidence.csv`` (:data:`EVIDENCE_NOTEBOOKS`)."""
    return [run for run in runs if run.notebook in EVIDENCE_NOTEBOOKS]


def evidence_table(runs: Sequence[ReportRun], reports_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """One row per evidence run with an ``effects.csv``: its primary specification.

    A run without an interval (the synthetic control) keeps its estimate and
    inference (``p_value``, ``p_value_method``) with empty ``ci_low``/``ci_high``;
    a missing p-value stays out of the Holm and Benjamini–Hochberg family.

    Returns:
        ``(table with EVIDENCE_COLUMNS, warnings)``: a comparison run without
        an ``effects.csv`` or without a primary row is left out and named.
    """
    rows: list[dict] = []
    warnings: list[str] = []
    for run in evidence_runs(runs):
        path = Path(reports_dir) / run.name / FIGURES_DIR / EFFECTS_FILE
        if not path.exists():
            warnings.append(f"{run.name}: no {FIGURES_DIR}/{EFFECTS_FILE} (run it first)")
            continue
        effects = pd.read_csv(path)
        if "is_primary" not in effects.columns:
            warnings.append(f"{path}: no 'is_primary' column (written by an older notebook)")
            continue
        primary = effects.loc[effects["is_primary"].astype(str).str.lower() == "true"]
        if len(primary) != 1:
            warnings.append(f"{path}: {len(primary)} primary rows, expected 1")
            continue
        row = primary.iloc[0]
        parameters = run.parameters
        rows.append(
            {
                "run": run.name,
                "title": run.title,
                "notebook": run.notebook,
                "level": parameters.get("level", ""),
                "shock": parameters.get("shock", ""),
                "indicator": parameters.get("indicator", ""),
                "outcome": row.get("outcome", parameters.get("outcome", "")),
                "treatment": row.get("treatment", parameters.get("treatment", "")),
                "specification": row.get("specification", "primary"),
                "estimate": row.get("effect"),
                **{column: row.get(column) for column in COPIED_COLUMNS},
            }
        )
    table = pd.DataFrame(rows, columns=[c for c in EVIDENCE_COLUMNS if c not in ("p_holm", "p_bh")])
    adjusted = adjust_p_values(table).rename(
        columns={"p_value_holm": "p_holm", "p_value_bh": "p_bh"}
    )
    return adjusted[list(EVIDENCE_COLUMNS)], warnings


def write_evidence(runs: Sequence[ReportRun], reports_dir: Path) -> tuple[Path, list[str]]:
    """Write ``reports/evidence.csv`` (atomically) from the comparison runs' ``effects.csv``."""
    table, warnings = evidence_table(runs, reports_dir)
    path = Path(reports_dir) / EVIDENCE_FILE
    write_text_atomically(table.to_csv(index=False), path)
    return path, warnings
