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

_TOL = 1e-7


def linked_suppression(counts: Sequence[float], published: Sequence[Sequence[int]],
                       threshold_n: int | None = None, secondary: bool | None = None,
                       hide: Sequence[bool] | None = None, keep: Sequence[int] | None = None,
                       cost: Sequence[float] | None = None) -> np.ndarray:
    """Which published numbers to hide, where each published number is the sum of some underlying cells.

    counts are the cells (people per finest group); published[i] lists the cells that number i adds up. A number
    of 1 to threshold - 1 is hidden (primary); then, under the threshold rule, more numbers are hidden (for each
    hidden number that could be worked out, the smallest non-zero shown number that gives it away) until no
    primary can be written as a linear combination of the shown numbers (the standard of tau-ARGUS and
    Statistics Norway's GaussSuppression). The same set of cells published twice is hidden or shown together.
    hide marks numbers to hide from the start whatever their size (hidden elsewhere); they are protected as the
    small ones are. keep ranks numbers to hide only where no lower-ranked number would do (0 = as usual; e.g. 1 for
    totals that shares are of). cost, where given (one per published number; the dearest of a set published twice
    counts), ranks the numbers to hide within a rank instead of their values (e.g. a total made dearer to hide
    than its parts). Returns a boolean array, True = hide.
    """
    limit = threshold() if threshold_n is None else threshold_n
    secondary = policy().secondary if secondary is None else secondary
    counts = np.asarray(counts, dtype=float)
    which, members, values = distinct_sets(counts, published)
    hidden = (values > 0) & (values < limit)
    if hide is not None:
        hidden[np.unique(which[np.asarray(hide, dtype=bool)])] = True
    kept = np.zeros(len(members), dtype=int)
    if keep is not None:
        np.maximum.at(kept, which, np.asarray(keep, dtype=int))
    order = values.copy()
    if cost is not None:
        order = np.full(len(members), -np.inf)
        np.maximum.at(order, which, np.asarray(cost, dtype=float))
    if secondary and hidden.any():
        hidden = _secondary(counts.size, members, values, hidden, order, kept)
    return hidden[which] if len(which) else np.zeros(0, dtype=bool)


def distinct_sets(counts: np.ndarray, published: Sequence[Sequence[int]]) -> tuple[np.ndarray, list, np.ndarray]:
    """The distinct sets of cells among the published numbers: (for each number, its set's index; each set's cells;
    each set's value)."""
    sets: dict[frozenset, int] = {}
    which = np.array([sets.setdefault(frozenset(int(c) for c in cells), len(sets)) for cells in published],
                     dtype=int)
    members = [np.fromiter(s, dtype=int, count=len(s)) for s in sets]
    return which, members, np.array([counts[mm].sum() for mm in members], dtype=float)


def _secondary(n_cells: int, members: list[np.ndarray], values: np.ndarray, hidden: np.ndarray,
               order: np.ndarray | None = None, kept: np.ndarray | None = None) -> np.ndarray:
    """More sets hidden until no primary (a set hidden at the start) is in the span of the shown ones."""
    hidden = hidden.copy()
    primary = np.flatnonzero(hidden)
    sizes = np.array([len(mm) for mm in members])
    single_sets = np.flatnonzero(sizes == 1)
    single_cells = np.array([members[i][0] for i in single_sets], dtype=int)
    set_of_cell = np.full(n_cells, -1)
    set_of_cell[single_cells] = single_sets
    for _ in range(len(members) + 1):
        # Cells published on their own and shown are known: eliminate them and work on the unknown ones only.
        known = np.zeros(n_cells, dtype=bool)
        known[single_cells] = ~hidden[single_sets]
        unknown = np.flatnonzero(~known)
        pos = np.full(n_cells, -1)
        pos[unknown] = np.arange(unknown.size)
        aggregates = [i for i in np.flatnonzero((sizes > 1) & ~hidden) if (~known[members[i]]).any()]
        a = np.zeros((len(aggregates), unknown.size))
        for r, i in enumerate(aggregates):
            cols = pos[members[i]]
            a[r, cols[cols >= 0]] = 1.0
        # An orthonormal basis of the row space, from the smaller of the two Gram matrices; solve(x) gives the
        # coefficients c with a.T @ c = x for x in the row space.
        rank, basis = 0, np.zeros((0, unknown.size))
        if a.size and len(aggregates) <= unknown.size:
            w, v = np.linalg.eigh(a @ a.T)
            keep = w > 1e-11 * max(1.0, w.max())
            rank, u, s = int(keep.sum()), v[:, keep], np.sqrt(w[keep])
            basis = (u.T @ a) / s[:, None]

            def solve(x, u=u, s=s, basis=basis):
                return u @ ((basis @ x) / s)
        elif a.size:
            w, v = np.linalg.eigh(a.T @ a)
            keep = w > 1e-11 * max(1.0, w.max())
            rank, vk, wk = int(keep.sum()), v[:, keep], w[keep]
            basis = vk.T

            def solve(x, a=a, vk=vk, wk=wk):
                return a @ (vk @ ((vk.T @ x) / wk))
        # A primary single cell is determined when its unit vector lies in the row space (leverage 1).
        leverage = (basis ** 2).sum(axis=0) if rank else np.zeros(unknown.size)
        chosen: set[int] = set()
        singles = primary[sizes[primary] == 1]
        at = pos[np.array([members[p][0] for p in singles], dtype=int)]
        open_singles = singles[(at >= 0) & (leverage[np.maximum(at, 0)] < 1 - 1e-6)]
        for p in np.setdiff1d(primary, open_singles):
            cols = pos[members[p]]
            vec = np.zeros(unknown.size)
            vec[cols[cols >= 0]] = 1.0
            if sizes[p] > 1 and vec.any() and np.linalg.norm(vec - basis.T @ (basis @ vec)) > 1e-6:
                continue
            # p = sum_r coef_r * aggregate_r + sum_c rest_c * cell_c, the cells c shown on their own
            coef = solve(vec) if rank else np.zeros(len(aggregates))
            rest = np.zeros(n_cells)
            rest[members[p]] += 1.0
            used = np.flatnonzero(np.abs(coef) > _TOL)
            for r in used:
                rest[members[aggregates[r]]] -= coef[r]
            candidates = [int(aggregates[r]) for r in used]
            candidates += [int(set_of_cell[c]) for c in np.flatnonzero((np.abs(rest) > _TOL) & known)]
            if not candidates:  # should not happen; to be safe, hide every shown number sharing a cell with it
                touching = set(members[p].tolist())
                chosen.update(i for i in np.flatnonzero(~hidden) if touching.intersection(members[i].tolist()))
                continue
            if chosen.intersection(candidates):
                continue
            pick = min(candidates, key=lambda i: (values[i] == 0, 0 if kept is None else kept[i],
                                                  values[i] if order is None else order[i], sizes[i] > 1, i))
            chosen.add(pick)
        if not chosen:
            return hidden
        hidden[list(chosen)] = True
    return hidden


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
