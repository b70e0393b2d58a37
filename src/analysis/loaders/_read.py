"""Shared readers for the indicator loaders: spreadsheets (also zipped), headers, clear errors."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from python_calamine import CalamineWorkbook

from analysis import sources
from analysis.checks import is_number

PANEL_COLUMNS = ("level", "code", "period", "indicator", "value", "source_id")
"""Columns every loader returns (``unit`` is added from the indicator dictionary)."""

MISSING_MARKERS = frozenset({"", "s", "nd", "nc", "n.d.", "n.c.", "-", "NA", "so"})
"""Cell contents INSEE uses for secret / not available values; read as missing."""


class SourceFormatError(ValueError):
    """A raw file does not have the layout its loader expects.

    The message names the file, the sheet and the column (or row) at fault, and
    the usual fix.
    """

    def __init__(
        self,
        path: Path | str,
        problem: str,
        *,
        sheet: str | None = None,
        column: str | None = None,
        fix: str = "check that data/raw holds the catalogue's version of this file "
        "(`ptce data status`), or update the loader for the new layout.",
    ) -> None:
        self.path = str(path)
        self.sheet = sheet
        self.column = column
        where = f"{path}"
        if sheet is not None:
            where += f", sheet {sheet!r}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}. Fix: {fix}")


def open_workbook(
    path: Path, member_suffixes: Sequence[str] = (".xlsx", ".xls")
) -> tuple[CalamineWorkbook, str]:
    """Open a spreadsheet, or the single spreadsheet inside a zip archive.

    Returns:
        The workbook and a display name (``archive.zip!member.xlsx`` for zips).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `ptce data fetch`.")
    if path.suffix.lower() != ".zip":
        try:
            return CalamineWorkbook.from_path(str(path)), str(path)
        except Exception as error:  # calamine raises its own error types
            raise SourceFormatError(path, f"cannot be read as a spreadsheet ({error})") from None
    with zipfile.ZipFile(path) as archive:
        members = [
            name
            for name in archive.namelist()
            if name.lower().endswith(tuple(member_suffixes)) and not name.startswith("__MACOSX")
        ]
        if len(members) != 1:
            raise SourceFormatError(
                path,
                f"expected exactly one spreadsheet inside the archive, found {members or 'none'}",
            )
        data = archive.read(members[0])
    display = f"{path}!{members[0]}"
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data)), display
    except Exception as error:
        raise SourceFormatError(display, f"cannot be read as a spreadsheet ({error})") from None


def sheet_rows(workbook: CalamineWorkbook, display: str, sheet: str) -> list[list]:
    """All rows of one sheet as Python values, row 0 being the sheet's first row (Excel row 1)."""
    if sheet not in workbook.sheet_names:
        raise SourceFormatError(
            display,
            f"sheet {sheet!r} is missing (sheets present: {', '.join(workbook.sheet_names)})",
            sheet=sheet,
        )
    return workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def find_header_row(
    rows: list[list], display: str, sheet: str, first_cell: str, *, search_rows: int = 40
) -> int:
    """Index of the first row whose first cell equals ``first_cell`` (the variable-code row)."""
    for index, row in enumerate(rows[:search_rows]):
        if row and str(row[0]).strip() == first_cell:
            return index
    raise SourceFormatError(
        display,
        f"no header row starting with {first_cell!r} in the first {search_rows} rows",
        sheet=sheet,
        column=first_cell,
    )


def table_from_rows(
    rows: list[list],
    header_index: int,
    display: str,
    sheet: str,
    required: Iterable[str],
    *,
    stop_at_blank: bool = True,
) -> pd.DataFrame:
    """A frame of the rows under ``header_index``, with the header as column names.

    Reading stops at the first row whose first cell is blank (INSEE puts notes
    and other tables below). Every value stays an object; callers convert.

    Raises:
        SourceFormatError: naming every required column that is absent.
    """
    header = [str(cell).strip() for cell in rows[header_index]]
    missing = [column for column in required if column not in header]
    if missing:
        raise SourceFormatError(
            display,
            f"required column(s) {', '.join(map(repr, missing))} not found in the header on "
            f"row {header_index + 1} (columns present: {', '.join(h for h in header if h)})",
            sheet=sheet,
            column=", ".join(missing),
        )
    body = []
    for row in rows[header_index + 1 :]:
        if stop_at_blank and (not row or str(row[0]).strip() == ""):
            break
        body.append(row)
    frame = pd.DataFrame(body, columns=header, dtype=object)
    return frame.loc[:, [c for c in frame.columns if c]]


def read_table(
    path: Path,
    sheet: str,
    first_cell: str,
    required: Iterable[str],
    *,
    workbook: tuple[CalamineWorkbook, str] | None = None,
) -> pd.DataFrame:
    """Read the table of one sheet whose header row starts with ``first_cell``."""
    book, display = workbook or open_workbook(path)
    rows = sheet_rows(book, display, sheet)
    header_index = find_header_row(rows, display, sheet, first_cell)
    return table_from_rows(rows, header_index, display, sheet, required)


def to_number(values: pd.Series) -> pd.Series:
    """Numbers from spreadsheet cells; INSEE's secret/missing markers become NaN.

    Any other text raises, so that a shifted column is not read as missing.
    """
    as_object = values.astype(object)
    is_marker = as_object.map(lambda v: isinstance(v, str) and v.strip() in MISSING_MARKERS)
    cleaned = as_object.where(~is_marker, np.nan)
    cleaned = cleaned.map(lambda v: v.replace(",", ".").strip() if isinstance(v, str) else v)
    return pd.to_numeric(cleaned, errors="raise").astype("float64")


def numeric_columns(
    frame: pd.DataFrame, columns: Iterable[str], display: str, sheet: str
) -> pd.DataFrame:
    """Convert ``columns`` with :func:`to_number`, naming the column and row on failure."""
    converted = {}
    for column in columns:
        try:
            converted[column] = to_number(frame[column])
        except (ValueError, TypeError):
            bad = frame[column][
                frame[column].map(
                    lambda v: (
                        isinstance(v, str) and v.strip() not in MISSING_MARKERS and not is_number(v)
                    )
                )
            ]
            first = bad.index[0] if len(bad) else "?"
            raise SourceFormatError(
                display,
                f"non-numeric value {bad.iloc[0]!r} in data row {first} (0-based, below the header)"
                if len(bad)
                else "non-numeric values",
                sheet=sheet,
                column=column,
            ) from None
    rest = frame.drop(columns=list(converted))
    return pd.concat([rest, pd.DataFrame(converted, index=frame.index)], axis=1)


def clean_code(values: pd.Series, width: int | None = None) -> pd.Series:
    """Territory codes as strings: floats like ``91.0`` → ``"91"``, zero-padded to ``width``."""

    def one(value: object) -> str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        if width is not None and text.isdigit():
            text = text.zfill(width)
        return text

    return values.map(one).astype("str")


def to_long(
    frame: pd.DataFrame,
    *,
    level: str,
    code_column: str,
    period: str | None,
    indicators: dict[str, str],
    source_id: str,
    period_column: str | None = None,
) -> pd.DataFrame:
    """Melt wide columns into panel rows; missing values are not rows.

    Args:
        frame: one row per territory (and period when ``period_column`` is set).
        level: territorial level of every row.
        code_column: column holding the territory code.
        period: the period of every row, or None with ``period_column``.
        indicators: source column → indicator name.
        source_id: catalogue id written on every row.
        period_column: column holding each row's period.
    """
    id_columns = [code_column] + ([period_column] if period_column else [])
    long = frame.loc[:, id_columns + list(indicators)].melt(
        id_vars=id_columns, var_name="indicator", value_name="value"
    )
    long = long.dropna(subset=["value"])
    long["indicator"] = long["indicator"].map(indicators)
    long = long.rename(columns={code_column: "code"})
    if period_column:
        long = long.rename(columns={period_column: "period"})
    else:
        long["period"] = period
    long["level"] = level
    long["source_id"] = source_id
    long["value"] = long["value"].astype("float64")
    return long.loc[:, list(PANEL_COLUMNS)].reset_index(drop=True)


def read_insee_sheet(path: Path, sheet: str, columns: Sequence[str]) -> pd.DataFrame:
    """An INSEE spreadsheet sheet whose variable names sit on the 6th row (zonings, EPCI)."""
    frame = pd.read_excel(path, sheet_name=sheet, engine="calamine", header=5, dtype="str")
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise SourceFormatError(
            path,
            f"columns {absent} not found on row 6 (found {list(frame.columns)[:8]})",
            sheet=sheet,
            fix="check that this is the INSEE vintage the catalogue lists (`ptce data status`).",
        )
    return frame[list(columns)]


def require_columns(frame: pd.DataFrame, columns: Iterable[str], where: Path | str) -> None:
    """Raise :class:`SourceFormatError` naming every column of ``columns`` absent from ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SourceFormatError(
            where,
            f"required column(s) {', '.join(repr(c) for c in missing)} missing "
            f"(found {list(frame.columns)[:12]})",
            column=missing[0],
        )


def landing_page_and_title(source_id: str) -> tuple[str, str]:
    """A catalogue source's landing page and title (the citation of rows read from it)."""
    source = sources.get_source(source_id)
    return source.landing_page, source.title
