"""The report batch: parametrised notebooks run with papermill, cached by input checksums.

``config/reports.yml`` lists the runs (a notebook and its parameters). Before
anything executes, every run is checked against its notebook's ``parameters``
cell (unknown name, wrong type, unknown territory code, a notebook outside
``notebooks/``…) and all problems are raised at once. Each run then executes
in its own process and writes ``reports/<run>/``: the executed notebook, an
HTML version without code, its figures (the notebook saves them in the folder
passed as ``output_dir``), thumbnails and ``run.json`` (parameters, input
checksums, the sha256 of every output file, git commit, duration, status and
the cache key). A run whose notebook, parameters, inputs and outputs are
unchanged is skipped. ``reports/index.html`` lists every run.

Three modules, by what they know:

- :mod:`~analysis.reports.config` — the configuration, notebook parameters
  and validation (nothing executes);
- :mod:`~analysis.reports.execute` — cache keys, one run in a worker process,
  the worker pool, the batch lock and :func:`run_batch`;
- :mod:`~analysis.reports.site` — the index page and the figure gallery;
- :mod:`~analysis.reports.evidence` — ``reports/evidence.csv``, the primary
  estimate of every comparison run with p-values adjusted over the batch.

The names below are those the CLI, the notebooks and the tests use.
"""

from __future__ import annotations

from analysis.reports.config import (
    INDEX_FILE,
    ReportConfigError,
    ReportRun,
    load_report_config,
    parse_parameters_source,
    prepare_output_dir,
    read_notebook_parameters,
    resolve_runs,
    select_runs,
)
from analysis.reports.evidence import EVIDENCE_FILE, comparison_runs, write_evidence
from analysis.reports.execute import (
    BatchResult,
    ChecksumCache,
    ReportBatchBusy,
    run_batch,
    run_cache_key,
)
from analysis.reports.site import write_gallery, write_index

__all__ = [
    "EVIDENCE_FILE",
    "INDEX_FILE",
    "BatchResult",
    "ChecksumCache",
    "ReportBatchBusy",
    "ReportConfigError",
    "ReportRun",
    "comparison_runs",
    "load_report_config",
    "parse_parameters_source",
    "prepare_output_dir",
    "read_notebook_parameters",
    "resolve_runs",
    "run_batch",
    "run_cache_key",
    "select_runs",
    "write_gallery",
    "write_evidence",
    "write_index",
]
