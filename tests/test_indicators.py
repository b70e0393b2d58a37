"""Tests of the indicators panel: dictionary, pure transforms, loaders on real files, caching."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.errors
import pytest

from analysis import indicators as ind
from analysis.loaders import (
    density_grid,
    filosofi,
    itdd,
    observatoire,
    programmes,
    unemployment,
    urssaf,
)
from analysis.loaders._read import SourceFormatError, clean_code, read_table, to_number

# --------------------------------------------------------------------------- dictionary


def test_dictionary_rows_are_complete():
    frame = ind.INDICATORS
    assert frame.index.is_unique
    for column in ("label_fr", "label_en", "definition_fr", "definition_en", "unit_label_fr"):
        assert (frame[column].str.len() > 0).all(), column
    assert frame["unit"].isin(list(ind.UNITS)).all()
    assert (
        frame["aggregation"]
        .isin(["sum", "population_weighted_mean", "recompute", "not_aggregable"])
        .all()
    )
    catalogue_ids = set(__import__("analysis.sources", fromlist=["x"]).load_catalogue())
    for ids in frame["source_ids"]:
        assert isinstance(ids, tuple) and set(ids) <= catalogue_ids
    # medians are never averaged
    assert frame.at["median_living_standard_eur", "aggregation"] == "not_aggregable"
    assert set(ind.INPUT_SOURCES) <= catalogue_ids


def test_indicator_info_unknown_lists_known():
    assert ind.indicator_info("unemployment_rate")["unit"] == "pct"
    with pytest.raises(KeyError, match="known indicators: .*unemployment_rate"):
        ind.indicator_info("unemployment")


# --------------------------------------------------------------------------- small pure functions


def test_to_number_reads_markers_and_rejects_text():
    values = to_number(pd.Series([1, "2,5", "s", "", "nd", None], dtype=object))
    assert values.iloc[:2].tolist() == [1.0, 2.5]
    assert values.iloc[2:].isna().all()
    with pytest.raises(ValueError):
        to_number(pd.Series(["Paris"], dtype=object))


def test_clean_code_pads_and_strips_floats():
    assert clean_code(pd.Series([91.0, "2A", 1, "971"], dtype=object), 2).tolist() == [
        "91",
        "2A",
        "01",
        "971",
    ]


# Synthetic crosswalk for unit tests: A1 unchanged, B1+B2 merged into B1, C1 split into C1/C2.
CROSSWALK = pd.DataFrame(
    {
        "old_commune_code": ["A1", "B1", "B2", "C1", "C1", "C2"],
        "commune_code": ["A1", "B1", "B1", "C1", "C2", "C2"],
        "weight": [1.0, 1.0, 1.0, 0.25, 0.75, 1.0],
    }
)


def test_harmonise_keeps_one_to_one_and_sums_counts_of_merged():
    frame = pd.DataFrame(
        {
            "commune_code": ["A1", "B1", "B2", "ZZ"],
            "households": [10.0, 20.0, 5.0, 1.0],
            "median": [100.0, 200.0, 300.0, 1.0],
        }
    )
    out, report = ind.harmonise_commune_values(
        frame, CROSSWALK, value_columns=["households", "median"], count_columns=["households"]
    )
    out = out.set_index("commune_code")
    assert out.loc["A1"].tolist() == [10.0, 100.0]
    assert out.at["B1", "households"] == 25.0
    assert np.isnan(out.at["B1", "median"])  # a median of two communes is not computable
    assert set(report.loc[report["reason"].str.contains("crosswalk"), "code"]) == {"ZZ"}
    assert set(report.loc[report["reason"].str.contains("merged"), "code"]) == {"B1", "B2"}


def test_harmonise_split_weights_counts_and_flags_any():
    frame = pd.DataFrame(
        {"commune_code": ["C1", "C2"], "persons": [100.0, 10.0], "member": [True, False]}
    )
    out, _ = ind.harmonise_commune_values(
        frame,
        CROSSWALK,
        value_columns=["persons", "member"],
        count_columns=["persons"],
        any_columns=["member"],
    )
    out = out.set_index("commune_code")
    assert out.at["C1", "persons"] == pytest.approx(25.0)
    assert out.at["C2", "persons"] == pytest.approx(75.0 + 10.0)
    assert bool(out.at["C2", "member"]) is True


def test_harmonise_count_missing_part_gives_missing():
    frame = pd.DataFrame({"commune_code": ["B1", "B2"], "households": [20.0, np.nan]})
    out, _ = ind.harmonise_commune_values(
        frame, CROSSWALK, value_columns=["households"], count_columns=["households"]
    )
    assert out["households"].isna().all()


# Synthetic communes lookup: 3 communes, 2 EPCI (one commune outside any EPCI), 1 dep.
COMMUNES = pd.DataFrame(
    {
        "commune_code": ["A1", "B1", "C1"],
        "epci_code": ["E1", "E1", ind.NO_EPCI_CODE],
        "ze2020_code": ["Z1", "Z2", "Z2"],
        "dep_code": ["01", "01", "01"],
        "reg_code": ["84", "84", "84"],
        "population": [100.0, 300.0, 600.0],
        "area_km2": [1.0, 2.0, 3.0],
    }
)


def test_aggregate_counts_sums_and_skips_incomplete():
    values = pd.DataFrame(
        {
            "level": "commune",
            "code": ["A1", "B1", "C1", "A1", "B1"],
            "period": ["2019"] * 3 + ["2020"] * 2,
            "indicator": "fiscal_households",
            "value": [1.0, 2.0, 4.0, 1.0, 2.0],
            "source_id": "x",
        }
    )
    out = ind.aggregate_counts(values, COMMUNES, ("epci", "ze2020", "dep", "fr"))
    got = out.set_index(["level", "code", "period"])["value"]
    assert got[("epci", "E1", "2019")] == 3.0
    assert got[("dep", "01", "2019")] == 7.0
    assert got[("fr", "FR", "2019")] == 7.0
    assert ("dep", "01", "2020") not in got.index  # C1 lacks 2020: no partial sum
    assert ("epci", "E1", "2020") in got.index
    assert ind.NO_EPCI_CODE not in set(out["code"])


def test_aggregate_counts_refuses_medians_and_unknown_communes():
    values = pd.DataFrame(
        {
            "level": "commune",
            "code": ["A1"],
            "period": "2019",
            "indicator": "median_living_standard_eur",
            "value": [1.0],
            "source_id": "x",
        }
    )
    with pytest.raises(ValueError, match="only sums"):
        ind.aggregate_counts(values, COMMUNES)
    unknown = values.assign(indicator="fiscal_households", code="QQ")
    with pytest.raises(KeyError, match="not in the communes table"):
        ind.aggregate_counts(unknown, COMMUNES)


def test_population_shares():
    flags = pd.DataFrame({"commune_code": ["A1", "C1"], "flag": [True, True]})
    out = ind.population_shares(
        flags,
        COMMUNES.set_index("commune_code")["population"],
        COMMUNES,
        ("dep", "ze2020"),
        indicator_names={"flag": "petites_villes_de_demain_population_share_pct"},
        period="2023",
        source_id="x",
    )
    got = out.set_index(["level", "code"])["value"]
    assert got[("dep", "01")] == pytest.approx(70.0)  # (100 + 600) / 1000
    assert got[("ze2020", "Z2")] == pytest.approx(600 / 900 * 100)


# Synthetic communes with boundaries: H1's polygon also covers R1 (restored, no boundary) and R2
# (restored, no boundary) is the only commune of EPCI E9.
SYNTHETIC_BOUNDARY_COMMUNES = pd.DataFrame(
    {
        "commune_code": ["H1", "R1", "N1", "R2"],
        "commune_name": ["Hôte", "Rétablie", "Voisine", "Seule"],
        "epci_code": ["E1", "E1", "E2", "E9"],
        "ze2020_code": ["Z1", "Z1", "Z1", "Z1"],
        "dep_code": ["01", "01", "01", "01"],
        "reg_code": ["84", "84", "84", "84"],
        "population": [300.0, 100.0, 600.0, 50.0],
        "area_km2": [40.0, np.nan, 10.0, np.nan],
        "has_boundary": [True, False, True, False],
    }
)


def test_land_area_sums_communes_with_a_boundary_only():
    out = ind.land_area_rows(
        SYNTHETIC_BOUNDARY_COMMUNES, ("epci", "dep", "fr"), period="2022", source_id="x"
    )
    got = out.set_index(["level", "code"])["value"]
    assert got[("epci", "E1")] == 40.0  # R1's land is inside H1's polygon: counted once
    assert got[("dep", "01")] == got[("fr", "FR")] == 50.0
    assert ("epci", "E9") not in got.index  # no commune with a boundary: no area
    assert set(out["indicator"]) == {"area_km2"}
    broken = SYNTHETIC_BOUNDARY_COMMUNES.assign(area_km2=[np.nan, np.nan, 10.0, np.nan])
    with pytest.raises(ValueError, match="with a boundary have no area_km2"):
        ind.land_area_rows(broken, ("dep",), period="2022", source_id="x")
    with pytest.raises(ValueError, match="has_boundary"):
        ind.land_area_rows(
            SYNTHETIC_BOUNDARY_COMMUNES.drop(columns="has_boundary"), period="2022", source_id="x"
        )


def test_backbone_rows_withhold_commune_area_of_host_and_restored():
    rows = ind.backbone_rows(SYNTHETIC_BOUNDARY_COMMUNES, "2022", withheld_area=["H1"])
    got = rows.set_index(["level", "code", "indicator"])["value"]
    # every commune keeps its population; only N1 has a trustworthy commune area
    assert got[("dep", "01", "population")] == 1050.0
    commune_area = rows[(rows["level"] == "commune") & (rows["indicator"] == "area_km2")]
    assert set(commune_area["code"]) == {"N1"}
    assert set(rows.loc[rows["indicator"] == "density_inhab_km2", "code"]) == {
        "N1",
        "E1",
        "E2",
        "Z1",
        "01",
        "84",
        "FR",
    }
    assert got[("dep", "01", "density_inhab_km2")] == pytest.approx(1050.0 / 50.0)
    assert got[("epci", "E1", "density_inhab_km2")] == pytest.approx(400.0 / 40.0)


def test_overstated_area_hosts_and_report():
    synthetic_report = pd.DataFrame(
        {
            "topic": ["boundary", "boundary", "ze2020", "boundary"],
            "commune_code": ["99001", "99001", "99002", "2A004"],
            "commune_name": ["Hôte", "Hôte", "Rétablie", "Voisine"],
            "decision": [
                "boundary probably still covers communes restored from it (area_km2 overstated)",
                "boundary probably still includes a restored commune",
                "zone 9999 of 99001 (area_km2 overstated)",
                "gap of 2.00 km² in the national coverage added to it",
            ],
            "detail": [
                "restored communes without boundary: 99002 (Rétablie)",
                "town hall of 2B003 (Autre) lies inside; 99001's area_km2 is likely overstated",
                "99005 (Ailleurs)",
                "absorbed a commune without polygon 99004 (Absorbée)",
            ],
        }
    )
    hosts = ind.overstated_area_hosts(synthetic_report)
    assert sorted(map(tuple, hosts.to_numpy().tolist())) == [
        ("99001", "2B003"),
        ("99001", "99002"),
    ]
    hosts = pd.DataFrame({"host_code": ["H1"], "covered_code": ["R1"]})
    report = ind.backbone_area_report(SYNTHETIC_BOUNDARY_COMMUNES, hosts, "2022")
    reasons = report.set_index("code")["reason"]
    assert set(reasons.index) == {"H1", "R1", "R2"}
    assert "inside the polygon of H1" in reasons["R1"]
    assert "may be missing" in reasons["R2"]
    assert "R1 (Rétablie)" in reasons["H1"] and "overstated" in reasons["H1"]


def test_tidy_urssaf_sums_regional_parts():
    raw = pd.DataFrame(
        {
            "annee": [2019, 2019, 2019],
            "trimestre": [4, 4, 4],
            "code_zone_d_emploi": ["0051", "0051", "1109"],
            "effectifs_salaries_brut": [10, 5, 100],
            "effectifs_salaries_cvs": [11, 6, 101],
            "masse_salariale_cvs": [1, 2, 3],
        }
    )
    out = urssaf.tidy_urssaf(raw).set_index(["level", "code", "indicator"])["value"]
    assert out[("ze2020", "0051", "salaried_employment")] == 15
    assert out[("fr", "FR", "salaried_employment_sa")] == 11 + 6 + 101


def _panel(rows):
    frame = pd.DataFrame(
        rows, columns=["level", "code", "period", "indicator", "value", "source_id"]
    )
    return ind.finish_panel(frame)


def test_get_returns_wide_sorted_frame():
    panel = _panel(
        [
            ("ze2020", "1109", "2008-Q2", "unemployment_rate", 7.0, "s"),
            ("ze2020", "1109", "2008-Q1", "unemployment_rate", 6.8, "s"),
            ("ze2020", "0051", "2008-Q1", "unemployment_rate", 7.5, "s"),
            ("dep", "59", "2008-Q1", "unemployment_rate", 10.0, "s"),
        ]
    )
    wide = ind.get("unemployment_rate", "ze2020", panel=panel)
    assert list(wide.columns) == ["2008-Q1", "2008-Q2"]
    assert list(wide.index) == ["0051", "1109"]
    assert wide.at["1109", "2008-Q1"] == 6.8
    assert np.isnan(wide.at["0051", "2008-Q2"])
    only = ind.get("unemployment_rate", "ze2020", periods=["2008-Q1"], codes=["1109"], panel=panel)
    assert only.shape == (1, 1)
    with pytest.raises(KeyError, match="unknown level"):
        ind.get("unemployment_rate", "canton", panel=panel)


def test_schema_reports_every_problem():
    panel = _panel(
        [
            ("ze2020", "1109", "2008-Q1", "unemployment_rate", 6.8, "s"),
            ("ze2020", "1109", "2008-Q1", "unemployment_rate", 6.9, "s"),
            ("canton", "X", "2008-T1", "unemployment_rate", np.inf, "s"),
        ]
    )
    with pytest.raises(pandera.errors.SchemaErrors) as error:
        ind.validate_panel(panel)
    text = str(error.value)
    assert "isin" in text and "str_matches" in text


# ------------------------------------------------------------------ loaders on the real files


@pytest.fixture(scope="module")
def raw(raw_data):
    """``require_raw``: path of a fetched raw file (a missing file is an error, not a skip)."""
    from analysis.sources import require_raw

    return require_raw


@pytest.mark.integration
def test_unemployment_ze_real(raw):
    rows = unemployment.load_unemployment_ze(raw("insee_unemployment_ze"))
    value = rows.set_index(["code", "period"])["value"]
    # txcho_ze!Y44 (zone 1109 Paris, column 2003-T1 … 2008-T1) = 6.8
    assert value[("1109", "2008-Q1")] == 6.8
    assert rows["code"].nunique() == 302
    assert (rows["period"].min(), rows["period"].max()) == ("2003-Q1", "2023-Q3")
    # 302 zones x 83 quarters, minus the 15 overseas zones before 2014 (44 quarters)
    assert len(rows) == 302 * 83 - 15 * 44
    assert set(rows["level"]) == {"ze2020"}


@pytest.mark.integration
def test_unemployment_dep_reg_real(raw):
    rows = unemployment.load_unemployment_dep_reg(raw("insee_unemployment_dep_reg"))
    value = rows.set_index(["level", "code", "period"])["value"]
    # Département!DJ64 (Nord, T4_2009) = 12.6 ; Région!DJ11 (Hauts-de-France, T4_2009) = 12
    assert value[("dep", "59", "2009-Q4")] == 12.6
    assert value[("reg", "32", "2009-Q4")] == 12.0
    counts = rows.groupby("level")["code"].nunique()
    assert counts.to_dict() == {"dep": 100, "fr": 2, "reg": 17}
    # 160 quarters 1982-2021; overseas (4 dep, 4 reg, FR) only from 2014 (32 quarters)
    by_level = rows.groupby("level").size()
    assert by_level["dep"] == 96 * 160 + 4 * 32
    assert by_level["reg"] == 13 * 160 + 4 * 32
    assert by_level["fr"] == 160 + 32


@pytest.mark.integration
def test_urssaf_real(raw):
    rows = urssaf.load_urssaf(raw("urssaf_employment_ze"))
    value = rows.set_index(["level", "code", "period", "indicator"])["value"]
    # zone 0051 has two rows in 2019-Q4 (CSV lines 10137 and 10220): 21367 + 6386 (SA)
    assert value[("ze2020", "0051", "2019-Q4", "salaried_employment_sa")] == 21367 + 6386
    # the national total is about 19.05 million jobs in 2019-Q4 (raw; 19.07 M SA)
    assert value[("fr", "FR", "2019-Q4", "salaried_employment")] == pytest.approx(19.05e6, rel=1e-3)
    national = value[("fr", "FR", "2019-Q4", "salaried_employment_sa")]
    assert 19.0e6 < national < 19.1e6
    drop = value[("fr", "FR", "2020-Q2", "salaried_employment_sa")] / national - 1
    assert drop == pytest.approx(-0.030, abs=0.002)
    zones = rows[rows["level"] == "ze2020"]
    assert zones["code"].nunique() == 305
    assert zones["period"].nunique() == 56  # 2012-Q1 … 2025-Q4
    assert not rows.duplicated(["level", "code", "period", "indicator"]).any()


@pytest.mark.integration
def test_filosofi_2019_real(raw):
    vintage = filosofi.load_filosofi(raw("insee_filosofi_2019"), 2019)
    assert vintage.geography_year == 2022
    value = vintage.published.set_index(["level", "code", "indicator"])["value"]
    # EPCI!E7 (CC Faucigny-Glières, MED19) = 25520 ; DEP!G66 (Nord, TP6019) = 18.9
    assert value[("epci", "200000172", "median_living_standard_eur")] == 25520
    assert value[("dep", "59", "poverty_rate_pct")] == 18.9
    levels = vintage.published.groupby("level")["code"].nunique()
    # the DEP/REG sheets' second table (Guadeloupe, Guyane, Mayotte; another source) is not read
    assert levels["dep"] == 98 and levels["reg"] == 15 and levels["ze2020"] == 297
    assert len(vintage.communes) == 34920  # COM sheet: 34,926 rows - 6 header rows


@pytest.mark.integration
def test_filosofi_2014_real_has_no_ze2020(raw):
    vintage = filosofi.load_filosofi(raw("insee_filosofi_2014"), 2014)
    assert vintage.geography_year == 2015
    assert "ze2020" not in set(vintage.published["level"])  # its ZE2010 sheet is not used
    communes = vintage.communes.set_index("commune_code")
    # COM!E23390 (Lille, MED14) = 18000 ; 2014 names its activity-income share PRA14
    assert communes.at["59350", "median_living_standard_eur"] == 18000
    assert communes["activity_income_share_pct"].notna().sum() > 1000


@pytest.mark.integration
def test_observatoire_itdd_density_programmes_real(raw):
    population = observatoire.load_population_ze(raw("ot_population_ze"))
    # Data!D1400 (zone 1109 Paris, 1876) = 2482728
    assert population.set_index(["code", "period"]).at[("1109", "1876"), "value"] == 2482728
    assert population["code"].nunique() == 305  # 306 zones listed; Mayotte (0601) has no value
    assert "0601" not in set(population["code"])
    area = observatoire.load_area_ze(raw("ot_area_ze"))
    density = observatoire.density_from_population_area(population, area)
    assert len(density) == len(area)  # every area year is a population year

    rows = itdd.load_itdd(raw("insee_itdd")).set_index(["level", "code", "period", "indicator"])
    # Economie!M7 (Île-de-France, ESS 2014) = 7.1 ; Economie!C95 (Nord, employment rate 2013)
    assert rows.at[("reg", "11", "2014", "ess_share_salaried_jobs_pct"), "value"] == 7.1
    assert rows.at[("dep", "59", "2013", "employment_rate_15_64_pct"), "value"] == pytest.approx(
        57.5213, abs=1e-3
    )

    grid = density_grid.load_density_grid(raw("insee_density_grid_2024")).set_index("commune_code")
    assert len(grid) == 34935
    assert grid.at["01004", "density_level"] == 2  # Grille_Densite!C8 (Ambérieu-en-Bugey)

    members = programmes.load_programmes(raw("anct_programmes_cog2023")).set_index("commune_code")
    assert len(members) == 35039
    assert members.at["01033", "petites_villes_de_demain"]  # line 31: pvd-84-01-1
    assert not members.at["01004", "petites_villes_de_demain"]
    assert members["petites_villes_de_demain"].sum() == 1653


# --------------------------------------------------------------------------- malformed copies


@pytest.mark.integration
def test_missing_sheet_names_file_and_sheet(raw, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(raw("insee_unemployment_ze"))
    book["txcho_ze"].title = "renamed"
    copy = tmp_path / "chomage.xlsx"
    book.save(copy)
    with pytest.raises(SourceFormatError) as error:
        unemployment.load_unemployment_ze(copy)
    message = str(error.value)
    assert str(copy) in message and "'txcho_ze'" in message and "missing" in message


@pytest.mark.integration
def test_renamed_column_names_file_sheet_and_column(raw, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(raw("insee_unemployment_ze"))
    sheet = book["txcho_ze"]
    for cell in sheet[6]:
        if cell.value == "LIBZE2020":
            cell.value = "LIBELLE"
    copy = tmp_path / "chomage.xlsx"
    book.save(copy)
    with pytest.raises(SourceFormatError) as error:
        unemployment.load_unemployment_ze(copy)
    message = str(error.value)
    assert str(copy) in message and "'txcho_ze'" in message and "'LIBZE2020'" in message


@pytest.mark.integration
def test_renamed_csv_column(raw, tmp_path):
    copy = tmp_path / "urssaf.csv"
    text = Path(raw("urssaf_employment_ze")).read_text()
    copy.write_text(text.replace("effectifs_salaries_cvs", "effectifs_cvs", 1))
    with pytest.raises(SourceFormatError, match="urssaf.csv, column 'effectifs_salaries_cvs'"):
        urssaf.load_urssaf(copy)


def test_read_table_missing_header(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Data"
    book.active.append(["nothing", "here"])
    path = tmp_path / "tiny_synthetic.xlsx"
    book.save(path)
    with pytest.raises(SourceFormatError, match="no header row starting with 'codgeo'"):
        read_table(path, "Data", "codgeo", ["codgeo"])


# --------------------------------------------------------------------------- the build


def _standin_communes() -> pd.DataFrame:
    """Communes of the COG 2023 from the ZE/EPCI composition files (integration stand-in)."""
    from analysis.sources import require_raw

    ze = read_table(
        require_raw("insee_ze2020_composition"),
        "Composition_communale",
        "CODGEO",
        ["CODGEO", "ZE2020", "DEP", "REG"],
    )
    epci = read_table(
        require_raw("insee_epci_composition"), "Composition_communale", "CODGEO", ["CODGEO", "EPCI"]
    )
    communes = pd.DataFrame(
        {
            "commune_code": clean_code(ze["CODGEO"], 5),
            "ze2020_code": clean_code(ze["ZE2020"], 4),
            "dep_code": clean_code(ze["DEP"], 2),
            "reg_code": clean_code(ze["REG"], 2),
        }
    ).merge(
        pd.DataFrame(
            {"commune_code": clean_code(epci["CODGEO"], 5), "epci_code": clean_code(epci["EPCI"])}
        ),
        on="commune_code",
        validate="one_to_one",
    )
    communes["population"] = 100.0
    communes["area_km2"] = 10.0
    return communes


@pytest.mark.integration
def test_build_caches_parts(raw, tmp_path, monkeypatch):
    (tmp_path / "raw").symlink_to(Path(raw("insee_itdd")).parents[1], target_is_directory=True)
    monkeypatch.setenv("PTCE_DATA_DIR", str(tmp_path))
    communes = _standin_communes()
    crosswalk = pd.DataFrame(
        {
            "old_commune_code": communes["commune_code"],
            "commune_code": communes["commune_code"],
            "weight": 1.0,
        }
    )
    # a representative subset: a published quarterly source, a small one, a Filosofi vintage
    # (commune harmonisation, EPCI rule) and the programmes (shares at every level)
    parts = [
        p for p in ind.PARTS if p.name in {"unemployment_ze", "itdd", "filosofi_2014", "programmes"}
    ]

    def build(messages):
        context = ind.BuildContext(
            communes_loader=lambda: communes, crosswalk_loader=lambda: crosswalk
        )
        ind.build_indicators(context=context, log=messages.append, parts=parts)

    messages: list[str] = []
    build(messages)
    assert sum(": built" in m for m in messages) == len(parts) == 4
    panel = ind.load_indicators()
    ind.validate_panel(panel)
    assert set(panel["level"].astype(str)) == set(ind.LEVELS)
    wide = ind.get("unemployment_rate", "ze2020", periods=["2008-Q1"])
    assert wide.at["1109", "2008-Q1"] == 6.8
    report = pd.read_csv(ind.report_path(), dtype=str)
    assert "EPCI on the 2015 geography (before the 2017 reform)" in set(report["reason"])

    messages.clear()
    build(messages)
    assert messages == ["indicators: up to date"]

    # a stale key for one part rebuilds only that part
    manifest_path = ind.parts_dir() / "manifest.json"
    manifest = __import__("json").loads(manifest_path.read_text())
    manifest["parts"]["itdd"] = "stale"
    manifest["panel_key"] = "stale"
    manifest_path.write_text(__import__("json").dumps(manifest))
    messages.clear()
    build(messages)
    built = [m for m in messages if ": built" in m]
    assert len(built) == 1 and "itdd" in built[0]
    shutil.rmtree(tmp_path / "processed")


# --------------------------------------------------------------------------- on the real backbone


@pytest.mark.integration
def test_filosofi_and_programmes_on_real_backbone(raw, backbone):
    from analysis import territories

    communes = territories.load_communes(with_geometry=False)
    crosswalk = territories.commune_code_crosswalk()
    vintage = filosofi.load_filosofi(raw("insee_filosofi_2019"), 2019)
    rows, report = ind.filosofi_rows(vintage, communes, crosswalk)
    value = rows.set_index(["level", "code", "indicator"])["value"]
    # COM sheet: Lille (59350) is unchanged since 2022, so its published median is kept
    lille = vintage.communes.set_index("commune_code").at["59350", "median_living_standard_eur"]
    assert value[("commune", "59350", "median_living_standard_eur")] == lille
    # every commune row is on today's codes; what could not be moved is reported, not dropped
    commune_codes = set(rows.loc[rows["level"] == "commune", "code"])
    assert commune_codes <= set(communes["commune_code"])
    # every published commune median is either on its current code or reported (old code)
    published = vintage.communes.dropna(subset=["median_living_standard_eur"])["commune_code"]
    walk = crosswalk[crosswalk["old_commune_code"].isin(set(published))]
    with_median = set(
        rows.loc[
            (rows["level"] == "commune") & (rows["indicator"] == "median_living_standard_eur"),
            "code",
        ]
    )
    reported = set(report["code"])
    missing = walk[
        ~walk["commune_code"].isin(with_median) & ~walk["old_commune_code"].isin(reported)
    ]
    assert missing.empty, missing.head()
    assert set(published) - set(crosswalk["old_commune_code"]) <= reported
    # published EPCI are kept only when the code is one of today's EPCI
    epci = set(rows.loc[rows["level"] == "epci", "code"])
    assert epci and epci <= set(communes["epci_code"])

    members = programmes.load_programmes(raw("anct_programmes_cog2023"))
    shares, report = ind.programme_rows(members, communes, crosswalk)
    share = shares.set_index(["level", "code", "indicator"])["value"]
    name = "petites_villes_de_demain_population_share_pct"
    assert 0 < share[("fr", "FR", name)] < 100
    # the national share equals the population of member communes over all communes
    member_codes = set(
        shares.loc[
            (shares["indicator"] == "petites_villes_de_demain_member") & (shares["value"] == 1),
            "code",
        ]
    )
    population = communes.set_index("commune_code")["population"]
    expected = population[population.index.isin(member_codes)].sum() / population.sum() * 100
    assert share[("fr", "FR", name)] == pytest.approx(expected)
    # collectivités d'outre-mer (975xx, 977xx, 98xxx) are outside the backbone: reported
    assert "97501" in set(report["code"])


@pytest.mark.integration
def test_built_panel(indicators_built):
    panel = ind.load_indicators()
    ind.validate_panel(panel)
    counts = panel.groupby("source_id", observed=True).size()
    # every raw input of the module contributes rows, plus the backbone's population and area
    assert set(ind.INPUT_SOURCES) | set(ind.BACKBONE_SOURCES.values()) == set(counts.index)
    assert ind.get("unemployment_rate", "dep", periods=["2009-Q4"]).at["59", "2009-Q4"] == 12.6
    population = ind.get("population", "fr")
    communes_total = ind.get("population", "commune").iloc[:, -1].sum()
    assert population.iloc[0, -1] == pytest.approx(communes_total)
    # medians exist only where published: no ze2020 median before 2018 (ZE2010 files)
    medians = ind.get("median_living_standard_eur", "ze2020")
    assert list(medians.columns) == ["2018", "2019"]
    report = pd.read_csv(ind.report_path(), dtype=str)
    assert {"source_id", "level", "code", "period", "indicator", "reason"} <= set(report.columns)


def test_schema_checks_code_format_per_level():
    panel = _panel(
        [
            ("dep", "59", "2019", "poverty_rate_pct", 18.9, "s"),
            ("dep", "059", "2019", "poverty_rate_pct", 18.9, "s"),
            ("ze2020", "51", "2019", "poverty_rate_pct", 1.0, "s"),
        ]
    )
    with pytest.raises(pandera.errors.SchemaErrors) as error:
        ind.validate_panel(panel)
    failures = error.value.failure_cases
    assert set(failures["index"]) == {1, 2}  # "059" at dep and "51" at ze2020


def test_filosofi_zip_missing_sheet_names_archive_member_and_sheet(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    zipfile = pytest.importorskip("zipfile")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "COM"
    sheet.append(["Fichier Localisé Social et Fiscal (FiLoSoFi) - Année 2019"])
    sheet.append(["Communes"])
    sheet.append(["Mise en ligne le 05/07/2022       Géographie au 01/01/2022"])
    member = tmp_path / "tiny_synthetic_filosofi.xlsx"
    book.save(member)
    archive = tmp_path / "tiny_synthetic_filosofi.zip"
    with zipfile.ZipFile(archive, "w") as stream:
        stream.write(member, member.name)
    with pytest.raises(SourceFormatError) as error:
        filosofi.load_filosofi(archive, 2019)
    message = str(error.value)
    assert f"{archive}!tiny_synthetic_filosofi.xlsx" in message and "sheet 'DEP'" in message


@pytest.mark.integration
def test_cli_export_csv_and_xlsx(indicators_built, tmp_path):
    from typer.testing import CliRunner

    from analysis.cli import app

    runner = CliRunner()
    out = tmp_path / "unemployment_dep.csv"
    result = runner.invoke(
        app,
        [
            "indicators",
            "export",
            "unemployment_rate",
            "--level",
            "dep",
            "--out",
            str(out),
            "-p",
            "2009-Q4",
            "-p",
            "2008-Q1",
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# indicator: unemployment_rate")
    assert "Insee, taux de chômage localisés" in text
    table = pd.read_csv(out, comment="#", dtype={"code": str}).set_index("code")
    assert table.at["59", "2009-Q4"] == 12.6
    assert [c for c in table.columns if c != "name"] == ["2008-Q1", "2009-Q4"]

    xlsx = tmp_path / "median_epci.xlsx"
    result = runner.invoke(
        app,
        [
            "indicators",
            "export",
            "median_living_standard_eur",
            "--level",
            "epci",
            "--out",
            str(xlsx),
            "--lang",
            "en",
        ],
    )
    assert result.exit_code == 0, result.output
    sheets = pd.read_excel(xlsx, sheet_name=None, engine="calamine", dtype={"code": str})
    assert set(sheets) == {"data", "sources"}
    data = sheets["data"].set_index("code")
    assert data.at["200000172", "2019"] == 25520  # EPCI!E7 of the 2019 file
    assert "insee_filosofi_2019" in sheets["sources"].to_string()

    bad = runner.invoke(
        app, ["indicators", "export", "nope", "--level", "dep", "--out", str(tmp_path / "x.csv")]
    )
    assert bad.exit_code == 2 and "known indicators" in bad.output

    listing = runner.invoke(app, ["indicators", "list", "--lang", "en"])
    assert listing.exit_code == 0 and "median_living_standard_eur" in listing.output


@pytest.mark.integration
def test_areas_use_the_dissolved_geometry(indicators_built):
    from analysis import territories

    communes = territories.load_communes(with_geometry=False)
    without = set(communes.loc[~communes["has_boundary"], "commune_code"])
    assert without  # the four Cantal communes restored in 2025, at the time of writing
    # territories containing a commune without boundary still get an area and a density
    for level, code in [("dep", "15"), ("reg", "84"), ("fr", "FR")]:
        for name in ("area_km2", "density_inhab_km2"):
            value = ind.get(name, level).loc[code].dropna()
            assert len(value) and (value > 0).all(), (level, code, name)
    regions = territories.load_territories("reg")
    layer_total = regions["area_km2"].sum()
    france = ind.get("area_km2", "fr").loc["FR"].dropna().iloc[-1]
    assert france == pytest.approx(layer_total, rel=0.005)
    # the layers' area is the dissolved geometry's area (measured as the backbone measures it)
    zones = regions["territory_code"].map(territories.REGION_TO_DROM).fillna("metro")
    measured = territories.compute_area_km2(regions.geometry, zones)
    np.testing.assert_allclose(measured, regions["area_km2"], rtol=1e-4)
    # and the panel's département areas are the layer's
    deps = territories.load_territories("dep", with_geometry=False).set_index("territory_code")
    period = ind.get("area_km2", "dep").columns[-1]
    panel = ind.get("area_km2", "dep", periods=[period])[period]
    np.testing.assert_allclose(panel.reindex(deps.index), deps["area_km2"], rtol=1e-9)
    # no commune area nor density for communes without boundary or whose polygon covers one
    report = pd.read_csv(ind.report_path(), dtype=str, keep_default_na=False)
    flagged = set(report.loc[report["indicator"] == "area_km2", "code"])
    assert without < flagged
    commune_density = ind.get("density_inhab_km2", "commune")
    assert not flagged & set(commune_density.index)


def test_indicator_source_ids_follow_the_levels_shown():
    """Synthetic panel: a département figure cites the département file only."""
    synthetic_panel = pd.DataFrame(
        {
            "level": ["ze2020", "dep", "fr"],
            "code": ["0051", "61", "FRM"],
            "period": ["2008-Q1"] * 3,
            "indicator": ["unemployment_rate"] * 3,
            "value": [6.8, 7.0, 6.9],
            "unit": ["pct"] * 3,
            "source_id": [
                "insee_unemployment_ze",
                "insee_unemployment_dep_reg",
                "insee_unemployment_dep_reg",
            ],
        }
    )
    by_dep = ind.indicator_source_ids("unemployment_rate", ["dep", "fr"], panel=synthetic_panel)
    assert by_dep == ("insee_unemployment_dep_reg",)
    by_zone = ind.indicator_source_ids("unemployment_rate", ["ze2020", "fr"], panel=synthetic_panel)
    assert by_zone == ("insee_unemployment_ze", "insee_unemployment_dep_reg")
    nothing = ind.indicator_source_ids("unemployment_rate", ["epci"], panel=synthetic_panel)
    assert nothing == tuple(ind.indicator_info("unemployment_rate")["source_ids"])
