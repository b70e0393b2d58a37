"""Reader of ANCT's one-point-per-commune GeoJSON layers (Fabriques, Manufactures)."""

from __future__ import annotations

import html
import json
import re

import pandas as pd

from analysis import sources
from analysis.loaders._read import landing_page_and_title

FABRIQUES_SOURCE = "anct_fabriques_territoire"
MANUFACTURES_SOURCE = "anct_manufactures_proximite"

_CONTACT_NOTE = re.compile(
    r"\s*(?:\bbdd\b.*?)?(?:\b(?:modifier\s+)?(?:(?:e-?)?mail|courriel)\b\s*:?\s*)?"
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    re.IGNORECASE,
)
"""An e-mail address in a structure's name, with the database editor's note that comes
with it (``… bdd h.s = modifier mail name@example.fr``). Names such as ``Le C@pitole`` or
``StationW @ 153`` are not addresses and are kept."""
CONTACT_REMOVED_NOTE = "adresse électronique (et note d'édition) retirée du nom publié par l'ANCT"
"""The row's ``note`` when :func:`strip_contact` changed its name."""


def strip_contact(name: str) -> tuple[str, bool]:
    """A structure's name without the e-mail address (and editor's note) left in the source.

    One ANCT Fabrique's ``lib_territoire`` carries a database note and a person's
    e-mail address after the name; a name is not the place for contact data, so the
    displayed name drops it. The raw file is untouched (it stays as published and
    checksummed) and the row's ``note`` says what was removed.

    Returns:
        (the cleaned name — empty when it was only an address —, whether anything was
        removed).
    """
    cleaned = " ".join(_CONTACT_NOTE.sub("", name).split()).strip(" ,;=-")
    return (cleaned, True) if cleaned != name else (name, False)


def anct_points_to_registry(
    geojson: dict,
    kind: str,
    source_id: str,
    *,
    source_url: str = "",
    source_title: str = "",
    where: str = "",
) -> pd.DataFrame:
    """ANCT "one point per commune" GeoJSON as one registry row per structure.

    A feature lists its structures' ids in ``id_territoire`` and names in
    ``lib_territoire``, both separated by ';'. Rows are expanded to one per id;
    when the counts differ, a single id takes the whole text as its name and
    several ids sharing one name keep it (a note says so); anything else is an error.
    The wave comes from the id: ``manuprox-<round>-<n>`` gives
    ``manufacture_round<round>``; fabriques have one label: ``fabrique_label``.
    The point is the commune's, not the structure's address. An e-mail address left
    in a name is removed from it (:func:`strip_contact`), and the row's note says so.
    """
    records = []
    for number, feature in enumerate(geojson.get("features", []), start=1):
        properties = feature.get("properties") or {}
        ids = [
            part.strip()
            for part in str(properties.get("id_territoire", "")).split(";")
            if part.strip()
        ]
        text = " ".join(html.unescape(str(properties.get("lib_territoire", ""))).split())
        names = [part.strip() for part in text.split(";") if part.strip()]
        note = ""
        if len(ids) == len(names):
            pairs = list(zip(ids, names, strict=True))
        elif len(ids) == 1:
            pairs = [(ids[0], text)]
        elif len(names) == 1:
            pairs = [(i, names[0]) for i in ids]
            note = f"le fichier donne un seul nom pour {len(ids)} identifiants"
        else:
            raise ValueError(
                f"{where}: feature {number} (commune {properties.get('id_geo')}) lists "
                f"{len(ids)} ids but {len(names)} names; cannot pair them."
            )
        longitude, latitude = ("", "")
        geometry = feature.get("geometry") or {}
        if geometry.get("type") == "Point":
            longitude, latitude = (str(v) for v in geometry["coordinates"][:2])
        for identifier, source_name in pairs:
            name, had_contact = strip_contact(source_name)
            name = name or identifier  # a name that was only an address: the structure's id
            row_note = "; ".join(filter(None, [note, CONTACT_REMOVED_NOTE if had_contact else ""]))
            match = re.match(r"^manuprox-(\d+)-", identifier)
            wave = f"manufacture_round{match.group(1)}" if match else "fabrique_label"
            records.append(
                {
                    "initiative_id": identifier,
                    "name": name,
                    "kind": kind,
                    "wave": wave,
                    "year": "",
                    "lead_structure": "",
                    "commune_code": str(properties.get("id_geo", "")).strip(),
                    "commune_name": "",
                    "dep_code": "",
                    "reg_code": "",
                    "longitude": longitude,
                    "latitude": latitude,
                    "perimeter_communes": "",
                    "themes": "",
                    "source_url": source_url,
                    "source_title": source_title,
                    "note": row_note,
                    "source_id": source_id,
                    "feature": number,
                }
            )
    frame = pd.DataFrame.from_records(records)
    frame.index = pd.Index(frame.pop("feature"), name="row")
    frame.attrs["path"] = where
    return frame


def _load_anct_points(source_id: str, kind: str) -> pd.DataFrame:
    """One ANCT point layer (one feature per commune) as registry rows (row = feature number)."""
    path = sources.require_raw(source_id)
    url, title = landing_page_and_title(source_id)
    with open(path, encoding="utf-8") as handle:
        geojson = json.load(handle)
    return anct_points_to_registry(
        geojson, kind, source_id, source_url=url, source_title=title, where=str(path)
    )


def load_fabriques_territoire() -> pd.DataFrame:
    """ANCT Fabriques de territoire as registry rows (row = feature number)."""
    return _load_anct_points(FABRIQUES_SOURCE, "fabrique_territoire")


def load_manufactures_proximite() -> pd.DataFrame:
    """ANCT Manufactures de proximité as registry rows (row = feature number)."""
    return _load_anct_points(MANUFACTURES_SOURCE, "manufacture_proximite")
