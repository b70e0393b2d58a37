"""`ptce data fetch|status|build`: bring raw files in, show them, build processed tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from analysis import build as build_module
from analysis import paths, sources
from analysis.atomic import ProcessedDataError

data_app = typer.Typer(
    help="Raw data intake (fetch, status) and the processed-data build.", no_args_is_help=True
)
console = Console()
error_console = Console(stderr=True)

LARGE_FILE_BYTES = 1 << 20
"""Files at least this big get a progress bar."""


def _human_size(size: int | None) -> str:
    if size is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


@data_app.command("fetch")
def fetch(
    mirror: Annotated[
        Path | None,
        typer.Option(help="Folder holding the raw files (default: $DATA_MIRROR; else download)."),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Fetch only this source id (repeatable).")
    ] = None,
) -> None:
    """Bring every catalogue source into data/raw, checksum-verified and read-only."""
    catalogue = sources.load_catalogue()
    try:
        wanted = (
            [sources.get_source(i, catalogue) for i in only] if only else list(catalogue.values())
        )
        mirror_dir = sources.mirror_from_environment(mirror)
    except (sources.CatalogueError, sources.SourceUnavailableError) as error:
        error_console.print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)
        raise typer.Exit(2) from None
    for orphan in sources.remove_orphan_temporary_files(wanted):
        console.print(
            f"removed {escape(str(orphan))} (left by an interrupted fetch)", soft_wrap=True
        )

    results: list[sources.FetchResult] = []
    failures: list[tuple[str, str]] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        for source in wanted:
            task = progress.add_task(escape(source.id), total=None, visible=False)

            def on_start(_: str, size: int | None, task=task) -> None:
                progress.update(task, total=size, visible=size is None or size >= LARGE_FILE_BYTES)

            def on_progress(n: int, task=task) -> None:
                progress.advance(task, n)

            try:
                results.append(
                    sources.fetch_source(
                        source, mirror_dir, on_progress=on_progress, on_start=on_start
                    )
                )
            except (
                sources.ChecksumMismatchError,
                sources.SourceUnavailableError,
                OSError,
            ) as error:
                failures.append((source.id, str(error)))
            progress.remove_task(task)

    absent = [r for r in results if r.action == sources.OPTIONAL_ABSENT_ACTION]
    fetched = [r for r in results if r.action != "already present" and r not in absent]
    for result in fetched:
        console.print(
            f"[green]✓[/green] {escape(result.source_id)}: {result.action} from {result.origin} "
            f"({_human_size(result.size_bytes)})"
        )
    for result in absent:
        console.print(
            f"[yellow]–[/yellow] {escape(result.source_id)}: optional, not present "
            "(no mirror or download holds it; analyses that use it are skipped)"
        )
    present = len(results) - len(fetched) - len(absent)
    raw = escape(str(paths.raw_dir()))
    if not fetched and not failures:
        console.print(f"Nothing to do: all {present} sources already in {raw}, verified.")
    else:
        console.print(
            f"{len(fetched)} fetched, {present} already present, {len(failures)} failed "
            f"(data/raw: {raw})."
        )
    for source_id, message in failures:
        error_console.print(f"[red]✗ {escape(source_id)}[/red]: {escape(message)}", soft_wrap=True)
    if failures:
        raise typer.Exit(1)


@data_app.command("status")
def status() -> None:
    """Table of sources: present / missing / corrupt, size, licence; orphan temporary files.

    Exit status: 0 when every source is present and verified (an optional source may be
    absent), 1 when any is missing or corrupt or a fetch left temporary files behind.
    """
    catalogue = sources.load_catalogue()
    table = Table(title=escape(f"Data sources in {paths.raw_dir()}"))
    for column in ("source", "file", "status", "size", "licence"):
        table.add_column(column)
    colours = {"present": "green", "missing": "yellow", "corrupt": "red"}
    problems: list[str] = []
    absent: list[str] = []
    for source in catalogue.values():
        state = sources.source_status(source)
        if state.is_problem:
            problems.append(source.id)
        elif state is sources.Status.OPTIONAL_ABSENT:
            absent.append(source.id)
        size = source.raw_path.stat().st_size if source.raw_path.exists() else None
        table.add_row(
            escape(source.id),
            escape(source.file),
            f"[{colours.get(state.value, 'dim')}]{escape(state.value)}[/]",
            _human_size(size),
            escape(source.licence),
        )
    console.print(table)
    for source_id in absent:
        console.print(f"{escape(source_id)}: optional, not present (not an error)")
    orphans = sources.orphan_temporary_files(catalogue)
    for orphan in orphans:
        console.print(f"[red]orphan temporary file[/red] {escape(str(orphan))}", soft_wrap=True)
    if orphans:
        console.print(
            f"{len(orphans)} temporary file(s) left by an interrupted fetch: "
            "`ptce data fetch` removes them."
        )
    if problems:
        console.print(
            f"{len(problems)} source(s) not present and verified ({escape(', '.join(problems))}): "
            "run `ptce data fetch`."
        )
    if problems or orphans:
        raise typer.Exit(1)


@data_app.command("build")
def build(
    force: Annotated[
        bool,
        typer.Option(
            help="Rebuild even when up to date (all steps, or the --step asked for; "
            "the indicator parts cache included)."
        ),
    ] = False,
    step: Annotated[
        str | None,
        typer.Option(
            help="Build only this step (and what it needs): backbone, indicators, cooperation."
        ),
    ] = None,
) -> None:
    """Build data/processed from data/raw: backbone, indicators, cooperation."""

    def report(name: str, state: str, seconds: float) -> None:
        if state.startswith("rebuilding"):
            console.print(f"[yellow]![/yellow] {escape(name)}: {escape(state)}")
            return
        if state not in ("built", "up to date"):  # a step's own progress note
            console.print(f"  [dim]{escape(state)}[/dim]")
            return
        suffix = f" in {seconds:.1f} s" if state == "built" else ""
        console.print(f"[green]✓[/green] {escape(name)}: {escape(state)}{suffix}")

    def on_wait(message: str) -> None:
        error_console.print(escape(message))

    try:
        if step:
            if step not in build_module.STEPS:
                raise ValueError(f"unknown step {step!r}; steps: {', '.join(build_module.STEPS)}")
            build_module.ensure_built(step, force=force, report=report, on_wait=on_wait)
        else:
            build_module.build_all(force=force, report=report, on_wait=on_wait)
    except (
        FileNotFoundError,
        ValueError,
        sources.ChecksumMismatchError,
        build_module.BuildError,
        ProcessedDataError,
    ) as error:
        error_console.print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)
        raise typer.Exit(1) from None


@data_app.command("sources-table")
def sources_table() -> None:
    """Print the README's data sources table (markdown) from the catalogue."""
    print(sources.markdown_table())


def register(app: typer.Typer) -> None:
    """Attach ``ptce data`` to the main app."""
    app.add_typer(data_app, name="data")
