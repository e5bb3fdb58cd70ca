"""The recruitment quota planner on hand-made panels with answers worked out by hand."""

import io

import numpy as np
import pandas as pd
import pytest

from data_access.quotas import (controlled_round, ipf, joint_quota, largest_remainder, plan_dimension, planning_counts,
                              to_xlsx)
from data_access.representativeness import Tolerance


def counts(**groups):
    return pd.DataFrame({"group": list(groups), "count": list(groups.values())})


def residents(**groups):
    return pd.DataFrame({"group": list(groups), "residents": list(groups.values())})


RES = residents(A=500, B=300, C=200)


def test_a_panel_that_already_matches_needs_only_replacements_in_proportion():
    plan = plan_dimension(counts(A=750, B=450, C=300), RES, wave=500, tolerance=Tolerance()).set_index("group")
    assert plan["recruits"].to_dict() == {"A": 250, "B": 150, "C": 100}
    assert plan["recruits"].sum() == 500
    assert plan["share_after"].to_dict() == pytest.approx({"A": 0.5, "B": 0.3, "C": 0.2})
    assert (plan["note"] == "").all()


def test_a_group_missing_entirely_gets_its_full_share():
    # A and B in proportion (5:3), no C; panel of 2,000 -> C needs its full 20% = 400.
    plan = plan_dimension(counts(A=750, B=450), RES, wave=800, tolerance=Tolerance()).set_index("group")
    assert plan.loc["C", "recruits"] == 400
    assert plan["recruits"].to_dict() == {"A": 250, "B": 150, "C": 400}
    assert plan["ratio_after"].to_dict() == pytest.approx({"A": 1.0, "B": 1.0, "C": 1.0})


def test_unstated_members_are_left_out_of_the_shares():
    plan = plan_dimension(counts(A=750, B=450, C=300, **{"Not known": 40}), RES, wave=500, tolerance=Tolerance())
    assert plan.set_index("group")["recruits"].to_dict() == {"A": 250, "B": 150, "C": 100}


def test_an_over_represented_group_cannot_be_fixed_without_removing_members():
    # A already 1,400 of a panel of 2,000 (share 70% against 50%): no recruits; B and C share the wave at
    # one common ratio: final B = lam*0.3, C = lam*0.2 with 1,400 + 0.5*lam = 2,000 -> lam = 1,200 -> B 360, C 240.
    plan = plan_dimension(counts(A=1400, B=100, C=100), RES, wave=400, tolerance=Tolerance()).set_index("group")
    assert plan["recruits"].to_dict() == {"A": 0, "B": 260, "C": 140}
    assert "only removing members" in plan.loc["A", "note"]
    assert plan.loc["A", "at_most"] == 0


def test_tolerance_sets_the_range_of_recruits():
    # Panel after the wave 2,000; C resident share 20% -> tolerance shares 16%..24% (ratio 0.8..1.2 within 5 pp):
    # at least 320 - 300 = 20... with C retained 300.
    plan = plan_dimension(counts(A=750, B=450, C=300), RES, wave=500, tolerance=Tolerance(0.8, 1.25, 5))
    c = plan.set_index("group").loc["C"]
    # lower share max(0.16, 0.15) = 0.16 -> 320 - 300 = 20; upper min(0.25, 0.25) = 0.25 -> 500 - 300 = 200
    assert (c["at_least"], c["at_most"]) == (20, 200)
    narrow = plan_dimension(counts(A=750, B=450, C=300), RES, wave=500, tolerance=Tolerance(0.95, 1.05, 5))
    c = narrow.set_index("group").loc["C"]
    assert (c["at_least"], c["at_most"]) == (80, 120)  # 19%..21% of 2,000 = 380..420


def test_largest_remainder_adds_up():
    assert largest_remainder(np.array([1.5, 1.5, 1.0]), 4).tolist() in ([2, 1, 1], [1, 2, 1])
    assert largest_remainder(np.array([0.3, 0.3, 0.4]), 1).tolist() == [0, 0, 1]


def test_ipf_meets_both_margins():
    x, ok = ipf(np.array([[1.0, 2.0], [3.0, 4.0]]), [np.array([10.0, 20.0]), np.array([12.0, 18.0])])
    assert ok
    assert x.sum(axis=1) == pytest.approx([10, 20]) and x.sum(axis=0) == pytest.approx([12, 18])


def test_controlled_rounding_keeps_the_totals():
    x = np.array([[1.5, 1.5, 0.0], [0.5, 0.5, 3.0]])
    got = controlled_round(x, np.array([3, 4]), np.array([2, 2, 3]))
    assert got.sum(axis=1).tolist() == [3, 4] and got.sum(axis=0).tolist() == [2, 2, 3]
    assert (np.abs(got - x) < 1).all()


def test_joint_table_margins_equal_each_dimension_target():
    seed = pd.DataFrame([
        (icp, q, age, 100 + 37 * k) for k, (icp, q, age) in enumerate(
            (i, q, a) for i in ("East", "West") for q in ("1", "2", "3") for a in ("16-34", "35-64", "65+"))],
        columns=["icp_area", "imd_quintile", "age_band", "residents"])
    margins = {"icp_area": pd.Series({"East": 313, "West": 187}),
               "imd_quintile": pd.Series({"1": 250, "2": 150, "3": 100}),
               "age_band": pd.Series({"16-34": 300, "35-64": 150, "65+": 50})}
    jq = joint_quota(seed, margins)
    assert jq.met and not jq.notes
    for dim, target in margins.items():
        got = jq.cells.groupby(dim)["recruits"].sum()
        assert got.reindex(target.index).tolist() == target.tolist()
    assert jq.cells["recruits"].sum() == 500
    assert (jq.cells["recruits"] >= 0).all()


def test_joint_table_with_a_structural_zero_still_meets_the_margins():
    seed = pd.DataFrame([("East", "1", 100), ("East", "2", 0), ("West", "1", 50), ("West", "2", 50)],
                        columns=["icp_area", "imd_quintile", "residents"])
    margins = {"icp_area": pd.Series({"East": 30, "West": 20}), "imd_quintile": pd.Series({"1": 25, "2": 25})}
    jq = joint_quota(seed, margins)
    # East has no quintile-2 residents: East all in 1 (30)... but quintile 1 wants only 25: impossible from the
    # seed, so the table falls back to independence and says so.
    assert jq.met and jq.notes
    assert jq.cells["recruits"].sum() == 50


def test_spreadsheet_has_one_sheet_per_table():
    data = to_xlsx({"Quotas by age band": pd.DataFrame({"Group": ["A"], "Recruits": [3]}),
                    "Joint": pd.DataFrame({"x": [1]})})
    book = pd.read_excel(io.BytesIO(data), sheet_name=None)
    assert list(book) == ["Quotas by age band", "Joint"] and book["Quotas by age band"]["Recruits"].tolist() == [3]


# --- no hidden count can be worked out from the plan ---------------------------------------------------------


def test_a_small_group_is_planned_as_if_none_were_serving_and_pooled_with_the_next_smallest():
    # B 447 and C 3 (hidden): the plan works from A 750, B 450 (447 + 3), C 0 -> panel after 2,000,
    # shares 50/30/20 -> recruits 250, 150, 400.
    plan = plan_dimension(counts(A=750, B=447, C=3), RES, wave=800, tolerance=Tolerance()).set_index("group")
    assert plan["hidden"].to_dict() == {"A": "", "B": "pooled", "C": "small"}
    assert plan["planned_from"].to_dict() == {"A": 750, "B": 450, "C": 0}
    assert plan["recruits"].to_dict() == {"A": 250, "B": 150, "C": 400}
    assert plan["retained"].to_dict() == {"A": 750, "B": 447, "C": 3}


def test_no_published_figure_depends_on_the_hidden_count():
    published = ["recruits", "at_least", "at_most", "share_after", "ratio_after", "note", "resident_share"]
    plans = [plan_dimension(counts(A=750, B=450 - c, C=c), RES, wave=800, tolerance=Tolerance())
             for c in (1, 2, 3, 4)]
    for other in plans[1:]:
        pd.testing.assert_frame_equal(other[published], plans[0][published])


def test_two_small_groups_protect_each_other():
    kept, status = planning_counts(np.array([500, 3, 2]))
    assert kept.tolist() == [500, 0, 0] and status == ["", "small", "small"]
    kept, status = planning_counts(np.array([0, 3, 40, 20]))
    assert kept.tolist() == [0, 0, 40, 23] and status == ["", "small", "", "pooled"]


def test_the_quota_table_shows_neither_hidden_count():
    from charts.panel import quota_table
    from data_access.quotas import QuotaPlan

    by_dim = {"sex": plan_dimension(counts(A=750, B=447, C=3), RES, wave=800, tolerance=Tolerance())}
    table = quota_table(QuotaPlan(2000, 1200, 800, by_dim, None), {"sex": "Sex"}).set_index("Group")
    assert table["Still serving"].to_dict() == {"A": "750", "B": "not shown", "C": "fewer than 5"}
    assert table.loc["B", "Share after the wave"] == "—" and table.loc["C", "Ratio after the wave"] == "—"
    assert table["Recruits"].to_dict() == {"A": 250, "B": 150, "C": 400}
    text = table.to_csv()
    assert "447" not in text and "453" not in text and "650" not in text
