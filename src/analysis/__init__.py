"""PTCE resilience toolkit: cooperation initiatives, territories, indicators and shocks."""

__version__ = "0.1.0"
