"""Tests of the cooperation tables: local authorities, the SIRENE loader, ESS counts, quality."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import cooperation, geocoding
from analysis.loaders import sirene
from analysis.loaders._read import SourceFormatError
from analysis.registry import RegistryProblem
from test_registry import synthetic_communes, synthetic_crosswalk

# ---------------------------------------------------------------------------
# Local authorities
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "expected"),
    [
        ("Ville de Romans-sur-Isère", "26281", "commune"),
        ("Valence Romans Agglo", "200068781", "epci"),
        ("Région Bretagne", "53", "region"),
        ("Département de la Drôme", "26", "departement"),
        ("Corse-du-Sud", "2A", "departement"),
        ("Conseil départemental du Gers", "", "departement"),
        ("Communauté de communes du Pays de Bray", "", "epci"),
        ("Métropole de Lyon", "", "epci"),
        ("Conseil régional d'Occitanie", "", "region"),
        ("Mairie de Tarnos", "", "commune"),
        ("Syndicat mixte du bassin", "", "other"),
        ("Syndicat mixte du bassin", "253500000", "other"),  # a SIREN that is no EPCI's
    ],
)
def test_authority_kind_from_code_then_name(name, code, expected):
    assert cooperation.authority_kind(name, code, epci_codes={"200068781"}) == expected


def involvement_rows() -> pd.DataFrame:
    rows = [
        # id, kind, wave, dep, precision, authorities, roles
        ("p1", "ptce", "w1", "42", "departement",
         "Ville de Saint-Étienne (42218); Région Auvergne-Rhône-Alpes (84)", "lead; funder"),
        ("p2", "ptce", "w1", "42", "departement", "Saint-Étienne Métropole (244200770)", "member"),
        ("p3", "ptce", "w1", "42", "departement", "", ""),
        ("p4", "ptce", "w2", "42", "departement", "Département de la Loire (42)", "funder"),
        ("p5", "ptce", "w1", None, "region", "Ville X (42218)", "lead"),
        ("t1", "tzcld", "w1", "42", "departement", "Ville Y (42218)", "lead"),
    ]  # fmt: skip
    frame = pd.DataFrame(
        rows,
        columns=[
            "initiative_id", "kind", "wave", "dep_code", "location_precision",
            "local_authorities", "local_authority_roles",
        ],
    )  # fmt: skip
    return frame.assign(reg_code="84")


def test_local_authority_involvement_counts_roles_and_kinds_per_territory_and_wave():
    table = cooperation.local_authority_involvement(
        involvement_rows(), "dep", epci_codes={"244200770"}
    ).set_index(["territory_code", "wave"])
    w1 = table.loc[("42", "w1")]
    assert w1["n_ptce"] == 3  # p5 is known only by its région: not counted in a département
    assert w1["n_ptce_with_authority"] == 2
    assert (w1["n_ptce_authority_lead"], w1["n_ptce_authority_member"]) == (1, 1)
    assert w1["n_ptce_authority_funder"] == 1
    assert (w1["n_ptce_with_commune"], w1["n_ptce_with_epci"], w1["n_ptce_with_region"]) == (
        1,
        1,
        1,
    )
    w2 = table.loc[("42", "w2")]
    assert (w2["n_ptce"], w2["n_ptce_authority_funder"], w2["n_ptce_with_departement"]) == (
        1,
        1,
        1,
    )
    region = cooperation.local_authority_involvement(involvement_rows(), "reg")
    assert region.set_index("wave").loc["w1", "n_ptce"] == 4


def test_local_authority_rows_keep_the_order_of_names_and_roles():
    long = cooperation.local_authority_rows(involvement_rows().iloc[:1])
    assert long[["authority_name", "authority_code", "authority_kind", "role"]].values.tolist() == [
        ["Ville de Saint-Étienne", "42218", "commune", "lead"],
        ["Région Auvergne-Rhône-Alpes", "84", "region", "funder"],
    ]


# ---------------------------------------------------------------------------
# SIRENE extract (tiny files in the stock's column names and order)
# ---------------------------------------------------------------------------

ESTABLISHMENT_HEADER = [
    "siren", "nic", "siret", "statutDiffusionEtablissement", "dateCreationEtablissement",
    "trancheEffectifsEtablissement", "etablissementSiege", "codePostalEtablissement",
    "libelleCommuneEtablissement", "codeCommuneEtablissement", "codePaysEtrangerEtablissement",
    "dateDebut", "etatAdministratifEtablissement", "activitePrincipaleEtablissement",
]  # fmt: skip
"""A subset of ``StockEtablissement``'s columns, in the stock's order and spelling."""

LEGAL_UNIT_HEADER = [
    "siren", "statutDiffusionUniteLegale", "dateCreationUniteLegale", "sigleUniteLegale",
    "dateDebut", "etatAdministratifUniteLegale", "denominationUniteLegale",
    "categorieJuridiqueUniteLegale", "activitePrincipaleUniteLegale", "nicSiegeUniteLegale",
    "economieSocialeSolidaireUniteLegale", "societeMissionUniteLegale",
]  # fmt: skip
"""A subset of ``StockUniteLegale``'s columns, in the stock's order and spelling."""

LEGAL_UNITS = [
    # siren, created, sigle, state, name, category, ess
    ("100000001", "2016-03-01", "", "A", "SCIC LES TERRES COMMUNES", "5560", "O"),
    ("100000002", "1975-06-01", "", "A", "ATELIER DU BOIS", "5458", "O"),
    ("100000003", "1990-01-01", "", "A", "ASSOCIATION DU QUARTIER", "9220", "O"),
    ("100000004", "2001-01-01", "", "A", "SARL ORDINAIRE", "5499", "N"),
    ("100000005", "1995-01-01", "", "C", "ASSOCIATION DISSOUTE", "9220", "O"),
    ("100000006", "2010-01-01", "", "A", "COOPERATIVE SANS SIGLE", "5460", ""),
]
ESTABLISHMENTS = [
    # siren, nic, created, head office, commune, state
    ("100000001", "00011", "2016-03-01", "true", "99002", "A"),
    ("100000001", "00029", "2019-01-01", "false", "99004", "A"),
    ("100000002", "00013", "1975-06-01", "true", "99100", "A"),  # former code → 99002
    ("100000003", "00014", "1990-01-01", "true", "99004", "A"),
    ("100000003", "00022", "1998-01-01", "false", "99004", "F"),  # closed
    ("100000003", "00030", "2005-01-01", "false", "99005", "A"),
    ("100000003", "00048", "2006-01-01", "false", "", "A"),  # abroad
    ("100000004", "00015", "2001-01-01", "true", "99001", "A"),  # not ESS
    ("100000005", "00016", "1995-01-01", "true", "99001", "A"),  # legal unit closed
    ("100000006", "00017", "2010-01-01", "true", "99003", "A"),  # a coop, not a SCIC by name
]


def write_sirene(tmp_path, *, drop: str | None = None):
    units = pd.DataFrame(
        [
            {
                "siren": s, "statutDiffusionUniteLegale": "O", "dateCreationUniteLegale": c,
                "sigleUniteLegale": g, "dateDebut": c, "etatAdministratifUniteLegale": e,
                "denominationUniteLegale": n, "categorieJuridiqueUniteLegale": k,
                "activitePrincipaleUniteLegale": "88.99B", "nicSiegeUniteLegale": "00011",
                "economieSocialeSolidaireUniteLegale": o, "societeMissionUniteLegale": "N",
            }
            for s, c, g, e, n, k, o in LEGAL_UNITS
        ],
        columns=LEGAL_UNIT_HEADER,
    )  # fmt: skip
    establishments = pd.DataFrame(
        [
            {
                "siren": s, "nic": n, "siret": s + n, "statutDiffusionEtablissement": "O",
                "dateCreationEtablissement": c, "trancheEffectifsEtablissement": "NN",
                "etablissementSiege": h, "codePostalEtablissement": "",
                "libelleCommuneEtablissement": "", "codeCommuneEtablissement": code,
                "codePaysEtrangerEtablissement": "" if code else "99109",
                "dateDebut": c, "etatAdministratifEtablissement": e,
                "activitePrincipaleEtablissement": "88.99B",
            }
            for s, n, c, h, code, e in ESTABLISHMENTS
        ],
        columns=ESTABLISHMENT_HEADER,
    )  # fmt: skip
    if drop in units.columns:
        units = units.drop(columns=drop)
    if drop in establishments.columns:
        establishments = establishments.drop(columns=drop)
    units_path = tmp_path / "StockUniteLegale_utf8.csv"
    establishments_path = tmp_path / "StockEtablissement_utf8.csv"
    units.to_csv(units_path, index=False)
    establishments.to_csv(establishments_path, index=False)
    return establishments_path, units_path


def test_sirene_keeps_active_ess_scop_and_scic_establishments(tmp_path):
    table = sirene.read_sirene(*write_sirene(tmp_path))
    assert "10000000300022" not in set(table["siret"])  # closed establishment
    assert not table["siren"].isin(["100000004", "100000005"]).any()  # not ESS; unit closed
    kinds = table.drop_duplicates("siren").set_index("siren")["kind"]
    assert kinds.to_dict() == {
        "100000001": "scic",
        "100000002": "scop",
        "100000003": "",
    }  # 100000006: a coop neither flagged ESS nor named SCIC is left out
    assert table.set_index("siret").loc["10000000100011", "commune_code"] == "99002"


def test_sirene_scop_and_scic_become_located_cooperation_rows(tmp_path):
    table = sirene.read_sirene(*write_sirene(tmp_path))
    rows = sirene.cooperatives_to_registry(
        table, source_url="https://www.data.gouv.fr/x", source_title="SIRENE"
    )
    assert rows["initiative_id"].tolist() == ["siren-100000001", "siren-100000002"]
    located, problems = geocoding.locate_rows(
        rows, synthetic_communes(), synthetic_crosswalk(), strict_codes=False
    )
    assert problems == []
    assert located["kind"].tolist() == ["scic", "scop"]
    assert located["commune_code"].tolist() == ["99002", "99002"]  # SCOP via its former code
    assert located["year"].tolist() == ["2016", ""]  # 1975 is before the format's 1980
    assert "1975-06-01" in located["note"].iloc[1]
    coop = cooperation.cooperation_rows(located, synthetic_communes())
    counts = cooperation.count_by_territory(coop, synthetic_communes(), "commune")
    assert counts.set_index("territory_code").loc["99002", ["n_scic", "n_scop"]].tolist() == [1, 1]


def test_ess_establishments_per_territory_and_per_1000_inhabitants(tmp_path):
    table = sirene.read_sirene(*write_sirene(tmp_path))
    counts = cooperation.ess_establishments_by_territory(
        table, synthetic_communes(), synthetic_crosswalk()
    )
    by = counts.set_index(["level", "territory_code"])["n_ess_establishments"]
    assert by[("commune", "99002")] == 2  # SCIC head office + SCOP (former code)
    assert by[("commune", "99004")] == 2  # SCIC branch + association (closed one left out)
    assert (by[("commune", "99005")], by[("commune", "99001")]) == (1, 0)
    assert by[("commune", "99003")] == 0  # a coop without the ESS flag is no ESS establishment
    assert (by[("epci", "E3")], by[("ze2020", "Z2")], by[("ze2020", "Z3")]) == (3, 4, 1)
    assert by[("fr", "FR")] == 5
    assert counts.attrs["unplaced"] == 1  # the establishment abroad
    rate = counts.set_index(["level", "territory_code"])["ess_establishments_per_1000"]
    assert rate[("commune", "99002")] == pytest.approx(2 / 170)


@pytest.mark.parametrize(
    "column", ["economieSocialeSolidaireUniteLegale", "etatAdministratifEtablissement"]
)
def test_sirene_file_missing_a_required_column_is_refused_naming_it(tmp_path, column):
    with pytest.raises(SourceFormatError, match=column) as caught:
        sirene.read_sirene(*write_sirene(tmp_path, drop=column))
    assert caught.value.column == column
    assert "StockUniteLegale" in str(caught.value) or "StockEtablissement" in str(caught.value)


def test_build_works_without_the_optional_sirene_files():
    assert set(cooperation.OPTIONAL_SOURCES).isdisjoint(cooperation.INPUT_SOURCES)
    assert cooperation.sirene_present() is False
    assert cooperation.load_sirene_establishments() is None


# ---------------------------------------------------------------------------
# Registry quality tables
# ---------------------------------------------------------------------------


def test_registry_quality_tables_count_what_is_missing():

    entries = pd.DataFrame({"initiative_id": ["a", "b"], "commune_code": ["33063", None]})
    initiatives = pd.DataFrame(
        {
            "initiative_id": ["a", "b", "t1"],
            "kind": ["ptce", "tzcld", "tiers_lieu"],
            "wave": ["w1", "w2", "cget2019"],
            "year": [2014, 2017, 2019],
            "source_id": ["registry", "registry", "cget_tiers_lieux_2019"],
            "commune_code": ["33063", None, "69123"],
            "dep_code": ["33", "40", "69"],
            "location_precision": ["commune", "departement", "commune"],
        }
    )
    territories = pd.DataFrame(
        {"territory_code": ["33", "40", "69", "75"], "territory_name": list("ABCD"),
         "population": [3, 2, 4, 1]}
    )  # fmt: skip
    problems = [RegistryProblem(2, "commune_code", "", "no commune", "add the INSEE code")]
    tables = cooperation.registry_quality_tables(
        entries, initiatives, problems, level="dep", territories=territories,
        kinds=["ptce", "tzcld", "tiers_lieu", "fabrique_territoire"],
    )  # fmt: skip
    summary = dict(zip(tables["summary"]["measure"], tables["summary"]["value"], strict=True))
    assert summary["registry_rows"] == 2 and summary["registry_problems"] == 1
    assert summary["registry_rows_without_commune_code"] == 1
    assert summary["territories_dep_without_initiative"] == 1
    assert tables["territories_without_initiative"]["territory_code"].tolist() == ["75"]
    assert tables["kind_counts"].tolist() == [1, 1, 1, 0]
    by_kind = tables["coverage_by_kind"].set_index("kind")
    assert (
        by_kind.loc["tzcld", "n_with_commune"] == 0 and by_kind.loc["ptce", "n_from_registry"] == 1
    )
    assert tables["problems"].iloc[0]["fix"] == "add the INSEE code"
    # Counts are whole numbers in the table and its CSV ("1", never "1.0").
    assert "1.0" not in by_kind[["n_initiatives", "n_from_registry"]].to_csv()


def test_optional_sources_are_listed_as_optional_and_never_fail_a_fetch(tmp_path, monkeypatch):
    from analysis import sources

    catalogue_path = tmp_path / "sources.toml"
    catalogue_path.write_text(
        "[extract]\n"
        'title = "An extract"\npublisher = "INSEE"\nfile = "x.csv"\nsha256 = ""\n'
        'optional = true\nlicence = "LO 2.0"\nlanding_page = "https://example.org"\n'
        'citation_fr = "Insee"\ncitation_en = "Insee"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("PTCE_DATA_DIR", str(tmp_path / "data"))
    source = sources.load_catalogue(catalogue_path)["extract"]
    assert source.optional
    assert sources.source_status(source) is sources.Status.OPTIONAL_ABSENT
    result = sources.fetch_source(source, None)
    assert result.action == "optional, not present"
    source.raw_path.parent.mkdir(parents=True)
    source.raw_path.write_text("siren\n", encoding="utf-8")
    assert sources.source_status(source) is sources.Status.PRESENT
