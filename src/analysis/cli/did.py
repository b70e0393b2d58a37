"""`ptce did`: staggered difference-in-differences of an indicator on the PTCE or TZCLD labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from analysis import datasets
from analysis.cli.tables import TABLE_OUT_HELP, checked_table_out
from analysis.exports import write_table


def register(app: typer.Typer) -> None:
    """Attach the ``did`` command to the main app."""

    @app.command("did")
    def did_command(
        indicator: Annotated[
            str, typer.Option("--indicator", help="Outcome, e.g. unemployment_rate.")
        ],
        level: Annotated[str, typer.Option("--level", help="Territorial level: ze2020, dep.")],
        treatment: Annotated[
            str, typer.Option("--treatment", help="Kind of label: ptce or tzcld.")
        ],
        out: Annotated[
            Path,
            typer.Option(
                "--out",
                help=f"The event study. {TABLE_OUT_HELP} The group-time, overall and dropped "
                "tables are written beside it in the same format (<out>.group_time.csv, "
                "<out>.overall.csv, <out>.dropped.csv).",
                callback=checked_table_out,
            ),
        ],
        control_group: Annotated[
            str,
            typer.Option("--control-group", help="never_treated or not_yet_treated."),
        ] = "never_treated",
        start: Annotated[
            str | None,
            typer.Option("--start", help="First period kept, e.g. 2010-Q1 (default: all)."),
        ] = None,
        registry: Annotated[
            Path | None,
            typer.Option("--registry", help="Custom registry CSV (default: the project's)."),
        ] = None,
    ) -> None:
        """Staggered difference-in-differences: does a territory's path change after its label?

        Callaway & Sant'Anna group-time effects (event study −12…+12 periods,
        overall effect, joint pre-trend test), Gardner's did2s, and the naive
        two-way fixed-effects estimate as the biased reference.
        """
        console = Console()
        try:
            result, timing, dropped = datasets.compute_staggered(
                indicator,
                level,
                treatment,
                control_group=control_group,
                start=start,
                initiatives=datasets.load_initiatives(registry),
            )
        except (KeyError, ValueError, FileNotFoundError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=1) from error
        write_table(result.event_study, out, sheet_name="event_study", float_format="%.6g")
        stem = out.with_suffix("")
        sidecars = {
            "group_time": result.group_time,
            "overall": result.overall,
            "dropped": dropped,
        }
        for name, table in sidecars.items():
            write_table(
                table,
                stem.with_name(f"{stem.name}.{name}{out.suffix}"),
                sheet_name=name,
                float_format="%.6g",
            )
        kept = dropped["reason"].str.startswith("labelled after the panel ends")
        console.print(
            f"{len(timing)} {escape(treatment)} territories with a dated label; "
            f"{int((~kept).sum())} units dropped, {int(kept.sum())} labelled after the panel "
            f"kept as never treated (see {escape(str(stem))}.dropped{escape(out.suffix)})"
        )
        for _, row in result.overall.iterrows():
            console.print(
                f"  {escape(row['estimator'])}: ATT {row['att']:.3f} "
                f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}], pre-trend p = "
                f"{row['pretrend_pvalue']:.3f}"
            )
        console.print(f"→ {escape(str(out))}")
