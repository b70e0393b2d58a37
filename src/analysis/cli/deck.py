"""`ptce deck` and `ptce gallery`: a PowerPoint deck and an HTML gallery of the saved figures."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from analysis import paths
from analysis.gallery import build_deck, find_figures, write_gallery

console = Console()
error_console = Console(stderr=True)


def _figure_roots(
    reports: list[str] | None, all_reports: bool, figures_dir: Path | None
) -> list[Path]:
    """The folders whose figures go into the deck, from the mutually exclusive options."""
    chosen = int(bool(reports)) + int(figures_dir is not None) + int(all_reports)
    if chosen > 1:
        raise typer.BadParameter("use only one of --report NAME, --all or --figures-dir DIR.")
    if figures_dir is not None:
        return [figures_dir]
    if not reports:
        return [paths.reports_dir()]
    known = (
        sorted(
            p.name
            for p in paths.reports_dir().iterdir()
            if p.is_dir() and not paths.is_hidden(p, paths.reports_dir())  # a killed build
        )
        if paths.reports_dir().is_dir()
        else []
    )
    roots: list[Path] = []
    for pattern in reports:
        matched = fnmatch.filter(known, pattern)
        if not matched:
            raise typer.BadParameter(
                f"no report matches {pattern!r} in {paths.reports_dir()}; "
                f"available: {', '.join(known) or 'none (run `ptce report` first)'}.",
                param_hint="--report",
            )
        roots += [
            paths.reports_dir() / name for name in matched if name not in {r.name for r in roots}
        ]
    return roots


def deck(
    out: Annotated[Path, typer.Option("--out", help="The .pptx file to write.")],
    reports: Annotated[
        list[str] | None,
        typer.Option(
            "--report",
            help="Only the figures of reports/NAME (a national report or one territory's); "
            "shell patterns such as 'national-*' work; repeatable.",
        ),
    ] = None,
    all_reports: Annotated[
        bool, typer.Option("--all", help="Every figure under reports/ (the default).")
    ] = False,
    figures_dir: Annotated[
        Path | None,
        typer.Option("--figures-dir", help="Any folder of figures saved by save_figure()."),
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="Add a cover slide with this title.")
    ] = None,
) -> None:
    """Build a 16:9 PowerPoint deck: one figure per slide, title, alt text and sources in notes."""
    roots = _figure_roots(reports, all_reports, figures_dir)
    root = roots[0] if len(roots) == 1 else paths.reports_dir()
    try:
        records = [record for folder in roots for record in find_figures(folder)]
        if not records:
            raise ValueError(
                f"no figure found under {', '.join(map(str, roots))}: save figures with "
                "save_figure() or run `ptce report` first."
            )
        written = build_deck(records, out, title=title)
    except (FileNotFoundError, ValueError) as error:
        error_console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    console.print(f"{written}: {len(records)} figure(s) from {root}")


def gallery(
    figures_dir: Annotated[
        Path | None,
        typer.Option("--figures-dir", help="Folder searched for figures (default reports/)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="HTML page (default reports/figures/index.html, or <figures-dir>/index.html).",
        ),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Page language: fr or en.")] = "fr",
) -> None:
    """Write the HTML gallery: each figure with caption, sources, alt text, links to each format."""
    try:
        written = write_gallery(figures_dir, out, lang=lang)
    except (FileNotFoundError, ValueError) as error:
        error_console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    console.print(f"{written}")


def register(app: typer.Typer) -> None:
    """Attach this group's commands to the main app."""
    app.command("deck")(deck)
    app.command("gallery")(gallery)
