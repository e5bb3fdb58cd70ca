"""Network growth queries on a small hand-made store (SQLite and PostgreSQL), with answers worked by hand:
growth per 1,000 residents, the last two months' growth, retention, and recruitment channel mix.

The store is tests/factories.py's tiny store (see there for networks 1 and 2) plus network 3 below.
"""

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import insert

from data_access import models as m
from data_access.filters import Filters
from data_access.networks import (
    complete_months, growth_by_area, measure_settings, recent_growth, small_area_places,
)
from data_access.network_release import cohort_cells, release_values
from data_access.retention import (
    channel_mix, joiners_by_channel, network_activities, retention_by_quarter,
)
from tests.factories import build_tiny_store

D = dt.date
Q1 = Filters(None, D(2025, 1, 1), D(2025, 3, 31))
Q1_EAST = Filters("East Kent", D(2025, 1, 1), D(2025, 3, 31))

# Network 3: ref, joined, left, lsoa, birth year, channel
NETWORK_3 = [
    ("a", D(2025, 1, 10), None, "A1", 2000, "Social media"),            # still a member at 6 and 12 months
    ("b", D(2025, 1, 10), D(2025, 7, 10), "A1", 2005, "Social media"),  # leaves on the 6-month day: not retained
    ("c", D(2025, 1, 10), D(2025, 7, 11), "B2", 2001, "Social media"),  # the day after: retained at 6, not 12
    ("d", D(2025, 2, 28), D(2026, 2, 28), "A2", 1960, "GP practice"),   # retained at 6, leaves on the 12-month day
    ("e", D(2025, 3, 31), D(2026, 4, 1), None, 1970, "GP practice"),    # retained at 6 and 12
    ("f", D(2025, 8, 31), D(2026, 2, 28), "A1", 1980, "Event"),         # 6 months on is "31 February": left before
    ("g", D(2025, 8, 31), D(2026, 3, 1), "A1", 1980, "Event"),          # ... and after it
]


@pytest.fixture
def conn(engine):
    build_tiny_store(engine)
    with engine.begin() as c:
        c.execute(insert(m.Network.__table__), [dict(id=3, name="Channel Network", kind="Test", target_members=10)])
        c.execute(insert(m.NetworkMembership.__table__), [
            dict(member_ref=r, network_id=3, joined_on=j, left_on=lft, lsoa_code=a, channel=ch, birth_year=b,
                 sex="Female", ethnic_group="White", disability="Not disabled")
            for r, j, lft, a, b, ch in NETWORK_3])
        c.execute(insert(m.Activity.__table__), [
            dict(id=1, kind="Campaign", title="Recruitment campaign", held_on=D(2025, 2, 1), icp_id=None, network_id=3),
            dict(id=2, kind="Event", title="West Kent event", held_on=D(2025, 3, 1), icp_id=4, network_id=1),
            dict(id=3, kind="Event", title="Not a network's", held_on=D(2025, 3, 2), icp_id=None, network_id=None)])
        c.execute(insert(m.Measure.__table__), [
            dict(key="network_net_change", label="Net change", improvement="increase", target=0.0)])
    with engine.connect() as c:
        yield c


@pytest.fixture
def no_suppression(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")


def rows(frame, *cols):
    return [tuple(None if pd.isna(v) else v for v in r) for r in frame[list(cols)].itertuples(index=False)]


# --- growth per 1,000 residents ---------------------------------------------------------------

def test_growth_per_1000_by_icp_area(conn, no_suppression):
    g = growth_by_area(conn, Q1, "icp", network_id=1).set_index("area")
    assert list(g.index) == ["East Kent", "West Kent"]  # the ICP areas with residents
    # East Kent: m1 at the start; m1, m3 at the end; m3 joined. West Kent: m2 at the start; m5 at the end;
    # m4, m5 joined; m2, m4 left.
    assert rows(g.reset_index(), "members_start", "members_end", "joiners", "leavers", "net", "residents") == [
        (1, 2, 1, 0, 1, 3000), (1, 1, 2, 2, 0, 3000)]
    assert g.loc["East Kent", "members_per_1000"] == pytest.approx(2 / 3000 * 1000)
    assert g.loc["East Kent", "net_per_1000"] == pytest.approx(1 / 3000 * 1000)
    assert g.loc["West Kent", "joiners_per_1000"] == pytest.approx(2 / 3000 * 1000)


def test_growth_per_1000_by_district_in_one_icp_area(conn, no_suppression):
    g = growth_by_area(conn, Q1_EAST, "district", network_id=1).set_index("area")
    assert list(g.index) == ["Canterbury", "Thanet"]
    assert rows(g.reset_index(), "members_end", "net", "residents") == [(1, 1, 2000), (1, 0, 1000)]
    assert g.loc["Canterbury", "net_per_1000"] == pytest.approx(0.5)
    assert g.loc["Thanet", "members_per_1000"] == pytest.approx(1.0)


def test_growth_by_area_all_networks_hides_small_counts(conn):
    g = growth_by_area(conn, Q1, "icp").set_index("area")
    # All networks. East Kent: start m1; end m1, m3, m6, a, b, d (6); joined m3, m6, a, b, d (5); none left.
    # West Kent: start m2; end m5, c (2); joined m4, m5, c (3); left m2, m4 (2).
    # West Kent's 2 members and 3 joiners are hidden; the two areas add up to the total of the areas' members at the
    # end (8), which the deprivation map publishes (shown first), so East Kent's 6 is hidden too; East Kent's 5
    # joiners are hidden (shown, with all networks' 10 joiners less e, who has no small area, they would give West
    # Kent's 3 away). Leavers: 0 is shown, 2 is hidden.
    assert rows(g.reset_index(), "members_start", "members_end", "joiners", "leavers", "net") == [
        (None, None, None, 0, None), (None, None, None, None, None)]
    assert release_values(conn, Q1)[("km", "members_end")] == (8, 8)
    assert g[["members_per_1000", "joiners_per_1000", "net_per_1000"]].isna().all().all()
    assert g.loc["East Kent", "residents"] == 3000


def test_growth_by_area_secondary_suppression_one_network(conn, monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "2")
    g = growth_by_area(conn, Q1, "icp", network_id=1).set_index("area")
    # Network 1 (see test_growth_per_1000_by_icp_area): start (1, 1), end (2, 1), joined (1, 2), left (0, 2).
    # Threshold 2: the 1s are hidden. Start: both 1 -> hidden. End: West's 1 hidden; East's 2 is shown, so network
    # 1's members at the end of March (3, on its line of members over time) are hidden. Joined: East's 1 hidden ->
    # West's 2 hidden too. Left: 0 and 2 shown.
    assert rows(g.reset_index(), "members_start", "members_end", "joiners", "leavers") == [
        (None, 2, None, 0), (None, None, None, 2)]
    assert release_values(conn, Q1, 1)[("members", "2025-03-01")] == (None, 3)
    assert g["net"].isna().all()


def test_growth_by_district_in_the_first_quarter(conn, no_suppression):
    # network 3 in Q1 2025: nobody before 1 Jan; a, b join in A1 (Thanet), c in B2 (Tunbridge Wells), d in A2
    # (Canterbury) and all are still members on 31 Mar; e (no small area) is left out; f and g join after the period
    g = growth_by_area(conn, Q1, "district", network_id=3)
    assert rows(g, "area", "members_start", "members_end", "joiners", "leavers") == [
        ("Canterbury", 0, 1, 1, 0), ("Maidstone", 0, 0, 0, 0), ("Thanet", 0, 2, 2, 0), ("Tunbridge Wells", 0, 1, 1, 0)]


def test_growth_by_district_over_a_period_with_leavers(conn, no_suppression):
    # network 3, 1 Jul 2025 to 28 Feb 2026: on 30 Jun a, b (A1), c (B2), d (A2) are members; b and c leave in July,
    # d and f leave on 28 Feb (so are not members that day), f and g join in A1 on 31 Aug; on 28 Feb a and g remain
    g = growth_by_area(conn, Filters(None, D(2025, 7, 1), D(2026, 2, 28)), "district", network_id=3)
    assert rows(g, "area", "members_start", "members_end", "joiners", "leavers", "net") == [
        ("Canterbury", 1, 0, 0, 1, -1), ("Maidstone", 0, 0, 0, 0, 0), ("Thanet", 2, 2, 2, 2, 0),
        ("Tunbridge Wells", 1, 0, 0, 1, -1)]


def test_small_area_places(conn):
    places = small_area_places(conn).sort_values("lsoa_code")
    assert rows(places, "lsoa_code", "icp", "district", "population") == [
        ("A1", "East Kent", "Thanet", 1000), ("A2", "East Kent", "Canterbury", 2000),
        ("B1", "West Kent", "Maidstone", 1500), ("B2", "West Kent", "Tunbridge Wells", 1500)]


def test_recent_growth_last_two_months(conn, no_suppression):
    r = recent_growth(conn, Q1).set_index("network")
    assert r.loc["Patient Network", "window_start"] == D(2025, 2, 1)
    # network 1: 4 on 31 January (m1-m4), 3 on 31 March; m5 joined, m2 and m4 left
    assert rows(r.reset_index(), "members_before", "members_end", "joiners", "leavers", "net") == [
        (4, 3, 1, 2, -1), (0, 2, 2, 0, 2), (3, 5, 2, 0, 2)]
    east = recent_growth(conn, Q1_EAST).set_index("network")
    assert east.loc["Patient Network", "net"] == 0 and east.loc["Channel Network", "net"] == 1  # d (A2); e unknown


# --- retention ----------------------------------------------------------------------------------

def test_retention_at_6_and_12_months(conn, no_suppression):
    r = retention_by_quarter(conn, Filters(None, D(2025, 7, 1), D(2026, 6, 30)), network_id=3, quarters=6)
    assert list(r["cohort"]) == ["2025 Q1", "2025 Q2", "2025 Q3", "2025 Q4", "2026 Q1", "2026 Q2"]
    q1 = r.iloc[0]
    assert (q1["joiners"], q1["still_6"], q1["still_12"]) == (5, 4, 2)  # a, c, d, e at 6; a, e at 12
    assert q1["share_6"] == pytest.approx(0.8) and q1["share_12"] == pytest.approx(0.4)
    q3 = r.iloc[2]
    assert (q3["joiners"], q3["still_6"]) == (2, 1) and q3["share_6"] == pytest.approx(0.5)
    assert pd.isna(q3["share_12"])  # 12 months after 30 September 2025 is after the period end
    assert r.iloc[1]["joiners"] == 0 and pd.isna(r.iloc[1]["share_6"])
    assert pd.isna(r.iloc[4]["share_6"])  # 2026 Q1: too recent


def test_retention_hides_small_counts(conn):
    r = retention_by_quarter(conn, Filters(None, D(2025, 7, 1), D(2026, 6, 30)), network_id=3, quarters=6)
    q1 = r.iloc[0]
    # 4 is fewer than 5 (the 5 joiners may be hidden too, so that the 1 who left is not worked out from other numbers)
    assert pd.isna(q1["still_6"]) and pd.isna(q1["share_6"])


# --- recruitment channels ------------------------------------------------------------------------

def test_joiners_by_channel(conn, no_suppression):
    j = joiners_by_channel(conn, Q1, network_id=3)
    assert len(j) == 6 and set(j["channel"]) == {"Social media", "GP practice"}  # every month, with its zeros
    j = j[j["joiners"] > 0]
    assert rows(j.assign(month=j["month"].dt.strftime("%Y-%m")), "month", "channel", "joiners") == [
        ("2025-01", "Social media", 3), ("2025-02", "GP practice", 1), ("2025-03", "GP practice", 1)]
    east = joiners_by_channel(conn, Q1_EAST, network_id=3)
    assert rows(east[east["joiners"] > 0], "channel", "joiners") == [("Social media", 2), ("GP practice", 1)]
    allnets = joiners_by_channel(conn, Q1)
    jan = allnets[allnets["month"] == "2025-01-01"].set_index("channel")["joiners"]
    assert jan["Event"] == 2 and jan["Social media"] == 3  # m3, m4 joined by "Event"


def test_channel_mix_by_age_band_against_residents(conn, no_suppression):
    mix = channel_mix(conn, Q1, "age_band", network_id=3).set_index(["channel", "group"])
    # residents 16+: 16-24 800, 25-34 900, 65+ 900, of 4,800
    assert mix.loc[("Social media", "16-24"), "count"] == 2
    assert mix.loc[("Social media", "16-24"), "share"] == pytest.approx(2 / 3)
    assert mix.loc[("Social media", "16-24"), "ratio"] == pytest.approx((2 / 3) / (800 / 4800))
    assert mix.loc[("Social media", "25-34"), "ratio"] == pytest.approx((1 / 3) / (900 / 4800))
    assert mix.loc[("GP practice", "65+"), "ratio"] == pytest.approx(0.5 / (900 / 4800))
    assert mix.loc[("GP practice", "16-24"), "count"] == 0


def test_channel_mix_by_imd_quintile(conn, no_suppression):
    mix = channel_mix(conn, Q1, "imd_quintile", network_id=3).set_index(["channel", "group"])
    # residents: quintile 1 = A1 + B1 = 2,500, quintile 3 = A2 = 2,000, quintile 5 = B2 = 1,500, of 6,000
    assert mix.loc[("Social media", "1 (most deprived)"), "ratio"] == pytest.approx((2 / 3) / (2500 / 6000))
    # the shares are of the channel's joiners, d (A2, quintile 3) and e, whose area is not known
    assert mix.loc[("GP practice", "3"), "share"] == pytest.approx(0.5)
    assert mix.loc[("GP practice", "3"), "ratio"] == pytest.approx(0.5 / (2000 / 6000))
    assert mix.loc[("GP practice", "Not known"), "count"] == 1
    assert not mix.loc[("GP practice", "Not known"), "stated"]


def test_channel_mix_hides_small_counts(conn):
    mix = channel_mix(conn, Q1, "age_band", network_id=3).set_index(["channel", "group"])
    assert pd.isna(mix.loc[("Social media", "16-24"), "count"])
    assert pd.isna(mix.loc[("Social media", "16-24"), "share"])


# --- activities, measures and months ----------------------------------------------------------------

def test_cohort_cells_by_channel_age_and_deprivation(conn):
    # network 3's Q1 2025 joiners, age in 2025 and the decile of their small area: a 25 in A1 (decile 1),
    # b 20 in A1, c 24 in B2 (decile 9) by social media; d 65 in A2 (decile 6), e 55 with no area at a GP practice
    cells = cohort_cells(conn, Q1.start, Q1.end)
    joined = cells[(cells["network"] == 3) & cells["joined"].str.startswith("2025")]
    cells = joined.groupby(["channel", "age_band", "imd_quintile"], as_index=False)["n"].sum().rename(
        columns={"n": "count"})
    assert sorted(rows(cells, "channel", "age_band", "imd_quintile", "count")) == [
        ("GP practice", "50-64", "Not known", 1), ("GP practice", "65+", "3", 1),
        ("Social media", "16-24", "1 (most deprived)", 1), ("Social media", "16-24", "5 (least deprived)", 1),
        ("Social media", "25-34", "1 (most deprived)", 1)]


def test_network_activities(conn):
    a = network_activities(conn, Q1)
    assert list(a["title"]) == ["Recruitment campaign", "West Kent event"]
    assert list(network_activities(conn, Q1_EAST)["title"]) == ["Recruitment campaign"]
    assert list(network_activities(conn, Q1, network_id=1)["network"]) == ["Patient Network"]


def test_measure_settings_from_the_store(conn):
    assert measure_settings(conn, "network_net_change") == {
        "key": "network_net_change", "label": "Net change", "improvement": "increase", "target": 0.0}
    assert measure_settings(conn, "network_joiners")["improvement"] == "increase"  # not in the store: default


def test_complete_months_only():
    totals = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]), "joiners": [1, 2, 3]})
    kept = complete_months(totals, Filters(None, D(2025, 1, 2), D(2025, 3, 31)))
    assert list(kept["joiners"]) == [2, 3]


# --- pure calculations and sentences (no store) --------------------------------------------------------

from charts.networks import (  # noqa: E402
    about, growth_per_1000_chart, project_sizes, projection_chart, recent_growth_chart, retention_chart,
)


def test_about_rounds_as_a_board_report_would():
    assert [about(n) for n in (137, 145, 23, 7, 1)] == ["140", "140", "25", "7", "1"]


def test_projection_by_hand():
    months = pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"])
    monthly = pd.DataFrame({"network": ["A"] * 3 + ["B"] * 3 + ["C"] * 3, "month": list(months) * 3,
                            "members": [60, 80, 100, 40, 50, 60, 50, 45, 40],
                            "net": [10, 20, 30, 10, 10, 10, -5, -5, -5]})
    p = project_sizes(monthly, monthly, {"A": 200, "B": 50, "C": 100}, D(2025, 3, 31)).set_index("network")
    # A: rate 20, sd 10, n 3: 100 + 12 x 20 = 340 +/- 1.96 x 10 x sqrt(12 x (1 + 12/3)) = 151.8
    assert p.loc["A", "rate"] == 20 and p.loc["A", "projected"] == 340
    assert p.loc["A", "high"] - 340 == pytest.approx(1.96 * 10 * 60 ** 0.5)
    assert p.loc["A", "target_date"] == D(2025, 8, 31)  # (200 - 100) / 20 = 5 months after 31 March
    assert p.loc["B", "target_status"] == "reached" and p.loc["B", "sd"] == 0
    assert p.loc["C", "target_status"] == "not at this rate"
    chart = projection_chart(monthly, p.reset_index(), D(2025, 3, 31), "Kent and Medway")
    assert "A: about 340 by March 2026 (95% range 188 to 492), from 100 at +20.0 a month; target 200 reached by " \
           "about August 2025" in chart.sentence


def test_recent_growth_sentence():
    recent = pd.DataFrame({"network": ["Thanet", "West"], "window_start": [D(2016, 10, 1)] * 2,
                           "window_end": [D(2016, 11, 30)] * 2, "members_before": [100, 50],
                           "members_end": [237, 49], "joiners": [150, 3], "leavers": [13, 4], "net": [137, float("nan")]})
    chart = recent_growth_chart(recent, "East Kent")
    assert chart.sentence == ("In the last two months (1 October to 30 November 2016) in East Kent: Thanet grew by "
                              "about 140 members (150 joined, 13 left); West: fewer than 5 joined, fewer than 5 left.")


def test_growth_per_1000_sentence():
    g = pd.DataFrame({"area": ["East Kent", "West Kent"], "members_start": [100, 200], "members_end": [130, 210],
                      "joiners": [40, 20], "leavers": [10, 10], "net": [30, 10], "residents": [3000, 5000]})
    g["members_per_1000"] = g["members_end"] / g["residents"] * 1000
    g["joiners_per_1000"] = g["joiners"] / g["residents"] * 1000
    g["net_per_1000"] = g["net"] / g["residents"] * 1000
    chart = growth_per_1000_chart(g, "ICP area", "Kent and Medway", "all networks", chosen="West Kent")
    assert list(chart.figure.data[1].y) == ["▶ West Kent (chosen)", "East Kent"]
    assert ("net growth for the size of the ICP area was highest in East Kent (+10.00 per 1,000 residents, +30 members)"
            " and lowest in West Kent (+2.00 per 1,000, +10)") in chart.sentence


def test_retention_sentence():
    r = pd.DataFrame({"cohort": ["2025 Q1", "2025 Q2", "2025 Q3"], "quarter_start": [D(2025, 1, 1)] * 3,
                      "joiners": [10, 20, 5], "still_6": [9, 15, None], "share_6": [0.9, 0.75, None],
                      "still_12": [8, None, None], "share_12": [0.8, None, None]})
    chart = retention_chart(r, "Kent and Medway", "all networks")
    assert chart.sentence.startswith("Of the people who joined a network in Kent and Medway in 2025 Q2, 75% were "
                                     "still members 6 months later; of those who joined in 2025 Q1, 80% were after "
                                     "12 months. Across the quarters shown, 6-month retention ranged from 75% to 90%.")


def test_recent_growth_sentence_when_no_one_moved():
    recent = pd.DataFrame({"network": ["Quiet"], "window_start": [D(2016, 10, 1)], "window_end": [D(2016, 11, 30)],
                           "members_before": [0], "members_end": [0], "joiners": [0], "leavers": [0], "net": [0]})
    assert "Quiet: no one joined or left." in recent_growth_chart(recent, "East Kent").sentence


def test_timeline_hides_networks_with_fewer_than_5_members_and_marks_activities():
    from charts.networks import growth_timeline

    months = pd.to_datetime(["2025-01-01", "2025-02-01"])
    frame = pd.DataFrame({"network": ["A", "A", "B", "B"], "month": list(months) * 2, "joiners": [10, 30, 1, 0],
                          "members": [100, 130, 3, 6]})
    acts = pd.DataFrame({"held_on": pd.to_datetime(["2025-02-03"]), "kind": ["Campaign"],
                         "title": ["Recruitment campaign: A"], "network": ["A"]})
    chart = growth_timeline(frame, acts, "East Kent")
    assert list(chart.figure.data[1].y) == [None, 6]
    assert "1 network activity is marked (triangles). The most people joined in February 2025 (30), around the " \
           "recruitment campaign: A (campaign, 3 February 2025)." in chart.sentence
    assert pd.isna(chart.data["members"].iloc[2]) and chart.data["members"].iloc[3] == 6
    assert chart.sentence.endswith("1 network has months not shown (a break in its line): fewer than 5 people, or a "
                                   "count from which a small number could be worked out.")


def test_timeline_says_nothing_of_hidden_months_when_none_is_hidden():
    from charts.networks import growth_timeline

    frame = pd.DataFrame({"network": ["A", "A"], "month": pd.to_datetime(["2025-01-01", "2025-02-01"]),
                          "joiners": [10, 30], "members": [100, 130]})
    assert "not shown" not in growth_timeline(frame, pd.DataFrame(columns=["held_on", "kind", "title", "network"]),
                                              "East Kent").sentence


def test_recent_growth_says_fewer_than_5_only_of_small_counts():
    """Rows with a hidden cell: 6 joined and 3 left (3 is small, hidden), 11 joined (hidden only to protect a small
    cell) and 2 left; a network whose members stayed the same; one that shrank."""
    recent = pd.DataFrame({
        "network": ["North", "South", "Level", "Down"], "window_start": [D(2026, 9, 16)] * 4,
        "window_end": [D(2026, 11, 15)] * 4, "members_before": [80, 40, 300, 120],
        "members_end": [83, 49, 300, 111], "joiners": [6, float("nan"), 23, 4 + 3],
        "leavers": [float("nan"), float("nan"), 23, 16], "net": [float("nan"), float("nan"), 0, -9],
        "joiners_small": [False, False, False, False], "leavers_small": [True, True, False, False]})
    chart = recent_growth_chart(recent, "West Kent")
    assert chart.sentence == (
        "In the last two months (16 September to 15 November 2026) in West Kent: Level stayed the same size "
        "(23 joined, 23 left); Down shrank by about 9 members (7 joined, 16 left); North: 6 joined, fewer than 5 "
        "left; South: not shown joined, fewer than 5 left.")
    assert "joiners_small" not in chart.data.columns and "leavers_small" not in chart.data.columns


def test_recent_growth_flags_which_hidden_counts_are_small(engine):
    """The tiny store (tests/factories.py), two months to 31 March 2025 (1 February to 31 March), with 20 Thanet
    members who joined in December 2024 (one of them leaves on 15 March) and 10 more Thanet joiners in March.
    Patient Network: before 4 (m1-m4), joined 1 (m5), left 2 (m2, m4), end 3: every count small.
    Thanet: before 20, joined 2 + 10 = 12 (m6, m7, the ten), left 1, end 31. The 1 leaver is small; with the other
    three shown it would be 20 + 12 - 31, so some of them are hidden too. The members before (20) are Thanet's members
    at the end of January and the members at the end (31) its members at the end of March, on its line of members
    over time, where February's 2 joiners and March's 10 (and all networks' 15 joiners, and the map's total of 33
    members at the end) are hidden as well: the release hides all four. The 12 joiners are hidden but not small:
    'not shown'."""
    from data_access.networks import recent_growth

    build_tiny_store(engine)
    person = dict(network_id=2, lsoa_code="A1", channel="Event", birth_year=1980, sex="Female",
                  ethnic_group="White", disability="Not disabled")
    with engine.begin() as conn:
        conn.execute(insert(m.NetworkMembership.__table__),
                     [dict(person, member_ref=f"x{i}", joined_on=D(2025, 3, 10), left_on=None) for i in range(10)]
                     + [dict(person, member_ref=f"y{i}", joined_on=D(2024, 12, 1),
                             left_on=D(2025, 3, 15) if i == 0 else None) for i in range(20)])
    with engine.connect() as conn:
        recent = recent_growth(conn, Filters(None, D(2025, 1, 1), D(2025, 3, 31))).set_index("network")
    assert recent[["members_before", "members_end", "joiners", "leavers"]].isna().loc["Patient Network"].all()
    thanet = recent.loc["Thanet Health Network"]
    assert thanet[["members_before", "members_end", "joiners", "leavers", "net"]].isna().all()
    assert recent["joiners_small"].to_dict() == {"Patient Network": True, "Thanet Health Network": False}
    assert recent["leavers_small"].to_dict() == {"Patient Network": True, "Thanet Health Network": True}
    sentence = recent_growth_chart(recent.reset_index(), "Kent and Medway").sentence
    assert "Thanet Health Network: not shown joined, fewer than 5 left" in sentence
    assert "Patient Network: fewer than 5 joined, fewer than 5 left" in sentence


def test_members_over_time_sentence_uses_the_months_shown_and_ranks_every_network():
    """The Patient Network's last month (November) is hidden by the running-total rule; its last shown size (675 in
    October) still beats the West Kent Health Network's 562, and the total's last shown month is October."""
    from charts.networks import members_over_time

    months = pd.to_datetime(["2026-09-01", "2026-10-01", "2026-11-01"])
    frame = pd.DataFrame({"network": ["Patient Network"] * 3 + ["West Kent Health Network"] * 3,
                          "month": list(months) * 2, "members": [670, 675, None, 560, 561, 562]})
    totals = pd.DataFrame({"month": months, "members": [1230, 1236, None]})
    chart = members_over_time(frame, "West Kent", totals)
    assert chart.sentence == ("Across all networks in West Kent, memberships went from 1,230 at the end of September "
                              "2026 to 1,236 by October 2026 (+6), the latest month shown. The largest is the Patient "
                              "Network with 675 members at the end of October 2026.")


def test_members_over_time_sentence_for_one_network():
    from charts.networks import members_over_time

    months = pd.to_datetime(["2026-09-01", "2026-10-01", "2026-11-01"])
    frame = pd.DataFrame({"network": ["West Kent Health Network"] * 3, "month": months, "members": [68, 86, None]})
    chart = members_over_time(frame, "Kent and Medway", frame[["month", "members"]])
    assert chart.sentence == ("West Kent Health Network in Kent and Medway went from 68 members at the end of "
                              "September 2026 to 86 by October 2026 (+18), the latest month shown.")
    assert "fewer than" not in chart.sentence and "Across all networks" not in chart.sentence
