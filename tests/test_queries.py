"""Query functions on a tiny hand-made store, on SQLite and PostgreSQL: values worked out by hand
(see tests/factories.py for the records)."""

import datetime as dt

import pandas as pd
import pytest

from data_access.filters import Filters
from data_access.geography import (
    core20_share_of_residents, engagement_by_lsoa, icp_deprivation_profile, lsoa_map_data,
)
from data_access.networks import members_on, membership_by_icp, membership_by_month
from data_access.overview import headline_figures, panel_target
from data_access.panel import panel_by_wave, panel_size
from data_access.profiles import engaged_counts, representation_for, resident_counts
from data_access.surveys import progress_against_target, responses_by_day, survey_summary, target_verdict
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


def rows(frame, *cols):
    return [tuple(r) for r in frame[list(cols)].itertuples(index=False)]


# --- networks -------------------------------------------------------------------------

def test_membership_by_month_all_areas(conn, no_suppression):
    frame = membership_by_month(conn, Q1)
    net1 = frame[frame["network"] == "Patient Network"]
    # base 2 (m1, m2); Jan +2; Feb -1 (m2 leaves); Mar +1 -1 (m5 joins, m4 leaves)
    assert rows(net1, "joiners", "leavers", "net", "members") == [(2, 0, 2, 4), (0, 1, -1, 3), (1, 1, 0, 3)]
    net2 = frame[frame["network"] == "Thanet Health Network"]
    assert rows(net2, "joiners", "members") == [(0, 0), (2, 2), (0, 2)]
    assert list(net1["month"]) == list(pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]))


def test_membership_by_month_in_one_icp_area(conn, no_suppression):
    frame = membership_by_month(conn, Q1_EAST)
    net1 = frame[frame["network"] == "Patient Network"]
    assert rows(net1, "joiners", "leavers", "members") == [(1, 0, 2), (0, 0, 2), (0, 0, 2)]
    net2 = frame[frame["network"] == "Thanet Health Network"]
    assert list(net2["members"]) == [0, 1, 1]  # m7 has no known area, so is not in East Kent


def test_membership_by_month_for_one_network(conn):
    frame = membership_by_month(conn, Q1, network_id=2)
    assert set(frame["network"]) == {"Thanet Health Network"}


def test_month_end_size_matches_members_on_last_day(conn, no_suppression):
    frame = membership_by_month(conn, Q1)
    assert frame[frame["month"] == "2025-03-01"]["members"].sum() == members_on(conn, Q1.end, Q1) == 5


def test_members_on_counts_a_leaver_until_the_day_before_leaving(conn):
    assert members_on(conn, dt.date(2025, 2, 9), Q1, network_id=1) == 4
    assert members_on(conn, dt.date(2025, 2, 10), Q1, network_id=1) == 3


def test_membership_by_icp_per_1000(conn):
    frame = membership_by_icp(conn, Q1).set_index("icp")
    assert frame.loc["East Kent", "members"] == 3 and frame.loc["East Kent", "joiners"] == 2
    assert frame.loc["West Kent", "members"] == 1 and frame.loc["West Kent", "joiners"] == 2
    assert frame.loc["East Kent", "members_per_1000"] == pytest.approx(3 / 3000 * 1000)
    assert frame.loc["West Kent", "joiners_per_1000"] == pytest.approx(2 / 3000 * 1000)


# --- profiles -------------------------------------------------------------------------

def test_resident_counts_for_age_leave_out_children(conn):
    frame = resident_counts(conn, "age_band").set_index("group")["residents"].to_dict()
    assert frame == {"16-24": 800, "25-34": 900, "35-49": 1150, "50-64": 1050, "65+": 900}


def test_resident_counts_by_imd_quintile_in_an_icp_area(conn):
    frame = resident_counts(conn, "imd_quintile", icp="East Kent").set_index("group")["residents"].to_dict()
    assert frame == {"1 (most deprived)": 1000, "3": 2000}


def test_member_age_bands_are_computed_at_the_date_viewed(conn):
    counts = engaged_counts(conn, "members", "age_band", Q1).set_index("group")["count"].to_dict()
    assert counts == {"65+": 3, "25-34": 1, "50-64": 1}
    # on 30 June 2035 the members are m1 (born 1950: 85), m3 (2000: 35), m5 (1960: 75), m6 (1945: 90), m7 (1970: 65)
    later = Filters(None, Q1.start, dt.date(2035, 6, 30))
    counts = engaged_counts(conn, "members", "age_band", later).set_index("group")["count"].to_dict()
    assert counts == {"65+": 4, "35-49": 1}


def test_representation_ratios(conn, no_suppression):
    rep = representation_for(conn, "members", "age_band", Q1).set_index("group")
    assert rep.loc["65+", "share"] == pytest.approx(3 / 5)
    assert rep.loc["65+", "resident_share"] == pytest.approx(900 / 4800)
    assert rep.loc["65+", "ratio"] == pytest.approx((3 / 5) / (900 / 4800))
    assert rep.loc["16-24", "count"] == 0 and rep.loc["16-24", "ratio"] == 0
    assert rep.loc["50-64", "gap_pp"] == pytest.approx((1 / 5 - 1050 / 4800) * 100)


def test_representation_keeps_unstated_as_its_own_row(conn, no_suppression):
    rep = representation_for(conn, "respondents", "age_band", Q1, survey_id=1).set_index("group")
    assert rep.loc["Not known", "count"] == 1 and not rep.loc["Not known", "stated"]
    assert pd.isna(rep.loc["Not known", "share"])
    assert rep.loc["35-49", "share"] == pytest.approx(2 / 5)  # shares are of the 5 who said


def test_respondents_by_imd_quintile_against_the_survey_area(conn, no_suppression):
    rep = representation_for(conn, "respondents", "imd_quintile", Q1, survey_id=1,
                             icp_names=["East Kent"]).set_index("group")
    assert rep.loc["1 (most deprived)", "count"] == 2 and rep.loc["3", "count"] == 4
    assert rep.loc["1 (most deprived)", "ratio"] == pytest.approx((2 / 6) / (1000 / 3000))


def test_small_counts_are_suppressed_with_their_shares(conn):
    rep = representation_for(conn, "members", "age_band", Q1).set_index("group")  # default threshold 5
    assert pd.isna(rep.loc["65+", "count"]) and rep.loc["65+", "suppressed"]
    assert pd.isna(rep.loc["65+", "share"]) and pd.isna(rep.loc["65+", "ratio"])
    assert rep.loc["16-24", "count"] == 0  # zero reveals no one and is shown


# --- surveys --------------------------------------------------------------------------

def test_survey_summary_status_and_area(conn):
    frame = survey_summary(conn, Q1).set_index("id")
    assert frame.loc[1, "responses"] == 6 and frame.loc[1, "status"] == "Closed"
    assert frame.loc[2, "status"] == "Upcoming"
    west = survey_summary(conn, Filters("West Kent", Q1.start, Q1.end))
    assert list(west["id"]) == [2]  # survey 1 covers East Kent only


def test_survey_days_left_while_open(conn):
    frame = survey_summary(conn, Filters(None, Q1.start, dt.date(2025, 3, 4))).set_index("id")
    assert frame.loc[1, "status"] == "Open" and frame.loc[1, "days_left"] == 6


def test_responses_by_day_buckets_by_calendar_day(conn):
    daily = responses_by_day(conn, 1, Q1)
    per_day = daily.groupby(daily["day"].dt.strftime("%m-%d"))["responses"].sum().to_dict()
    assert per_day == {"03-01": 2, "03-02": 1, "03-04": 2, "03-05": 1}
    assert daily[daily["channel"] == "Online"]["responses"].sum() == 4


def test_target_trajectory_and_verdicts(conn, no_suppression):  # small numbers: test_channel_disclosure
    daily = responses_by_day(conn, 1, Q1)
    progress = progress_against_target(daily, dt.date(2025, 3, 1), dt.date(2025, 3, 10), 10, dt.date(2025, 3, 4))
    assert list(progress["trajectory"]) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert progress["cumulative"].iloc[3] == 5 and pd.isna(progress["cumulative"].iloc[4])
    assert target_verdict(progress, 10, dt.date(2025, 3, 4))["status"] == "on track"
    closed = progress_against_target(daily, dt.date(2025, 3, 1), dt.date(2025, 3, 10), 10, dt.date(2025, 3, 31))
    assert target_verdict(closed, 10, dt.date(2025, 3, 31))["status"] == "missed"
    behind = progress_against_target(daily, dt.date(2025, 3, 1), dt.date(2025, 3, 10), 30, dt.date(2025, 3, 5))
    verdict = target_verdict(behind, 30, dt.date(2025, 3, 5))
    assert (verdict["status"], verdict["gap"]) == ("behind", 15 - 6)
    assert "Behind by 9 responses" in verdict["sentence"]
    met = target_verdict(closed, 6, dt.date(2025, 3, 31))
    assert met["status"] == "target met"


# --- panel, geography, overview ---------------------------------------------------------

def test_panel_size_counts_terms_ending_on_the_day(conn):
    assert panel_size(conn, dt.date(2025, 3, 31)) == 3
    assert panel_size(conn, dt.date(2025, 3, 30)) == 4
    assert panel_size(conn, dt.date(2025, 3, 31), "East Kent") == 2
    waves = panel_by_wave(conn, Q1)
    assert rows(waves, "wave", "recruited", "serving") == [(1, 4, 3)]


def test_core20_share_of_residents(conn):
    assert core20_share_of_residents(conn) == pytest.approx(2500 / 6000)
    assert core20_share_of_residents(conn, "East Kent") == pytest.approx(1000 / 3000)


def test_icp_deprivation_profile(conn):
    frame = icp_deprivation_profile(conn).set_index("icp")
    assert frame.loc["East Kent", ["lsoas", "population", "core20_lsoas", "core20_population", "decile_1_lsoas"]] \
        .tolist() == [2, 3000, 1, 1000, 1]
    assert frame.loc["West Kent", "core20_share"] == pytest.approx(0.5)


def test_engagement_by_lsoa(conn):
    frame = engagement_by_lsoa(conn, Q1).set_index("code")
    assert frame.loc["A1"].tolist() == [2, 1, 1]
    assert frame.loc["A2"].tolist() == [1, 4, 1]
    assert frame.loc["B1"].tolist() == [0, 1, 1]


def test_map_data_suppresses_small_counts(conn):
    frame = lsoa_map_data(conn, Q1_EAST).set_index("code")
    assert list(frame.index) == ["A1", "A2"]
    assert pd.isna(frame.loc["A2", "respondents"]) and pd.isna(frame.loc["A2", "respondents_per_1000"])
    assert bool(frame.loc["A1", "core20"]) and not bool(frame.loc["A2", "core20"])


def test_headline_figures(conn):
    h = headline_figures(conn, Q1)
    assert (h.members, h.members_year_before, h.growth_12m) == (5, 0, 5)
    assert (h.open_surveys, h.responses, h.panel_members, h.panel_target) == (0, 6, 3, 2000)
    assert (h.respondents_with_area, h.core20_respondents) == (6, 2)
    assert h.core20_share_respondents == pytest.approx(1 / 3)
    assert h.core20_share_residents == pytest.approx(2500 / 6000)


def test_headline_figures_in_one_area(conn):
    h = headline_figures(conn, Q1_EAST)
    assert (h.members, h.responses, h.panel_members) == (3, 4 + 1, 2)
    assert panel_target(conn, "East Kent") == 1000


# --- counting by every dimension in one scan ----------------------------------------------

def test_engaged_cells_count_members_by_every_dimension_at_once(conn):
    from data_access.profiles import engaged_cells
    cells = engaged_cells(conn, "members", Q1)
    # Serving on 31 March 2025: m1 (A1, born 1950), m6 (A1, 1945), m3 (A2, 2000), m5 (B2, 1960), m7 (no area, 1970).
    # A1: Thanet, East Kent, decile 1; A2: Canterbury, East Kent, decile 6; B2: Tunbridge Wells, West Kent, decile 9.
    got = sorted((r.age_band, r.sex, r.imd_quintile, r.icp_area, r.district, bool(r.placed), int(r.n))
                 for r in cells.itertuples())
    assert got == sorted([
        ("65+", "Female", "1 (most deprived)", "East Kent", "Thanet", True, 2),
        ("25-34", "Female", "3", "East Kent", "Canterbury", True, 1),
        ("65+", "Male", "5 (least deprived)", "West Kent", "Tunbridge Wells", True, 1),
        ("50-64", "Prefer not to say", "Not known", "Not known", "Not known", False, 1),
    ])
    assert set(cells["ethnic_group"]) == {"White"} and set(cells["disability"]) == {"Not disabled"}
    east = engaged_cells(conn, "members", Q1_EAST)
    assert int(east["n"].sum()) == 3 and set(east["district"]) == {"Thanet", "Canterbury"}
    assert engaged_cells(conn, "members", Filters(None, dt.date(2020, 1, 1), dt.date(2020, 1, 31))).empty


@pytest.mark.parametrize("source", ["members", "respondents", "panel"])
@pytest.mark.parametrize("filters", [Q1, Q1_EAST])
def test_each_dimension_of_the_cells_matches_counting_it_alone(conn, source, filters):
    from data_access.profiles import DIMENSIONS, counts_from_cells, engaged_cells
    cells = engaged_cells(conn, source, filters)
    for dim in DIMENSIONS:
        alone = engaged_counts(conn, source, dim, filters)
        assert (counts_from_cells(cells, dim).set_index("group")["count"].to_dict()
                == {g: int(n) for g, n in zip(alone["group"], alone["count"])}), dim


def test_representation_tables_match_representation_for(conn, no_suppression):
    from data_access.profiles import DIMENSIONS, representation_tables
    tables = representation_tables(conn, "respondents", Q1, survey_id=1)
    assert list(tables) == list(DIMENSIONS)
    for dim, table in tables.items():
        pd.testing.assert_frame_equal(table, representation_for(conn, "respondents", dim, Q1, survey_id=1))
    # respondents aged 16-24, 35-49 (two), 65+ (two) and one not known
    ages = tables["age_band"].set_index("group")["count"]
    assert ages.get("35-49") == 2 and ages.get("65+") == 2


def test_headline_figures_from_the_cells(conn):
    from data_access.profiles import engaged_cells
    from data_access.surveys import survey_summary
    # Respondents 1-6 in March 2025: A1 (decile 1, Core20), A2 x4 (decile 6), B1 (decile 2, Core20); all placed.
    # Members on 31 March: m1, m3, m5, m6, m7 (5); panel: p1, p2, p3 (3; p4's term ended on the 30th).
    for filters, want in ((Q1, (6, 2, 6, 5, 3)), (Q1_EAST, (5, 1, 5, 3, 2))):
        cells = {kind: engaged_cells(conn, kind, filters) for kind in ("members", "respondents", "panel")}
        h = headline_figures(conn, filters, cells, survey_summary(conn, filters))
        assert (h.respondents_with_area, h.core20_respondents, h.responses, h.members, h.panel_members) == want
        assert h == headline_figures(conn, filters)


def test_engaged_cells_for_an_icp_area_count_records_placed_only_in_it(engine):
    from sqlalchemy import insert

    from data_access import models as m
    from data_access.profiles import counts_from_cells, engaged_cells
    build_tiny_store(engine)
    with engine.begin() as c:  # m8: imported with only its ICP area (East Kent, id 2)
        c.execute(insert(m.NetworkMembership.__table__), [
            dict(member_ref="m8", network_id=1, joined_on=dt.date(2025, 1, 5), lsoa_code=None, icp_id=2,
                 channel="Event", birth_year=1980, sex="Male", ethnic_group="White", disability="Disabled")])
    with engine.connect() as c:
        east = engaged_cells(c, "members", Q1_EAST)
        # East Kent: m1, m6 (A1), m3 (A2) and m8 (no small area, East Kent)
        assert int(east["n"].sum()) == 4 == members_on(c, Q1.end, Q1_EAST)
        assert counts_from_cells(east, "disability").set_index("group")["count"].to_dict() == {
            "Disabled": 1, "Not disabled": 3}
        assert counts_from_cells(east, "icp_area").set_index("group")["count"].to_dict() == {
            "East Kent": 3, "Not known": 1}
        assert int(engaged_cells(c, "members", Q1)["n"].sum()) == 6  # the five serving on 31 March, and m8
