"""Tables on screen: missing values shown as a dash, not as a grey "None"."""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import pandas as pd

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


def for_display(data: pd.DataFrame) -> pd.DataFrame:
    """The table as st.dataframe should show it: a column with missing values (None, NaN, NaT) becomes text, with
    a dash where a value is missing and numbers written with the decimals they need (st.dataframe shows a missing
    cell as a grey "None", whatever a Styler says)."""
    with_gaps = [c for c in data.columns if data[c].isna().any()]
    if not with_gaps:
        return data
    out = data.copy()
    for col in with_gaps:
        present = data[col].dropna()
        all_numbers = present.map(lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)).all()
        fmt = _number_format(data[col]) if all_numbers and not pd.api.types.is_bool_dtype(data[col]) else str
        out[col] = [MISSING if pd.isna(v) else fmt(v) for v in data[col].astype(object)]
    return out
