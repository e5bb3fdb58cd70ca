"""SPC (XmR, Making Data Count) on small series worked out by hand."""

import math

import pandas as pd
import pytest

from charts.spc import (
    COLOURS, SYMBOLS, assurance_words, rules_fired, spc, spc_sentence, spc_with_chart, variation_words, xmr_chart,
)


def limits(result, i=-1):
    row = result.frame.iloc[i]
    return row["mean"], row["lpl"], row["upl"], row["nlpl"], row["nupl"]


def test_mean_limits_and_near_band():
    # mean 13/5 = 2.6; moving ranges 2,1,2,1 -> mean 1.5; limits 2.6 +/- 2.66*1.5 = 3.99; near 1.7733*1.5 = 2.66
    r = spc([1, 3, 2, 4, 3], baseline=None)
    mean, lpl, upl, nlpl, nupl = limits(r)
    assert mean == pytest.approx(2.6)
    assert (lpl, upl) == (pytest.approx(-1.39), pytest.approx(6.59))
    assert (nlpl, nupl) == (pytest.approx(-0.06), pytest.approx(5.26))
    assert list(r.frame["rule"]) == [""] * 5
    assert r.variation == "common"
    assert bool(r.frame["trial"].iloc[0]) is True  # 5 points < 12: trial limits


def test_screening_large_moving_ranges():
    y = [10, 11, 10, 11, 10, 11, 10, 30]
    # mean 103/8 = 12.875; moving ranges six 1s and a 20: mean 26/7 = 3.714; 20 >= 3.267*3.714 = 12.13
    screened = spc(y, baseline=None)
    assert limits(screened)[2] == pytest.approx(12.875 + 2.66 * 1)
    assert limits(screened)[1] == pytest.approx(12.875 - 2.66 * 1)
    plain = spc(y, baseline=None, screen=False)  # the NHS England Excel tool
    assert limits(plain)[2] == pytest.approx(12.875 + 2.66 * 26 / 7)
    assert plain.frame["rule"].iloc[-1] == "above_limit"


def test_limits_fixed_after_the_baseline():
    r = spc([1, 3, 1, 3, 100], baseline=4)
    mean, lpl, upl, *_ = limits(r)
    assert (mean, upl, lpl) == (2, pytest.approx(2 + 2.66 * 2), pytest.approx(2 - 2.66 * 2))
    assert r.frame["rule"].iloc[-1] == "above_limit"
    assert not r.frame["trial"].iloc[-1]  # 5 points, baseline of 4: limits are fixed


def test_seven_point_trend_and_points_beyond_limits():
    # mean 4, moving ranges all 1: limits 1.34 and 6.66
    r = spc([1, 2, 3, 4, 5, 6, 7], baseline=None)
    assert list(r.frame["rule"]) == ["below_limit"] + ["trend_up"] * 5 + ["above_limit"]
    assert list(r.frame["point_class"]) == ["concern"] + ["improvement"] * 6
    assert r.variation == "improvement" and r.variation_side == 1
    falling = spc([7, 6, 5, 4, 3, 2, 1], baseline=None, improvement="decrease")
    assert list(falling.frame["rule"]) == ["above_limit"] + ["trend_down"] * 5 + ["below_limit"]
    assert list(falling.frame["point_class"]) == ["concern"] + ["improvement"] * 6


def test_six_rising_points_are_not_a_trend():
    r = spc([1, 2, 3, 4, 5, 6], baseline=None)  # mean 3.5, limits 0.84 to 6.16
    assert "trend_up" not in set(r.frame["rule"])


def test_seven_points_on_one_side_of_the_mean():
    # baseline 1,3,1,3: mean 2, mean moving range 2, limits -3.32 to 7.32; then seven points at 2.5
    # (the last baseline point, 3, is above the mean too, so the run is 8 long)
    r = spc([1, 3, 1, 3] + [2.5] * 7, baseline=4)
    assert list(r.frame["rule"]) == [""] * 3 + ["run_above"] * 8
    assert r.variation == "improvement"
    neither = spc([1, 3, 1, 3] + [2.5] * 7, baseline=4, improvement="neither")
    assert set(neither.frame["point_class"].iloc[4:]) == {"neutral"}
    six = spc([1, 3, 1, 1] + [2.5] * 6, baseline=4)  # mean 1.5, six points above it
    assert set(six.frame["rule"]) == {""}


def test_two_of_three_near_the_limit_on_the_same_side():
    # near band above: 2 + 1.7733*2 = 5.55 up to 7.32
    r = spc([1, 3, 1, 3, 6, 2.5, 6, 1, 3], baseline=4)
    assert list(r.frame["rule"]) == ["", "", "", "", "two_of_three_high", "", "two_of_three_high", "", ""]
    assert r.variation == "common"
    # the middle point below the mean: NHSRplotthedots needs all three on the same side
    r2 = spc([1, 3, 1, 3, 6, 1, 6, 1, 3], baseline=4)
    assert set(r2.frame["rule"]) == {""}


def test_recalculating_from_a_change_date():
    y = [1, 3, 1, 3, 11, 13, 11, 13]
    one = spc(y, baseline=4)
    assert set(one.frame["rule"].iloc[4:]) == {"above_limit"}
    two = spc(y, baseline=4, recalculate_from=[5])
    assert list(two.frame["segment"]) == [0] * 4 + [1] * 4
    assert limits(two) == (12, pytest.approx(12 - 5.32), pytest.approx(12 + 5.32),
                           pytest.approx(12 - 2.66 * 4 / 3), pytest.approx(12 + 2.66 * 4 / 3))
    assert set(two.frame["rule"]) == {""} and two.variation == "common"


def test_assurance_from_the_target_against_the_last_limits():
    y = [1, 3, 2, 4, 3]  # limits -1.39 to 6.59
    assert spc(y, target=10, baseline=None).assurance == "consistent_fail"
    assert spc(y, target=-5, baseline=None).assurance == "consistent_pass"
    assert spc(y, target=3, baseline=None).assurance == "inconsistent"
    assert spc(y, target=10, baseline=None, improvement="decrease").assurance == "consistent_pass"
    assert spc(y, target=10, baseline=None, improvement="neither").assurance is None
    assert spc(y, baseline=None).assurance is None
    assert assurance_words(spc(y, target=10, baseline=None))[1] == "The target will consistently be missed"


def test_fewer_than_two_points():
    empty = spc([])
    assert empty.frame.empty and empty.variation == "not_enough"
    assert spc_sentence(empty, "Joiners") == "Joiners: there are no complete months to chart."
    one = spc([5], x=[pd.Timestamp("2025-01-01")], target=3)
    assert one.frame["mean"].iloc[0] == 5 and math.isnan(one.frame["upl"].iloc[0])
    assert one.variation == "not_enough" and one.assurance is None
    assert variation_words(one)[1] == "Not enough data for process limits"
    assert "only 1 point" in spc_sentence(one, "Joiners")
    xmr_chart(one, "Joiners", "People")  # draws without error


def test_constant_series():
    r = spc([4] * 8, baseline=None)
    mean, lpl, upl, *_ = limits(r)
    assert (mean, lpl, upl) == (4, 4, 4)
    assert set(r.frame["rule"]) == {""} and r.variation == "common"
    jump = spc([4, 4, 4, 4, 5], baseline=4)
    assert list(jump.frame["rule"]) == ["", "", "", "", "above_limit"]


def test_single_point_baseline():
    # the mean is the one baseline point (3); no moving range, so no limits, but the run rule still applies
    r = spc([3, 4, 5, 4, 5, 4, 5, 4], baseline=1)
    assert set(r.frame["mean"]) == {3} and r.frame["upl"].isna().all()
    assert list(r.frame["rule"]) == [""] + ["run_above"] * 7
    assert r.variation == "not_enough"
    assert "only" not in spc_sentence(r, "Joiners") or "no process limits" in spc_sentence(r, "Joiners")


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        spc([1, 2], improvement="up")
    with pytest.raises(ValueError):
        spc([1, 2], baseline=0)


def test_sentence_names_the_rule_and_the_verdicts():
    months = pd.date_range("2025-01-01", periods=7, freq="MS")
    r = spc([1, 2, 3, 4, 5, 6, 7], x=months, baseline=None, target=0)
    text = spc_sentence(r, "People joining")
    assert "mean 4.0, process limits 1.3 to 6.7 (trial limits)" in text
    assert "Latest point (July 2025): 7, special cause improvement: significantly higher" in text
    assert "a point above the upper process limit (last in July 2025)" in text
    assert "7 points in a row all rising (last in June 2025)" in text
    assert "Target 0: the target will consistently be met" in text
    assert rules_fired(r)[0] == ("a point above the upper process limit", 1, "July 2025")


def test_chart_colours_shapes_and_table():
    months = pd.date_range("2025-01-01", periods=7, freq="MS")
    chart = xmr_chart(spc([1, 2, 3, 4, 5, 6, 7], x=months, baseline=None, target=5), "Joiners", "People")
    markers = {t.name: t for t in chart.figure.data if t.mode == "markers"}
    assert markers["Special cause: improvement"].marker.color == COLOURS["improvement"] == "#00b0f0"
    assert markers["Special cause: concern"].marker.symbol == SYMBOLS["concern"] != SYMBOLS["improvement"]
    target = next(t for t in chart.figure.data if (t.name or "").startswith("Target"))
    assert target.line.color == "#de1b1b"
    badge = chart.figure.layout.annotations[0].text
    assert "Special cause improvement" in badge and "target will be met and missed at random" in badge.lower()
    assert list(chart.data["Month"])[:2] == ["January 2025", "February 2025"]
    assert chart.data["Rule"].iloc[0] == "a point below the lower process limit"


def test_spc_with_chart_gives_the_calculation_and_its_chart():
    # mean 2.6, mean moving range 1.5 as in test_mean_limits_and_near_band; recalculating from the 4th point
    # gives a second segment [4, 3]: mean 3.5
    months = pd.date_range("2025-01-01", periods=5, freq="MS")
    result, chart = spc_with_chart([1, 3, 2, 4, 3], months, "Joiners", "People", baseline=None,
                                   recalculate_from=(months[3],))
    assert list(result.frame["mean"]) == [pytest.approx(v) for v in (2, 2, 2, 3.5, 3.5)]
    assert chart.data["Mean"].tolist() == [2, 2, 2, 3.5, 3.5]
    assert chart.sentence == spc_sentence(result, "Joiners")
    assert chart.figure.layout.yaxis.title.text == "People"
