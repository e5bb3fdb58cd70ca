"""Tables on screen: missing values shown as a dash, not as a grey "None"."""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import pandas as pd
from pandas.io.formats.style import Styler

MISSING = "—"


def _number_format(values: pd.Series) -> Callable[[Any], str]:
    """A formatter that shows a numeric column's values with as few decimals as they need (at most 3)."""
    present = pd.to_numeric(values, errors="coerce").dropna()
    digits = next((d for d in range(4) if ((present * 10 ** d).round(6) % 1 == 0).all()), 3)

    def fmt(v: Any) -> str:
        if isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v):
            return f"{v:,.{digits}f}"
        return str(v)

    return fmt


def for_display(data: pd.DataFrame) -> pd.DataFrame | Styler:
    """The table as st.dataframe should show it: where a column has missing values (None, NaN, NaT), they read
    as a dash and the other values are shown as they are (numbers keep their order when sorted)."""
    with_gaps = [c for c in data.columns if data[c].isna().any()]
    if not with_gaps:
        return data
    styler = data.style
    for col in with_gaps:
        present = data[col].dropna()
        all_numbers = present.map(lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)).all()
        if all_numbers and not pd.api.types.is_bool_dtype(data[col]):
            styler = styler.format(_number_format(data[col]), subset=[col], na_rep=MISSING)
        else:
            styler = styler.format(lambda v: str(v), subset=[col], na_rep=MISSING)
    return styler
