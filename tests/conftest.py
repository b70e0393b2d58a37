"""Shared fixtures: the real data (fetched from the mirror) and the processed tables.

Unit tests build their data inline. Integration tests (marked ``integration``)
use the fixtures below, which fetch ``data/raw`` from the data mirror when it is
missing (``DATA_MIRROR``, else ``../shared/data/mirror`` beside the checkout) and
build the processed tables through :mod:`analysis.build`, which skips up-to-date
steps.
"""

from __future__ import annotations

import os

import pytest

from analysis import build, paths, sources


def data_mirror():
    """The data mirror: ``DATA_MIRROR``, else ``../shared/data/mirror`` beside the checkout."""
    value = os.environ.get("DATA_MIRROR")
    if value:
        return sources.mirror_from_environment(value)
    return paths.DEFAULT_MIRROR if paths.DEFAULT_MIRROR.is_dir() else None


@pytest.fixture(scope="session")
def mirror():
    """The data mirror folder; integration tests fail (not skip) without it."""
    folder = data_mirror()
    if folder is None:
        pytest.fail("set DATA_MIRROR to the data mirror (e.g. ../shared/data/mirror)")
    return folder


@pytest.fixture(scope="session")
def raw_data() -> None:
    """Every catalogue source present and verified in ``data/raw``."""
    catalogue = sources.load_catalogue()
    missing = [
        s for s in catalogue.values() if sources.source_status(s) is not sources.Status.PRESENT
    ]
    if not missing:
        return
    mirror = data_mirror()
    if mirror is None:
        pytest.fail(
            "integration tests need the raw data: set DATA_MIRROR to the data mirror "
            "(e.g. ../shared/data/mirror) or run `ptce data fetch` first."
        )
    for source in missing:
        sources.fetch_source(source, mirror)


@pytest.fixture(scope="session")
def backbone(raw_data) -> None:
    """``communes.parquet`` and ``territories/<level>.parquet`` built and current."""
    build.ensure_built("backbone")


@pytest.fixture(scope="session")
def indicators_built(raw_data) -> None:
    """``indicators.parquet`` built and current."""
    build.ensure_built("indicators")


@pytest.fixture(scope="session")
def cooperation_built(raw_data) -> None:
    """``cooperation.parquet`` built and current."""
    build.ensure_built("cooperation")
