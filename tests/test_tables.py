"""Tables on screen show missing values as a dash, not "None" or "nan", and other values as they are."""

from __future__ import annotations

import pandas as pd

from ui.tables import MISSING, for_display


def cells(frame: pd.DataFrame) -> list[list[str]]:
    """Every cell as text, row by row."""
    return [[str(v) for v in row] for row in frame.itertuples(index=False)]


def test_missing_values_read_as_a_dash():
    glance = pd.DataFrame({
        "Survey": ["Winter", "Summer"],
        "Days left": [None, 12],
        "Core20 %": [float("nan"), 14.0],
        "Per 1,000 residents": [2.5, None],
        "Responses": [1200, 45],
    })
    glance["Days left"] = glance["Days left"].astype(object)
    shown = cells(for_display(glance))
    assert shown == [["Winter", MISSING, MISSING, "2.5", "1200"], ["Summer", "12", "14", MISSING, "45"]]
    assert MISSING == "—"


def test_a_table_without_gaps_is_shown_as_it_is():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert for_display(frame) is frame


def test_numpy_whole_numbers_with_gaps_keep_no_decimals():
    frame = pd.DataFrame({"n": pd.array([3, None, 1500], dtype="Int64")})
    assert cells(for_display(frame)) == [["3"], [MISSING], ["1,500"]]
