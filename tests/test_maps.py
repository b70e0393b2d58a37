"""Tests of analysis.maps: choropleth classes and legends, diverging scales, insets, initiatives."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from shapely.geometry import box  # noqa: E402

from analysis import figures, labels, maps  # noqa: E402
from figure_data import (  # noqa: E402
    NBSP,
    SYNTHETIC_DICTIONARY,
    close_figures,  # noqa: F401 - autouse fixture
    synthetic_grid,
)


def _legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_choropleth_legend_states_the_classes_in_french():
    values = [5.2, 6.1, 7.3, 8.8, 9.9, 12.5, 4.1, np.nan, 6.6, 7.7, 10.2, 11.1]
    ax = maps.plot_choropleth(
        synthetic_grid(values),
        "unemployment_rate",
        k=4,
        dictionary=SYNTHETIC_DICTIONARY,
        insets=False,
    )
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "Taux de chômage (%)"
    texts = _legend_texts(ax)
    assert len(texts) == 5 and texts[-1] == "Données manquantes (1)"
    import mapclassify

    observed = np.array([v for v in values if not np.isnan(v)])
    classes = mapclassify.Quantiles(observed, k=4)
    lows = [observed.min(), *classes.bins[:-1]]
    expected = [
        f"{labels.format_number(lo, 'fr', 2)} – {labels.format_number(hi, 'fr', 2)} ({n})"
        for lo, hi, n in zip(lows, classes.bins, classes.counts, strict=True)
    ]
    assert texts[:4] == expected
    assert texts[0].startswith("4,10 – ") and "," in texts[0]
    alt = figures.get_alt_text(ax)
    assert alt.startswith("Carte de 12 territoires : taux de chômage, en 4 classes (quantiles)")
    assert f"de 4,1{NBSP}% (Zone 6) à 12,5{NBSP}% (Zone 5)" in alt
    assert "1 sans donnée" in alt


def test_choropleth_in_english_with_user_defined_classes():
    gdf = synthetic_grid([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    ax = maps.plot_choropleth(
        gdf,
        "unemployment_rate",
        lang="en",
        scheme="user_defined",
        classification_kwds={"bins": [2.5, 6.0]},
        dictionary=SYNTHETIC_DICTIONARY,
        insets=False,
    )
    assert _legend_texts(ax) == ["1.0 – 2.5 (2)", "2.5 – 6.0 (4)"]
    assert "in 2 classes (chosen classes)" in figures.get_alt_text(ax)


def test_choropleth_places_overseas_insets():
    territories = pytest.importorskip("analysis.territories")
    gdf = gpd.GeoDataFrame(
        {
            "dep_code": ["01", "02", "974"],
            "territory_name": ["A", "B", "La Réunion"],
            "unemployment_rate": [7.0, 8.0, 18.0],
        },
        geometry=[box(2, 46, 3, 47), box(3, 46, 4, 47), box(55.3, -21.3, 55.8, -20.9)],
        crs=4326,
    )
    ax = maps.plot_choropleth(gdf, "unemployment_rate", k=2, dictionary=SYNTHETIC_DICTIONARY)
    assert "(outre-mer en encadrés)" in figures.get_alt_text(ax)
    frame = territories.overseas_inset_frames().set_index("dep_code").loc["974", "geometry"]
    xmin, ymin, xmax, ymax = frame.bounds
    # the Réunion polygon was moved into its inset box, whose frame is drawn
    from matplotlib.collections import LineCollection

    polygons = [
        p.get_extents()
        for c in ax.collections
        if not isinstance(c, LineCollection)
        for p in c.get_paths()
    ]
    assert len(polygons) == 3
    inside = [xmin <= b.x0 and b.x1 <= xmax and ymin <= b.y0 and b.y1 <= ymax for b in polygons]
    assert inside == [False, False, True]
    assert any(isinstance(c, LineCollection) for c in ax.collections)


def test_choropleth_reports_bad_input():
    gdf = synthetic_grid([1.0, 2.0])
    with pytest.raises(KeyError, match="missing column"):
        maps.plot_choropleth(gdf, "nope", insets=False, dictionary=SYNTHETIC_DICTIONARY)
    with pytest.raises(ValueError, match="no CRS"):
        maps.plot_choropleth(
            gdf.set_crs(None, allow_override=True),
            "unemployment_rate",
            insets=False,
            dictionary=SYNTHETIC_DICTIONARY,
        )
    with pytest.raises(TypeError, match="GeoDataFrame"):
        maps.plot_choropleth(pd.DataFrame(gdf.drop(columns="geometry")), "unemployment_rate")


@pytest.mark.integration
def test_national_map_on_the_real_backbone(backbone, tmp_path):
    from analysis import territories

    layer = territories.load_territories("ze2020")
    layer["density"] = layer["population"] / layer["area_km2"]
    ax = maps.plot_choropleth(layer, "density", indicator="density_inhab_km2")
    alt = figures.get_alt_text(ax)
    assert alt.startswith(f"Carte de {labels.format_number(len(layer), 'fr', 0)} territoires")
    assert "(outre-mer en encadrés)" in alt
    files = figures.save_figure(
        ax.figure,
        "density_ze2020_map",
        sources=figures.indicator_sources("density_inhab_km2"),
        out_dir=tmp_path,
        title="Densité de population par zone d'emploi",
    )
    assert all(path.stat().st_size > 0 for path in files.values())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    counts = [int(re.search(r"\((\d+)\)$", entry).group(1)) for entry in legend]
    assert sum(counts) == len(layer)


def test_initiatives_map_colours_points_by_kind():
    pytest.importorskip("analysis.territories")
    initiatives = pd.DataFrame(
        {
            "kind": ["ptce", "ptce", "tzcld", "tiers_lieu"],
            "longitude": [2.35, 4.85, 55.45, np.nan],
            "latitude": [48.85, 45.75, -21.1, np.nan],
            "dep_code": ["75", "69", "974", "13"],
        }
    )
    ax = maps.plot_initiatives_map(initiatives)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["PTCE (2)", "TZCLD (1)"]
    colours = [matplotlib.colors.to_hex(c.get_facecolor()[0]).upper() for c in ax.collections[-2:]]
    assert colours == [figures.KIND_COLOURS[k] for k in ("ptce", "tzcld")]
    assert figures.get_alt_text(ax) == (
        "Carte de 3 initiatives de coopération localisées (outre-mer en encadrés) : PTCE 2, "
        "TZCLD 1 ; non représentées faute de localisation : 1."
    )
    ax_en = maps.plot_initiatives_map(initiatives.iloc[:2], lang="en", insets=False)
    assert figures.get_alt_text(ax_en) == "Map of 2 located cooperation initiatives: PTCE 2."


def test_choropleth_centred_classes_take_the_hue_of_their_side():
    gdf = synthetic_grid([-2.0, -1.0, -0.5, 0.5, 1.0, 3.0])
    ax = maps.plot_choropleth(
        gdf,
        "unemployment_rate",
        scheme="user_defined",
        center=0.0,
        insets=False,
        classification_kwds={"bins": [-1.0, 0.0, 1.0, 3.0]},
        legend_title="Indice",
    )
    colours = [h.get_facecolor() for h in ax.get_legend().legend_handles]
    # PuOr: orange (red > blue) below the centre, purple (blue > red) above
    assert [np.sign(c[2] - c[0]) for c in colours] == [-1, -1, 1, 1]


def test_signed_resilience_measures_are_mapped_around_their_reference():
    gdf = synthetic_grid([-2.0, -1.0, -0.5, 0.5, 1.0, 3.0])
    gdf["resistance_lagravinese"] = gdf.pop("unemployment_rate")
    kwargs = {"scheme": "user_defined", "insets": False, "legend_title": "Indice",
              "classification_kwds": {"bins": [-1.0, 0.0, 1.0, 3.0]}}  # fmt: skip
    ax = maps.plot_choropleth(gdf, "resistance_lagravinese", **kwargs)
    colours = [h.get_facecolor() for h in ax.get_legend().legend_handles]
    assert [np.sign(c[2] - c[0]) for c in colours] == [-1, -1, 1, 1]
    plain = maps.plot_choropleth(gdf, "resistance_lagravinese", center=False, **kwargs)
    viridis = plt.get_cmap("viridis")
    assert plain.get_legend().legend_handles[0].get_facecolor() == viridis(0.0)
