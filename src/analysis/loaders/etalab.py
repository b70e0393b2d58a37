"""Reader of the @etalab/decoupage-administratif npm package: communes and EPCI."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pandas as pd

from analysis import sources

SOURCE = "etalab_decoupage"
_MEMBER = "package/data/{table}.json"
FORMER_COMMUNE_TYPES = ("commune-deleguee", "commune-associee")
"""Types of the package's rows that name a former commune inside today's one."""


def read_etalab(path: Path | None = None) -> dict[str, pd.DataFrame]:
    """``communes`` and ``epci`` of the package, as shipped (one row per JSON object).

    ``communes`` holds today's communes (``type == "commune-actuelle"``, with
    ``anciensCodes``), the communes déléguées and associées (``nom`` and the
    commune they belong to, ``chefLieu``) and the municipal arrondissements.
    """
    path = path or sources.require_raw(SOURCE)
    out = {}
    with tarfile.open(path, "r:gz") as archive:
        for table in ("communes", "epci"):
            member = _MEMBER.format(table=table)
            try:
                handle = archive.extractfile(member)
            except KeyError:
                raise ValueError(f"{path}: member {member} not found in the npm package.") from None
            out[table] = pd.DataFrame(json.load(handle))
    return out
