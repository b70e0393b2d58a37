"""The cooperation registry: its CSV format, reading, validation and ``check_registry``.

A registry is a plain CSV (one row per initiative and label) that the study team
edits in a spreadsheet; ``data/registry/README.md`` documents its columns. This
module reads it (clear errors for a wrong encoding, an empty file, duplicated
headers), checks it (every problem at once, with row, column, value and fix)
and, with :mod:`analysis.geocoding`, checks that every row can be placed.
:mod:`analysis.cooperation` turns it into the cooperation tables.

Row numbers are the line numbers a spreadsheet shows: the header is line 1, the
first initiative line 2. Pure functions use the frame's index as the row number;
:func:`read_registry` sets it that way.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from analysis import paths, territories
from analysis.checks import is_number
from analysis.exports import FORMULA_PREFIXES, is_formula_like
from analysis.geocoding import COMMUNE_CODE, LOCATION_COLUMNS, locate_rows
from analysis.keys import KINDS
from analysis.problems import RegistryError, RegistryProblem

REGISTRY_SOURCE_ID = "registry"
"""``source_id`` of rows that come from a registry CSV (not from the catalogue)."""

REGISTRY_COLUMNS = (
    "initiative_id",
    "name",
    "kind",
    "wave",
    "year",
    "lead_structure",
    "commune_code",
    "commune_name",
    "dep_code",
    "reg_code",
    "longitude",
    "latitude",
    "perimeter_communes",
    "themes",
    "source_url",
    "source_title",
    "note",
    "local_authorities",
    "local_authority_roles",
)
"""Columns of the registry format, in the order the project's file uses."""

REQUIRED_COLUMNS = ("initiative_id", "name", "kind", "wave", "source_url")
"""Columns that must exist and be filled on every row."""

LOCAL_AUTHORITY_ROLES = ("lead", "member", "funder", "partner", "host")
"""Roles a local authority can hold in an initiative (``local_authority_roles``)."""

LIST_SEPARATOR = ";"
"""Separator of the list columns (``perimeter_communes``, ``local_authorities``, roles)."""

TEXT_COLUMNS = (
    "initiative_id",
    "name",
    "lead_structure",
    "commune_name",
    "themes",
    "source_title",
    "note",
    "local_authorities",
)
"""Free-text columns :func:`formula_warnings` looks at."""

_DEP_PATTERN = re.compile(r"^(\d{2}|2[AB]|97[1-8])$")
_REG_PATTERN = re.compile(r"^\d{2}$")
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_WAVE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_URL_PATTERN = re.compile(r"^https?://\S+$")
_AUTHORITY_PATTERN = re.compile(r"^(?P<name>.*?)\s*(?:\((?P<code>[^()]*)\))?$")
_AUTHORITY_CODE_PATTERN = re.compile(r"^(\d{2}|2[AB]|97[1-6]|\d{5}|2[AB]\d{3}|\d{9})$")
_SAVE_AS_UTF8 = (
    "save the file as UTF-8: in Excel « Enregistrer sous » → « CSV UTF-8 (délimité par des "
    "virgules) »; in LibreOffice tick « Modifier les paramètres du filtre » and choose "
    "« Unicode (UTF-8) »."
)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def _file_problem(path: Path, column: str, value: str, message: str, fix: str) -> RegistryError:
    return RegistryError(str(path), [RegistryProblem(None, column, value, message, fix)])


def _decode(path: Path) -> str:
    """The file's text; a clear error for a file that is not UTF-8 or is empty."""
    content = path.read_bytes()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        byte = content[error.start : error.start + 1]
        try:
            guess = content.decode("cp1252")
            seen = guess[len(content[: error.start].decode("utf-8", "replace")) :][:1]
            hint = (
                f" It looks like Latin-1 / Windows-1252 (byte 0x{byte.hex()} on line {line} "
                f"would be {seen!r})."
            )
        except UnicodeDecodeError:
            hint = f" (byte 0x{byte.hex()} on line {line})."
        raise _file_problem(
            path, "", "", "the file is not UTF-8 text." + hint, _SAVE_AS_UTF8
        ) from None
    if not text.strip():
        raise _file_problem(
            path,
            "",
            "",
            "the file is empty.",
            "write the header line (see data/registry/README.md) and one row per initiative.",
        )
    return text


def _sniff_delimiter(header: str) -> str:
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_registry(path: Path | str | None = None) -> pd.DataFrame:
    """Read a registry CSV as text, without judging its cells.

    Accepts a comma-, semicolon- or tab-separated UTF-8 file (with or without the
    BOM spreadsheets add). Cells are stripped; empty cells are empty strings;
    missing optional columns are added empty.

    Args:
        path: the CSV; the project's registry when None.

    Returns:
        One row per line, indexed by the spreadsheet line number (``row``).

    Raises:
        FileNotFoundError: no such file.
        RegistryError: the file is not UTF-8, is empty, cannot be parsed as CSV or
            repeats a column name (the message names the file and the fix).
    """
    path = Path(path) if path is not None else paths.default_registry()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such registry file.")
    text = _decode(path)
    header_line = text.splitlines()[0]
    delimiter = _sniff_delimiter(header_line)
    header = [c.strip() for c in next(csv.reader([header_line], delimiter=delimiter))]
    repeated = sorted({c for c in header if header.count(c) > 1})
    for column in repeated:
        positions = [i + 1 for i, c in enumerate(header) if c == column]
        raise _file_problem(
            path,
            column,
            column,
            f"the header names the column {column!r} {len(positions)} times (columns {positions}).",
            "keep one column of that name: merge their contents or rename the extra one.",
        )
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=delimiter)
    except pd.errors.ParserError as error:
        raise _file_problem(
            path,
            "",
            "",
            f"the file cannot be read as CSV ({error}).",
            "check the quotes and that every line has as many separators as the header.",
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.apply(lambda column: column.str.strip())
    for column in REGISTRY_COLUMNS:
        if column not in frame.columns and column not in REQUIRED_COLUMNS:
            frame[column] = ""
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    frame.attrs["path"] = str(path)
    frame.attrs["header"] = header  # as written: before the missing columns were added
    return frame


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _in_range(low: float, high: float):
    def check(value: str) -> bool:
        return value == "" or (is_number(value) and low <= float(value.replace(",", ".")) <= high)

    return check


def _year_ok(value: str) -> bool:
    return value == "" or (value.isdigit() and 1980 <= int(value) <= 2100)


# check name -> (test on one cell, message, fix); the name is pandera's `error`
_CELL_CHECKS: dict[str, tuple[str, object, str, str]] = {
    "id_filled": (
        "initiative_id",
        lambda v: v != "",
        "initiative_id is empty.",
        "give the row an identifier (letters, digits, '-', '_', '.').",
    ),
    "id_format": (
        "initiative_id",
        lambda v: v == "" or bool(_ID_PATTERN.match(v)),
        "initiative_id has characters other than letters, digits, '-', '_' or '.'.",
        "write it like 'pole-sud-romans'.",
    ),
    "name_filled": ("name", lambda v: v != "", "name is empty.", "write the initiative's name."),
    "kind_known": (
        "kind",
        lambda v: v in KINDS,
        "kind is not one of the known kinds.",
        f"use one of: {', '.join(KINDS)}.",
    ),
    "wave_filled": (
        "wave",
        lambda v: v != "",
        "wave is empty.",
        "name the label or call, e.g. 'ami2021_laureat' or 'other_known'.",
    ),
    "wave_format": (
        "wave",
        lambda v: v == "" or bool(_WAVE_PATTERN.match(v)),
        "wave must be lower-case letters, digits and underscores.",
        "write it like 'ami2021_laureat'.",
    ),
    "year_format": (
        "year",
        _year_ok,
        "year is not a four-digit year between 1980 and 2100.",
        "write the year like 2014, or leave it empty when unknown.",
    ),
    "url_filled": (
        "source_url",
        lambda v: v != "",
        "source_url is empty: every row needs a source.",
        "paste the address of the public page that supports the row.",
    ),
    "url_format": (
        "source_url",
        lambda v: v == "" or bool(_URL_PATTERN.match(v)),
        "source_url is not an http(s) address.",
        "paste the full address, starting with https://.",
    ),
    "code_format": (
        "commune_code",
        lambda v: v == "" or bool(COMMUNE_CODE.match(v)),
        "commune_code is not a 5-character INSEE code.",
        "write it as text with its leading zero, e.g. '01004' or '2A004' "
        "(spreadsheets drop leading zeros: format the column as text).",
    ),
    "dep_format": (
        "dep_code",
        lambda v: v == "" or bool(_DEP_PATTERN.match(v)),
        "dep_code is not a département code.",
        "write two characters ('01', '2A') or three for overseas ('974').",
    ),
    "reg_format": (
        "reg_code",
        lambda v: v == "" or bool(_REG_PATTERN.match(v)),
        "reg_code is not a two-digit INSEE région code.",
        "write it like '84' or '01'.",
    ),
    "longitude_range": (
        "longitude",
        _in_range(-180, 180),
        "longitude is not a number in [-180, 180].",
        "write decimal degrees (WGS84), e.g. 4.835.",
    ),
    "latitude_range": (
        "latitude",
        _in_range(-90, 90),
        "latitude is not a number in [-90, 90].",
        "write decimal degrees (WGS84), e.g. 45.76.",
    ),
}


def _registry_schema() -> pa.DataFrameSchema:
    columns: dict[str, list[pa.Check]] = {}
    for name, (column, test, _message, _fix) in _CELL_CHECKS.items():
        columns.setdefault(column, []).append(pa.Check(test, element_wise=True, error=name))
    return pa.DataFrameSchema(
        {
            column: pa.Column(str, checks=checks, nullable=False)
            for column, checks in columns.items()
        },
        strict=False,
        coerce=False,
    )


def validate_registry(frame: pd.DataFrame) -> list[RegistryProblem]:
    """Check a registry's columns and cells, without the backbone.

    Covers required columns and values, kinds, formats of codes, years, URLs and
    coordinates, local authorities and their roles, duplicate (initiative_id,
    wave) pairs and rows with no location.

    Args:
        frame: a registry as :func:`read_registry` returns it (index = row numbers).

    Returns:
        Every problem found (empty when the registry is well formed).
    """
    problems: list[RegistryProblem] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    header = _header(frame)
    misspelt = {likely_column(column, header): column for column in header}
    for column in missing:
        fix = (
            f"rename the column {misspelt[column]!r} to {column!r}."
            if column in misspelt
            else f"add a column named {column!r} (see data/registry/README.md)."
        )
        problems.append(
            RegistryProblem(None, column, "", f"the required column {column!r} is missing.", fix)
        )
    if missing:
        return problems
    frame = frame.copy()
    for column in REGISTRY_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    frame = frame.fillna("").astype(str)
    try:
        _registry_schema().validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        for case in errors.failure_cases.itertuples():
            check = str(case.check)
            if check in _CELL_CHECKS:
                column, _test, message, fix = _CELL_CHECKS[check]
                problems.append(
                    RegistryProblem(int(case.index), column, str(case.failure_case), message, fix)
                )
            else:  # a dtype failure: cells that are not text
                problems.append(
                    RegistryProblem(
                        None if case.index is None else int(case.index),
                        str(case.column),
                        str(case.failure_case),
                        f"unexpected content ({check}).",
                        "save the file as CSV with text cells.",
                    )
                )
    for row, values in frame.iterrows():
        problems.extend(_local_authority_problems(int(row), values))
        if not any(values[c] for c in LOCATION_COLUMNS):
            problems.append(
                RegistryProblem(
                    int(row),
                    "commune_code",
                    "",
                    "the row has no location.",
                    "fill commune_code, or commune_name with dep_code, or longitude/latitude, "
                    "or at least dep_code or reg_code when only that is known.",
                )
            )
        if bool(values["longitude"]) != bool(values["latitude"]):
            problems.append(
                RegistryProblem(
                    int(row),
                    "longitude" if not values["longitude"] else "latitude",
                    "",
                    "longitude and latitude go together.",
                    "fill both, or neither.",
                )
            )
    duplicated = frame.duplicated(subset=["initiative_id", "wave"], keep=False) & (
        frame["initiative_id"] != ""
    )
    for row, values in frame[duplicated].iterrows():
        others = [
            int(r)
            for r in frame.index[
                duplicated
                & (frame["initiative_id"] == values["initiative_id"])
                & (frame["wave"] == values["wave"])
            ]
            if r != row
        ]
        problems.append(
            RegistryProblem(
                int(row),
                "initiative_id",
                values["initiative_id"],
                f"the pair (initiative_id, wave) also appears on row(s) {others}.",
                "an initiative appears once per wave: merge the rows or change the wave.",
            )
        )
    return sorted(problems, key=lambda p: (p.row or 0, p.column))


def split_list(text: str) -> list[str]:
    """The items of a ``;``-separated cell, stripped (empty items dropped)."""
    return [part.strip() for part in str(text).split(LIST_SEPARATOR) if part.strip()]


def parse_local_authorities(text: str) -> list[tuple[str, str]]:
    """``local_authorities`` as (name, code) pairs; code is ``""`` when not given.

    ``"Ville de Romans-sur-Isère (26281); Région Auvergne-Rhône-Alpes (84)"`` gives
    ``[("Ville de Romans-sur-Isère", "26281"), ("Région Auvergne-Rhône-Alpes", "84")]``.
    """
    pairs = []
    for item in split_list(text):
        match = _AUTHORITY_PATTERN.match(item)
        name, code = (match["name"], match["code"] or "") if match else (item, "")
        pairs.append((name.strip(), code.strip()))
    return pairs


def _local_authority_problems(row: int, values: pd.Series) -> list[RegistryProblem]:
    authorities_text = values.get("local_authorities", "")
    roles_text = values.get("local_authority_roles", "")
    authorities = parse_local_authorities(authorities_text)
    roles = split_list(roles_text)
    problems = []
    for name, code in authorities:
        if not name:
            problems.append(
                RegistryProblem(
                    row,
                    "local_authorities",
                    authorities_text,
                    "an authority has a code but no name.",
                    "write 'Name (code)', e.g. 'Région Bretagne (53)'.",
                )
            )
        if code and not _AUTHORITY_CODE_PATTERN.match(code):
            problems.append(
                RegistryProblem(
                    row,
                    "local_authorities",
                    f"{name} ({code})",
                    "the code in parentheses is not an INSEE or SIREN code.",
                    "give a commune's INSEE code (5 characters), a département (2–3), a région "
                    "(2 digits) or a 9-digit SIREN (EPCI), or leave the parentheses out.",
                )
            )
    for role in roles:
        if role not in LOCAL_AUTHORITY_ROLES:
            problems.append(
                RegistryProblem(
                    row,
                    "local_authority_roles",
                    role,
                    "unknown local authority role.",
                    f"use one of: {', '.join(LOCAL_AUTHORITY_ROLES)} (one per authority, "
                    "';'-separated, in the same order as local_authorities).",
                )
            )
    if len(roles) != len(authorities):
        problems.append(
            RegistryProblem(
                row,
                "local_authority_roles",
                roles_text,
                f"{len(authorities)} local authorit{'y' if len(authorities) == 1 else 'ies'} "
                f"but {len(roles)} role(s).",
                "give exactly one role per authority, in the same order "
                "(e.g. 'lead; funder' for two authorities).",
            )
        )
    return problems


NEAR_MISS_CUTOFF = 0.8
"""How alike (``difflib`` ratio, 0–1) an extra header name must be to a known column to be
taken for a misspelling of it: ``lead_structur``, ``lead_stucture``, ``Note``, ``theme``."""


def likely_column(name: str, present: Iterable[str] = ()) -> str | None:
    """The registry column ``name`` was probably meant to be, or ``None``.

    A header that differs from a known column by case or by a letter or two is a
    likely typo; a known column already in the header (``present``) is not suggested.
    """
    if name in REGISTRY_COLUMNS:
        return None
    candidates = [c for c in REGISTRY_COLUMNS if c not in set(present)]
    lowered = name.strip().lower().replace(" ", "_").replace("-", "_")
    if lowered in candidates:
        return lowered
    close = difflib.get_close_matches(lowered, candidates, n=1, cutoff=NEAR_MISS_CUTOFF)
    return close[0] if close else None


def _header(frame: pd.DataFrame) -> list[str]:
    """The header as the file wrote it (:func:`read_registry` adds missing columns after)."""
    return [str(c) for c in frame.attrs.get("header", frame.columns)]


def column_warnings(frame: pd.DataFrame) -> list[RegistryProblem]:
    """Extra header names that look like a misspelt registry column (extra columns are allowed).

    ``lead_structur`` would be read as an unknown extra column and ``lead_structure`` left
    empty, silently: a warning names both.
    """
    columns = _header(frame)
    warnings = []
    for column in columns:
        meant = likely_column(column, columns)
        if meant is not None:
            warnings.append(
                RegistryProblem(
                    None,
                    column,
                    "",
                    f"the header's column {column!r} is not a registry column but looks like "
                    f"{meant!r}; its values are not read as {meant}.",
                    f"rename the column {column!r} to {meant!r} (or to a name further from it "
                    "if it is an extra column of yours).",
                )
            )
    return warnings


def formula_warnings(frame: pd.DataFrame) -> list[RegistryProblem]:
    """Text cells a spreadsheet would run as a formula (they start with = + - @, tab or CR).

    Not errors: exports neutralise them (:func:`analysis.exports.write_table`),
    but a name like ``=HYPERLINK(...)`` is seldom what the team meant.
    """
    warnings = []
    for column in TEXT_COLUMNS:
        if column not in frame.columns:
            continue
        for row, value in frame[column].items():
            if is_formula_like(value):
                warnings.append(
                    RegistryProblem(
                        int(row),
                        column,
                        value,
                        "the text starts with "
                        f"{value[:1]!r}: a spreadsheet would run it as a formula "
                        "(exports prefix it with ' to keep it text).",
                        "remove the leading "
                        + "/".join(repr(p) for p in FORMULA_PREFIXES)
                        + " character unless it is meant.",
                    )
                )
    return warnings


# ---------------------------------------------------------------------------
# Checking a registry file
# ---------------------------------------------------------------------------


def load_backbone(
    with_geometry: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """What placing rows needs: communes, the former-code crosswalk, former commune names."""
    return (
        territories.load_communes(with_geometry=with_geometry),
        territories.commune_code_crosswalk(),
        territories.load_former_commune_names(),
    )


def check_registry(
    path: Path | str | None = None,
    *,
    communes: pd.DataFrame | None = None,
    crosswalk: pd.DataFrame | None = None,
    former_names: pd.DataFrame | None = None,
) -> list[RegistryProblem]:
    """Every problem of a registry file: structure, cells and locations.

    Args:
        path: the CSV; the project's registry when None.
        communes: the backbone's communes (loaded when None).
        crosswalk: the former-code crosswalk (loaded with ``communes`` when that is None).
        former_names: names of former communes (loaded with ``communes`` when that is None).

    Returns:
        The problems, sorted by row (empty when the registry is valid).
    """
    return check_frame(
        read_registry(path), communes=communes, crosswalk=crosswalk, former_names=former_names
    )


def check_frame(
    frame: pd.DataFrame,
    *,
    communes: pd.DataFrame | None = None,
    crosswalk: pd.DataFrame | None = None,
    former_names: pd.DataFrame | None = None,
) -> list[RegistryProblem]:
    """Every problem of a registry already read (:func:`read_registry`): cells and locations.

    Args:
        frame: the registry as :func:`read_registry` returns it (not modified).
        communes: the backbone's communes (loaded when None).
        crosswalk: the former-code crosswalk (loaded with ``communes`` when that is None).
        former_names: names of former communes (loaded with ``communes`` when that is None).

    Returns:
        The problems, sorted by row (empty when the registry is valid).
    """
    problems = validate_registry(frame)
    if any(p.row is None for p in problems):
        return problems  # columns missing: locating would only repeat them
    bad_rows = {p.row for p in problems if p.column in LOCATION_COLUMNS}
    if communes is None:
        communes, crosswalk, former_names = load_backbone()
    _located, location_problems = locate_rows(
        frame.drop(index=list(bad_rows)), communes, crosswalk, former_names=former_names
    )
    return sorted(problems + location_problems, key=lambda p: (p.row or 0, p.column))


def load_registry(path: Path | str | None = None) -> pd.DataFrame:
    """Read a registry and check its structure, raising :class:`RegistryError` on problems.

    Locations are not resolved here (see :func:`analysis.geocoding.locate` or
    :func:`check_registry`).
    """
    return valid_entries(read_registry(path))


def rows_without_problems(frame: pd.DataFrame, problems: Sequence[RegistryProblem]) -> pd.DataFrame:
    """The rows of a registry read by :func:`read_registry` that no problem names.

    The registry-quality report lists the problems and describes the rest, rather than
    stopping at the first bad row. A structural problem (no row: a column missing, the
    header repeated) leaves nothing usable and is raised.

    Raises:
        RegistryError: a problem concerns the whole file.
    """
    if any(problem.row is None for problem in problems):
        raise RegistryError(frame.attrs.get("path", "the registry"), list(problems))
    return frame.drop(index=sorted({problem.row for problem in problems}))  # attrs kept


def valid_entries(frame: pd.DataFrame) -> pd.DataFrame:
    """A registry already read (:func:`read_registry`), checked: a copy tagged with its source id.

    Raises:
        RegistryError: the registry has a structural or cell problem (all of them listed).
    """
    problems = validate_registry(frame)
    if problems:
        raise RegistryError(frame.attrs.get("path", "the registry"), problems)
    entries = frame.copy()
    entries["source_id"] = REGISTRY_SOURCE_ID
    return entries
