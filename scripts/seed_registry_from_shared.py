"""One-off: seed ``data/registry/initiatives.csv`` from the transcribed PTCE and TZCLD lists.

Run once (it was, to create the file), from the repository root:

    .venv/bin/python scripts/seed_registry_from_shared.py [SHARED_REGISTRY_DIR]

SHARED_REGISTRY_DIR defaults to ``../shared/data/registry`` next to the checkout
and must hold ``ptce.csv`` and ``tzcld.csv`` (facts read on public pages, each
with its source URL). After seeding, ``initiatives.csv`` is the file the team
edits; do not re-run this script over an edited registry (it refuses to
overwrite unless given ``--force``).

The transformation keeps every row, citation (source_url, source_title) and
note, and invents no location. Its only judgements are listed below, each
written into the row's note:

- ``reg_code`` comes from the région name the PTCE list gives (COG names from
  the etalab package of the catalogue); TZCLD rows carry no région.
- two PTCE seen in the 2021 call's phase 1 and among its funded winners share
  one ``initiative_id`` (same name, lead structure and town): see ``SAME_INITIATIVE``.
- two town names differ from the COG 2025: see ``NAME_TO_COG``.
- TZCLD rows list one or more communes: the first is the row's location,
  the whole list goes to ``perimeter_communes``.
- "Costa Verde (Corse)" names no département: it is kept at the région level (94).
"""

from __future__ import annotations

import csv
import io
import json
import sys
import tarfile
from pathlib import Path

import pandas as pd

from analysis import paths, sources
from analysis.geocoding import normalise_commune_name
from analysis.registry import REGISTRY_COLUMNS, read_registry, validate_registry

SAME_INITIATIVE = {
    "ami21-edenn": "ami21p1-edenn",
    "ami21-recyclocc": "ami21p1-recyclocc",
}
"""Source id → the id it shares (the phase-1 row of the same PTCE)."""

NAME_TO_COG = {
    ("mes-pays-de-bray", "La Chapelle-aux-Pots"): (
        "Lachapelle-aux-Pots",
        "Nom COG de la commune : Lachapelle-aux-Pots (graphie citée aussi par la source).",
    ),
    ("ok-pdl-culture-a-montaigu", "Montaigu"): (
        "Montaigu-Vendée",
        "Montaigu (85) est depuis 2019 commune déléguée de la commune nouvelle Montaigu-Vendée : "
        "localisé dans Montaigu-Vendée (nom dans la source : Montaigu).",
    ),
}
"""(row id, name in the source) → (COG 2025 name, note)."""

REGION_ONLY = {
    "tz2-decret2-4": ("94", "Région déduite du nom « Costa Verde (Corse) » : Corse (94).")
}


def _region_codes() -> dict[str, str]:
    """Normalised région name → INSEE code, from the etalab package of the catalogue."""
    with tarfile.open(sources.require_raw("etalab_decoupage")) as archive:
        member = archive.extractfile("package/data/regions.json")
        regions = json.load(io.TextIOWrapper(member, encoding="utf-8"))
    return {normalise_commune_name(r["nom"]): r["code"] for r in regions}


def _join_note(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def seed_ptce(ptce: pd.DataFrame, region_codes: dict[str, str]) -> pd.DataFrame:
    """PTCE rows in the registry format."""
    rows = []
    for record in ptce.to_dict("records"):
        source_id = record["ptce_id"]
        notes = [record["note"]]
        initiative_id = SAME_INITIATIVE.get(source_id, source_id)
        if initiative_id != source_id:
            notes.append(
                f"Même PTCE que la ligne {initiative_id} (identifiant source : {source_id})."
            )
        commune_name = record["commune_name"]
        if (source_id, commune_name) in NAME_TO_COG:
            commune_name, note = NAME_TO_COG[(source_id, commune_name)]
            notes.append(note)
        region = record["region_name"]
        reg_code = region_codes.get(normalise_commune_name(region), "") if region else ""
        if region and not reg_code:
            raise ValueError(f"ptce.csv, row {source_id}: unknown région name {region!r}")
        rows.append(
            {
                "initiative_id": initiative_id,
                "name": record["name"],
                "kind": "ptce",
                "wave": record["wave"],
                "year": record["year_known"],
                "lead_structure": record["lead_structure"],
                "commune_code": "",
                "commune_name": commune_name,
                "dep_code": record["departement_code"],
                "reg_code": reg_code,
                "longitude": "",
                "latitude": "",
                "perimeter_communes": "",
                "themes": record["themes"],
                "source_url": record["source_url"],
                "source_title": record["source_title"],
                "note": _join_note(*notes),
            }
        )
    return pd.DataFrame(rows, columns=list(REGISTRY_COLUMNS))


def seed_tzcld(tzcld: pd.DataFrame) -> pd.DataFrame:
    """TZCLD rows in the registry format (first listed commune = location)."""
    rows = []
    for record in tzcld.to_dict("records"):
        communes = [c.strip() for c in record["communes"].split(";") if c.strip()]
        notes = [record["note"]]
        reg_code = ""
        if record["territory_id"] in REGION_ONLY:
            reg_code, note = REGION_ONLY[record["territory_id"]]
            notes.append(note)
        if len(communes) > 1:
            notes.append(
                "Plusieurs communes : la première sert de localisation, "
                "toutes sont dans perimeter_communes."
            )
        rows.append(
            {
                "initiative_id": record["territory_id"],
                "name": record["territory_name"],
                "kind": "tzcld",
                "wave": f"tzcld_phase{record['phase']}",
                "year": record["authorised_year"],
                "lead_structure": "",
                "commune_code": "",
                "commune_name": communes[0] if communes else "",
                "dep_code": record["departement_code"],
                "reg_code": reg_code,
                "longitude": "",
                "latitude": "",
                "perimeter_communes": "; ".join(communes) if len(communes) > 1 else "",
                "themes": "",
                "source_url": record["source_url"],
                "source_title": "",
                "note": _join_note(*notes),
            }
        )
    return pd.DataFrame(rows, columns=list(REGISTRY_COLUMNS))


def main(argv: list[str]) -> int:
    force = "--force" in argv
    arguments = [a for a in argv if a != "--force"]
    shared = (
        Path(arguments[0])
        if arguments
        else paths.PROJECT_ROOT.parent / "shared" / "data" / "registry"
    )
    target = paths.default_registry()
    if target.exists() and not force:
        print(f"{target} exists: it may hold edits. Use --force to overwrite.", file=sys.stderr)
        return 1
    read = {"dtype": str, "keep_default_na": False, "encoding": "utf-8"}
    ptce = pd.read_csv(shared / "ptce.csv", **read)
    tzcld = pd.read_csv(shared / "tzcld.csv", **read)
    registry = pd.concat([seed_ptce(ptce, _region_codes()), seed_tzcld(tzcld)], ignore_index=True)
    if len(registry) != len(ptce) + len(tzcld):
        raise AssertionError("a row was lost")
    temporary = target.with_suffix(".csv.tmp")
    registry.to_csv(temporary, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    problems = validate_registry(read_registry(temporary))
    if problems:
        temporary.unlink()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    temporary.replace(target)
    print(f"wrote {target}: {len(ptce)} PTCE rows and {len(tzcld)} TZCLD rows.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
