"""`ptce registry` commands: check a cooperation registry, and locate its rows."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from analysis import paths, registry, territories
from analysis.atomic import write_csv_atomically

registry_app = typer.Typer(
    help="The cooperation registry (PTCE, TZCLD, …): check a file, locate its rows.",
    no_args_is_help=True,
)

OUT_OPTION = typer.Option(..., "--out", "-o", help="CSV to write the located rows to.")
FILE_ARGUMENT = typer.Argument(
    None, help="Registry CSV (default: data/registry/initiatives.csv).", show_default=False
)


def _problem_table(problems, title: str) -> Table:
    table = Table(title=title, show_lines=True)
    for column, style in (
        ("row", "bold"),
        ("column", "cyan"),
        ("value", "magenta"),
        ("problem", ""),
        ("fix", "green"),
    ):
        table.add_column(column, style=style, overflow="fold")
    for problem in problems:
        table.add_row(
            "" if problem.row is None else str(problem.row),
            problem.column,
            problem.value,
            problem.message,
            problem.fix,
        )
    return table


def _load_backbone(console: Console):
    try:
        return territories.load_communes(with_geometry=True), territories.commune_code_crosswalk()
    except FileNotFoundError as error:
        console.print(f"[red]{error}[/red]\nBuild the territories first: `ptce data build`.")
        raise typer.Exit(2) from error


def _check(file: Path | None, console: Console):
    """The registry path, the backbone and every problem of the registry."""
    path = file or paths.default_registry()
    if not path.exists():
        console.print(f"[red]{path}: no such file.[/red]")
        raise typer.Exit(2)
    communes, crosswalk = _load_backbone(console)
    problems = registry.check_registry(path, communes=communes, crosswalk=crosswalk)
    return path, communes, crosswalk, problems


@registry_app.command("check")
def check(file: Path | None = FILE_ARGUMENT) -> None:
    """Validate a registry and print every problem at once (exit status 1 when any)."""
    console = Console()
    path, _, _, problems = _check(file, console)
    if problems:
        console.print(_problem_table(problems, str(path)))
        console.print(f"[red]{len(problems)} problem(s)[/red] in {path}.", soft_wrap=True)
        raise typer.Exit(1)
    rows = len(registry.read_registry(path))
    console.print(f"[green]{path}: {rows} rows, no problem.[/green]")


@registry_app.command("locate")
def locate(
    file: Path | None = FILE_ARGUMENT,
    out: Path = OUT_OPTION,
) -> None:
    """Write each row with its commune, EPCI, zone d'emploi, département, région and precision.

    Nothing is written when the registry has a problem.
    """
    console = Console()
    path, communes, crosswalk, problems = _check(file, console)
    if problems:
        console.print(
            _problem_table(problems, f"{path}: {len(problems)} problem(s); nothing written")
        )
        raise typer.Exit(1)
    located = registry.locate(registry.read_registry(path), communes, crosswalk).reset_index()
    write_csv_atomically(located, out)
    counts = located["location_precision"].value_counts().to_dict()
    console.print(
        f"[green]wrote {out}: {len(located)} rows[/green] "
        + ", ".join(f"{k}: {v}" for k, v in counts.items())
    )


def register(app: typer.Typer) -> None:
    """Attach this group's commands to the main app."""
    app.add_typer(registry_app, name="registry")
