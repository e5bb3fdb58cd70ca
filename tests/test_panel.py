"""Panel representativeness: comparisons, tolerance flags, intervals, summary measures and raking against
answers worked out by hand; panel queries on the tiny store (tests/factories.py) on SQLite and PostgreSQL."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from data_access.panel import (
    ADULTS, ALL_AGES, adult_residents, coverage, design_effects, panel_cells, panel_counts, panel_residents,
    resident_age_sex, resident_base,
)
from data_access.representativeness import (
    NOT_STATED, OVER, TOO_FEW, UNDER, WITHIN, Tolerance, assess, compare, dissimilarity_index, for_display,
    WITHHELD, gaps_to_close, proportional_similarity, published_summary, rake_cells, representativeness_score, summary,
    wilson_interval,
)
from data_access.weighting import rake, weighted_shares
from tests.factories import build_tiny_store

DAY = dt.date(2025, 3, 31)


def frame(**groups):
    return pd.DataFrame({"group": list(groups), "count": list(groups.values())})


def residents(**groups):
    return pd.DataFrame({"group": list(groups), "residents": list(groups.values())})


# --- comparisons and tolerance ------------------------------------------------------------------


def test_ratios_shares_and_unknowns_left_out():
    # 600 A, 300 B, 100 C stated, 50 'Prefer not to say'; residents 50/30/20.
    t = compare(frame(A=600, B=300, C=100, **{"Prefer not to say": 50}), residents(A=500, B=300, C=200), ["A", "B", "C"])
    t = t.set_index("group")
    assert t.loc["A", "share"] == pytest.approx(0.6) and t.loc["A", "ratio"] == pytest.approx(1.2)
    assert t.loc["B", "ratio"] == pytest.approx(1.0)
    assert t.loc["C", "ratio"] == pytest.approx(0.5) and t.loc["C", "gap_pp"] == pytest.approx(-10)
    assert not t.loc["Prefer not to say", "stated"] and t.loc["Prefer not to say", "count"] == 50
    assert pd.isna(t.loc["Prefer not to say", "share"])


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(10, 100)
    assert (lo, hi) == pytest.approx((0.05523, 0.17437), abs=1e-5)
    assert wilson_interval(0, 20)[0] == 0.0 and wilson_interval(0, 20)[1] == pytest.approx(0.16113, abs=1e-5)


def test_tolerance_flags_ratio_band_and_points():
    t = assess(compare(frame(A=600, B=300, C=100), residents(A=500, B=300, C=200)), Tolerance(0.8, 1.25, 5))
    status = dict(zip(t["group"], t["status"]))
    # A: ratio 1.2 is in the band but +10 points is beyond 5; C: ratio 0.5; B: exact.
    assert status == {"A": OVER, "B": WITHIN, "C": UNDER}
    loose = assess(compare(frame(A=600, B=300, C=100), residents(A=500, B=300, C=200)), Tolerance(0.8, 1.25, 15))
    assert dict(zip(loose["group"], loose["status"]))["A"] == WITHIN
    assert t.set_index("group").loc["C", "short_over"] == pytest.approx(100 - 200)


def test_too_few_to_tell_when_the_interval_covers_the_resident_share():
    # 2 of 10 in A (ratio 0.667, outside 0.8) but the 95% interval (5.7% to 51%) covers 30%.
    t = assess(compare(frame(A=2, B=8), residents(A=30, B=70)), Tolerance())
    assert dict(zip(t["group"], t["status"])) == {"A": TOO_FEW, "B": TOO_FEW}
    # The same shares among 1,000 are clear of chance.
    t = assess(compare(frame(A=200, B=800), residents(A=30, B=70)), Tolerance())
    assert dict(zip(t["group"], t["status"])) == {"A": UNDER, "B": OVER}


def test_not_stated_group_and_suppression():
    t = for_display(assess(compare(frame(A=3, B=997, **{"Not known": 4}), residents(A=50, B=50)), Tolerance()))
    a = t.set_index("group").loc["A"]
    assert pd.isna(a["count"]) and pd.isna(a["share"]) and pd.isna(a["low"]) and a["status"] == UNDER
    assert t.set_index("group").loc["Not known", "status"] == NOT_STATED


def test_gaps_are_ranked_worst_first_across_dimensions():
    tol = Tolerance()
    tables = {
        "sex": assess(compare(frame(F=700, M=300), residents(F=50, M=50)), tol),               # M 0.6, F 1.4
        "age": assess(compare(frame(Y=0, O=1000), residents(Y=20, O=80)), tol),                # Y missing
    }
    gaps = gaps_to_close(tables, {"sex": "Sex", "age": "Age"})
    assert list(zip(gaps["dimension"], gaps["group"])) == [("Age", "Y"), ("Sex", "M"), ("Sex", "F"), ("Age", "O")]


# --- summary measures ------------------------------------------------------------------------------


def test_dissimilarity_and_proportional_similarity():
    share, res = pd.Series([0.5, 0.3, 0.2]), pd.Series([0.4, 0.4, 0.2])
    assert dissimilarity_index(share, res) == pytest.approx(0.1)
    assert proportional_similarity(share, res) == pytest.approx(0.9)


def test_representativeness_score_is_lowest_rate_over_highest():
    # rates 10/100 = 0.1, 20/100 = 0.2, 30/200 = 0.15 -> 0.1 / 0.2
    assert representativeness_score(pd.Series([10, 20, 30]), pd.Series([100, 100, 200])) == pytest.approx(0.5)


def test_summary_of_one_dimension():
    s = summary(compare(frame(A=650, B=250, C=100, X=7), residents(A=500, B=300, C=200)))
    assert s["similarity"] == pytest.approx(0.5 + 0.25 + 0.1)
    assert s["score"] == pytest.approx((100 / 200) / (650 / 500))
    assert (s["largest_gap_group"], s["largest_gap_pp"]) == ("A", pytest.approx(15))
    assert (s["lowest_rate_group"], s["highest_rate_group"], s["not_stated"]) == ("C", "A", 7)


def test_design_effect_of_cells_by_hand():
    # 3 young, 1 old; residents half and half: weights 2/3 (x3) and 2 -> deff 4 * (4/3 + 4) / 16 = 4/3, ESS 3.
    cells = pd.DataFrame({"age": ["young", "old", "Not known"], "n": [3, 1, 2]})
    res = rake_cells(cells, {"age": pd.Series({"young": 50, "old": 50})})
    assert res.design_effect == pytest.approx(4 / 3) and res.effective_n == pytest.approx(3)
    assert (res.weighted, res.left_out) == (4, 2)


def test_raking_cells_meets_both_margins_within_a_millionth():
    cells = pd.DataFrame({"age": ["young", "young", "old", "old"], "sex": ["F", "M", "F", "M"], "n": [30, 10, 40, 20]})
    sample = cells.loc[cells.index.repeat(cells["n"]), ["age", "sex"]].reset_index(drop=True)
    margins = {"age": pd.Series({"young": 600, "old": 400}), "sex": pd.Series({"F": 510, "M": 490})}
    w = rake(sample, margins).weights
    assert weighted_shares(sample["age"], w)["young"] == pytest.approx(0.6, abs=1e-6)
    assert weighted_shares(sample["sex"], w)["M"] == pytest.approx(0.49, abs=1e-6)
    res = rake_cells(cells, margins)
    assert res.design_effect == pytest.approx(len(w) * (w ** 2).sum() / w.sum() ** 2)


def test_a_group_nobody_is_in_cannot_be_weighted():
    res = rake_cells(pd.DataFrame({"age": ["old"], "n": [5]}), {"age": pd.Series({"young": 1, "old": 1})})
    assert np.isnan(res.design_effect) and "young" in res.note


# --- queries on the tiny store (both engines) -----------------------------------------------------------


@pytest.fixture
def conn(engine):
    build_tiny_store(engine)
    with engine.connect() as c:
        yield c


def test_panel_counts_with_age_in_the_year_viewed(conn):
    # Serving on 31 March 2025: p1 (born 1999, 26), p2 (1950, 75), p3 (1970, 55); p4 ended on the 30th.
    got = panel_counts(conn, "age_band", DAY).set_index("group")["count"].to_dict()
    assert got == {"25-34": 1, "50-64": 1, "65+": 1}
    assert panel_counts(conn, "age_band", dt.date(2030, 1, 1)).empty
    assert panel_counts(conn, "icp_area", DAY, "East Kent").set_index("group")["count"].to_dict() == {"East Kent": 2}
    cells = panel_cells(conn, DAY, None, ["icp_area", "imd_quintile"])
    assert sorted(map(tuple, cells.to_numpy().tolist())) == [
        ("East Kent", "1 (most deprived)", 1), ("East Kent", "3", 1), ("West Kent", "1 (most deprived)", 1)]


def test_residents_for_the_panel_are_adults_for_areas(conn):
    icp = panel_residents(conn, "icp_area").set_index("group")["residents"].to_dict()
    assert icp == {"East Kent": 800 + 1600, "West Kent": 1200 + 1200}
    imd = panel_residents(conn, "imd_quintile").set_index("group")["residents"].to_dict()
    assert imd == {"1 (most deprived)": 800 + 1200, "3": 1600, "5 (least deprived)": 1200}
    assert adult_residents(conn, "West Kent")["residents"].sum() == 2400
    # Sex: adults too, each small area's 16+ split by its own female/male shares (all ages 3,050 / 2,950).
    sex = panel_residents(conn, "sex").set_index("group")["residents"].to_dict()
    assert sex == pytest.approx({"Female": 800 * 0.5 + 1600 * 0.5 + 1200 * 800 / 1500 + 1200 * 0.5,
                                 "Male": 800 * 0.5 + 1600 * 0.5 + 1200 * 700 / 1500 + 1200 * 0.5})
    assert resident_base(conn, "sex") == ADULTS and resident_base(conn, "age_band") == ADULTS
    assert resident_base(conn, "ethnic_group") == ALL_AGES and resident_base(conn, "disability") == ALL_AGES


def test_residents_by_age_and_sex_are_apportioned_by_each_area_split(conn):
    got = resident_age_sex(conn).set_index(["age_band", "sex"])["residents"]
    # 16-24: A1 200 x 1/2, A2 200 x 1/2, B1 300 x 800/1500, B2 100 x 1/2
    assert got[("16-24", "Female")] == pytest.approx(100 + 100 + 160 + 50)
    assert got[("16-24", "Male")] == pytest.approx(100 + 100 + 140 + 50)
    assert got.sum() == pytest.approx(4800)


def test_coverage_and_design_effects(conn):
    tables = coverage(conn, DAY)
    icp = tables["icp_area"].set_index("group")
    assert icp.loc["East Kent", "share"] == pytest.approx(2 / 3) and icp.loc["East Kent", "ratio"] == pytest.approx(4 / 3)
    design = design_effects(conn, DAY).set_index("dimension")
    # Everyone is Female, White, Not disabled: one-group dimensions have weights all 1 ... but Male residents
    # have nobody, so sex cannot be weighted.
    assert "Male" in design.loc["sex", "note"]
    # ICP area alone: East 2 (weight 0.5/(2/3)), West 1 (weight 0.5/(1/3)) -> deff 3 * (2*0.5625 + 2.25) / 9
    w = np.array([0.75, 0.75, 1.5])
    assert design.loc["icp_area", "design_effect"] == pytest.approx(len(w) * (w ** 2).sum() / w.sum() ** 2)


def test_intersections_by_hand(conn, monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    from data_access.panel import intersection
    cells = intersection(conn, DAY, None, "icp_area", "imd_quintile").set_index(["icp_area", "imd_quintile"])
    # East Kent, quintile 1 (A1): 1 of 3 members; 800 of 4,800 adult residents -> ratio (1/3) / (1/6) = 2.
    assert cells.loc[("East Kent", "1 (most deprived)"), "ratio"] == pytest.approx(2.0)
    assert cells.loc[("West Kent", "5 (least deprived)"), "count"] == 0
    assert cells.loc[("West Kent", "5 (least deprived)"), "ratio"] == 0
    age_sex = intersection(conn, DAY, None, "age_band", "sex").set_index(["age_band", "sex"])
    # 65+ Female: 1 of 3; residents 65+ female = 50 + 150 + 200*800/1500 + 150 of 4,800.
    assert age_sex.loc[("65+", "Female"), "ratio"] == pytest.approx((1 / 3) / ((50 + 150 + 200 * 8 / 15 + 150) / 4800))


def test_intersection_cells_of_one_to_four_are_hidden(conn):
    from data_access.panel import intersection
    cells = intersection(conn, DAY, None, "icp_area", "imd_quintile")
    assert cells["suppressed"].sum() == 3 and cells["ratio"].notna().sum() == 1  # only the empty cell shows (0)


def test_residents_for_several_dimensions_match_one_at_a_time(conn):
    from data_access.panel import panel_residents_by
    from data_access.panel import PANEL_DIMENSIONS
    both = panel_residents_by(conn, PANEL_DIMENSIONS)
    assert list(both) == PANEL_DIMENSIONS
    for dim in PANEL_DIMENSIONS:
        pd.testing.assert_frame_equal(both[dim], panel_residents(conn, dim))
    assert both["icp_area"].set_index("group")["residents"].to_dict() == {"East Kent": 2400, "West Kent": 2400}


def test_cells_margin_adds_up_the_other_dimensions(conn):
    from data_access.panel import PANEL_DIMENSIONS, cells_margin
    cells = panel_cells(conn, DAY, None, PANEL_DIMENSIONS)
    # p1 (A1, decile 1, East Kent), p2 (A2, decile 6, East Kent), p3 (B1, decile 2, West Kent) serve on DAY
    got = sorted(map(tuple, cells_margin(cells, ["icp_area", "imd_quintile"]).to_numpy().tolist()))
    assert got == [("East Kent", "1 (most deprived)", 1), ("East Kent", "3", 1), ("West Kent", "1 (most deprived)", 1)]
    assert cells_margin(cells, ["sex"]).to_numpy().tolist() == [["Female", 3]]


# --- published tables: secondary suppression, special-category base, summaries from published figures -----


def test_published_table_hides_a_second_group_and_works_measures_from_published_figures(monkeypatch):
    for name in ("DISCLOSURE_RULE", "SMALL_NUMBER_THRESHOLD", "SPECIAL_CATEGORY_MIN_BASE"):
        monkeypatch.delenv(name, raising=False)
    # 3 A, 20 B, 30 C (53, the panel size, is shown): A is small, and B is hidden too (53 - 30 - B would be A)
    t = for_display(assess(compare(frame(A=3, B=20, C=30), residents(A=10, B=40, C=50)), Tolerance()), "age_band")
    by = t.set_index("group")
    assert by["count"].isna().tolist() == [True, True, False] and by["small"].tolist() == [True, False, False]
    assert by[["share", "ratio", "gap_pp", "low", "high", "short_over"]].loc[["A", "B"]].isna().all().all()
    assert by.loc["C", "share"] == pytest.approx(30 / 53)
    assert by.loc["C", "gap_pp"] == pytest.approx((30 / 53 - 0.5) * 100)
    assert by.loc["C", "short_over"] == pytest.approx(30 - 0.5 * 53)
    # the summary measures see C and the hidden groups together (23 against 50% of residents), never A alone
    s = published_summary(t)
    assert s["similarity"] == pytest.approx(0.5 + 23 / 53)
    assert s["score"] == pytest.approx((23 / 50) / (30 / 50))
    assert s["largest_gap_pp"] == pytest.approx(abs(23 / 53 - 0.5) * 100)
    assert s["lowest_rate_group"] == "groups not shown" and s["n"] == 53


def test_special_category_breakdown_needs_a_base_of_25(monkeypatch):
    monkeypatch.delenv("SPECIAL_CATEGORY_MIN_BASE", raising=False)
    small = for_display(assess(compare(frame(A=10, B=14, **{"Not known": 9}), residents(A=50, B=50)), Tolerance()),
                        "ethnic_group")
    assert small.attrs["withheld"].startswith("The breakdown by ethnic group is not shown")
    assert small["count"].isna().all() and small["share"].isna().all()
    assert small.set_index("group").loc[["A", "B"], "status"].tolist() == [WITHHELD, WITHHELD]
    assert pd.isna(published_summary(small)["similarity"])
    shown = for_display(assess(compare(frame(A=11, B=14), residents(A=50, B=50)), Tolerance()), "ethnic_group")
    assert not shown.attrs.get("withheld") and shown["count"].tolist() == [11, 14]
    # the same counts on a dimension that is not special-category data are shown
    assert for_display(assess(compare(frame(A=10, B=14), residents(A=50, B=50)), Tolerance()), "sex")[
        "count"].tolist() == [10, 14]


def test_published_table_under_the_hes_rule(monkeypatch):
    monkeypatch.setenv("DISCLOSURE_RULE", "hes")
    # 3 A (shown as *), 20 B, 33 C (rounded to 35); the base of 56 is published as 55
    t = for_display(assess(compare(frame(A=3, B=20, C=33), residents(A=10, B=40, C=50)), Tolerance()))
    by = t.set_index("group")
    assert pd.isna(by.loc["A", "count"]) and by.loc["B", "count"] == 20 and by.loc["C", "count"] == 35
    assert by.loc["C", "share"] == pytest.approx(35 / 55) and by.loc["B", "share"] == pytest.approx(20 / 55)
    assert by.loc["C", "ratio"] == pytest.approx((35 / 55) / 0.5)
    lo, hi = wilson_interval(35, 55)
    assert (by.loc["C", "low"], by.loc["C", "high"]) == (pytest.approx(lo), pytest.approx(hi))
