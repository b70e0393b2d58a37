"""`ptce resilience` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from analysis import datasets, territories
from analysis.cli.tables import TABLE_OUT_HELP, checked_table_out
from analysis.exports import write_table


def resilience_table(
    indicator: str,
    level: str,
    shock: str,
    *,
    registry: Path | None = None,
    overrides: dict | None = None,
    with_cooperation: bool = True,
) -> pd.DataFrame:
    """Indices per territory with code, name, the window and (optionally) cooperation flags."""
    indices, _window = datasets.compute_resilience(indicator, level, shock, overrides=overrides)
    names = territories.territory_names(level).rename("territory_name")
    names.index = names.index.astype(str)
    table = indices.join(names, how="left", validate="one_to_one")
    if with_cooperation:
        initiatives = None if registry is None else datasets.load_initiatives(registry)
        cooperation = datasets.treatment_by_territory(level, initiatives)
        keep = [c for c in cooperation.columns if c.startswith(("is_", "n_"))]
        table = table.join(cooperation[keep], how="left", validate="one_to_one")
        for column in keep:
            if column.startswith("is_"):
                table[column] = table[column].astype("boolean").fillna(False)
            else:
                table[column] = table[column].fillna(0)
    table = table.reset_index()
    first = ["territory_code", "territory_name"]
    return table[first + [c for c in table.columns if c not in first]]


def register(app: typer.Typer) -> None:
    """Attach this group's commands to the main app."""

    @app.command("resilience")
    def resilience_command(
        indicator: Annotated[
            str,
            typer.Option(
                "--indicator", help="Indicator, e.g. unemployment_rate or salaried_employment_sa."
            ),
        ],
        level: Annotated[
            str, typer.Option("--level", help="Territorial level: ze2020, dep, reg, epci.")
        ],
        shock: Annotated[str, typer.Option("--shock", help="recession_2008 or covid_2020.")],
        out: Annotated[
            Path,
            typer.Option(
                "--out",
                help=f"{TABLE_OUT_HELP} One row per territory.",
                callback=checked_table_out,
            ),
        ],
        registry: Annotated[
            Path | None,
            typer.Option("--registry", help="Custom registry CSV (default: the project's)."),
        ] = None,
        peak: Annotated[
            str | None,
            typer.Option("--peak", help="Override the detected national peak (e.g. 2008-Q1)."),
        ] = None,
        trough: Annotated[
            str | None, typer.Option("--trough", help="Override the detected national trough.")
        ] = None,
        recovery_end: Annotated[
            str | None,
            typer.Option("--recovery-end", help="Override the end of the recovery horizon."),
        ] = None,
        no_cooperation: Annotated[
            bool,
            typer.Option("--no-cooperation", help="Do not add the cooperation columns."),
        ] = False,
    ) -> None:
        """Write resilience indices per territory for one indicator, level and shock.

        Columns: territory_code, territory_name, every index (Lagravinese
        resistance/recovery with the reason when NaN, rise vs France in points, periods to return
        to the pre-shock value, cumulative loss vs pre-shock trend, own peak/trough),
        the shock window used, and the cooperation counts/flags.
        """
        overrides = {
            k: v
            for k, v in {"peak": peak, "trough": trough, "recovery_end": recovery_end}.items()
            if v
        }
        try:
            table = resilience_table(
                indicator,
                level,
                shock,
                registry=registry,
                overrides=overrides,
                with_cooperation=not no_cooperation,
            )
        except (KeyError, ValueError, FileNotFoundError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=1) from error
        write_table(table, out, sheet_name="resilience", float_format="%.6g")
        window = (
            table.iloc[0][["peak", "trough", "recovery_end", "window_source"]].to_dict()
            if len(table)
            else {}
        )
        typer.echo(f"{len(table)} territories → {out}  (window: {window})")
