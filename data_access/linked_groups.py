"""People counted by group, published together in every view: which counts to hide.

A representation breakdown (network members, survey respondents or panel members by age band, sex, ethnic group,
disability, deprivation, ICP area and district) publishes, in the all-areas view and in each ICP area's view, the
people in every group of every dimension, the number of people in the view and, through the shares, the number
whose group is stated on each dimension. All of these are sums of the same cells (people per ICP area and
combination of groups, counted in SQL in one GROUP BY: profiles.engaged_cells), so they are protected together with
disclosure.linked_suppression: no hidden small count can be worked out from the others, in any view or across
views (a reader can flip the ICP filter). The panel page adds its own numbers about the same people (the
intersections, terms ending and members by wave: see panel.panel_release).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from data_access.disclosure import Policy, linked_suppression

TOTAL = "total"      # the people in a view, or the cells of an intersection
STATED = "stated"    # the people whose group is stated (compared with residents) on a dimension


def view_of(cells: pd.DataFrame, view) -> np.ndarray:
    """The cells counted in a view: every cell (None: all areas), or those whose icp_key is the ICP area's id."""
    if view is None:
        return np.ones(len(cells), dtype=bool)
    return (pd.to_numeric(cells["icp_key"], errors="coerce") == view).to_numpy()


def add_count(published: dict, key: tuple, where: np.ndarray) -> None:
    """One published count (the cells where `where` holds); an empty one is 0 and never hidden, so it is left out."""
    idx = np.flatnonzero(where)
    if idx.size:
        published[key] = idx.tolist()


def group_release(cells: pd.DataFrame, dimensions: Sequence[str], views: Iterable,
                  stated: dict, pairs: Sequence[tuple[str, str]] = ()) -> dict[tuple, list[int]]:
    """Every count a representation breakdown publishes, as the rows of cells it adds up, for each view (None, or
    an ICP area's id): (view, "total"); (view, dimension, group) for every group; (view, dimension, "stated") for
    the groups in stated[view][dimension] as (view, "stated", dimension); and for each pair (row, col) of an
    intersection, (view, (row, col), g, h) per cell stated on both and (view, (row, col)) for all of them."""
    published: dict[tuple, list[int]] = {}
    for view in views:
        mine = view_of(cells, view)
        add_count(published, (view, TOTAL), mine)
        known = {}
        for dim in dimensions:
            groups = cells[dim].astype(object).to_numpy()
            for group in pd.unique(groups[mine]):
                add_count(published, (view, dim, group), mine & (groups == group))
            known[dim] = np.isin(groups, list(stated[view][dim]))
            add_count(published, (view, STATED, dim), mine & known[dim])
        for row, col in pairs:
            both = mine & known[row] & known[col]
            add_count(published, (view, (row, col)), both)
            pairs_here = cells.loc[both, [row, col]].drop_duplicates().itertuples(index=False)
            for g, h in pairs_here:
                here = both & (cells[row] == g).to_numpy() & (cells[col] == h).to_numpy()
                add_count(published, (view, (row, col), g, h), here)
    return published


TOTAL_COST = 1000.0  # a total (of a view, of the stated groups, of an intersection) is this much dearer to hide


def is_total(key: tuple) -> bool:
    """Whether a key of group_release (or panel.panel_release) is a total rather than one group's count."""
    return (len(key) == 2 or key[1] in (STATED, "weighted", "recruited")
            or (key[1] in ("within", "joined") and len(key) == 3))


def hidden_keys(counts: Sequence, published: dict[tuple, list[int]], rules: Policy) -> frozenset:
    """The keys of `published` to hide (disclosure.linked_suppression over all of them together; where a hidden
    count could be worked out, the groups' counts are hidden before any total, the smallest first)."""
    keys = list(published)
    if not keys:
        return frozenset()
    sets = [published[k] for k in keys]
    values = np.asarray(counts, dtype=float)
    cost = [values[s].sum() * (TOTAL_COST if is_total(k) else 1.0) for k, s in zip(keys, sets)]
    with threadpool_limits(1):  # many small matrices: one BLAS thread is many times faster on a busy machine
        flags = linked_suppression(counts, sets, rules.threshold, rules.secondary, cost=cost)
        if rules.secondary:
            flags = _show_totals_back(values, keys, sets, flags, rules.threshold)
    return frozenset(k for k, flag in zip(keys, flags) if flag)


def _matrix(n_cells: int, sets: list) -> np.ndarray:
    out = np.zeros((n_cells, len(sets)))
    for j, cells in enumerate(sets):
        out[cells, j] = 1.0
    return out


def _any_determined(shown: np.ndarray, small: np.ndarray) -> bool:
    """Whether any column of small is a linear combination of the columns of shown."""
    if not small.shape[1]:
        return False
    if not shown.shape[1]:
        return bool((np.linalg.norm(small, axis=0) < 1e-6).any())
    coef, *_ = np.linalg.lstsq(shown, small, rcond=None)
    return bool((np.linalg.norm(shown @ coef - small, axis=0) < 1e-6).any())


def _show_totals_back(values: np.ndarray, keys: list, sets: list, flags: np.ndarray, limit: int) -> np.ndarray:
    """The flags with each total hidden only as a secondary shown again (the largest first) wherever no small
    hidden count can then be worked out: a total hidden by the greedy choice may no longer be needed once
    counts chosen after it are hidden too."""
    flags = np.asarray(flags, dtype=bool).copy()
    sums = np.array([values[s].sum() for s in sets])
    small = (sums > 0) & (sums < limit)
    distinct: dict[frozenset, int] = {}
    for i, s in enumerate(sets):
        distinct.setdefault(frozenset(s), i)
    primaries = _matrix(len(values), [sets[i] for i in np.flatnonzero(small)])
    tries = sorted((i for i in np.flatnonzero(flags & ~small) if is_total(keys[i])), key=lambda i: -sums[i])
    for i in tries:
        same = [j for j, s in enumerate(sets) if frozenset(s) == frozenset(sets[i])]
        trial = flags.copy()
        trial[same] = False
        shown = [sets[j] for j in distinct.values() if not trial[j]]
        if not _any_determined(_matrix(len(values), shown), primaries):
            flags = trial
    return flags


def hidden_groups(hidden: frozenset, view, dimension: str) -> set:
    """The groups of one dimension hidden in a view."""
    return {k[2] for k in hidden if len(k) == 3 and k[0] == view and k[1] == dimension}
