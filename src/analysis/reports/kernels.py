"""Warm kernels: one Jupyter kernel per worker, reused from one report to the next.

A fiche takes about four seconds of kernel start and imports before its first
cell runs; a batch of 119 fiches would pay that 119 times. A worker process
therefore keeps one kernel (:class:`WarmKernel`) and, before each notebook,
resets it to the state of a fresh kernel:

- the user namespace is emptied (``%reset -f``, without its full garbage
  collection) and the execution counter set back to 1, so the executed
  notebook is numbered as in a fresh kernel;
- matplotlib figures are closed and its settings restored to those the
  kernel had after start (style sheet, inline backend, SVG hash salt);
- the warning filters and pandas options are restored;
- the working directory becomes the run's build folder.

Imported modules stay loaded, and so do the processed tables they read
(:func:`analysis.atomic.read_processed_parquet` remembers each table while its
file is unchanged and hands every caller its own copy): that is the saving.
Modules of the package are pure functions or loaders reading the processed
tables, which do not change during a batch. ``tests/test_site.py`` checks
that a report made in a reused kernel is identical to one made in a fresh
kernel. After a failing notebook
(an error, a timeout) the kernel is shut down and the next notebook gets a new
one; a kernel is also renewed after :data:`MAX_NOTEBOOKS_PER_KERNEL` notebooks
to bound its memory.

Execution goes through papermill with the engine :class:`WarmEngine`
(registered as ``ptce-warm``): papermill's nbclient engine, handed the warm
kernel's manager, which stops its client's channels when the notebook is done
and leaves the kernel running.
"""

from __future__ import annotations

import logging
import os
import queue
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import papermill
from jupyter_client.manager import KernelManager
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

ENGINE_NAME = "ptce-warm"
KERNEL_NAME = "python3"
MAX_NOTEBOOKS_PER_KERNEL = 60
"""Notebooks run in one kernel before it is replaced (caches and fragmentation grow)."""
STARTUP_TIMEOUT_S = 120
RESET_TIMEOUT_S = 120

WARM_UP_CODE = """
import gc, importlib, os, sys, types, warnings
import matplotlib
import matplotlib.pyplot
import pandas
for _name in ("analysis.datasets", "analysis.figures", "analysis.models",
              "analysis.report_content", "analysis.reports", "analysis.resilience",
              "analysis.territories", "analysis.labels", "analysis.maps",
              "analysis.fiche_content"):
    try:
        importlib.import_module(_name)
    except ImportError:
        pass
_state = types.ModuleType("_ptce_kernel_state")
_state.rc = matplotlib.rcParams.copy()
_state.warning_filters = list(warnings.filters)

def _reset(cwd, _state=_state, _gc=gc, _os=os, _warnings=warnings, _mpl=matplotlib,
           _plt=matplotlib.pyplot, _pd=pandas):
    shell = get_ipython()
    collect = _gc.collect
    _gc.collect = lambda *args, **kwargs: 0  # %reset's full collection: 0.6 s per notebook
    try:
        shell.run_line_magic("reset", "-f")
    finally:
        _gc.collect = collect
    _plt.close("all")
    _mpl.rcParams.update({k: v for k, v in _state.rc.items() if k != "backend"})
    _warnings.filters[:] = _state.warning_filters
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        _pd.reset_option("all")
    _os.chdir(cwd)
    shell.execution_count = 1

_state.reset = _reset
sys.modules["_ptce_kernel_state"] = _state
del _reset, _state, _name
"""
"""Run once in a new kernel: the imports every report needs, a snapshot of the
settings a notebook may change, and the function that restores them
(:data:`RESET_CODE`)."""

RESET_CODE = """__import__("_ptce_kernel_state").reset({cwd!r})"""
"""Run before each notebook (``{cwd}``: the run's build folder): the user namespace
emptied as by ``%reset -f`` (without its full garbage collection, which costs 0.6 s
in a kernel holding the plotting and geometry stacks; Python's own collector
still runs), figures closed, matplotlib settings, warning filters and pandas
options restored, the working directory set, the execution counter back to 1.
Executed silently, it leaves no name behind."""


class KernelResetError(RuntimeError):
    """The warm kernel could not be reset (it is replaced by a new one)."""


class WarmEngine(NBClientEngine):
    """papermill's nbclient engine on a kernel it does not own (``km``), left running."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man,
        kernel_name,
        log_output=False,
        stdout_file=None,
        stderr_file=None,
        start_timeout=60,
        execution_timeout=None,
        km=None,
        **kwargs,
    ):
        if km is None:
            raise ValueError(f"the {ENGINE_NAME!r} engine needs km= (a started KernelManager)")
        client = PapermillNotebookClient(
            nb_man,
            km=km,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logging.getLogger("papermill"),
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        try:
            return client.execute()
        finally:
            if client.kc is not None:
                client.kc.stop_channels()


papermill_engines.register(ENGINE_NAME, WarmEngine)


def _run_silently(km: KernelManager, code: str, timeout: float) -> None:
    """Execute ``code`` in the kernel without recording it; raise if it fails.

    Only the shell channel is used: the request is queued until the kernel
    reads it and the reply says whether it ran, so there is no need to wait for
    the output channel to connect (``wait_for_ready``: 0.2 s per notebook).
    """
    client = km.client()
    client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
    try:
        msg_id = client.execute(code, silent=True, store_history=False)
        while True:
            try:
                reply = client.get_shell_msg(timeout=timeout)
            except queue.Empty:
                raise KernelResetError(
                    f"the kernel did not answer within {timeout:.0f} s "
                    "(while preparing the warm kernel)"
                ) from None
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                break
    finally:
        client.stop_channels()
    content = reply.get("content", {})
    if content.get("status") != "ok":
        raise KernelResetError(
            f"{content.get('ename', 'error')}: {content.get('evalue', '')} "
            f"(while preparing the warm kernel)"
        )


class WarmKernel:
    """One kernel kept across the notebooks a worker executes.

    Args:
        env: Environment of the kernel (the worker's: kernelspec path, hash seed…).
    """

    def __init__(self, env: Mapping[str, str] | None = None):
        self.env = dict(env) if env is not None else None
        self.km: KernelManager | None = None
        self.notebooks = 0

    @property
    def alive(self) -> bool:
        return self.km is not None and self.km.is_alive()

    def start(self, cwd: Path) -> None:
        """Start a new kernel in ``cwd`` and import what every report needs."""
        self.shutdown()
        km = KernelManager(kernel_name=KERNEL_NAME)
        km.start_kernel(cwd=str(cwd), env=self.env or dict(os.environ))
        self.km, self.notebooks = km, 0
        _run_silently(km, WARM_UP_CODE, STARTUP_TIMEOUT_S)

    def reset(self, cwd: Path) -> None:
        """Bring the kernel back to a fresh kernel's state, working in ``cwd``."""
        if not self.alive or self.notebooks >= MAX_NOTEBOOKS_PER_KERNEL:
            self.start(cwd)
        _run_silently(self.km, RESET_CODE.format(cwd=str(cwd)), RESET_TIMEOUT_S)

    def execute_notebook(
        self,
        input_path: Path,
        output_path: Path,
        *,
        parameters: Mapping[str, Any],
        cwd: Path,
        timeout: float | None,
    ) -> None:
        """papermill on the warm kernel (reset first); a failure retires the kernel.

        Raises:
            papermill.PapermillExecutionError: a cell raised (as papermill does).
        """
        try:
            self.reset(cwd)
        except KernelResetError:
            self.start(cwd)
            self.reset(cwd)
        self.notebooks += 1
        try:
            papermill.execute_notebook(
                str(input_path),
                str(output_path),
                parameters=dict(parameters),
                kernel_name=KERNEL_NAME,
                language="python",
                engine_name=ENGINE_NAME,
                km=self.km,
                cwd=str(cwd),
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                execution_timeout=timeout,
            )
        except BaseException:
            self.shutdown()  # a failed or timed-out notebook may leave the kernel busy
            raise

    def shutdown(self) -> None:
        """Stop the kernel (if any)."""
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except (RuntimeError, OSError):
                pass
            self.km = None
