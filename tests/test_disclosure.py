"""The disclosure-control policy: presets, rounding, secondary suppression and special-category breakdowns,
checked against examples worked out by hand."""

from __future__ import annotations

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
