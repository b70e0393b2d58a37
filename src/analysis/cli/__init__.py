"""The ``ptce`` command: thin wrappers over the package, one module per command group."""

from __future__ import annotations

import typer

from analysis.cli import (
    data,
    deck,
    did,
    fiche,
    indicators,
    registry,
    report,
    resilience,
    territories,
)

app = typer.Typer(
    name="ptce",
    help="PTCE resilience toolkit: data intake, territories, cooperation registry, "
    "indicators, resilience measures, reports and figures.",
    no_args_is_help=True,
    add_completion=False,
)

for group in (data, territories, registry, indicators, resilience, did, report, fiche, deck):
    group.register(app)
