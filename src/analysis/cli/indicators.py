"""`ptce indicators list|export`: the indicator dictionary, and one indicator as a spreadsheet."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from analysis import indicators, labels
from analysis.indicators import INDICATORS, export_indicator

indicators_app = typer.Typer(
    help="Territorial indicators: list the dictionary, export one indicator (CSV/XLSX).",
    no_args_is_help=True,
)

LANG_OPTION = typer.Option("fr", "--lang", help="Label language: fr or en.")
LEVEL_OPTION = typer.Option(..., "--level", "-l", help="commune, epci, ze2020, dep, reg or fr.")
OUT_OPTION = typer.Option(..., "--out", "-o", help="File to write: .csv or .xlsx.")
PERIOD_OPTION = typer.Option(
    None, "--period", "-p", help="Keep this period (repeatable), e.g. 2008-Q1 or 2019."
)
FULL_OPTION = typer.Option(False, "--full", help="Also print each definition.")
COVERAGE_OPTION = typer.Option(
    False, "--coverage", help="Print what the built panel holds (levels, periods) instead."
)
INDICATOR_ARGUMENT = typer.Argument(..., help="Indicator name (see `ptce indicators list`).")


@indicators_app.command("list")
def list_indicators(
    lang: str = LANG_OPTION,
    full: bool = FULL_OPTION,
    coverage: bool = COVERAGE_OPTION,
) -> None:
    """Print the indicator dictionary: name, label, unit, aggregation rule, sources."""
    if coverage:
        try:
            frame = indicators.coverage()
        except FileNotFoundError as error:
            Console(stderr=True).print(f"[red]{error}[/red]")
            raise typer.Exit(2) from error
        table = Table(title="Panel coverage")
        for column in frame.columns:
            table.add_column(column, overflow="fold")
        for row in frame.itertuples(index=False):
            table.add_row(*(str(v) for v in row))
        Console(width=200).print(table)
        return

    suffix = "en" if lang == "en" else "fr"
    table = Table(title=labels.text("indicator_dictionary", suffix), show_lines=full)
    for column in ("indicator", "label", "unit", "aggregation", "sources"):
        table.add_column(column, overflow="fold")
    if full:
        table.add_column("definition", overflow="fold")
    for name, row in INDICATORS.iterrows():
        cells = [
            name,
            row[f"label_{suffix}"],
            row[f"unit_label_{suffix}"],
            row["aggregation"],
            ", ".join(row["source_ids"]),
        ]
        if full:
            cells.append(row[f"definition_{suffix}"])
        table.add_row(*cells)
    Console(width=200).print(table)


@indicators_app.command("export")
def export(
    indicator: str = INDICATOR_ARGUMENT,
    level: str = LEVEL_OPTION,
    out: Path = OUT_OPTION,
    period: list[str] = PERIOD_OPTION,
    lang: str = LANG_OPTION,
) -> None:
    """Write one indicator at one level, territories × periods, with its sources.

    CSV files start with '#' lines (label, unit, definition, sources): read them
    with pandas.read_csv(path, comment="#"). XLSX files have a 'sources' sheet.
    """
    console = Console(stderr=True)
    try:
        path = export_indicator(indicator, level, out, periods=period or None, lang=lang)
    except (KeyError, ValueError, FileNotFoundError) as error:
        console.print(f"[red]{error.args[0] if error.args else error}[/red]")
        raise typer.Exit(2) from error
    console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Attach this group's commands to the main app."""
    app.add_typer(indicators_app, name="indicators")
