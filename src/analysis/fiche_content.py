"""What a territory's fiche shows, as small pure functions of DataFrames.

The fiche (``notebooks/territory_fiche.ipynb``) is one page per territory: its
initiatives, its indicators beside its région and France, its resilience to
the two shocks, its sub-territories and its comparable territories. The
tables it takes are loaded by :mod:`analysis.datasets` (``fiche_*``
functions); here they are ranked, matched, joined and rendered as HTML
(numbers in the conventions of the language, "—" where there is no value,
user text escaped).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from analysis.hashing import sha256_text
from analysis.keys import KINDS, LANGS
from analysis.labels import (
    AUTHORITY_KIND_NAMES,
    FICHE_TEXT,
    KIND_NAMES,
    KIND_SHORT_NAMES,
    LEVEL_NAMES,
    WAVE_NAMES,
    colon,
    format_number,
)

SUB_LEVEL: dict[str, str] = {"reg": "dep", "dep": "ze2020"}
"""The level of the sub-territories mapped in a fiche (none below a zone or an EPCI)."""

NEIGHBOUR_CONTROLS: tuple[str, ...] = (
    "log_population",
    "log_density",
    "unemployment_before_2008",
    "unemployment_before_2020",
    "poverty_rate_pct",
    "rural_population_share_pct",
)
"""Pre-shock controls the comparable territories are matched on (standardised)."""

N_NEIGHBOURS = 5
"""Comparable territories shown in a fiche."""

FIGURE_FORMATS: tuple[str, ...] = ("png", "svg")
"""What a fiche saves of each figure: the print PNG (300 dpi, also shown on the page) and
the SVG to edit.

No PDF per figure (the fiche itself is printed to an A4 PDF) and no 16:9 slide
version (``ptce deck --report fiche-…`` puts the print PNG on the slide): the
national reports keep all four formats. Measured on 2026-12-02, one fiche's
notebook in a warm process: 2.1 s with the slide version, 1.8 s without."""

MISSING = "—"
"""What a table shows where there is no value."""

_SAFE_URL = re.compile(r"^https?://", re.IGNORECASE)
_NUMBER_LIKE = re.compile(r"^(—|[−\-+]?[\d\u202f\u00a0 ,.]+(%| %|\u202f%)?( / \d+)?)$")

PRINT_ROWS_PER_KIND = 4
"""Initiatives of each kind listed on the printed fiche (the page lists them all)."""


def wave_name(wave: Any, lang: str = "fr") -> str:
    """A wave in words ("—" when missing)."""
    if wave is None or (not isinstance(wave, str) and pd.isna(wave)) or str(wave) == "":
        return MISSING
    return WAVE_NAMES[lang].get(str(wave), str(wave).replace("_", " "))


# --------------------------------------------------------------------------- ranks


def rank_label(values: pd.Series, code: str, *, higher_first: bool = True, lang: str = "fr") -> str:
    """The rank of ``code`` among the territories with a value (``"3 / 18"``), else "—".

    Args:
        values: One value per territory (index: codes); missing values are
            left out of the count.
        code: The territory ranked.
        higher_first: Rank 1 is the highest value (else the lowest).
        lang: ``fr`` or ``en`` (the same form in both).
    """
    del lang  # the form "3 / 18" reads the same in both languages
    observed = pd.to_numeric(values, errors="coerce").dropna()
    observed.index = observed.index.astype(str)
    if code not in observed.index:
        return MISSING
    ranks = observed.rank(ascending=not higher_first, method="min")
    return f"{int(ranks[code])} / {len(observed)}"


# --------------------------------------------------------------------------- comparable territories


def neighbour_controls(base: pd.DataFrame) -> pd.DataFrame:
    """The matching variables of :data:`NEIGHBOUR_CONTROLS` from pre-shock values.

    Args:
        base: One row per territory (index: codes) with ``population``,
            ``area_km2`` and any of ``unemployment_before_2008``,
            ``unemployment_before_2020``, ``poverty_rate_pct``,
            ``rural_population_share_pct``.

    Returns:
        One row per territory; the columns of :data:`NEIGHBOUR_CONTROLS` that
        could be built (population and density on a log scale: a city of a
        million is not a hundred times "more" than one of ten thousand for
        matching purposes).
    """
    table = base.copy()
    table.index = table.index.astype(str)
    table.index.name = "territory_code"
    if "population" in table:
        population = pd.to_numeric(table["population"], errors="coerce")
        table["log_population"] = np.log(population.where(population > 0))
        if "area_km2" in table:
            density = population / pd.to_numeric(table["area_km2"], errors="coerce")
            table["log_density"] = np.log(density.where(density > 0))
    return table[[c for c in NEIGHBOUR_CONTROLS if c in table.columns]]


def nearest_territories(
    controls: pd.DataFrame,
    code: str,
    *,
    k: int = N_NEIGHBOURS,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The ``k`` territories closest to ``code`` on standardised pre-shock controls.

    Variables the territory itself lacks are left out; territories lacking one
    of the remaining variables are left out too. Each variable is
    standardised (mean 0, standard deviation 1 over the territories kept), so
    none weighs more for its unit; distances are Euclidean
    (``sklearn.neighbors.NearestNeighbors``).

    Args:
        controls: One row per territory (index: codes), numeric columns.
        code: The territory matched.
        k: Number of neighbours.
        columns: Variables used (default: every column).

    Returns:
        ``territory_code``, ``distance`` (in standard deviations), ``rank``
        (1 = nearest), nearest first, the territory itself excluded;
        ``attrs["variables"]`` lists the variables used.

    Raises:
        KeyError: ``code`` is not in ``controls``.
        ValueError: the territory has no control, or fewer than two territories remain.
    """
    table = controls.copy()
    table.index = table.index.astype(str)
    if code not in table.index:
        raise KeyError(f"nearest_territories: {code!r} has no row in the controls")
    numeric = table[list(columns or table.columns)].apply(pd.to_numeric, errors="coerce")
    variables = [c for c in numeric.columns if pd.notna(numeric.at[code, c])]
    variables = [c for c in variables if numeric[c].nunique(dropna=True) > 1]
    if not variables:
        raise ValueError(f"nearest_territories: {code!r} has no control to match on")
    usable = numeric[variables].dropna()
    if len(usable) < 2:
        raise ValueError("nearest_territories: fewer than two territories have every control")
    scaled = StandardScaler().fit_transform(usable.to_numpy(dtype=float))
    n = min(k + 1, len(usable))
    model = NearestNeighbors(n_neighbors=n).fit(scaled)
    position = usable.index.get_loc(code)
    distances, indices = model.kneighbors(scaled[[position]])
    found = pd.DataFrame({"territory_code": usable.index[indices[0]], "distance": distances[0]})
    found = found[found["territory_code"] != code].head(k)
    # equal distances: the smaller code first, so the table is reproducible
    found = found.sort_values(["distance", "territory_code"], kind="mergesort")
    found.insert(0, "rank", range(1, len(found) + 1))
    found = found.reset_index(drop=True)
    found.attrs["variables"] = variables
    return found


def comparison_table(
    code: str,
    neighbours: pd.DataFrame,
    names: pd.Series,
    controls: pd.DataFrame,
    measures: Mapping[str, pd.Series],
) -> pd.DataFrame:
    """The territory and its comparable territories side by side, with each shock's measure.

    Args:
        code: The territory.
        neighbours: From :func:`nearest_territories`.
        names: Territory names indexed by code.
        controls: The controls shown (index: codes), e.g. population and the
            unemployment rate before each shock.
        measures: One Series per column to show (e.g. ``{"2008-2009": rise,
            "2020": rise}``), indexed by code.

    Returns:
        One row per territory, the territory first: ``territory_code``,
        ``territory_name``, ``is_self``, ``distance``, the control columns,
        then one column per measure (NaN where a territory has no value).
    """
    codes = [code, *neighbours["territory_code"].astype(str)]
    distance = neighbours.set_index(neighbours["territory_code"].astype(str))["distance"]
    names = names.copy()
    names.index = names.index.astype(str)
    table = pd.DataFrame({"territory_code": codes})
    table["territory_name"] = [names.get(c, c) for c in codes]
    table["is_self"] = table["territory_code"] == code
    table["distance"] = [0.0 if c == code else float(distance.get(c)) for c in codes]
    shown = controls.copy()
    shown.index = shown.index.astype(str)
    for column in shown.columns:
        table[column] = shown[column].reindex(codes).to_numpy()
    for column, series in measures.items():
        values = series.copy()
        values.index = values.index.astype(str)
        table[column] = pd.to_numeric(values.reindex(codes), errors="coerce").to_numpy()
    return table


# --------------------------------------------------------------------------- sub-territories


def children_of(majority_parent: pd.Series, parent_code: str) -> list[str]:
    """Codes of the sub-territories whose majority parent is ``parent_code`` (sorted)."""
    parents = majority_parent.astype(str)
    return sorted(str(c) for c in parents.index[parents == str(parent_code)])


def sub_territory_table(
    children: pd.DataFrame, measures: Mapping[str, pd.Series], *, higher_is_better: bool = True
) -> pd.DataFrame:
    """The sub-territories of a fiche with each shock's measure and their rank among themselves.

    Args:
        children: ``territory_code``, ``territory_name`` (and any column to keep),
            one row per sub-territory.
        measures: One Series per shock label, indexed by code.
        higher_is_better: Direction of the measure (rank 1 = most resilient).

    Returns:
        ``children`` with one value column per shock and a ``<label> rank``
        column (``"2 / 5"``; "—" without a value), sorted by code.
    """
    table = children.copy()
    table["territory_code"] = table["territory_code"].astype(str)
    if table["territory_code"].duplicated().any():
        raise ValueError("sub_territory_table: duplicated sub-territory codes")
    table = table.sort_values("territory_code", kind="mergesort").reset_index(drop=True)
    for label, series in measures.items():
        values = pd.to_numeric(series, errors="coerce")
        values.index = values.index.astype(str)
        own = values.reindex(table["territory_code"])
        own.index = table["territory_code"]
        table[label] = own.to_numpy()
        table[f"{label} rank"] = [
            rank_label(own, c, higher_first=higher_is_better) for c in table["territory_code"]
        ]
    return table


# --------------------------------------------------------------------------- initiatives


def territory_initiatives(
    initiatives: pd.DataFrame, code_column: str, code: str, precisions: Sequence[str]
) -> pd.DataFrame:
    """The initiatives of one territory, kinds in display order, then by name.

    Args:
        initiatives: The located cooperation table (``kind``, ``name``,
            ``location_precision`` and ``code_column``).
        code_column: E.g. ``dep_code``.
        code: The territory.
        precisions: Location precisions that count at this level
            (``analysis.keys.LEVEL_PRECISIONS``): a row known only by its
            département is not an initiative of a zone d'emploi.
    """
    rows = initiatives[
        (initiatives[code_column].astype("string") == str(code))
        & initiatives["location_precision"].isin(list(precisions))
    ].copy()
    order = {kind: position for position, kind in enumerate(KINDS)}
    rows["_order"] = rows["kind"].map(order).fillna(len(order))
    rows = rows.sort_values(["_order", "kind", "name"], kind="mergesort")
    return rows.drop(columns="_order").reset_index(drop=True)


def kind_counts(initiatives: pd.DataFrame) -> pd.Series:
    """Initiatives per kind: every kind of :data:`analysis.keys.KINDS`, then any other present."""
    counts = initiatives["kind"].astype(str).value_counts()
    extra = sorted(set(counts.index) - set(KINDS))
    return counts.reindex([*KINDS, *extra], fill_value=0).astype(int)


def link(url: Any, text: str) -> str:
    """An HTML link to ``url`` (http or https only) with escaped text; "—" without a URL."""
    if url is None or pd.isna(url) or not _SAFE_URL.match(str(url).strip()):
        return MISSING
    return (
        f'<a href="{html.escape(str(url).strip(), quote=True)}" rel="noopener">'
        f"{html.escape(text)}</a>"
    )


def escaped(value: Any) -> str:
    """User text for an HTML cell: escaped, "—" when missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)) or str(value) == "":
        return MISSING
    return html.escape(str(value))


# --------------------------------------------------------------------------- rendering


def format_value(value: Any, lang: str = "fr", decimals: int = 1) -> str:
    """A number in the conventions of ``lang`` (``12,3`` and thin-space thousands in French).

    Missing values give "—"; strings are escaped and returned as they are.
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return MISSING
    if isinstance(value, str):
        return html.escape(value) if value else MISSING
    return format_number(value, lang, decimals)


def html_table(
    frame: pd.DataFrame,
    *,
    lang: str = "fr",
    decimals: Mapping[str, int] | None = None,
    html_columns: Sequence[str] = (),
    highlight: pd.Series | None = None,
    caption: str = "",
    print_hidden: pd.Series | None = None,
) -> str:
    """An HTML table for reading (pandas Styler): no index, numbers formatted, no NaN.

    Args:
        frame: Columns already named in words.
        lang: Number conventions.
        decimals: Decimals per numeric column (default 1).
        html_columns: Columns that already hold safe HTML (links); every other
            text cell is escaped.
        highlight: Boolean per row: rows shown in bold (the territory itself).
        caption: Table caption (escaped).
        print_hidden: Boolean per row: rows left out of the printed page
            (class ``fiche-more``; the screen shows them all).

    Columns whose every cell reads as a number, a rank or "—" are right-aligned,
    the others left-aligned.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    decimals = dict(decimals or {})
    shown = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if column in html_columns:
            shown[column] = values.fillna(MISSING).astype(str)
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            shown[column] = [format_value(v, lang, decimals.get(column, 1)) for v in values]
        else:
            shown[column] = [escaped(v) for v in values]
    shown.columns = [html.escape(str(c)) for c in shown.columns]
    numeric = [c for c in shown.columns if shown[c].map(_NUMBER_LIKE.match).notna().all()]
    styler = shown.style.hide(axis="index")
    styler = styler.set_uuid("f" + sha256_text(shown.to_csv())[:10])
    styler = styler.set_properties(
        subset=[c for c in shown.columns if c not in numeric], **{"text-align": "left"}
    ).set_properties(subset=numeric, **{"text-align": "right"})
    styler = styler.set_table_styles(
        {c: [{"selector": "th", "props": "text-align: right;"}] for c in numeric}, overwrite=False
    )
    if print_hidden is not None:
        hidden = np.asarray(print_hidden, dtype=bool)
        classes = pd.DataFrame(
            [["fiche-more" if h else ""] * len(shown.columns) for h in hidden],
            index=shown.index,
            columns=shown.columns,
        )
        styler = styler.set_td_classes(classes)
    if caption:
        styler = styler.set_caption(html.escape(caption))
    if highlight is not None:
        bold = pd.Series(np.asarray(highlight, dtype=bool), index=shown.index)
        styler = styler.apply(
            lambda row: ["font-weight: bold" if bold[row.name] else "" for _ in row], axis=1
        )
    return styler.set_table_attributes('class="fiche-table"').to_html()


def markdown_escape(text: str) -> str:
    """Text safe inside Markdown: Markdown and HTML punctuation backslashed."""
    return re.sub(r"([\\`*_\[\]#<>|])", r"\\\1", str(text))


# --------------------------------------------------------------------------- series


def indexed_series(wide: pd.DataFrame, base_period: str | None = None) -> pd.DataFrame:
    """Each row as an index (100 at ``base_period``), to compare levels of different sizes.

    Args:
        wide: Rows are series, columns periods.
        base_period: The period set to 100 (default: the first period every
            row observes).

    Raises:
        ValueError: no period is observed by every row.
    """
    observed = [c for c in wide.columns if wide[c].notna().all()]
    if base_period is None:
        if not observed:
            raise ValueError("indexed_series: no period observed by every series")
        base_period = observed[0]
    base = pd.to_numeric(wide[base_period], errors="coerce")
    indexed = wide.apply(pd.to_numeric, errors="coerce").div(base, axis=0) * 100
    indexed.attrs = {**wide.attrs, "base_period": str(base_period)}
    return indexed


# --------------------------------------------------------------------------- words and pages


FICHE_STYLE = """<style>
main { display: flex; flex-direction: column; }
main > .jp-Cell:first-child { order: 99; font-size: 0.85em; color: #444; }
.fiche-table { border-collapse: collapse; font-size: 0.85em; margin: 0.3em 0 0.8em; }
.fiche-table th, .fiche-table td { padding: 2px 6px; border-bottom: 1px solid #ddd;
  vertical-align: top; }
.fiche-table th { text-align: left !important; }
.fiche-table th.fiche-number { text-align: right !important; }
.fiche-print-only { display: none; }
img.ptce-figure { max-width: 100%; height: auto; }
img.ptce-map { max-width: 760px; }
img.ptce-series { max-width: 900px; }
@page { size: A4; margin: 10mm 10mm 10mm 10mm; }
@media print {
  body, .jp-RenderedHTMLCommon, .jp-RenderedMarkdown { font-size: 8pt !important;
    line-height: 1.3 !important; }
  main, body.jp-Notebook { padding: 0 !important; margin: 0 !important; }
  .jp-Cell, .jp-Cell-outputWrapper, .jp-OutputArea-child, .jp-OutputArea-output,
  .jp-RenderedHTMLCommon { padding: 0 !important; margin: 0 !important; }
  .jp-RenderedHTMLCommon h1 { font-size: 15pt; margin: 0 0 3pt; }
  .jp-RenderedHTMLCommon h2 { font-size: 10.5pt; margin: 4pt 0 1pt; break-after: avoid; }
  .jp-RenderedHTMLCommon h3 { font-size: 9.5pt; margin: 4pt 0 2pt; break-after: avoid; }
  .jp-RenderedHTMLCommon p { margin: 0 0 3pt; }
  img.ptce-figure { display: block; width: auto; max-width: 100%; break-inside: avoid; }
  img.ptce-map { max-height: 60mm; }
  img.ptce-series { max-height: 40mm; }
  img.ptce-submap { max-height: 44mm; }
  .jp-RenderedHTMLCommon table.fiche-table { font-size: 7pt !important; margin: 0 0 3pt; }
  .fiche-table th, .fiche-table td { padding: 0.5pt 3pt; }
  .fiche-table tr { break-inside: avoid; }
  .fiche-more { display: none; }
  .fiche-print-only { display: block; font-size: 7pt; color: #444; }
  main > .jp-Cell:first-child { display: none; }
}
</style>"""
"""The fiche's screen and print stylesheet (A4, margins, figures sized to fit two pages)."""


def fiche_title(profile: Any, lang: str = "fr") -> str:
    """The Markdown title: the territory's name, its level and code."""
    return FICHE_TEXT[lang]["title"].format(
        name=markdown_escape(profile.territory_name),
        level=LEVEL_NAMES[lang][profile.level],
        code=markdown_escape(profile.territory_code),
    )


def fiche_intro(profile: Any, counts: pd.Series, n_unlocated: int, lang: str = "fr") -> str:
    """The fiche's opening paragraph (Markdown): population, région, initiatives by kind."""
    words = FICHE_TEXT[lang]
    region = (
        words["in_region"].format(region=markdown_escape(profile.region_name))
        if profile.region_name
        else ""
    )
    present = counts[counts > 0]
    details = ", ".join(f"{kind_name(k, lang)}{colon(lang)}{int(v)}" for k, v in present.items())
    text = words["intro"].format(
        population=format_value(profile.population, lang, 0),
        region=region,
        n=int(counts.sum()),
        details=details or MISSING,
    )
    if n_unlocated:
        text += words["unlocated"].format(m=n_unlocated)
    return text


def kind_name(kind: str, lang: str = "fr") -> str:
    """A kind of initiative in words (an unknown kind as written, underscores as spaces)."""
    return KIND_NAMES[lang].get(kind, str(kind).replace("_", " "))


def local_authority_text(involvement: pd.DataFrame, territory_code: str, lang: str = "fr") -> str:
    """One sentence on the local authorities of a territory's PTCE, from the registry.

    Args:
        involvement: ``cooperation.local_authority_involvement`` with the waves pooled
            (one row per ``territory_code``: ``n_ptce``, ``n_ptce_with_authority``,
            ``n_ptce_authority_lead`` …, ``n_ptce_with_<authority kind>``).
        territory_code: the fiche's territory.

    Returns:
        Markdown: how many PTCE involve a local authority, in which role and of which
        kind; that the cited pages name none; or "" when the territory has no PTCE.
    """
    words = FICHE_TEXT[lang]
    rows = involvement[involvement["territory_code"].astype(str) == str(territory_code)]
    if rows.empty or not int(rows["n_ptce"].sum()):
        return ""
    involvement = rows.sum(numeric_only=True)
    count = lambda column: int(involvement.get(column, 0) or 0)  # noqa: E731
    n = count("n_ptce")
    one = "_one" if n == 1 else ""
    if not count("n_ptce_with_authority"):
        return words["authorities_none"].format(
            subject=words[f"authorities_subject{one}"].format(n=n)
        )
    kinds = [
        f"{name} ({count(f'n_ptce_with_{kind}')})"
        for kind, name in AUTHORITY_KIND_NAMES[lang].items()
        if count(f"n_ptce_with_{kind}")
    ]
    share = words[f"authorities_share{one}"].format(
        with_authority=count("n_ptce_with_authority"), n=n
    )
    return words["authorities"].format(
        share=share,
        lead=count("n_ptce_authority_lead"),
        member=count("n_ptce_authority_member"),
        funder=count("n_ptce_authority_funder"),
        kinds=words["authorities_kinds"].format(kinds=", ".join(kinds)) if kinds else "",
    )


def initiatives_html(rows: pd.DataFrame, lang: str = "fr") -> str:
    """The list of a territory's initiatives: kind, name, wave, year, commune, source link."""
    words = FICHE_TEXT[lang]
    if rows.empty:
        return f"<p>{html.escape(words['no_initiative'])}</p>"
    table = pd.DataFrame(
        {
            words["kind"]: [
                KIND_SHORT_NAMES[lang].get(k, kind_name(k, lang)) for k in rows["kind"].astype(str)
            ],
            words["name"]: rows["name"],
            words["wave"]: [wave_name(w, lang) for w in rows["wave"]],
            words["year"]: [
                str(int(y)) if pd.notna(y) else MISSING
                for y in pd.to_numeric(rows["year"], errors="coerce")
            ],
            words["commune"]: rows["commune_name_official"],
            words["source"]: [link(u, words["source_link"]) for u in rows["source_url"]],
        }
    )
    position_in_kind = rows.groupby("kind", sort=False).cumcount().to_numpy()
    hidden = position_in_kind >= PRINT_ROWS_PER_KIND
    shown = html_table(
        table, lang=lang, html_columns=[words["source"]], print_hidden=pd.Series(hidden)
    )
    if hidden.any():
        note = words["print_more"].format(m=int(hidden.sum()))
        shown += f'<p class="fiche-print-only">{html.escape(note)}</p>'
    return shown


def indicators_html(references: pd.DataFrame, profile: Any, lang: str = "fr") -> str:
    """Key indicators: the territory, its région, France, the period and the rank."""
    words = FICHE_TEXT[lang]
    references = references[references["territory"].notna()]
    decimals = {"persons": 0, "jobs": 0, "eur_per_year": 0, "inhab_per_km2": 0}
    columns = {"territory": profile.territory_name}
    if profile.region_code:  # a one-département région has the département's name
        same = profile.region_name == profile.territory_name
        columns["region"] = (
            f"{words['region']} {profile.region_name}" if same else profile.region_name
        )
    columns["france"] = words["france"]
    table = pd.DataFrame({words["indicator"]: references["label"]})
    for key, name in columns.items():
        table[name] = [
            format_value(v, lang, decimals.get(str(u), 1)) if pd.notna(v) else MISSING
            for v, u in zip(references[key], references["unit"], strict=True)
        ]
    latest = references.get("latest_period", references["period"])
    table[words["period"]] = [
        words["common_period"].format(period=period, latest=newest)
        if pd.notna(period) and pd.notna(newest) and str(newest) != str(period)
        else period
        for period, newest in zip(references["period"], latest, strict=True)
    ]
    table[words["rank"]] = references["rank"]
    return html_table(table, lang=lang, html_columns=list(columns.values()))


def resilience_html(resilience: pd.DataFrame, lang: str = "fr") -> str:
    """The territory's resilience per shock: window, measures and ranks."""
    words = FICHE_TEXT[lang]
    table = pd.DataFrame({words["shock"]: resilience["shock_label"]})
    table[words["window"]] = [
        " → ".join(str(p) for p in (a, b, c)) if pd.notna(a) else MISSING
        for a, b, c in zip(
            resilience["peak"], resilience["trough"], resilience["recovery_end"], strict=True
        )
    ]
    for measure in ("rise_vs_nation_pp", "recovery_vs_nation_pp"):
        if measure in resilience:
            table[words[measure]] = pd.to_numeric(resilience[measure], errors="coerce")
            rank = resilience.get(f"{measure}_rank")
            table[words[f"{measure}_rank"]] = rank if rank is not None else MISSING
    if resilience["note"].fillna("").astype(str).str.len().any():
        table[words["note"]] = resilience["note"]
    return html_table(table, lang=lang, decimals=dict.fromkeys(table.columns, 1))


def sub_territories_html(table: pd.DataFrame, labels: Sequence[str], lang: str = "fr") -> str:
    """The sub-territories with each shock's relative rise and rank among themselves."""
    words = FICHE_TEXT[lang]
    shown = pd.DataFrame(
        {words["territory"]: table["territory_name"], words["code"]: table["territory_code"]}
    )
    for label in labels:
        shown[words["rise"].format(label=label)] = table[label]
        shown[words["rank_of"].format(label=label)] = table[f"{label} rank"]
    return html_table(shown, lang=lang)


def comparison_html(table: pd.DataFrame, labels: Sequence[str], lang: str = "fr") -> str:
    """The territory (bold) and its comparable territories with controls and shock measures."""
    words = FICHE_TEXT[lang]
    shown = pd.DataFrame(
        {
            words["territory"]: table["territory_name"],
            words["code"]: table["territory_code"],
            words["distance"]: table["distance"],
        }
    )
    decimals = {words["distance"]: 2}
    if "population" in table:
        shown[words["population"]] = table["population"]
        decimals[words["population"]] = 0
    for column in table.columns:
        if str(column).startswith("unemployment_before_"):
            year = str(column).rsplit("_", 1)[-1]
            shown[words["unemployment_before"].format(year=year)] = table[column]
    for label in labels:
        shown[words["rise"].format(label=label)] = table[label]
    return html_table(shown, lang=lang, decimals=decimals, highlight=table["is_self"])


def comparable_territories(
    controls: pd.DataFrame,
    code: str,
    names: pd.Series,
    measures: Mapping[str, pd.Series],
    *,
    k: int = N_NEIGHBOURS,
) -> tuple[pd.DataFrame, str]:
    """:func:`nearest_territories` then :func:`comparison_table`; never fails the fiche.

    Returns:
        ``(table, reason)``: the comparison table (empty when no match could
        be made) and why not (empty when it could).
    """
    try:
        neighbours = nearest_territories(neighbour_controls(controls), code, k=k)
    except (KeyError, ValueError) as error:
        return pd.DataFrame(), str(error)
    shown = controls[
        [c for c in controls.columns if c == "population" or c.startswith("unemployment_before_")]
    ]
    return comparison_table(code, neighbours, names, shown, measures), ""


def spans_within(
    spans: Sequence[tuple[str, str, str]], periods: Sequence[str]
) -> list[tuple[str, str, str]]:
    """The shock spans (``report_content.shock_spans``) that start within a series' periods.

    A series that starts in 2012 (salaried employment) gets the 2020 shock
    only, not an empty 2008 band widening its axis.
    """
    ordered = sorted(str(p) for p in periods)
    if not ordered:
        return []
    return [span for span in spans if ordered[0] <= str(span[0]) <= ordered[-1]]
