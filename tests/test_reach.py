"""Core20 and reach figures on the tiny hand-made store (tests/factories.py), on SQLite and PostgreSQL.

Worked out by hand for Q1 2025 (1 January to 31 March), counting people with a known small area:

  area  ICP   district         decile  residents  members*  panel*  responses
  A1    East  Thanet           1       1,000      2 (m1,m6) 1 (p1)  1
  A2    East  Canterbury       6       2,000      1 (m3)    1 (p2)  4
  B1    West  Maidstone        2       1,500      0         1 (p3)  1
  B2    West  Tunbridge Wells  9       1,500      1 (m5)    0       0
  * on 31 March 2025 (m2 left in February, m4 on 1 March, p4's term ended on 30 March; m7 has no area).

Per 1,000 residents, members: A1 2.0, A2 0.5, B1 0, B2 0.667 -> median of the four (0.5 + 0.667) / 2 = 0.583;
responses: A1 1.0, A2 2.0, B1 0.667, B2 0 -> median (0.667 + 1.0) / 2 = 0.833;
panel: A1 1.0, A2 0.5, B1 0.667, B2 0 -> median 0.583.
Core20 areas are A1 and B1. Gaps (Core20 and below the median): members B1 (0 < 0.583); responses B1
(0.667 < 0.833); panel none (A1 1.0 and B1 0.667 are above 0.583).
"""

import datetime as dt

import pandas as pd
import pytest

from data_access.filters import Filters
from data_access.reach import area_reach, core20_reach, reach_benchmarks, reach_by_decile
from tests.factories import build_tiny_store

Q1 = Filters(None, dt.date(2025, 1, 1), dt.date(2025, 3, 31))
Q1_EAST = Filters("East Kent", dt.date(2025, 1, 1), dt.date(2025, 3, 31))


@pytest.fixture
def conn(engine):
    build_tiny_store(engine)
    with engine.connect() as c:
        yield c


@pytest.fixture
def no_suppression(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")


def test_area_reach_rates_and_gaps(conn, no_suppression):
    frame = area_reach(conn, Q1).set_index("code")
    assert frame["members"].tolist() == [2, 1, 0, 1]
    assert frame["panel"].tolist() == [1, 1, 1, 0]
    assert frame["respondents"].tolist() == [1, 4, 1, 0]
    assert frame["members_per_1000"].tolist() == pytest.approx([2.0, 0.5, 0.0, 2 / 3])
    assert frame["respondents_per_1000"].tolist() == pytest.approx([1.0, 2.0, 2 / 3, 0.0])
    assert frame.index[frame["members_gap"]].tolist() == ["B1"]
    assert frame.index[frame["respondents_gap"]].tolist() == ["B1"]
    assert not frame["panel_gap"].any()
    assert frame["core20"].tolist() == [True, False, True, False]
    # Local rank 1-4 of 4 areas -> deciles within Kent and Medway 1, 3, 6, 8.
    assert frame["local_decile"].tolist() == [1, 3, 6, 8]


def test_area_reach_in_one_icp_area_keeps_the_kent_and_medway_median(conn, no_suppression):
    east = area_reach(conn, Q1_EAST).set_index("code")
    assert east.index.tolist() == ["A1", "A2"]
    # A2 is not Core20; A1 is above the Kent and Medway median: no gaps in East Kent.
    assert not east["members_gap"].any() and not east["respondents_gap"].any()


def test_area_reach_hides_small_counts_but_still_flags_gaps(conn):
    frame = area_reach(conn, Q1).set_index("code")
    assert pd.isna(frame.loc["A1", "members"]) and pd.isna(frame.loc["A1", "members_per_1000"])
    assert frame.loc["B1", "members"] == 0 and frame.loc["B1", "members_per_1000"] == 0
    assert frame.index[frame["members_gap"]].tolist() == ["B1"]


def test_reach_benchmarks(conn, no_suppression):
    b = reach_benchmarks(conn, Q1).set_index("area")
    assert b.index.tolist() == ["East Kent", "West Kent", "Kent and Medway"]
    assert b["population"].tolist() == [3000, 3000, 6000]
    assert b["members"].tolist() == [3, 1, 4]
    assert b["members_per_1000"].tolist() == pytest.approx([1.0, 1 / 3, 4 / 6])
    # East Kent's areas: 2.0 and 0.5 -> median 1.25; Kent and Medway's: 0.583.
    assert b["members_median"].tolist() == pytest.approx([1.25, 1 / 3, (0.5 + 2 / 3) / 2])
    assert b.loc["Kent and Medway", "respondents_median"] == pytest.approx((2 / 3 + 1.0) / 2)
    assert b.loc["Kent and Medway", "respondents_per_1000"] == pytest.approx(1.0)


def test_core20_reach_by_icp(conn, no_suppression):
    t = core20_reach(conn, Q1, "icp").set_index("area")
    assert t.index.tolist() == ["East Kent", "West Kent", "Kent and Medway"]
    assert t["population"].tolist() == [3000, 3000, 6000]
    assert t["core20_population"].tolist() == [1000, 1500, 2500]
    assert t["core20_share"].tolist() == pytest.approx([1 / 3, 0.5, 2500 / 6000])
    # East Kent members: 3 with an area, 2 in Core20 (A1) -> share 2/3, ratio (2/3) / (1/3) = 2.
    assert t.loc["East Kent", ["members", "members_core20"]].tolist() == [3, 2]
    assert t.loc["East Kent", "members_ratio"] == pytest.approx(2.0)
    # East Kent responses: 5, 1 in Core20 -> 0.2 / (1/3) = 0.6.
    assert t.loc["East Kent", "respondents_core20_share"] == pytest.approx(0.2)
    assert t.loc["East Kent", "respondents_ratio"] == pytest.approx(0.6)
    # West Kent members: only m5 in B2 (not Core20) -> share 0, ratio 0.
    assert t.loc["West Kent", "members_ratio"] == pytest.approx(0.0)
    # Kent and Medway: members 2 of 4 -> 0.5 / (5/12) = 1.2; panel 2 of 3 -> 1.6; responses 2 of 6 -> 0.8.
    km = t.loc["Kent and Medway"]
    assert (km["members"], km["panel"], km["respondents"]) == (4, 3, 6)
    assert [km["members_ratio"], km["panel_ratio"], km["respondents_ratio"]] == pytest.approx([1.2, 1.6, 0.8])


def test_core20_reach_by_district_in_one_icp_area(conn, no_suppression):
    t = core20_reach(conn, Q1_EAST, "district").set_index("area")
    assert t.index.tolist() == ["Canterbury", "Thanet", "East Kent"]
    assert t["lsoas"].tolist() == [1, 1, 2]
    assert t.loc["Thanet", "core20_share"] == 1.0 and t.loc["Canterbury", "core20_share"] == 0.0
    assert t.loc["Thanet", "members_ratio"] == pytest.approx(1.0)
    assert pd.isna(t.loc["Canterbury", "members_ratio"])  # no Core20 residents: no ratio
    one = core20_reach(conn, Q1_EAST, "icp")
    assert one["area"].tolist() == ["East Kent"]  # the chosen area is its own total


def test_core20_reach_hides_small_counts(conn):
    t = core20_reach(conn, Q1, "icp").set_index("area")
    # East Kent responses: 5, but Kent and Medway's 6 is published too, so 6 - 5 would give West Kent's 1:
    # East Kent's 5 is hidden as well (the smaller of the two totals). 1 from Core20 areas (hidden, and the share
    # and ratio with it).
    assert pd.isna(t.loc["East Kent", "respondents"]) and t.loc["Kent and Medway", "respondents"] == 6
    assert pd.isna(t.loc["East Kent", "respondents_core20"])
    assert pd.isna(t.loc["East Kent", "respondents_core20_share"]) and pd.isna(t.loc["East Kent", "respondents_ratio"])
    assert pd.isna(t.loc["West Kent", "members"])
    assert t.loc["West Kent", "population"] == 3000  # residents are not people we engaged: never hidden


def test_reach_by_decile(conn, no_suppression):
    t = reach_by_decile(conn, Q1).set_index("decile")
    assert t.index.tolist() == list(range(1, 11))
    assert t.loc[[1, 2, 6, 9], "population"].tolist() == [1000, 1500, 2000, 1500]
    assert t.loc[[3, 4, 5, 7, 8, 10], "lsoas"].sum() == 0
    assert t.loc[[1, 2, 6, 9], "respondents"].tolist() == [1, 1, 4, 0]
    assert t.loc[[1, 2, 6, 9], "respondents_per_1000"].tolist() == pytest.approx([1.0, 2 / 3, 2.0, 0.0])
    assert t.loc[1, "members_per_1000"] == pytest.approx(2.0)
    assert pd.isna(t.loc[3, "members_per_1000"])  # no residents: no rate
    east = reach_by_decile(conn, Q1_EAST).set_index("decile")
    assert east.loc[[1, 6], "members"].tolist() == [2, 1] and east.loc[2, "population"] == 0


def test_unknown_icp_area_is_an_error(conn):
    with pytest.raises(ValueError, match="no ICP area called"):
        area_reach(conn, Filters("Narnia", Q1.start, Q1.end))


@pytest.mark.parametrize("icp", [None, "East Kent"])
@pytest.mark.parametrize("by", ["icp", "district"])
def test_core20_reach_from_cells_matches_counting_in_sql(conn, no_suppression, icp, by):
    from data_access.profiles import engaged_cells
    filters = Filters(icp, dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    cells = {kind: engaged_cells(conn, kind, filters) for kind in ("members", "panel", "respondents")}
    got = core20_reach(conn, filters, by=by, cells=cells)
    pd.testing.assert_frame_equal(got, core20_reach(conn, filters, by=by), check_dtype=False)
    if by == "icp" and icp is None:
        # respondents: A1 (Core20) and A2 x4 in East Kent; B1 (Core20) in West Kent
        east = got.set_index("area").loc["East Kent"]
        assert (east["respondents"], east["respondents_core20"]) == (5, 1)
        west = got.set_index("area").loc["West Kent"]
        assert (west["respondents"], west["respondents_core20"]) == (1, 1)
