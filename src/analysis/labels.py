"""Every French and English word of the study: labels, units, number/date formats, sentences.

French and English are one logic with two vocabularies: each table below maps a
language to its words or to ``str.format`` templates with named fields, and the
code that fills them is the same for both. The indicator dictionary (labels,
units, definitions, sources, aggregation rules) and the labels of derived
measures live in ``indicator_dictionary.toml`` next to this module, read once
at import into :data:`INDICATORS`, :data:`OUTCOMES` and :data:`MEASURES`.

The ground floor of the package: it imports only ``analysis.keys`` and reads
its own data file, so every other module can take its words from here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.keys import LANGS, LEVELS, NATIONAL_NAMES

NBSP = "\u00a0"
"""No-break space: before ``%``, ``:`` and ``;`` in French."""
NNBSP = "\u202f"
"""Narrow no-break space: the French thousands separator."""
MINUS = "\u2212"
"""The minus sign (matplotlib's axes use it too, so labels and ticks agree)."""

DICTIONARY_FILE = Path(__file__).with_name("indicator_dictionary.toml")
"""The indicator dictionary and the labels of derived measures (named keys, see its header)."""

AGGREGATIONS = ("sum", "population_weighted_mean", "recompute", "not_aggregable")
"""How an indicator is computed at a higher level from communes (the ``aggregation`` key)."""

DIRECTIONS = ("higher_is_better", "lower_is_better")
"""Values of an outcome's ``direction`` key."""


def check_lang(lang: str) -> str:
    """``lang`` itself when it is one of :data:`analysis.keys.LANGS`, else a ValueError."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}.")
    return lang


# --- The indicator dictionary (data file) ---------------------------------------------


def _read_dictionary(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML ({error}); fix the file.") from None


def _indicator_table(data: dict[str, Any], path: Path) -> pd.DataFrame:
    """The ``[indicators.*]`` entries as a table indexed by indicator (checked, notes appended)."""
    units, notes = data.get("units", {}), data.get("notes", {})
    rows = []
    for name, entry in data.get("indicators", {}).items():
        required = ("label_fr", "label_en", "unit", "definition_fr", "definition_en")
        missing = [key for key in (*required, "sources", "aggregation") if key not in entry]
        if missing:
            raise ValueError(
                f"{path}: [indicators.{name}] lacks {', '.join(missing)}; add them "
                "(see the file's header for the keys)."
            )
        if entry["unit"] not in units:
            raise ValueError(
                f"{path}: [indicators.{name}] has unit {entry['unit']!r}, which is not a "
                f"[units] key ({', '.join(units)}); add it under [units] or fix the unit."
            )
        if entry["aggregation"] not in AGGREGATIONS:
            raise ValueError(
                f"{path}: [indicators.{name}] has aggregation {entry['aggregation']!r}; "
                f"use one of {', '.join(AGGREGATIONS)}."
            )
        note = notes.get(entry["note"]) if "note" in entry else {"fr": "", "en": ""}
        if note is None:
            raise ValueError(
                f"{path}: [indicators.{name}] names note {entry['note']!r}, which is not a "
                f"[notes] key ({', '.join(notes)})."
            )
        row = {key: entry[key] for key in required}
        for lang in LANGS:
            row[f"unit_label_{lang}"] = units[entry["unit"]][f"label_{lang}"]
            if note[lang]:
                row[f"definition_{lang}"] += " " + note[lang]
        row["source_ids"] = tuple(entry["sources"])
        row["aggregation"] = entry["aggregation"]
        rows.append(pd.Series(row, name=name))
    columns = [
        "label_fr",
        "label_en",
        "unit",
        "unit_label_fr",
        "unit_label_en",
        "definition_fr",
        "definition_en",
        "source_ids",
        "aggregation",
    ]
    table = pd.DataFrame(rows, columns=columns)
    table.index.name = "indicator"
    return table


def _outcome_table(data: dict[str, Any], path: Path) -> pd.DataFrame:
    rows = {}
    for name, entry in data.get("outcomes", {}).items():
        direction = entry.get("direction")
        if direction is not None and direction not in DIRECTIONS:
            raise ValueError(
                f"{path}: [outcomes.{name}] has direction {direction!r}; use one of "
                f"{', '.join(DIRECTIONS)} or leave it out."
            )
        rows[name] = {
            "phrase_fr": entry["phrase_fr"],
            "phrase_en": entry["phrase_en"],
            "direction": direction,
        }
    table = pd.DataFrame.from_dict(
        rows, orient="index", columns=["phrase_fr", "phrase_en", "direction"]
    )
    table.index.name = "measure"
    return table


def _measure_table(data: dict[str, Any]) -> pd.DataFrame:
    columns = ["label_fr", "label_en", "unit", "unit_label_fr", "unit_label_en"]
    table = pd.DataFrame.from_dict(data.get("measures", {}), orient="index", columns=columns)
    table.index.name = "measure"
    return table.fillna("")


def read_indicator_dictionary(path: Path = DICTIONARY_FILE) -> pd.DataFrame:
    """The ``[indicators.*]`` table of a dictionary file, checked (see :data:`INDICATORS`).

    Raises:
        ValueError: naming the file, the entry and the fix (missing key, unknown unit,
            note or aggregation rule, invalid TOML).
    """
    return _indicator_table(_read_dictionary(path), path)


_DATA = _read_dictionary(DICTIONARY_FILE)

UNITS: dict[str, dict[str, str]] = {
    unit: {lang: entry[f"label_{lang}"] for lang in LANGS}
    for unit, entry in _DATA.get("units", {}).items()
}
"""Label of each unit, per language (``UNITS["pct"]["fr"] == "%"``)."""

INDICATORS: pd.DataFrame = _indicator_table(_DATA, DICTIONARY_FILE)
"""The indicator dictionary, indexed by ``indicator``: labels (FR/EN), unit and its labels,
definitions (FR/EN), ``source_ids`` (tuple of catalogue ids) and the ``aggregation`` rule
(``sum`` | ``population_weighted_mean`` | ``recompute`` | ``not_aggregable``)."""

OUTCOMES: pd.DataFrame = _outcome_table(_DATA, DICTIONARY_FILE)
"""Resilience indices compared by ``analysis.models``: ``phrase_fr``/``phrase_en`` (the
label inside a sentence, with its article) and ``direction`` (or None)."""

MEASURES: pd.DataFrame = _measure_table(_DATA)
"""Labels of derived measures that are neither indicators nor model outcomes (model
covariates, a few resilience and cooperation columns)."""

OUTCOME_LABELS: dict[str, dict[str, str]] = {
    name: {lang: OUTCOMES.at[name, f"phrase_{lang}"] for lang in LANGS} for name in OUTCOMES.index
}
"""Sentence-form labels of the outcomes, ``OUTCOME_LABELS[measure][lang]``."""

OUTCOME_HIGHER_IS_BETTER: dict[str, bool] = {
    name: direction == "higher_is_better"
    for name, direction in OUTCOMES["direction"].items()
    if isinstance(direction, str)
}
"""Whether a larger outcome means a more resilient territory (used in sentences)."""

# --- Words a figure needs, in both languages (metadata, not plotting code) ---

TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "source": "Source",
        "sources": "Sources",
        "processing": "traitement",
        "project": "projet PTCE-résilience",
        "indicator_dictionary": "Indicateurs",
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
        "dose_bins": "Moyenne par classe de dose (taille : nombre de territoires)",
        "dose_fitted": "Droite ajustée (pente {slope}, contrôles retirés)",
        "sc_observed": "Territoire traité",
        "sc_synthetic": "Contrôle synthétique",
        "sc_placebos": "Placebos (territoires donneurs)",
        "sc_label_date": "Label ({period})",
        "sc_gap_axis": "Écart au contrôle synthétique",
        "density": "{kind} pour 100\u202f000 habitants",
        "density_all": "Initiatives de tous types pour 100\u202f000 habitants",
        "unit_pp": "point(s)",
        "unit_pct": "point(s) de pourcentage",
    },
    "en": {
        "source": "Source",
        "sources": "Sources",
        "processing": "processing",
        "project": "PTCE-resilience project",
        "indicator_dictionary": "Indicators",
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
        "dose_bins": "Mean per dose bin (size: number of territories)",
        "dose_fitted": "Fitted line (slope {slope}, controls partialled out)",
        "sc_observed": "Treated territory",
        "sc_synthetic": "Synthetic control",
        "sc_placebos": "Placebos (donor territories)",
        "sc_label_date": "Label ({period})",
        "sc_gap_axis": "Gap to the synthetic control",
        "density": "{kind} per 100,000 inhabitants",
        "density_all": "Initiatives of every kind per 100,000 inhabitants",
        "unit_pp": "point(s)",
        "unit_pct": "percentage point(s)",
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
        "groupement_employeurs": "Groupement d'employeurs",
        "other": "Autres",
        "none": "Aucune",
    },
    "en": {
        "ptce": "PTCE",
        "tzcld": "TZCLD",
        "tiers_lieu": "Third places",
        "fabrique_territoire": "Fabriques de territoire",
        "manufacture_proximite": "Local manufactures",
        "scic": "SCIC (cooperative society of collective interest)",
        "scop": "SCOP (worker cooperative)",
        "groupement_employeurs": "Employer group",
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
        "diverging_map": "Carte de {n} territoires, {label} : de {low} ({low_name}) à {high} "
        "({high_name}) ; couleur centrée sur {centre}.",
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
        "binned_scatter": "Nuage par classes de {n} territoires : {y} selon {x}, contrôles "
        "retirés ; pente de la droite ajustée {slope}.",
        "synthetic_paths": "{unit} : série observée et contrôle synthétique de {first} à {last}, "
        "label en {period} ; écart moyen après le label {gap}.",
        "synthetic_gaps": "{unit} : écart au contrôle synthétique (en couleur) et écarts de {n} "
        "placebos (en gris), label en {period}.",
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
        "diverging_map": "Map of {n} territories, {label}: from {low} ({low_name}) to {high} "
        "({high_name}); colours centred on {centre}.",
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
        "binned_scatter": "Binned scatter of {n} territories: {y} against {x}, controls "
        "partialled out; slope of the fitted line {slope}.",
        "synthetic_paths": "{unit}: observed series and synthetic control from {first} to "
        "{last}, label in {period}; mean gap after the label {gap}.",
        "synthetic_gaps": "{unit}: gap to the synthetic control (in colour) and gaps of {n} "
        "placebos (in grey), label in {period}.",
    },
}

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
        "primary": "Spécification principale (MCO, contrôles d'avant-choc, effets fixes"
        " région, erreurs par grappes)",
        "raw_difference": "écart brut (non ajusté)",
        "adjusted_permutation": "Test de permutation (effet ajusté, au sein des régions)",
        "spatial_error_gm_het": "Modèle à erreurs spatiales (8 plus proches voisins)",
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
        "primary": "Primary specification (OLS, pre-shock controls, région fixed effects,"
        " clustered errors)",
        "raw_difference": "raw gap (unadjusted)",
        "adjusted_permutation": "Permutation test (adjusted effect, within régions)",
        "spatial_error_gm_het": "Spatial error model (8 nearest neighbours)",
        "reg_code": "région",
        "dep_code": "département",
        "epci_code": "EPCI",
        "ze2020_code": "employment zone",
    },
}
"""Words of :func:`specification_label` (the specification codes of ``analysis.models``)."""

PROJECT_CITATIONS: dict[str, dict[str, str]] = {
    # Same id as ``analysis.registry.REGISTRY_SOURCE_ID``: the ``source_id`` of registry rows.
    "registry": {
        "fr": "registre des coopérations du projet PTCE-résilience",
        "en": "PTCE-resilience registry of cooperation initiatives",
    },
}
"""Citations of the project's own inputs that are not raw files in the catalogue."""


# --- Words of the report notebooks ---------------------------------------------------

SUMMARIES: dict[str, dict[str, str]] = {
    "fr": {
        "overview": "{n} initiatives ; {unlocated} non localisées à la maille {level} ; "
        "{unmatched} lignes de comptage hors découpage ; contexte : {indicator} en {period}.",
        "resilience": "{n} territoires ; fenêtre : pic {peak}, creux {trough}, fin de reprise "
        "{recovery_end} ({source}) ; {unmatched} territoires des indices hors découpage.",
        "cooperation": "{n} territoires, dont {treated} traités ; contrôles absents : {missing}.",
        "profile": "{name} ({level} {code}) : {population} habitants ; {n} initiatives ; "
        "références : {references}.",
        "registry": "{rows} lignes dans le registre, {problems} problème(s) ; {n} initiatives "
        "avec les listes publiques.",
        "none": "aucun",
    },
    "en": {
        "overview": "{n} initiatives; {unlocated} not located at level {level}; {unmatched} "
        "count rows outside the territories; context: {indicator} in {period}.",
        "resilience": "{n} territories; window: peak {peak}, trough {trough}, end of recovery "
        "{recovery_end} ({source}); {unmatched} territories of the indices outside the map.",
        "cooperation": "{n} territories, {treated} treated; missing controls: {missing}.",
        "profile": "{name} ({level} {code}): {population} inhabitants; {n} initiatives; "
        "references: {references}.",
        "registry": "{rows} rows in the registry, {problems} problem(s); {n} initiatives with "
        "the public lists.",
        "none": "none",
    },
}
"""The one-line summaries the notebooks print (:func:`summary`)."""

# --- Sentences of analysis.models (the numbers that choose a template stay there) -----

TREATMENT_LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "is_ptce_territory": "Les territoires avec un PTCE",
        "is_ptce_before_shock": "Les territoires avec un PTCE créé avant le choc",
        "is_tzcld_territory": "Les territoires avec un projet Territoire zéro chômeur",
        "ess_share_salaried_jobs_pct": "Un point de plus de part de l'ESS dans l'emploi "
        "salarié (2008)",
    },
    "en": {
        "is_ptce_territory": "Territories with a PTCE",
        "is_ptce_before_shock": "Territories with a PTCE founded before the shock",
        "is_tzcld_territory": "Territories with a zero long-term unemployment project",
        "ess_share_salaried_jobs_pct": "One more point of ESS share in salaried jobs (2008)",
    },
}
"""The subject of a result sentence, per treatment (others use ``subject_*`` templates)."""

SENTENCES: dict[str, dict[str, str]] = {
    "fr": {
        # summary_sentence
        "subject_binary": "Les territoires « {treatment} »",
        "subject_continuous": "Une unité de plus de {treatment}",
        "head_continuous": "{subject} est associé à une variation de {effect} de {outcome}",
        "head_equal": "{subject} ont en moyenne, pour {outcome}, la même valeur que les "
        "territoires comparés",
        "head_higher": "{subject} ont en moyenne, pour {outcome}, une valeur plus élevée de "
        "{size} que les territoires comparés",
        "head_lower": "{subject} ont en moyenne, pour {outcome}, une valeur plus basse de "
        "{size} que les territoires comparés",
        "better": " (soit une meilleure résilience)",
        "worse": " (soit une moins bonne résilience)",
        "uncertainty_ci": "IC à {confidence} % : {low} à {high}",
        "uncertainty_permutation": "{p} (test de permutation)",
        "counts": "N = {n}",
        "counts_treated": "N = {n}, dont {treated} traités",
        "ci_excludes_zero": "l'intervalle de confiance exclut zéro.",
        "ci_includes_zero": "l'intervalle de confiance inclut zéro : les données ne permettent "
        "pas de conclure à une différence.",
        "permutation_rare": "l'écart observé est rarement atteint en répartissant le traitement "
        "au hasard.",
        "permutation_common": "un tel écart est fréquent en répartissant le traitement au "
        "hasard : pas de différence établie.",
        "result": "{head} ({uncertainty} ; {counts} ; {specification}) ; {verdict}",
        # p-values
        "p_missing": "p n.d.",
        "p_below": "p < {bound}",
        "p_equal": "p = {value}",
        # spatial_sentence
        "spatial_left_out": ", {dropped} territoire(s) d'outre-mer ou sans voisin terrestre "
        "écarté(s)",
        "spatial_head": "I de Moran des résidus de la régression : {value} ({p}, {permutations} "
        "permutations ; N = {n}{left_out})",
        "spatial_correlated": "les résidus sont spatialement corrélés : des territoires voisins "
        "ne sont pas indépendants ; les intervalles principaux sont regroupés par région, et la "
        "ligne du modèle à erreurs spatiales en est la vérification.",
        "spatial_correlated_no_model": "les résidus sont spatialement corrélés : des "
        "territoires voisins ne sont pas indépendants ; aucun modèle à erreurs spatiales n'est "
        "estimé dans ce rapport, ses intervalles peuvent donc être trop étroits.",
        "spatial_quiet": "pas d'autocorrélation spatiale établie des résidus.",
        "spatial": "{head} ; {tail}",
        # robustness_verdict
        "verdict_robust": "Écart robuste : même signe et intervalle excluant zéro dans les "
        "{n_spec} spécifications (une association, pas la preuve d'un effet causal).",
        "verdict_null": "Aucune des {n_spec} spécifications ne met en évidence de "
        "différence{problems}.",
        "verdict_contradictory": "Résultats contradictoires : des spécifications significatives "
        "de signes opposés{problems}.",
        "verdict_fragile": "Écart fragile : {n_significant} spécification(s) sur {n_spec} "
        "excluent zéro{problems}.",
        "problem_moreover": " ; de plus, {problem}",
        "problem_and": ", et {problem}",
        "problem_balance": "l'équilibre après appariement est insuffisant",
        "problem_pretrend": "des écarts existent déjà avant le choc (tendances préalables "
        "différentes)",
        "dose_response": "Dans les {n} territoires étudiés (dont {n_treated} avec une dose non "
        "nulle), une hausse d'une unité de « {dose} » va de pair avec une variation de "
        "{estimate}{unit} de {outcome}, à caractéristiques d'avant-choc et région égales "
        "(IC à 95{nbsp}% : [{low} ; {high}] ; {p} par {p_method}, {n_clusters} grappes). "
        "{verdict} Pente minimale détectable (puissance 80{nbsp}%, seuil 5{nbsp}%) : {mde} ; "
        "les données excluent une pente supérieure à {bound} en valeur absolue.",
        "dose_verdict_excludes": "L'intervalle exclut zéro : la pente se distingue de zéro ; "
        "c'est une association, pas un effet causal.",
        "dose_verdict_includes": "L'intervalle contient zéro : les données ne distinguent pas "
        "cette pente de zéro.",
        "dose_verdict_borderline": "L'intervalle contient zéro alors que la p-valeur est sous "
        "5{nbsp}% (le test et l'intervalle du bootstrap ne coïncident pas exactement) : une pente "
        "à la limite, que les données ne permettent pas d'établir.",
        # staggered.overall_sentence
        "staggered": "Selon {name}, après leur premier label {treatment}, {outcome} des "
        "{n_treated} territoires concernés a évolué de {att} {unit} par rapport aux territoires "
        "témoins (IC à 95 % : [{low} ; {high}], qui {verdict} zéro) ; {pretrend} (p = {p}).",
        "staggered_excludes": "exclut",
        "staggered_includes": "contient",
        "staggered_pretrend_rejects": "le test conjoint des écarts avant le label rejette des "
        "tendances parallèles",
        "staggered_pretrend_holds": "le test conjoint des écarts avant le label ne rejette pas "
        "des tendances parallèles",
        "estimator_callaway_santanna": "l'estimateur de Callaway et Sant'Anna",
        "estimator_did2s": "l'estimateur en deux étapes de Gardner",
        "estimator_twfe": "la régression à effets fixes naïve (biaisée)",
        "synthetic_control": "{name} : après le label ({period}), {outcome} s'écarte en moyenne "
        "de {gap}{unit} de son contrôle synthétique ({n_donors} territoires donneurs) ; le "
        "rapport des écarts après/avant le label se classe {rank}e sur {n_units} (p = {p}). "
        "{verdict}",
        "synthetic_verdict_stands_out": "Peu de placebos s'écartent autant : l'écart se "
        "distingue du bruit des donneurs.",
        "synthetic_verdict_noise": "Beaucoup de placebos s'écartent autant : l'écart ne se "
        "distingue pas de zéro.",
        "synthetic_overall": "Sur les {n_treated} territoires traités, l'écart moyen après le "
        "label va de {low} à {high}{unit} (moyenne {mean}) ; {n_significant} sur {n_treated} "
        "ont un rapport d'écarts que moins de {alpha_pct}{nbsp}% des placebos atteignent.",
    },
    "en": {
        "subject_binary": "Territories '{treatment}'",
        "subject_continuous": "One more unit of {treatment}",
        "head_continuous": "{subject} is associated with a change of {effect} in {outcome}",
        "head_equal": "{subject} have on average the same {outcome} as the comparison territories",
        "head_higher": "{subject} have on average {outcome} {size} higher than the comparison "
        "territories",
        "head_lower": "{subject} have on average {outcome} {size} lower than the comparison "
        "territories",
        "better": " (i.e. better resilience)",
        "worse": " (i.e. worse resilience)",
        "uncertainty_ci": "{confidence}% CI: {low} to {high}",
        "uncertainty_permutation": "{p} (permutation test)",
        "counts": "N = {n}",
        "counts_treated": "N = {n}, of which {treated} treated",
        "ci_excludes_zero": "the confidence interval excludes zero.",
        "ci_includes_zero": "the confidence interval includes zero: the data do not establish "
        "a difference.",
        "permutation_rare": "the observed gap is rarely reached when the treatment is "
        "relocated at random.",
        "permutation_common": "such a gap is common when the treatment is relocated at random: "
        "no established difference.",
        "result": "{head} ({uncertainty}; {counts}; {specification}); {verdict}",
        "p_missing": "p n/a",
        "p_below": "p < {bound}",
        "p_equal": "p = {value}",
        "spatial_left_out": ", {dropped} overseas territory(ies) or without a land neighbour "
        "left out",
        "spatial_head": "Moran's I of the regression residuals: {value} ({p}, {permutations} "
        "permutations; N = {n}{left_out})",
        "spatial_correlated": "the residuals are spatially correlated: neighbouring territories "
        "are not independent; the primary intervals are clustered by région, and the spatial "
        "error model row is the check.",
        "spatial_correlated_no_model": "the residuals are spatially correlated: neighbouring "
        "territories are not independent; no spatial error model is estimated in this report, "
        "so its intervals may be too narrow.",
        "spatial_quiet": "no established spatial autocorrelation of the residuals.",
        "spatial": "{head}; {tail}",
        "verdict_robust": "Robust difference: same sign and interval excluding zero in all "
        "{n_spec} specifications (an association, not proof of a causal effect).",
        "verdict_null": "None of the {n_spec} specifications shows a difference{problems}.",
        "verdict_contradictory": "Contradictory results: significant specifications of "
        "opposite signs{problems}.",
        "verdict_fragile": "Fragile difference: {n_significant} of {n_spec} specifications "
        "exclude zero{problems}.",
        "problem_moreover": "; moreover, {problem}",
        "problem_and": ", and {problem}",
        "problem_balance": "balance after matching is poor",
        "problem_pretrend": "gaps already exist before the shock",
        "dose_response": "Across the {n} territories studied ({n_treated} with a non-zero "
        "dose), a one-unit increase in '{dose}' goes with a change of {estimate}{unit} in "
        "{outcome}, pre-shock characteristics and région held equal (95% CI [{low}, {high}]; "
        "{p} by {p_method}, {n_clusters} clusters). {verdict} Minimum detectable slope (80% "
        "power, 5% level): {mde}; the data exclude a slope larger than {bound} in absolute "
        "value.",
        "dose_verdict_excludes": "The interval excludes zero: the slope is distinguishable from "
        "zero; this is an association, not a causal effect.",
        "dose_verdict_includes": "The interval includes zero: the data cannot tell this slope "
        "from zero.",
        "dose_verdict_borderline": "The interval includes zero while the p-value is below 5% "
        "(the bootstrap's test and interval do not coincide exactly): a borderline slope the "
        "data do not establish.",
        # staggered.overall_sentence
        "staggered": "According to {name}, after their first {treatment} label, {outcome} in "
        "the {n_treated} territories concerned changed by {att} {unit} relative to the "
        "comparison territories (95% CI [{low}, {high}], which {verdict} zero); {pretrend} "
        "(p = {p}).",
        "staggered_excludes": "excludes",
        "staggered_includes": "includes",
        "staggered_pretrend_rejects": "the joint test of pre-label gaps rejects parallel trends",
        "staggered_pretrend_holds": "the joint test of pre-label gaps does not reject parallel "
        "trends",
        "estimator_callaway_santanna": "the Callaway and Sant'Anna estimator",
        "estimator_did2s": "Gardner's two-stage estimator",
        "estimator_twfe": "the naive two-way fixed-effects regression (biased)",
        "synthetic_control": "{name}: after the label ({period}), {outcome} is on average "
        "{gap}{unit} away from its synthetic control ({n_donors} donor territories); the "
        "post/pre gap ratio ranks {rank} of {n_units} (p = {p}). {verdict}",
        "synthetic_verdict_stands_out": "Few placebos move that far: the gap stands out from "
        "the donors' noise.",
        "synthetic_verdict_noise": "Many placebos move that far: the gap is not distinguishable "
        "from zero.",
        "synthetic_overall": "Across the {n_treated} treated territories, the mean post-label "
        "gap ranges from {low} to {high}{unit} (mean {mean}); {n_significant} of {n_treated} "
        "have a gap ratio that fewer than {alpha_pct}% of the placebos reach.",
    },
}
"""Templates of the sentences ``analysis.models`` builds from numbers (:func:`sentence`)."""

CAUTIONS: dict[str, dict[str, str]] = {
    "fr": {
        "binary": "Prudence : les territoires coopératifs ne sont pas choisis au hasard "
        "(les PTCE naissent là où l'ESS est déjà dense, et après 2013), "
        "cette association n'est pas un effet causal.",
        "binary_tzcld": "Prudence : les territoires zéro chômeur ne sont pas choisis au hasard "
        "(ils sont candidats, là où le chômage de longue durée et la mobilisation locale sont "
        "forts), cette association n'est pas un effet causal.",
        "continuous": "Prudence : la part de l'ESS va de pair avec d'autres caractéristiques "
        "des territoires ; cette association n'est pas un effet causal.",
    },
    "en": {
        "binary": "Caution: cooperating territories are not chosen at random (PTCE arise where "
        "the social economy is already dense, and after 2013), so this association is not "
        "a causal effect.",
        "binary_tzcld": "Caution: zero-long-term-unemployment territories are not chosen at "
        "random (they apply, where long-term unemployment and local mobilisation are high), so "
        "this association is not a causal effect.",
        "continuous": "Caution: the ESS share goes with other characteristics of the "
        "territories; this association is not a causal effect.",
    },
}
"""The selection caveat closing every result sentence, per kind of treatment."""

TIMING_NOTES: dict[str, dict[str, str]] = {
    "fr": {
        "before_ptce": "Aucun PTCE n'était encore reconnu lors de ce choc (premiers PTCE "
        "reconnus en 2014, après l'appel national de 2013, même si quelques pôles existaient "
        "déjà) : les territoires « avec un PTCE » sont ceux qui en accueilleront un plus tard.",
        "before_tzcld": "Aucun territoire zéro chômeur n'était habilité lors de ce choc "
        "(premiers en 2016) : le groupe est celui des territoires qui le seront plus tard.",
        "includes_later_tzcld": "Ce groupe compte aussi les territoires habilités après le choc "
        "(deuxième phase, à partir de fin 2021).",
        "includes_later": "Ce groupe compte aussi des PTCE créés après le choc "
        "(la variante « PTCE créé avant le choc » ne garde que les plus anciens).",
    },
    "en": {
        "before_ptce": "No PTCE was recognised yet at the time of this shock (first PTCE "
        "recognised in 2014, after the 2013 national call, though a few clusters already "
        "existed): territories 'with a PTCE' are those that will host one later.",
        "before_tzcld": "No zero-long-term-unemployment territory was authorised at the time "
        "of this shock (first ones in 2016): the group is the territories that will be later.",
        "includes_later_tzcld": "This group also counts territories authorised after the shock "
        "(second phase, from late 2021).",
        "includes_later": "This group also counts PTCE founded after the shock "
        "(the variant 'PTCE founded before the shock' keeps only the older ones).",
    },
}
"""What a treatment means in time for a shock (``analysis.models.timing_note``)."""

REFERENCE_HEADERS: dict[str, dict[str, str]] = {
    "fr": {"label": "Indicateur", "period": "Période", "france": "France", "note": "Remarque"},
    "en": {"label": "Indicator", "period": "Period", "france": "France", "note": "Note"},
}
"""Column headers of ``analysis.report_content.display_references``."""

PROFILE_NOTES: dict[str, dict[str, str]] = {
    "fr": {
        "not_at_level": "pas de valeur à la maille {level}",
        "common_period": "dernière période commune aux trois (territoire seul : {latest})",
        "no_reference": "pas de valeur publiée pour la région ou la France à cette période",
        "measured_on_zone": "mesurée sur la zone d'emploi {name} ({code})",
        "zone": "Zone d'emploi {name}",
    },
    "en": {
        "not_at_level": "no value at level {level}",
        "common_period": "latest period common to the three (territory alone: {latest})",
        "no_reference": "no value published for the région or France at this period",
        "measured_on_zone": "measured on the zone d'emploi {name} ({code})",
        "zone": "Zone d'emploi {name}",
    },
}
"""Remarks written in the profile tables of ``analysis.report_content``."""

MONTHS: dict[str, tuple[str, ...]] = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip
"""Month names of :func:`format_date`."""

FIRST_OF_MONTH: dict[str, str] = {"fr": "1er", "en": "1"}
"""How the first day of a month is written in a date."""

# --- Sentences of the comparison evidence (analysis.models.headline_sentence, verdict) ----

EVIDENCE_SENTENCES: dict[str, dict[str, str]] = {
    "fr": {
        "headline": "{subject} ont en moyenne, pour {outcome_label}, une valeur {direction} de"
        " {size} que des territoires comparables (même région, mêmes caractéristiques"
        " d'avant-choc){better} (IC à {confidence} % : {low} à {high} ; {p} par {p_method} ;"
        " N = {n}, dont {n_treated} traités, {n_clusters} grappes ; spécification principale) ;"
        " {ci_verdict} {pretrend} Effet minimal détectable (puissance 80 %, seuil 5 %) : {mde} ;"
        " les données excluent un effet supérieur à {bound} en valeur absolue.{spatial}"
        " {timing} {caution}",
        "higher": "plus élevée",
        "lower": "plus basse",
        "equal": "identique (écart",
        "better": " (soit une meilleure résilience)",
        "worse": " (soit une moins bonne résilience)",
        "excludes": "l'intervalle de confiance exclut zéro.",
        "includes": "l'intervalle de confiance inclut zéro : les données ne permettent pas de"
        " conclure à une différence.",
        "includes_borderline": "l'intervalle de confiance inclut zéro alors que la p-valeur"
        " est sous 5{nbsp}% (le test et l'intervalle du bootstrap ne coïncident pas exactement) :"
        " un résultat à la limite, que les données ne permettent pas d'établir.",
        "pretrend_none": "Pas de tendance préalable détectée (test joint des {k} coefficients"
        " d'avant-choc, {p}).",
        "pretrend_detected": "Tendance préalable détectée (test joint des {k} coefficients"
        " d'avant-choc, {p}) : les écarts précèdent le choc, le résultat ne peut pas être dit"
        " robuste.",
        "pretrend_untested": "Tendances préalables non testées.",
        "spatial_robust": " Les résidus sont spatialement corrélés (I de Moran, {p}), mais"
        " l'intervalle du modèle à erreurs spatiales exclut aussi zéro.",
        "spatial_fragile": " Les résidus sont spatialement corrélés (I de Moran, {p}) et"
        " l'intervalle du modèle à erreurs spatiales ne confirme pas : le résultat n'est pas"
        " robuste à cette dépendance.",
        "p_method_wild": "bootstrap sauvage par grappes (Webb)",
        "p_method_cluster": "test t robuste par grappes",
        "unit_point": "point",
        "unit_period": "période",
        "plural": "s",
        "verdict_robust": "Écart robuste : l'effet ajusté exclut zéro (spécification principale,"
        " test de permutation{spatial}) et l'appariement va dans le même sens ; c'est une"
        " association, pas la preuve d'un effet causal.",
        "verdict_null": "Pas de différence établie : ni l'effet ajusté ni l'appariement"
        " n'excluent zéro (l'écart brut, descriptif, ne compte pas){reasons}.",
        "verdict_contradictory": "Résultats contradictoires : l'effet ajusté et l'appariement"
        " excluent zéro avec des signes opposés{reasons}.",
        "verdict_fragile": "Écart fragile{reasons}.",
        "reasons_list": " ; {reasons}",
        "reasons_fragile": " : {reasons}",
        "reason_primary_includes_zero": "l'intervalle de la spécification principale inclut zéro",
        "reason_permutation_not_significant": "le test de permutation ne rejette pas l'absence"
        " d'effet ({p})",
        "reason_spatial_interval_includes_zero": "les résidus sont spatialement corrélés (I de"
        " Moran, {moran}) et l'intervalle du modèle à erreurs spatiales inclut zéro",
        "reason_spatial_untested_interval_includes_zero": "l'I de Moran des résidus n'a pas"
        " été calculé et l'intervalle du modèle à erreurs spatiales inclut zéro",
        "reason_spatial_check_missing": "les résidus sont spatialement corrélés (I de Moran,"
        " {moran}) et aucun intervalle robuste à cette dépendance n'a été calculé",
        "reason_matching_disagrees": "l'appariement n'exclut pas zéro ou va dans l'autre sens",
        "reason_balance_poor": "l'équilibre après appariement est insuffisant",
        "reason_pretrend_rejected": "une tendance préalable est détectée (test joint, {pretrend})",
        "spatial_robust_note": " ; les résidus sont spatialement corrélés (I de Moran, {moran})"
        " mais l'intervalle du modèle à erreurs spatiales exclut aussi zéro",
        "controls": "Contrôles d'avant-choc utilisés : {used}. Écartés faute de valeur antérieure"
        " au choc à cette maille : {dropped}.",
        "none": "aucun",
        "multiplicity": "Ce lot de rapports fait {n} comparaisons : les p-values ajustées pour"
        " ces comparaisons multiples (Holm, Benjamini–Hochberg) sont dans"
        " reports/evidence.csv.",
    },
    "en": {
        "headline": "{subject} have on average {outcome_label} {size} {direction} than"
        " comparable territories (same région, same pre-shock characteristics){better}"
        " ({confidence}% CI: {low} to {high}; {p} by {p_method}; N = {n}, of which {n_treated}"
        " treated, {n_clusters} clusters; primary specification); {ci_verdict} {pretrend}"
        " Minimum detectable effect (80% power, 5% level): {mde}; the data exclude an effect"
        " larger than {bound} in absolute value.{spatial} {timing} {caution}",
        "higher": "higher",
        "lower": "lower",
        "equal": "equal (gap",
        "better": " (i.e. better resilience)",
        "worse": " (i.e. worse resilience)",
        "excludes": "the confidence interval excludes zero.",
        "includes": "the confidence interval includes zero: the data do not establish a"
        " difference.",
        "includes_borderline": "the confidence interval includes zero while the p-value is"
        " below 5% (the bootstrap's test and interval do not coincide exactly): a borderline"
        " result the data do not establish.",
        "pretrend_none": "No pre-trend detected (joint test of the {k} pre-shock coefficients,"
        " {p}).",
        "pretrend_detected": "Pre-trend detected (joint test of the {k} pre-shock coefficients,"
        " {p}): the gaps precede the shock, so the result cannot be called robust.",
        "pretrend_untested": "Pre-trends not tested.",
        "spatial_robust": " The residuals are spatially dependent (Moran's I, {p}), but the"
        " spatial error model's interval also excludes zero.",
        "spatial_fragile": " The residuals are spatially dependent (Moran's I, {p}) and the"
        " spatial error model's interval does not confirm it: the result is not robust to that"
        " dependence.",
        "p_method_wild": "wild cluster bootstrap (Webb)",
        "p_method_cluster": "cluster-robust t test",
        "unit_point": "point",
        "unit_period": "period",
        "plural": "s",
        "verdict_robust": "Robust difference: the adjusted effect excludes zero (primary"
        " specification, permutation test{spatial}) and matching agrees; an association, not"
        " proof of a causal effect.",
        "verdict_null": "No established difference: neither the adjusted effect nor matching"
        " excludes zero (the raw gap, descriptive, does not count){reasons}.",
        "verdict_contradictory": "Contradictory results: the adjusted effect and matching"
        " exclude zero with opposite signs{reasons}.",
        "verdict_fragile": "Fragile difference{reasons}.",
        "reasons_list": "; {reasons}",
        "reasons_fragile": ": {reasons}",
        "reason_primary_includes_zero": "the primary specification's interval includes zero",
        "reason_permutation_not_significant": "the permutation test does not reject no effect"
        " ({p})",
        "reason_spatial_interval_includes_zero": "the residuals are spatially dependent"
        " (Moran's I, {moran}) and the spatial error model's interval includes zero",
        "reason_spatial_untested_interval_includes_zero": "the residuals' Moran's I was not"
        " computed and the spatial error model's interval includes zero",
        "reason_spatial_check_missing": "the residuals are spatially dependent (Moran's I,"
        " {moran}) and no dependence-robust interval was computed",
        "reason_matching_disagrees": "matching does not exclude zero or points the other way",
        "reason_balance_poor": "balance after matching is poor",
        "reason_pretrend_rejected": "a pre-trend is detected (joint test, {pretrend})",
        "spatial_robust_note": "; the residuals are spatially dependent (Moran's I, {moran})"
        " but the spatial error model's interval also excludes zero",
        "controls": "Pre-shock controls used: {used}. Left out for want of a value from before"
        " the shock at this level: {dropped}.",
        "none": "none",
        "multiplicity": "This report batch makes {n} comparisons: p-values adjusted for these"
        " multiple comparisons (Holm, Benjamini–Hochberg) are in reports/evidence.csv.",
    },
}
"""Templates of the comparison evidence: the headline (one template per language) and the
words its slots take, the verdict, the controls and multiplicity sentences."""

OUTCOME_UNIT_KEYS: dict[str, str] = {
    "rise_vs_nation_pp": "point",
    "rise_pp": "point",
    "recovery_vs_nation_pp": "point",
    "periods_to_pre_shock_value": "period",
}
"""Unit of an outcome in sentences (``unit_<key>`` of :data:`EVIDENCE_SENTENCES`); indices
without a unit are absent."""


def evidence_sentence(key: str, lang: str = "fr", **values: Any) -> str:
    """A template of :data:`EVIDENCE_SENTENCES`, filled with ``values``."""
    return _fill(EVIDENCE_SENTENCES, "evidence sentence", key, lang, values)


def unit_word(unit_key: str, value: float, lang: str = "fr") -> str:
    """The unit after a number, singular or plural by the language's rule.

    French: singular below 2 (``0,5 point``, ``1,7 point``); English: singular
    only for exactly 1 (``0.5 points``, ``1 point``).
    """
    word = evidence_sentence(f"unit_{unit_key}", lang)
    singular = abs(value) < 2 if check_lang(lang) == "fr" else abs(value) == 1
    return word if singular else word + evidence_sentence("plural", lang)


_ARTICLE = re.compile(r"^(l'|l’|la |le |les |the )", re.IGNORECASE)


# --- Looking words up -------------------------------------------------------------------


def _fill(table: dict[str, dict[str, str]], what: str, key: str, lang: str, values) -> str:
    check_lang(lang)
    try:
        template = table[lang][key]
    except KeyError:
        raise KeyError(f"no {what} {key!r}; known keys: {', '.join(sorted(table[lang]))}") from None
    return template.format(nbsp=NBSP, **values)


def text(key: str, lang: str = "fr", **values: Any) -> str:
    """A generic figure word or phrase from :data:`TEXT`, filled with ``values``."""
    return _fill(TEXT, "figure text", key, lang, values)


def alt_text(key: str, lang: str = "fr", **values: Any) -> str:
    """An alternative-text template of :data:`ALT_TEXT`, filled with ``values``."""
    return _fill(ALT_TEXT, "alternative text", key, lang, values)


def sentence(key: str, lang: str = "fr", **values: Any) -> str:
    """A sentence template of :data:`SENTENCES`, filled with ``values``."""
    return _fill(SENTENCES, "sentence template", key, lang, values)


def summary(key: str, lang: str = "fr", **values: Any) -> str:
    """A notebook's printed summary line in ``lang`` (see :data:`SUMMARIES`)."""
    return _fill(SUMMARIES, "summary", key, lang, values)


def profile_note(key: str, lang: str = "fr", **values: Any) -> str:
    """A remark of a profile table (see :data:`PROFILE_NOTES`)."""
    return _fill(PROFILE_NOTES, "profile note", key, lang, values)


WITHHELD_REASONS: dict[str, dict[str, str]] = {
    "fr": {
        "not_observed": "variation nationale non observée",
        "rate": "variation nationale de {change} point, sous le seuil de {threshold} point",
        "level": "variation nationale de {change} %, sous le seuil de {threshold} %",
    },
    "en": {
        "not_observed": "national change not observed",
        "rate": "national change {change} point, below the {threshold}-point threshold",
        "level": "national change {change} %, below the {threshold} % threshold",
    },
}
"""Why a resilience index is withheld (``analysis.resilience.national_change_too_small``):
code → words. The ``*_reason`` columns hold the English words; :func:`withheld_reason`
gives them in a report's language."""


def withheld_reason(reason: str, lang: str = "fr") -> str:
    """A ``*_reason`` of the resilience indices (English words) in ``lang``.

    The English templates of :data:`WITHHELD_REASONS` are matched and refilled in
    ``lang`` (decimal comma in French); a reason that matches none is returned as it is.
    """
    check_lang(lang)
    for code, template in WITHHELD_REASONS["en"].items():
        pattern = re.escape(template).replace(r"\{change\}", r"(?P<change>\S+)")
        pattern = pattern.replace(r"\{threshold\}", r"(?P<threshold>[0-9.]+)")
        found = re.fullmatch(pattern, str(reason))
        if found:
            values = {
                k: v.replace(".", ",") if lang == "fr" else v for k, v in found.groupdict().items()
            }
            return WITHHELD_REASONS[lang][code].format(**values)
    return str(reason)


def colon(lang: str) -> str:
    """``" : "`` with a no-break space in French, ``": "`` in English."""
    return f"{NBSP}: " if check_lang(lang) == "fr" else ": "


def semicolon(lang: str) -> str:
    """``" ; "`` with a no-break space in French, ``"; "`` in English."""
    return f"{NBSP}; " if check_lang(lang) == "fr" else "; "


def kind_label(kind: str, lang: str = "fr") -> str:
    """Display name of a cooperation kind (``tiers_lieu`` → ``Tiers-lieux``)."""
    check_lang(lang)
    try:
        return KIND_LABELS[lang][kind]
    except KeyError:
        raise KeyError(
            f"unknown cooperation kind {kind!r}; known: {', '.join(KIND_LABELS[lang])}"
        ) from None


def group_label(group: Any, lang: str = "fr") -> str:
    """Display name of a group: a kind, ``treated``/``comparison``/``national``, else itself."""
    key = str(group)
    if key in KIND_LABELS[check_lang(lang)]:
        return KIND_LABELS[lang][key]
    if key in ("treated", "comparison", "national"):
        return text(key, lang)
    return key


def national_name(code: str, lang: str = "fr") -> str:
    """``France`` or ``France métropolitaine`` for a national code (``FR``, ``FRM``)."""
    return NATIONAL_NAMES[code][check_lang(lang)]


def treatment_subject(treatment: str, lang: str = "fr", *, continuous: bool = False) -> str:
    """The subject of a result sentence: a known treatment's words, else a generic phrase."""
    known = TREATMENT_LABELS[check_lang(lang)].get(treatment)
    if known is not None:
        return known
    key = "subject_continuous" if continuous else "subject_binary"
    return sentence(key, lang, treatment=treatment)


def caution(key: str, lang: str = "fr") -> str:
    """The selection caveat ``key`` (``binary``, ``binary_tzcld``, ``continuous``)."""
    return _fill(CAUTIONS, "caution", key, lang, {})


def timing(key: str, lang: str = "fr") -> str:
    """A timing note of :data:`TIMING_NOTES`."""
    return _fill(TIMING_NOTES, "timing note", key, lang, {})


def lower_first(phrase: str) -> str:
    """Lower the first letter unless the first word is an acronym (``PTCE`` stays)."""
    first = phrase.split(" ", 1)[0]
    if len(first) > 1 and first[:2].isupper():
        return phrase
    return phrase[:1].lower() + phrase[1:]


def title_form(phrase: str) -> str:
    """A sentence-form label as a title: its article dropped, its first letter capitalised."""
    phrase = _ARTICLE.sub("", phrase.strip())
    return phrase[:1].upper() + phrase[1:]


# --- Numbers, dates ----------------------------------------------------------------------


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
    check_lang(lang)
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


def format_p(p_value: float, lang: str = "fr") -> str:
    """A p-value in words: ``p = 0,034``, ``p < 0,001``, ``p n.d.`` (three decimals)."""
    if p_value is None or not np.isfinite(p_value):
        return sentence("p_missing", lang)
    if p_value < 0.001:
        return sentence("p_below", lang, bound=format_number(0.001, lang, 3))
    return sentence("p_equal", lang, value=format_number(p_value, lang, 3))


def format_date(date: dt.date | str, lang: str = "fr") -> str:
    """A date in words (``26 novembre 2026``, ``26 November 2026``); strings pass through."""
    if isinstance(date, str):
        return date
    months = MONTHS[check_lang(lang)]
    day = FIRST_OF_MONTH[lang] if date.day == 1 else str(date.day)
    return f"{day} {months[date.month - 1]} {date.year}"


# --- Labels from metadata -----------------------------------------------------------------


def outcome_metadata(measure: str) -> pd.Series | None:
    """Title-form labels of a model outcome (:data:`OUTCOMES`), or None when it is not one."""
    if measure not in OUTCOMES.index:
        return None
    row = {"unit": "", "unit_label_fr": "", "unit_label_en": ""}
    for lang in LANGS:
        row[f"label_{lang}"] = title_form(OUTCOMES.at[measure, f"phrase_{lang}"])
    return pd.Series(row, name=measure)


def indicator_metadata(indicator: str, dictionary: pd.DataFrame | None = None) -> pd.Series:
    """The metadata row of an indicator (labels, units, definition, sources) or of a measure.

    Looks in the indicator dictionary, then in the model outcomes (:data:`OUTCOMES`:
    resilience indices), then in :data:`MEASURES` (model covariates, cooperation measures).

    Args:
        indicator: Indicator name, e.g. ``unemployment_rate``, or a measure name,
            e.g. ``resistance_lagravinese``.
        dictionary: A table shaped like :data:`INDICATORS` (indexed by indicator);
            defaults to it.

    Raises:
        KeyError: listing the known indicators and measures.
    """
    dictionary = INDICATORS if dictionary is None else dictionary
    if indicator in dictionary.index:
        return dictionary.loc[indicator]
    outcome = outcome_metadata(indicator)
    if outcome is not None:
        return outcome
    if indicator in MEASURES.index:
        return MEASURES.loc[indicator]
    raise KeyError(
        f"unknown indicator {indicator!r}; known indicators: "
        f"{', '.join(map(str, dictionary.index))}; known measures: "
        f"{', '.join([*OUTCOMES.index, *MEASURES.index])} (see {DICTIONARY_FILE.name})"
    )


def label(indicator: str, lang: str = "fr", *, dictionary: pd.DataFrame | None = None) -> str:
    """The indicator's label in ``lang`` (from the indicator dictionary)."""
    return str(indicator_metadata(indicator, dictionary)[f"label_{check_lang(lang)}"])


def unit_label(indicator: str, lang: str = "fr", *, dictionary: pd.DataFrame | None = None) -> str:
    """The indicator's unit label in ``lang`` (empty string when it has none)."""
    value = indicator_metadata(indicator, dictionary).get(f"unit_label_{check_lang(lang)}", "")
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


def measure_label(measure: str, lang: str = "fr") -> str:
    """A title-ready label of a resilience or cooperation measure; an unknown one as named."""
    check_lang(lang)
    if measure in MEASURES.index:
        return str(MEASURES.at[measure, f"label_{lang}"])
    outcome = outcome_metadata(measure)
    return measure if outcome is None else str(outcome[f"label_{lang}"])


def variable_label(name: str, lang: str = "fr") -> str:
    """A measure's or an indicator's label (a model covariate, a control); else the name."""
    measure = measure_label(name, lang)
    if measure != name:
        return measure
    try:
        return label(name, lang)
    except (KeyError, ValueError):
        return name


def outcome_phrase(outcome: str, lang: str = "fr") -> str:
    """An outcome's label inside a sentence (``l'indice de résistance (Lagravinese)``)."""
    return OUTCOME_LABELS.get(outcome, {}).get(check_lang(lang), outcome)


_DENSITY = re.compile(r"^n_([a-z_]+)_per_100k$")


def dose_label(dose: str, lang: str = "fr") -> str:
    """Axis title of a dose: a kind's density (``n_ptce_per_100k``), all kinds, or an indicator."""
    if dose == "initiatives_per_100k":
        return text("density_all", lang)
    match = _DENSITY.match(dose)
    if match:
        return text("density", lang, kind=kind_label(match.group(1), lang))
    return axis_label(dose, lang)


def outcome_unit(outcome: str, lang: str = "fr") -> str:
    """Unit of a resilience outcome in a sentence: points for ``*_pp``, ``*_pct``; else none."""
    if outcome.endswith("_pp"):
        return text("unit_pp", lang)
    if outcome.endswith("_pct"):
        return text("unit_pct", lang)
    return ""


def specification_label(specification: str, lang: str = "fr") -> str:
    """A readable name of an ``analysis.models`` specification code.

    ``ols_hc3+controls+reg_code_fe`` → ``Régression (MCO, erreurs HC3) + contrôles +
    effets fixes région``; ``nn_matching_k1_biascorr`` → ``Appariement (1 plus proche
    voisin), biais corrigé``; unknown codes are returned unchanged.
    """
    words = SPECIFICATION_TEXT[check_lang(lang)]
    code = str(specification)
    if code.startswith("continuous_"):  # a dose (continuous treatment): same estimators
        code = code[len("continuous_") :]

    def what(column: str) -> str:
        return words.get(column, column)

    if code in (
        "difference_in_means",
        "event_study_matched",
        "primary",
        "raw_difference",
        "adjusted_permutation",
        "spatial_error_gm_het",
    ):
        return words[code]
    match = re.fullmatch(r"permutation_(difference_in_means|ols)(?:_within_(.+))?", code)
    if match:
        statistic = words["difference_in_means"] if match[1] == "difference_in_means" else "MCO"
        if lang == "en" and match[1] == "ols":
            statistic = "OLS"
        label = words["permutation"].format(statistic=lower_first(statistic))
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


# --------------------------------------------------------------------------- territory fiche
# The words of a fiche (``notebooks/territory_fiche.ipynb``, ``analysis.fiche_content``).

WAVE_NAMES: dict[str, dict[str, str]] = {
    "fr": {
        "aap2013_laureat": "appel 2013, lauréat",
        "aap2015_laureat": "appel 2015, lauréat",
        "ami2021_phase1": "AMI 2021, phase 1",
        "ami2021_laureat": "AMI 2021, lauréat",
        "ami2023_laureat": "AMI 2023, lauréat",
        "other_known": "autre PTCE connu",
        "tzcld_phase1": "phase 1",
        "tzcld_phase2": "phase 2",
        "cget2019": "base CGET 2019",
        "fabrique_label": "label Fabrique",
        "manufacture_round1": "1re vague",
        "manufacture_round2": "2e vague",
    },
    "en": {
        "aap2013_laureat": "2013 call, winner",
        "aap2015_laureat": "2015 call, winner",
        "ami2021_phase1": "2021 call, phase 1",
        "ami2021_laureat": "2021 call, winner",
        "ami2023_laureat": "2023 call, winner",
        "other_known": "other known PTCE",
        "tzcld_phase1": "phase 1",
        "tzcld_phase2": "phase 2",
        "cget2019": "CGET 2019 list",
        "fabrique_label": "Fabrique label",
        "manufacture_round1": "round 1",
        "manufacture_round2": "round 2",
    },
}
"""Waves (labels, calls, lists) in words; an unknown wave is shown as written."""

LEVEL_NAMES: dict[str, dict[str, str]] = {
    "fr": {"reg": "région", "dep": "département", "ze2020": "zone d'emploi", "epci": "EPCI"},
    "en": {"reg": "région", "dep": "département", "ze2020": "zone d'emploi", "epci": "EPCI"},
}
"""A level in words (the French names are the ones users search for)."""

LEVEL_PLURALS: dict[str, dict[str, str]] = {
    "fr": {"reg": "régions", "dep": "départements", "ze2020": "zones d'emploi", "epci": "EPCI"},
    "en": {"reg": "régions", "dep": "départements", "ze2020": "zones d'emploi", "epci": "EPCI"},
}
"""A level in the plural ("rank among the 101 départements")."""

FICHE_TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "title": "# {name} ({level} {code})",
        "intro": "{population} habitants{region}. {n} initiatives de coopération recensées "
        "({details}).",
        "in_region": ", région {region}",
        "region": "Région",
        "initiatives": "## Les initiatives de coopération",
        "no_initiative": "Aucune initiative recensée sur ce territoire.",
        "unlocated": " {m} initiative(s) connues seulement par leur département ou leur région "
        "figurent dans la liste mais pas sur la carte.",
        "indicators": "## Indicateurs clés",
        "indicators_note": "Dernière valeur publiée à la maille du territoire, à côté de sa "
        "région et de la France ; rang parmi les {n} {plural} (1 = valeur la plus élevée).",
        "unemployment": "## Le chômage et les deux chocs",
        "no_series": "L'INSEE ne publie pas de taux de chômage localisé pour ce territoire : "
        "la courbe est celle de la référence nationale.",
        "employment": "### L'emploi salarié privé",
        "no_employment": "L'emploi salarié privé (URSSAF) n'est publié que par zone d'emploi : "
        "voir les fiches des zones d'emploi du territoire (`ptce fiche --level ze2020`).",
        "resilience": "## La résilience face aux deux chocs",
        "resilience_note": "Hausse du taux de chômage du pic au creux de chaque choc, comparée "
        "à celle de la France (en points : négatif = mieux que la France), et reprise ; "
        "rang parmi les {plural} (1 = le plus résilient).",
        "sub": "## La résilience de ses {plural}",
        "sub_note": "Hausse du chômage relative à la France pendant chaque choc (points).",
        "no_sub": "Pas de découpage plus fin suivi par le chômage localisé sous cette maille.",
        "neighbours": "## Des territoires comparables",
        "neighbours_note": "Les {k} {plural} les plus proches avant les chocs (population, "
        "densité, taux de chômage avant chaque choc, taux de pauvreté, part de population "
        "rurale : variables centrées-réduites, distance euclidienne) et la hausse de leur "
        "chômage relative à la France pendant chaque choc (points).",
        "no_neighbours": "Pas de territoire comparable : {reason}",
        "kind": "Type",
        "name": "Initiative",
        "wave": "Vague",
        "year": "Année",
        "commune": "Commune",
        "source": "Source",
        "source_link": "source",
        "indicator": "Indicateur",
        "period": "Période",
        "common_period": "{period} (dernière période commune aux trois ; {latest} pour le "
        "territoire seul)",
        "france": "France",
        "rank": "Rang",
        "note": "Remarque",
        "shock": "Choc",
        "window": "Pic → creux → fin de reprise",
        "territory": "Territoire",
        "code": "Code",
        "distance": "Distance",
        "population": "Population",
        "unemployment_before": "Chômage avant {year} (%)",
        "rise": "Hausse relative {label} (points)",
        "rank_of": "Rang {label}",
        "measured_on_zone": "mesurée sur la zone d'emploi {name}",
        "rise_vs_nation_pp": "Hausse relative à la France (points)",
        "recovery_vs_nation_pp": "Reprise relative à la France (points)",
        "resistance_lagravinese": "Résistance (Lagravinese)",
        "recovery_lagravinese": "Reprise (Lagravinese)",
        "rise_vs_nation_pp_rank": "Rang (hausse)",
        "recovery_vs_nation_pp_rank": "Rang (reprise)",
        "print_more": "Liste imprimée : {m} initiative(s) de plus dans la version en ligne "
        "et dans initiatives.csv.",
        "authorities": "**Rôle des collectivités.** Selon les pages citées, une collectivité est "
        "impliquée dans {share} : porteuse dans {lead}, membre dans "
        "{member}, financeuse dans {funder} (les autres rôles cités : partenaire, hôte){kinds}.",
        "authorities_kinds": " ; collectivités en cause : {kinds}",
        "authorities_share": "{with_authority} des {n} PTCE",
        "authorities_share_one": "le PTCE de ce territoire",
        "authorities_subject": "les {n} PTCE de ce territoire",
        "authorities_subject_one": "le PTCE de ce territoire",
        "authorities_none": "**Rôle des collectivités.** Les pages citées pour {subject} ne "
        "nomment aucune collectivité impliquée (non renseigné, pas forcément absent).",
        "employment_axis": "Indice (100 en {period})",
        "about": "**À propos de cette fiche.** Chiffres : INSEE (chômage localisé, Filosofi, "
        "recensement), URSSAF (emploi salarié privé), ANCT et registre PTCE du projet "
        "(initiatives, chaque ligne citant sa source).",
    },
    "en": {
        "title": "# {name} ({level} {code})",
        "intro": "{population} inhabitants{region}. {n} cooperation initiatives listed "
        "({details}).",
        "in_region": ", région {region}",
        "region": "Région",
        "initiatives": "## Cooperation initiatives",
        "no_initiative": "No initiative listed in this territory.",
        "unlocated": " {m} initiative(s) known only by their département or région are "
        "listed but not mapped.",
        "indicators": "## Key indicators",
        "indicators_note": "Latest value published at the territory's level, beside its "
        "région and France; rank among the {n} {plural} (1 = highest value).",
        "unemployment": "## Unemployment and the two shocks",
        "no_series": "INSEE publishes no local unemployment rate for this territory: the "
        "line is the national reference's.",
        "employment": "### Private salaried employment",
        "no_employment": "Private salaried employment (URSSAF) is published by zone "
        "d'emploi only: see the fiches of the territory's zones (`ptce fiche --level ze2020`).",
        "resilience": "## Resilience to the two shocks",
        "resilience_note": "Rise in the unemployment rate from each shock's peak to its "
        "trough, compared with France's (points: negative = better than France), and "
        "recovery; rank among the {plural} (1 = most resilient).",
        "sub": "## Resilience of its {plural}",
        "sub_note": "Rise in unemployment relative to France during each shock (points).",
        "no_sub": "No finer zoning is followed by local unemployment below this level.",
        "neighbours": "## Comparable territories",
        "neighbours_note": "The {k} nearest {plural} before the shocks (population, density, "
        "unemployment rate before each shock, poverty rate, rural population share: "
        "standardised variables, Euclidean distance) and the rise in their unemployment "
        "relative to France during each shock (points).",
        "no_neighbours": "No comparable territory: {reason}",
        "kind": "Kind",
        "name": "Initiative",
        "wave": "Wave",
        "year": "Year",
        "commune": "Commune",
        "source": "Source",
        "source_link": "source",
        "indicator": "Indicator",
        "period": "Period",
        "common_period": "{period} (latest period common to the three; {latest} for the "
        "territory alone)",
        "france": "France",
        "rank": "Rank",
        "note": "Note",
        "shock": "Shock",
        "window": "Peak → trough → end of recovery",
        "territory": "Territory",
        "code": "Code",
        "distance": "Distance",
        "population": "Population",
        "unemployment_before": "Unemployment before {year} (%)",
        "rise": "Relative rise {label} (points)",
        "rank_of": "Rank {label}",
        "measured_on_zone": "measured on the zone d'emploi {name}",
        "rise_vs_nation_pp": "Rise relative to France (points)",
        "recovery_vs_nation_pp": "Recovery relative to France (points)",
        "resistance_lagravinese": "Resistance (Lagravinese)",
        "recovery_lagravinese": "Recovery (Lagravinese)",
        "rise_vs_nation_pp_rank": "Rank (rise)",
        "recovery_vs_nation_pp_rank": "Rank (recovery)",
        "print_more": "Printed list: {m} more initiative(s) in the online version and in "
        "initiatives.csv.",
        "authorities": "**Local authorities.** According to the cited pages, a local authority "
        "takes part in {share}: as lead in {lead}, member in {member}, "
        "funder in {funder} (the other roles cited: partner, host){kinds}.",
        "authorities_kinds": "; authorities: {kinds}",
        "authorities_share": "{with_authority} of the {n} PTCE",
        "authorities_share_one": "the territory's PTCE",
        "authorities_subject": "the {n} PTCE of this territory",
        "authorities_subject_one": "the PTCE of this territory",
        "authorities_none": "**Local authorities.** The pages cited for {subject} name no local "
        "authority involved (not recorded, not necessarily absent).",
        "employment_axis": "Index (100 in {period})",
        "about": "**About this fiche.** Figures: INSEE (local unemployment, Filosofi, census), "
        "URSSAF (private salaried employment), ANCT and the project's PTCE registry "
        "(initiatives, each row citing its source).",
    },
}
"""The words of a fiche, in both languages."""

SHOCK_SHORT: dict[str, str] = {"recession_2008": "2008-2009", "covid_2020": "2020"}
"""Short names of the shocks in column headers."""

SHOCK_LABELS: dict[str, dict[str, str]] = {
    "fr": {"recession_2008": "Récession de 2008-2009", "covid_2020": "Choc du Covid-19 (2020)"},
    "en": {"recession_2008": "2008-09 recession", "covid_2020": "2020 COVID-19 shock"},
}
"""A shock's name in titles (its dates and windows are :data:`analysis.resilience.SHOCKS`)."""


def shock_label(shock: str, lang: str = "fr") -> str:
    """A shock's name in titles: ``covid_2020`` → ``Choc du Covid-19 (2020)``."""
    return _fill(SHOCK_LABELS, "shock", shock, lang, {})


KIND_NAMES: dict[str, dict[str, str]] = {
    "fr": {
        "ptce": "PTCE",
        "tzcld": "TZCLD",
        "tiers_lieu": "tiers-lieux",
        "fabrique_territoire": "Fabriques de territoire",
        "manufacture_proximite": "Manufactures de proximité",
        "scic": "SCIC",
        "scop": "SCOP",
        "groupement_employeurs": "groupements d'employeurs",
    },
    "en": {
        "ptce": "PTCE",
        "tzcld": "TZCLD",
        "tiers_lieu": "third places",
        "fabrique_territoire": "Fabriques de territoire",
        "manufacture_proximite": "Manufactures de proximité",
        "scic": "SCIC",
        "scop": "SCOP",
        "groupement_employeurs": "employer groups",
    },
}
"""Kinds in running text (a fiche's opening line)."""


KIND_SHORT_NAMES: dict[str, dict[str, str]] = {
    "fr": {
        "tiers_lieu": "Tiers-lieu",
        "fabrique_territoire": "Fabrique",
        "manufacture_proximite": "Manufacture",
        "groupement_employeurs": "Gr. d'employeurs",
    },
    "en": {
        "tiers_lieu": "Third place",
        "fabrique_territoire": "Fabrique",
        "manufacture_proximite": "Manufacture",
        "groupement_employeurs": "Employer group",
    },
}
"""Kinds in a table column (the map legend and the text give the full names)."""


# --------------------------------------------------------------------------- report site and prose
# The words of the report site (``analysis.reports.site``, ``pages``) and the prose the report
# notebooks show, read once from ``report_words.toml`` beside this module.

REPORT_WORDS_FILE = Path(__file__).with_name("report_words.toml")
"""The site's words, the phrases of run parameters, the methods and report prose templates."""

_REPORT_WORDS: dict[str, Any] = _read_dictionary(REPORT_WORDS_FILE)

PHRASE_KINDS: tuple[str, ...] = tuple(_REPORT_WORDS["phrases"])
"""Parameters with sentence phrases: ``shock``, ``level``, ``treatment``, ``indicator``…"""


def _report_words(table: str, key: str, lang: str, values: dict[str, Any]) -> str:
    """Template ``key`` of ``[table.<lang>]`` in ``report_words.toml``, its fields filled."""
    try:
        template = _REPORT_WORDS[table][check_lang(lang)][key]
    except KeyError:
        raise KeyError(f"no {key!r} in {REPORT_WORDS_FILE.name} [{table}.{lang}]") from None
    return template.format(**values) if values else template


def site_text(key: str, lang: str = "fr", **values: Any) -> str:
    """The report site's text ``key`` in ``lang``, its ``{fields}`` filled from ``values``."""
    return _report_words("text", key, lang, values)


def phrase(kind: str, value: str, lang: str = "fr") -> str:
    """How a run's parameter value reads in a sentence; the value itself when it has no phrase.

    Args:
        kind: ``shock``, ``level``, ``level_short``, ``treatment``, ``indicator``
            or ``verdict`` (:data:`PHRASE_KINDS`).
        value: The parameter value (``covid_2020``, ``ze2020``…).
        lang: ``fr`` or ``en``.
    """
    table = _REPORT_WORDS["phrases"].get(kind)
    if table is None:
        raise KeyError(f"no phrases for {kind!r}; known: {', '.join(PHRASE_KINDS)}")
    return table[check_lang(lang)].get(str(value), str(value))


def _level_noun(level: str, lang: str) -> tuple[str, str, str]:
    """Singular, plural and gender (``f``, ``m`` or empty) of a level's noun."""
    entry = _REPORT_WORDS["phrases"]["level_noun"][check_lang(lang)].get(level)
    singular, plural, gender = (entry or f"{level}|{level}|m").split("|")
    return singular, plural, gender


def count_phrase(level: str, count: int, lang: str = "fr", *, treated: bool = False) -> str:
    """``22 zones traitées``, ``1 département traité``, ``5 régions`` (French agreement)."""
    singular, plural, gender = _level_noun(level, lang)
    noun = singular if count == 1 else plural
    if not treated:
        return f"{count} {noun}"
    if lang == "fr":
        adjective = "traitée" if gender == "f" else "traité"
        adjective += "" if count == 1 else "s"
        return f"{count} {noun} {adjective}"
    return f"{count} treated {noun}"


def methods(lang: str = "fr") -> list[dict[str, Any]]:
    """The site's methods section: ``title``, ``body`` and ``references`` of each part."""
    return list(_REPORT_WORDS["methods"][check_lang(lang)])


def prose(key: str, lang: str = "fr", **values: Any) -> str:
    """A report's Markdown template ``key`` (``[prose]`` of ``report_words.toml``), filled."""
    return _report_words("prose", key, lang, values)


def takeaways(points: Iterable[str], lang: str = "fr") -> str:
    """The "À retenir" box of a report: a Markdown block quote with one bullet per point."""
    lines = [f"> {prose('takeaways', lang)}", ">"] + [f"> - {point}" for point in points if point]
    return "\n".join(lines)


def comparison_question(level: str, treatment: str, shock: str, lang: str = "fr") -> str:
    """The question a comparison run answers, as the report's Markdown title.

    ``# Les zones d'emploi avec un PTCE ont-elles mieux traversé le choc du Covid-19 ?``
    (the pronoun agrees with the level's noun in French).
    """
    pronoun = "elles" if _level_noun(level, lang)[2] == "f" else "ils"
    title = prose(
        "comparison_title",
        lang,
        level=phrase("level", level, lang),
        treatment=phrase("treatment", treatment, lang),
        shock=phrase("shock", shock, lang),
        pronoun=pronoun,
    )
    hashes, _, words = title.partition(" ")
    return f"{hashes} {words[:1].upper()}{words[1:]}"


def comparison_intro(level: str, treatment: str, outcome: str, lang: str = "fr") -> str:
    """The paragraph under :func:`comparison_question`: what is compared, how, and the caveat."""
    return prose(
        "comparison_intro",
        lang,
        level=phrase("level", level, lang),
        treatment=phrase("treatment", treatment, lang),
        outcome=outcome_phrase(outcome, lang),
    )


# --------------------------------------------------------------------------- report tables
# Words of :func:`analysis.report_content.display_table`.

COLUMN_LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "territory_code": "Code",
        "territory_name": "Territoire",
        "level": "Maille",
        "rank": "Rang",
        "n": "Nombre de territoires",
        "n_treated": "Territoires traités",
        "n_control": "Territoires de comparaison",
        "estimate": "Écart estimé",
        "effect": "Écart estimé",
        "ci_low": "Borne basse (IC 95 %)",
        "ci_high": "Borne haute (IC 95 %)",
        "p_value": "Valeur p",
        "specification": "Spécification",
        "group": "Groupe",
        "kind": "Type",
        "count": "Nombre",
        "share_pct": "Part (%)",
        "peak": "Pic",
        "trough": "Creux",
        "recovery_end": "Fin de la reprise",
        "shock": "Choc",
        "indicator": "Indicateur",
        "period": "Période",
        "value": "Valeur",
        "national_reference": "Référence nationale",
        "label": "Spécification",
        "p_value_method": "Méthode de la valeur p",
        "n_clusters": "Grappes",
        "mde": "Effet minimal détectable",
        "equivalence_bound": "Effet exclu au-delà de",
        "measure": "Mesure",
        "n_initiatives": "Initiatives",
        "n_from_registry": "Dont du registre",
        "n_with_commune": "Localisées à la commune",
        "n_located_at_level": "Comptées à cette maille",
        "first_year": "Première année",
        "last_year": "Dernière année",
        "location_precision": "Précision de localisation",
        "source_id": "Source",
        "kinds": "Types",
        "n_ptce": "PTCE",
        "n_ptce_with_authority": "Avec une collectivité",
        "n_ptce_authority_lead": "Collectivité porteuse",
        "n_ptce_authority_member": "Collectivité membre",
        "n_ptce_authority_funder": "Collectivité financeuse",
        "n_ptce_with_commune": "Avec une commune",
        "n_ptce_with_epci": "Avec un EPCI",
        "n_ptce_with_departement": "Avec un département",
        "n_ptce_with_region": "Avec une région",
        "n_ptce_with_other": "Avec une autre collectivité",
        "n_permutations": "Permutations",
        "permutations": "Permutations",
        "morans_i": "I de Moran",
        "expected_i": "I attendu (hasard)",
        "n_overseas_dropped": "Outre-mer écartés",
        "n_islands_dropped": "Îles écartées",
        "n_without_geometry": "Sans géométrie",
        "contiguity": "Voisinage",
        "covariate": "Covariable",
        "mean_treated": "Moyenne des traités",
        "mean_control": "Moyenne des témoins",
        "smd_before": "Écart standardisé avant",
        "variance_ratio_before": "Rapport des variances avant",
        "mean_matched_control": "Moyenne des témoins appariés",
        "smd_after": "Écart standardisé après",
        "statistic": "Statistique",
        "distribution": "Loi",
        "df_numerator": "Degrés de liberté (numérateur)",
        "df_denominator": "Degrés de liberté (dénominateur)",
        "n_placebo": "Périodes placebo",
        "estimator": "Estimateur",
        "att": "Effet moyen (ATT)",
        "pretrend_pvalue": "Valeur p des tendances préalables",
        "first_treated": "Premier label",
        "reason": "Raison",
        "unit": "Code du territoire",
        "first_treated_period": "Premier label (période)",
        "first_wave": "Première vague",
        "date_precision": "Date connue par",
        "n_labels": "Nombre de labels",
        "wave": "Vague",
        "dose": "Dose",
        "inference": "Erreurs-types",
        "name": "Nom",
        "treatment_period": "Période du label",
        "n_donors": "Territoires donneurs",
        "n_pre_periods": "Périodes avant le label",
        "n_post_periods": "Périodes après le label",
        "rmspe_pre": "Écart quadratique avant (RMSPE)",
        "rmspe_post": "Écart quadratique après (RMSPE)",
        "rmspe_ratio": "Rapport après/avant",
        "mean_post_gap": "Écart moyen après le label",
        "top_donors": "Principaux donneurs (poids)",
    },
    "en": {
        "territory_code": "Code",
        "territory_name": "Territory",
        "level": "Level",
        "rank": "Rank",
        "n": "Number of territories",
        "n_treated": "Treated territories",
        "n_control": "Comparison territories",
        "estimate": "Estimated difference",
        "effect": "Estimated difference",
        "ci_low": "Lower bound (95% CI)",
        "ci_high": "Upper bound (95% CI)",
        "p_value": "p-value",
        "specification": "Specification",
        "group": "Group",
        "kind": "Kind",
        "count": "Count",
        "share_pct": "Share (%)",
        "peak": "Peak",
        "trough": "Trough",
        "recovery_end": "End of recovery",
        "shock": "Shock",
        "indicator": "Indicator",
        "period": "Period",
        "value": "Value",
        "national_reference": "National reference",
        "label": "Specification",
        "p_value_method": "p-value method",
        "n_clusters": "Clusters",
        "mde": "Minimum detectable effect",
        "equivalence_bound": "Effects excluded beyond",
        "measure": "Measure",
        "n_initiatives": "Initiatives",
        "n_from_registry": "From the registry",
        "n_with_commune": "Located to a commune",
        "n_located_at_level": "Counted at this level",
        "first_year": "First year",
        "last_year": "Last year",
        "location_precision": "Location precision",
        "source_id": "Source",
        "kinds": "Kinds",
        "n_ptce": "PTCE",
        "n_ptce_with_authority": "With a local authority",
        "n_ptce_authority_lead": "Authority as lead",
        "n_ptce_authority_member": "Authority as member",
        "n_ptce_authority_funder": "Authority as funder",
        "n_ptce_with_commune": "With a commune",
        "n_ptce_with_epci": "With an EPCI",
        "n_ptce_with_departement": "With a département",
        "n_ptce_with_region": "With a région",
        "n_ptce_with_other": "With another authority",
        "n_permutations": "Permutations",
        "permutations": "Permutations",
        "morans_i": "Moran's I",
        "expected_i": "Expected I (chance)",
        "n_overseas_dropped": "Overseas left out",
        "n_islands_dropped": "Islands left out",
        "n_without_geometry": "Without geometry",
        "contiguity": "Neighbourhood",
        "covariate": "Covariate",
        "mean_treated": "Mean of treated",
        "mean_control": "Mean of controls",
        "smd_before": "Standardized difference before",
        "variance_ratio_before": "Variance ratio before",
        "mean_matched_control": "Mean of matched controls",
        "smd_after": "Standardized difference after",
        "statistic": "Statistic",
        "distribution": "Distribution",
        "df_numerator": "Degrees of freedom (numerator)",
        "df_denominator": "Degrees of freedom (denominator)",
        "n_placebo": "Placebo periods",
        "estimator": "Estimator",
        "att": "Average effect (ATT)",
        "pretrend_pvalue": "Pre-trend p-value",
        "first_treated": "First label",
        "reason": "Reason",
        "unit": "Territory code",
        "first_treated_period": "First label (period)",
        "first_wave": "First wave",
        "date_precision": "Date known from",
        "n_labels": "Number of labels",
        "wave": "Wave",
        "dose": "Dose",
        "inference": "Standard errors",
        "name": "Name",
        "treatment_period": "Label period",
        "n_donors": "Donor territories",
        "n_pre_periods": "Periods before the label",
        "n_post_periods": "Periods after the label",
        "rmspe_pre": "Root mean squared gap before (RMSPE)",
        "rmspe_post": "Root mean squared gap after (RMSPE)",
        "rmspe_ratio": "After/before ratio",
        "mean_post_gap": "Mean gap after the label",
        "top_donors": "Main donors (weight)",
    },
}
"""Words of common table columns (indicators and measures take their own labels)."""

YES_NO: dict[str, tuple[str, str]] = {"fr": ("oui", "non"), "en": ("yes", "no")}
"""Booleans in a report table."""
EMPTY_TABLE: dict[str, str] = {"fr": "Aucune ligne.", "en": "No rows."}
"""What an empty report table reads as."""
FULL_TABLE_NOTE: dict[str, str] = {
    "fr": "Les {shown} premières lignes sur {total} ; le tableau complet : ",
    "en": "The first {shown} rows of {total}; the full table: ",
}
"""The note under a long report table, before the link to its full CSV."""

AUTHORITY_KIND_NAMES: dict[str, dict[str, str]] = {
    "fr": {"commune": "commune", "epci": "EPCI", "departement": "département",
           "region": "région", "other": "autre"},
    "en": {"commune": "commune", "epci": "EPCI", "departement": "département",
           "region": "région", "other": "other"},
}  # fmt: skip
"""Kinds of local authority (``cooperation.AUTHORITY_KINDS``), in words."""

_REGISTRY_MEASURES: dict[str, dict[str, str]] = {
    "fr": {
        "registry_rows": "Lignes du registre",
        "registry_problems": "Problèmes à corriger",
        "registry_rows_without_commune_code": "Lignes sans code commune",
        "initiatives_with_public_lists": "Initiatives, listes publiques comprises",
        **{f"initiatives_not_located_at_{level}": "Initiatives non comptées à cette maille"
           for level in LEVELS},
        **{f"territories_{level}_without_initiative": "Territoires sans initiative"
           for level in LEVELS},
    },
    "en": {
        "registry_rows": "Registry rows",
        "registry_problems": "Problems to fix",
        "registry_rows_without_commune_code": "Rows without a commune code",
        "initiatives_with_public_lists": "Initiatives, public lists included",
        **{f"initiatives_not_located_at_{level}": "Initiatives not counted at this level"
           for level in LEVELS},
        **{f"territories_{level}_without_initiative": "Territories without an initiative"
           for level in LEVELS},
    },
}  # fmt: skip
"""The registry-quality summary's measures (``cooperation.registry_quality_tables``), in words."""

VALUE_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "fr": {
        "measure": _REGISTRY_MEASURES["fr"],
        "location_precision": {
            "commune": "commune",
            "departement": "département",
            "region": "région",
        },
        "contiguity": {
            "queen": "contiguïté (frontière ou sommet commun)",
            "knn": "plus proches voisins",
        },
        "distribution": {"F": "loi de Fisher (F)", "chi2": "loi du khi-deux"},
        "date_precision": {"wave": "la vague du label", "year": "l'année seulement"},
        "first_wave": WAVE_NAMES["fr"],
        "wave": WAVE_NAMES["fr"],
        "inference": {"HC1": "robustes à l'hétéroscédasticité (HC1)"},
        "estimator": {
            "callaway_santanna": "Callaway et Sant'Anna",
            "did2s": "deux étapes de Gardner (did2s)",
            "twfe": "effets fixes à deux dimensions, naïf (biaisé)",
        },
    },
    "en": {
        "measure": _REGISTRY_MEASURES["en"],
        "location_precision": {
            "commune": "commune",
            "departement": "département",
            "region": "région",
        },
        "contiguity": {
            "queen": "contiguity (shared border or vertex)",
            "knn": "nearest neighbours",
        },
        "distribution": {"F": "Fisher's F distribution", "chi2": "chi-squared distribution"},
        "date_precision": {"wave": "the label's wave", "year": "the year only"},
        "first_wave": WAVE_NAMES["en"],
        "wave": WAVE_NAMES["en"],
        "inference": {"HC1": "heteroskedasticity-robust (HC1)"},
        "estimator": {
            "callaway_santanna": "Callaway and Sant'Anna",
            "did2s": "Gardner's two-stage (did2s)",
            "twfe": "two-way fixed effects, naive (biased)",
        },
    },
}
"""Codes that methods write in a table column, in words (``VALUE_LABELS[lang][column][code]``):
:func:`analysis.report_content.display_table` shows these words, the CSV keeps the codes."""


CLUSTERED_INFERENCE: dict[str, str] = {
    "fr": "regroupées par {what}",
    "en": "clustered by {what}",
}
"""An ``inference`` of ``analysis.dose_response`` (``CRV1 clustered by reg_code``) in words."""


def value_label(column: str, value: Any, lang: str = "fr") -> Any:
    """A code of a known column in words (:data:`VALUE_LABELS`); any other value unchanged.

    A clustered ``inference`` (``CRV1 clustered by reg_code``) reads ``regroupées par région``.
    """
    if not isinstance(value, str):
        return value
    if column == "inference":
        found = re.fullmatch(r"CRV1 clustered by (\w+)", value)
        if found:
            what = SPECIFICATION_TEXT[check_lang(lang)].get(found[1], found[1])
            return CLUSTERED_INFERENCE[lang].format(what=what)
    return VALUE_LABELS[check_lang(lang)].get(column, {}).get(value, value)


DROPPED_REASONS: dict[str, dict[str, str]] = {
    "en": {
        "labelled_before_panel": "labelled before the panel's second period",
        "labelled_after_panel": "labelled after the panel ends: kept as never treated",
        "outcome_incomplete": "outcome missing in some period",
        "unknown_date": "hosts a {kind} of unknown date: neither treated at a known date nor "
        "control",
        "no_series": "labelled {kind} but no {indicator} series at level {level}",
    },
    "fr": {
        "labelled_before_panel": "labellisé avant la deuxième période du panel",
        "labelled_after_panel": "labellisé après la fin du panel : gardé comme jamais traité",
        "outcome_incomplete": "indicateur manquant à certaines périodes",
        "unknown_date": "accueille un {kind} de date inconnue : ni traité à une date connue, "
        "ni témoin",
        "no_series": "labellisé {kind} mais sans série « {indicator} » à la maille {level}",
    },
}
"""Why a territory is left out of a staggered design (``analysis.staggered``,
``analysis.datasets.compute_staggered``): the ``reason`` column holds the English words
(:func:`dropped_reason_text`), a report shows them in its language (:func:`dropped_reason`)."""


def dropped_reason_text(code: str, **values: str) -> str:
    """The English ``reason`` of a left-out territory (the words of the CSV)."""
    return DROPPED_REASONS["en"][code].format(**values)


def dropped_reason(reason: str, lang: str = "fr") -> str:
    """A ``reason`` of :data:`DROPPED_REASONS` (English words) in ``lang``; others unchanged.

    The fields are put in words too: a kind (``ptce`` → ``PTCE``), an indicator
    (its label), a level (``ze2020`` → ``zone d'emploi``).
    """
    check_lang(lang)
    for code, template in DROPPED_REASONS["en"].items():
        pattern = re.escape(template)
        for field in ("kind", "indicator", "level"):
            pattern = pattern.replace(re.escape("{" + field + "}"), f"(?P<{field}>\\S+)")
        found = re.fullmatch(pattern, str(reason))
        if not found:
            continue
        values = found.groupdict()
        if "kind" in values:
            values["kind"] = KIND_LABELS[lang].get(values["kind"], values["kind"])
        if "indicator" in values and values["indicator"] in INDICATORS.index:
            values["indicator"] = label(values["indicator"], lang)
        if "level" in values:
            values["level"] = LEVEL_NAMES[lang].get(values["level"], values["level"])
        return DROPPED_REASONS[lang][code].format(**values)
    return str(reason)
