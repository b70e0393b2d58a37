"""`ptce fiche`: one territory's fiche on demand (any région, département, zone d'emploi, EPCI)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from analysis.atomic import ProcessedDataError
from analysis.keys import FICHE_LEVELS, LANGS
from analysis.reports import fiches, pdf

console = Console()
error_console = Console(stderr=True)


def fiche(
    level: Annotated[
        str, typer.Option("--level", help=f"Level of the territory: {', '.join(FICHE_LEVELS)}.")
    ],
    code: Annotated[str, typer.Option("--code", help="Its code at that level (e.g. 200054781).")],
    lang: Annotated[str, typer.Option("--lang", help="fr or en.")] = "fr",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder of the fiche (default reports/interactive/fiche-<level>-<code>)."
        ),
    ] = None,
    registry: Annotated[
        Path | None, typer.Option("--registry", help="A custom registry CSV.", dir_okay=False)
    ] = None,
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="HTML page only.")] = False,
) -> None:
    """Make one fiche: HTML page and printable A4 PDF (headless Chromium)."""
    if lang not in LANGS:
        raise typer.BadParameter(f"--lang must be one of {', '.join(LANGS)}.")
    try:
        made = fiches.make_fiche(
            level, code, out, lang=lang, registry_path=str(registry or ""), pdf=not no_pdf
        )
    except ProcessedDataError as error:  # a damaged table: the message names it and the fix
        error_console.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
        raise typer.Exit(2) from None
    except (ValueError, pdf.ChromiumMissing, RuntimeError) as error:
        error_console.print(f"[bold red]error:[/] {escape(str(error))}")
        raise typer.Exit(1) from None
    for key in ("html", "pdf"):
        if key in made:
            console.print(f"{key}: {escape(str(made[key]))}")
    console.print(
        f"notebook {made['execute_s']:.1f} s, HTML {made['html_s']:.1f} s, "
        f"PDF {made['pdf_s']:.1f} s"
    )


def register(app: typer.Typer) -> None:
    """Attach this group's commands to the main app."""
    app.command("fiche")(fiche)
