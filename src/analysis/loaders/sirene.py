"""Reader of an extract of INSEE's SIRENE stock: establishments joined to their legal units.

The stock (``StockEtablissement`` and ``StockUniteLegale``, CSV, several
gigabytes each) is published monthly on data.gouv.fr
(https://www.data.gouv.fr/fr/datasets/base-sirene-des-entreprises-et-de-leurs-etablissements-siren-siret/).
It is an optional source: the build works without it. This reader accepts the
full stock or any extract with the same column names (a department, a sample),
plain or zipped, and reads it in chunks, keeping only the columns it needs.

Legal categories are INSEE's nomenclature « Catégories juridiques », niveau III
(https://www.insee.fr/fr/information/2028129; the code list is also published as
an XML schema, http://xml.insee.fr/schema/cj-enum.html):

* SCOP: ``5458`` SARL coopérative ouvrière de production (SCOP), ``5558`` SA
  coopérative ouvrière de production (SCOP) à conseil d'administration, ``5658``
  SA coopérative ouvrière de production (SCOP) à directoire.
* SCIC have **no category of their own**: they are SARL, SA or SAS
  coopératives, filed under ``5460`` Autre SARL coopérative, ``5560`` Autre SA
  coopérative à conseil d'administration, ``5660`` Autre SA coopérative à
  directoire, or ``5710`` SAS. A legal unit counts as a SCIC here when its
  category is one of these *and* its name or acronym says « SCIC » or
  « coopérative d'intérêt collectif » — a lower bound, stated in the README.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.loaders._read import SourceFormatError, require_columns

ESTABLISHMENTS_SOURCE = "insee_sirene_etablissements"
LEGAL_UNITS_SOURCE = "insee_sirene_unites_legales"

ESTABLISHMENT_COLUMNS = (
    "siret",
    "siren",
    "etatAdministratifEtablissement",
    "codeCommuneEtablissement",
    "dateCreationEtablissement",
    "etablissementSiege",
)
"""Columns of ``StockEtablissement`` the reader needs (INSEE's names)."""

LEGAL_UNIT_COLUMNS = (
    "siren",
    "categorieJuridiqueUniteLegale",
    "economieSocialeSolidaireUniteLegale",
    "etatAdministratifUniteLegale",
    "denominationUniteLegale",
)
"""Columns of ``StockUniteLegale`` the reader needs (INSEE's names)."""

OPTIONAL_LEGAL_UNIT_COLUMNS = ("sigleUniteLegale", "dateCreationUniteLegale")
"""Read when present (the acronym helps recognise a SCIC)."""

ACTIVE = "A"
"""``etatAdministratif…`` of an active establishment or legal unit (``F``: closed)."""

ESS_YES = "O"
"""``economieSocialeSolidaireUniteLegale`` of a legal unit of the ESS."""

SCOP_CATEGORIES: tuple[str, ...] = ("5458", "5558", "5658")
"""Legal categories of the SCOP (INSEE, catégories juridiques niveau III)."""

SCIC_CANDIDATE_CATEGORIES: tuple[str, ...] = ("5460", "5560", "5660", "5710")
"""Categories a SCIC can have (other SARL/SA coopératives, SAS): see the module docstring."""

SCIC_NAME = re.compile(r"\bS\.?C\.?I\.?C\b|coop[ée]rative d.int[ée]r[êe]t collectif", re.IGNORECASE)

CHUNK_ROWS = 500_000
"""Rows read at a time (the full establishment stock has tens of millions)."""


def _read_filtered(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...], keep
) -> pd.DataFrame:
    """Read the needed columns of a SIRENE CSV chunk by chunk, keeping rows ``keep`` selects."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: put an extract of the SIRENE stock there "
            "(see data/sources.toml, optional sources)."
        )
    try:
        header = pd.read_csv(path, nrows=0, dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise SourceFormatError(path, f"cannot be read as a SIRENE CSV ({error})") from None
    require_columns(header, required, path)
    wanted = [*required, *(c for c in optional if c in header.columns)]
    parts = []
    for chunk in pd.read_csv(
        path, usecols=wanted, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS
    ):
        parts.append(chunk[keep(chunk)])
    return pd.concat(parts, ignore_index=True) if parts else header.reindex(columns=wanted)


def read_legal_units(path: Path) -> pd.DataFrame:
    """Active legal units of the ESS, the SCOP and the SCIC candidates, with a ``kind`` column.

    ``kind`` is ``scop``, ``scic`` or empty (another ESS legal unit); ``is_ess``
    says whether INSEE flags the unit as ESS.
    """

    def keep(chunk: pd.DataFrame) -> pd.Series:
        category = chunk["categorieJuridiqueUniteLegale"]
        return (chunk["etatAdministratifUniteLegale"] == ACTIVE) & (
            (chunk["economieSocialeSolidaireUniteLegale"] == ESS_YES)
            | category.isin(SCOP_CATEGORIES)
            | category.isin(SCIC_CANDIDATE_CATEGORIES)
        )

    units = _read_filtered(path, LEGAL_UNIT_COLUMNS, OPTIONAL_LEGAL_UNIT_COLUMNS, keep)
    names = units["denominationUniteLegale"] + " " + units.get("sigleUniteLegale", "")
    category = units["categorieJuridiqueUniteLegale"]
    is_scic = category.isin(SCIC_CANDIDATE_CATEGORIES) & names.str.contains(SCIC_NAME)
    units["kind"] = ""
    units.loc[category.isin(SCOP_CATEGORIES), "kind"] = "scop"
    units.loc[is_scic, "kind"] = "scic"
    units["is_ess"] = units["economieSocialeSolidaireUniteLegale"] == ESS_YES
    units = units[units["is_ess"] | (units["kind"] != "")]
    if units["siren"].duplicated().any():
        raise SourceFormatError(path, "a siren appears on several lines", column="siren")
    return units.reset_index(drop=True)


def read_sirene(establishments_path: Path, legal_units_path: Path) -> pd.DataFrame:
    """Active establishments of ESS legal units, SCOP and SCIC, with their legal unit's fields.

    Closed establishments (``etatAdministratifEtablissement == "F"``) and closed
    legal units are left out.

    Returns:
        One row per establishment: siret, siren, commune_code (INSEE's
        ``codeCommuneEtablissement``: COG of the stock's month, municipal
        arrondissements for Paris/Lyon/Marseille, empty abroad),
        creation_date, is_head_office, name, legal_category, kind (``scop``,
        ``scic`` or empty), is_ess.
    """
    units = read_legal_units(legal_units_path)
    wanted = set(units["siren"])

    def keep(chunk: pd.DataFrame) -> pd.Series:
        return (chunk["etatAdministratifEtablissement"] == ACTIVE) & chunk["siren"].isin(wanted)

    establishments = _read_filtered(establishments_path, ESTABLISHMENT_COLUMNS, (), keep)
    joined = establishments.merge(units, on="siren", how="inner", validate="many_to_one")
    return pd.DataFrame(
        {
            "siret": joined["siret"],
            "siren": joined["siren"],
            "commune_code": joined["codeCommuneEtablissement"].str.strip(),
            "creation_date": joined["dateCreationEtablissement"],
            "is_head_office": joined["etablissementSiege"].str.lower().isin(["true", "1", "o"]),
            "name": joined["denominationUniteLegale"].str.strip(),
            "legal_category": joined["categorieJuridiqueUniteLegale"],
            "kind": joined["kind"],
            "is_ess": joined["is_ess"],
        }
    )


def cooperatives_to_registry(
    establishments: pd.DataFrame, *, source_url: str, source_title: str, where: str = "SIRENE"
) -> pd.DataFrame:
    """SCOP and SCIC as registry rows: one per legal unit, placed at its head office.

    ``initiative_id`` is ``siren-<siren>``, the wave ``sirene_stock``, the year
    that of the head office's creation date (empty before 1980, the registry
    format's lower bound; the note keeps the date).
    """
    heads = establishments[(establishments["kind"] != "") & establishments["is_head_office"]]
    heads = heads.drop_duplicates("siren").sort_values("siren")
    year = heads["creation_date"].str[:4]
    # the registry format takes years from 1980: older creations keep their date in the note
    year = year.where(year.str.fullmatch(r"\d{4}") & (year >= "1980"), "")
    frame = pd.DataFrame(
        {
            "initiative_id": "siren-" + heads["siren"],
            "name": heads["name"],
            "kind": heads["kind"],
            "wave": "sirene_stock",
            "year": year,
            "lead_structure": "",
            "commune_code": heads["commune_code"],
            "commune_name": "",
            "dep_code": "",
            "reg_code": "",
            "longitude": "",
            "latitude": "",
            "perimeter_communes": "",
            "themes": "",
            "source_url": source_url,
            "source_title": source_title,
            "note": "SIREN "
            + heads["siren"]
            + ", catégorie juridique "
            + heads["legal_category"]
            + ", créé le "
            + heads["creation_date"],
            "source_id": LEGAL_UNITS_SOURCE,
        }
    )
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    frame.attrs["path"] = where
    return frame
