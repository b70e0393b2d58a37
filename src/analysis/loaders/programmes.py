"""Loader for the ANCT programme memberships per commune (COG 2023)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.loaders._read import SourceFormatError, clean_code, require_columns

SOURCE = "anct_programmes_cog2023"
PERIOD = "2023"
PROGRAMMES = {
    "petites_villes_de_demain": ("id_pvd",),
    "territoires_industrie": ("id_ti",),
    "action_coeur_de_ville": ("id_acv", "id_acv2"),
    "france_services": ("id_fs",),
    "villages_avenir": ("id_va",),
    "cites_educatives": ("id_cite",),
    "cites_emploi": ("id_cde",),
}
"""Programme → identifier column(s) of the file; a commune is a member when one is filled.
CRTE is left out: nearly every commune is in one, so it does not discriminate."""


def load_programmes(path: Path) -> pd.DataFrame:
    """One row per commune (COG 2023): ``commune_code`` and one boolean column per programme."""
    try:
        frame = pd.read_csv(path, dtype="str", keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise SourceFormatError(path, f"cannot be parsed as CSV ({error})") from None
    needed = ["insee_com", *(c for columns in PROGRAMMES.values() for c in columns)]
    require_columns(frame, needed, path)
    out = pd.DataFrame({"commune_code": clean_code(frame["insee_com"], 5)})
    for programme, columns in PROGRAMMES.items():
        out[programme] = (
            frame.loc[:, list(columns)].apply(lambda c: c.str.strip() != "").any(axis=1)
        )
    if out["commune_code"].duplicated().any():
        raise SourceFormatError(path, "duplicated commune codes", column="insee_com")
    return out
