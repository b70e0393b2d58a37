"""`ptce data fetch|status|build`: bring raw files in, show them, build processed tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
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
        error_console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None

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
            task = progress.add_task(source.id, total=None, visible=False)

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

    fetched = [r for r in results if r.action != "already present"]
    for result in fetched:
        console.print(
            f"[green]✓[/green] {result.source_id}: {result.action} from {result.origin} "
            f"({_human_size(result.size_bytes)})"
        )
    present = len(results) - len(fetched)
    if not fetched and not failures:
        console.print(
            f"Nothing to do: all {present} sources already in {paths.raw_dir()}, verified."
        )
    else:
        console.print(
            f"{len(fetched)} fetched, {present} already present, {len(failures)} failed "
            f"(data/raw: {paths.raw_dir()})."
        )
    for source_id, message in failures:
        error_console.print(f"[red]✗ {source_id}[/red]: {message}")
    if failures:
        raise typer.Exit(1)


@data_app.command("status")
def status() -> None:
    """Table of sources: present / missing / corrupt, size, licence."""
    table = Table(title=f"Data sources in {paths.raw_dir()}")
    for column in ("source", "file", "status", "size", "licence"):
        table.add_column(column)
    colours = {"present": "green", "missing": "yellow", "corrupt": "red"}
    problems = 0
    for source in sources.load_catalogue().values():
        state = sources.source_status(source)
        problems += state is not sources.Status.PRESENT
        size = source.raw_path.stat().st_size if source.raw_path.exists() else None
        table.add_row(
            source.id,
            source.file,
            f"[{colours[state.value]}]{state.value}[/]",
            _human_size(size),
            source.licence,
        )
    console.print(table)
    if problems:
        console.print(f"{problems} source(s) not present and verified: run `ptce data fetch`.")


@data_app.command("build")
def build(
    force: Annotated[bool, typer.Option(help="Rebuild every step even when up to date.")] = False,
    step: Annotated[
        str | None,
        typer.Option(
            help="Build only this step (and what it needs): backbone, indicators, cooperation."
        ),
    ] = None,
) -> None:
    """Build data/processed from data/raw: backbone, indicators, cooperation."""

    def report(name: str, state: str, seconds: float) -> None:
        suffix = f" in {seconds:.1f} s" if state == "built" else ""
        console.print(f"[green]✓[/green] {name}: {state}{suffix}")

    try:
        if step:
            if step not in build_module.STEPS:
                raise ValueError(f"unknown step {step!r}; steps: {', '.join(build_module.STEPS)}")
            build_module.ensure_built(step, force=force, report=report)
        else:
            build_module.build_all(force=force, report=report)
    except (FileNotFoundError, ValueError) as error:
        error_console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None


@data_app.command("sources-table")
def sources_table() -> None:
    """Print the README's data sources table (markdown) from the catalogue."""
    print(sources.markdown_table())


def register(app: typer.Typer) -> None:
    """Attach ``ptce data`` to the main app."""
    app.add_typer(data_app, name="data")
