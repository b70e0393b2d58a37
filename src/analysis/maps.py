"""Maps: choropleths in stated classes and initiative points, overseas départements as insets.

Same conventions as :mod:`analysis.figures` (draw on a given axis, project style,
words from :mod:`analysis.labels`, a recorded alternative text); save with
``figures.save_figure``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import mapclassify
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm, to_rgba
from matplotlib.patches import Patch

from analysis import territories
from analysis.checks import require_columns
from analysis.figures import (
    KIND_COLOURS,
    MISSING_COLOUR,
    NEUTRAL_GREY,
    TEXT_GREY,
    NumberFormatter,
    new_axes,
    set_alt_text,
    styled,
)
from analysis.labels import (
    ALT_TEXT,
    TEXT,
    alt_text,
    axis_label,
    check_lang,
    decimals_for,
    decimals_for_range,
    format_number,
    is_percent,
    kind_label,
    label,
    lower_first,
    text,
)

DIVERGING_CENTRES: dict[str, float] = {
    "resistance_lagravinese": 0.0,
    "recovery_lagravinese": 0.0,
    "rise_vs_nation_pp": 0.0,
    "recovery_vs_nation_pp": 0.0,
    "sensitivity_martin": 1.0,
}
"""Measures read against a reference value (France): maps colour them on a diverging scale."""


@styled
def plot_choropleth(
    gdf,
    column: str,
    *,
    ax: Axes | None = None,
    scheme: str = "quantiles",
    k: int = 5,
    lang: str = "fr",
    indicator: str | None = None,
    legend_title: str | None = None,
    dictionary: pd.DataFrame | None = None,
    name_column: str | None = None,
    insets: bool = True,
    cmap: str | None = None,
    center: float | bool | None = None,
    decimals: int | None = None,
    percent: bool | None = None,
    legend_loc: str = "center left",
    edgecolor: str = "white",
    linewidth: float = 0.15,
    classification_kwds: Mapping[str, Any] | None = None,
    legend_anchor: tuple[float, float] | None = (1.0, 0.5),
) -> Axes:
    """Map ``column`` in classes (``mapclassify``) with a legend that states each class.

    Args:
        gdf: GeoDataFrame, one row per territory, CRS set.
        column: Numeric column to map.
        ax: Axes to draw on (a new figure when ``None``).
        scheme: A ``mapclassify.classify`` scheme (``quantiles``, ``equal_interval``,
            ``natural_breaks``, ``fisher_jenks``, ``user_defined`` with
            ``classification_kwds={"bins": [...]}``…).
        k: Number of classes.
        lang: ``"fr"`` or ``"en"``.
        indicator: Indicator whose label and unit title the legend (default: ``column``
            when ``legend_title`` is not given).
        legend_title: Explicit legend title (for measures that are not indicators,
            e.g. a resilience index).
        dictionary: Indicator dictionary (default ``analysis.labels.INDICATORS``).
        name_column: Territory names used in the alt text (default ``territory_name``,
            ``commune_name`` or ``territory_code`` when present).
        insets: Move the overseas departments next to the metropole with
            ``analysis.territories.place_overseas_insets`` (needs a ``dep_code`` or
            what that function documents).
        cmap: Colour map (default ``viridis``, or ``PuOr`` with ``center``; both
            colour-blind safe).
        center: For signed measures (a resilience index: > 0 did better than
            France): classes below and above this value get the two hues of a
            diverging colour map, shaded by their distance to it. Default: from
            :data:`DIVERGING_CENTRES` for the measures listed there; ``False``
            turns it off.
        decimals: Decimals of the class limits (default: from the spread of the data).
        percent: Print class limits with ``%`` (default: from the indicator's unit).
        legend_loc: Legend position (relative to ``legend_anchor``).
        legend_anchor: Point the legend is attached to, in axes fraction (default:
            outside, right of the map); ``None`` places it inside the map.
        edgecolor: Boundary colour.
        linewidth: Boundary width.
        classification_kwds: Extra arguments of ``mapclassify.classify``.

    Returns:
        The axes, with its alt text recorded (see :func:`get_alt_text`).
    """
    check_lang(lang)
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"plot_choropleth needs a GeoDataFrame, got {type(gdf).__name__}.")
    require_columns(gdf, [column], "plot_choropleth")
    if gdf.crs is None:
        raise ValueError(
            "plot_choropleth: the GeoDataFrame has no CRS; set it (e.g. gdf.set_crs(2154))."
        )
    values = pd.to_numeric(gdf[column], errors="coerce")
    if values.notna().sum() == 0:
        raise ValueError(f"plot_choropleth: column {column!r} has no numeric value to map.")
    if legend_title is None:
        indicator = indicator or column
        legend_title = axis_label(indicator, lang, dictionary=dictionary)
        short = label(indicator, lang, dictionary=dictionary)
        if percent is None:
            percent = is_percent(indicator, dictionary=dictionary)
    else:
        short = legend_title
    percent = bool(percent)
    drom_present: list[str] = []
    if insets:
        drom_present = sorted(set(territories.locate_drom(gdf).dropna()))
        gdf = territories.place_overseas_insets(gdf)
        values = pd.to_numeric(gdf[column], errors="coerce")
    ax = new_axes(ax, (8.0, 6.0))
    if drom_present:
        frames = territories.overseas_inset_frames()
        frames[frames["dep_code"].isin(drom_present)].boundary.plot(
            ax=ax, color=NEUTRAL_GREY, linewidth=0.5
        )
    valid = values.notna().to_numpy()
    observed = values[valid].to_numpy(dtype=float)
    classifier = mapclassify.classify(
        observed, scheme=scheme, k=k, **dict(classification_kwds or {})
    )
    bins = np.asarray(classifier.bins, dtype=float)
    n_classes = len(bins)
    if center is None:
        center = DIVERGING_CENTRES.get(column)
    elif center is False:
        center = None
    colour_map = plt.get_cmap(cmap or ("PuOr" if center is not None else "viridis"))
    if center is not None:
        # classes below the centre in one hue, above in the other, graded by rank (the
        # classes stay distinguishable however skewed the data); a class straddling
        # the centre is neutral
        lows_ = np.array([observed.min(), *bins[:-1]])
        below = [i for i in range(n_classes) if bins[i] <= center]
        above = [i for i in range(n_classes) if lows_[i] >= center and i not in below]
        positions = dict.fromkeys(range(n_classes), 0.5)
        positions.update(
            zip(
                below,
                np.linspace(0.05, 0.33, len(below)) if len(below) > 1 else [0.25] * len(below),
                strict=True,
            )
        )
        positions.update(
            zip(
                above,
                np.linspace(0.70, 0.95, len(above)) if len(above) > 1 else [0.8] * len(above),
                strict=True,
            )
        )
        colours = [colour_map(positions[i]) for i in range(n_classes)]
    else:
        colours = [
            colour_map(i / (n_classes - 1)) if n_classes > 1 else colour_map(0.5)
            for i in range(n_classes)
        ]
    classes = np.asarray(classifier.yb)
    gdf_valid = gdf[valid]
    gdf_valid.plot(
        ax=ax, color=[colours[c] for c in classes], edgecolor=edgecolor, linewidth=linewidth
    )
    n_missing = int((~valid).sum())
    if n_missing:
        gdf[~valid].plot(
            ax=ax, color=MISSING_COLOUR, edgecolor=edgecolor, linewidth=linewidth, hatch="///"
        )
    if decimals is None:  # as precise as the data, at most 3 significant digits of its spread
        decimals = min(
            decimals_for([*observed, *bins], 3), decimals_for_range(observed.min(), observed.max())
        )
    value_decimals = min(decimals, decimals_for(observed, 3))
    lows = [observed.min(), *bins[:-1]]
    counts = np.bincount(classes, minlength=n_classes)
    handles, labels_ = [], []
    for i in range(n_classes):
        low = format_number(lows[i], lang, decimals)  # the legend title carries the unit
        high = format_number(bins[i], lang, decimals)
        handles.append(Patch(facecolor=colours[i], edgecolor="none"))
        labels_.append(f"{low} – {high} ({format_number(counts[i], lang, 0)})")
    if n_missing:
        handles.append(Patch(facecolor=MISSING_COLOUR, edgecolor="#AAAAAA", hatch="///"))
        labels_.append(f"{text('no_data', lang)} ({format_number(n_missing, lang, 0)})")
    ax.legend(
        handles,
        labels_,
        title=textwrap.fill(legend_title, 30),
        loc=legend_loc,
        alignment="left",
        bbox_to_anchor=legend_anchor,
    )
    ax.set_axis_off()
    ax.set_aspect("equal")

    if name_column is None:
        name_column = next(
            (c for c in ("territory_name", "commune_name", "territory_code") if c in gdf.columns),
            None,
        )
    names = (
        gdf_valid[name_column].astype(str).to_numpy()
        if name_column
        else np.array([""] * len(observed))
    )
    low_i, high_i = int(np.argmin(observed)), int(np.argmax(observed))
    description = alt_text(
        "choropleth",
        lang,
        n=format_number(len(gdf), lang, 0),
        areas=text("areas", lang),
        insets=alt_text("insets", lang) if drom_present else "",
        label=lower_first(short),
        k=n_classes,
        scheme=_scheme_label(scheme, lang),
        low=format_number(observed[low_i], lang, value_decimals, percent=percent),
        low_name=names[low_i],
        high=format_number(observed[high_i], lang, value_decimals, percent=percent),
        high_name=names[high_i],
        missing=alt_text("missing", lang, m=n_missing) if n_missing else "",
    )
    set_alt_text(ax, description)
    return ax


@styled
def plot_initiatives_map(
    initiatives: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "fr",
    background=None,
    insets: bool = True,
    kind_column: str = "kind",
    marker_size: float = 9.0,
) -> Axes:
    """Map of cooperation initiatives as points, one fixed colour per kind.

    Args:
        initiatives: One row per initiative with ``longitude``, ``latitude`` (WGS84),
            and ``kind_column``, e.g. ``analysis.cooperation.load_cooperation()``. Points
            are placed (and moved into the overseas insets) by their coordinates. Rows
            without coordinates are counted in the alt text, not drawn.
        ax: Axes to draw on.
        lang: ``"fr"`` or ``"en"``.
        background: Optional GeoDataFrame drawn in light grey underneath (e.g. the
            départements from ``analysis.territories.load_territories("dep")``).
        insets: Move the overseas departments into insets (see :func:`plot_choropleth`).
        kind_column: Column holding the kind (keys of :data:`KIND_COLOURS`).
        marker_size: Point size.
    """
    check_lang(lang)
    require_columns(initiatives, ["longitude", "latitude", kind_column], "plot_initiatives_map")
    unknown = sorted(set(initiatives[kind_column].astype(str)) - set(KIND_COLOURS))
    if unknown:
        raise KeyError(
            f"plot_initiatives_map: unknown kind(s) {unknown} in column {kind_column!r}; "
            f"known: {', '.join(KIND_COLOURS)}."
        )
    located, points = _initiative_points(initiatives)
    ax = new_axes(ax, (8.0, 6.0))
    drom_present: list[str] = []
    if insets:
        # points are drawn where their coordinates are: locate them by geometry, not by code
        by_position = points[[kind_column, "geometry"]]
        drom_present = sorted(set(territories.locate_drom(by_position).dropna()))
        points = territories.place_overseas_insets(by_position)
        if background is not None:
            drom_present = sorted(
                set(drom_present) | set(territories.locate_drom(background).dropna())
            )
            background = territories.place_overseas_insets(background)
        if drom_present:
            frames = territories.overseas_inset_frames()
            frames[frames["dep_code"].isin(drom_present)].boundary.plot(
                ax=ax, color=NEUTRAL_GREY, linewidth=0.5
            )
    elif background is not None:
        background = background.to_crs(points.crs) if background.crs is not None else background
    if background is not None:
        background.plot(ax=ax, color="#F2F2F2", edgecolor="#BBBBBB", linewidth=0.3)
    counts = initiatives.loc[located, kind_column].astype(str).value_counts()
    kinds = [k for k in KIND_COLOURS if k in counts.index]
    # the most numerous kinds underneath, so that rare ones (PTCE, TZCLD) stay visible
    layer = {k: rank for rank, k in enumerate(sorted(kinds, key=lambda k: -counts[k]))}
    details = []
    for kind in kinds:
        subset = points[points[kind_column].astype(str) == kind]
        name = kind_label(kind, lang)
        ax.scatter(
            subset.geometry.x,
            subset.geometry.y,
            s=marker_size,
            color=KIND_COLOURS[kind],
            label=f"{name} ({format_number(counts[kind], lang, 0)})",
            linewidths=0,
            alpha=0.85,
            zorder=3 + layer[kind] / 10,
        )
        details.append(f"{name} {format_number(counts[kind], lang, 0)}")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=2)
    ax.set_axis_off()
    ax.set_aspect("equal")
    set_alt_text(ax, _initiatives_alt_text(located, details, lang, insets=bool(drom_present)))
    return ax


def _initiative_points(initiatives: pd.DataFrame) -> tuple[pd.Series, gpd.GeoDataFrame]:
    """Which rows have coordinates, and those rows as WGS84 points."""
    located = initiatives["longitude"].notna() & initiatives["latitude"].notna()
    points = gpd.GeoDataFrame(
        initiatives[located],
        geometry=gpd.points_from_xy(
            initiatives.loc[located, "longitude"], initiatives.loc[located, "latitude"]
        ),
        crs="EPSG:4326",
    )
    return located, points


def _initiatives_alt_text(
    located: pd.Series, details: list[str], lang: str, *, insets: bool = False
) -> str:
    """Alt text of a map of initiatives: how many are drawn, by kind, and how many are not."""
    n_unlocated = int((~located).sum())
    return alt_text(
        "initiatives_map",
        lang,
        n=format_number(int(located.sum()), lang, 0),
        insets=alt_text("insets", lang) if insets else "",
        details=ALT_TEXT[lang]["list_sep"].join(details) or "—",
        unlocated=alt_text("unlocated", lang, m=format_number(n_unlocated, lang, 0))
        if n_unlocated
        else "",
    )


def _scheme_label(scheme: str, lang: str) -> str:
    key = "scheme_" + scheme.lower().replace("_", "")
    return TEXT[lang].get(key, scheme)


@styled
def plot_territory_initiatives(
    boundaries: gpd.GeoDataFrame,
    initiatives: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "fr",
    outline: gpd.GeoDataFrame | None = None,
    marker_size: float = 22.0,
) -> Axes:
    """One territory's initiatives as points by kind over its commune (or EPCI) boundaries.

    Args:
        boundaries: Areas drawn underneath (CRS set; the map is drawn in its
            CRS, e.g. a projected one). The view is their extent: a point whose
            source coordinates fall outside the territory is not drawn.
        initiatives: ``kind``, ``longitude``, ``latitude`` (WGS84); rows
            without coordinates are counted in the alt text, not drawn. Kinds
            outside :data:`analysis.figures.KIND_COLOURS` are drawn in grey under
            their own name.
        ax: Axes to draw on.
        lang: ``"fr"`` or ``"en"``.
        outline: Optional border of the territory (drawn darker).
        marker_size: Point size.
    """
    check_lang(lang)
    require_columns(initiatives, ["longitude", "latitude", "kind"], "plot_territory_initiatives")
    if boundaries.crs is None:
        raise ValueError("plot_territory_initiatives: the boundaries have no CRS; set it.")
    ax = new_axes(ax, (7.0, 6.0))
    boundaries.plot(ax=ax, color="#F2F2F2", edgecolor="#BBBBBB", linewidth=0.3)
    if outline is not None:
        outline.to_crs(boundaries.crs).boundary.plot(ax=ax, color=TEXT_GREY, linewidth=0.8)
    located, points = _initiative_points(initiatives)
    points = points.to_crs(boundaries.crs)
    counts = points["kind"].astype(str).value_counts()
    kinds = [k for k in KIND_COLOURS if k in counts.index]
    kinds += sorted(set(counts.index) - set(kinds))
    # the most numerous kinds underneath, so that rare ones (PTCE, TZCLD) stay visible
    layer = {k: rank for rank, k in enumerate(sorted(kinds, key=lambda k: -counts[k]))}
    markers = {"ptce": "D", "tzcld": "s"}
    details = []
    for kind in kinds:
        subset = points[points["kind"].astype(str) == kind]
        name = kind_label(kind, lang) if kind in KIND_COLOURS else kind
        ax.scatter(
            subset.geometry.x,
            subset.geometry.y,
            s=marker_size,
            marker=markers.get(kind, "o"),
            color=KIND_COLOURS.get(kind, NEUTRAL_GREY),
            edgecolors="white",
            linewidths=0.4,
            label=f"{name} ({format_number(counts[kind], lang, 0)})",
            zorder=3 + layer[kind] / 10,
        )
        details.append(f"{name} {format_number(counts[kind], lang, 0)}")
    if kinds:
        # Below the map, not beside it: an equal-aspect map is drawn smaller than the box
        # the layout gave it, and a legend beside it was cut off in the saved files.
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False, borderaxespad=0.2
        )
    xmin, ymin, xmax, ymax = boundaries.total_bounds
    margin = 0.03 * max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin - margin, xmax + margin)
    ax.set_ylim(ymin - margin, ymax + margin)
    ax.set_axis_off()
    ax.set_aspect("equal")
    set_alt_text(ax, _initiatives_alt_text(located, details, lang))
    return ax


@styled
def plot_diverging_map(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    ax: Axes | None = None,
    lang: str = "fr",
    legend_title: str,
    limit: float | None = None,
    centre: float = 0.0,
    decimals: int = 1,
    cmap: str = "PuOr_r",
    label_column: str | None = "territory_name",
) -> Axes:
    """A few territories coloured on a continuous scale centred on ``centre``, named on the map.

    For the handful of sub-territories of a fiche, where classes would hold
    one territory each. ``limit`` (default: the largest distance to the centre)
    fixes both ends of the scale, so two maps drawn with the same limit read
    alike. Territories without a value are grey.
    """
    check_lang(lang)
    require_columns(gdf, [column], "plot_diverging_map")
    values = pd.to_numeric(gdf[column], errors="coerce")
    if values.notna().sum() == 0:
        raise ValueError(f"plot_diverging_map: column {column!r} has no value to map.")
    reach = limit if limit is not None else float((values - centre).abs().max())
    reach = reach or 1.0
    norm = TwoSlopeNorm(vcenter=centre, vmin=centre - reach, vmax=centre + reach)
    ax = new_axes(ax, (4.5, 4.0))
    colour_map = plt.get_cmap(cmap)
    missing = to_rgba(MISSING_COLOUR)
    colours = [colour_map(norm(v)) if pd.notna(v) else missing for v in values]
    gdf.plot(ax=ax, color=colours, edgecolor="white", linewidth=0.6)
    if label_column and label_column in gdf.columns:
        for point, name in zip(
            gdf.geometry.representative_point(), gdf[label_column].astype(str), strict=True
        ):
            ax.annotate(
                textwrap.fill(name, 14),
                xy=(point.x, point.y),
                ha="center",
                va="center",
                fontsize="x-small",
                color=TEXT_GREY,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
            )
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=colour_map)
    bar = ax.figure.colorbar(mappable, ax=ax, orientation="horizontal", fraction=0.05, pad=0.02)
    bar.set_label(legend_title, fontsize="small")
    bar.ax.xaxis.set_major_formatter(NumberFormatter(lang))
    ax.set_axis_off()
    ax.set_aspect("equal")
    names = gdf[label_column].astype(str) if label_column in gdf.columns else gdf.index.astype(str)
    low, high = values.idxmin(), values.idxmax()
    set_alt_text(
        ax,
        alt_text(
            "diverging_map",
            lang,
            n=format_number(len(gdf), lang, 0),
            label=lower_first(legend_title),
            low=format_number(values[low], lang, decimals),
            low_name=names[low],
            high=format_number(values[high], lang, decimals),
            high_name=names[high],
            centre=format_number(centre, lang, decimals),
        ),
    )
    return ax
