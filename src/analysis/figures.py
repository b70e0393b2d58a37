"""Seminar-ready figures: one style, French/English labels from metadata, sources on every figure.

Plotting helpers draw on a given axis (``plot_x(data, *, ax=None, lang="fr") ->
Axes``) and record a one-sentence alternative text generated from the data they
show. :func:`save_figure` writes PNG (300 dpi), SVG, PDF, a 16:9 slide PNG with
projector-sized fonts and a ``<name>.json`` sidecar (title, alt text, sources,
language) that :func:`write_gallery` and :func:`build_deck` read. Output is
deterministic: the same inputs give byte-identical files.

Labels come from metadata, never from literals in plotting code: indicator
labels and units from ``analysis.indicators.INDICATORS``, source lines from the
data catalogue (``analysis.sources.citations``), and the few generic words a
figure needs (axis titles, legend entries) from :data:`TEXT`.

Example (in a notebook)::

    from analysis import figures
    figures.use_style()
    ax = figures.plot_choropleth(layer, "resistance_lagravinese", center=0, lang="fr")
    figures.save_figure(ax.figure, "resistance_2008_ze2020_map", title="Résistance au choc de 2008",
                        sources=figures.indicator_sources("unemployment_rate"),
                        out_dir=run_dir / "figures")
    figures.write_gallery(run_dir / "figures")      # <figures>/index.html
    # then: ptce deck --report <run> --out deck.pptx
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import re
import textwrap
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import Formatter, MaxNLocator

from analysis import paths, sources
from analysis.atomic import write_atomically

LANGS = ("fr", "en")

NBSP = "\u00a0"
"""No-break space: before ``%``, ``:`` and ``;`` in French."""
NNBSP = "\u202f"
"""Narrow no-break space: the French thousands separator."""
MINUS = "\u2212"
"""The minus sign (matplotlib's axes use it too, so labels and ticks agree)."""

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

KINDS = ("ptce", "tzcld", "tiers_lieu", "fabrique_territoire", "manufacture_proximite")
"""Cooperation kinds drawn in their own colour (``analysis.keys.KINDS`` lists every kind)."""

KIND_COLOURS: dict[str, str] = {
    "ptce": OKABE_ITO["blue"],
    "tzcld": OKABE_ITO["vermillion"],
    "tiers_lieu": OKABE_ITO["bluish_green"],
    "fabrique_territoire": OKABE_ITO["reddish_purple"],
    "manufacture_proximite": OKABE_ITO["orange"],
    "scic": OKABE_ITO["yellow"],
    "scop": OKABE_ITO["black"],
    "groupement_employeurs": OKABE_ITO["sky_blue"],
    "other": TEXT_GREY,  # the eight Okabe-Ito colours are taken by kinds
    "none": NEUTRAL_GREY,
}
"""One fixed colour per cooperation kind, the same in every figure of the study."""

GROUP_COLOURS: dict[str, str] = {
    "treated": OKABE_ITO["blue"],
    "comparison": NEUTRAL_GREY,
    "national": OKABE_ITO["black"],
    **KIND_COLOURS,
}
"""Colours of the groups figures compare (kinds, treated vs comparison territories, France)."""

# --- Words a figure needs, in both languages (metadata, not plotting code) ---

TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "source": "Source",
        "sources": "Sources",
        "processing": "traitement",
        "project": "projet PTCE-résilience",
        "no_data": "Données manquantes",
        "not_available": "n.d.",
        "effect": "Effet estimé",
        "effect_on": "Effet estimé sur : {label}",
        "gap": "Écart estimé",
        "ci95": "intervalle de confiance à 95{nbsp}%",
        "n_obs": "n{nbsp}={nbsp}{n}",
        "n_treated": "n{nbsp}={nbsp}{n} dont {treated} traités",
        "event_time_quarter": "Trimestres depuis le début du choc",
        "event_time_year": "Années depuis le début du choc",
        "period": "Période",
        "initiatives": "Nombre d'initiatives",
        "smd": "Écart standardisé des moyennes",
        "before_matching": "Avant appariement",
        "after_matching": "Après appariement",
        "treated": "Territoires avec coopération",
        "comparison": "Territoires de comparaison",
        "national": "France",
        "areas": "territoires",
        "description": "Description",
        "caption": "Légende",
        "formats": "Formats",
        "slide": "diapositive",
        "gallery_title": "Figures du projet PTCE-résilience",
        "gallery_intro": "Chaque figure existe en PNG (300{nbsp}dpi), SVG, PDF "
        "et en version diapositive 16:9.",
        "scheme_quantiles": "quantiles",
        "scheme_equalinterval": "intervalles égaux",
        "scheme_naturalbreaks": "seuils naturels",
        "scheme_fisherjenks": "seuils de Fisher-Jenks",
        "scheme_userdefined": "classes choisies",
        "scheme_percentiles": "centiles",
        "scheme_stdmean": "écarts à la moyenne",
        "scheme_boxplot": "boîte à moustaches",
        "permutation_statistic": "Écart de moyennes, traités moins comparés",
        "permutation_statistic_on": "Écart de moyennes, traités moins comparés{nbsp}: {label}",
        "permutation_draws": "Nombre de tirages",
        "permutation_null": "Traitement réparti au hasard ({n} tirages)",
        "permutation_observed": "Écart observé ({value})",
        "permutation_mirror": "Même écart de signe opposé (test bilatéral)",
        "territories_points": "Territoires",
        "fit_line": "Droite des moindres carrés (sans contrôle)",
        "fit_band": "Intervalle de confiance à 95{nbsp}% de la droite",
    },
    "en": {
        "source": "Source",
        "sources": "Sources",
        "processing": "processing",
        "project": "PTCE-resilience project",
        "no_data": "No data",
        "not_available": "n/a",
        "effect": "Estimated effect",
        "effect_on": "Estimated effect on: {label}",
        "gap": "Estimated gap",
        "ci95": "95% confidence interval",
        "n_obs": "n = {n}",
        "n_treated": "n = {n}, {treated} treated",
        "event_time_quarter": "Quarters since the start of the shock",
        "event_time_year": "Years since the start of the shock",
        "period": "Period",
        "initiatives": "Number of initiatives",
        "smd": "Standardised mean difference",
        "before_matching": "Before matching",
        "after_matching": "After matching",
        "treated": "Territories with cooperation",
        "comparison": "Comparison territories",
        "national": "France",
        "areas": "areas",
        "description": "Description",
        "caption": "Caption",
        "formats": "Formats",
        "slide": "slide",
        "gallery_title": "Figures of the PTCE-resilience project",
        "gallery_intro": "Every figure comes as PNG (300 dpi), SVG, PDF and a 16:9 slide version.",
        "scheme_quantiles": "quantiles",
        "scheme_equalinterval": "equal intervals",
        "scheme_naturalbreaks": "natural breaks",
        "scheme_fisherjenks": "Fisher-Jenks breaks",
        "scheme_userdefined": "chosen classes",
        "scheme_percentiles": "percentiles",
        "scheme_stdmean": "deviations from the mean",
        "scheme_boxplot": "box plot",
        "permutation_statistic": "Difference in means, treated minus comparison",
        "permutation_statistic_on": "Difference in means, treated minus comparison: {label}",
        "permutation_draws": "Number of draws",
        "permutation_null": "Treatment relocated at random ({n} draws)",
        "permutation_observed": "Observed difference ({value})",
        "permutation_mirror": "Same difference, opposite sign (two-sided test)",
        "territories_points": "Territories",
        "fit_line": "Least-squares line (no controls)",
        "fit_band": "95% confidence interval of the line",
    },
}

KIND_LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "ptce": "PTCE",
        "tzcld": "TZCLD",
        "tiers_lieu": "Tiers-lieux",
        "fabrique_territoire": "Fabriques de territoire",
        "manufacture_proximite": "Manufactures de proximité",
        "scic": "SCIC",
        "scop": "SCOP",
        "groupement_employeurs": "Groupements d'employeurs",
        "other": "Autres",
        "none": "Aucune",
    },
    "en": {
        "ptce": "PTCE",
        "tzcld": "TZCLD",
        "tiers_lieu": "Third places",
        "fabrique_territoire": "Fabriques de territoire",
        "manufacture_proximite": "Local manufactures",
        "scic": "SCIC (community-interest cooperatives)",
        "scop": "SCOP (worker cooperatives)",
        "groupement_employeurs": "Employer groups",
        "other": "Other",
        "none": "None",
    },
}

ALT_TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "choropleth": "Carte de {n} {areas}{insets} : {label}, en {k} classes ({scheme}), "
        "de {low} ({low_name}) à {high} ({high_name}){missing}.",
        "insets": " (outre-mer en encadrés)",
        "missing": " ; {m} sans donnée",
        "effects": "{effect}{about} pour {n} estimations : "
        "de {low} ({low_name}) à {high} ({high_name}) ; "
        "l'{ci95} contient zéro dans {zero} cas sur {n}.",
        "series": "{label} de {first} à {last} ({n} séries) : {details}.",
        "series_item": "{name} de {start} à {end}",
        "event_study": "{gap} ({label}) autour du choc, de {first} à {last} : "
        "de {pre_low} à {pre_high} avant, de {post_low} à {post_high} après{significant}.",
        "event_significant": " ; {k} coefficients sur {n} après le choc ont un {ci95} sans zéro",
        "kind_counts": "Nombre d'initiatives par type : {details}.",
        "distribution": "{label} par groupe : {details}.",
        "distribution_item": "médiane {median} pour {group} (n{nbsp}={nbsp}{n})",
        "balance": "Écarts standardisés des moyennes pour {n} variables : {before} au-delà de "
        "{threshold} avant appariement, {after} après.",
        "initiatives_map": "Carte de {n} initiatives de coopération localisées{insets} : "
        "{details}{unlocated}.",
        "unlocated": " ; non représentées faute de localisation : {m}",
        "permutation": "Histogramme de {n} écarts obtenus en répartissant le traitement au "
        "hasard{about} : 95{nbsp}% d'entre eux entre {low} et {high} ; écart observé {observed}, "
        "atteint ou dépassé en valeur absolue par {share} des tirages.",
        "scatter_fit": "Nuage de {n} territoires : {y} selon {x} ; droite des moindres carrés "
        "de pente {slope} (intervalle de confiance à 95{nbsp}% de {low} à {high}), "
        "corrélation {r}.",
        "list_sep": ", ",
        "sentence_sep": " ; ",
    },
    "en": {
        "choropleth": "Map of {n} {areas}{insets}: {label}, in {k} classes ({scheme}), "
        "from {low} ({low_name}) to {high} ({high_name}){missing}.",
        "insets": " (overseas as insets)",
        "missing": "; {m} with no data",
        "effects": "{effect}{about} for {n} estimates: "
        "from {low} ({low_name}) to {high} ({high_name}); "
        "the {ci95} contains zero in {zero} of {n} cases.",
        "series": "{label} from {first} to {last} ({n} series): {details}.",
        "series_item": "{name} from {start} to {end}",
        "event_study": "{gap} ({label}) around the shock, from {first} to {last}: "
        "from {pre_low} to {pre_high} before, from {post_low} to {post_high} after{significant}.",
        "event_significant": "; {k} of {n} post-shock coefficients have a {ci95} excluding zero",
        "kind_counts": "Number of initiatives by kind: {details}.",
        "distribution": "{label} by group: {details}.",
        "distribution_item": "median {median} for {group} (n = {n})",
        "balance": "Standardised mean differences for {n} variables: {before} beyond "
        "{threshold} before matching, {after} after.",
        "initiatives_map": "Map of {n} located cooperation initiatives{insets}: "
        "{details}{unlocated}.",
        "unlocated": "; not shown for lack of location: {m}",
        "permutation": "Histogram of {n} differences obtained by relocating the treatment at "
        "random{about}: 95% of them between {low} and {high}; observed difference {observed}, "
        "reached or exceeded in absolute value by {share} of the draws.",
        "scatter_fit": "Scatter of {n} territories: {y} against {x}; least-squares line with "
        "slope {slope} (95% confidence interval {low} to {high}), correlation {r}.",
        "list_sep": ", ",
        "sentence_sep": "; ",
    },
}

_MEASURE_ROWS = [
    # measure, label_fr, label_en, unit, unit_label_fr, unit_label_en
    ("own_depth", "Profondeur du choc (points de retournement propres)",
     "Depth of the shock (own turning points)", "ratio", "", ""),
    ("has_returned_to_pre_shock_value", "Retour au niveau d'avant le choc",
     "Back to the pre-shock value", "boolean", "0 = non, 1 = oui", "0 = no, 1 = yes"),
    ("pre_shock_unemployment_rate", "Taux de chômage avant le choc",
     "Pre-shock unemployment rate", "pct", "%", "%"),
    ("log_population", "Population (logarithme)", "Population (log)", "log", "", ""),
    ("log_density_inhab_km2", "Densité de population (logarithme)", "Population density (log)",
     "log", "", ""),
]  # fmt: skip
MEASURES: pd.DataFrame = pd.DataFrame(
    _MEASURE_ROWS,
    columns=["measure", "label_fr", "label_en", "unit", "unit_label_fr", "unit_label_en"],
).set_index("measure")
"""Labels of derived measures that are neither indicators nor model outcomes (model
covariates, a few resilience columns). Model outcomes (resilience indices) take
their labels from ``analysis.models.OUTCOME_LABELS``; see :func:`indicator_metadata`."""

_ARTICLE = re.compile(r"^(l'|l’|la |le |les |the )", re.IGNORECASE)


def _outcome_metadata(measure: str) -> pd.Series | None:
    """Title-form labels of a model outcome from ``analysis.models.OUTCOME_LABELS``."""
    try:
        from analysis.models import OUTCOME_LABELS
    except ImportError:
        return None
    labels = OUTCOME_LABELS.get(measure)
    if not labels:
        return None
    row = {"unit": "", "unit_label_fr": "", "unit_label_en": ""}
    for lang in LANGS:
        phrase = _ARTICLE.sub("", labels[lang].strip())
        row[f"label_{lang}"] = phrase[:1].upper() + phrase[1:]
    return pd.Series(row, name=measure)


SPECIFICATION_TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "difference_in_means": "Différence de moyennes",
        "ols": "Régression (MCO, erreurs {cov})",
        "controls": "contrôles",
        "nonrobust": "classiques",
        "cluster": "par grappe",
        "fe": "effets fixes {what}",
        "matching": "Appariement ({k} plus proche{s} voisin{s})",
        "biascorr": "biais corrigé",
        "exact": "exact sur {what}",
        "caliper": "rayon {value}",
        "permutation": "Test de permutation ({statistic})",
        "within": "au sein de chaque {what}",
        "event_study_matched": "Étude d'événement (territoires appariés)",
        "reg_code": "région",
        "dep_code": "département",
        "epci_code": "EPCI",
        "ze2020_code": "zone d'emploi",
    },
    "en": {
        "difference_in_means": "Difference in means",
        "ols": "Regression (OLS, {cov} errors)",
        "controls": "controls",
        "nonrobust": "classical",
        "cluster": "clustered",
        "fe": "{what} fixed effects",
        "matching": "Matching ({k} nearest neighbour{s})",
        "biascorr": "bias-corrected",
        "exact": "exact on {what}",
        "caliper": "caliper {value}",
        "permutation": "Permutation test ({statistic})",
        "within": "within each {what}",
        "event_study_matched": "Event study (matched territories)",
        "reg_code": "région",
        "dep_code": "département",
        "epci_code": "EPCI",
        "ze2020_code": "employment zone",
    },
}
"""Words of :func:`specification_label` (the specification codes of ``analysis.models``)."""

DIVERGING_CENTRES: dict[str, float] = {
    "resistance_lagravinese": 0.0,
    "recovery_lagravinese": 0.0,
    "rise_vs_nation_pp": 0.0,
    "recovery_vs_nation_pp": 0.0,
    "sensitivity_martin": 1.0,
}
"""Measures read against a reference value (France): maps colour them on a diverging scale."""

PROJECT_CITATIONS: dict[str, dict[str, str]] = {
    # Same id as ``analysis.registry.REGISTRY_SOURCE_ID``: the ``source_id`` of registry rows.
    "registry": {
        "fr": "registre des coopérations du projet PTCE-résilience",
        "en": "PTCE-resilience registry of cooperation initiatives",
    },
}
"""Citations of the project's own inputs that are not raw files in the catalogue."""

# --- Output settings ----------------------------------------------------------

FIGURE_FORMATS = ("png", "svg", "pdf", "slide_png")
PNG_DPI = 300
SLIDE_SIZE_INCHES = (13.333, 7.5)
"""16:9, the size of a PowerPoint widescreen slide."""
SLIDE_DPI = 150
SLIDE_FONT_SCALE = 1.8
"""Slide fonts are the figure's times this (10 pt body text → 18 pt)."""
SLIDE_MIN_FONT_PT = 14.0
SLIDE_LINE_SCALE = 1.5
"""Slide lines and markers are this much thicker (data lines; not ticks, grid or map edges)."""
SOURCE_LINE_FONT_PT = 7.5
SIDECAR_SCHEMA = "ptce-figure/1"
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


def _styled(function: Callable) -> Callable:
    """Run a plotting helper inside the project style (fonts, sizes, grid, colours)."""

    @wraps(function)
    def wrapper(*args, **kwargs):
        with style_context():
            return function(*args, **kwargs)

    return wrapper


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}.")
    return lang


def text(key: str, lang: str = "fr", **values: Any) -> str:
    """A generic figure word or phrase from :data:`TEXT`, filled with ``values``."""
    _check_lang(lang)
    try:
        template = TEXT[lang][key]
    except KeyError:
        raise KeyError(
            f"no figure text {key!r}; known keys: {', '.join(sorted(TEXT[lang]))}"
        ) from None
    return template.format(nbsp=NBSP, **values)


def _colon(lang: str) -> str:
    """``" : "`` with a no-break space in French, ``": "`` in English."""
    return f"{NBSP}: " if lang == "fr" else ": "


def _alt(key: str, lang: str, **values: Any) -> str:
    return ALT_TEXT[lang][key].format(nbsp=NBSP, **values)


def kind_label(kind: str, lang: str = "fr") -> str:
    """Display name of a cooperation kind (``tiers_lieu`` → ``Tiers-lieux``)."""
    _check_lang(lang)
    try:
        return KIND_LABELS[lang][kind]
    except KeyError:
        raise KeyError(
            f"unknown cooperation kind {kind!r}; known: {', '.join(KIND_LABELS[lang])}"
        ) from None


def group_label(group: Any, lang: str = "fr") -> str:
    """Display name of a group: a kind, ``treated``/``comparison``/``national``, else itself."""
    key = str(group)
    if key in KIND_LABELS[lang]:
        return KIND_LABELS[lang][key]
    if key in ("treated", "comparison", "national"):
        return text(key, lang)
    return key


def group_colour(group: Any, position: int = 0) -> str:
    """Fixed colour of a known group, else the ``position``-th colour of the palette."""
    key = str(group)
    if key in GROUP_COLOURS:
        return GROUP_COLOURS[key]
    cycle = [c for c in OKABE_ITO.values() if c not in GROUP_COLOURS.values()] + list(
        OKABE_ITO.values()
    )
    return cycle[position % len(cycle)]


# --- Numbers --------------------------------------------------------------------


def format_number(
    x: float | int | None,
    lang: str = "fr",
    decimals: int = 1,
    *,
    percent: bool = False,
    sign: bool = False,
) -> str:
    """Format a number for a figure in ``lang``.

    French: decimal comma, narrow no-break space between thousands, a no-break
    space before ``%`` (``12 345,6``, ``12,5 %``). English: ``12,345.6``,
    ``12.5%``. Negative numbers take the minus sign ``−`` (U+2212).

    Args:
        x: The number; ``None`` or NaN give ``n.d.`` / ``n/a``.
        lang: ``"fr"`` or ``"en"``.
        decimals: Digits after the decimal mark.
        percent: Append the percent sign (``x`` is already in percent).
        sign: Prefix positive numbers with ``+`` (for effects and changes).
    """
    _check_lang(lang)
    if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x):
        return text("not_available", lang)
    decimals = max(int(decimals), 0)
    value = round(float(x), decimals)
    body = f"{abs(value):,.{decimals}f}"
    if lang == "fr":
        body = body.replace(",", NNBSP).replace(".", ",")
    if value < 0:
        body = MINUS + body
    elif sign and value > 0:
        body = "+" + body
    if percent:
        body += (NBSP + "%") if lang == "fr" else "%"
    return body


def format_percent(
    x: float | None, lang: str = "fr", decimals: int = 1, *, sign: bool = False
) -> str:
    """``format_number`` with the percent sign (``x`` in percent: 12.5 → ``12,5 %``)."""
    return format_number(x, lang, decimals, percent=True, sign=sign)


def decimals_for(values: Iterable[float], max_decimals: int = 4) -> int:
    """The fewest decimals that show every value exactly (up to ``max_decimals``)."""
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    for decimals in range(max_decimals + 1):
        if all(abs(round(v, decimals) - v) <= 1e-9 * max(1.0, abs(v)) for v in finite):
            return decimals
    return max_decimals


def decimals_for_range(low: float, high: float, significant: int = 3) -> int:
    """Decimals that show ``significant`` digits of the spread of a range (for class limits)."""
    spread = abs(high - low)
    if not np.isfinite(spread) or spread == 0:
        return 1
    return int(max(0, significant - 1 - math.floor(math.log10(spread))))


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
        self.lang = _check_lang(lang)
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


def format_date(date: dt.date | str, lang: str = "fr") -> str:
    """A date in words (``26 novembre 2026``, ``26 November 2026``); strings pass through."""
    if isinstance(date, str):
        return date
    months = {
        "fr": [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ],
        "en": [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
    }[_check_lang(lang)]
    day = "1er" if (date.day == 1 and lang == "fr") else str(date.day)
    return f"{day} {months[date.month - 1]} {date.year}"


# --- Labels from metadata -----------------------------------------------------


def indicator_metadata(indicator: str, dictionary: pd.DataFrame | None = None) -> pd.Series:
    """The metadata row of an indicator (labels, units, definition, sources) or of a measure.

    Looks in the indicator dictionary, then in the model outcomes
    (``analysis.models.OUTCOME_LABELS``: resilience indices), then in
    :data:`MEASURES` (model covariates).

    Args:
        indicator: Indicator name, e.g. ``unemployment_rate``, or a measure name,
            e.g. ``resistance_lagravinese``.
        dictionary: A table shaped like ``analysis.indicators.INDICATORS``
            (indexed by indicator); defaults to that dictionary.

    Raises:
        KeyError: listing the known indicators and measures.
    """
    if dictionary is None:
        try:
            from analysis import indicators
        except ImportError as error:  # the indicators module is built in parallel
            raise ImportError(
                "analysis.indicators is not available: pass `dictionary=` (a table shaped like "
                "INDICATORS) or build the indicators module first."
            ) from error
        dictionary = indicators.INDICATORS
    if indicator in dictionary.index:
        return dictionary.loc[indicator]
    outcome = _outcome_metadata(indicator)
    if outcome is not None:
        return outcome
    if indicator in MEASURES.index:
        return MEASURES.loc[indicator]
    raise KeyError(
        f"unknown indicator {indicator!r}; known indicators: "
        f"{', '.join(map(str, dictionary.index))}; known measures: {', '.join(MEASURES.index)} "
        "and the outcomes of analysis.models.OUTCOME_LABELS"
    )


def label(indicator: str, lang: str = "fr", *, dictionary: pd.DataFrame | None = None) -> str:
    """The indicator's label in ``lang`` (from the indicator dictionary)."""
    return str(indicator_metadata(indicator, dictionary)[f"label_{_check_lang(lang)}"])


def unit_label(indicator: str, lang: str = "fr", *, dictionary: pd.DataFrame | None = None) -> str:
    """The indicator's unit label in ``lang`` (empty string when it has none)."""
    value = indicator_metadata(indicator, dictionary).get(f"unit_label_{_check_lang(lang)}", "")
    return "" if value is None or pd.isna(value) else str(value)


def axis_label(indicator: str, lang: str = "fr", *, dictionary: pd.DataFrame | None = None) -> str:
    """``Label (unit)`` for an axis or a legend title."""
    name = label(indicator, lang, dictionary=dictionary)
    unit = unit_label(indicator, lang, dictionary=dictionary)
    return f"{name} ({unit})" if unit else name


def is_percent(indicator: str, *, dictionary: pd.DataFrame | None = None) -> bool:
    """Whether an indicator is expressed in percent (its unit is ``%``/``pct``/``percent``)."""
    unit = str(indicator_metadata(indicator, dictionary).get("unit", "")).strip().lower()
    return unit in {"%", "pct", "percent", "pourcent"}


def indicator_sources(
    indicator: str, *, level: str | None = None, dictionary: pd.DataFrame | None = None
) -> tuple[str, ...]:
    """Catalogue ids an indicator comes from (pass them to :func:`save_figure` as ``sources``).

    With ``level``, only the sources of the values shown at that level and of the
    national reference (level ``fr``) are cited, read from the indicators panel.
    """
    if level is not None and dictionary is None:
        from analysis import indicators

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
    _check_lang(lang)
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
    colon = _colon(lang)
    semicolon = f"{NBSP}; " if lang == "fr" else "; "
    head = text("sources" if len(lines) > 1 else "source", lang)
    credit = f"{text('processing', lang)}{colon}{text('project', lang)}"
    if date is not None:
        credit += f", {format_date(date, lang)}"
    return f"{head}{colon}{semicolon.join(lines)}{semicolon}{credit}"


def specification_label(specification: str, lang: str = "fr") -> str:
    """A readable name of an ``analysis.models`` specification code.

    ``ols_hc3+controls+reg_code_fe`` → ``Régression (MCO, erreurs HC3) + contrôles +
    effets fixes région``; ``nn_matching_k1_biascorr`` → ``Appariement (1 plus proche
    voisin), biais corrigé``; unknown codes are returned unchanged.
    """
    words = SPECIFICATION_TEXT[_check_lang(lang)]
    code = str(specification)
    if code.startswith("continuous_"):  # a dose (continuous treatment): same estimators
        code = code[len("continuous_") :]

    def what(column: str) -> str:
        return words.get(column, column)

    if code in ("difference_in_means", "event_study_matched"):
        return words[code]
    match = re.fullmatch(r"permutation_(difference_in_means|ols)(?:_within_(.+))?", code)
    if match:
        statistic = words["difference_in_means"] if match[1] == "difference_in_means" else "MCO"
        if lang == "en" and match[1] == "ols":
            statistic = "OLS"
        label = words["permutation"].format(statistic=_lower_first(statistic))
        if match[2]:
            label += ", " + words["within"].format(what=" × ".join(map(what, match[2].split("+"))))
        return label
    match = re.fullmatch(r"ols_([a-z0-9]+)((?:\+[a-z0-9_]+)*)", code)
    if match:
        cov = {"nonrobust": words["nonrobust"], "cluster": words["cluster"]}.get(
            match[1], match[1].upper()
        )
        parts = [words["ols"].format(cov=cov)]
        for term in filter(None, match[2].split("+")):
            if term == "controls":
                parts.append(words["controls"])
            elif term.endswith("_fe"):
                parts.append(words["fe"].format(what=what(term[: -len("_fe")])))
            else:
                parts.append(term)
        return " + ".join(parts)
    match = re.fullmatch(
        r"nn_matching_k(\d+)(_biascorr)?(?:_exact_(.+?))?(?:_caliper([0-9.]+))?", code
    )
    if match:
        k = int(match[1])
        parts = [words["matching"].format(k=k, s="s" if k > 1 else "")]
        if match[2]:
            parts.append(words["biascorr"])
        if match[3]:
            parts.append(words["exact"].format(what=what(match[3])))
        if match[4]:
            parts.append(
                words["caliper"].format(
                    value=format_number(float(match[4]), lang, decimals_for([float(match[4])]))
                )
            )
        return ", ".join(parts)
    return code


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


def _new_axes(ax: Axes | None, figsize: tuple[float, float] | None = None) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=figsize)
    return new


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(
            f"{what}: missing column(s) {', '.join(missing)}; "
            f"columns present: {', '.join(map(str, frame.columns))}."
        )


def period_to_number(period: Any) -> float:
    """Position of a period on a time axis: ``2019`` → 2019.0, ``2008-Q3`` → 2008.5."""
    value = str(period).strip()
    match = re.fullmatch(r"(\d{4})(?:-?([QqTtSsMm])?(\d{1,2}))?", value)
    if not match:
        raise ValueError(
            f"cannot place period {period!r} on a time axis; "
            "expected '2019', '2008-Q1' or '2020-03'."
        )
    year, letter, sub = match.groups()
    if sub is None:
        return float(year)
    step = {"q": 4, "t": 4, "s": 2, "m": 12, None: 12}[letter.lower() if letter else None]
    return int(year) + (int(sub) - 1) / step


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


def _lower_first(phrase: str) -> str:
    """Lower the first letter unless the first word is an acronym (``PTCE`` stays)."""
    first = phrase.split(" ", 1)[0]
    if len(first) > 1 and first[:2].isupper():
        return phrase
    return phrase[:1].lower() + phrase[1:]


# --- Plotting helpers -------------------------------------------------------------


@_styled
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
        dictionary: Indicator dictionary (default ``analysis.indicators.INDICATORS``).
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
    import geopandas as gpd
    import mapclassify

    _check_lang(lang)
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"plot_choropleth needs a GeoDataFrame, got {type(gdf).__name__}.")
    _require_columns(gdf, [column], "plot_choropleth")
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
        from analysis import territories

        drom_present = sorted(set(territories.locate_drom(gdf).dropna()))
        gdf = territories.place_overseas_insets(gdf)
        values = pd.to_numeric(gdf[column], errors="coerce")
    ax = _new_axes(ax, (8.0, 6.0))
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
    description = _alt(
        "choropleth",
        lang,
        n=format_number(len(gdf), lang, 0),
        areas=text("areas", lang),
        insets=_alt("insets", lang) if drom_present else "",
        label=_lower_first(short),
        k=n_classes,
        scheme=_scheme_label(scheme, lang),
        low=format_number(observed[low_i], lang, value_decimals, percent=percent),
        low_name=names[low_i],
        high=format_number(observed[high_i], lang, value_decimals, percent=percent),
        high_name=names[high_i],
        missing=_alt("missing", lang, m=n_missing) if n_missing else "",
    )
    set_alt_text(ax, description)
    return ax


@_styled
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
    import geopandas as gpd

    _check_lang(lang)
    _require_columns(initiatives, ["longitude", "latitude", kind_column], "plot_initiatives_map")
    unknown = sorted(set(initiatives[kind_column].astype(str)) - set(KIND_COLOURS))
    if unknown:
        raise KeyError(
            f"plot_initiatives_map: unknown kind(s) {unknown} in column {kind_column!r}; "
            f"known: {', '.join(KIND_COLOURS)}."
        )
    located = initiatives["longitude"].notna() & initiatives["latitude"].notna()
    points = gpd.GeoDataFrame(
        initiatives[located],
        geometry=gpd.points_from_xy(
            initiatives.loc[located, "longitude"], initiatives.loc[located, "latitude"]
        ),
        crs="EPSG:4326",
    )
    ax = _new_axes(ax, (8.0, 6.0))
    drom_present: list[str] = []
    if insets:
        from analysis import territories

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
    n_unlocated = int((~located).sum())
    set_alt_text(
        ax,
        _alt(
            "initiatives_map",
            lang,
            n=format_number(int(located.sum()), lang, 0),
            insets=_alt("insets", lang) if drom_present else "",
            details=ALT_TEXT[lang]["list_sep"].join(details),
            unlocated=_alt("unlocated", lang, m=format_number(n_unlocated, lang, 0))
            if n_unlocated
            else "",
        ),
    )
    return ax


def _scheme_label(scheme: str, lang: str) -> str:
    key = "scheme_" + scheme.lower().replace("_", "")
    return TEXT[lang].get(key, scheme)


@_styled
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
    _check_lang(lang)
    _require_columns(results, ["effect", "ci_low", "ci_high", label_column], "plot_effects")
    if results.empty:
        raise ValueError("plot_effects: no result to show.")
    if indicator is None and "outcome" in results.columns and results["outcome"].nunique() == 1:
        candidate = str(results["outcome"].iloc[0])
        try:
            indicator_metadata(candidate, dictionary)
            indicator = candidate
        except (KeyError, ImportError):
            indicator = None
    ax = _new_axes(ax, (7.0, 0.9 + 0.45 * len(results)))
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
        text("effect_on", lang, label=_lower_first(label(indicator, lang, dictionary=dictionary)))
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
    about = f" ({_lower_first(label(indicator, lang, dictionary=dictionary))})" if indicator else ""
    set_alt_text(
        ax,
        _alt(
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


@_styled
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
    _check_lang(lang)
    if wide.empty:
        raise ValueError("plot_series: no series to show.")
    if indicator is None and value_label is None:
        indicator = wide.attrs.get("indicator")  # set by analysis.indicators.get()
    axis_title = _value_label(indicator, value_label, lang, dictionary)
    short = _short_label(indicator, value_label, lang, dictionary)
    if percent is None:
        percent = is_percent(indicator, dictionary=dictionary) if indicator else False
    ax = _new_axes(ax)
    x = np.array([period_to_number(p) for p in wide.columns])
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
                _alt(
                    "series_item",
                    lang,
                    name=name,
                    start=format_number(y[finite[0]], lang, decimals, percent=percent),
                    end=format_number(y[finite[-1]], lang, decimals, percent=percent),
                )
            )
    for first, last, shock_label in shocks:
        start, end = period_to_number(first), period_to_number(last)
        ax.axvspan(
            start, end + _period_step(first), color=NEUTRAL_GREY, alpha=0.18, linewidth=0, zorder=0
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
        _alt(
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


def _period_step(period: Any) -> float:
    value = str(period)
    if re.search(r"[QqTt]\d", value):
        return 0.25
    if re.search(r"-\d{2}$", value):
        return 1 / 12
    return 1.0 if re.fullmatch(r"\d{4}", value) else 0.0


@_styled
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
    _check_lang(lang)
    _require_columns(table, [time_column, "effect", "ci_low", "ci_high"], "plot_event_study")
    if table.empty:
        raise ValueError("plot_event_study: no coefficient to show.")
    if time_unit not in ("quarter", "year"):
        raise ValueError(f"time_unit must be 'quarter' or 'year', got {time_unit!r}.")
    short = _short_label(indicator, value_label, lang, dictionary)
    frame = table.sort_values(time_column)
    t = frame[time_column].to_numpy(dtype=float)
    effect = frame["effect"].to_numpy(dtype=float)
    low, high = frame["ci_low"].to_numpy(dtype=float), frame["ci_high"].to_numpy(dtype=float)
    ax = _new_axes(ax)
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
        f"{text('gap', lang)} : {_lower_first(short)}"
        if lang == "fr"
        else f"{text('gap', lang)}: {short}"
    )
    ax.yaxis.label.set_text(ax.yaxis.label.get_text().replace(" : ", f"{NBSP}: "))
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
        _alt(
            "event_study",
            lang,
            gap=text("gap", lang),
            label=_lower_first(short),
            first=format_number(t.min(), lang, 0),
            last=format_number(t.max(), lang, 0),
            pre_low=pre_low,
            pre_high=pre_high,
            post_low=post_low,
            post_high=post_high,
            significant=_alt(
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


@_styled
def plot_kind_counts(counts: pd.Series, *, ax: Axes | None = None, lang: str = "fr") -> Axes:
    """Number of cooperation initiatives per kind, one bar per kind in its fixed colour.

    Args:
        counts: Counts indexed by kind (``ptce``, ``tzcld``…; see :data:`KIND_COLOURS`).
        ax: Axes to draw on.
        lang: ``"fr"`` or ``"en"``.
    """
    _check_lang(lang)
    unknown = [k for k in counts.index if str(k) not in KIND_COLOURS]
    if unknown:
        raise KeyError(
            f"plot_kind_counts: unknown kind(s) {unknown}; known: {', '.join(KIND_COLOURS)}."
        )
    order = [k for k in KIND_COLOURS if k in counts.index]
    values = counts.reindex(order).fillna(0).astype(float)
    ax = _new_axes(ax, (7.0, 0.9 + 0.5 * len(values)))
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
    set_alt_text(ax, _alt("kind_counts", lang, details=details))
    return ax


@_styled
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
    _check_lang(lang)
    _require_columns(frame, [value_column, group_column], "plot_distribution")
    axis_title = _value_label(indicator, value_label, lang, dictionary)
    short = _short_label(indicator, value_label, lang, dictionary)
    data = frame[[group_column, value_column]].dropna()
    if data.empty:
        raise ValueError("plot_distribution: no value to show.")
    groups = list(order) if order is not None else sorted(data[group_column].unique(), key=str)
    ax = _new_axes(ax)
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
            _alt(
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
        _alt(
            "distribution", lang, label=short, details=ALT_TEXT[lang]["sentence_sep"].join(details)
        ),
    )
    return ax


@_styled
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
    _check_lang(lang)
    _require_columns(balance, [covariate_column, before_column, after_column], "plot_balance")
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
    ax = _new_axes(ax, (7.0, 1.0 + 0.4 * len(balance)))
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
        _alt(
            "balance",
            lang,
            n=len(balance),
            before=int((np.abs(before) > threshold).sum()),
            after=int((np.abs(after) > threshold).sum()),
            threshold=format_number(threshold, lang, decimals_for([threshold])),
        ),
    )
    return ax


@_styled
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
    at random (``analysis.models.permutation_test``: ``Evidence.permutation_null``
    or ``permutation_null(result)``). The observed value is a solid line and
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
    _check_lang(lang)
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
    ax = _new_axes(ax)
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
        name = _lower_first(label(indicator, lang, dictionary=dictionary))
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
        _alt(
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
    from scipy import stats

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


@_styled
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
    _check_lang(lang)
    _require_columns(frame, [x, y], "plot_scatter_fit")
    data = frame[[x, y]].astype(float).dropna()
    if len(data) < 3:
        raise ValueError(f"plot_scatter_fit: need at least 3 complete rows, got {len(data)}.")
    grid = np.linspace(data[x].min(), data[x].max(), 101)
    band = least_squares_line(data[x], data[y], grid)
    ax = _new_axes(ax)
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
        _alt(
            "scatter_fit",
            lang,
            n=format_number(stats_["n"], lang, 0),
            y=_lower_first(y_label or label(y, lang, dictionary=dictionary)),
            x=_lower_first(x_label or label(x, lang, dictionary=dictionary)),
            slope=format_number(stats_["slope"], lang, decimals, sign=True),
            low=format_number(stats_["slope_low"], lang, decimals, sign=True),
            high=format_number(stats_["slope_high"], lang, decimals, sign=True),
            r=format_number(stats_["r"], lang, 2, sign=True),
        ),
    )
    return ax


# --- Saving ----------------------------------------------------------------------------


def default_figures_dir() -> Path:
    """``reports/figures``: where figures go unless told otherwise."""
    return paths.reports_dir() / "figures"


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


def _save(fig: Figure, target: Path, fmt: str, dpi: float, metadata: dict) -> None:
    write_atomically(target, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata))


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

    Returns:
        Paths by format: ``png``, ``svg``, ``pdf``, ``slide_png``, ``json``.

    Raises:
        ValueError: bad name, no source, or no alt text given nor recorded.
    """
    _check_lang(lang)
    _check_name(name)
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
        "png": out / f"{name}.png",
        "svg": out / f"{name}.svg",
        "pdf": out / f"{name}.pdf",
        "slide_png": out / f"{name}.slide.png",
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
        _save(
            fig,
            files["svg"],
            "svg",
            72,
            {**common, "Description": description, "Date": None, "Language": lang, "Source": line},
        )
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


# --- Reading saved figures, gallery, deck ------------------------------------------


@dataclass(frozen=True)
class FigureRecord:
    """A saved figure as described by its sidecar (file paths made absolute)."""

    name: str
    title: str | None
    caption: str | None
    alt_text: str
    sources: tuple[str, ...]
    source_line: str
    lang: str
    files: dict[str, Path] = field(compare=False)
    sidecar: Path = field(compare=False)

    @property
    def display_title(self) -> str:
        return self.title or self.name


_SIDECAR_KEYS = ("name", "alt_text", "sources", "source_line", "lang", "files")


def read_sidecar(path: Path | str) -> FigureRecord:
    """Read one ``<name>.json`` sidecar written by :func:`save_figure`.

    Raises:
        ValueError: naming the file and the missing key or the missing image file.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path}: not valid JSON ({error}); re-save the figure with save_figure()."
        ) from None
    if data.get("schema") != SIDECAR_SCHEMA:
        raise ValueError(
            f"{path}: not a figure sidecar "
            f"(schema {data.get('schema')!r}, expected {SIDECAR_SCHEMA!r})."
        )
    missing = [k for k in _SIDECAR_KEYS if k not in data]
    if missing:
        raise ValueError(
            f"{path}: sidecar lacks {', '.join(missing)}; re-save the figure with save_figure()."
        )
    files = {key: path.parent / value for key, value in data["files"].items()}
    absent = [str(p) for p in files.values() if not p.exists()]
    if absent:
        raise ValueError(
            f"{path}: files listed in the sidecar are missing: {', '.join(absent)}; "
            "re-save the figure."
        )
    return FigureRecord(
        name=data["name"],
        title=data.get("title"),
        caption=data.get("caption"),
        alt_text=data["alt_text"],
        sources=tuple(data["sources"]),
        source_line=data["source_line"],
        lang=data["lang"],
        files=files,
        sidecar=path,
    )


def find_figures(root: Path | str, *, recursive: bool = True) -> list[FigureRecord]:
    """Every figure saved under ``root`` (sidecars with the figure schema), in path order."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of figures.")
    pattern = "**/*.json" if recursive else "*.json"
    records = []
    for path in sorted(root.glob(pattern)):
        try:
            head = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(head, dict) and head.get("schema") == SIDECAR_SCHEMA:
            records.append(read_sidecar(path))
    return records


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


def gallery_html(records: Sequence[FigureRecord], page_dir: Path, *, lang: str = "fr") -> str:
    """The gallery page: each figure with caption, sources, alt text and links to each format."""
    _check_lang(lang)
    esc = html.escape
    labels_ = {
        "png": "PNG 300 dpi",
        "svg": "SVG",
        "pdf": "PDF",
        "slide_png": f"PNG 16:9 ({text('slide', lang)})",
    }
    colon = _colon(lang)
    items = []
    section = None
    for record in records:
        folder = record.sidecar.parent
        group = folder.parent if folder.name == "figures" else folder  # reports/<run>/figures
        if group != section:
            section = group
            items.append(f"<h2>{esc(group.name)}</h2>")
        anchor = re.sub(r"[^a-z0-9_.-]+", "--", f"{group.name}--{record.name}".lower())
        links = " · ".join(
            f'<a href="{esc(_relative(record.files[key], page_dir))}">{esc(labels_[key])}</a>'
            for key in FIGURE_FORMATS
            if key in record.files
        )
        caption = f"<p>{esc(record.caption)}</p>" if record.caption else ""
        image = esc(_relative(record.files["png"], page_dir))
        items.append(
            f'<figure id="{esc(anchor)}" lang="{esc(record.lang)}">\n'
            f'  <img src="{image}" alt="{esc(record.alt_text)}" loading="lazy">\n'
            f"  <figcaption>\n    <h3>{esc(record.display_title)}</h3>\n    {caption}\n"
            f'    <p class="sources">{esc(record.source_line)}</p>\n'
            f'    <p class="alt"><strong>{esc(text("description", lang))}</strong>{colon}'
            f"{esc(record.alt_text)}</p>\n"
            f'    <p class="formats"><strong>{esc(text("formats", lang))}</strong>{colon}'
            f"{links}</p>\n  </figcaption>\n</figure>"
        )
    title = esc(text("gallery_title", lang))
    style = (
        "body{font-family:'DejaVu Sans',sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem;color:#222}"
        "figure{margin:0 0 3rem;border-bottom:1px solid #ddd;padding-bottom:1.5rem}"
        "img{max-width:100%;height:auto}h2{margin-top:3rem}h3{font-size:1.2rem;margin:.6rem 0}"
        ".sources,.alt,.formats{font-size:.9rem;color:#444}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{style}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
        f"<p>{esc(text('gallery_intro', lang))}</p>\n" + "\n".join(items) + "\n</body>\n</html>\n"
    )


def write_gallery(
    figures_dir: Path | str | None = None,
    out_html: Path | str | None = None,
    *,
    lang: str = "fr",
    recursive: bool = True,
) -> Path:
    """Write the HTML gallery of every figure saved under ``figures_dir``.

    Args:
        figures_dir: Folder searched (recursively) for figure sidecars; default
            ``reports/`` (every run's figures and ``reports/figures``).
        out_html: The page; default ``reports/figures/index.html`` when
            ``figures_dir`` is the default, else ``<figures_dir>/index.html``.
        lang: Language of the page's own words.
        recursive: Search sub-folders.

    Returns:
        The page written (links to the figures are relative to it).
    """
    if figures_dir is None:
        figures_dir = paths.reports_dir()
        out_html = out_html if out_html is not None else default_figures_dir() / "index.html"
    figures_dir = Path(figures_dir)
    out_html = Path(out_html) if out_html is not None else figures_dir / "index.html"
    records = find_figures(figures_dir, recursive=recursive)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    page = gallery_html(records, out_html.parent.resolve(), lang=lang)
    write_atomically(out_html, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return out_html


def build_deck(
    records: Sequence[FigureRecord],
    out_path: Path | str,
    *,
    title: str | None = None,
    subtitle: str | None = None,
) -> Path:
    """Write a 16:9 PowerPoint deck: one slide per figure, title, alt text and sources in the notes.

    Args:
        records: Figures to show, in order (see :func:`find_figures`).
        out_path: The ``.pptx`` to write.
        title: When given, a cover slide with this title comes first.
        subtitle: Subtitle of the cover slide.

    Raises:
        ValueError: when there is no figure to show.
    """
    from pptx import Presentation
    from pptx.util import Emu, Inches, Pt

    if not records:
        raise ValueError(
            "no figure to put in the deck: save figures with save_figure() or run `ptce report`."
        )
    out_path = Path(out_path)
    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(SLIDE_SIZE_INCHES[0]), Inches(SLIDE_SIZE_INCHES[1])
    margin, title_height = Inches(0.4), Inches(0.95)
    if title:
        cover = deck.slides.add_slide(deck.slide_layouts[0])  # "Title Slide"
        heading, body = cover.shapes.title, cover.placeholders[1]
        # the default template is 4:3: place both boxes on the 16:9 slide explicitly
        for shape, top, height in ((heading, 2.0, 1.6), (body, 3.8, 1.2)):
            shape.left, shape.width = margin, deck.slide_width - 2 * margin
            shape.top, shape.height = Inches(top), Inches(height)
        heading.text = title
        body.text = subtitle or ""
    for record in records:
        slide = deck.slides.add_slide(deck.slide_layouts[5])  # "Title Only"
        heading = slide.shapes.title
        heading.left, heading.top = margin, Inches(0.2)
        heading.width, heading.height = deck.slide_width - 2 * margin, title_height
        heading.text = record.display_title
        for paragraph in heading.text_frame.paragraphs:
            for run in paragraph.runs:
                run.font.size = Pt(28)
        box_top = Inches(0.2) + title_height
        box_width = deck.slide_width - 2 * margin
        box_height = deck.slide_height - box_top - Inches(0.15)
        image = record.files.get("slide_png") or record.files["png"]
        from PIL import Image

        with Image.open(image) as img:
            ratio = img.width / img.height
        width = min(box_width, int(box_height * ratio))
        height = int(width / ratio)
        left = int((deck.slide_width - width) / 2)
        picture = slide.shapes.add_picture(
            str(image), Emu(left), Emu(box_top), Emu(width), Emu(height)
        )
        properties = picture._element.nvPicPr.cNvPr  # python-pptx has no public alt-text setter
        properties.set("descr", record.alt_text)
        properties.set("title", record.display_title)
        notes = [record.source_line, ""]
        if record.caption:
            notes += [record.caption, ""]
        notes.append(f"{text('description', record.lang)}{_colon(record.lang)}{record.alt_text}")
        slide.notes_slide.notes_text_frame.text = "\n".join(notes)
    write_atomically(out_path, lambda tmp: deck.save(str(tmp)))
    return out_path
