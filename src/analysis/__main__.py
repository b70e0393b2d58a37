"""``python -m analysis`` runs the ``ptce`` command."""

from analysis.cli import app

if __name__ == "__main__":
    app()
