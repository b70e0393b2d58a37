"""Tests of the territorial backbone: tiny inline geometries first, then the real mirror."""

from __future__ import annotations

import io
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pandera.errors
import pytest
import shapely
from shapely.geometry import Point, box

from analysis import keys, paths, sources, territories
from analysis.loaders.etalab import read_etalab
from analysis.loaders.ze2020 import read_ze2020

# --------------------------------------------------------------------------- #
# Unit tests on tiny synthetic data
# --------------------------------------------------------------------------- #


def test_normalise_commune_code_restores_zeros_and_corsica():
    codes = pd.Series(
        [1001, "1001", "01001", 1001.0, "2a004", " 2B033 ", None, "75056"], dtype="object"
    )
    result = territories.normalise_commune_code(codes)
    assert result.tolist()[:6] == ["01001", "01001", "01001", "01001", "2A004", "2B033"]
    assert pd.isna(result.iloc[6])
    assert result.iloc[7] == "75056"


def test_restore_article_uses_insee_name_types():
    names = pd.Series(["Abergement-Clémenciat", "Havre", "Marais", "Paris", "Masos"])
    types = pd.Series(["5", "2", "6", "0", "8"])
    result = territories.restore_article(names, types)
    assert result.tolist() == [
        "L'Abergement-Clémenciat",
        "Le Havre",
        "Aux Marais",
        "Paris",
        "Los Masos",
    ]


def test_restore_article_rejects_unknown_type():
    with pytest.raises(ValueError, match="TNCC"):
        territories.restore_article(pd.Series(["X"]), pd.Series(["9"]))


def _synthetic_communes() -> gpd.GeoDataFrame:
    """Synthetic fixture: three unit squares in a row and one commune without boundary."""
    frame = pd.DataFrame(
        {
            "commune_code": ["01001", "01002", "01003", "01004"],
            "zone": ["A", "A", "B", "B"],
            "population": [10, 20, 30, 5],
            "area_km2": [1.0, 1.0, 1.0, np.nan],
        }
    )
    geometry = [box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1), None]
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:2154")


def test_dissolve_communes_unions_boundaries_and_sums():
    names = pd.Series({"A": "Zone A", "B": "Zone B"})
    layer = territories.dissolve_communes(_synthetic_communes(), "zone", names)
    assert layer["territory_code"].tolist() == ["A", "B"]
    assert layer["territory_name"].tolist() == ["Zone A", "Zone B"]
    assert layer["population"].tolist() == [30, 35]  # the commune without boundary still counts
    assert layer["commune_count"].tolist() == [2, 2]
    assert layer.geometry.iloc[0].equals(box(0, 0, 2, 1))  # the inner edge is gone
    assert layer.geometry.iloc[1].equals(box(2, 0, 3, 1))
    assert layer.crs == "EPSG:2154"


def test_dissolve_communes_refuses_unnamed_or_missing_codes():
    communes = _synthetic_communes()
    with pytest.raises(ValueError, match="without a name"):
        territories.dissolve_communes(communes, "zone", pd.Series({"A": "Zone A"}))
    communes.loc[0, "zone"] = None
    with pytest.raises(ValueError, match="exactly one territory"):
        territories.dissolve_communes(communes, "zone", pd.Series({"A": "a", "B": "b"}))


def test_dissolve_territories_counts_communes_not_children():
    names = pd.Series({"A": "Zone A", "B": "Zone B"})
    lower = territories.dissolve_communes(_synthetic_communes(), "zone", names)
    upper = territories.dissolve_territories(
        lower, pd.Series({"A": "X", "B": "X"}), pd.Series({"X": "All"})
    )
    assert upper["commune_count"].tolist() == [4]
    assert upper["population"].tolist() == [65]
    assert upper.geometry.iloc[0].equals(box(0, 0, 3, 1))


def _synthetic_crosswalk() -> pd.DataFrame:
    """Synthetic fixture: 01002 absorbed 01009; 01003 was split into 01003 and 01004."""
    former = pd.DataFrame(
        {"old_commune_code": ["01009"], "commune_code": ["01002"], "kind": ["merged"]}
    )
    splits = pd.DataFrame(
        {"old_commune_code": ["01003", "01003"], "commune_code": ["01003", "01004"]}
    )
    populations = pd.Series({"01001": 10, "01002": 20, "01003": 30, "01004": 10})
    return territories.build_code_crosswalk(populations.index, former, splits, populations)


def test_build_code_crosswalk_identity_merge_and_split_weights():
    crosswalk = _synthetic_crosswalk()
    territories.CROSSWALK_SCHEMA.validate(crosswalk, lazy=True)
    rows = crosswalk.set_index(["old_commune_code", "commune_code"])["weight"]
    assert rows[("01001", "01001")] == 1.0
    assert rows[("01009", "01002")] == 1.0
    assert rows[("01003", "01003")] == pytest.approx(0.75)
    assert rows[("01003", "01004")] == pytest.approx(0.25)
    assert ("01004", "01004") in rows.index
    assert crosswalk.groupby("old_commune_code")["weight"].sum().round(12).eq(1).all()


def test_crosswalk_schema_rejects_weights_not_summing_to_one():
    crosswalk = _synthetic_crosswalk()
    crosswalk.loc[crosswalk["commune_code"] == "01004", "weight"] = 0.5
    with pytest.raises(pandera.errors.SchemaErrors):
        territories.CROSSWALK_SCHEMA.validate(crosswalk, lazy=True)


def test_harmonise_commune_codes_reaggregates_counts_and_reports_unknown():
    frame = pd.DataFrame(
        {
            "code": [1001, "01002", "01009", "01003", "99999", None],
            "year": [2010] * 6,
            "jobs": [1.0, 2.0, 3.0, 8.0, 5.0, 7.0],
        }
    )
    result, unmapped = territories.harmonise_commune_codes(
        frame,
        "code",
        count_columns=["jobs"],
        crosswalk=_synthetic_crosswalk(),
        group_columns=["year"],
    )
    jobs = result.set_index("code")["jobs"]
    assert jobs["01001"] == 1.0
    assert jobs["01002"] == 5.0  # its own 2 plus the absorbed 01009's 3
    assert jobs["01003"] == pytest.approx(6.0)  # 8 split 3:1 by population
    assert jobs["01004"] == pytest.approx(2.0)
    assert result["year"].eq(2010).all()
    assert len(unmapped) == 2 and set(unmapped["jobs"]) == {5.0, 7.0}
    assert set(unmapped["reason"]) == {
        "missing code",
        "code unknown to the crosswalk (not a commune code of 2003-2025?)",
    }
    assert jobs.sum() + unmapped["jobs"].sum() == pytest.approx(frame["jobs"].sum())


def test_harmonise_commune_codes_without_counts_adds_weights():
    frame = pd.DataFrame({"commune_code": ["01003"], "rate": [12.5]})
    result, unmapped = territories.harmonise_commune_codes(frame, crosswalk=_synthetic_crosswalk())
    assert unmapped.empty
    assert sorted(result["commune_code"]) == ["01003", "01004"]
    assert result["weight"].sum() == pytest.approx(1.0)
    assert result["rate"].eq(12.5).all()


def test_harmonise_commune_codes_names_missing_columns():
    with pytest.raises(KeyError, match="jobs"):
        territories.harmonise_commune_codes(
            pd.DataFrame({"commune_code": []}),
            count_columns=["jobs"],
            crosswalk=_synthetic_crosswalk(),
        )


def test_compute_area_km2_uses_a_local_projection():
    # A 10 km x 10 km square built in Lambert-93 (metropole) and in the Réunion UTM projection.
    metro = gpd.GeoSeries([box(700_000, 6_600_000, 710_000, 6_610_000)], crs="EPSG:2154").to_crs(
        4326
    )
    reunion = gpd.GeoSeries([box(340_000, 7_650_000, 350_000, 7_660_000)], crs="EPSG:2975").to_crs(
        4326
    )
    geometries = gpd.GeoSeries([metro.iloc[0], reunion.iloc[0], None], crs=4326)
    area = territories.compute_area_km2(geometries, pd.Series(["75", "974", "01"]))
    assert area.iloc[0] == pytest.approx(100, rel=2e-3)
    assert area.iloc[1] == pytest.approx(100, rel=1e-3)
    assert np.isnan(area.iloc[2])


def _synthetic_zone_inputs():
    """Synthetic fixture: four communes in a row; 01004 was restored from 01003 (renamed since)."""
    communes = gpd.GeoDataFrame(
        {
            "commune_code": ["01001", "01002", "01003", "01004"],
            "commune_name": ["Un", "Deux", "Trois-Vieux", "Quatre"],
            "dep_code": ["01"] * 4,
            "population": [10, 20, 30, 10],
            "has_boundary": [True] * 4,
            "_mairie": [None] * 4,
        },
        geometry=[
            box(4.0, 46.0, 4.1, 46.1),
            box(4.1, 46.0, 4.2, 46.1),
            box(4.2, 46.0, 4.3, 46.1),
            box(4.3, 46.0, 4.4, 46.1),
        ],
        crs="EPSG:4326",
        index=["01001", "01002", "01003", "01004"],
    )
    composition = pd.DataFrame(
        {
            "CODGEO": ["01001", "01003", "01008"],
            "LIBGEO": ["Un", "Trois", "Huit"],
            "ZE2020": ["8401", "8402", "8403"],
        }
    )
    # 01002 is new since 2023: it absorbed 01008.
    former = pd.DataFrame(
        {"old_commune_code": ["01008"], "commune_code": ["01002"], "kind": ["merged"]}
    )
    return communes, composition, former


def test_assign_zones_from_former_communes_and_restorations():
    communes, composition, former = _synthetic_zone_inputs()
    result, splits, report = territories.assign_zones(communes, composition, former)
    assert result.loc["01001", "ze2020_code"] == "8401"
    assert result.loc["01002", ["ze2020_code", "ze2020_source"]].tolist() == [
        "8403",
        "former_communes",
    ]
    # 01004 touches 01003, which was renamed since 2023 ("Trois" → "Trois-Vieux").
    assert result.loc["01004", ["ze2020_code", "ze2020_source"]].tolist() == ["8402", "spatial"]
    assert set(map(tuple, splits.to_numpy())) == {("01003", "01003"), ("01003", "01004")}
    assert set(report["commune_code"]) >= {"01002", "01004"}


def test_assign_zones_rejects_communes_in_two_zones():
    communes, composition, former = _synthetic_zone_inputs()
    composition = pd.concat([composition, composition.assign(ZE2020="9999").head(1)])
    with pytest.raises(ValueError, match="several zones"):
        territories.assign_zones(communes, composition, former)


def _synthetic_ring_of_communes() -> gpd.GeoDataFrame:
    """Synthetic fixture: eight ~1 km² squares around an empty centre square."""
    step = 0.013
    cells = [(i, j) for i in range(3) for j in range(3) if (i, j) != (1, 1)]
    codes = [f"010{n:02d}" for n in range(1, 9)]
    frame = gpd.GeoDataFrame(
        {
            "commune_code": codes,
            "commune_name": [f"C{n}" for n in range(1, 9)],
            "dep_code": ["01"] * 8,
            "has_boundary": [True] * 8,
            "boundary_source": ["admin_express"] * 8,
        },
        geometry=[
            box(2 + i * step, 47 + j * step, 2 + (i + 1) * step, 47 + (j + 1) * step)
            for i, j in cells
        ],
        crs="EPSG:4326",
        index=codes,
    )
    return frame


def test_fill_boundary_gaps_gives_hole_to_the_commune_that_absorbed_it():
    communes = _synthetic_ring_of_communes()
    filled, report = territories.fill_boundary_gaps(communes, {"01004"})
    assert filled.loc["01004", "boundary_source"] == "admin_express_plus_gap"
    assert filled.loc["01004"].geometry.area == pytest.approx(
        2 * communes.loc["01004"].geometry.area
    )
    assert filled.loc["01001"].geometry.equals(communes.loc["01001"].geometry)
    assert "01004" in set(report["commune_code"])


def test_fill_boundary_gaps_keeps_real_holes():
    communes = _synthetic_ring_of_communes()
    filled, report = territories.fill_boundary_gaps(communes, set())
    assert all(filled.geometry.geom_equals(communes.geometry))
    assert report["decision"].str.contains("kept").any()


def _synthetic_drom_layer() -> gpd.GeoDataFrame:
    """Synthetic fixture: a square in Paris and one in La Réunion, EPSG:4326."""
    return gpd.GeoDataFrame(
        {"dep_code": ["75", "974"]},
        geometry=[box(2.30, 48.80, 2.40, 48.90), box(55.40, -21.10, 55.50, -21.00)],
        crs="EPSG:4326",
    )


def test_place_overseas_insets_moves_drom_into_its_box():
    layer = _synthetic_drom_layer()
    placed = territories.place_overseas_insets(layer)
    assert placed.crs == "EPSG:2154"
    expected_paris = layer.to_crs(2154).geometry.iloc[0]
    assert placed.geometry.iloc[0].equals_exact(expected_paris, tolerance=1e-6)
    frame = territories.overseas_inset_frames().set_index("dep_code").geometry["974"]
    assert frame.contains(placed.geometry.iloc[1])
    # Located by geometry alone, the result is the same.
    by_geometry = territories.place_overseas_insets(layer.drop(columns="dep_code"))
    assert by_geometry.geometry.iloc[1].equals_exact(placed.geometry.iloc[1], tolerance=1e-6)


def test_place_overseas_insets_splits_national_multipart():
    layer = _synthetic_drom_layer()
    france = gpd.GeoDataFrame(
        geometry=[shapely.union_all(layer.geometry.to_numpy())], crs="EPSG:4326"
    )
    placed = territories.place_overseas_insets(france).geometry.iloc[0]
    frame = territories.overseas_inset_frames().set_index("dep_code").geometry["974"]
    assert placed.intersects(frame)
    assert placed.bounds[3] > 6_800_000  # Paris still in place


def test_place_overseas_insets_requires_crs():
    with pytest.raises(ValueError, match="no CRS"):
        territories.place_overseas_insets(
            gpd.GeoDataFrame({"dep_code": ["75"]}, geometry=[Point(0, 0)])
        )


def test_locate_drom_from_region_codes():
    frame = gpd.GeoDataFrame(
        {"reg_code": ["04", "11", "06"]}, geometry=[None, None, None], crs=4326
    )
    assert territories.locate_drom(frame).tolist() == ["974", None, "976"]


def test_validate_backbone_reports_population_mismatch():
    communes = gpd.GeoDataFrame(
        {
            "commune_code": ["01001", "01002"],
            "commune_name": ["Un", "Deux"],
            "dep_code": ["01", "01"],
            "reg_code": ["84", "84"],
            "epci_code": ["200000001", "200000001"],
            "ze2020_code": ["8401", "8401"],
            "population": np.array([10, 20], dtype="int64"),
            "area_km2": [1.0, 1.0],
            "has_boundary": [True, True],
            "boundary_source": ["admin_express"] * 2,
            "ze2020_source": ["insee_composition"] * 2,
        },
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs="EPSG:2154",
    )
    layer = territories.dissolve_communes(
        communes.assign(dep_code=communes["dep_code"]), "dep_code", pd.Series({"01": "Ain"})
    )
    territories.validate_backbone(communes, {"dep": layer})
    layer.loc[0, "population"] = 31
    with pytest.raises(ValueError, match="population 31"):
        territories.validate_backbone(communes, {"dep": layer})


def test_loaders_explain_how_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv("PTCE_DATA_DIR", str(tmp_path))
    with pytest.raises(territories.BackboneNotBuiltError, match="ptce data build"):
        territories.load_communes()
    with pytest.raises(ValueError, match="unknown level"):
        territories.load_territories("canton")


# --------------------------------------------------------------------------- #
# Integration tests on the real mirror
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def built(request):
    """The backbone built from data/raw (the conftest fixture when present)."""
    try:
        request.getfixturevalue("backbone")
    except pytest.FixtureLookupError:
        if not paths.communes_table().exists():
            territories.build_backbone()


@pytest.fixture(scope="module")
def communes(built) -> gpd.GeoDataFrame:
    return territories.load_communes()


@pytest.mark.integration
def test_real_communes_counts_codes_and_names(communes):
    assert abs(len(communes) - 34_875) <= 10
    assert communes["commune_code"].is_unique
    assert communes["commune_code"].str.fullmatch(r"\d{5}|2[AB]\d{3}").all()
    corsica = communes.loc[communes["reg_code"] == "94"]
    assert set(corsica["dep_code"]) == {"2A", "2B"}
    assert corsica["commune_code"].str[:2].isin(["2A", "2B"]).all()
    by_code = communes.set_index("commune_code")
    assert by_code.loc["01001", "commune_name"] == "L'Abergement-Clémenciat"
    for code, name in {"75056": "Paris", "69123": "Lyon", "13055": "Marseille"}.items():
        assert by_code.loc[code, "commune_name"] == name
        assert by_code.loc[code, "population"] > 500_000
    arrondissements = [f"751{n:02d}" for n in range(1, 21)] + ["69381", "13201"]
    assert not communes["commune_code"].isin(arrondissements).any()
    assert by_code.loc["61001", "ze2020_code"] == "0051"  # Alençon


@pytest.mark.integration
def test_real_names_match_etalab_official_names(communes):
    etalab = read_etalab()["communes"]
    official = etalab.loc[etalab["type"] == "commune-actuelle"].set_index("code")["nom"]
    ours = communes.set_index("commune_code")["commune_name"]
    agree = (ours == official.reindex(ours.index)).mean()
    assert agree > 0.999


@pytest.mark.integration
def test_real_levels_counts_and_totals(built, communes):
    expected = {"ze2020": 306, "dep": 101, "reg": 18, "fr": 1}
    national = int(communes["population"].sum())
    assert 67_000_000 < national < 70_000_000
    for level in keys.ZONING_LEVELS:
        layer = territories.load_territories(level)
        if level in expected:
            assert len(layer) == expected[level], level
        assert int(layer["population"].sum()) == national
        assert int(layer["commune_count"].sum()) == len(communes)
        assert layer.crs is not None and layer.is_valid.all()
        column = keys.LEVEL_CODE_COLUMN[level]
        members = set(communes[column]) if column in communes else {keys.FRANCE_CODE}
        assert set(layer["territory_code"]) == members
    france = territories.load_territories("fr").to_crs(territories.METROPOLE_AREA_CRS)
    holes = [
        shapely.Polygon(ring).area / 1e6
        for part in shapely.get_parts(france.geometry.iloc[0])
        for ring in part.interiors
    ]
    assert sum(area > 1 for area in holes) == 1  # Llívia, the Spanish enclave, only
    epci = territories.load_territories("epci", with_geometry=False)
    assert 1_200 < len(epci) < 1_300
    overseas_zones = communes.loc[
        communes["dep_code"].isin(territories.DROM_CODES), "ze2020_code"
    ].nunique()
    assert overseas_zones >= 10
    names = territories.territory_names("ze2020")
    assert names["0051"] == "Alençon"


@pytest.mark.integration
def test_real_zones_follow_the_insee_composition(communes):
    composition, _ = read_ze2020()
    zones = communes.set_index("commune_code")["ze2020_code"]
    listed = composition.loc[composition["CODGEO"].isin(zones.index)]
    assert (listed["ZE2020"].to_numpy() == zones[listed["CODGEO"]].to_numpy()).all()
    others = communes.loc[~communes["commune_code"].isin(composition["CODGEO"])]
    assert (others["ze2020_source"] != "insee_composition").all()
    report = territories.load_backbone_report()
    assert set(others["commune_code"]) <= set(
        report.loc[report["topic"] == "ze2020", "commune_code"]
    )
    no_boundary = communes.loc[~communes["has_boundary"], "commune_code"]
    assert set(no_boundary) <= set(report.loc[report["topic"] == "boundary", "commune_code"])


@pytest.mark.integration
def test_real_crosswalk_moves_2023_and_2024_files_without_loss(communes):
    crosswalk = territories.commune_code_crosswalk()
    territories.CROSSWALK_SCHEMA.validate(crosswalk, lazy=True)
    assert set(crosswalk["commune_code"]) <= set(communes["commune_code"])
    by_old = crosswalk.set_index("old_commune_code")
    assert by_old.loc["75101", "commune_code"] == "75056"  # PLM arrondissement
    # Every commune of the 2023 zoning file maps onto today's communes.
    composition, _ = read_ze2020()
    moved, unmapped = territories.harmonise_commune_codes(
        composition.assign(one=1.0), "CODGEO", crosswalk=crosswalk
    )
    assert unmapped.empty
    # The 2024 density grid's populations (COG 2024) move to COG 2025 without loss.
    grid = pd.read_excel(
        sources.require_raw("insee_density_grid_2024"),
        engine="calamine",
        header=4,
        dtype={"CODGEO": str},
    )
    grid = grid.dropna(subset=["CODGEO"])
    harmonised, unmapped = territories.harmonise_commune_codes(
        grid[["CODGEO", "PMUN21"]], "CODGEO", count_columns=["PMUN21"], crosswalk=crosswalk
    )
    assert unmapped.empty
    assert harmonised["PMUN21"].sum() == pytest.approx(grid["PMUN21"].sum())
    assert set(harmonised["CODGEO"]) <= set(communes["commune_code"])


@pytest.mark.integration
def test_real_crosswalk_maps_every_commune_of_the_cog_2016(communes):
    # Filosofi 2014 lists the communes of an older geography (36,000+ codes).
    path = sources.require_raw("insee_filosofi_2014")
    with zipfile.ZipFile(path) as archive:
        member = next(n for n in archive.namelist() if n.endswith(".xls"))
        data = archive.read(member)
    old = pd.read_excel(io.BytesIO(data), sheet_name="COM", header=5, engine="calamine")
    old = old[["CODGEO", "NBMENFISC14"]].dropna(subset=["CODGEO"])
    assert len(old) > 36_000
    harmonised, unmapped = territories.harmonise_commune_codes(
        old, "CODGEO", count_columns=["NBMENFISC14"]
    )
    assert unmapped.empty, unmapped.head()
    assert harmonised["NBMENFISC14"].sum() == pytest.approx(old["NBMENFISC14"].sum())
    assert len(harmonised) < len(old)


@pytest.mark.integration
def test_real_insets_place_every_drom_in_its_box(built):
    deps = territories.load_territories("dep")
    deps["dep_code"] = deps["territory_code"]
    placed = territories.place_overseas_insets(deps).set_index("dep_code")
    frames = territories.overseas_inset_frames().set_index("dep_code").geometry
    for dep_code in territories.DROM_CODES:
        assert frames[dep_code].buffer(1).contains(placed.geometry[dep_code]), dep_code
    metro = placed.drop(index=list(territories.DROM_CODES)).total_bounds
    assert metro[0] > 0 and metro[2] < 1_300_000 and metro[1] > 6_000_000 and metro[3] < 7_200_000
    france = territories.place_overseas_insets(territories.load_territories("fr")).geometry.iloc[0]
    assert all(france.intersects(frame) for frame in frames)


@pytest.mark.integration
def test_cli_shows_a_communes_memberships(built):
    import typer
    from typer.testing import CliRunner

    from analysis.cli import territories as territories_cli

    app = typer.Typer()
    territories_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps the sub-command name
    result = CliRunner().invoke(app, ["territories", "show", "61001"])
    assert result.exit_code == 0, result.output
    assert "Alençon" in result.output and "0051" in result.output
    result = CliRunner().invoke(app, ["territories", "show", "75101"])
    assert result.exit_code == 2 and "75056" in result.output
