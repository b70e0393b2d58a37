"""Analysis inputs (``analysis.datasets``): tiny inline tables, then the real processed tables."""

from __future__ import annotations

import inspect
import json

import pandas as pd
import pandas.testing as pdt
import pytest

from analysis import cooperation, datasets, paths, registry, territories


def test_majority_region_for_zones_spanning_regions():
    communes = pd.DataFrame(
        {
            "ze2020_code": ["Z1", "Z1", "Z1", "Z2"],
            "reg_code": ["11", "24", "24", "24"],
            "population": [1000, 300, 400, 50],
        }
    )
    regions = datasets.majority_region(communes, "ze2020")
    assert regions.to_dict() == {"Z1": "11", "Z2": "24"}
    assert regions.index.name == "territory_code" and regions.name == "reg_code"


def test_majority_region_breaks_ties_by_smallest_code():
    communes = pd.DataFrame(
        {"dep_code": ["01", "01"], "reg_code": ["84", "27"], "population": [500, 500]}
    )
    assert datasets.majority_region(communes, "dep").to_dict() == {"01": "27"}


def test_treatment_established_before_respects_year_and_precision():
    initiatives = pd.DataFrame(
        {
            "kind": ["ptce", "ptce", "ptce", "ptce", "tzcld"],
            "year": [2014, 2021, 2014, None, 2017],
            "location_precision": ["commune", "commune", "departement", "commune", "commune"],
            "ze2020_code": ["Z1", "Z2", None, "Z3", "Z4"],
            "dep_code": ["01", "02", "03", "04", "05"],
        }
    )
    ze = datasets.treatment_established_before(initiatives, "ze2020", 2020)
    assert ze.index.tolist() == ["Z1"]  # Z2 founded after; the 2014 one is located by dep only
    assert ze.name == "is_ptce_before_2020" and ze.attrs["n_unknown_year"] == 1
    dep = datasets.treatment_established_before(initiatives, "dep", 2020)
    assert dep.index.tolist() == ["01", "03"]
    assert datasets.treatment_established_before(initiatives, "dep", 2008).empty
    with pytest.raises(KeyError, match="missing column.*reg_code"):
        datasets.treatment_established_before(initiatives, "reg", 2020)


def test_pick_period_takes_the_latest_before_the_target_else_the_earliest():
    columns = ["2016", "2014", "2015"]
    assert datasets._pick_period(columns, 2015.5) == "2015"
    assert datasets._pick_period(columns, 2008.0) == "2014"


def test_territory_profile_takes_no_registry():
    # It used to accept registry_path and ignore it: the profile is the territory tables only.
    assert list(inspect.signature(datasets.territory_profile).parameters) == [
        "level",
        "territory_code",
    ]


# --------------------------------------------------------------------------- real tables
@pytest.fixture(scope="module")
def real_data(request):
    request.getfixturevalue("indicators_built")
    request.getfixturevalue("cooperation_built")


@pytest.mark.integration
@pytest.mark.parametrize("level", ["epci", "ze2020", "dep", "reg"])
def test_counts_from_the_cooperation_table_equal_the_built_counts(real_data, level):
    # Notebooks now pass the cooperation table down; counted again it must match the build.
    built = datasets.cooperation_counts(level)
    recounted = datasets.cooperation_counts(level, cooperation.load_cooperation())
    pdt.assert_frame_equal(recounted, built, check_like=False)


@pytest.mark.integration
def test_a_custom_registry_is_read_and_located_once(real_data, monkeypatch):
    calls = []
    read = registry.read_registry

    def counting_read(path=None):
        calls.append(path)
        return read(path)

    monkeypatch.setattr(registry, "read_registry", counting_read)
    custom = paths.default_registry()  # the project's registry, passed as a user's would be
    initiatives = datasets.load_initiatives(custom)
    table, window = datasets.load_analysis_table(
        "unemployment_rate", "dep", "covid_2020", initiatives=initiatives
    )
    assert len(calls) == 1
    built, built_window = datasets.load_analysis_table("unemployment_rate", "dep", "covid_2020")
    assert window == built_window
    pdt.assert_frame_equal(table, built)
    assert table.attrs == built.attrs


@pytest.mark.integration
def test_the_registry_quality_notebook_reads_a_custom_registry_once(
    real_data, monkeypatch, tmp_path
):
    reads = []
    decode = registry._decode  # the one place a registry file is read

    def counting_decode(path):
        reads.append(path)
        return decode(path)

    monkeypatch.setattr(registry, "_decode", counting_decode)
    notebook = json.loads((paths.NOTEBOOKS_DIR / "registry_quality.ipynb").read_text("utf-8"))
    code = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    parameters, load = code[0], next(c for c in code if "read_registry" in c)
    custom = paths.default_registry()  # the project's registry, passed as a user's would be
    namespace: dict = {}
    exec(  # noqa: S102 - the notebook's own Load cell, with a custom registry
        f"{parameters}\nregistry_path = {str(custom)!r}\noutput_dir = {str(tmp_path)!r}\n{load}",
        namespace,
    )
    assert reads == [custom]
    assert namespace["problems"] == registry.check_registry(custom)
    assert len(namespace["initiatives"]) == len(cooperation.load_cooperation())


@pytest.mark.integration
def test_territory_profile_of_an_epci_finds_its_zone_and_region(real_data):
    communes = territories.load_communes(with_geometry=False)
    epci = str(communes["epci_code"].dropna().iloc[0])
    profile = datasets.territory_profile("epci", epci)
    assert profile.territory_code == epci and profile.region_code and profile.zone_code
    series = datasets.profile_series(profile, "unemployment_rate")
    assert "national" in series.index and series.attrs["labels"]["national"]
