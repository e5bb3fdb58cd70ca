"""The one secondary-suppression engine (gauss_suppression.protect, behind disclosure.linked_suppression,
answers.hidden_over_tables and gauss_suppression.ordered_suppression): hand-worked tables, and agreement with the
independent auditor (tests/audit.py) on generated ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from data_access import disclosure as d
from data_access.answers import hidden_over_tables
from data_access.gauss_suppression import ordered_suppression
from tests.audit import Release, determined

# A 2 x 3 table with its margins, cells numbered row by row:
#        c1  c2  c3 | row
#   A     0   1   2 |  A
#   B     3   4   5 |  B
#   col  c1  c2  c3 | all
TABLE_SETS = [[0], [1], [2], [3], [4], [5], [0, 1, 2], [3, 4, 5], [0, 3], [1, 4], [2, 5], [0, 1, 2, 3, 4, 5]]


def _shown(counts, sets, hidden) -> Release:
    release = Release(pd.Series(counts, index=range(len(counts))))
    for k, (cells, h) in enumerate(zip(sets, hidden)):
        release.add(k, cells, None if h else sum(counts[i] for i in cells))
    return release


def test_a_two_by_three_table_hides_the_cheapest_rectangle():
    # A = 2 6 9 (17), B = 7 8 10 (25); columns 9 14 19; all 42. The 2 (A, c1) is small. Offered largest first: 42,
    # 25, 19, 17 (= 42 - 25: adds nothing), 14, B c3 = 10 (shown: the four cells A c1, A c2, B c1, B c2 still have a
    # free direction, +t -t / -t +t), 9 (c1 = 42 - 14 - 19) and A c3 = 9 (= 19 - 10), then B c2 = 8 would give
    # B c1 = 25 - 10 - 8 = 7 and A c1 = 9 - 7 = 2, so it is hidden; so are B c1 = 7 (A c1 = 9 - 7) and A c2 = 6
    # (A c1 = 17 - 9 - 6). The four cells of the cheapest rectangle through the 2 are hidden, the margins shown.
    counts = [2, 6, 9, 7, 8, 10]
    hidden = d.linked_suppression(counts, TABLE_SETS, threshold_n=5, secondary=True)
    assert hidden.tolist() == [True, True, False, True, True, False] + [False] * 6
    assert _shown(counts, TABLE_SETS, hidden).leaks() == []
    # and no fewer will do: showing any one of the three secondaries again gives the 2 away
    for again in (1, 3, 4):
        fewer = hidden.copy()
        fewer[again] = False
        assert _shown(counts, TABLE_SETS, fewer).leaks() == [(0, 2.0)]


def test_a_zero_is_shown_and_the_rectangle_goes_round_it():
    # A = 2 0 9 (11), B = 7 8 10 (25); columns 9 8 19; all 36. The 0 is offered first and shown. Then 36, 25, 19,
    # 11 (= 36 - 25); B c3 = 10 would give A c3 = 19 - 10 and A c1 = 11 - 0 - 9 = 2: hidden. c1 = 9 is shown (the
    # direction A c1 +t, A c3 -t, B c1 -t, B c3 +t stays free), A c3 = 9 is hidden (it fixes t), c2 = 8 and B c2 = 8
    # are worked out already (36 - 9 - 19; 8 - 0), and B c1 = 7 is hidden (A c1 = 9 - 7).
    counts = [2, 0, 9, 7, 8, 10]
    hidden = d.linked_suppression(counts, TABLE_SETS, threshold_n=5, secondary=True)
    assert hidden.tolist() == [True, False, True, True, False, True] + [False] * 6
    assert _shown(counts, TABLE_SETS, hidden).leaks() == []


def test_the_hes_rule_hides_only_the_small_counts():
    counts = [2, 6, 9, 7, 8, 10]
    assert d.linked_suppression(counts, TABLE_SETS, threshold_n=8, secondary=False).tolist() == [
        True, True, False, True, False, False] + [False] * 6


def test_a_total_made_dear_is_kept_and_a_kept_number_is_hidden_last():
    # Cells 3 and 20 and their total 23. By value the total (23) is offered first and the 20 is hidden; told that
    # the 20 is dearer to hide (a cost), it is offered first and the total goes. keep does the same by rank.
    counts, sets = [3, 20], [[0], [1], [0, 1]]
    assert d.linked_suppression(counts, sets, 5, True).tolist() == [True, True, False]
    assert d.linked_suppression(counts, sets, 5, True, cost=[3, 1000, 23]).tolist() == [True, False, True]
    assert d.linked_suppression(counts, sets, 5, True, keep=[0, 1, 0]).tolist() == [True, False, True]


def test_tables_sharing_a_number_are_protected_together():
    # Two tables publish the same total T (= 12) as sums of their own cells: table 1 splits it 2 + 10 by sex, table 2
    # 5 + 7 by area. Each table alone is safe once its 10 goes, but the reader also knows the tables' T are equal.
    # Table 1: T, F = 2 (small), M = 10. T is offered first (the question's own results: rank 2), then the 10 would
    # give 12 - 10 = 2, so it is hidden. Table 2: 5 and 7 are shown, and add up to T only.
    t1 = ([2, 10], [("all", "answered"), ("all", "sex", "F", "answered"), ("all", "sex", "M", "answered")],
          [[0, 1], [0], [1]])
    t2 = ([5, 7], [("all", "answered"), ("all", "icp", 1, "answered"), ("all", "icp", 2, "answered")],
          [[0, 1], [0], [1]])
    assert hidden_over_tables([t1, t2], d.Policy("threshold", 5, 1, True, 25)) == {
        ("all", "sex", "F", "answered"), ("all", "sex", "M", "answered")}
    assert hidden_over_tables([t1, t2], d.Policy("hes", 8, 5, False, 25)) == {
        ("all", "sex", "F", "answered"), ("all", "icp", 1, "answered"), ("all", "icp", 2, "answered")}


def test_ordered_suppression_withholds_a_difference_never_shown():
    # 10 = 2 + 8: the 2 is never published but can be worked out as a difference: protected, so the 8 goes too.
    assert ordered_suppression([2, 8], [[0, 1], [0], [1]], 5, True, never_shown=[False, True, False]).tolist() == [
        False, True, True]


@st.composite
def _releases(draw):
    """A handful of cells and random sums of them (every cell alone, and a few groups), some forced hidden, some
    kept, some costs."""
    n = draw(st.integers(2, 8))
    counts = draw(st.lists(st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6, 9, 14, 30]), min_size=n, max_size=n))
    groups = draw(st.lists(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True), max_size=8))
    sets = [[i] for i in range(n)] + [sorted(g) for g in groups] + [list(range(n))]
    hide = draw(st.lists(st.sampled_from([False, False, False, True]), min_size=len(sets), max_size=len(sets)))
    keep = draw(st.lists(st.integers(0, 2), min_size=len(sets), max_size=len(sets)))
    return counts, sets, hide, keep


def _matrix(n: int, sets: list) -> np.ndarray:
    out = np.zeros((n, len(sets)))
    for j, cells in enumerate(sets):
        out[cells, j] = 1.0
    return out


@settings(max_examples=300, deadline=None)
@given(_releases())
def test_the_engine_agrees_with_the_auditor(case):
    counts, sets, hide, keep = case
    hidden = d.linked_suppression(counts, sets, threshold_n=5, secondary=True, hide=hide, keep=keep)
    values = [sum(counts[i] for i in cells) for cells in sets]
    protected = [k for k in range(len(sets)) if 0 < values[k] < 5 or hide[k]]
    # every small number and every one told to hide is hidden, and zeros are shown (unless a zero is told to hide:
    # then other zeros can give it away)
    assert all(hidden[k] for k in protected)
    if not any(values[k] == 0 for k in protected):
        assert not any(hidden[k] for k in range(len(sets)) if values[k] == 0)
    # the auditor finds no protected number determined by the shown ones ...
    shown = _matrix(len(counts), [s for s, h in zip(sets, hidden) if not h])
    assert not determined(shown, _matrix(len(counts), [sets[k] for k in protected])).any()
    assert _shown(counts, sets, hidden).leaks() == []
    # ... and none hidden needlessly: showing any other hidden number as well determines a protected one
    for k in np.flatnonzero(hidden):
        if k in protected or any(sorted(sets[j]) == sorted(sets[k]) for j in protected):
            continue
        more = _matrix(len(counts), [s for j, (s, h) in enumerate(zip(sets, hidden)) if not h or j == k])
        assert determined(more, _matrix(len(counts), [sets[p] for p in protected])).any()
