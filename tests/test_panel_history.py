"""The panel over time and its participation, on the tiny store plus a few hand-made members and invitations,
on SQLite and PostgreSQL, with answers worked out by hand; and the secondary suppression behind them."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from data_access import models as m
from data_access.filters import Filters
from data_access.panel_history import (
    joiners_by_wave, month_ends, panel_size_by_month, panel_surveys, participation, participation_total,
    terms_ending, terms_ending_total, wave_totals,
)
from data_access.representativeness import wilson_interval
from data_access.subtraction import hide_cumulative, hide_parts
from tests.factories import build_tiny_store

D = dt.date

# The tiny store's panel (tests/factories.py) is p1-p4, wave 1 from 1 April 2024:
#   p1 A1 (East Kent) born 1999, to 31/3/2027;  p2 A2 (East Kent) 1950, to 31/3/2027
#   p3 B1 (West Kent) 1970, to 31/3/2025;       p4 B2 (West Kent) 1960, to 30/3/2025
# Added here, wave 2 from 1 April 2025:
EXTRA = [
    # ref, end, lsoa, birth year
    ("p5", D(2026, 3, 31), "A1", 1990),   # 35-49 in 2025
    ("p6", D(2028, 3, 31), "B2", 1940),   # 65+
    ("p7", D(2025, 6, 30), None, None),   # no area, no age
    ("p8", D(2025, 7, 30), "A2", 1980),   # 35-49; ends on the 3-month horizon from 30 April 2025
]
# Invitations: survey 1 sent 1 March 2025, survey 2 sent 1 June 2025 (member ref -> responded).
INVITED = {1: (D(2025, 3, 1), {"p1": True, "p2": True, "p3": False, "p4": True}),
           2: (D(2025, 6, 1), {"p1": False, "p2": True, "p5": True, "p6": False, "p7": True, "p8": False})}


@pytest.fixture
def conn(engine):
    build_tiny_store(engine)
    with engine.begin() as c:
        c.execute(insert(m.PanelMember.__table__), [
            dict(member_ref=r, wave=2, term_start=D(2025, 4, 1), term_end=e, lsoa_code=a, birth_year=b,
                 sex="Female", ethnic_group="White", disability="Not disabled") for r, e, a, b in EXTRA])
        ids = {r: i for i, r in c.execute(m.PanelMember.__table__.select().with_only_columns(
            m.PanelMember.id, m.PanelMember.member_ref)).all()}
        c.execute(insert(m.PanelInvitation.__table__), [
            dict(survey_id=s, panel_member_id=ids[r], invited_on=day, responded=replied)
            for s, (day, who) in INVITED.items() for r, replied in who.items()])
    with engine.connect() as c:
        yield c


@pytest.fixture
def no_threshold(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")


def test_month_ends():
    assert month_ends(D(2025, 1, 10), D(2025, 3, 15)) == [D(2025, 1, 31), D(2025, 2, 28), D(2025, 3, 15)]
    assert month_ends(D(2025, 1, 10), D(2025, 2, 28)) == [D(2025, 1, 31), D(2025, 2, 28)]


def test_size_by_month_and_ahead(conn):
    sizes = panel_size_by_month(conn, Filters(None, D(2025, 1, 1), D(2025, 5, 15)), ahead=2)
    assert sizes["day"].tolist() == [D(2025, 1, 31), D(2025, 2, 28), D(2025, 3, 31), D(2025, 4, 30), D(2025, 5, 15),
                                     D(2025, 5, 31), D(2025, 6, 30), D(2025, 7, 15)]
    # p4 ends 30 March, p3 31 March; p5-p8 start 1 April; p7 ends 30 June (still serving that day).
    assert sizes["members"].tolist() == [4, 4, 3, 6, 6, 6, 6, 5]
    assert sizes["recorded"].tolist() == [True] * 5 + [False] * 3
    east = panel_size_by_month(conn, Filters("East Kent", D(2025, 1, 1), D(2025, 5, 15)), ahead=2)
    assert east["members"].tolist() == [2, 2, 2, 4, 4, 4, 4, 4]  # p1, p2, then p5 and p8 (p7 has no area)


def test_joiners_by_wave_keep_every_group(conn, no_threshold):
    got = joiners_by_wave(conn, "icp_area", Filters(None, D(2025, 1, 1), D(2025, 5, 15)))
    rows = {(w, g): int(n) for w, g, n in zip(got["wave"], got["group"], got["joiners"])}
    assert rows == {(1, "East Kent"): 2, (1, "West Kent"): 2,
                    (2, "East Kent"): 2, (2, "West Kent"): 1, (2, "Not known"): 1}
    assert got.loc[got["group"] == "Not known", "stated"].tolist() == [False]
    assert got.groupby("wave")["started"].first().to_dict() == {1: D(2024, 4, 1), 2: D(2025, 4, 1)}
    ages = joiners_by_wave(conn, "age_band", Filters(None, D(2025, 1, 1), D(2025, 5, 15)))
    wave2 = ages[ages["wave"] == 2].set_index("group")["joiners"].astype(int).to_dict()
    assert wave2 == {"35-49": 2, "65+": 1, "Not known": 1}  # age as at the wave's start (2025)
    assert set(joiners_by_wave(conn, "icp_area", Filters(None, D(2024, 1, 1), D(2025, 3, 1)))["wave"]) == {1}
    assert wave_totals(conn, Filters(None, D(2025, 1, 1), D(2025, 5, 15)))["joiners"].tolist() == [4, 4]


def test_joiners_hidden_when_small_or_given_away_by_the_wave_total(conn):
    got = joiners_by_wave(conn, "icp_area", Filters(None, D(2025, 1, 1), D(2025, 5, 15)))
    assert got["joiners"].isna().all() and got["hidden"].all()


def test_terms_ending_within_3_6_and_12_months(conn, no_threshold):
    got = terms_ending(conn, "age_band", D(2025, 4, 30)).set_index("group")
    cols = ["serving", "within_3", "within_6", "within_12"]
    as_lists = {g: [int(v) for v in r] for g, r in got[cols].iterrows()}
    # Horizons 30 July, 30 October 2025, 30 April 2026. p8 ends ON 30 July: still there, so within 6 not 3.
    assert as_lists == {"25-34": [1, 0, 0, 0], "35-49": [2, 0, 1, 2], "65+": [2, 0, 0, 0], "Not known": [1, 1, 1, 1]}
    assert got.loc["35-49", "share_6"] == pytest.approx(0.5)
    assert list(got.index) == ["25-34", "35-49", "65+", "Not known"] and not got.loc["Not known", "stated"]
    total = terms_ending_total(conn, D(2025, 4, 30))
    assert {k: total[k] for k in cols} == {"serving": 6, "within_3": 1, "within_6": 2, "within_12": 3}
    assert total["ends"][3] == D(2025, 7, 30)
    west = terms_ending_total(conn, D(2025, 4, 30), "West Kent")
    assert (west["serving"], west["within_12"]) == (1, 0)  # p6 only


def test_participation_by_group(conn, no_threshold):
    year = Filters(None, D(2025, 1, 1), D(2025, 12, 31))
    got = participation(conn, "age_band", year).set_index("group")
    pairs = {g: (int(r["invited"]), int(r["responded"])) for g, r in got.iterrows()}
    assert pairs == {"25-34": (2, 1), "35-49": (2, 1), "50-64": (1, 0), "65+": (4, 3), "Not known": (1, 1)}
    assert got.loc["65+", "rate"] == pytest.approx(0.75)
    assert (got.loc["65+", "low"], got.loc["65+", "high"]) == pytest.approx(wilson_interval(3, 4))
    assert participation_total(conn, year) == {"invited": 10, "responded": 6, "rate": pytest.approx(0.6)}
    one = participation(conn, "age_band", year, survey_id=1).set_index("group")
    assert {g: int(r["invited"]) for g, r in one.iterrows()} == {"25-34": 1, "50-64": 1, "65+": 2}
    spring = Filters(None, D(2025, 1, 1), D(2025, 3, 31))
    assert participation_total(conn, spring) == participation_total(conn, year, survey_id=1)
    east = participation_total(conn, Filters("East Kent", D(2025, 1, 1), D(2025, 12, 31)))
    assert (east["invited"], east["responded"]) == (6, 4)
    surveys = panel_surveys(conn, year)
    assert surveys[["survey_id", "invited", "responded"]].values.tolist() == [[1, 4, 3], [2, 6, 3]]
    assert surveys["invited_on"].tolist() == [D(2025, 3, 1), D(2025, 6, 1)]


def test_participation_hides_small_counts_and_their_rates(conn):
    got = participation(conn, "age_band", Filters(None, D(2025, 1, 1), D(2025, 12, 31)))
    # Every group has 1-4 invitations: all hidden, and every rate; a count of 0 replies reveals no one and shows.
    assert got["rate"].isna().all() and got["invited"].isna().all()
    assert got.set_index("group")["responded"].isna().to_dict() == {
        "25-34": True, "35-49": True, "50-64": False, "65+": True, "Not known": True}


def test_unknown_dimension_is_a_clear_error(conn):
    with pytest.raises(ValueError, match="Unknown dimension"):
        participation(conn, "shoe_size", Filters())


# --- secondary suppression --------------------------------------------------------------------------------


def test_hide_parts_adds_a_complement_only_when_one_is_hidden():
    assert hide_parts([10, 3, 20, 7]).tolist() == [False, True, False, True]   # 7 hides the 3 from the total
    assert hide_parts([10, 3, 2, 20]).tolist() == [False, True, True, False]   # two hidden protect each other
    assert hide_parts([3, 0, 20]).tolist() == [True, False, True]               # a zero cannot protect
    assert hide_parts([0, 10, 20]).tolist() == [False, False, False]


def test_hide_cumulative_rows_and_columns():
    # Row A: 12 serving, 10 ending within 12 months -> 2 staying would follow: hide A's 12-month count, and then
    # B's too (the column total would give A's away).
    got = hide_cumulative(np.array([[0, 0, 10, 12], [5, 20, 30, 40]]), protect_last=False)
    assert got.tolist() == [[False, False, True, False], [False, False, True, False]]
    # A 2 between neighbours (10 -> 12) hides the later one; the 3 hides itself; columns get complements.
    got = hide_cumulative(np.array([[3, 10, 10, 50], [10, 12, 30, 50], [20, 40, 60, 80]]), protect_last=False)
    assert got[0, 0] and got[1, 1] and got[1, 0]   # 3; 12; and 10 as the complement of the 3 in column 1
    assert got[:, 1].sum() >= 2 and not got[:, 3].any()
    # Nothing shown lets a hidden value be worked out: every row's shown neighbours differ by 0 or 5+ ...
    for row, hid in zip([[3, 10, 10, 50], [10, 12, 30, 50], [20, 40, 60, 80]], got):
        shown = [0] + [v for v, h in zip(row, hid) if not h]
        assert all(b - a == 0 or b - a >= 5 for a, b in zip(shown, shown[1:]))
    # ... and no column has exactly one hidden cell.
    assert all(got[:, j].sum() != 1 for j in range(3))


def test_hide_cumulative_protects_the_last_column_when_asked():
    # Responded, invited: 2 non-responders in row 0 -> hide its responded count; the complement in column 0.
    got = hide_cumulative(np.array([[8, 10], [30, 50], [40, 60]]), protect_last=True)
    assert got.tolist() == [[True, False], [True, False], [False, False]]
    assert hide_cumulative(np.zeros((0, 2))).shape == (0, 2)

