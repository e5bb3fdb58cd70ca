"""The disclosure-control policy: presets, rounding, secondary suppression and special-category breakdowns,
checked against examples worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_access import disclosure as d


@pytest.fixture
def hes(monkeypatch):
    monkeypatch.setenv("DISCLOSURE_RULE", "hes")
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)


@pytest.fixture
def rule5(monkeypatch):
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)
    monkeypatch.delenv("SPECIAL_CATEGORY_MIN_BASE", raising=False)


def test_default_policy_is_threshold_five(rule5):
    p = d.policy()
    assert (p.rule, p.threshold, p.round_to, p.secondary, p.special_category_base) == ("threshold", 5, 1, True, 25)
    assert d.threshold() == 5
    assert [d.is_small(v) for v in (0, 1, 4, 5, None, float("nan"))] == [False, True, True, False, False, False]
    assert d.format_count(4) == "fewer than 5"
    assert d.format_count(5) == "5"
    assert d.format_count(0) == "0"
    assert d.format_count(1234) == "1,234"
    assert d.format_count(None) == "fewer than 5"


def test_threshold_and_rule_from_environment(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "10")
    monkeypatch.setenv("SPECIAL_CATEGORY_MIN_BASE", "50")
    assert d.threshold() == 10 and d.is_small(9) and not d.is_small(10)
    assert d.special_category_base() == 50
    monkeypatch.setenv("DISCLOSURE_RULE", "nonsense")
    assert d.policy().rule == "threshold"
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "not a number")
    assert d.threshold() == 5


def test_hes_counts(hes):
    # 1-7 shown as *, others to the nearest 5 (halves up): worked by hand.
    assert [d.format_count(v) for v in (0, 1, 7, 8, 12, 13, 22, 23, 1234)] == [
        "0", "*", "*", "10", "10", "15", "20", "25", "1,235"]
    assert d.threshold() == 8
    assert d.policy().secondary is False


def test_hes_percentages_from_rounded_counts(hes):
    # 13 of 42: rounded 15 of 40 = 37.5%, not 31.0% from the raw counts.
    assert d.format_percent(13, 42, 1) == "37.5%"
    assert d.share(13, 42) == pytest.approx(15 / 40)
    assert d.format_percent(7, 42) == "*"
    assert d.format_percent(12, 7) == "*"


def test_hes_suppress_rescales_derived(hes):
    frame = pd.DataFrame({"group": ["a", "b", "c"], "count": [13, 7, 22], "n": [42, 42, 42]})
    frame["share"] = frame["count"] / frame["n"]
    frame["per_1000"] = frame["count"] / 1000 * 1000
    out = d.suppress(frame, "count", derived=("share",), total="n")
    assert out["count"].tolist()[0] == 15 and pd.isna(out["count"].iloc[1]) and out["count"].iloc[2] == 20
    # shares from the rounded counts over the rounded total (40)
    assert out["share"].iloc[0] == pytest.approx(15 / 40)
    assert pd.isna(out["share"].iloc[1])
    assert out["share"].iloc[2] == pytest.approx(20 / 40)
    rate = d.suppress(frame, "count", derived=("per_1000",))
    assert rate["per_1000"].iloc[0] == pytest.approx(15.0)  # a rate from the rounded count


def test_means_and_medians_of_few_people(hes, monkeypatch):
    assert d.suppress_statistic(3.2, 7) is None
    assert d.suppress_statistic(3.2, 8) == 3.2
    monkeypatch.setenv("DISCLOSURE_RULE", "threshold")
    assert d.suppress_statistic(3.2, 4) is None and d.suppress_statistic(3.2, 5) == 3.2


def test_suppress_threshold_keeps_old_behaviour(rule5):
    frame = pd.DataFrame({"group": list("abcd"), "count": [0, 3, 5, 12], "share": [0, 0.15, 0.25, 0.6]})
    out = d.suppress(frame, "count", derived=("share",))
    assert out["count"].tolist()[0] == 0 and pd.isna(out["count"].iloc[1])
    assert out["count"].iloc[2] == 5 and out["count"].iloc[3] == 12
    assert out["suppressed"].tolist() == [False, True, False, False]
    assert pd.isna(out["share"].iloc[1]) and out["share"].iloc[3] == 0.6


def test_secondary_suppression_in_one_row(rule5):
    # Row total 3 + 10 + 20 = 33 is published: the 3 could be worked out, so the next smallest (10) goes too.
    frame = pd.DataFrame({"row": ["r"] * 3, "col": ["x", "y", "z"], "count": [3, 10, 20]})
    out = d.suppress_table(frame, "count", ["row"])
    assert out["suppressed"].tolist() == [True, True, False]
    assert out["count"].isna().tolist() == [True, True, False]


def test_secondary_prefers_non_zero_and_skips_small_totals(rule5):
    frame = pd.DataFrame({"row": ["r"] * 4, "count": [2, 0, 9, 30]})
    assert d.suppress_table(frame, "count", ["row"])["suppressed"].tolist() == [True, False, True, False]
    # two hidden cells already: nothing more to hide
    two = pd.DataFrame({"row": ["r"] * 3, "count": [2, 3, 30]})
    assert d.suppress_table(two, "count", ["row"])["suppressed"].tolist() == [True, True, False]
    # the row total (2 + 0 = 2) is itself small, so it is not published: nothing to work out
    tiny = pd.DataFrame({"row": ["r"] * 2, "count": [2, 0]})
    assert d.suppress_table(tiny, "count", ["row"])["suppressed"].tolist() == [True, False]


def test_secondary_suppression_across_rows_and_columns(rule5):
    # 2 x 3 table, row and column totals published:
    #        x   y   z
    #   a    3  10  20
    #   b    8   9  30
    # Row a: 3 hidden -> hide 10 (a,y). Column x: (a,x) hidden alone -> hide (b,x)=8.
    # Column y: (a,y) hidden alone -> hide (b,y)=9. Row b: (b,x),(b,y) hidden -> fine. Column z: none hidden.
    frame = pd.DataFrame({"row": list("aaabbb"), "col": list("xyzxyz"), "count": [3, 10, 20, 8, 9, 30]})
    out = d.suppress_table(frame, "count", ["row", "col"])
    assert out["suppressed"].tolist() == [True, True, False, True, True, False]


def test_secondary_off_under_hes(hes):
    frame = pd.DataFrame({"row": ["r"] * 3, "count": [3, 10, 20]})
    out = d.suppress_table(frame, "count", ["row"])
    assert out["suppressed"].tolist() == [True, False, False]
    assert out["count"].tolist()[1:] == [10, 20]


def test_running_total(rule5):
    # increments 10, 2, 1, 3, 0, 6: totals 10, 12, 13, 16, 16, 22.
    # 10 shown; +2 hidden; +1 (3 pending) hidden; +3 (6 pending) -> 16 shown; +0 shown; +6 shown.
    assert d.suppress_running_total([10, 2, 1, 3, 0, 6]) == [10, None, None, 16, 16, 22]
    # a running total below the threshold is hidden
    assert d.suppress_running_total([3, 0, 4]) == [None, None, 7]


def test_special_category(rule5):
    assert d.special_category_withheld("ethnic_group", 24)
    assert not d.special_category_withheld("ethnic_group", 25)
    assert not d.special_category_withheld("age_band", 3)
    frame = pd.DataFrame({"group": ["White", "Asian"], "count": [20, 4], "share": [0.83, 0.17],
                          "suppressed": [False, True]})
    out = d.withhold_special_category(frame, "ethnic_group", 24, ["count"], ["share"])
    assert out["count"].isna().all() and out["share"].isna().all() and out["suppressed"].all()
    assert "at least 25 people" in out.attrs["withheld"]
    assert d.withhold_special_category(frame, "ethnic_group", 25, ["count"], ["share"]) is frame


# --- Linked tables and the auditor -----------------------------------------------------------------------

from tests.audit import Release, determined  # noqa: E402

# Two districts of one ICP area, three small areas each (a to f); counts worked out by hand.
HIERARCHY = pd.DataFrame({"lsoa": list("abcdef"), "district": list("XXXYYY"), "icp": ["I"] * 6,
                          "n": [1, 10, 12, 2, 10, 11]})


def _hierarchy_release(shown: pd.Series) -> Release:
    """The small areas with the district and ICP totals, as published beside them."""
    cells = HIERARCHY.set_index("lsoa")["n"]
    release = Release(cells)
    for code in cells.index:
        release.add(code, [code], shown[code])
    for name, part in HIERARCHY.groupby("district"):
        release.add(name, part["lsoa"], part["n"].sum())
    release.add("I", cells.index, cells.sum())
    return release


def test_auditor_on_hand_made_systems():
    # x1 = 3 hidden; x1 + x2 shown and x2 shown: determined. x1 + x2 shown alone: not determined.
    cells = np.eye(2)
    both = np.array([[1.0], [1.0]])
    assert determined(np.hstack([both, cells[:, [1]]]), cells[:, [0]]).tolist() == [True]
    assert determined(both, cells).tolist() == [False, False]
    assert determined(np.zeros((2, 0)), cells[:, [0]]).tolist() == [False]


def test_old_rule_leaks_a_small_area_through_district_totals(rule5):
    # The old rule hides a (1) and d (2): two hidden cells in the ICP area, so no second one is hidden; but the
    # district totals X = 23 and Y = 23 are published too, so a = 23 - 10 - 12 = 1 and d = 23 - 10 - 11 = 2.
    old = d.suppress_table(HIERARCHY, "n", ["icp"])
    assert old["n"].isna().tolist() == [True, False, False, True, False, False]
    assert sorted(_hierarchy_release(old.set_index("lsoa")["n"]).leaks()) == [("a", 1.0), ("d", 2.0)]


def test_linked_suppression_protects_the_hierarchy(rule5):
    cells = HIERARCHY["n"].to_numpy()
    published = [[i] for i in range(6)] + [[0, 1, 2], [3, 4, 5], list(range(6))]
    hidden = d.linked_suppression(cells, published)
    # a and d are small; b (10, the smallest of X's others) and e (10, Y's smallest) are hidden with them;
    # the totals stay: a + b = 11 and d + e = 12 are known, but neither alone.
    assert hidden.tolist() == [True, True, False, True, True, False, False, False, False]
    shown = pd.Series([None if h else v for h, v in zip(hidden, cells)], index=HIERARCHY["lsoa"])
    assert _hierarchy_release(shown).leaks() == []


def test_linked_suppression_hides_a_district_worked_out_from_its_icp_total(rule5):
    # Four districts (cells 20, 30, 40 and 3) and the ICP total 93: the 3 is small, and 93 - 20 - 30 - 40 gives
    # it, so the next smallest district (20) is hidden too.
    hidden = d.linked_suppression([20, 30, 40, 3], [[0], [1], [2], [3], [0, 1, 2, 3]])
    assert hidden.tolist() == [True, False, False, True, False]


def test_linked_suppression_same_cells_published_twice_share_a_fate(rule5):
    # the district total and its only small area are the same number: hidden in both places
    hidden = d.linked_suppression([3, 9], [[0], [0], [1], [0, 1]])
    assert hidden.tolist() == [True, True, True, False]


def test_linked_suppression_prefers_non_zero_cells(rule5):
    # total 6 = 0 + 1 + 5: hiding the 0 would leave 1 worked out by non-negativity, so the 5 goes
    hidden = d.linked_suppression([0, 1, 5], [[0], [1], [2], [0, 1, 2]])
    assert hidden.tolist() == [False, True, True, False]


def test_linked_suppression_off_under_hes(hes):
    hidden = d.linked_suppression([1, 10, 12], [[0], [1], [2], [0, 1, 2]])
    assert hidden.tolist() == [True, False, False, False]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def _small_hierarchies(draw):
    """A handful of people in a few small areas, grouped into districts and deciles, with every table the map
    publishes: each area, each district, each decile, each district x Core20 and the whole."""
    n = draw(st.integers(2, 9))
    counts = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    district = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    decile = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    published = [[i] for i in range(n)] + [list(range(n))]
    for groups in (district, decile, [d_ * 2 + (k < 2) for d_, k in zip(district, decile)]):
        for g in set(groups):
            published.append([i for i in range(n) if groups[i] == g])
    return counts, published


@settings(max_examples=150, deadline=None)
@given(_small_hierarchies())
def test_linked_suppression_leaves_nothing_determined(case):
    counts, published = case
    hidden = d.linked_suppression(counts, published, threshold_n=5, secondary=True)
    release = Release(pd.Series(counts, index=range(len(counts))))
    for k, (cells, h) in enumerate(zip(published, hidden)):
        release.add(k, cells, None if h else sum(counts[i] for i in cells))
    assert release.leaks() == []


def test_linked_suppression_protects_a_number_hidden_elsewhere(rule5):
    # Two cells of 5 and their total 10: nothing small. Told that the first is hidden (another table needs it), the
    # total less the second would give it away, so the smaller of those two goes: the second cell (5 < 10).
    assert d.linked_suppression([5, 5], [[0], [1], [0, 1]]).tolist() == [False, False, False]
    hidden = d.linked_suppression([5, 5], [[0], [1], [0, 1]], hide=[True, False, False])
    assert hidden.tolist() == [True, True, False]


def test_linked_suppression_hides_a_kept_number_last(rule5):
    # A cell of 2 (small), a cell of 5 and their total 7: the total less the 5 gives the 2 away. The 5 goes (the
    # smaller) unless it is kept (ranked above the total), and then the total goes instead.
    assert d.linked_suppression([2, 5], [[0], [1], [0, 1]]).tolist() == [True, True, False]
    kept = d.linked_suppression([2, 5], [[0], [1], [0, 1]], keep=[0, 1, 0])
    assert kept.tolist() == [True, False, True]
