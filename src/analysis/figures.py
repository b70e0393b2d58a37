"""Seminar-ready figures: one style, French/English labels from metadata, sources on every figure.

Plotting helpers draw on a given axis (``plot_x(data, *, ax=None, lang="fr") ->
Axes``) and record a one-sentence alternative text generated from the data they
show. :func:`save_figure` writes PNG (300 dpi), SVG, PDF, a 16:9 slide PNG with
projector-sized fonts and a ``<name>.json`` sidecar (title, alt text, sources,
language) that ``analysis.gallery`` reads. Output is deterministic: the same
inputs give byte-identical files. Maps live in :mod:`analysis.maps`; the gallery
and the deck in :mod:`analysis.gallery`.

Labels come from metadata, never from literals in plotting code: every word,
unit and number format from :mod:`analysis.labels` (indicator labels and units
from its dictionary), source lines from the data catalogue
(``analysis.sources``).

Example (in a notebook)::

    from analysis import figures, gallery, labels, maps
    figures.use_style()
    ax = maps.plot_choropleth(layer, "resistance_lagravinese", center=0, lang="fr")
    figures.save_figure(ax.figure, "resistance_2008_ze2020_map", title="Résistance au choc de 2008",
                        sources=figures.indicator_sources("unemployment_rate"),
                        out_dir=run_dir / "figures")
    gallery.write_gallery(run_dir / "figures")      # <figures>/index.html
    # then: ptce deck --report <run> --out deck.pptx
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
import re
import textwrap
import weakref
from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import Formatter, MaxNLocator
from PIL import Image
from scipy import stats

from analysis import indicators, paths, sources
from analysis.atomic import write_atomically
from analysis.checks import require_columns
from analysis.keys import FIGURE_FORMATS, FIGURE_SIDECAR_SCHEMA, KINDS, SLIDE_SIZE_INCHES
from analysis.labels import (
    ALT_TEXT,
    PROJECT_CITATIONS,
    alt_text,
    axis_label,
    check_lang,
    colon,
    decimals_for,
    decimals_for_range,
    format_date,
    format_number,
    format_percent,
    group_label,
    indicator_metadata,
    is_percent,
    kind_label,
    label,
    lower_first,
    semicolon,
    specification_label,
    text,
)
from analysis.paths import default_figures_dir
from analysis.periods import period_step, period_to_time

# --- Colours -----------------------------------------------------------------

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
"""The Okabe-Ito palette (Okabe & Ito 2008), safe for every common colour-vision deficiency."""

NEUTRAL_GREY = "#999999"
MISSING_COLOUR = "#E0E0E0"
TEXT_GREY = "#444444"

_KIND_PALETTE: dict[str, str] = {
    "ptce": OKABE_ITO["blue"],
    "tzcld": OKABE_ITO["vermillion"],
    "tiers_lieu": OKABE_ITO["bluish_green"],
    "fabrique_territoire": OKABE_ITO["reddish_purple"],
    "manufacture_proximite": OKABE_ITO["orange"],
    "scic": OKABE_ITO["sky_blue"],
    "scop": OKABE_ITO["yellow"],
    "groupement_employeurs": OKABE_ITO["black"],
}
_UNCOLOURED = sorted(set(KINDS) - set(_KIND_PALETTE))
if _UNCOLOURED:
    raise RuntimeError(
        f"analysis.keys.KINDS has kinds without a colour: {_UNCOLOURED}; give each one a colour "
        "in analysis.figures._KIND_PALETTE."
    )

KIND_COLOURS: dict[str, str] = {
    **{kind: _KIND_PALETTE[kind] for kind in KINDS},
    **{kind: colour for kind, colour in _KIND_PALETTE.items() if kind not in KINDS},
    "other": NEUTRAL_GREY,
    "none": MISSING_COLOUR,
}
"""One fixed colour per cooperation kind (every kind of ``analysis.keys.KINDS`` first, in its
order, and the kinds being added), the same in every figure of the study; ``other`` and
``none`` are greys. The eight kinds take the eight Okabe-Ito colours."""

GROUP_COLOURS: dict[str, str] = {
    "treated": OKABE_ITO["blue"],
    "comparison": NEUTRAL_GREY,
    "national": OKABE_ITO["black"],
    **KIND_COLOURS,
}
"""Colours of the groups figures compare (kinds, treated vs comparison territories, France)."""

SERIES_COLOURS: dict[str, str] = {
    "territory": OKABE_ITO["blue"],
    "zone": OKABE_ITO["sky_blue"],
    "region": OKABE_ITO["orange"],
    "national": OKABE_ITO["black"],
}
"""Colours of the series of a territory profile (``analysis.report_content.SERIES_ROLES``)."""

# --- Output settings ----------------------------------------------------------

PNG_DPI = 300
SLIDE_DPI = 150
SLIDE_FONT_SCALE = 1.8
"""Slide fonts are the figure's times this (10 pt body text → 18 pt)."""
SLIDE_MIN_FONT_PT = 14.0
SLIDE_LINE_SCALE = 1.5
"""Slide lines and markers are this much thicker (data lines; not ticks, grid or map edges)."""
SOURCE_LINE_FONT_PT = 7.5
SIDECAR_SCHEMA = FIGURE_SIDECAR_SCHEMA
MAX_LEGEND_SERIES = 8
DETERMINISTIC_RC = {"svg.hashsalt": "ptce-resilience", "path.simplify": True}
_FIGURE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_SOURCE_GID = "ptce-source-line"
_TITLE_GID = "ptce-title"

_ALT_TEXTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# --- Style -----------------------------------------------------------------------


def use_style() -> None:
    """Apply the project style sheet to every figure made from now on."""
    plt.style.use(paths.STYLE_SHEET)
    mpl.rcParams.update(DETERMINISTIC_RC)


def style_context():
    """A context manager applying the project style sheet inside a ``with`` block."""
    return mpl.rc_context(rc=DETERMINISTIC_RC, fname=paths.STYLE_SHEET)


def styled(function: Callable) -> Callable:
    """Run a plotting helper inside the project style (fonts, sizes, grid, colours)."""

    @wraps(function)
    def wrapper(*args, **kwargs):
        with style_context():
            return function(*args, **kwargs)

    return wrapper


def group_colour(group: Any, position: int = 0) -> str:
    """Fixed colour of a known group, else the ``position``-th colour of the palette."""
    key = str(group)
    if key in GROUP_COLOURS:
        return GROUP_COLOURS[key]
    cycle = [c for c in OKABE_ITO.values() if c not in GROUP_COLOURS.values()] + list(
        OKABE_ITO.values()
    )
    return cycle[position % len(cycle)]


# --- Numbers on axes ---------------------------------------------------------------


class NumberFormatter(Formatter):
    """Tick formatter in French or English style (decimal comma, thin spaces, ``%`` spacing).

    With ``decimals=None`` the ticks get the fewest decimals that show them all.
    """

    def __init__(
        self,
        lang: str = "fr",
        decimals: int | None = None,
        *,
        percent: bool = False,
        sign: bool = False,
    ):
        self.lang = check_lang(lang)
        self.decimals = decimals
        self.percent = percent
        self.sign = sign
        self._auto_decimals = 1

    def __call__(self, x, pos=None):
        decimals = self.decimals if self.decimals is not None else self._auto_decimals
        return format_number(x, self.lang, decimals, percent=self.percent, sign=self.sign)

    def format_ticks(self, values):
        if self.decimals is None:
            self._auto_decimals = decimals_for(values, 3)
        return [self(value, i) for i, value in enumerate(values)]


def apply_number_format(
    ax: Axes,
    axis: str = "y",
    lang: str = "fr",
    *,
    percent: bool = False,
    decimals: int | None = None,
) -> Axes:
    """Format the ticks of ``ax``'s ``x`` or ``y`` axis as numbers in ``lang``."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(NumberFormatter(lang, decimals, percent=percent))
    return ax


# --- Sources ------------------------------------------------------------------------


def indicator_sources(
    indicator: str, *, level: str | None = None, dictionary: pd.DataFrame | None = None
) -> tuple[str, ...]:
    """Catalogue ids an indicator comes from (pass them to :func:`save_figure` as ``sources``).

    With ``level``, only the sources of the values shown at that level and of the
    national reference (level ``fr``) are cited, read from the indicators panel.
    """
    if level is not None and dictionary is None:
        try:
            return indicators.indicator_source_ids(indicator, [level, "fr"])
        except (FileNotFoundError, KeyError):
            pass  # panel not built or indicator not in it: cite the dictionary's list
    value = indicator_metadata(indicator, dictionary).get("source_ids", ())
    if isinstance(value, str):
        return (value,)
    return tuple(value) if value is not None else ()


def source_line(
    source_ids: Sequence[str] | str, lang: str = "fr", *, date: dt.date | str | None = None
) -> str:
    """The line printed under a figure: its sources and the processing credit.

    ``Source : Insee, … ; traitement : projet PTCE-résilience`` in French and
    ``Source: …; processing: PTCE-resilience project`` in English. Source ids
    are catalogue ids (``data/sources.toml``) or keys of
    :data:`PROJECT_CITATIONS`.

    Args:
        source_ids: Catalogue ids, in the order to cite them.
        lang: ``"fr"`` or ``"en"``.
        date: Optional date (or vintage text) appended to the processing credit.

    Raises:
        ValueError: when no source is given (every figure cites its data).
        analysis.sources.CatalogueError: for an unknown id.
    """
    check_lang(lang)
    ids = [source_ids] if isinstance(source_ids, str) else list(source_ids)
    if not ids:
        raise ValueError("a figure needs at least one source id (see data/sources.toml).")
    lines: list[str] = []
    catalogue_ids = [i for i in ids if i not in PROJECT_CITATIONS]
    catalogue = sources.load_catalogue() if catalogue_ids else {}
    catalogue_map = {i: sources.get_source(i, catalogue).citation(lang) for i in catalogue_ids}
    for source_id in ids:
        line = (
            PROJECT_CITATIONS[source_id][lang]
            if source_id in PROJECT_CITATIONS
            else catalogue_map[source_id]
        )
        if line not in lines:
            lines.append(line)
    head = text("sources" if len(lines) > 1 else "source", lang)
    credit = f"{text('processing', lang)}{colon(lang)}{text('project', lang)}"
    if date is not None:
        credit += f", {format_date(date, lang)}"
    return f"{head}{colon(lang)}{semicolon(lang).join(lines)}{semicolon(lang)}{credit}"


# --- Alternative text -----------------------------------------------------------


def set_alt_text(ax: Axes, description: str) -> Axes:
    """Record the one-sentence description of what ``ax`` shows (read by :func:`save_figure`)."""
    _ALT_TEXTS[ax] = str(description).strip()
    return ax


def get_alt_text(ax: Axes) -> str | None:
    """The description recorded for ``ax`` by a plotting helper, if any."""
    return _ALT_TEXTS.get(ax)


def figure_alt_text(fig: Figure) -> str | None:
    """The descriptions of a figure's axes, in order, joined (``None`` when none was recorded)."""
    parts = [_ALT_TEXTS[ax] for ax in fig.axes if ax in _ALT_TEXTS]
    return " ".join(parts) if parts else None


# --- Helpers shared by plots --------------------------------------------------------


def new_axes(ax: Axes | None, figsize: tuple[float, float] | None = None) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=figsize)
    return new


def _value_label(indicator: str | None, value_label: str | None, lang: str, dictionary) -> str:
    if value_label is not None:
        return value_label
    if indicator is None:
        raise ValueError(
            "pass `indicator=` (its label comes from the dictionary) or `value_label=`."
        )
    return axis_label(indicator, lang, dictionary=dictionary)


def _short_label(indicator: str | None, value_label: str | None, lang: str, dictionary) -> str:
    if value_label is not None:
        return value_label
    if indicator is None:
        raise ValueError(
            "pass `indicator=` (its label comes from the dictionary) or `value_label=`."
        )
    return label(indicator, lang, dictionary=dictionary)


# --- Plotting helpers -------------------------------------------------------------


@styled
def plot_effects(
    results: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "fr",
    label_column: str = "specification",
    row_labels: Mapping[Any, str] | Callable[[Any], str] | None = None,
    indicator: str | None = None,
    dictionary: pd.DataFrame | None = None,
    unit: str | None = None,
    decimals: int | None = None,
    colour: str = OKABE_ITO["blue"],
) -> Axes:
    """Estimated effects with their 95 % confidence intervals, one row per estimate.

    Args:
        results: Tidy model results (``analysis.models``) with columns ``effect``,
            ``ci_low``, ``ci_high``, ``label_column`` and optionally ``n``,
            ``n_treated`` (printed at the right of each row).
        ax: Axes to draw on.
        lang: ``"fr"`` or ``"en"``.
        label_column: Column naming each row (specification, outcome, shock…).
        row_labels: Display names of the ``label_column`` values (a mapping or a
            function); default: :func:`specification_label` for specifications.
        indicator: Outcome indicator, whose label titles the axis (default: the
            single value of an ``outcome`` column when it is an indicator).
        dictionary: Indicator dictionary.
        unit: Unit of the effect appended to the axis title (e.g. ``points``).
        decimals: Decimals in the alt text (default 2).
        colour: Point and interval colour.
    """
    check_lang(lang)
    require_columns(results, ["effect", "ci_low", "ci_high", label_column], "plot_effects")
    if results.empty:
        raise ValueError("plot_effects: no result to show.")
    if indicator is None and "outcome" in results.columns and results["outcome"].nunique() == 1:
        candidate = str(results["outcome"].iloc[0])
        try:
            indicator_metadata(candidate, dictionary)
            indicator = candidate
        except (KeyError, ImportError):
            indicator = None
    ax = new_axes(ax, (7.0, 0.9 + 0.45 * len(results)))
    frame = results.reset_index(drop=True)
    y = np.arange(len(frame))[::-1].astype(float)
    effect = frame["effect"].to_numpy(dtype=float)
    low = frame["ci_low"].to_numpy(dtype=float)
    high = frame["ci_high"].to_numpy(dtype=float)
    ax.errorbar(
        effect,
        y,
        xerr=[effect - low, high - effect],
        fmt="o",
        color=colour,
        ecolor=colour,
        elinewidth=1.6,
        capsize=3,
        markersize=6,
        zorder=3,
    )
    ax.axvline(0, color=NEUTRAL_GREY, linewidth=1, linestyle="--", zorder=1)
    if row_labels is None:
        row_labels = (
            (lambda code: specification_label(code, lang))
            if label_column == "specification"
            else str
        )
    namer = row_labels if callable(row_labels) else (lambda key: row_labels.get(key, str(key)))
    names = [namer(value) for value in frame[label_column]]
    ax.set_yticks(y, [textwrap.fill(name, 38) for name in names])
    ax.set_ylim(-0.7, len(frame) - 0.3)
    ax.grid(False, axis="y")
    ax.grid(True, axis="x")
    if "n" in frame.columns:
        for yi, row in zip(y, frame.itertuples(index=False), strict=True):
            n = row.n
            treated = getattr(row, "n_treated", None)
            note = (
                text(
                    "n_treated",
                    lang,
                    n=format_number(n, lang, 0),
                    treated=format_number(treated, lang, 0),
                )
                if treated is not None and not pd.isna(treated)
                else text("n_obs", lang, n=format_number(n, lang, 0))
            )
            ax.annotate(
                note,
                xy=(1.01, yi),
                xycoords=("axes fraction", "data"),
                va="center",
                ha="left",
                fontsize="small",
                color=TEXT_GREY,
            )
    xlabel = (
        text("effect_on", lang, label=lower_first(label(indicator, lang, dictionary=dictionary)))
        if indicator
        else text("effect", lang)
    )
    if unit:
        xlabel = f"{xlabel} ({unit})"
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_formatter(NumberFormatter(lang))
    decimals = 2 if decimals is None else decimals
    labels_ = np.array(names, dtype=object)
    zero = int(((low <= 0) & (high >= 0)).sum())
    about = f" ({lower_first(label(indicator, lang, dictionary=dictionary))})" if indicator else ""
    set_alt_text(
        ax,
        alt_text(
            "effects",
            lang,
            effect=text("effect", lang),
            about=about,
            n=len(frame),
            low=format_number(effect.min(), lang, decimals, sign=True),
            low_name=labels_[int(np.argmin(effect))],
            high=format_number(effect.max(), lang, decimals, sign=True),
            high_name=labels_[int(np.argmax(effect))],
            ci95=text("ci95", lang),
            zero=zero,
        ),
    )
    return ax


@styled
def plot_series(
    wide: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "fr",
    indicator: str | None = None,
    value_label: str | None = None,
    dictionary: pd.DataFrame | None = None,
    labels: Mapping[Any, str] | None = None,
    colours: Mapping[Any, str] | None = None,
    shocks: Sequence[tuple[str, str, str]] = (),
    percent: bool | None = None,
    decimals: int = 1,
) -> Axes:
    """Time series, one line per row of a wide table (index: series, columns: periods).

    Args:
        wide: Rows are series (groups, kinds, territory codes), columns are periods
            (``"2019"``, ``"2008-Q1"``) as returned by ``analysis.indicators.get``.
        ax: Axes to draw on.
        lang: ``"fr"`` or ``"en"``.
        indicator: Indicator shown (its label and unit title the y axis); default:
            ``wide.attrs["indicator"]`` as set by ``analysis.indicators.get``.
        value_label: Explicit y-axis title instead of the indicator's.
        dictionary: Indicator dictionary.
        labels: Display names of the series (default: kinds and groups by
            :func:`group_label`, else the index value).
        colours: Colours of the series (default: :data:`GROUP_COLOURS`, else the palette).
        shocks: Shaded windows ``(first_period, last_period, label)``.
        percent: Format ticks with ``%`` (default from the indicator's unit).
        decimals: Decimals in the alt text.
    """
    check_lang(lang)
    if wide.empty:
        raise ValueError("plot_series: no series to show.")
    if indicator is None and value_label is None:
        indicator = wide.attrs.get("indicator")  # set by analysis.indicators.get()
    axis_title = _value_label(indicator, value_label, lang, dictionary)
    short = _short_label(indicator, value_label, lang, dictionary)
    if percent is None:
        percent = is_percent(indicator, dictionary=dictionary) if indicator else False
    ax = new_axes(ax)
    x = np.array([period_to_time(p) for p in wide.columns])
    order = np.argsort(x, kind="stable")
    x = x[order]
    periods = [str(wide.columns[i]) for i in order]
    details = []
    for position, (key, row) in enumerate(wide.iterrows()):
        y = row.to_numpy(dtype=float)[order]
        name = (labels or {}).get(key, group_label(key, lang))
        colour = (colours or {}).get(key, group_colour(key, position))
        ax.plot(x, y, color=colour, label=name)
        finite = np.flatnonzero(np.isfinite(y))
        if len(finite) and len(details) < 3:
            details.append(
                alt_text(
                    "series_item",
                    lang,
                    name=name,
                    start=format_number(y[finite[0]], lang, decimals, percent=percent),
                    end=format_number(y[finite[-1]], lang, decimals, percent=percent),
                )
            )
    for first, last, shock_label in shocks:
        start, end = period_to_time(first), period_to_time(last)
        ax.axvspan(
            start, end + period_step(first), color=NEUTRAL_GREY, alpha=0.18, linewidth=0, zorder=0
        )
        ax.annotate(
            shock_label,
            xy=(start, 1.0),
            xycoords=("data", "axes fraction"),
            va="bottom",
            ha="left",
            fontsize="small",
            color=TEXT_GREY,
        )
    ax.set_ylabel(axis_title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    ax.xaxis.set_major_formatter(_YearFormatter())
    ax.yaxis.set_major_formatter(NumberFormatter(lang, percent=percent))
    if 1 < len(wide) <= MAX_LEGEND_SERIES:  # beyond, a legend is noise: label series in the text
        ax.legend(loc="best")
    set_alt_text(
        ax,
        alt_text(
            "series",
            lang,
            label=short,
            first=periods[0],
            last=periods[-1],
            n=len(wide),
            details=ALT_TEXT[lang]["sentence_sep"].join(details),
        ),
    )
    return ax


class _YearFormatter(Formatter):
    """Years on a time axis, without a thousands separator."""

    def __call__(self, x, pos=None):
        return f"{int(round(x))}"


@styled
def plot_event_study(
    table: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "fr",
    time_column: str = "event_time",
    time_unit: str = "quarter",
    indicator: str | None = None,
    value_label: str | None = None,
    dictionary: pd.DataFrame | None = None,
    reference: float | None = None,
    decimals: int = 2,
    colour: str = OKABE_ITO["blue"],
) -> Axes:
    """Event-study coefficients around a shock with their 95 % confidence band.

    Args:
        table: Columns ``time_column`` (periods relative to the shock, 0 = shock),
            ``effect``, ``ci_low``, ``ci_high``.
        ax: Axes to draw on.
        lang: ``"fr"`` or ``"en"``.
        time_column: Relative-time column.
        time_unit: ``quarter`` or ``year`` (x-axis title).
        indicator: Outcome indicator (label in the y-axis title).
        value_label: Explicit outcome label instead of the indicator's.
        dictionary: Indicator dictionary.
        reference: Normalisation period (event time of the national peak; a dashed
            line just after it); default: the row flagged ``is_reference`` (as
            ``analysis.models.event_study`` returns), else 0. Later periods are "after".
        decimals: Decimals in the alt text.
        colour: Line and band colour.
    """
    check_lang(lang)
    require_columns(table, [time_column, "effect", "ci_low", "ci_high"], "plot_event_study")
    if table.empty:
        raise ValueError("plot_event_study: no coefficient to show.")
    if time_unit not in ("quarter", "year"):
        raise ValueError(f"time_unit must be 'quarter' or 'year', got {time_unit!r}.")
    short = _short_label(indicator, value_label, lang, dictionary)
    frame = table.sort_values(time_column)
    t = frame[time_column].to_numpy(dtype=float)
    effect = frame["effect"].to_numpy(dtype=float)
    low, high = frame["ci_low"].to_numpy(dtype=float), frame["ci_high"].to_numpy(dtype=float)
    ax = new_axes(ax)
    ax.fill_between(t, low, high, color=colour, alpha=0.2, linewidth=0)
    ax.plot(t, effect, color=colour, marker="o")
    ax.axhline(0, color=NEUTRAL_GREY, linewidth=1)
    if reference is None:
        flagged = (
            frame.loc[frame["is_reference"].astype(bool), time_column]
            if "is_reference" in frame
            else []
        )
        reference = float(flagged.iloc[0]) if len(flagged) else 0.0
    ax.axvline(reference + 0.5, color=NEUTRAL_GREY, linewidth=1, linestyle="--")
    ax.set_xlabel(text(f"event_time_{time_unit}", lang))
    ax.set_ylabel(
        f"{text('gap', lang)}{colon(lang)}{lower_first(short) if lang == 'fr' else short}"
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(NumberFormatter(lang, 0))
    ax.yaxis.set_major_formatter(NumberFormatter(lang))
    pre, post = t <= reference, t > reference
    post_significant = int(((low > 0) | (high < 0))[post].sum())

    def _range(mask):
        if not mask.any():
            return text("not_available", lang), text("not_available", lang)
        return (
            format_number(effect[mask].min(), lang, decimals, sign=True),
            format_number(effect[mask].max(), lang, decimals, sign=True),
        )

    pre_low, pre_high = _range(pre)
    post_low, post_high = _range(post)
    set_alt_text(
        ax,
        alt_text(
            "event_study",
            lang,
            gap=text("gap", lang),
            label=lower_first(short),
            first=format_number(t.min(), lang, 0),
            last=format_number(t.max(), lang, 0),
            pre_low=pre_low,
            pre_high=pre_high,
            post_low=post_low,
            post_high=post_high,
            significant=alt_text(
                "event_significant",
                lang,
                k=post_significant,
                n=int(post.sum()),
                ci95=text("ci95", lang),
            )
            if post.any()
            else "",
        ),
    )
    return ax


@styled
def plot_kind_counts(counts: pd.Series, *, ax: Axes | None = None, lang: str = "fr") -> Axes:
    """Number of cooperation initiatives per kind, one bar per kind in its fixed colour.

    Args:
        counts: Counts indexed by kind (``ptce``, ``tzcld``…; see :data:`KIND_COLOURS`).
        ax: Axes to draw on.
        lang: ``"fr"`` or ``"en"``.
    """
    check_lang(lang)
    unknown = [k for k in counts.index if str(k) not in KIND_COLOURS]
    if unknown:
        raise KeyError(
            f"plot_kind_counts: unknown kind(s) {unknown}; known: {', '.join(KIND_COLOURS)}."
        )
    order = [k for k in KIND_COLOURS if k in counts.index]
    values = counts.reindex(order).fillna(0).astype(float)
    ax = new_axes(ax, (7.0, 0.9 + 0.5 * len(values)))
    y = np.arange(len(values))[::-1]
    names = [kind_label(k, lang) for k in order]
    ax.barh(y, values.to_numpy(), color=[KIND_COLOURS[k] for k in order], height=0.65)
    ax.set_yticks(y, names)
    ax.grid(False, axis="y")
    ax.grid(True, axis="x")
    for yi, value in zip(y, values.to_numpy(), strict=True):
        ax.annotate(
            format_number(value, lang, 0),
            xy=(value, yi),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            ha="left",
            fontsize="small",
        )
    ax.set_xlabel(text("initiatives", lang))
    ax.xaxis.set_major_formatter(NumberFormatter(lang))
    ax.margins(x=0.12)
    details = ALT_TEXT[lang]["list_sep"].join(
        f"{name} {format_number(v, lang, 0)}"
        for name, v in zip(names, values.to_numpy(), strict=True)
    )
    set_alt_text(ax, alt_text("kind_counts", lang, details=details))
    return ax


@styled
def plot_distribution(
    frame: pd.DataFrame,
    value_column: str,
    group_column: str,
    *,
    ax: Axes | None = None,
    lang: str = "fr",
    indicator: str | None = None,
    value_label: str | None = None,
    dictionary: pd.DataFrame | None = None,
    order: Sequence[Any] | None = None,
    percent: bool = False,
    decimals: int = 2,
) -> Axes:
    """Distribution of a measure by group: box plots with every territory as a point.

    Args:
        frame: One row per territory with ``value_column`` and ``group_column``
            (groups such as ``treated``/``comparison`` or cooperation kinds).
        value_column: Measure (e.g. a resilience index).
        group_column: Group of each territory.
        ax: Axes to draw on.
        lang: ``"fr"`` or ``"en"``.
        indicator: Indicator of the measure (label and unit).
        value_label: Explicit label instead of the indicator's.
        dictionary: Indicator dictionary.
        order: Group order (default: sorted).
        percent: Print medians with ``%``.
        decimals: Decimals in the alt text.
    """
    check_lang(lang)
    require_columns(frame, [value_column, group_column], "plot_distribution")
    axis_title = _value_label(indicator, value_label, lang, dictionary)
    short = _short_label(indicator, value_label, lang, dictionary)
    data = frame[[group_column, value_column]].dropna()
    if data.empty:
        raise ValueError("plot_distribution: no value to show.")
    groups = list(order) if order is not None else sorted(data[group_column].unique(), key=str)
    ax = new_axes(ax)
    samples = [
        data.loc[data[group_column] == g, value_column].to_numpy(dtype=float) for g in groups
    ]
    positions = np.arange(len(groups))
    boxes = ax.boxplot(
        samples,
        positions=positions,
        widths=0.5,
        showfliers=False,
        patch_artist=True,
        medianprops={"color": "black", "linewidth": 1.6},
    )
    rng = np.random.default_rng(0)  # fixed jitter: same inputs, same picture
    details = []
    for i, (group, sample) in enumerate(zip(groups, samples, strict=True)):
        colour = group_colour(group, i)
        boxes["boxes"][i].set(facecolor=mpl.colors.to_rgba(colour, 0.25), edgecolor=colour)
        ax.scatter(
            i + rng.uniform(-0.15, 0.15, len(sample)),
            sample,
            s=10,
            color=colour,
            alpha=0.7,
            zorder=3,
            linewidths=0,
        )
        details.append(
            alt_text(
                "distribution_item",
                lang,
                median=format_number(np.median(sample), lang, decimals, percent=percent),
                group=group_label(group, lang),
                n=format_number(len(sample), lang, 0),
            )
        )
    ax.set_xticks(positions, [textwrap.fill(group_label(g, lang), 18) for g in groups])
    ax.set_ylabel(axis_title)
    ax.yaxis.set_major_formatter(NumberFormatter(lang, percent=percent))
    set_alt_text(
        ax,
        alt_text(
            "distribution", lang, label=short, details=ALT_TEXT[lang]["sentence_sep"].join(details)
        ),
    )
    return ax


@styled
def plot_balance(
    balance: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "fr",
    covariate_column: str = "covariate",
    before_column: str = "smd_before",
    after_column: str = "smd_after",
    threshold: float = 0.1,
    dictionary: pd.DataFrame | None = None,
) -> Axes:
    """Covariate balance before and after matching (standardised mean differences, a "love plot").

    Covariates that are indicators get their dictionary label; others are shown as named.

    Args:
        balance: One row per covariate with the before/after differences.
        ax: Axes to draw on.
        lang: ``"fr"`` or ``"en"``.
        covariate_column: Covariate names.
        before_column: Differences before matching.
        after_column: Differences after matching.
        threshold: Conventional balance threshold drawn as dashed lines.
        dictionary: Indicator dictionary.
    """
    check_lang(lang)
    require_columns(balance, [covariate_column, before_column, after_column], "plot_balance")
    if balance.empty:
        raise ValueError("plot_balance: no covariate to show.")
    names = []
    for covariate in balance[covariate_column].astype(str):
        try:
            names.append(label(covariate, lang, dictionary=dictionary))
        except (KeyError, ImportError):
            names.append(covariate)
    before = balance[before_column].to_numpy(dtype=float)
    after = balance[after_column].to_numpy(dtype=float)
    ax = new_axes(ax, (7.0, 1.0 + 0.4 * len(balance)))
    y = np.arange(len(balance))[::-1]
    ax.scatter(
        before,
        y,
        marker="o",
        facecolors="none",
        edgecolors=NEUTRAL_GREY,
        s=36,
        label=text("before_matching", lang),
        zorder=3,
    )
    ax.scatter(
        after,
        y,
        marker="o",
        color=OKABE_ITO["blue"],
        s=36,
        label=text("after_matching", lang),
        zorder=3,
    )
    for x0 in (-threshold, threshold):
        ax.axvline(x0, color=NEUTRAL_GREY, linewidth=0.8, linestyle="--")
    ax.axvline(0, color=TEXT_GREY, linewidth=0.8)
    ax.set_yticks(y, [textwrap.fill(n, 40) for n in names])
    ax.grid(False, axis="y")
    ax.grid(True, axis="x")
    ax.set_xlabel(text("smd", lang))
    ax.xaxis.set_major_formatter(NumberFormatter(lang))
    ax.legend(loc="best")
    set_alt_text(
        ax,
        alt_text(
            "balance",
            lang,
            n=len(balance),
            before=int((np.abs(before) > threshold).sum()),
            after=int((np.abs(after) > threshold).sum()),
            threshold=format_number(threshold, lang, decimals_for([threshold])),
        ),
    )
    return ax


@styled
def plot_permutation(
    null: Sequence[float] | np.ndarray,
    observed: float,
    *,
    ax: Axes | None = None,
    lang: str = "fr",
    indicator: str | None = None,
    dictionary: pd.DataFrame | None = None,
    bins: int = 40,
    decimals: int | None = None,
    colour: str = OKABE_ITO["vermillion"],
) -> Axes:
    """Histogram of a permutation test's null distribution with the observed effect marked.

    The null is what the statistic looks like when the treatment is relocated
    at random (``analysis.estimation.adjusted_permutation_test``: ``Evidence.permutation_null``
    or the test's ``attrs["null"]``). The observed value is a solid line and
    its mirror image a dashed one: the two-sided p-value is the share of draws
    beyond either.

    Args:
        null: The permutation draws (non-finite values are left out).
        observed: The observed statistic.
        ax: Axes to draw on.
        lang: ``"fr"`` or ``"en"``.
        indicator: Outcome (indicator or model outcome) named in the axis title.
        dictionary: Indicator dictionary.
        bins: Histogram bins.
        decimals: Decimals of the numbers in the legend and alt text (default:
            enough to show the spread of the draws).
        colour: Colour of the observed-value line.
    """
    check_lang(lang)
    draws = np.asarray(null, dtype=float)
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        raise ValueError("plot_permutation: no finite permutation draw to show.")
    observed = float(observed)
    if not np.isfinite(observed):
        raise ValueError(f"plot_permutation: the observed value must be finite, got {observed}.")
    low, high = np.quantile(draws, [0.025, 0.975])
    if decimals is None:
        decimals = max(2, decimals_for_range(float(draws.min()), float(draws.max()), 2))
    ax = new_axes(ax)
    n_draws = format_number(draws.size, lang, 0)
    ax.hist(
        draws,
        bins=bins,
        color=NEUTRAL_GREY,
        edgecolor="white",
        linewidth=0.5,
        label=text("permutation_null", lang, n=n_draws),
    )
    shown = format_number(observed, lang, decimals, sign=True)
    ax.axvline(
        observed, color=colour, linewidth=2, label=text("permutation_observed", lang, value=shown)
    )
    if observed != 0:
        ax.axvline(
            -observed,
            color=colour,
            linewidth=1.2,
            linestyle="--",
            label=text("permutation_mirror", lang),
        )
    name = None
    if indicator is not None:
        name = lower_first(label(indicator, lang, dictionary=dictionary))
    ax.set_xlabel(
        text("permutation_statistic_on", lang, label=name)
        if name
        else text("permutation_statistic", lang)
    )
    ax.set_ylabel(text("permutation_draws", lang))
    ax.xaxis.set_major_formatter(NumberFormatter(lang))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(NumberFormatter(lang, 0))
    ax.legend(loc="upper left", fontsize="small")
    ax.margins(y=0.3)
    share = float(np.mean(np.abs(draws) >= abs(observed) - 1e-12))
    set_alt_text(
        ax,
        alt_text(
            "permutation",
            lang,
            n=n_draws,
            about=f" ({name})" if name else "",
            low=format_number(low, lang, decimals, sign=True),
            high=format_number(high, lang, decimals, sign=True),
            observed=shown,
            share=format_percent(100 * share, lang, 1),
        ),
    )
    return ax


def least_squares_line(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    grid: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Ordinary least-squares line of ``y`` on ``x`` and the confidence band of its mean.

    The band is the classical one, ŷ ± t · s · sqrt(1/n + (x₀ − x̄)² / Σ(x − x̄)²).

    Returns:
        One row per ``grid`` value: ``x``, ``fit``, ``low``, ``high``; the
        slope, its CI (``slope_low``, ``slope_high``), the intercept, the
        correlation ``r`` and ``n`` are in ``attrs``.

    Raises:
        ValueError: fewer than 3 complete pairs, or ``x`` constant.
    """
    xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    xy = xy[np.isfinite(xy).all(axis=1)]
    n = len(xy)
    if n < 3:
        raise ValueError(f"least_squares_line: need at least 3 complete points, got {n}.")
    xs, ys = xy[:, 0], xy[:, 1]
    sxx = float(((xs - xs.mean()) ** 2).sum())
    if sxx == 0:
        raise ValueError("least_squares_line: x is constant, no line can be fitted.")
    slope = float(((xs - xs.mean()) * (ys - ys.mean())).sum() / sxx)
    intercept = float(ys.mean() - slope * xs.mean())
    residual_sd = math.sqrt(float(((ys - intercept - slope * xs) ** 2).sum()) / (n - 2))
    t_crit = float(stats.t.ppf(0.5 + confidence / 2, n - 2))
    grid = np.asarray(grid, float)
    fit = intercept + slope * grid
    half = t_crit * residual_sd * np.sqrt(1 / n + (grid - xs.mean()) ** 2 / sxx)
    band = pd.DataFrame({"x": grid, "fit": fit, "low": fit - half, "high": fit + half})
    slope_half = t_crit * residual_sd / math.sqrt(sxx)
    band.attrs.update(
        slope=slope,
        slope_low=slope - slope_half,
        slope_high=slope + slope_half,
        intercept=intercept,
        r=float(np.corrcoef(xs, ys)[0, 1]),
        n=n,
    )
    return band


@styled
def plot_scatter_fit(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    ax: Axes | None = None,
    lang: str = "fr",
    x_label: str | None = None,
    y_label: str | None = None,
    dictionary: pd.DataFrame | None = None,
    decimals: int = 3,
    colour: str = OKABE_ITO["blue"],
) -> Axes:
    """One point per territory, the least-squares line and its 95 % confidence band.

    The line is the simple (bivariate) fit computed by :func:`least_squares_line`;
    a model with controls (``analysis.models.continuous_treatment_effect``) may
    give another slope, which the notebook reports next to the figure.

    Args:
        frame: One row per territory with columns ``x`` and ``y`` (rows with a
            missing value are left out and not drawn).
        x: Exposure column (e.g. ``ess_share_salaried_jobs_pct``).
        y: Outcome column (e.g. ``resistance_lagravinese``).
        ax: Axes to draw on.
        lang: ``"fr"`` or ``"en"``.
        x_label, y_label: Axis titles; default: the indicator's or outcome's label.
        dictionary: Indicator dictionary.
        decimals: Decimals of the slope in the alt text.
        colour: Colour of the line and band.
    """
    check_lang(lang)
    require_columns(frame, [x, y], "plot_scatter_fit")
    data = frame[[x, y]].astype(float).dropna()
    if len(data) < 3:
        raise ValueError(f"plot_scatter_fit: need at least 3 complete rows, got {len(data)}.")
    grid = np.linspace(data[x].min(), data[x].max(), 101)
    band = least_squares_line(data[x], data[y], grid)
    ax = new_axes(ax)
    ax.scatter(
        data[x],
        data[y],
        s=18,
        color=TEXT_GREY,
        alpha=0.7,
        linewidths=0,
        label=text("territories_points", lang),
        zorder=3,
    )
    ax.fill_between(
        band["x"], band["low"], band["high"], color=colour, alpha=0.2, linewidth=0,
        label=text("fit_band", lang),
    )  # fmt: skip
    ax.plot(band["x"], band["fit"], color=colour, linewidth=2, label=text("fit_line", lang))
    x_title = x_label or axis_label(x, lang, dictionary=dictionary)
    y_title = y_label or axis_label(y, lang, dictionary=dictionary)
    ax.set_xlabel(x_title)
    ax.set_ylabel(textwrap.fill(y_title, 45))
    ax.xaxis.set_major_formatter(NumberFormatter(lang))
    ax.yaxis.set_major_formatter(NumberFormatter(lang))
    ax.legend(loc="best", fontsize="small")
    stats_ = band.attrs
    set_alt_text(
        ax,
        alt_text(
            "scatter_fit",
            lang,
            n=format_number(stats_["n"], lang, 0),
            y=lower_first(y_label or label(y, lang, dictionary=dictionary)),
            x=lower_first(x_label or label(x, lang, dictionary=dictionary)),
            slope=format_number(stats_["slope"], lang, decimals, sign=True),
            low=format_number(stats_["slope_low"], lang, decimals, sign=True),
            high=format_number(stats_["slope_high"], lang, decimals, sign=True),
            r=format_number(stats_["r"], lang, 2, sign=True),
        ),
    )
    return ax


# --- Designs: dose-response and synthetic control ---------------------------------------


def plot_binned_scatter(
    bins: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "fr",
    x_label: str,
    y_label: str,
    decimals: int = 3,
    colour: str = OKABE_ITO["blue"],
) -> Axes:
    """Binned scatter (``analysis.dose_response.binned_means``) and its fitted line.

    Args:
        bins: Columns ``dose_mean``, ``outcome_mean``, ``n``; ``attrs``
            ``intercept`` and ``slope`` (the line through the residualised data).
        ax: Axes to draw on.
        lang: ``"fr"`` or ``"en"``.
        x_label, y_label: Axis titles (dose and outcome, with their units).
        decimals: Decimals of the slope in the legend and alt text.
        colour: Colour of the line.
    """
    require_columns(bins, ["dose_mean", "outcome_mean", "n"], "plot_binned_scatter")
    if bins.empty or "slope" not in bins.attrs:
        raise ValueError("plot_binned_scatter: needs the bins of binned_means (with the slope).")
    ax = new_axes(ax)
    sizes = 20 + 180 * bins["n"] / bins["n"].max()
    ax.scatter(
        bins["dose_mean"], bins["outcome_mean"], s=sizes, color=TEXT_GREY, alpha=0.8,
        linewidths=0, label=text("dose_bins", lang), zorder=3,
    )  # fmt: skip
    slope, intercept = bins.attrs["slope"], bins.attrs["intercept"]
    grid = np.linspace(bins["dose_mean"].min(), bins["dose_mean"].max(), 50)
    slope_text = format_number(slope, lang, decimals, sign=True)
    ax.plot(
        grid, intercept + slope * grid, color=colour, linewidth=2,
        label=text("dose_fitted", lang, slope=slope_text),
    )  # fmt: skip
    ax.set_xlabel(x_label)
    ax.set_ylabel(textwrap.fill(y_label, 45))
    ax.xaxis.set_major_formatter(NumberFormatter(lang))
    ax.yaxis.set_major_formatter(NumberFormatter(lang))
    ax.legend(loc="best", fontsize="small")
    n = format_number(int(bins["n"].sum()), lang, 0)
    set_alt_text(
        ax,
        alt_text(
            "binned_scatter", lang, n=n, y=lower_first(y_label), x=lower_first(x_label),
            slope=slope_text,
        ),
    )  # fmt: skip
    return ax


def _mark_label(ax: Axes, period: str, lang: str) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    ax.xaxis.set_major_formatter(_YearFormatter())
    ax.axvline(
        period_to_time(period) - 0.125, color=NEUTRAL_GREY, linewidth=1, linestyle="--",
        label=text("sc_label_date", lang, period=period),
    )  # fmt: skip


def plot_synthetic_paths(
    path: pd.DataFrame,
    *,
    unit_name: str,
    treatment_period: str,
    ax: Axes | None = None,
    lang: str = "fr",
    indicator: str | None = None,
    value_label: str | None = None,
    decimals: int = 2,
) -> Axes:
    """The treated territory's series and its synthetic control (``SyntheticControlResult.path``).

    Args:
        path: Indexed by period, columns ``observed``, ``synthetic``, ``gap``, ``is_post``.
        unit_name: The treated territory's name (legend and alt text).
        treatment_period: First treated period (dashed line).
        indicator / value_label: The outcome (y-axis title).
    """
    require_columns(path, ["observed", "synthetic", "gap", "is_post"], "plot_synthetic_paths")
    ax = new_axes(ax)
    t = [period_to_time(p) for p in path.index]
    ax.plot(t, path["observed"], color=OKABE_ITO["vermillion"], linewidth=2,
            label=f"{text('sc_observed', lang)}{colon(lang)}{unit_name}")  # fmt: skip
    ax.plot(t, path["synthetic"], color=OKABE_ITO["blue"], linewidth=2, linestyle="-.",
            label=text("sc_synthetic", lang))  # fmt: skip
    _mark_label(ax, treatment_period, lang)
    ax.set_xlabel(text("period", lang))
    ax.set_ylabel(value_label or axis_label(indicator, lang))
    ax.yaxis.set_major_formatter(NumberFormatter(lang))
    ax.legend(loc="best", fontsize="small")
    gap = float(path.loc[path["is_post"].astype(bool), "gap"].mean())
    set_alt_text(
        ax,
        alt_text(
            "synthetic_paths", lang, unit=unit_name, first=path.index[0], last=path.index[-1],
            period=treatment_period, gap=format_number(gap, lang, decimals, sign=True),
        ),
    )  # fmt: skip
    return ax


def plot_synthetic_gaps(
    placebo_gaps: pd.DataFrame,
    treated: str,
    *,
    unit_name: str,
    treatment_period: str,
    ax: Axes | None = None,
    lang: str = "fr",
) -> Axes:
    """The treated gap in colour over the placebo gaps in grey (placebo-in-space inference).

    Args:
        placebo_gaps: ``SyntheticControlResult.placebo_gaps`` (index = period,
            one column per unit; ``treated`` among them).
        treated: The treated unit's column.
    """
    if treated not in placebo_gaps.columns:
        raise ValueError(f"plot_synthetic_gaps: {treated!r} is not a column of the gaps.")
    ax = new_axes(ax)
    t = [period_to_time(p) for p in placebo_gaps.index]
    placebos = [c for c in placebo_gaps.columns if c != treated]
    for position, column in enumerate(placebos):
        ax.plot(t, placebo_gaps[column], color=NEUTRAL_GREY, linewidth=0.6, alpha=0.5,
                label=text("sc_placebos", lang) if position == 0 else None)  # fmt: skip
    ax.plot(t, placebo_gaps[treated], color=OKABE_ITO["vermillion"], linewidth=2,
            label=text("sc_observed", lang))  # fmt: skip
    ax.axhline(0, color=TEXT_GREY, linewidth=1)
    _mark_label(ax, treatment_period, lang)
    ax.set_xlabel(text("period", lang))
    ax.set_ylabel(text("sc_gap_axis", lang))
    ax.yaxis.set_major_formatter(NumberFormatter(lang))
    ax.legend(loc="best", fontsize="small")
    set_alt_text(
        ax,
        alt_text("synthetic_gaps", lang, unit=unit_name, n=len(placebos), period=treatment_period),
    )
    return ax


# --- Saving ----------------------------------------------------------------------------


def _check_name(name: str) -> str:
    if not _FIGURE_NAME.match(name) or name.endswith(".slide"):
        raise ValueError(
            f"figure name {name!r}: use lower-case letters, digits, '-', '_' or '.', "
            "named by content "
            "(e.g. 'unemployment_resistance_2008_map'), without extension."
        )
    return name


def _wrap(line: str, fig: Figure, fontsize: float) -> str:
    width_pt = fig.get_figwidth() * 72 * 0.97
    return textwrap.fill(line, max(int(width_pt / (0.56 * fontsize)), 30))


def _find_gid(fig: Figure, gid: str) -> Text | None:
    for artist in fig.texts:
        if artist.get_gid() == gid:
            return artist
    return None


def _place_source_line(fig: Figure, line: str, fontsize: float) -> Text:
    """Write (or rewrite) the source line under ``fig``'s plots and keep them clear of it."""
    artist = _find_gid(fig, _SOURCE_GID)
    wrapped = _wrap(line, fig, fontsize)
    if artist is None:
        artist = fig.text(
            0.01, 0.008, wrapped, ha="left", va="bottom", color=TEXT_GREY, gid=_SOURCE_GID
        )
    artist.set_text(wrapped)
    artist.set_fontsize(fontsize)
    artist.set_in_layout(False)
    n_lines = wrapped.count("\n") + 1
    height_in = (n_lines * fontsize * 1.3 + fontsize) / 72
    fraction = min(height_in / fig.get_figheight() + 0.01, 0.4)
    engine = fig.get_layout_engine()
    if engine is None:  # hand-made figure: let constrained layout keep labels clear of the line
        fig.set_layout_engine("constrained")
        engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0, fraction, 1, 1 - fraction))
    elif isinstance(engine, TightLayoutEngine):
        engine.set(rect=(0, fraction, 1, 1))
    else:
        fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, fraction + 0.08))
    return artist


def _place_title(
    fig: Figure, title: str | None, visible: bool, fontsize: float | None = None
) -> None:
    existing = fig._suptitle  # matplotlib keeps the suptitle here; we tag ours by gid
    if title is None or not visible:
        if existing is not None and existing.get_gid() == _TITLE_GID:
            existing.set_visible(False)
            existing.set_in_layout(False)
        return
    artist = fig.suptitle(
        textwrap.fill(title, max(int(fig.get_figwidth() * 72 / (0.6 * 13)), 30)),
        x=0.01,
        ha="left",
        gid=_TITLE_GID,
    )
    artist.set_visible(True)
    artist.set_in_layout(True)
    if fontsize is not None:
        artist.set_fontsize(fontsize)


class _SlideVersion:
    """Temporarily turn a figure into its 16:9 slide version (projector fonts), then restore it.

    The figure is changed in place (figures holding GeoPandas collections cannot be
    copied) and restored on exit: size, font sizes, tick label sizes.
    """

    def __init__(self, fig: Figure):
        self.fig = fig

    def __enter__(self) -> Figure:
        fig = self.fig
        self.size = tuple(fig.get_size_inches())
        self.ticks: list[tuple[Axes, str, float]] = []
        tick_texts = set()
        tick_lines: set = set()
        for ax in fig.axes:
            for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
                labels_ = axis.get_ticklabels(which="both")
                if labels_:
                    size = labels_[0].get_fontsize()
                    self.ticks.append((ax, name, size))
                    ax.tick_params(
                        axis=name,
                        which="both",
                        labelsize=max(size * SLIDE_FONT_SCALE, SLIDE_MIN_FONT_PT),
                    )
                tick_texts.update(id(t) for t in axis.get_ticklabels(which="both"))
                tick_lines.update(axis.get_ticklines(minor=False))
                tick_lines.update(axis.get_ticklines(minor=True))
                tick_lines.update(axis.get_gridlines())
        self.texts: list[tuple[Text, float]] = []
        for artist in fig.findobj(Text):
            if id(artist) in tick_texts or artist.get_gid() == _SOURCE_GID or not artist.get_text():
                continue
            size = artist.get_fontsize()
            self.texts.append((artist, size))
            artist.set_fontsize(max(size * SLIDE_FONT_SCALE, SLIDE_MIN_FONT_PT))
        self.lines: list[tuple[Line2D, float, float]] = []
        for line in fig.findobj(Line2D):
            if line in tick_lines:
                continue
            self.lines.append((line, line.get_linewidth(), line.get_markersize()))
            line.set_linewidth(line.get_linewidth() * SLIDE_LINE_SCALE)
            line.set_markersize(line.get_markersize() * SLIDE_LINE_SCALE)
        self.sizes: list[tuple[PathCollection, np.ndarray]] = []
        for collection in fig.findobj(PathCollection):
            sizes = np.asarray(collection.get_sizes(), dtype=float)
            if sizes.size:
                self.sizes.append((collection, sizes))
                collection.set_sizes(sizes * SLIDE_LINE_SCALE**2)
        self.collections: list[tuple[LineCollection, np.ndarray]] = []
        for collection in fig.findobj(LineCollection):
            widths = np.asarray(collection.get_linewidths(), dtype=float)
            self.collections.append((collection, widths))
            collection.set_linewidths(widths * SLIDE_LINE_SCALE)
        fig.set_size_inches(*SLIDE_SIZE_INCHES)
        return fig

    def __exit__(self, *exc) -> None:
        for ax, name, size in self.ticks:
            ax.tick_params(axis=name, which="both", labelsize=size)
        for artist, size in self.texts:
            artist.set_fontsize(size)
        for line, width, size in self.lines:
            line.set_linewidth(width)
            line.set_markersize(size)
        for collection, widths in self.collections:
            collection.set_linewidths(widths)
        for collection, sizes in self.sizes:
            collection.set_sizes(sizes)
        self.fig.set_size_inches(*self.size)


PNG_COMPRESS_LEVEL = 3
"""zlib level of saved PNGs: a third faster to write than Pillow's 6, files within 10 %."""


def _save(fig: Figure, target: Path, fmt: str, dpi: float, metadata: dict) -> None:
    extra = {"pil_kwargs": {"compress_level": PNG_COMPRESS_LEVEL}} if fmt == "png" else {}
    write_atomically(
        target, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata, **extra)
    )


def save_figure(
    fig: Figure,
    name: str,
    *,
    sources: Sequence[str] | str,
    lang: str = "fr",
    out_dir: Path | str | None = None,
    alt_text: str | None = None,
    title: str | None = None,
    caption: str | None = None,
    date: dt.date | str | None = None,
    title_on_figure: bool = True,
    formats: Sequence[str] = FIGURE_FORMATS,
) -> dict[str, Path]:
    """Write a figure in every format with its source line, plus a JSON sidecar.

    Files, in ``out_dir`` (default ``reports/figures``): ``<name>.png`` (300 dpi),
    ``<name>.svg``, ``<name>.pdf``, ``<name>.slide.png`` (16:9, projector fonts, no
    title: the slide carries it) and ``<name>.json`` (title, caption, alt text,
    source ids and line, language, file names) read by the gallery and the deck.
    The same inputs give byte-identical files (no dates in metadata, fixed SVG
    hash salt). Every file is written atomically. The figure keeps its title and
    source line afterwards, so a notebook shows it as saved.

    Args:
        fig: The figure (its axes drawn by the ``plot_*`` helpers or by hand).
        name: File stem named by content, e.g. ``unemployment_resistance_2008_map``.
        sources: Catalogue source ids cited in the source line.
        lang: ``"fr"`` or ``"en"``.
        out_dir: Output folder.
        alt_text: One-sentence description; default: the descriptions the helpers
            recorded for the figure's axes.
        title: Figure title (drawn on PNG/SVG/PDF when ``title_on_figure``).
        caption: Longer caption for the gallery and the slide notes.
        date: Date or vintage printed after the processing credit.
        title_on_figure: Draw the title on the standalone files.
        formats: Which of :data:`FIGURE_FORMATS` to write (``png`` always); a
            fiche, printed whole to PDF, skips each figure's own PDF.

    Returns:
        Paths by format written (``png``, ``svg``, ``pdf``, ``slide_png``) and ``json``.

    Raises:
        ValueError: bad name, no source, no alt text given nor recorded, or an
            unknown format.
    """
    check_lang(lang)
    _check_name(name)
    unknown = sorted(set(formats) - set(FIGURE_FORMATS))
    if unknown or "png" not in formats:
        raise ValueError(
            f"figure {name!r}: formats {list(formats)!r} must include 'png' and be among "
            f"{', '.join(FIGURE_FORMATS)} (unknown: {', '.join(unknown) or 'none'})."
        )
    line = source_line(sources, lang, date=date)
    description = alt_text or figure_alt_text(fig)
    if not description:
        raise ValueError(
            f"figure {name!r} has no alt text: draw it with the plot_* helpers or pass alt_text= "
            "(one sentence describing what the figure shows)."
        )
    out = Path(out_dir) if out_dir is not None else default_figures_dir()
    out.mkdir(parents=True, exist_ok=True)
    files = {
        key: out / f"{name}{suffix}"
        for key, suffix in (
            ("png", ".png"),
            ("svg", ".svg"),
            ("pdf", ".pdf"),
            ("slide_png", ".slide.png"),
        )
        if key in formats
    }
    common = {"Title": title} if title else {}
    with style_context():
        _place_title(fig, title, title_on_figure)
        _place_source_line(fig, line, SOURCE_LINE_FONT_PT)
        _save(
            fig,
            files["png"],
            "png",
            PNG_DPI,
            {**common, "Description": description, "Software": None},
        )
        if "svg" in files:
            _save(
                fig,
                files["svg"],
                "svg",
                72,
                {
                    **common,
                    "Description": description,
                    "Date": None,
                    "Language": lang,
                    "Source": line,
                },
            )
        if "pdf" in files:
            _save(
                fig,
                files["pdf"],
                "pdf",
                72,
                {
                    **common,
                    "Subject": description,
                    "Keywords": line,
                    "CreationDate": None,
                    "ModDate": None,
                    "Creator": None,
                    "Producer": None,
                },
            )
        if "slide_png" in files:
            with _SlideVersion(fig) as slide:
                _place_title(slide, title, False)
                _place_source_line(
                    slide, line, max(SOURCE_LINE_FONT_PT * SLIDE_FONT_SCALE, SLIDE_MIN_FONT_PT)
                )
                _save(
                    slide,
                    files["slide_png"],
                    "png",
                    SLIDE_DPI,
                    {**common, "Description": description, "Software": None},
                )
        # back to the standalone version (a notebook shows the figure as saved)
        _place_title(fig, title, title_on_figure)
        _place_source_line(fig, line, SOURCE_LINE_FONT_PT)
    record = {
        "schema": SIDECAR_SCHEMA,
        "name": name,
        "title": title,
        "caption": caption,
        "alt_text": description,
        "sources": [sources] if isinstance(sources, str) else list(sources),
        "source_line": line,
        "lang": lang,
        "files": {key: path.name for key, path in files.items()},
    }
    files["json"] = out / f"{name}.json"
    write_atomically(
        files["json"],
        lambda tmp: tmp.write_text(
            json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
            encoding="utf-8",
        ),
    )
    return files


def figure_html(
    fig: Figure,
    *,
    alt_text: str | None = None,
    dpi: float = 150,
    css_class: str = "",
    png: Path | str | None = None,
) -> str:
    """An ``<img>`` of the figure (PNG embedded as data) with its alt text, for a report page.

    Notebook figures shown with ``plt.show()`` reach the HTML without alt
    text; shown with this, they carry the description the plot helpers
    recorded (or ``alt_text``). ``css_class`` is added to ``ptce-figure``
    (a page's stylesheet can size maps and series apart).

    Args:
        png: The figure's print PNG just written by :func:`save_figure`
            (``files["png"]``): the page shows it, reduced to ``dpi``, instead
            of drawing the figure once more (a quarter of a fiche's drawing
            time). Without it the figure is drawn at ``dpi``.

    Raises:
        ValueError: no alt text given nor recorded.
    """
    description = alt_text or figure_alt_text(fig)
    if not description:
        raise ValueError("figure_html: the figure has no alt text; pass alt_text=.")
    buffer = io.BytesIO()
    if png is not None:
        with Image.open(png) as image:
            image.load()
            scale = dpi / PNG_DPI
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image.resize(size, Image.LANCZOS, reducing_gap=2.0).save(buffer, format="PNG")
    else:
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<img class="{html.escape(" ".join(filter(None, ["ptce-figure", css_class])))}" '
        f'src="data:image/png;base64,{encoded}" '
        f'alt="{html.escape(description, quote=True)}">'
    )
