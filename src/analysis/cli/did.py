"""`ptce did`: staggered difference-in-differences of an indicator on the PTCE or TZCLD labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape

from analysis import indicators, registry, staggered
from analysis.atomic import write_csv_atomically
from analysis.resilience import RATE_INDICATORS

WAVE_LABEL_PERIODS: dict[str, str] = {
    "aap2013_laureat": "2014-Q1",  # winners of the first national call, 10 Jan 2014
    "aap2015_laureat": "2016-Q1",  # winners of the second call, 14 Jan 2016
    "ami2023_laureat": "2023-Q4",  # winners announced 17 Oct 2023
    "tzcld_phase1": "2016-Q4",  # arrêté of 24 Nov 2016
    "tzcld_phase2": "2021-Q4",  # territories authorised from Nov 2021
}
"""Quarter of each dated wave (dates from ``data/registry/README.md``). The 2021 call
(``ami2021_*``) and ``other_known`` rows carry a year only: they are placed in the
first quarter of their ``year`` (``date_precision`` = ``year`` in the timing table)."""


def load_did_inputs(
    indicator: str, level: str, kind: str, registry_path: Path | str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Load the wide panel, the first-label periods and the long panel of one staggered design.

    A loader (reads ``indicators.parquet`` and ``cooperation.parquet``); it
    stays here until ``analysis.datasets`` exists, then moves there.

    Args:
        indicator, level: the outcome panel.
        kind: ``ptce`` or ``tzcld``.
        registry_path: a custom registry CSV (default: the built cooperation table).

    Returns:
        (wide panel, timing per treated territory, long panel for
        :func:`analysis.staggered.staggered_did`).
    """
    panel = indicators.get(indicator, level)
    if panel.empty:
        raise ValueError(f"no {indicator!r} values at level {level!r}")
    frequency = staggered.period_frequency([str(c) for c in panel.columns])
    initiatives = (
        registry.compute_cooperation(registry_path)[0]
        if registry_path
        else registry.load_cooperation()
    )
    timing = staggered.first_label_periods(
        initiatives, level, kind, WAVE_LABEL_PERIODS, frequency=frequency
    )
    long = staggered.long_panel_with_timing(
        panel, timing, exclude=timing.attrs["undated_territories"]
    )
    return panel, timing, long


def run_did(
    indicator: str,
    level: str,
    kind: str,
    *,
    control_group: str = "never_treated",
    estimators: tuple[str, ...] = staggered.ESTIMATORS,
    registry_path: Path | str | None = None,
    log_outcome: bool | None = None,
    start: str | None = None,
) -> tuple[staggered.StaggeredResult, pd.DataFrame, pd.DataFrame]:
    """Load and estimate; returns (result, timing, dropped units with reasons).

    ``log_outcome`` defaults to True for counts (jobs, payroll: effects in log
    points ≈ %) and False for rates (effects in percentage points).
    """
    _panel, timing, long = load_did_inputs(indicator, level, kind, registry_path)
    if log_outcome is None:
        log_outcome = indicator not in RATE_INDICATORS
    result = staggered.staggered_did(
        long,
        control_group=control_group,
        estimators=estimators,
        log_outcome=log_outcome,
        start=start,
    )
    extra = [
        (code, None, f"hosts a {kind} of unknown date: neither treated at a known date nor control")
        for code in long.attrs["excluded"]
    ] + [
        (code, None, f"labelled {kind} but no {indicator} series at level {level}")
        for code in long.attrs["treated_not_in_panel"]
    ]
    dropped = pd.concat(
        [result.dropped, pd.DataFrame(extra, columns=["unit", "first_treated", "reason"])],
        ignore_index=True,
    )
    return result, timing, dropped


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
                help="Event-study CSV; the group-time, overall and dropped tables are written "
                "beside it (<out>.group_time.csv, <out>.overall.csv, <out>.dropped.csv).",
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
            result, timing, dropped = run_did(
                indicator,
                level,
                treatment,
                control_group=control_group,
                start=start,
                registry_path=registry,
            )
        except (KeyError, ValueError, FileNotFoundError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=1) from error
        write_csv_atomically(result.event_study, out, index=False, float_format="%.6g")
        stem = out.with_suffix("")
        sidecars = {
            "group_time": result.group_time,
            "overall": result.overall,
            "dropped": dropped,
        }
        for name, table in sidecars.items():
            write_csv_atomically(
                table, stem.with_name(f"{stem.name}.{name}.csv"), index=False, float_format="%.6g"
            )
        kept = dropped["reason"].str.startswith("labelled after the panel ends")
        console.print(
            f"{len(timing)} {escape(treatment)} territories with a dated label; "
            f"{int((~kept).sum())} units dropped, {int(kept.sum())} labelled after the panel "
            f"kept as never treated (see {escape(str(stem))}.dropped.csv)"
        )
        for _, row in result.overall.iterrows():
            console.print(
                f"  {escape(row['estimator'])}: ATT {row['att']:.3f} "
                f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}], pre-trend p = "
                f"{row['pretrend_pvalue']:.3f}"
            )
        console.print(f"→ {escape(str(out))}")
