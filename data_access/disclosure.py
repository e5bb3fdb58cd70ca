"""Disclosure control: one policy for every number about people that reaches a screen, download or export.

Two presets, chosen with DISCLOSURE_RULE (see README, "Small numbers"):

- ``threshold`` (the default): a count of people from 1 to N - 1 is hidden, and so is any share, rate or
  ratio computed from it (N is SMALL_NUMBER_THRESHOLD, default 5). Other counts are shown exactly.
  Secondary suppression: where a hidden cell could be worked out from a published total and its
  neighbours (it is the only hidden cell of its row or column), the next smallest cell is hidden too.
- ``hes``: NHS Digital's rule for Hospital Episode Statistics. Counts of 1 to 7 are shown as "*",
  every other count is rounded to the nearest 5, percentages and rates are computed from the rounded
  counts, and means or medians of 1 to 7 people are not shown. Rounding protects the cells, so no
  secondary suppression is needed.

Zero is always shown (it reveals nothing about a person). Breakdowns by special-category data
(ethnic group, disability, religion, sexual orientation, gender identity) are shown only where at least
SPECIAL_CATEGORY_MIN_BASE people (default 25, as Commonplace uses) are counted in the breakdown.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_access.gauss_suppression import distinct_sets, per_set, protect, show_order

RULES = ("threshold", "hes")
DEFAULT_RULE = "threshold"
DEFAULT_THRESHOLD = 5
HES_THRESHOLD = 8        # HES: counts 1-7 are suppressed
HES_ROUND_TO = 5         # HES: other counts rounded to the nearest 5
DEFAULT_SPECIAL_CATEGORY_BASE = 25
SPECIAL_CATEGORY_DIMENSIONS = frozenset({"ethnic_group", "disability", "religion", "sexual_orientation",
                                         "gender_identity"})
SPECIAL_CATEGORY_LABELS = {"ethnic_group": "ethnic group", "disability": "disability", "religion": "religion",
                           "sexual_orientation": "sexual orientation", "gender_identity": "gender identity"}
SUPPRESSED_LABEL = "fewer than {n}"
HES_MARK = "*"


@dataclass(frozen=True)
class Policy:
    """The disclosure-control settings in force."""

    rule: str                  # "threshold" or "hes"
    threshold: int             # the smallest count of people shown (counts 1 .. threshold - 1 are hidden)
    round_to: int              # counts shown are rounded to a multiple of this (1 = exact)
    secondary: bool            # hide a second cell where one hidden cell could be worked out from a total
    special_category_base: int  # smallest base for a breakdown by special-category data

    @property
    def hidden_label(self) -> str:
        """What a hidden count is shown as: 'fewer than 5', or '*' under the HES rule."""
        return HES_MARK if self.rule == "hes" else SUPPRESSED_LABEL.format(n=self.threshold)


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        value = default
    return max(value, minimum)


def policy() -> Policy:
    """The configured policy: DISCLOSURE_RULE (threshold | hes), SMALL_NUMBER_THRESHOLD (threshold rule only)
    and SPECIAL_CATEGORY_MIN_BASE. An unknown rule falls back to the default (rule_warning says so)."""
    rule = os.environ.get("DISCLOSURE_RULE", DEFAULT_RULE).strip().lower()
    base = _env_int("SPECIAL_CATEGORY_MIN_BASE", DEFAULT_SPECIAL_CATEGORY_BASE)
    if rule == "hes":
        return Policy("hes", HES_THRESHOLD, HES_ROUND_TO, False, base)
    return Policy("threshold", _env_int("SMALL_NUMBER_THRESHOLD", DEFAULT_THRESHOLD), 1, True, base)


def rule_warning() -> str | None:
    """One sentence where DISCLOSURE_RULE is set to a rule that is not known (so the default is used), else None."""
    raw = os.environ.get("DISCLOSURE_RULE", "").strip()
    if not raw or raw.lower() in ("threshold", "hes"):
        return None
    return (f"DISCLOSURE_RULE is set to '{raw[:40]}', which is not a known rule (threshold or hes), so the default "
            f"rule ({DEFAULT_RULE}) is used.")


def threshold() -> int:
    """The configured small-number threshold (counts below it are hidden)."""
    return policy().threshold


def describe() -> str:
    """One plain-English sentence saying how small numbers are treated, for captions and notes."""
    p = policy()
    if p.rule == "hes":
        return (f"Counts of 1 to {p.threshold - 1} people are shown as {HES_MARK}, other counts are rounded to the "
                f"nearest {p.round_to}, and percentages are worked out from the rounded counts, to protect privacy.")
    return f"Counts of fewer than {p.threshold} people are not shown, to protect privacy."


def is_small(count) -> bool:
    """True when a count of people must not be shown."""
    return count is not None and not pd.isna(count) and 0 < count < threshold()


def round_count(value):
    """A count as published: rounded to the nearest multiple the policy asks for (halves round up);
    missing stays missing. Does not hide small counts (see is_small)."""
    if value is None or pd.isna(value):
        return value
    step = policy().round_to
    if step <= 1:
        return int(value)
    return int(math.floor(float(value) / step + 0.5) * step)


def publish_count(value):
    """A count as published, for working out shares and rates from: rounded as the policy asks, except that a
    small count is kept as it is (whatever shows it hides it; rounding it would turn 1 or 2 into 0)."""
    if value is None or pd.isna(value) or is_small(value):
        return value
    return round_count(value)


def round_estimate(value):
    """A number of people worked out by a model (an effective sample size) as published: to the nearest 5
    under the HES rule (as a count would be), otherwise as it is; missing stays missing."""
    if value is None or pd.isna(value) or policy().round_to <= 1:
        return value
    return round_count(value)


def _rounded(counts: pd.Series) -> pd.Series:
    step = policy().round_to
    if step <= 1:
        return counts
    return np.floor(counts.astype(float) / step + 0.5) * step


def suppress(frame: pd.DataFrame, count_col: str, derived: list[str] | tuple[str, ...] = (),
             total: str | float | None = None) -> pd.DataFrame:
    """A copy of the frame with small counts (and the columns derived from them) set to missing.

    Adds a boolean column 'suppressed' so tables and sentences can say why a value is missing. Where the
    policy rounds counts (HES), the count column is rounded and every derived column (a share, rate or
    ratio proportional to the count) is rescaled to be worked out from the rounded count; `total` (a
    column name or a number) is the count it is a share of, rounded in the same way.
    """
    out = frame.copy()
    counts = pd.to_numeric(out[count_col], errors="coerce")
    small = (counts > 0) & (counts < threshold())
    out["suppressed"] = small.fillna(False).astype(bool)
    rounded = _rounded(counts)
    if policy().round_to > 1 and len(out):
        factor = (rounded / counts.where(counts > 0)).fillna(1.0)
        if total is not None:
            base = pd.to_numeric(out[total], errors="coerce") if isinstance(total, str) else pd.Series(
                float(total), index=out.index)
            base_r = _rounded(base)
            factor = factor * (base / base_r.where(base_r > 0)).fillna(1.0)
        for col in derived:
            if col in out:
                out[col] = pd.to_numeric(out[col], errors="coerce").astype(float) * factor
    out[count_col] = rounded.astype("Float64").mask(small).round(0).astype("Int64") if len(out) else counts
    for col in derived:
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float).mask(small, np.nan)
    return out


def suppress_table(frame: pd.DataFrame, count_col: str, groups: Sequence[str | Sequence[str]],
                   derived: list[str] | tuple[str, ...] = (), total: str | float | None = None,
                   hide: pd.Series | None = None) -> pd.DataFrame:
    """`suppress` for a table whose row or column totals are published elsewhere, with secondary suppression.

    frame is long: one row per cell. Each entry of `groups` names the column(s) whose cells share a published
    total (e.g. ["group", "option"]: the options within a group add up to its n, and the groups within an option
    add up to that option's overall count; an empty entry, (), is the whole table). Under the threshold rule, where exactly one cell of such a group
    is hidden and the group's total is shown (not small), the smallest other cell of the group (a non-zero one
    first) is hidden too, repeated until no hidden cell can be worked out. `hide` marks extra cells to hide
    from the start (e.g. a whole group that is too small).
    """
    raw = pd.to_numeric(frame[count_col], errors="coerce").fillna(0)
    hidden = ((raw > 0) & (raw < threshold())).to_numpy(copy=True)
    if hide is not None:
        hidden |= hide.reindex(frame.index).fillna(False).astype(bool).to_numpy()
    if policy().secondary and len(frame):
        keys = [[g] if isinstance(g, str) else list(g) for g in groups]
        values = raw.to_numpy(dtype=float)
        flat = frame.reset_index(drop=True)
        positions = [list(range(len(flat)))] if [] in keys else []
        positions += [list(idx) for key in keys if key for idx in flat.groupby(
            key, sort=False, dropna=False).indices.values()]
        changed = True
        while changed:
            changed = False
            for pos in positions:
                h = hidden[pos]
                if h.sum() != 1 or is_small(values[pos].sum()) or values[pos].sum() == 0:
                    continue
                open_cells = [p for p in pos if not hidden[p]]
                if not open_cells:
                    continue
                pick = min(open_cells, key=lambda p: (values[p] == 0, values[p], p))
                hidden[pick] = True
                changed = True
    out = suppress(frame, count_col, derived, total=total)
    mask = pd.Series(hidden, index=frame.index)
    out["suppressed"] = out["suppressed"] | mask
    out[count_col] = out[count_col].mask(mask)
    for col in derived:
        if col in out:
            out[col] = out[col].mask(mask)
    return out


def suppress_running_total(increments: Sequence, totals: Sequence | None = None) -> list:
    """A running total as it may be published: a point is shown only where the change since the last shown
    point is zero or at least the threshold (so no small change can be worked out by subtracting two shown
    points); shown points are rounded as the policy asks. increments are the changes (their running sum is
    the total unless totals is given); missing increments count as zero. Returns the totals with None
    where hidden."""
    incs = [0.0 if v is None or pd.isna(v) else float(v) for v in increments]
    running = list(np.cumsum(incs)) if totals is None else [None if t is None or pd.isna(t) else float(t)
                                                             for t in totals]
    out, pending = [], 0.0
    for inc, tot in zip(incs, running):
        pending += inc
        if tot is not None and (pending == 0 or abs(pending) >= threshold()) and not is_small(tot):
            out.append(round_count(tot))
            pending = 0.0
        else:
            out.append(None)
    return out


# --- Linked tables: secondary suppression over everything published together ------------------------------

def linked_suppression(counts: Sequence[float], published: Sequence[Sequence[int]],
                       threshold_n: int | None = None, secondary: bool | None = None,
                       hide: Sequence[bool] | None = None, keep: Sequence[int] | None = None,
                       cost: Sequence[float] | None = None) -> np.ndarray:
    """Which published numbers to hide, where each published number is the sum of some underlying cells.

    counts are the cells (people per finest group); published[i] lists the cells that number i adds up. A number
    of 1 to threshold - 1 is hidden (primary); then, under the threshold rule, every other number is offered in turn
    (zeros first, then the largest) and hidden as well where showing it would make a primary a linear combination of
    the shown numbers (the standard of tau-ARGUS and Statistics Norway's GaussSuppression; the one engine in
    gauss_suppression.protect). The same set of cells published twice is hidden or shown together.
    hide marks numbers to hide from the start whatever their size (hidden elsewhere); they are protected as the
    small ones are. keep ranks numbers to hide only where no lower-ranked number would do (0 = as usual; e.g. 1 for
    totals that shares are of): they are offered first. cost, where given (one per published number; the dearest of
    a set published twice counts), orders the numbers within a rank instead of their values (e.g. a total made
    dearer to hide than its parts is offered before them). Returns a boolean array, True = hide.
    """
    limit = threshold() if threshold_n is None else threshold_n
    secondary = policy().secondary if secondary is None else secondary
    counts = np.asarray(counts, dtype=float)
    which, members, values = distinct_sets(counts, published)
    hidden = (values > 0) & (values < limit)
    if hide is not None:
        hidden |= per_set(which, len(members), hide).astype(bool)
    if secondary and hidden.any():
        rank = per_set(which, len(members), keep)
        worth = None if cost is None else per_set(which, len(members), cost)
        none = np.zeros(len(members), dtype=bool)
        hidden = protect(counts.size, members, hidden, show_order(values, members, hidden, none, rank, worth))
    return hidden[which] if len(which) else np.zeros(0, dtype=bool)


def share(count, base):
    """count / base as published: missing where the count is small or the base is 0 or small; under the
    HES rule both are rounded first."""
    if count is None or base is None or pd.isna(count) or pd.isna(base) or is_small(count) or is_small(base):
        return None
    c, b = round_count(count), round_count(base)
    return None if not b else c / b


def format_count(value) -> str:
    """A count for a sentence or table: '1,234' (rounded as the policy asks), or 'fewer than 5' ('*' under
    the HES rule) where hidden."""
    if value is None or pd.isna(value) or is_small(value):
        return policy().hidden_label
    return f"{round_count(value):,}"


def format_percent(count, base, digits: int = 0) -> str:
    """A percentage for a sentence or table, worked out from the published (rounded) counts; the hidden
    label where the count or its base is small, and '—' where the base is 0."""
    if count is None or base is None or pd.isna(count) or pd.isna(base) or is_small(count) or is_small(base):
        return policy().hidden_label
    value = share(count, base)
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def suppress_statistic(value, n):
    """A mean or median of n people as it may be published: missing where n is small (1 to threshold - 1)."""
    if n is None or pd.isna(n) or is_small(n) or n == 0:
        return None
    return value


# --- Special-category breakdowns -------------------------------------------------------------------------

def special_category_base() -> int:
    """The smallest number of people for which a breakdown by special-category data is shown."""
    return policy().special_category_base


def is_special_category(dimension: str) -> bool:
    """True for a dimension holding special-category data (ethnic group, disability, ...)."""
    return dimension in SPECIAL_CATEGORY_DIMENSIONS


def special_category_withheld(dimension: str, base) -> bool:
    """True when a breakdown by this dimension must not be shown because too few people are counted in it."""
    if not is_special_category(dimension):
        return False
    return base is None or pd.isna(base) or base < special_category_base()


def withheld_reason(dimension: str) -> str:
    """The sentence saying why a special-category breakdown is hidden."""
    label = SPECIAL_CATEGORY_LABELS.get(dimension, dimension.replace("_", " "))
    return (f"The breakdown by {label} is not shown: {label} is special-category personal data, so it is broken "
            f"down only where at least {special_category_base()} people gave an answer, to keep anyone from being "
            "recognised.")


def withhold_special_category(frame: pd.DataFrame, dimension: str, base, count_cols: Sequence[str],
                              derived: Sequence[str] = ()) -> pd.DataFrame:
    """The frame with every count and derived figure hidden when `special_category_withheld(dimension, base)`;
    the reason is kept in frame.attrs['withheld'] (and 'suppressed' set) for charts and sentences."""
    if not special_category_withheld(dimension, base):
        return frame
    out = frame.copy()
    for col in count_cols:
        if col in out:
            out[col] = pd.array([pd.NA] * len(out), dtype="Int64")
    for col in derived:
        if col in out:
            out[col] = np.nan
    if "suppressed" in out:
        out["suppressed"] = True
    out.attrs["withheld"] = withheld_reason(dimension)
    return out
