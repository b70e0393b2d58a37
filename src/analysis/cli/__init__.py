"""The ``ptce`` command: thin wrappers over the package, one module per command group.

A command group's module is imported only when one of its commands runs
(:func:`main`): ``ptce report`` with nothing to redo must answer in a second or
two, not after importing the plotting, estimation and notebook stacks the
other commands need (several seconds). ``from analysis.cli import app`` gives
the application with every command (tests, documentation).
"""

from __future__ import annotations

import importlib
import sys

import typer

COMMAND_MODULES: dict[str, str] = {
    "data": "data",
    "territories": "territories",
    "registry": "registry",
    "indicators": "indicators",
    "resilience": "resilience",
    "did": "did",
    "report": "report",
    "fiche": "fiche",
    "deck": "deck",
    "gallery": "deck",
}
"""Each top-level command and the module of ``analysis.cli`` that registers it."""

HELP = (
    "PTCE resilience toolkit: data intake, territories, cooperation registry, "
    "indicators, resilience measures, reports and figures."
)


def build_app(commands: list[str] | None = None) -> typer.Typer:
    """The ``ptce`` application with ``commands`` (default: every command) registered."""
    app = typer.Typer(name="ptce", help=HELP, no_args_is_help=True, add_completion=False)

    @app.callback()
    def _group() -> None:
        """PTCE resilience toolkit (``ptce COMMAND --help`` for one command)."""

    modules = dict.fromkeys(COMMAND_MODULES[c] for c in (commands or COMMAND_MODULES))
    for module in modules:
        importlib.import_module(f"{__name__}.{module}").register(app)
    return app


def main() -> None:
    """Entry point of ``ptce``: imports only the command asked for (every one for ``--help``)."""
    asked = next((argument for argument in sys.argv[1:] if not argument.startswith("-")), None)
    build_app([asked] if asked in COMMAND_MODULES else None)()


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # every command, built on first use
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
