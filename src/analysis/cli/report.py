"""`ptce report`: regenerate the reports listed in ``config/reports.yml``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from analysis import paths, reports
from analysis.reports.execute import DEFAULT_LOCK_WAIT_S

STATUS_STYLES = {"ok": "green", "skipped": "cyan", "failed": "bold red", "stale": "bold yellow"}


def _attempt(record: dict[str, Any]) -> tuple[float | None, str]:
    """The duration and the note (reason, or error) of the attempt this batch made.

    A stale run's record describes the last good report it kept (its duration,
    its reason); the attempt that just failed is in ``failed_attempt``.
    """
    if record.get("status") == "stale":
        attempt = record.get("failed_attempt") or {}
        error = (record.get("error") or "").strip().splitlines()
        return attempt.get("duration_s"), (error[0][:300] if error else "")
    return record.get("duration_s"), record.get("rerun_reason") or ""


def _summary_table(records: list[dict[str, Any]]) -> Table:
    table = Table(title="Rapports", show_lines=False)
    table.add_column("run", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("duration", no_wrap=True, justify="right")
    table.add_column("message", overflow="fold")
    for record in records:
        status = record["status"]
        duration, _note = _attempt(record)
        message = (record.get("error") or "").strip().splitlines()
        first = message[0][:300] if message else ""
        if status == "stale":
            first = f"last good report kept; {first}"
        table.add_row(
            escape(record["run"]),
            f"[{STATUS_STYLES.get(status, '')}]{escape(status)}[/]",
            "" if duration is None or status == "skipped" else f"{duration:.1f} s",
            escape(first),
        )
    return table


def report(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run only these runs (name or shell pattern; repeatable)."),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Runs executed in parallel.")
    ] = max(1, min(4, os.cpu_count() or 1)),
    force: Annotated[
        bool, typer.Option("--force", help="Redo runs even when nothing changed.")
    ] = False,
    fast: Annotated[
        bool,
        typer.Option("--fast", help="Set the notebooks' `fast` parameter (fewer permutations…)."),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Batch file (default config/reports.yml).", dir_okay=False),
    ] = None,
    notebooks_dir: Annotated[
        Path | None,
        typer.Option(
            "--notebooks-dir",
            file_okay=False,
            help="Run the notebooks of this folder instead of notebooks/ (the batch file's "
            "own notebooks_dir may only point inside notebooks/).",
        ),
    ] = None,
    list_runs: Annotated[
        bool, typer.Option("--list", help="List the configured runs and exit.")
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            help="Seconds to wait when another `ptce report` is writing reports/ (0: give up).",
        ),
    ] = DEFAULT_LOCK_WAIT_S,
) -> None:
    """Validate every run, execute the changed ones with papermill, write reports/index.html.

    Exit status: 0 when every run succeeded or was unchanged, 1 when a run
    failed (a run that had a good report keeps it, marked stale), 2 when the
    configuration or a run's parameters are invalid (nothing is executed
    then), 3 when another batch kept reports/ busy for ``--wait`` seconds.
    """
    console = Console(stderr=True)
    try:
        all_runs = reports.load_report_config(config, notebooks_dir=notebooks_dir)
        selected = reports.select_runs(all_runs, only)
    except reports.ReportConfigError as error:
        console.print(
            f"[bold red]Invalid report configuration[/]\n{escape(str(error))}", soft_wrap=True
        )
        raise typer.Exit(2) from None
    if list_runs:
        for run in selected:
            parameters = ", ".join(f"{k}={v!r}" for k, v in run.parameters.items())
            typer.echo(f"{run.name}\t{run.notebook}\t{parameters}")
        return

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    bar: dict[str, Any] = {}

    def on_event(event: str, payload: dict[str, Any]) -> None:
        if event == "waiting":
            console.print(
                f"[yellow]Another `ptce report` (process {escape(payload['holder'] or '?')}) "
                f"is writing the reports; waiting for it (up to {payload['timeout']:g} s)…[/]"
            )
        elif event == "cleaned":
            console.print(
                "Removed what an interrupted batch left: " + escape(", ".join(payload["leftovers"]))
            )
        elif event == "planned":
            console.print(
                f"{payload['total']} run(s): {payload['to_run']} to execute, "
                f"{payload['skipped']} unchanged (skipped)."
            )
            bar["id"] = progress.add_task("reports", total=payload["to_run"])
        elif event == "finished":
            mark = {"ok": "[green]✓[/]", "stale": "[bold yellow]✗ stale[/]"}.get(
                payload["status"], "[bold red]✗[/]"
            )
            duration, note = _attempt(payload)
            took = f" ({duration:.1f} s)" if duration is not None else ""
            if payload["status"] == "stale":
                note = f"{note}; last good report kept" if note else "last good report kept"
            why = f" [dim]— {escape(note)}[/]" if note else ""
            progress.console.print(f"{mark} {escape(payload['run'])}{took}{why}")
            progress.advance(bar["id"])

    try:
        with progress:
            result = reports.run_batch(
                selected,
                jobs=jobs,
                force=force,
                overrides={"fast": True} if fast else None,
                all_runs=all_runs,
                lock_wait=wait,
                on_event=on_event,
            )
    except reports.ReportConfigError as error:
        console.print(
            f"[bold red]Invalid report parameters[/]\n{escape(str(error))}", soft_wrap=True
        )
        raise typer.Exit(2) from None
    except reports.ReportBatchBusy as error:
        console.print(f"[bold red]Reports busy[/]\n{escape(str(error))}")
        raise typer.Exit(3) from None
    console.print(_summary_table(result.records))
    for warning in result.warnings:
        console.print(f"[yellow]Warning:[/] {escape(warning)}")
    index = result.index_path or paths.reports_dir() / reports.INDEX_FILE
    console.print(f"Index: {escape(str(index))}")
    if not result.ok:
        console.print(f"[bold red]{len(result.failed)} run(s) failed.[/]")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach this group's commands to the main app."""
    app.command("report")(report)
