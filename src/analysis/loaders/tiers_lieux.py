"""Reader of the CGET 2019 tiers-lieux list (Mission Coworking), as registry-format rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import sources
from analysis.loaders._read import landing_page_and_title, require_columns

SOURCE = "cget_tiers_lieux_2019"
COLUMNS = ("ID", "NOM_TL", "INSEECOM", "LAT", "LONG", "TYPO")
"""Columns of the raw CSV the reader uses."""


def tiers_lieux_to_registry(
    raw: pd.DataFrame, *, source_url: str = "", source_title: str = "", where: str = "tiers-lieux"
) -> pd.DataFrame:
    """CGET 2019 tiers-lieux rows as registry rows (kind ``tiers_lieu``).

    ``INSEECOM`` codes are of the COG 2019 (resolved later through the
    crosswalk); a code ``0`` leaves the row to its coordinates. The file's
    zones d'emploi (2010) and départements are ignored: the backbone recomputes them.
    """
    require_columns(raw, COLUMNS, where)
    code = raw["INSEECOM"].str.strip()
    code = code.where(code != "0", "").str.zfill(5).where(code != "0", "")
    typology = raw["TYPO"].str.strip().str.replace("Tiers lieux à dominante ", "", regex=False)
    frame = pd.DataFrame(
        {
            "initiative_id": "tl2019-" + raw["ID"].str.strip(),
            "name": raw["NOM_TL"].str.strip(),
            "kind": "tiers_lieu",
            "wave": "cget2019",
            "year": "2019",
            "lead_structure": "",
            "commune_code": code,
            "commune_name": "",
            "dep_code": "",
            "reg_code": "",
            "longitude": raw["LONG"].str.strip(),
            "latitude": raw["LAT"].str.strip(),
            "perimeter_communes": "",
            "themes": typology,
            "source_url": source_url,
            "source_title": source_title,
            "note": np.where(code == "", "code commune absent (0) : placé par ses coordonnées", ""),
            "source_id": "cget_tiers_lieux_2019",
        }
    )
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    frame.attrs["path"] = where
    return frame


def load_tiers_lieux(path: Path | None = None) -> pd.DataFrame:
    """The CGET 2019 tiers-lieux as registry rows (row = line of the raw CSV)."""
    path = path or sources.require_raw(SOURCE)
    url, title = landing_page_and_title(SOURCE)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return tiers_lieux_to_registry(raw, source_url=url, source_title=title, where=str(path))
