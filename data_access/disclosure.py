"""Disclosure control: small counts of people are never shown.

One rule for now (the governance issue will widen it): a count of people from 1 to
THRESHOLD - 1 is hidden, and so is any share or ratio computed from it. Zero is shown
(it reveals nothing about a person). The threshold is set by SMALL_NUMBER_THRESHOLD
(default 5).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

DEFAULT_THRESHOLD = 5
SUPPRESSED_LABEL = "fewer than {n}"


def threshold() -> int:
    """The configured small-number threshold (counts below it are hidden)."""
    try:
        value = int(os.environ.get("SMALL_NUMBER_THRESHOLD", DEFAULT_THRESHOLD))
    except ValueError:
        value = DEFAULT_THRESHOLD
    return max(value, 1)


def is_small(count) -> bool:
    """True when a count of people must not be shown."""
    return count is not None and not pd.isna(count) and 0 < count < threshold()


def suppress(frame: pd.DataFrame, count_col: str, derived: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """A copy of the frame with small counts (and the columns derived from them) set to missing.

    Adds a boolean column 'suppressed' so tables and sentences can say why a value is missing.
    """
    out = frame.copy()
    counts = pd.to_numeric(out[count_col], errors="coerce")
    small = (counts > 0) & (counts < threshold())
    out["suppressed"] = small.fillna(False).astype(bool)
    out[count_col] = counts.astype("Float64").mask(small).astype("Int64") if len(out) else counts
    for col in derived:
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float).mask(small, np.nan)
    return out


def format_count(value) -> str:
    """A count for a sentence or table: '1,234', or 'fewer than 5' where hidden."""
    if value is None or pd.isna(value):
        return SUPPRESSED_LABEL.format(n=threshold())
    if is_small(value):
        return SUPPRESSED_LABEL.format(n=threshold())
    return f"{int(value):,}"
