"""``python -m analysis`` runs the ``ptce`` command."""

from analysis.cli import main

if __name__ == "__main__":
    main()
