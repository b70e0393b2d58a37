"""What report notebooks show beyond the science modules: map joins, profiles, registry tables.

The notebooks stay thin (no ``def`` in a notebook): the few tables they build
that no science module owns — a territory's *fiche* against its région and
France, a ranking, the registry coverage — are built here, as small functions of
DataFrames. The tables they take are loaded by :mod:`analysis.datasets`
(``territory_profile``, ``indicators_vs_references``, ``profile_series``,
``profile_resilience``, ``load_initiatives``).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown

from analysis import hashing, labels
from analysis.checks import require_columns
from analysis.keys import NATIONAL_CODES
from analysis.labels import (  # the table words live in labels; re-exported for callers
    COLUMN_LABELS,
    EMPTY_TABLE,
    FULL_TABLE_NOTE,
    OUTCOME_HIGHER_IS_BETTER,
    REFERENCE_HEADERS,
    YES_NO,
    format_number,
)

SERIES_ROLES = ("territory", "zone", "region", "national")
"""Rows of :func:`analysis.datasets.profile_series`, in drawing order (coloured by
``analysis.figures.SERIES_COLOURS``)."""


PROFILE_INDICATORS: tuple[str, ...] = (
    "population",
    "density_inhab_km2",
    "unemployment_rate",
    "employment_rate_15_64_pct",
    "median_living_standard_eur",
    "poverty_rate_pct",
    "interdecile_ratio",
    "rural_population_share_pct",
    "ess_share_salaried_jobs_pct",
    "salaried_employment_sa",
)
"""Indicators of a *fiche territoriale*, when the source covers the territory's level."""

PROFILE_MEASURES: tuple[str, ...] = (
    "resistance_lagravinese",
    "recovery_lagravinese",
    "rise_vs_nation_pp",
    "recovery_vs_nation_pp",
)
"""Resilience measures reported in a territory profile (when the indicator has them)."""


# --------------------------------------------------------------------------- pure helpers


def figure_sources(source_ids: Iterable[Any]) -> list[str]:
    """Citation ids for a figure of cooperation rows (the rows' ``source_id`` values).

    Catalogue ids and the registry's own id (``registry``, a key of
    ``analysis.labels.PROJECT_CITATIONS``) are both understood by
    ``analysis.figures.source_line`` as they are.

    Args:
        source_ids: ``source_id`` values of the rows shown (repeats and
            missing values allowed).

    Returns:
        Sorted unique ids.
    """
    return sorted({str(s) for s in source_ids if s is not None and not pd.isna(s) and str(s)})


def attach_to_territories(
    layer: pd.DataFrame, values: pd.DataFrame, *, fill_zero_prefix: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Join per-territory values onto a territory layer (one row per territory each).

    Args:
        layer: From ``territories.load_territories`` (column ``territory_code``).
        values: Indexed by territory code (index name free). Columns already
            in ``layer`` are not duplicated.
        fill_zero_prefix: Columns starting with it (counts such as ``n_``) are
            0 for territories absent from ``values``.

    Returns:
        (the layer with the values, the codes of ``values`` that are not in
        the layer — reported, never silently dropped).

    Raises:
        ValueError: duplicated codes in either table.
    """
    values = values.drop(columns=[c for c in values.columns if c in layer.columns])
    values.index = values.index.astype(str)
    if values.index.has_duplicates:
        duplicated = sorted(set(values.index[values.index.duplicated()]))[:10]
        raise ValueError(f"values have duplicated territory codes: {duplicated}")
    merged = layer.merge(
        values, left_on="territory_code", right_index=True, how="left", validate="one_to_one"
    )
    if fill_zero_prefix:
        for column in values.columns:
            if str(column).startswith(fill_zero_prefix):
                merged[column] = merged[column].fillna(0)
    unmatched = sorted(set(values.index) - set(layer["territory_code"].astype(str)))
    return merged, unmatched


def rank_territories(
    frame: pd.DataFrame, measure: str, *, n: int = 10, higher_is_better: bool = True
) -> pd.DataFrame:
    """The ``n`` best and ``n`` worst territories on a measure.

    Args:
        frame: One row per territory with ``territory_code``, ``territory_name``
            and ``measure``.
        measure: Column to rank on (missing values are left out).
        n: Territories at each end.
        higher_is_better: Direction of "best".

    Returns:
        Columns ``group`` (``best``/``worst``), ``rank`` (1 = best of all),
        ``territory_code``, ``territory_name``, ``measure`` value; ties are
        broken by code so the table is reproducible.
    """
    data = frame.loc[frame[measure].notna(), ["territory_code", "territory_name", measure]]
    ordered = data.sort_values(
        [measure, "territory_code"], ascending=[not higher_is_better, True], kind="mergesort"
    ).reset_index(drop=True)
    ordered.insert(0, "rank", range(1, len(ordered) + 1))
    best = ordered.head(n).assign(group="best")
    worst = ordered.tail(min(n, max(len(ordered) - n, 0))).assign(group="worst")
    columns = ["group", "rank", "territory_code", "territory_name", measure]
    return pd.concat([best, worst], ignore_index=True)[columns]


def window_table(window: Any) -> pd.DataFrame:
    """A shock window (``resilience.ShockWindow``) as a one-row table."""
    return pd.DataFrame([asdict(window)])


def shock_spans(resilience_table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """``(peak, recovery_end, label)`` of the shocks with a window, for ``plot_series``."""
    rows = resilience_table.dropna(subset=["peak", "recovery_end"])
    return [(r.peak, r.recovery_end, r.shock_label) for r in rows.itertuples()]


# --------------------------------------------------------------------------- territory profile


@dataclass(frozen=True)
class TerritoryProfile:
    """A territory and the references it is compared with.

    Attributes:
        level: Its level (``reg``, ``dep``, ``ze2020``, ``epci``).
        territory_code: Its code.
        territory_name: Its name.
        population: Its population (backbone vintage).
        region_code: Its région (the région of most of its inhabitants);
            empty for a région itself.
        region_name: That région's name.
        zone_code: For an EPCI, the zone d'emploi of most of its inhabitants
            (labour-market indicators such as unemployment exist by zone, not
            by EPCI); empty otherwise.
        zone_name: That zone's name.
    """

    level: str
    territory_code: str
    territory_name: str
    population: int
    region_code: str = ""
    region_name: str = ""
    zone_code: str = ""
    zone_name: str = ""

    @property
    def reference_names(self) -> str:
        """The references in words (``Auvergne-Rhône-Alpes, France``)."""
        return ", ".join(filter(None, [self.region_name, "France"]))


def majority_parent(communes: pd.DataFrame, child_column: str, parent_column: str) -> pd.Series:
    """The parent territory holding most of each child territory's inhabitants (pure).

    Args:
        communes: One row per commune with ``child_column``, ``parent_column``
            and ``population``.
        child_column: E.g. ``epci_code``.
        parent_column: E.g. ``ze2020_code``.

    Returns:
        Parent code indexed by child code (ties: the smallest parent code).
    """
    population = (
        communes.groupby([child_column, parent_column], observed=True)["population"]
        .sum()
        .reset_index()
        .sort_values([child_column, "population", parent_column], ascending=[True, False, True])
    )
    majority = population.drop_duplicates(child_column).set_index(child_column)[parent_column]
    majority.index = majority.index.astype(str)
    return majority.astype(str).rename_axis("territory_code")


def profile_from_tables(
    level: str,
    territory_code: str,
    layer: pd.DataFrame,
    regions: pd.DataFrame,
    majority_region: pd.Series | None,
    *,
    zones: pd.DataFrame | None = None,
    majority_zone: pd.Series | None = None,
) -> TerritoryProfile:
    """Build a :class:`TerritoryProfile` from the territory tables (pure).

    Args:
        level: The territory's level.
        territory_code: Its code.
        layer: ``load_territories(level)`` (code, name, population).
        regions: ``load_territories("reg")``.
        majority_region: Région code by territory code (ignored for ``reg``).
        zones: ``load_territories("ze2020")`` (names), for an EPCI.
        majority_zone: Zone d'emploi code by EPCI code, for an EPCI.

    Raises:
        KeyError: the code is not a territory of that level (lists some codes).
    """
    rows = layer.loc[layer["territory_code"].astype(str) == territory_code]
    if rows.empty:
        sample = ", ".join(sorted(layer["territory_code"].astype(str))[:12])
        raise KeyError(f"{territory_code!r} is not a {level} code (e.g. {sample})")
    row = rows.iloc[0]
    region_code = ""
    if level != "reg" and majority_region is not None:
        region_code = str(majority_region.get(territory_code, ""))
    region_names = regions.set_index(regions["territory_code"].astype(str))["territory_name"]
    zone_code = zone_name = ""
    if majority_zone is not None and zones is not None:
        zone_code = str(majority_zone.get(territory_code, ""))
        zone_names = zones.set_index(zones["territory_code"].astype(str))["territory_name"]
        zone_name = str(zone_names.get(zone_code, "")) if zone_code else ""
    return TerritoryProfile(
        level=level,
        territory_code=territory_code,
        territory_name=str(row["territory_name"]),
        population=int(row["population"]),
        region_code=region_code,
        region_name=str(region_names.get(region_code, "")) if region_code else "",
        zone_code=zone_code,
        zone_name=zone_name,
    )


def reference_values(
    own: pd.DataFrame, region: pd.DataFrame | None, france: pd.DataFrame | None
) -> dict[str, Any]:
    """The territory's latest period the references share, and the three values there (pure).

    The territory's latest period is used when its région and France have a value
    there too. When the territory is newer (a département's 2022 figure while the
    région and France stop in 2021), the values are those of the latest period
    common to the three, so that they compare like with like; ``latest_period``
    keeps the territory's own latest period. With no common period at all the
    territory's latest is kept and the missing references stay NaN.

    Args:
        own: One-row wide panel of the territory (columns periods).
        region: One-row wide panel of its région, or ``None``.
        france: Wide panel at level ``fr`` (rows ``FR``/``FRM``), or ``None``.

    Returns:
        ``period``, ``territory``, ``region``, ``france`` (NaN when absent) and
        ``latest_period`` (the territory's latest, equal to ``period`` unless it fell back).
    """
    observed = own.iloc[0].dropna() if len(own) else pd.Series(dtype="float64")
    if observed.empty:
        return {
            "period": None,
            "territory": float("nan"),
            "region": float("nan"),
            "france": float("nan"),
            "latest_period": None,
        }

    def value_at(panel: pd.DataFrame | None, period: str, codes: Sequence[str] | None = None):
        if panel is None or period not in panel.columns:
            return float("nan")
        candidates = [c for c in (codes or list(panel.index)) if c in panel.index]
        for code in candidates:
            value = panel.loc[code, period]
            if pd.notna(value):
                return float(value)
        return float("nan")

    def references_at(period: str) -> dict[str, float]:
        return {
            "region": value_at(region, period),
            "france": value_at(france, period, NATIONAL_CODES),
        }

    required = [
        key
        for key, panel in (("region", region), ("france", france))
        if panel is not None and len(panel)
    ]
    latest = str(observed.index[-1])
    period = latest
    for candidate in reversed([str(p) for p in observed.index]):
        found = references_at(candidate)
        if all(pd.notna(found[key]) for key in required):
            period = candidate
            break
    return {
        "period": period,
        "territory": float(observed[period]) if period in observed.index else float("nan"),
        **references_at(period),
        "latest_period": latest,
    }


def longest_national_code(france: pd.DataFrame) -> str | None:
    """The national row (``FR`` or ``FRM``) with the most observed periods (pure).

    INSEE's unemployment series has ``FR`` (with the DROM) only from 2014 and
    ``FRM`` since 1982: a long-run chart needs the latter.
    """
    present = [code for code in NATIONAL_CODES if code in france.index]
    if not present:
        return None
    return max(
        present, key=lambda code: (int(france.loc[code].notna().sum()), -present.index(code))
    )


DISPLAY_DECIMALS = {"persons": 0, "jobs": 0, "eur_per_year": 0, "inhab_per_km2": 0}
"""Decimals shown per unit in displayed tables (1 otherwise)."""


def display_references(
    references: pd.DataFrame, profile: TerritoryProfile, lang: str = "fr"
) -> pd.DataFrame:
    """The :func:`analysis.datasets.indicators_vs_references` table formatted for reading (pure).

    Numbers in the conventions of ``lang`` (``labels.format_number``: decimal
    comma and thin spaces in French, ``%`` for percentages), one column per
    place named after it; the région column is left out for a région.
    """
    headers = REFERENCE_HEADERS[lang]
    places = {"territory": profile.territory_name}
    if profile.region_code:
        places["region"] = profile.region_name
    places["france"] = headers["france"]
    shown = pd.DataFrame(
        {headers["label"]: references["label"], headers["period"]: references["period"]}
    )
    for column, name in places.items():
        shown[name] = [
            format_number(
                value, lang, DISPLAY_DECIMALS.get(str(unit), 1), percent=str(unit) == "pct"
            )
            for value, unit in zip(references[column], references["unit"], strict=True)
        ]
    shown[headers["note"]] = references["note"].fillna("")
    return shown


def resilience_row(
    indices: pd.DataFrame, window: Any, territory_code: str, shock_label: str
) -> dict[str, Any]:
    """One shock's line of a profile: the window, the territory's measures and ranks (pure).

    Ranks are among all territories of the level with a value (1 = most
    resilient), so ``3 / 18`` reads "third most resilient of 18 régions".
    """
    row: dict[str, Any] = {
        "shock": window.shock,
        "shock_label": shock_label,
        "peak": window.peak,
        "trough": window.trough,
        "recovery_end": window.recovery_end,
        "note": "",
    }
    if territory_code not in indices.index:
        row["note"] = "territory absent from the indices"
        return row
    for measure in PROFILE_MEASURES:
        if measure not in indices.columns:
            continue
        values = indices[measure].astype("float64")
        row[measure] = values.get(territory_code)
        higher = OUTCOME_HIGHER_IS_BETTER.get(measure, True)
        ranks = values.rank(ascending=not higher, method="min")
        if pd.notna(row[measure]):
            row[f"{measure}_rank"] = f"{int(ranks[territory_code])} / {int(values.notna().sum())}"
    return row


def as_mapping(profile: TerritoryProfile) -> Mapping[str, Any]:
    """The profile as a plain dict (for ``run.json``-style records and tests)."""
    return asdict(profile)


# --------------------------------------------------------------------------- tables for reading

MAX_TABLE_ROWS = 60
"""Rows shown in a report table; a longer one shows these and links its full CSV."""
MISSING = "—"
"""What a missing value reads as in a report table."""
YEAR_COLUMN_MARKERS = ("year", "annee")
"""A column whose name contains one of these holds years: shown without a thousands space."""


def column_label(column: str, lang: str = "fr") -> str:
    """Words for a table column: common columns, measures, indicators, else the name in words."""
    known = COLUMN_LABELS[lang].get(column)
    if known:
        return known
    words = labels.variable_label(column, lang)
    if words != column:
        return words
    phrase = column.replace("_", " ").strip()
    return phrase[:1].upper() + phrase[1:]


def column_decimals(values: pd.Series) -> int:
    """Meaningful decimals for a numeric column: none for whole numbers, else by magnitude.

    Three significant digits of the typical (median absolute, non-zero) value,
    between 0 and 3 decimals.
    """
    finite = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    finite = finite[finite.abs() < float("inf")]
    if finite.empty or (finite == finite.round()).all():
        return 0
    typical = finite.abs()[finite != 0].median()
    if not typical or pd.isna(typical):
        return 0
    for decimals, threshold in ((0, 100.0), (1, 10.0), (2, 1.0)):
        if typical >= threshold:
            return decimals
    return 3


def display_table(
    frame: pd.DataFrame | Mapping[str, Any],
    columns: Sequence[str] | Mapping[str, str] | None = None,
    *,
    lang: str = "fr",
    decimals: Mapping[str, int] | None = None,
    percent: Sequence[str] = (),
    max_rows: int = MAX_TABLE_ROWS,
    csv: str | None = None,
    caption: str | None = None,
) -> Any:
    """A table formatted for reading, the one way every report shows a table.

    Numbers in ``lang``'s conventions (decimal comma and thin spaces in French),
    rounded to meaningful digits; columns labelled in words; no index column;
    missing values as ``—``; booleans as oui/non; text escaped for HTML. A
    table longer than ``max_rows`` is never cut silently: with ``csv`` (a path
    relative to the report) it shows the first rows and links the full file,
    without ``csv`` it shows every row.

    Args:
        frame: The table; a meaningful index (not a plain range) becomes a column;
            a mapping is one row.
        columns: Columns to show, in order: names (labelled by
            :func:`column_label`) or a mapping name → words.
        lang: ``fr`` or ``en``.
        decimals: Decimals per column (default :func:`column_decimals`).
        percent: Columns shown with a ``%`` sign (values already in percent).
        max_rows: Rows shown when ``csv`` is given.
        csv: The table's CSV, relative to the report page (for long tables).
        caption: A caption above the table.

    Returns:
        A pandas ``Styler`` (shown by Jupyter and the HTML export), or, for a
        long table with its CSV, an ``IPython.display.HTML`` of the first rows and
        the link.
    """
    if lang not in COLUMN_LABELS:
        raise ValueError(f"lang must be one of {', '.join(COLUMN_LABELS)}, got {lang!r}")
    if isinstance(frame, Mapping):  # one record (a test's statistics): one row
        frame = pd.DataFrame([dict(frame)])
    table = frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index()
    if columns is None:
        headers = {c: column_label(str(c), lang) for c in table.columns}
    elif isinstance(columns, Mapping):
        headers = dict(columns)
    else:
        headers = {c: column_label(str(c), lang) for c in columns}
    require_columns(table, headers, "display_table")
    total = len(table)
    if total == 0:
        return HTML(f"<p>{html.escape(EMPTY_TABLE[lang])}</p>")
    shown = (
        table[list(headers)].head(max_rows) if csv and total > max_rows else table[list(headers)]
    )
    shown = shown.reset_index(drop=True)
    formatters = {}
    for column in headers:
        values = shown[column]
        if values.dtype == object and not values.map(lambda x: isinstance(x, bool)).any():
            numbers = pd.to_numeric(values, errors="coerce")
            if numbers.notna().sum() == values.notna().sum() and values.notna().any():
                shown[column] = values = numbers  # numbers stored as objects (NA mixed in)
        if str(column) == "specification":
            shown[column] = values = values.map(
                lambda v: labels.specification_label(v, lang) if isinstance(v, str) else v
            )
        if str(column) == "kind":
            names = labels.KIND_LABELS[lang]
            shown[column] = values = values.map(lambda k, names=names: names.get(k, k))
        if str(column) in labels.VALUE_LABELS[lang]:  # codes (queen, F, did2s) in words
            shown[column] = values = values.map(
                lambda v, c=str(column): labels.value_label(c, v, lang)
            )
        if str(column) == "inference":
            shown[column] = values = values.map(lambda v: labels.value_label("inference", v, lang))
        if str(column) == "dose":  # n_ptce_per_100k → "PTCE pour 100 000 habitants"
            shown[column] = values = values.map(
                lambda v: labels.dose_label(v, lang) if isinstance(v, str) else v
            )
        if str(column) == "reason":  # a left-out territory's reason, in the page's language
            shown[column] = values = values.map(
                lambda v: labels.dropped_reason(v, lang) if isinstance(v, str) else v
            )
        if pd.api.types.is_bool_dtype(values):
            yes, no = YES_NO[lang]
            formatters[column] = lambda x, yes=yes, no=no: yes if x else no
        elif pd.api.types.is_numeric_dtype(values) and any(
            marker in str(column).lower() for marker in YEAR_COLUMN_MARKERS
        ):
            formatters[column] = lambda x: str(int(x))
        elif pd.api.types.is_numeric_dtype(values):
            digits = (decimals or {}).get(column, column_decimals(table[column]))
            formatters[column] = lambda x, d=digits, p=column in percent: format_number(
                x, lang, d, percent=p
            )
        else:
            formatters[column] = lambda x: str(x)
    uuid = hashing.sha256_json(
        {"columns": list(map(str, headers)), "rows": shown.astype(str).values.tolist()}
    )[:12]
    styler = (
        shown.style.format(formatters, na_rep=MISSING, escape="html")
        .format_index(lambda c: headers[c], axis=1, escape="html")
        .hide(axis="index")
        .set_uuid(uuid)
    )
    text_columns = [c for c in headers if not pd.api.types.is_numeric_dtype(shown[c])]
    if text_columns:
        styler = styler.set_properties(subset=text_columns, **{"text-align": "left"})
    if caption:
        styler = styler.set_caption(html.escape(caption))
    if not (csv and total > max_rows):
        return styler
    note = html.escape(FULL_TABLE_NOTE[lang].format(shown=len(shown), total=total))
    link = f'<a href="{html.escape(csv, quote=True)}">{html.escape(csv.rsplit("/", 1)[-1])}</a>'
    return HTML(f"{styler.to_html()}<p>{note}{link}</p>")


def markdown(text: str) -> Any:
    """Report prose (Markdown) a notebook shows: rendered by Jupyter and in the report page."""
    return Markdown(text)
