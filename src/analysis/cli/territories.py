"""`ptce territories show|crosswalk|report`: look up the territorial backbone."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from analysis import territories
from analysis.keys import LEVEL_CODE_COLUMN, ZONING_LEVELS

territories_app = typer.Typer(
    help="The territorial backbone: a commune's zonings, old codes, build decisions.",
    no_args_is_help=True,
)
console = Console()
error_console = Console(stderr=True)


def _fail(error: Exception) -> None:
    error_console.print(f"[red]error:[/red] {error}")
    raise typer.Exit(2) from None


@territories_app.command("show")
def show(code: Annotated[str, typer.Argument(help="Commune code, e.g. 61001 or 2A004.")]) -> None:
    """Which EPCI, zone d'emploi, département and région a commune is in, and its population."""
    try:
        communes = territories.load_communes(with_geometry=False).set_index("commune_code")
    except FileNotFoundError as error:
        _fail(error)
    wanted = territories.normalise_commune_code(pd.Series([code])).iloc[0]
    if wanted not in communes.index:
        crosswalk = territories.commune_code_crosswalk()
        targets = crosswalk.loc[crosswalk["old_commune_code"] == wanted, "commune_code"].tolist()
        hint = f"; it is now part of {', '.join(targets)}" if targets else ""
        _fail(KeyError(f"{wanted} is not a commune of the COG 2025{hint}"))
    row = communes.loc[wanted]
    table = Table(title=f"{row['commune_name']} ({wanted})")
    table.add_column("level")
    table.add_column("code")
    table.add_column("name")
    for level in ZONING_LEVELS[:-1]:
        column = LEVEL_CODE_COLUMN[level]
        name = territories.territory_names(level).get(row[column], "")
        table.add_row(level, row[column], name)
    console.print(table)
    area = "no boundary" if pd.isna(row["area_km2"]) else f"{row['area_km2']:.1f} km²"
    console.print(
        f"population {int(row['population']):,}; area {area}; zone from {row['ze2020_source']}"
    )


@territories_app.command("crosswalk")
def crosswalk(code: Annotated[str, typer.Argument(help="An older commune code.")]) -> None:
    """Today's commune(s) an older commune code maps to, with weights."""
    try:
        table = territories.commune_code_crosswalk()
    except FileNotFoundError as error:
        _fail(error)
    wanted = territories.normalise_commune_code(pd.Series([code])).iloc[0]
    rows = table.loc[table["old_commune_code"] == wanted]
    if rows.empty:
        _fail(KeyError(f"{wanted} is unknown to the crosswalk (not a commune code since 2003?)"))
    for row in rows.itertuples():
        console.print(f"{wanted} → {row.commune_code}  weight {row.weight:.3f}  ({row.kind})")


@territories_app.command("report")
def report(
    topic: Annotated[str | None, typer.Option(help="ze2020, boundary, epci or crosswalk.")] = None,
) -> None:
    """The decisions the backbone build took (zones inferred, boundaries, names)."""
    try:
        frame = territories.load_backbone_report()
    except FileNotFoundError as error:
        _fail(error)
    if topic:
        frame = frame.loc[frame["topic"] == topic]
    table = Table(*frame.columns)
    for values in frame.itertuples(index=False):
        table.add_row(*map(str, values))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Attach this group's commands to the main app."""
    app.add_typer(territories_app, name="territories")
