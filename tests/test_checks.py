"""The shared column check: one message, naming what is missing and what is there."""

import pandas as pd
import pytest

from analysis.checks import is_number, require_columns


def test_a_missing_column_is_named_with_the_columns_present():
    frame = pd.DataFrame({"code": ["01"], "value": [1.0]})
    require_columns(frame, ["code", "value"], "f")  # nothing missing: no error
    with pytest.raises(KeyError, match=r"f: missing column\(s\) period; columns present: code"):
        require_columns(frame, ["code", "period"], "f")


def test_the_error_type_and_the_fix_are_the_callers():
    frame = pd.DataFrame({"code": ["01"]})
    with pytest.raises(ValueError, match=r"missing column\(s\) y, z;.*Name them\.$"):
        require_columns(frame, ["y", "z"], "g", fix="Name them.", error=ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4.5", True), ("4,5", True), ("-1e3", True), ("12", True), ("s", False), ("", False)],
)
def test_a_text_cell_is_a_number_with_either_decimal_mark(text, expected):
    assert is_number(text) is expected
