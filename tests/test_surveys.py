"""Survey page queries on a small hand-made store, on SQLite and PostgreSQL: reach, question results,
breakdowns, free-text themes, representation, reweighting and "You said, we did", with values worked
out by hand. The tiny store is tests/factories.py; build_survey_extras below adds to it."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

from data_access import models as m
from data_access.actions import open_actions, survey_actions
from data_access.answers import (
    free_text_summary, likert_summary, question_by_group, question_results, survey_questions, survey_weights,
    weighted_question_results, weighted_survey_results,
)
from data_access.filters import Filters
from data_access.profiles import respondent_cells
from data_access.surveys import (
    TOLERANCE, promotions, reach_over_time, representation_gaps, survey_reach, surveys_at_a_glance,
)
from tests.factories import build_tiny_store

Q1 = Filters(None, dt.date(2025, 1, 1), dt.date(2025, 3, 31))
YEAR = Filters(None, dt.date(2025, 1, 1), dt.date(2025, 12, 31))
LIKERT, MULTI, SINGLE, FREE, EMPTY = 10, 11, 12, 13, 14
WEIGHTED_Q = 50
# Survey 5's hand-made sample: units per age band; each unit is F/M x (1 in A1, 2 in A2) = 6 people.
AGE_UNITS = {"16-24": (2005, 1), "25-34": (1995, 1), "35-49": (1985, 2), "50-64": (1970, 2), "65+": (1950, 4)}
# East Kent residents aged 16+ (A1 + A2, tests/factories.py): 2,400 in all.
EAST_AGE = {"16-24": 400, "25-34": 500, "35-49": 550, "50-64": 550, "65+": 400}


def build_survey_extras(engine) -> None:
    """Questions and answers for tiny survey 1, themes, actions, promotions, and surveys 3-5:
    3 has one response, 4 covers an area with no population data, 5 is a sample for raking."""
    D = dt.date
    with engine.begin() as conn:
        conn.execute(insert(m.Survey.__table__), [
            dict(id=3, title="One-response survey", project="Test", opens_on=D(2025, 4, 1), closes_on=D(2025, 4, 30),
                 target_responses=5, is_panel_survey=False),
            dict(id=4, title="Medway survey", project="Test", opens_on=D(2025, 5, 1), closes_on=D(2025, 5, 31),
                 target_responses=None, is_panel_survey=False),
            dict(id=5, title="Weighting survey", project="Test", opens_on=D(2025, 6, 1), closes_on=D(2025, 6, 30),
                 target_responses=60, is_panel_survey=False)])
        conn.execute(insert(m.SurveyArea.__table__), [dict(survey_id=4, icp_id=3), dict(survey_id=5, icp_id=2)])
        conn.execute(insert(m.Question.__table__), [
            dict(id=LIKERT, survey_id=1, position=1, text="I was listened to", qtype="likert",
                 options=json.dumps(m.LIKERT_SCALE)),
            dict(id=MULTI, survey_id=1, position=2, text="Services used", qtype="multiple",
                 options=json.dumps(["GP", "Pharmacy", "NHS 111"])),
            dict(id=SINGLE, survey_id=1, position=3, text="How to hear from us", qtype="single",
                 options=json.dumps(["Email", "Post"])),
            dict(id=FREE, survey_id=1, position=4, text="Anything else?", qtype="free_text", options="[]"),
            dict(id=EMPTY, survey_id=1, position=5, text="Nobody answered this", qtype="free_text", options="[]"),
            dict(id=30, survey_id=3, position=1, text="Agree?", qtype="likert", options=json.dumps(m.LIKERT_SCALE)),
            dict(id=WEIGHTED_Q, survey_id=5, position=1, text="Agree?", qtype="likert",
                 options=json.dumps(m.LIKERT_SCALE))])
        sd, d, neither, a, sa = m.LIKERT_SCALE
        answers = [
            (1, LIKERT, sd), (2, LIKERT, d), (3, LIKERT, a), (4, LIKERT, sa), (5, LIKERT, a),  # r6 did not answer
            (1, MULTI, "GP"), (1, MULTI, "Pharmacy"), (2, MULTI, "GP"), (3, MULTI, "Pharmacy"),
            (3, MULTI, "NHS 111"), (4, MULTI, "GP"), (4, MULTI, "Pharmacy"), (4, MULTI, "NHS 111"),
            (1, SINGLE, "Email"), (2, SINGLE, "Email"), (3, SINGLE, "Post"), (4, SINGLE, "Post"),
            (5, SINGLE, "Post"), (6, SINGLE, "Post"),
            (1, FREE, "The bus to hospital is 100% unreliable"), (2, FREE, "Waiting for an APPOINTMENT"),
            (3, FREE, "bus and appointment"), (4, FREE, "   "), (5, FREE, "<b>kind staff</b>"),
            (6, FREE, "nothing **else**"),
        ]
        conn.execute(insert(m.Answer.__table__), [
            dict(response_id=r, question_id=q, value=v) for r, q, v in answers])
        conn.execute(insert(m.Theme.__table__), [
            dict(name="Transport", keywords="bus, parking"), dict(name="Access", keywords="appointment,waiting"),
            dict(name="Staff", keywords=" staff "), dict(name="Wildcards", keywords="1_0%"),
            dict(name="Digital", keywords="app, Online Booking"), dict(name="Hospitals", keywords="hospital")])
        conn.execute(insert(m.SurveyResponse.__table__), [
            dict(id=100, survey_id=3, external_id="one", submitted_at=dt.datetime(2025, 4, 2, 10), channel="Online",
                 lsoa_code="A1", birth_year=1980, sex="Male", ethnic_group="White", disability="Not disabled")])
        conn.execute(insert(m.Answer.__table__), [dict(response_id=100, question_id=30, value=a)])
        rows, ans = [], []
        rid = 200
        for band, (born, units) in AGE_UNITS.items():
            for _ in range(units):
                for sex in m.SEXES:
                    for lsoa in ("A1", "A2", "A2"):
                        rid += 1
                        rows.append(dict(id=rid, survey_id=5, external_id=f"w{rid}",
                                         submitted_at=dt.datetime(2025, 6, 10, 12), channel="Online", lsoa_code=lsoa,
                                         birth_year=born, sex=sex, ethnic_group="White", disability="Not disabled"))
                        ans.append(dict(response_id=rid, question_id=WEIGHTED_Q, value=a if band == "65+" else d))
        rid += 1  # one more who gave no age: answered, but cannot be weighted
        rows.append(dict(id=rid, survey_id=5, external_id=f"w{rid}", submitted_at=dt.datetime(2025, 6, 11, 12),
                         channel="Paper", lsoa_code="A1", birth_year=None, sex="Female", ethnic_group="White",
                         disability="Not disabled"))
        ans.append(dict(response_id=rid, question_id=WEIGHTED_Q, value=a))
        conn.execute(insert(m.SurveyResponse.__table__), rows)
        conn.execute(insert(m.Answer.__table__), ans)
        conn.execute(insert(m.Activity.__table__), [
            dict(id=1, kind="Roadshow", title="Roadshow in Margate", held_on=D(2025, 3, 3), survey_id=1,
                 attendance=None),
            dict(id=2, kind="Webinar", title="Webinar", held_on=D(2025, 3, 1), survey_id=1, attendance=30),
            dict(id=3, kind="Event", title="Not a promotion", held_on=D(2025, 3, 2), survey_id=None,
                 attendance=None)])
        conn.execute(insert(m.Action.__table__), [
            dict(id=1, theme="Transport", you_said="Buses are poor", we_did="Asked the council", status="Done",
                 action_date=D(2025, 5, 1), survey_id=1, activity_id=None),
            dict(id=2, theme="Access", you_said="Phones are busy", we_did="Added lines", status="Planned",
                 action_date=D(2025, 4, 1), survey_id=1, activity_id=None),
            dict(id=3, theme="Access", you_said="Too far", we_did="Reviewing", status="In progress",
                 action_date=D(2025, 6, 1), survey_id=4, activity_id=None)])


@pytest.fixture
def conn(engine):
    build_tiny_store(engine)
    build_survey_extras(engine)
    with engine.connect() as c:
        yield c


@pytest.fixture
def no_suppression(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")


# --- reach ------------------------------------------------------------------------------------------

def test_survey_reach_counts(conn):
    reach = survey_reach(conn, Q1).set_index("id")
    # Survey 1: 6 responses, all with a small area; A1 (decile 1) and B1 (decile 2) are Core20;
    # 5 gave a birth year, of whom r1 (born 2001, 24 in 2025) is under 35. It covers East Kent: 3,000 residents.
    assert tuple(reach.loc[1, ["responses", "with_area", "core20", "with_age", "under_35", "residents"]]) == (
        6, 6, 2, 5, 1, 3000)
    assert reach.loc[2, "responses"] == 0 and reach.loc[2, "residents"] == 6000  # covers all of Kent and Medway
    assert reach.loc[4, "residents"] == 0  # Medway and Swale has no small areas in the tiny store


def test_survey_reach_in_one_area(conn):
    reach = survey_reach(conn, Filters("East Kent", Q1.start, Q1.end)).set_index("id")
    assert reach.loc[1, "responses"] == 5 and reach.loc[1, "core20"] == 1  # r5 lives in West Kent
    assert reach.loc[2, "residents"] == 3000
    west = survey_reach(conn, Filters("West Kent", Q1.start, Q1.end)).set_index("id")
    assert west.loc[1, "residents"] == 0  # survey 1 does not cover West Kent


def test_glance_per_1000_and_core20_share(conn, no_suppression):
    glance = surveys_at_a_glance(conn, YEAR).set_index("id")
    assert glance.loc[1, "per_1000"] == pytest.approx(6 / 3000 * 1000)
    assert glance.loc[1, "core20_share"] == pytest.approx(2 / 6)
    assert pd.isna(glance.loc[4, "per_1000"])  # no population data: no rate, not a division error


def test_glance_hides_a_small_core20_count(conn):
    glance = surveys_at_a_glance(conn, YEAR).set_index("id")
    assert pd.isna(glance.loc[1, "core20_share"])  # 2 Core20 respondents: fewer than 5


def test_reach_over_time_lists_surveys_with_responses(conn, no_suppression):
    reach = reach_over_time(conn, YEAR)
    assert list(reach["id"]) == [1, 3, 5]
    row = reach.set_index("id").loc[1]
    assert row["under_35_share"] == pytest.approx(1 / 5)
    five = reach.set_index("id").loc[5]
    # 61 respondents: 20 in A1 (Core20) and 1 more in A1 with no age; under 35: 12 of the 60 with an age.
    assert five["core20_share"] == pytest.approx(21 / 61) and five["under_35_share"] == pytest.approx(12 / 60)


def test_promotions_of_one_survey(conn):
    promo = promotions(conn, 1)
    assert list(promo["title"]) == ["Webinar", "Roadshow in Margate"]
    assert promotions(conn, 2).empty


# --- question results ---------------------------------------------------------------------------------

def test_survey_questions_in_order(conn):
    q = survey_questions(conn, 1)
    assert list(q["id"]) == [LIKERT, MULTI, SINGLE, FREE, EMPTY]
    assert q.iloc[1]["options"] == ["GP", "Pharmacy", "NHS 111"]


def test_likert_shares(conn, no_suppression):
    res = question_results(conn, LIKERT, Q1)
    assert list(res["count"]) == [1, 1, 0, 2, 1] and res["n"].iloc[0] == 5
    summary = likert_summary(res)
    assert summary["disagree"] == pytest.approx(2 / 5)
    assert summary["neutral"] == 0
    assert summary["agree"] == pytest.approx(3 / 5)
    assert summary["n"] == 5


def test_multiple_choice_shares_are_of_respondents(conn, no_suppression):
    res = question_results(conn, MULTI, Q1).set_index("option")
    # 4 respondents answered with 9 choices: GP 3 of 4, not 3 of 9.
    assert res["n"].iloc[0] == 4
    assert res.loc["GP", "share"] == pytest.approx(3 / 4)
    assert res.loc["Pharmacy", "share"] == pytest.approx(3 / 4)
    assert res.loc["NHS 111", "share"] == pytest.approx(2 / 4)


def test_single_choice_shares_in_one_area(conn, no_suppression):
    res = question_results(conn, SINGLE, Q1).set_index("option")
    assert res.loc["Post", "share"] == pytest.approx(4 / 6)
    east = question_results(conn, SINGLE, Filters("East Kent", Q1.start, Q1.end)).set_index("option")
    assert east["n"].iloc[0] == 5 and east.loc["Post", "count"] == 3  # r5 (West Kent) left out


def test_question_nobody_answered(conn):
    res = question_results(conn, EMPTY, Q1)
    assert res.empty or res["n"].iloc[0] == 0
    free = free_text_summary(conn, EMPTY, Q1)
    assert free["answers"] == 0 and free["examples"] == []


def test_breakdown_by_age_band(conn, no_suppression):
    by = question_by_group(conn, SINGLE, "age_band", Q1)
    cell = by.set_index(["group", "option"])
    assert cell.loc[("35-49", "Email"), "share"] == pytest.approx(1 / 2)  # r2 Email, r5 Post
    assert cell.loc[("65+", "Post"), "count"] == 2 and cell.loc[("65+", "Post"), "n"] == 2
    assert list(dict.fromkeys(by["group"])) == ["16-24", "35-49", "65+", "Not known"]


def test_breakdown_by_imd_quintile(conn, no_suppression):
    cell = question_by_group(conn, SINGLE, "imd_quintile", Q1).set_index(["group", "option"])
    assert cell.loc[("1 (most deprived)", "Email"), "share"] == pytest.approx(1 / 2)  # r1 Email, r5 Post
    assert cell.loc[("3", "Post"), "share"] == pytest.approx(3 / 4)  # r3, r4, r6 of r2, r3, r4, r6


def test_breakdown_suppresses_small_cells(conn):
    by = question_by_group(conn, SINGLE, "imd_quintile", Q1)
    assert by["suppressed"].all() and by["share"].isna().all()  # every group has fewer than 5


def test_question_results_secondary_suppression(conn, monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "3")
    res = question_results(conn, SINGLE, Q1).set_index("option")
    # Email 2 (r1, r2) is hidden; Post 4 = n 6 - 2 could give it away, so Post is hidden too.
    assert res["count"].isna().all() and res["share"].isna().all() and (res["n"] == 6).all()
    multi = question_results(conn, MULTI, Q1).set_index("option")
    # multiple choice: the options do not add up to n, so only the small one (NHS 111: r3, r4 = 2) goes
    assert pd.isna(multi.loc["NHS 111", "count"]) and list(multi["count"].dropna()) == [3, 3]


def test_breakdown_secondary_suppression(conn, monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "2")
    by = question_by_group(conn, SINGLE, "imd_quintile", Q1).set_index(["group", "option"])
    # quintile 1: r1 Email, r5 Post (n 2); quintile 3: r2 Email, r3 r4 r6 Post (n 3 + 1 = 4).
    # The 1s are hidden; quintile 3's Post (3) could be worked out from its n (4) minus Email, so it goes too.
    assert by["count"].isna().all() and by["suppressed"].all()
    assert by.loc[("3", "Post"), "n"] == 4 and by.loc[("1 (most deprived)", "Email"), "n"] == 2


def test_special_category_breakdown_needs_a_base_of_25(conn, monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    by = question_by_group(conn, SINGLE, "ethnic_group", Q1)
    # six respondents, all of whom stated their ethnic group: fewer than 25
    assert by["count"].isna().all() and by["n"].isna().all() and "at least 25 people" in by.attrs["withheld"]
    from data_access.profiles import representation_for
    rep = representation_for(conn, "respondents", "disability", Q1, survey_id=1)
    assert rep["count"].isna().all() and rep["share"].isna().all() and "disability" in rep.attrs["withheld"]
    assert rep["resident_share"].notna().any() or rep["residents"].sum() == 0
    monkeypatch.setenv("SPECIAL_CATEGORY_MIN_BASE", "6")
    by = question_by_group(conn, SINGLE, "ethnic_group", Q1).set_index("option")
    assert by.loc["Post", "count"] == 4 and "withheld" not in by.attrs
    # age band is not special-category data: no base needed
    assert "withheld" not in question_by_group(conn, SINGLE, "age_band", Q1).attrs


def test_free_text_themes_and_examples(conn, no_suppression):
    free = free_text_summary(conn, FREE, Q1)
    assert free["answers"] == 5  # the blank answer does not count
    themes = free["themes"].set_index("theme")
    assert themes.loc["Transport", "answers"] == 2 and themes.loc["Access", "answers"] == 2
    assert themes.loc["Staff", "answers"] == 1
    assert themes.loc["Wildcards", "answers"] == 0  # '1_0%' is matched literally, not as a LIKE pattern
    assert themes.loc["Digital", "answers"] == 0  # 'app' is a whole word: 'appointment' does not count
    assert themes.loc["Hospitals", "answers"] == 1  # 'hospital' (r1); the answer '<b>kind staff</b>' counts for Staff
    assert list(free["themes"]["theme"][:2]) == ["Access", "Transport"]
    assert free["examples"][0] == "nothing **else**"  # latest first, exactly as written
    assert len(free["examples"]) == 3


def test_free_text_examples_hidden_below_the_threshold(conn):
    free = free_text_summary(conn, FREE, Q1)  # 5 answers at threshold 5: examples shown
    assert len(free["examples"]) == 3
    east = free_text_summary(conn, FREE, Filters("East Kent", Q1.start, Q1.end))  # 4 answers
    assert east["examples"] == [] and east["themes"]["answers"].isna().sum() >= 2


# --- who responded against who lives there ---------------------------------------------------------------

def test_representation_gaps_outside_tolerance_first(conn, no_suppression):
    gaps = representation_gaps(conn, 1, Q1, ["East Kent"])
    outside = gaps["outside"].tolist()
    assert outside == sorted(outside, reverse=True)  # all outside rows come first
    inside = gaps[~gaps["outside"] & gaps["ratio"].notna()]
    assert inside["ratio"].between(*TOLERANCE).all()
    row = gaps.set_index(["dimension", "group"])
    # 65+: 2 of the 5 with an age, against 400 of East Kent's 2,400 residents aged 16+.
    assert row.loc[("Age band", "65+"), "ratio"] == pytest.approx((2 / 5) / (400 / 2400))
    assert row.loc[("Sex", "Female"), "ratio"] == pytest.approx(1 / (1500 / 3000))
    assert row.loc[("Sex", "Male"), "ratio"] == 0 and row.loc[("Sex", "Male"), "outside"]
    assert row.loc[("Deprivation (IMD quintile)", "1 (most deprived)"), "ratio"] == pytest.approx(
        (2 / 6) / (1000 / 3000))
    assert not row.loc[("Deprivation (IMD quintile)", "1 (most deprived)"), "outside"]


def test_representation_gaps_without_population_data(conn, no_suppression):
    gaps = representation_gaps(conn, 4, YEAR, ["Medway and Swale"])
    assert gaps["ratio"].isna().all() and not gaps["outside"].any()


# --- reweighting ------------------------------------------------------------------------------------------

def test_respondent_cells(conn):
    cells = respondent_cells(conn, 5, YEAR, ["age_band", "sex", "imd_quintile"])
    assert cells["n"].sum() == 61
    c = cells.set_index(["age_band", "sex", "imd_quintile"])["n"]
    assert c[("65+", "Male", "3")] == 8 and c[("16-24", "Female", "1 (most deprived)")] == 1


def test_weighted_margins_equal_population_margins(conn):
    w = survey_weights(conn, 5, YEAR, ["East Kent"])
    assert w.ok and w.converged and w.weighted == 60 and w.left_out == 1
    cells = w.cells
    mass = cells["n"] * cells["weight"]
    age = mass.groupby(cells["age_band"]).sum() / mass.sum()
    for band, residents in EAST_AGE.items():
        assert age[band] == pytest.approx(residents / 2400, abs=1e-6)
    sex = mass.groupby(cells["sex"]).sum() / mass.sum()
    assert sex["Female"] == pytest.approx(0.5, abs=1e-6)
    imd = mass.groupby(cells["imd_quintile"]).sum() / mass.sum()
    assert imd["1 (most deprived)"] == pytest.approx(1000 / 3000, abs=1e-6)


def test_weights_and_design_effect_by_hand(conn):
    w = survey_weights(conn, 5, YEAR, ["East Kent"])
    # Sex and deprivation already match residents, so each weight is the age band's resident share over
    # its sample share (mean 1 over the 60): 16-24 (1/6)/0.1, 25-34 (5/24)/0.1, 35-49 and 50-64
    # (11/48)/0.2, 65+ (1/6)/0.4.
    expected = {"16-24": 5 / 3, "25-34": 25 / 12, "35-49": 55 / 48, "50-64": 55 / 48, "65+": 5 / 12}
    for row in w.cells.itertuples():
        assert row.weight == pytest.approx(expected[row.age_band], rel=1e-6)
    sizes = {"16-24": 6, "25-34": 6, "35-49": 12, "50-64": 12, "65+": 24}
    sum_w = sum(sizes[b] * expected[b] for b in sizes)
    sum_w2 = sum(sizes[b] * expected[b] ** 2 for b in sizes)
    assert w.design_effect == pytest.approx(60 * sum_w2 / sum_w ** 2, rel=1e-6)  # Kish: n Σw² / (Σw)²
    assert w.effective_size == pytest.approx(sum_w ** 2 / sum_w2, rel=1e-6)


def test_weighted_results_beside_unweighted(conn, no_suppression):
    res, w = weighted_question_results(conn, WEIGHTED_Q, 5, YEAR, ["East Kent"])
    res = res.set_index("option")
    # Everyone aged 65+ agrees (24) and so does the one with no age; everyone else disagrees (36).
    assert res.loc["Agree", "share"] == pytest.approx(25 / 61)
    # Weighted (the 60 with an age): 65+ are 400 of 2,400 residents aged 16+.
    assert res.loc["Agree", "weighted_share"] == pytest.approx(400 / 2400, rel=1e-6)
    assert res.loc["Disagree", "weighted_share"] == pytest.approx(2000 / 2400, rel=1e-6)
    assert res["weighted_share"].sum() == pytest.approx(1.0)


def test_weighted_survey_results_rakes_once_for_every_question(conn, no_suppression):
    every = weighted_survey_results(conn, 5, YEAR, ["East Kent"], (WEIGHTED_Q,))
    assert list(every) == [WEIGHTED_Q]
    res, w = every[WEIGHTED_Q]
    res = res.set_index("option")
    # as worked out above: 25 of the 61 agree; weighted, the 65+ (all agree) are 400 of 2,400 residents 16+
    assert res.loc["Agree", "share"] == pytest.approx(25 / 61)
    assert res.loc["Agree", "weighted_share"] == pytest.approx(400 / 2400, rel=1e-6)
    assert res.loc["Disagree", "weighted_share"] == pytest.approx(2000 / 2400, rel=1e-6)
    assert w.weighted == 60 and w.left_out == 1


def test_weighted_results_when_someone_gave_two_answers(conn, no_suppression):
    # One respondent aged 65+ (weight 5/12) also answered Disagree. Each person still counts once in the base:
    # the 60 weighted people's weights add up to 60; Agree is the 24 aged 65+ (24 x 5/12 = 10), Disagree the
    # other 36 (60 - 10 = 50) plus that one person's 5/12. Unweighted: 25 and 37 of 61.
    r = m.SurveyResponse
    older = conn.execute(select(r.id).where(r.survey_id == 5, r.birth_year <= 1960).order_by(r.id).limit(1)).scalar()
    conn.execute(insert(m.Answer.__table__), [dict(response_id=older, question_id=WEIGHTED_Q, value="Disagree")])
    res = weighted_survey_results(conn, 5, YEAR, ["East Kent"], (WEIGHTED_Q,))[WEIGHTED_Q][0].set_index("option")
    assert res.loc["Agree", "share"] == pytest.approx(25 / 61)
    assert res.loc["Disagree", "share"] == pytest.approx(37 / 61)
    assert res.loc["Agree", "weighted_share"] == pytest.approx(10 / 60, rel=1e-6)
    assert res.loc["Disagree", "weighted_share"] == pytest.approx((50 + 5 / 12) / 60, rel=1e-6)


def test_weighting_needs_someone_in_every_group(conn):
    w = survey_weights(conn, 1, Q1, ["East Kent"])  # every respondent is female
    assert not w.ok and "25-34, 50-64 (age band)" in w.message  # nobody aged 25-34 or 50-64 responded


def test_weighting_without_population_data(conn, no_suppression):
    w = survey_weights(conn, 4, YEAR, ["Medway and Swale"])
    assert not w.ok and "no population data" in w.message
    res, _ = weighted_question_results(conn, LIKERT, 4, YEAR, ["Medway and Swale"])
    assert res["weighted_share"].isna().all()


# --- You said, we did --------------------------------------------------------------------------------------

def test_survey_actions(conn):
    acts = survey_actions(conn, 1)
    assert list(acts["status"]) == ["Planned", "Done"]  # by date


def test_open_actions_across_surveys(conn):
    acts = open_actions(conn, YEAR)
    assert list(acts["survey"]) == ["Tiny survey", "Medway survey"]
    assert list(acts["status"]) == ["Planned", "In progress"]
    east = open_actions(conn, Filters("East Kent", YEAR.start, YEAR.end))
    assert list(east["survey"]) == ["Tiny survey"]
    assert open_actions(conn, Filters("West Kent", YEAR.start, YEAR.end)).empty


# --- charts (pure functions on hand-made frames) -------------------------------------------------------------

def _likert_frame(counts):
    n = sum(counts)
    return pd.DataFrame({"option": m.LIKERT_SCALE, "count": counts, "share": [c / n for c in counts], "n": n})


def test_likert_chart_diverges_around_zero():
    from charts.questions import likert_chart

    chart = likert_chart(_likert_frame([1, 1, 2, 4, 2]), m.LIKERT_SCALE, "Q1. Agree?")
    xs = {(t.name, float(t.x[0]) < 0) for t in chart.figure.data}
    assert ("Strongly disagree", True) in xs and ("Agree", False) in xs
    neutral = [float(t.x[0]) for t in chart.figure.data if t.name == "Neither agree nor disagree"]
    assert sorted(neutral) == pytest.approx([-10.0, 10.0])  # 20% split across zero
    assert chart.sentence == "Q1. Agree? 60% agreed and 20% disagreed (10 answered)."


def test_choice_chart_says_multiple_choice_shares_are_of_respondents(monkeypatch):
    from charts.questions import choice_chart

    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")

    res = pd.DataFrame({"option": ["GP", "Pharmacy"], "count": [3, 2], "share": [0.75, 0.5], "n": 4})
    chart = choice_chart(res, "Q2. Services used", multiple=True)
    assert chart.sentence.startswith("Q2. Services used: of 4 who answered, 3 (75%) chose GP")
    assert "add up to more than 100%" in chart.sentence


def test_weighted_chart_sentence_has_design_effect():
    from charts.questions import weighted_chart
    from data_access.answers import SurveyWeights

    res = _likert_frame([1, 1, 2, 4, 2])
    res["weighted_share"] = [0.2, 0.2, 0.2, 0.3, 0.1]
    w = SurveyWeights(design_effect=1.25, effective_size=8.0, weighted=10)
    chart = weighted_chart(res, w, "Q1. Agree?", likert=True)
    assert "60% agreed as answered, 40% once weighted" in chart.sentence
    assert "design effect 1.25" in chart.sentence and "about 8 people" in chart.sentence


def test_progress_hides_small_days_and_steps(monkeypatch):
    from data_access.surveys import progress_against_target, target_verdict

    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    daily = pd.DataFrame({"day": pd.to_datetime(["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"]),
                          "channel": "Online", "responses": [10, 2, 1, 3]})
    prog = progress_against_target(daily, dt.date(2025, 3, 1), dt.date(2025, 3, 6), 30, dt.date(2025, 3, 5))
    # days: 10, 2, 1, 3, 0 (5 March), then 6 March has not happened; running total 10, 12, 13, 16, 16.
    # The days, the running total and all responses (16) are published together; the 2, 1 and 3 are hidden. Shown:
    # the zeros, 16 (4 and 5 March, and all), and 10 (1 March, day and running total: the same number), since
    # 16 - 10 = 6 = 2 + 1 + 3 gives none of them away. 12 would give the 2 (12 - 10) and 13 the 3 (16 - 13), so
    # the running totals of 2 and 3 March are hidden.
    assert [None if pd.isna(v) else int(v) for v in prog["responses"]] == [10, None, None, None, 0, 0]
    assert [None if pd.isna(v) else int(v) for v in prog["cumulative"]] == [10, None, None, 16, 16, None]
    verdict = target_verdict(prog, 30, dt.date(2025, 3, 5))
    assert verdict["responses"] == 16 and verdict["status"] == "behind"  # 25 needed by day 5 of 6
    assert "Behind by 9 responses: 16 so far against the 25 needed" in verdict["sentence"]
    few = progress_against_target(daily.head(1).assign(responses=3), dt.date(2025, 3, 1), dt.date(2025, 3, 6), 30,
                                  dt.date(2025, 3, 5))
    assert "fewer than 5 so far" in target_verdict(few, 30, dt.date(2025, 3, 5))["sentence"]


def test_progress_chart_marks_promotions(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    from charts.surveys import progress_chart
    from data_access.surveys import progress_against_target, target_verdict

    daily = pd.DataFrame({"day": pd.to_datetime(["2025-03-01", "2025-03-02"]), "channel": "Online",
                          "responses": [2, 1]})
    prog = progress_against_target(daily, dt.date(2025, 3, 1), dt.date(2025, 3, 10), 10, dt.date(2025, 3, 2))
    promo = pd.DataFrame({"held_on": [dt.date(2025, 3, 2), dt.date(2025, 4, 1)], "kind": ["Roadshow", "Event"],
                          "title": ["Roadshow in Margate", "Too late"], "attendance": [None, None]})
    chart = progress_chart(prog, target_verdict(prog, 10, dt.date(2025, 3, 2)), "Tiny", promo)
    marks = [t for t in chart.figure.data if t.name.startswith("Promotion")][0]
    assert list(marks.y) == [3.0]  # on the cumulative line; the April event is outside the survey
    assert "1 promotional activity is marked" in chart.sentence
    assert chart.data.set_index("day").loc["2025-03-02", "promotion"] == "Roadshow in Margate"


def test_group_chart_sentence_names_quintiles_and_leaves_out_unknown():
    from charts.questions import choice_group_chart

    frame = pd.DataFrame({
        "group": ["1 (most deprived)", "1 (most deprived)", "5 (least deprived)", "5 (least deprived)",
                  "Not known", "Not known", "2", "2"],
        "option": ["GP", "Pharmacy"] * 4,
        "count": [8, 2, 5, 5, 10, 0, pd.NA, pd.NA],
        "n": [10, 10, 10, 10, 10, 10, pd.NA, pd.NA],
        "share": [0.8, 0.2, 0.5, 0.5, 1.0, 0.0, np.nan, np.nan],
        "suppressed": [False] * 6 + [True, True]})
    chart = choice_group_chart(frame, "Q3. Services used", "Deprivation (IMD quintile)")
    assert ("By deprivation (IMD quintile): GP was chosen by 80% of IMD quintile 1 (most deprived) (n=10) and "
            "50% of IMD quintile 5 (least deprived) (n=10).") in chart.sentence
    assert "1 group with fewer than 5 answers not shown" in chart.sentence


def test_reach_chart_compares_first_and_last_open_surveys():
    from charts.surveys import reach_chart

    reach = pd.DataFrame({
        "id": [1, 2, 3], "title": ["First", "Panel", "Last"], "panel": [False, True, False],
        "opens_on": [dt.date(2016, 1, 1), dt.date(2020, 1, 1), dt.date(2025, 1, 1)],
        "responses": [100, 50, 200], "with_area": [100, 50, 200], "core20": [10, 5, 40],
        "core20_share": [0.1, 0.1, 0.2], "with_age": [100, 50, 200], "under_35": [20, 5, 60],
        "under_35_share": [0.2, 0.1, 0.3]})
    chart = reach_chart(reach, 0.25, 0.3)
    assert chart.sentence.startswith("Core20 share of respondents: 10% in First (2016), 20% in Last (2025), "
                                     "against 25% of residents. Under-35 share: 20% in First, 30% in Last, "
                                     "against 30% of residents aged 16 and over.")
    assert "citizens' panel (1, open markers)" in chart.sentence
    assert list(chart.figure.data[0].marker.symbol) == ["circle", "circle-open", "circle"]


def test_an_icp_area_is_judged_against_its_share_of_the_target(engine):
    """A county-wide survey (1 February to 30 April 2025, target 100) with 6 responses from East Kent. In the tiny
    store East Kent and West Kent have 3,000 residents each (A1 + A2, B1 + B2) and the other two areas none, so
    East Kent's share of the target is 100 x 3,000 / 6,000 = 50. On 31 March, day 59 of 89 (28 February days,
    31 March days; 30 April is day 89), 50 x 59 / 89 = 33.1, so 33 are needed by now: behind by 33 - 6 = 27.
    The East-Kent-only survey keeps its whole target of 10."""
    from data_access.overview import survey_tracking
    from data_access.surveys import area_target, survey_summary

    build_tiny_store(engine)
    with engine.begin() as conn:
        conn.execute(insert(m.Survey.__table__), [dict(id=3, title="County survey", project="Test",
                                                       opens_on=dt.date(2025, 2, 1), closes_on=dt.date(2025, 4, 30),
                                                       target_responses=100, is_panel_survey=False)])
        conn.execute(insert(m.SurveyResponse.__table__), [
            dict(id=100 + i, survey_id=3, external_id=f"c{i}", submitted_at=dt.datetime(2025, 3, 10 + i, 12),
                 channel="Online", lsoa_code="A1" if i % 2 else "A2", birth_year=1980, sex="Female",
                 ethnic_group="White", disability="Not disabled") for i in range(6)])
    east = Filters("East Kent", dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    with engine.connect() as conn:
        summary = survey_summary(conn, east).set_index("id")
        tracking = survey_tracking(conn, east).set_index("id")
        whole = survey_summary(conn, Filters(None, east.start, east.end)).set_index("id")
    assert (summary.loc[3, "target"], summary.loc[3, "target_all"]) == (50, 100)
    assert (summary.loc[1, "target"], summary.loc[1, "target_all"]) == (10, 10)
    assert whole.loc[3, "target"] == 100
    row = tracking.loc[3]
    assert (row["target"], row["responses"], row["expected"], row["status"]) == (50, 6, 33, "behind")
    assert row["sentence"] == ("Behind by 27 responses: 6 so far against the 33 needed by now to reach East Kent's "
                               "share of the target (50 of the survey's 100, shared by population).")
    # No population loaded: the whole target.
    assert area_target(100, [], "East Kent", {"East Kent": 0, "West Kent": 0}) == 100
    assert area_target(100, ["East Kent", "West Kent"], "West Kent", {"East Kent": 1000, "West Kent": 3000}) == 75


def test_progress_chart_left_axis_has_round_ticks():
    from charts.surveys import progress_chart
    from data_access.surveys import progress_against_target, target_verdict

    daily = pd.DataFrame({"day": pd.date_range("2026-09-14", periods=60, freq="D"), "channel": "Online",
                          "responses": [43] * 60})
    prog = progress_against_target(daily, dt.date(2026, 9, 14), dt.date(2026, 12, 18), 4000, dt.date(2026, 11, 12))
    chart = progress_chart(prog, target_verdict(prog, 4000, dt.date(2026, 11, 12)), "Your priorities")
    # 60 days of 43 = 2,580 so far; the trajectory ends at the target, 4,000: ticks every 500 up to 4,000.
    assert list(chart.figure.layout.yaxis2.tickvals) == [0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000]
    assert list(chart.figure.layout.yaxis2.ticktext)[-1] == "4,000"
