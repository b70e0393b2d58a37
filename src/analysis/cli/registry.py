"""`ptce registry` commands: check a cooperation registry, and locate its rows."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from analysis import geocoding, paths, registry
from analysis.exports import ExportFormatError, check_suffix, write_table

registry_app = typer.Typer(
    help="The cooperation registry (PTCE, TZCLD, …): check a file, locate its rows.",
    no_args_is_help=True,
)

OUT_OPTION = typer.Option(
    ..., "--out", "-o", help="Where to write the located rows: a .csv or .xlsx file."
)
FILE_ARGUMENT = typer.Argument(
    None, help="Registry CSV (default: data/registry/initiatives.csv).", show_default=False
)


def _problem_table(problems, title: str) -> Table:
    table = Table(title=escape(title), show_lines=True)
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
            escape(problem.column),
            escape(problem.value),
            escape(problem.message),
            escape(problem.fix),
        )
    return table


def _load_backbone(console: Console):
    try:
        return registry.load_backbone()
    except FileNotFoundError as error:
        console.print(f"[red]{escape(str(error))}[/red]", soft_wrap=True)  # it says the fix
        raise typer.Exit(2) from None


def _check(file: Path | None, console: Console):
    """The registry path, the backbone and every problem of the registry."""
    path = file or paths.default_registry()
    if not path.exists():
        console.print(f"[red]{escape(str(path))}: no such file.[/red]")
        raise typer.Exit(2)
    communes, crosswalk, former_names = _load_backbone(console)
    try:
        problems = registry.check_registry(
            path, communes=communes, crosswalk=crosswalk, former_names=former_names
        )
    except registry.RegistryError as error:  # unreadable file: encoding, empty, headers
        problems = error.problems
    return path, (communes, crosswalk, former_names), problems


def _print_warnings(path: Path, console: Console) -> int:
    """Print the misspelt-looking columns and the cells a spreadsheet would run as formulas;
    their count."""
    frame = registry.read_registry(path)
    count = 0
    for warnings, what in (
        (registry.column_warnings(frame), "a column name that looks misspelt"),
        (registry.formula_warnings(frame), "text read as a formula"),
    ):
        if warnings:
            console.print(_problem_table(warnings, f"{path}: {len(warnings)} warning(s), {what}"))
        count += len(warnings)
    return count


@registry_app.command("check")
def check(file: Path | None = FILE_ARGUMENT) -> None:
    """Validate a registry and print every problem at once (exit status 1 when any)."""
    console = Console()
    path, _, problems = _check(file, console)
    if problems:
        console.print(_problem_table(problems, str(path)))
        console.print(
            f"[red]{len(problems)} problem(s)[/red] in {escape(str(path))}.", soft_wrap=True
        )
        raise typer.Exit(1)
    warned = _print_warnings(path, console)
    rows = len(registry.read_registry(path))
    if warned:
        console.print(
            f"[green]{escape(str(path))}: {rows} rows, no problem;[/green] "
            f"[yellow]{warned} warning(s) above.[/yellow]",
            soft_wrap=True,
        )
    else:
        console.print(
            f"[green]{escape(str(path))}: {rows} rows, no problem.[/green]", soft_wrap=True
        )


@registry_app.command("locate")
def locate(
    file: Path | None = FILE_ARGUMENT,
    out: Path = OUT_OPTION,
) -> None:
    """Write each row with its commune, EPCI, zone d'emploi, département, région and precision.

    Nothing is written when the registry has a problem. Cells a spreadsheet would
    run as formulas are written with a leading ' (they stay text).
    """
    console = Console()
    try:
        check_suffix(out)
    except ExportFormatError as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from None
    path, (communes, crosswalk, former_names), problems = _check(file, console)
    if problems:
        console.print(
            _problem_table(problems, f"{path}: {len(problems)} problem(s); nothing written")
        )
        raise typer.Exit(1)
    _print_warnings(path, console)
    located = geocoding.locate(
        registry.read_registry(path), communes, crosswalk, former_names=former_names
    ).reset_index()
    write_table(located, out)
    counts = located["location_precision"].value_counts().to_dict()
    console.print(
        f"[green]wrote {escape(str(out))}: {len(located)} rows[/green] "
        + ", ".join(f"{k}: {v}" for k, v in counts.items())
    )
    renamed = located[located["location_method"] == "former_name"]
    for row in renamed.itertuples():
        detail = escape(row.location_detail)
        console.print(f"row {row.row}: {escape(row.commune_name)} is a former commune: {detail}")


def register(app: typer.Typer) -> None:
    """Attach this group's commands to the main app."""
    app.add_typer(registry_app, name="registry")
