"""Placing rows on the map: the gazetteer, commune names and resolution to a territory.

A row (of the registry or of a public list) is placed by its commune code
(current, municipal arrondissement, former code through the crosswalk), else its
commune name with its département (current names, then names of former
communes — communes déléguées and associées — from the backbone), else its
coordinates, else its département or région alone. Every failure is a
:class:`~analysis.problems.RegistryProblem` naming the row, the value and the fix.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from analysis.checks import is_number
from analysis.problems import RegistryError, RegistryProblem
from analysis.territories import COMMUNE_CODE_PATTERN, FORMER_NAME_COLUMNS

LOCATION_COLUMNS = ("commune_code", "commune_name", "dep_code", "reg_code", "longitude", "latitude")
"""Columns a row can be placed by, in the order they are tried (names need ``dep_code``)."""

INPUT_COLUMNS = (*LOCATION_COLUMNS, "perimeter_communes")
"""Every column :func:`locate_rows` reads (missing ones count as empty)."""

ARRONDISSEMENT_PARENTS = (
    (75101, 75120, "75056"),  # Paris
    (69381, 69389, "69123"),  # Lyon
    (13201, 13216, "13055"),  # Marseille
)
"""Municipal arrondissement codes (COG) and the commune they belong to."""


_ARTICLES = frozenset({"le", "la", "les", "l"})
_SAINTS = {"saint": "st", "sainte": "ste"}
COMMUNE_CODE = re.compile(COMMUNE_CODE_PATTERN)
"""A commune code of the COG (compiled)."""


def normalise_commune_name(name: str) -> str:
    """A matching key that ignores case, accents, punctuation, articles and Saint/St.

    ``"L'Île-Saint-Denis"``, ``"ile st denis"`` and ``"Île-Saint-Denis (L')"`` give
    the same key. Articles (le, la, les, l') are dropped wherever they stand;
    ``saint``/``sainte`` become ``st``/``ste``; spaces are removed last.
    """
    text = name.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae").replace("Æ", "Ae")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    tokens = [t for t in re.split(r"[^a-z0-9]+", text) if t and t not in _ARTICLES]
    return "".join(_SAINTS.get(t, t) for t in tokens)


def arrondissement_parent(code: str) -> str | None:
    """The commune of a municipal arrondissement code (Paris, Lyon, Marseille), else None."""
    if not code.isdigit():
        return None
    number = int(code)
    for low, high, parent in ARRONDISSEMENT_PARENTS:
        if low <= number <= high:
            return parent
    return None


@dataclass(frozen=True)
class _FormerCommune:
    name: str
    code: str
    kind: str
    commune_code: str


class Gazetteer:
    """Look-ups over communes, former codes and former names (build once, reuse: indexing
    35,000 names takes time)."""

    def __init__(
        self,
        communes: pd.DataFrame,
        crosswalk: pd.DataFrame | None,
        former_names: pd.DataFrame | None = None,
    ):
        needed = {"commune_code", "commune_name", "dep_code", "reg_code"}
        missing = needed - set(communes.columns)
        if missing:
            raise ValueError(
                f"communes frame lacks columns {sorted(missing)}; pass territories.load_communes()."
            )
        table = pd.DataFrame(communes.drop(columns="geometry", errors="ignore"))
        if table["commune_code"].duplicated().any():
            raise ValueError("communes frame has duplicate commune_code values.")
        self.table = table.set_index("commune_code")
        self.names = self.table["commune_name"].astype(str).to_dict()
        self.deps = self.table["dep_code"].astype(str).to_dict()
        keys = self.table["commune_name"].astype(str).map(normalise_commune_name)
        self.by_dep_key: dict[tuple[str, str], list[str]] = {}
        self.by_key: dict[str, list[str]] = {}
        self.keys_by_dep: dict[str, dict[str, list[str]]] = {}
        for code, key in keys.items():
            dep = self.deps[code]
            self.by_dep_key.setdefault((dep, key), []).append(code)
            self.by_key.setdefault(key, []).append(code)
            self.keys_by_dep.setdefault(dep, {}).setdefault(key, []).append(code)
        dep_reg = self.table[["dep_code", "reg_code"]].drop_duplicates()
        if dep_reg["dep_code"].duplicated().any():
            raise ValueError("communes frame maps a dep_code to several reg_code values.")
        self.dep_to_reg = dict(zip(dep_reg["dep_code"], dep_reg["reg_code"], strict=True))
        self.regs = set(self.dep_to_reg.values())
        self.old: dict[str, list[str]] = {}
        if crosswalk is not None and len(crosswalk):
            pairs = (
                crosswalk[["old_commune_code", "commune_code"]]
                .astype(str)
                .drop_duplicates()
                .sort_values(["old_commune_code", "commune_code"])
            )
            for old_code, new_code in zip(
                pairs["old_commune_code"], pairs["commune_code"], strict=True
            ):
                self.old.setdefault(old_code, []).append(new_code)
        self.former_by_dep_key: dict[tuple[str, str], list[_FormerCommune]] = {}
        self.former_by_key: dict[str, list[_FormerCommune]] = {}
        if former_names is not None and len(former_names):
            for entry in former_names[list(FORMER_NAME_COLUMNS)].astype(str).itertuples():
                if entry.commune_code not in self.names:
                    continue
                former = _FormerCommune(
                    entry.former_name, entry.former_code, entry.kind, entry.commune_code
                )
                key = normalise_commune_name(entry.former_name)
                self.former_by_dep_key.setdefault((entry.dep_code, key), []).append(former)
                self.former_by_key.setdefault(key, []).append(former)

    def label(self, code: str) -> str:
        return f"{self.names.get(code, '?')} ({code}, dép. {self.deps.get(code, '?')})"


@dataclass
class _Resolution:
    commune_code: str | None = None
    method: str = ""
    precision: str | None = None
    dep_code: str | None = None
    reg_code: str | None = None
    needs_point: bool = False
    detail: str = ""


_FORMER_KIND_WORDS = {"deleguee": "déléguée", "associee": "associée"}


def _former_label(former: _FormerCommune, gazetteer: Gazetteer) -> str:
    kind = _FORMER_KIND_WORDS.get(former.kind, former.kind)
    return f"{former.name} ({former.code}, commune {kind}) → {gazetteer.label(former.commune_code)}"


def _resolve_name(
    name: str,
    dep: str,
    gazetteer: Gazetteer,
    row: int,
    column: str,
    problems: list[RegistryProblem],
) -> tuple[str, str, str] | None:
    """(commune code, method, detail) of a commune name in a département, else None.

    Today's names first (method ``name``), then names of former communes
    (``former_name``; detail says which commune it became).
    """
    key = normalise_commune_name(name)
    if not dep:
        listed = [gazetteer.label(c) for c in gazetteer.by_key.get(key, [])]
        listed += [_former_label(f, gazetteer) for f in gazetteer.former_by_key.get(key, [])]
        problems.append(
            RegistryProblem(
                row,
                column,
                name,
                "a commune name needs its département; candidates: "
                f"{'; '.join(listed[:10]) or 'none'}.",
                "fill dep_code (or give commune_code).",
            )
        )
        return None
    if dep not in gazetteer.keys_by_dep:
        return None  # reported once by the dep_code check
    candidates = gazetteer.by_dep_key.get((dep, key), [])
    if len(candidates) == 1:
        return candidates[0], "name", ""
    if candidates:
        listed = "; ".join(gazetteer.label(c) for c in candidates)
        problems.append(
            RegistryProblem(
                row,
                column,
                name,
                f"several communes of département {dep} match: {listed}.",
                "give commune_code to choose one.",
            )
        )
        return None
    former = gazetteer.former_by_dep_key.get((dep, key), [])
    targets = sorted({f.commune_code for f in former})
    if len(targets) == 1:
        return targets[0], "former_name", _former_label(former[0], gazetteer)
    if targets:
        listed = "; ".join(_former_label(f, gazetteer) for f in former)
        problems.append(
            RegistryProblem(
                row,
                column,
                name,
                f"several former communes of département {dep} had this name and now belong "
                f"to different communes: {listed}.",
                "give the commune_code of today's commune to choose one.",
            )
        )
        return None
    keys = gazetteer.keys_by_dep[dep]
    close = difflib.get_close_matches(key, list(keys), n=5, cutoff=0.75)
    if not close:  # e.g. "Montaigu" for "Montaigu-Vendée"
        close = [k for k in keys if k.startswith(key) or key.startswith(k)][:5]
    listed = "; ".join(gazetteer.label(c) for k in close for c in keys[k]) or "none"
    elsewhere = [gazetteer.label(c) for c in gazetteer.by_key.get(key, [])]
    elsewhere += [_former_label(f, gazetteer) for f in gazetteer.former_by_key.get(key, [])]
    message = f"no commune of that name in département {dep}; close names: {listed}."
    fix = "correct the spelling (the COG 2025 name), or give commune_code."
    if elsewhere:
        message += f" In other départements: {'; '.join(elsewhere[:10])}."
        fix = "correct dep_code (or the name), or give commune_code."
    problems.append(RegistryProblem(row, column, name, message, fix))
    return None


def _resolve_code(code: str, gazetteer: Gazetteer) -> tuple[list[str], str]:
    if code in gazetteer.names:
        return [code], "code"
    parent = arrondissement_parent(code)
    if parent is not None and parent in gazetteer.names:
        return [parent], "arrondissement"
    if code in gazetteer.old:
        targets = [c for c in gazetteer.old[code] if c in gazetteer.names]
        return targets, "old_code"
    return [], "unknown"


def _resolve_row(
    row: int,
    values: pd.Series,
    gazetteer: Gazetteer,
    strict_codes: bool,
    problems: list[RegistryProblem],
) -> _Resolution:
    code = values["commune_code"]
    name = values["commune_name"]
    dep = values["dep_code"]
    reg = values["reg_code"]
    has_point = bool(values["longitude"]) and bool(values["latitude"])
    if dep and dep not in gazetteer.dep_to_reg:
        problems.append(
            RegistryProblem(
                row,
                "dep_code",
                dep,
                "unknown département code.",
                "use a code of the COG 2025 (e.g. '01', '2A', '974').",
            )
        )
    if reg and reg not in gazetteer.regs:
        problems.append(
            RegistryProblem(
                row,
                "reg_code",
                reg,
                "unknown région code.",
                "use an INSEE région code of the COG 2025 (e.g. '84').",
            )
        )
    resolution = _Resolution()
    if code:
        targets, method = _resolve_code(code, gazetteer)
        if len(targets) == 1:
            resolution.commune_code, resolution.method = targets[0], method
            if method != "code":
                resolution.detail = f"{code} → {gazetteer.label(targets[0])}"
            if (
                method == "code"
                and name
                and normalise_commune_name(name) != normalise_commune_name(gazetteer.names[code])
            ):
                problems.append(
                    RegistryProblem(
                        row,
                        "commune_name",
                        name,
                        f"commune_code {code} is {gazetteer.label(code)}, not this name.",
                        "correct the code or the name (or empty one of them).",
                    )
                )
        elif has_point and (len(targets) > 1 or not strict_codes):
            resolution.needs_point = True
            resolution.method = "coordinates_split_code" if targets else "coordinates_unknown_code"
        elif targets:
            listed = "; ".join(gazetteer.label(c) for c in targets)
            problems.append(
                RegistryProblem(
                    row,
                    "commune_code",
                    code,
                    f"this former code was split between several communes: {listed}.",
                    "give today's commune_code, or longitude/latitude.",
                )
            )
        else:
            problems.append(
                RegistryProblem(
                    row,
                    "commune_code",
                    code,
                    "unknown commune code (neither current nor former).",
                    "check the INSEE code (COG 2025), or give commune_name with dep_code.",
                )
            )
    elif name:
        found = _resolve_name(name, dep, gazetteer, row, "commune_name", problems)
        if found:
            resolution.commune_code, resolution.method, resolution.detail = found
    elif has_point:
        resolution.needs_point, resolution.method = True, "coordinates"
    elif dep:
        resolution.precision, resolution.method = "departement", "departement"
        resolution.dep_code = dep
        resolution.reg_code = gazetteer.dep_to_reg.get(dep)
    elif reg:
        resolution.precision, resolution.method, resolution.reg_code = "region", "region", reg
    if resolution.commune_code:
        resolution.precision = "commune"
        resolution.dep_code = gazetteer.deps[resolution.commune_code]
        resolution.reg_code = gazetteer.dep_to_reg[resolution.dep_code]
        if (
            dep
            and dep in gazetteer.dep_to_reg
            and dep != resolution.dep_code
            and resolution.method not in ("name", "former_name")
        ):
            problems.append(
                RegistryProblem(
                    row,
                    "dep_code",
                    dep,
                    f"the commune {gazetteer.label(resolution.commune_code)} "
                    "is in another département.",
                    "correct dep_code or the commune.",
                )
            )
    if reg and reg in gazetteer.regs:
        implied = resolution.reg_code or (gazetteer.dep_to_reg.get(dep) if dep else None)
        if implied and implied != reg:
            problems.append(
                RegistryProblem(
                    row,
                    "reg_code",
                    reg,
                    f"the location is in région {implied}, not {reg}.",
                    "correct reg_code or the commune/département.",
                )
            )
    return resolution


def _points_to_communes(
    points: pd.DataFrame, communes: pd.DataFrame, tolerance_m: float | None
) -> pd.DataFrame:
    """Commune of each point (index kept): columns commune_code, method, distance_m."""
    if "geometry" not in communes.columns or not isinstance(communes, gpd.GeoDataFrame):
        raise ValueError(
            "locating by coordinates needs the communes' boundaries "
            "(territories.load_communes(with_geometry=True))."
        )
    if communes.crs is None:
        raise ValueError("the communes GeoDataFrame has no CRS.")
    polygons = communes[["commune_code", "geometry"]]
    polygons = polygons[polygons.geometry.notna() & ~polygons.geometry.is_empty]
    geo = gpd.GeoDataFrame(
        index=points.index,
        geometry=gpd.points_from_xy(
            points["longitude"].astype(float), points["latitude"].astype(float)
        ),
        crs="EPSG:4326",
    ).to_crs(polygons.crs)
    geo.index.name = "point_row"
    joined = gpd.sjoin(geo, polygons, how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    result = pd.DataFrame(
        {"commune_code": joined["commune_code"], "method": "coordinates", "distance_m": 0.0},
        index=geo.index,
    )
    outside = result["commune_code"].isna()
    if outside.any():
        metric = geo[outside]
        polys = polygons
        if not polygons.crs.is_projected:
            metric = metric.to_crs(3857)
            polys = polygons.to_crs(3857)
        nearest = gpd.sjoin_nearest(metric, polys, how="left", distance_col="distance_m")
        nearest = nearest[~nearest.index.duplicated(keep="first")]
        result.loc[outside, "distance_m"] = nearest["distance_m"]
        accept = outside & (
            result["distance_m"] <= (tolerance_m if tolerance_m is not None else -1)
        )
        result.loc[accept, "commune_code"] = nearest.loc[accept[accept].index, "commune_code"]
        result.loc[accept, "method"] = "coordinates_nearest"
        result.loc[outside & ~accept, "nearest_code"] = nearest["commune_code"]
    return result


def locate_rows(
    frame: pd.DataFrame,
    communes: pd.DataFrame,
    crosswalk: pd.DataFrame | None = None,
    *,
    strict_codes: bool = True,
    nearest_tolerance_m: float | None = None,
    former_names: pd.DataFrame | None = None,
    gazetteer: Gazetteer | None = None,
) -> tuple[pd.DataFrame, list[RegistryProblem]]:
    """Place every row on a commune, département or région, and list what fails.

    Resolution order per row: ``commune_code`` (current, municipal arrondissement →
    its commune, former code → today's commune through ``crosswalk``), else
    ``commune_name`` + ``dep_code`` (matched with :func:`normalise_commune_name`
    against today's names, then against ``former_names``: a commune déléguée or
    associée resolves to the commune it belongs to, ``location_method =
    former_name``), else ``longitude``/``latitude`` (point in polygon), else ``dep_code`` alone
    (precision ``departement``), else ``reg_code`` alone (``region``). A former
    code split between several communes falls back to the coordinates when the
    row has them. ``perimeter_communes`` (names or codes separated by ';') are
    resolved the same way; the first listed commune is the row's location.

    Args:
        frame: registry rows (index = row numbers), location columns as :data:`INPUT_COLUMNS`.
        communes: ``territories.load_communes()`` (geometry needed only for coordinates).
        crosswalk: ``territories.commune_code_crosswalk()`` (old_commune_code,
            commune_code, weight).
        strict_codes: when False (public lists), an unknown code with coordinates is
            placed by its coordinates instead of being a problem.
        nearest_tolerance_m: when set, a point outside every commune but this close
            to one is placed in it (``location_method = coordinates_nearest``).
        former_names: ``territories.load_former_commune_names()`` (former_code,
            former_name, dep_code, commune_code, kind); without it only today's
            names resolve.
        gazetteer: a :class:`Gazetteer` already built from the same frames (reuse
            it when locating several tables).

    Returns:
        (located rows, problems). Located rows keep the input columns, overwrite
        commune_code/dep_code/reg_code with the resolved ones (empty when not
        located) and add commune_name_official, epci_code, ze2020_code,
        perimeter_commune_codes, location_precision, location_method and
        location_detail (for a former name or code: which commune it became).
    """
    frame = frame.copy()
    for column in INPUT_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    frame[list(INPUT_COLUMNS)] = frame[list(INPUT_COLUMNS)].fillna("").astype(str)
    for column in ("longitude", "latitude"):
        frame[column] = frame[column].str.replace(",", ".", regex=False)
    gazetteer = gazetteer or Gazetteer(communes, crosswalk, former_names)
    problems: list[RegistryProblem] = []
    resolutions: dict[int, _Resolution] = {}
    perimeters: dict[int, str] = {}
    for row, values in frame.iterrows():
        resolutions[row] = _resolve_row(int(row), values, gazetteer, strict_codes, problems)
        perimeters[row] = _resolve_perimeter(int(row), values, gazetteer, problems)
    wanted = [row for row, r in resolutions.items() if r.needs_point]
    point_rows = [
        row
        for row in wanted
        if is_number(frame.at[row, "longitude"]) and is_number(frame.at[row, "latitude"])
    ]
    if point_rows:
        found = _points_to_communes(
            frame.loc[point_rows, ["longitude", "latitude"]], communes, nearest_tolerance_m
        )
        for row in point_rows:
            code = found.at[row, "commune_code"]
            resolution = resolutions[row]
            if isinstance(code, str) and code:
                resolution.commune_code = code
                resolution.precision = "commune"
                if found.at[row, "method"] == "coordinates_nearest":
                    resolution.method = "coordinates_nearest"
                resolution.dep_code = gazetteer.deps[code]
                resolution.reg_code = gazetteer.dep_to_reg[resolution.dep_code]
            else:
                nearest = found.at[row, "nearest_code"] if "nearest_code" in found else None
                hint = (
                    f" The nearest commune is {gazetteer.label(nearest)}, "
                    f"{found.at[row, 'distance_m'] / 1000:.1f} km away."
                    if isinstance(nearest, str)
                    else ""
                )
                problems.append(
                    RegistryProblem(
                        int(row),
                        "longitude",
                        f"{frame.at[row, 'longitude']}, {frame.at[row, 'latitude']}",
                        "the point lies in no commune." + hint,
                        "check longitude/latitude (decimal degrees, WGS84, longitude first).",
                    )
                )
    located = frame.copy()
    located["commune_code"] = [resolutions[r].commune_code for r in frame.index]
    located["dep_code"] = [resolutions[r].dep_code for r in frame.index]
    located["reg_code"] = [resolutions[r].reg_code for r in frame.index]
    located["location_precision"] = [resolutions[r].precision for r in frame.index]
    located["location_method"] = [
        resolutions[r].method if resolutions[r].precision else None for r in frame.index
    ]
    located["location_detail"] = [
        resolutions[r].detail if resolutions[r].precision else None for r in frame.index
    ]
    located["perimeter_commune_codes"] = [perimeters[r] for r in frame.index]
    attributes = gazetteer.table.reindex(columns=["commune_name", "epci_code", "ze2020_code"])
    attributes = attributes.rename(columns={"commune_name": "commune_name_official"})
    located = located.drop(
        columns=[
            c for c in ("commune_name_official", "epci_code", "ze2020_code") if c in located.columns
        ]
    )
    located = located.join(attributes, on="commune_code", validate="many_to_one")
    for column in (
        "commune_code",
        "dep_code",
        "reg_code",
        "location_precision",
        "location_method",
        "location_detail",
        "commune_name_official",
        "epci_code",
        "ze2020_code",
        "perimeter_commune_codes",
    ):
        located[column] = located[column].astype("str").where(located[column].notna(), None)
        located[column] = located[column].replace({"": None, "None": None, "nan": None})
    return located, sorted(problems, key=lambda p: (p.row or 0, p.column))


def _resolve_perimeter(
    row: int, values: pd.Series, gazetteer: Gazetteer, problems: list[RegistryProblem]
) -> str:
    text = values.get("perimeter_communes", "")
    if not text:
        return ""
    codes: list[str] = []
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        if COMMUNE_CODE.match(item):
            targets, _method = _resolve_code(item, gazetteer)
            if len(targets) == 1:
                codes.append(targets[0])
            else:
                problems.append(
                    RegistryProblem(
                        row,
                        "perimeter_communes",
                        item,
                        "unknown or split commune code in the perimeter.",
                        "give today's INSEE code or the commune's name.",
                    )
                )
        else:
            found = _resolve_name(
                item, values["dep_code"], gazetteer, row, "perimeter_communes", problems
            )
            if found:
                codes.append(found[0])
    return ";".join(dict.fromkeys(codes))


def locate(
    frame: pd.DataFrame, communes: pd.DataFrame, crosswalk: pd.DataFrame | None = None, **options
) -> pd.DataFrame:
    """:func:`locate_rows`, raising :class:`RegistryError` with every problem when any."""
    located, problems = locate_rows(frame, communes, crosswalk, **options)
    if problems:
        raise RegistryError(frame.attrs.get("path", "registry"), problems)
    return located
