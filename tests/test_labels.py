"""Tests of analysis.labels: numbers, dates, labels from the dictionary, specification names."""

from __future__ import annotations

import string

import pandas as pd
import pytest

from analysis import indicators, keys, labels, resilience, sources
from figure_data import (
    MINUS,
    NBSP,
    NNBSP,
    SYNTHETIC_DICTIONARY,
)


@pytest.mark.parametrize(
    ("value", "lang", "decimals", "kwargs", "expected"),
    [
        (12345.678, "fr", 1, {}, f"12{NNBSP}345,7"),
        (12345.678, "en", 1, {}, "12,345.7"),
        (12.5, "fr", 1, {"percent": True}, f"12,5{NBSP}%"),
        (12.5, "en", 1, {"percent": True}, "12.5%"),
        (-0.04, "fr", 1, {}, "0,0"),  # rounds to zero: no minus sign
        (-1234567.0, "fr", 0, {}, f"{MINUS}1{NNBSP}234{NNBSP}567"),
        (0.3, "fr", 2, {"sign": True}, "+0,30"),
        (-0.3, "en", 2, {"sign": True}, f"{MINUS}0.30"),
        (999.96, "fr", 1, {}, f"1{NNBSP}000,0"),
        (float("nan"), "fr", 1, {}, "n.d."),
        (None, "en", 1, {}, "n/a"),
    ],
)
def test_format_number(value, lang, decimals, kwargs, expected):
    assert labels.format_number(value, lang, decimals, **kwargs) == expected


def test_format_number_rejects_unknown_language():
    with pytest.raises(ValueError, match="lang"):
        labels.format_number(1.0, "de")


def test_format_date_in_both_languages():
    import datetime as dt

    assert labels.format_date(dt.date(2026, 11, 1), "fr") == "1er novembre 2026"
    assert labels.format_date(dt.date(2026, 11, 26), "en") == "26 November 2026"


@pytest.mark.parametrize(
    ("lang", "rate", "jobs"),
    [
        ("fr", "Taux de chômage", "Emploi salarié (emplois)"),
        ("en", "Unemployment rate", "Salaried employment (jobs)"),
    ],
)
def test_labels_come_from_the_dictionary_in_both_languages(lang, rate, jobs):
    assert labels.label("unemployment_rate", lang, dictionary=SYNTHETIC_DICTIONARY) == rate
    assert labels.axis_label("salaried_employment", lang, dictionary=SYNTHETIC_DICTIONARY) == jobs
    assert labels.is_percent("unemployment_rate", dictionary=SYNTHETIC_DICTIONARY)
    assert not labels.is_percent("salaried_employment", dictionary=SYNTHETIC_DICTIONARY)


def test_unknown_indicator_lists_the_known_ones():
    with pytest.raises(KeyError, match="salaried_employment"):
        labels.label("no_such_indicator", dictionary=SYNTHETIC_DICTIONARY)


def test_resilience_measures_have_title_labels_in_both_languages():
    models = pytest.importorskip("analysis.models")
    resilience = pytest.importorskip("analysis.resilience")
    for measure in ("resistance_lagravinese", "recovery_lagravinese"):
        assert measure in resilience.INDEX_COLUMNS
        for lang in labels.LANGS:
            title = labels.label(measure, lang)
            assert (
                title[0].isupper() and title.lower() in labels.OUTCOME_LABELS[measure][lang].lower()
            )
    assert labels.label("resistance_lagravinese", "en") == "Resistance index (Lagravinese)"
    for covariate in models.DEFAULT_CONTROLS:  # every covariate of the balance plot has a label
        assert labels.label(covariate, "fr") and labels.label(covariate, "en")


@pytest.mark.parametrize(
    ("code", "french", "english"),
    [
        ("difference_in_means", "Différence de moyennes", "Difference in means"),
        (
            "ols_hc3+controls+reg_code_fe",
            "Régression (MCO, erreurs HC3) + contrôles + effets fixes région",
            "Regression (OLS, HC3 errors) + controls + région fixed effects",
        ),
        (
            "nn_matching_k3_biascorr_exact_reg_code",
            "Appariement (3 plus proches voisins), biais corrigé, exact sur région",
            "Matching (3 nearest neighbours), bias-corrected, exact on région",
        ),
        (
            "permutation_difference_in_means_within_reg_code",
            "Test de permutation (différence de moyennes), au sein de chaque région",
            "Permutation test (difference in means), within each région",
        ),
        ("continuous_ols_hc3", "Régression (MCO, erreurs HC3)", "Regression (OLS, HC3 errors)"),
        ("a_new_estimator", "a_new_estimator", "a_new_estimator"),
    ],
)
def test_specification_labels(code, french, english):
    assert labels.specification_label(code, "fr") == french
    assert labels.specification_label(code, "en") == english


def test_measure_label_drops_the_article_and_capitalises():
    assert labels.measure_label("resistance_lagravinese", "fr").startswith("Indice de")
    assert labels.measure_label("rise_pp", "en").startswith("Rise in")
    assert labels.measure_label("initiatives_per_100k", "en").startswith("Initiatives")
    assert labels.measure_label("unknown_measure") == "unknown_measure"


# --- the dictionary file -----------------------------------------------------------------


def test_dictionary_file_has_named_keys_and_known_sources():
    frame = labels.INDICATORS
    assert frame.index.is_unique and len(frame) > 30
    catalogue = set(sources.load_catalogue())
    for name, row in frame.iterrows():
        assert set(row["source_ids"]) <= catalogue | set(labels.PROJECT_CITATIONS), name
        assert row["aggregation"] in labels.AGGREGATIONS, name
        for lang in keys.LANGS:
            assert row[f"label_{lang}"] and row[f"definition_{lang}"], name
            assert row[f"unit_label_{lang}"] == labels.UNITS[row["unit"]][lang], name
    # a note is appended to the definitions of the entries naming it
    assert frame.at["median_living_standard_eur", "definition_en"].endswith("in the backbone.")
    # the indicators module reads the same table, through labels
    assert indicators.INDICATORS is labels.INDICATORS
    assert indicators.indicator_info("poverty_rate_pct").equals(frame.loc["poverty_rate_pct"])
    assert set(labels.OUTCOME_HIGHER_IS_BETTER) <= set(labels.OUTCOMES.index)


def _write(tmp_path, text: str):
    path = tmp_path / "dictionary.toml"
    path.write_text(text, encoding="utf-8")
    return path


ENTRY = """
[units.pct]
label_fr = "%"
label_en = "%"

[indicators.rate]
label_fr = "Taux"
label_en = "Rate"
unit = "{unit}"
definition_fr = "Un taux."
definition_en = "A rate."
sources = ["insee_itdd"]
aggregation = "{aggregation}"
"""


def test_dictionary_file_errors_name_the_file_the_entry_and_the_fix(tmp_path):
    good = labels.read_indicator_dictionary(
        _write(tmp_path, ENTRY.format(unit="pct", aggregation="sum"))
    )
    assert good.at["rate", "unit_label_en"] == "%" and good.at["rate", "source_ids"] == (
        "insee_itdd",
    )
    with pytest.raises(ValueError, match=r"dictionary.toml: \[indicators.rate\] has unit 'km'"):
        labels.read_indicator_dictionary(
            _write(tmp_path, ENTRY.format(unit="km", aggregation="sum"))
        )
    with pytest.raises(ValueError, match="aggregation 'mean'; use one of sum"):
        labels.read_indicator_dictionary(
            _write(tmp_path, ENTRY.format(unit="pct", aggregation="mean"))
        )
    with pytest.raises(ValueError, match=r"\[indicators.rate\] lacks sources"):
        labels.read_indicator_dictionary(
            _write(tmp_path, ENTRY.format(unit="pct", aggregation="sum").replace("sources", "#"))
        )
    with pytest.raises(ValueError, match="not valid TOML"):
        labels.read_indicator_dictionary(_write(tmp_path, "[indicators.rate\n"))


@pytest.mark.integration
def test_every_indicator_of_the_built_panel_has_an_entry_and_vice_versa(indicators_built):
    built = set(indicators.load_indicators()["indicator"].astype(str).unique())
    assert built == set(labels.INDICATORS.index)


# --- one logic, two vocabularies ------------------------------------------------------------


def _fields(template: str) -> set[str]:
    """The named fields of a template, less ``nbsp`` (French typography only)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name} - {"nbsp"}


@pytest.mark.parametrize(
    "table",
    [
        labels.TEXT,
        labels.ALT_TEXT,
        labels.KIND_LABELS,
        labels.SPECIFICATION_TEXT,
        labels.SUMMARIES,
        labels.SENTENCES,
        labels.CAUTIONS,
        labels.TIMING_NOTES,
        labels.TREATMENT_LABELS,
        labels.REFERENCE_HEADERS,
        labels.PROFILE_NOTES,
        labels.COLUMN_LABELS,
        labels.DROPPED_REASONS,
        labels.FICHE_TEXT,
    ],
)
def test_french_and_english_have_the_same_keys_and_fields(table):
    assert set(table["fr"]) == set(table["en"])
    for key, french in table["fr"].items():
        assert _fields(french) == _fields(table["en"][key]), key


def test_every_kind_has_a_label_in_both_languages():
    for lang in keys.LANGS:
        assert set(keys.KINDS) <= set(labels.KIND_LABELS[lang])
    assert labels.kind_label("groupement_employeurs", "fr") == "Groupement d'employeurs"
    assert labels.kind_label("scop", "en") == "SCOP (worker cooperative)"
    with pytest.raises(KeyError, match="known: ptce"):
        labels.kind_label("cooperative", "fr")


def test_p_values_and_summaries_in_both_languages():
    assert labels.format_p(0.0004, "fr") == "p < 0,001"
    assert labels.format_p(0.0456, "en") == "p = 0.046"
    assert labels.format_p(float("nan"), "fr") == "p n.d."
    line = labels.summary("cooperation", "en", n=12, treated=3, missing="none")
    assert line == "12 territories, 3 treated; missing controls: none."
    with pytest.raises(KeyError, match="known keys: cooperation"):
        labels.summary("nothing", "fr")
    with pytest.raises(ValueError, match="lang"):
        labels.sentence("counts", "de", n=1)
    assert labels.national_name("FRM", "en") == "Metropolitan France"


def test_title_form_and_lower_first():
    assert labels.title_form("l'indice de résistance") == "Indice de résistance"
    assert labels.lower_first("PTCE récents") == "PTCE récents"
    assert labels.lower_first("Taux de chômage") == "taux de chômage"
    assert isinstance(labels.MEASURES, pd.DataFrame)


def test_report_words_have_one_home_and_the_old_names_still_work():
    from analysis import report_content
    from analysis.reports import words

    assert words.text is labels.site_text and words.prose is labels.prose
    assert words.phrase("shock", "covid_2020") == "le choc du Covid-19"
    assert words.WORDS_FILE == labels.REPORT_WORDS_FILE
    assert labels.REPORT_WORDS_FILE.parent == labels.DICTIONARY_FILE.parent
    assert report_content.COLUMN_LABELS is labels.COLUMN_LABELS
    assert labels.count_phrase("ze2020", 22, treated=True) == "22 zones d'emploi traitées"
    assert labels.takeaways(["a", ""], "en") == "> **Key points**\n>\n> - a"
    for lang in ("fr", "en"):
        assert set(labels.VALUE_LABELS[lang]) == set(labels.VALUE_LABELS["fr"])
        for table in ("text", "prose"):
            assert set(labels._REPORT_WORDS[table][lang]) == set(labels._REPORT_WORDS[table]["fr"])


@pytest.mark.parametrize(
    ("level", "treatment", "shock", "lang", "expected"),
    [
        ("ze2020", "is_ptce_territory", "covid_2020", "fr",
         "# Les zones d'emploi avec un PTCE ont-elles mieux traversé le choc du Covid-19\u00a0?"),
        ("dep", "is_tzcld_territory", "recession_2008", "fr",
         "# Les départements avec un projet Territoire zéro chômeur ont-ils mieux traversé la "
         "récession de 2008-2009\u00a0?"),
        ("ze2020", "is_ptce_before_shock", "covid_2020", "en",
         "# Did employment zones with a PTCE founded before the shock weather the COVID-19 "
         "shock better?"),
    ],
)  # fmt: skip
def test_comparison_question_is_the_run_s_parameters_in_words(level, treatment, shock, lang,
                                                             expected):  # fmt: skip
    assert labels.comparison_question(level, treatment, shock, lang) == expected
    intro = labels.comparison_intro(level, treatment, "rise_vs_nation_pp", lang)
    assert "`" not in intro and treatment not in intro and "rise_vs" not in intro


def test_dropped_reasons_read_in_the_page_s_language():
    english = labels.dropped_reason_text("no_series", kind="ptce", indicator="unemployment_rate",
                                         level="dep")  # fmt: skip
    assert english == "labelled ptce but no unemployment_rate series at level dep"
    assert labels.dropped_reason(english, "fr") == (
        "labellisé PTCE mais sans série « Taux de chômage » à la maille département"
    )
    assert labels.dropped_reason(english, "en") == (
        "labelled PTCE but no Unemployment rate series at level département"
    )
    assert labels.dropped_reason("something else", "fr") == "something else"
    assert labels.value_label("estimator", "did2s", "fr") == "deux étapes de Gardner (did2s)"
    assert labels.value_label("first_wave", "aap2013_laureat", "fr") == "appel 2013, lauréat"
    assert labels.value_label("estimator", "unknown", "fr") == "unknown"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_shock_has_a_name_in_labels(lang):
    names = {labels.shock_label(shock, lang) for shock in resilience.SHOCKS.index}
    assert len(names) == len(resilience.SHOCKS)
    assert labels.shock_label("covid_2020", "fr") == "Choc du Covid-19 (2020)"
    with pytest.raises(KeyError, match="recession_2008"):
        labels.shock_label("flood_1910", lang)
