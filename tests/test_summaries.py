"""Summary tables (data_access.summaries) against the records, on SQLite and PostgreSQL.

The records are the oracle: on random small stores (hypothesis), every counting function converted to read the
summaries returns exactly what it returns when made to count the records (summaries.records_only), for all areas and
every ICP area; and every write path (demo load, import, undo, reference import) leaves summaries that are current.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select

from data_access import answers, cached, models as m, profiles, summaries, surveys
from data_access.areas import ICP_AREAS
from data_access.filters import Filters
from data_access.settings import set_setting
from tests.factories import LSOAS, build_tiny_store

ICPS = [None, *[name for name, _ in ICP_AREAS]]
OPTIONS = ["Yes", "No", "Not sure"]
QUESTIONS = [(1, "single", OPTIONS), (2, "multiple", OPTIONS), (3, "likert", m.LIKERT_SCALE), (4, "free_text", [])]
PERIOD = Filters(None, dt.date(2024, 12, 1), dt.date(2025, 12, 31))
# free-text answers mention a theme by its keywords: "Other words" mentions Words, "Not sure" Unsure; Nothing has none
THEMES = {"Agreeing": "agree, yes", "Nothing": "", "Unsure": "sure, unsure", "Words": "word"}

person = st.fixed_dictionaries({
    "survey_id": st.sampled_from([1, 2]),
    "day": st.integers(0, 40),
    "hour": st.integers(0, 23),
    "channel": st.sampled_from(m.CHANNELS_SURVEY),
    "lsoa_code": st.sampled_from([None, *[code for code, *_ in LSOAS]]),
    "icp_id": st.sampled_from([None, 1, 2, 3, 4]),
    "birth_year": st.sampled_from([None, 2015, 2008, 2001, 1990, 1975, 1960, 1940]),
    "sex": st.sampled_from([*m.SEXES, m.NOT_KNOWN, m.PREFER_NOT]),
    "ethnic_group": st.sampled_from([*m.ETHNIC_GROUPS, m.NOT_KNOWN]),
    "disability": st.sampled_from([*m.DISABILITY, m.NOT_KNOWN]),
    # per question: None (not answered), or the options chosen ("" a blank answer)
    "answers": st.lists(st.one_of(st.none(), st.sets(st.sampled_from([*OPTIONS, "Agree", "", "Other words"]),
                                                        min_size=1, max_size=3)), min_size=4, max_size=4),
})


@pytest.fixture
def tiny(engine):
    build_tiny_store(engine)
    yield engine
    cached.clear()


def _fill(engine, people: list[dict]) -> None:
    """Replace the tiny store's surveys with two surveys of four questions each and the people given, then refresh
    the summaries as every write path does (data version, then summaries, in one transaction)."""
    with engine.begin() as conn:
        for model in (m.SurveyArea, m.Answer, m.SurveyResponse, m.Question, m.Survey, m.Theme):
            conn.execute(delete(model.__table__))
        conn.execute(insert(m.Theme.__table__), [dict(name=k, keywords=v) for k, v in THEMES.items()])
        conn.execute(insert(m.Survey.__table__), [
            dict(id=s, title=f"Survey {s}", project="", opens_on=dt.date(2025, 1, 1), closes_on=dt.date(2025, 2, 9),
                 target_responses=20, is_panel_survey=s == 2) for s in (1, 2)])
        conn.execute(insert(m.SurveyArea.__table__), [dict(survey_id=2, icp_id=2)])
        conn.execute(insert(m.Question.__table__), [
            dict(id=10 * s + k, survey_id=s, position=k, text=f"Q{k}", qtype=qtype, options=json.dumps(opts))
            for s in (1, 2) for k, qtype, opts in QUESTIONS])
        answer_rows = []
        for i, p in enumerate(people, start=1):
            at = dt.datetime(2025, 1, 1) + dt.timedelta(days=p["day"], hours=p["hour"])
            conn.execute(insert(m.SurveyResponse.__table__), [dict(
                id=i, survey_id=p["survey_id"], external_id=f"r{i}", submitted_at=at, channel=p["channel"],
                lsoa_code=p["lsoa_code"], icp_id=p["icp_id"] if p["lsoa_code"] is None else None,
                birth_year=p["birth_year"], sex=p["sex"], ethnic_group=p["ethnic_group"],
                disability=p["disability"])])
            for k, chosen in enumerate(p["answers"], start=1):
                values = sorted(chosen or [])
                if QUESTIONS[k - 1][1] != "multiple":
                    values = values[:1]
                answer_rows += [dict(response_id=i, question_id=10 * p["survey_id"] + k, value=v) for v in values]
        if answer_rows:
            conn.execute(insert(m.Answer.__table__), answer_rows)
        set_setting(conn, "data_version", f"test-{len(people)}-{id(people)}")
        summaries.refresh(conn)


def _both(engine, call):
    """call(conn) reading the summaries, and reading the records (each with nothing remembered)."""
    cached.clear()
    with engine.connect() as conn:
        assert summaries.current(conn)
        from_summaries = call(conn)
    cached.clear()
    with summaries.records_only(), engine.connect() as conn:
        assert not summaries.current(conn)
        from_records = call(conn)
    cached.clear()
    return from_summaries, from_records


def _same(engine, call, sort: list[str] | None = None) -> None:
    got, want = _both(engine, call)
    if isinstance(got, tuple):  # (results, weights)
        got, want = got[0], want[0]
    if sort:
        got = got.sort_values(sort, kind="stable").reset_index(drop=True)
        want = want.sort_values(sort, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def _check_every_function(engine) -> None:
    for icp in ICPS:
        filters = Filters(icp, PERIOD.start, PERIOD.end)
        _same(engine, lambda c: surveys.survey_summary(c, filters))
        _same(engine, lambda c: surveys.survey_reach_in(c, icp))
        for sid in (1, 2):
            _same(engine, lambda c: surveys.responses_by_day(c, sid, filters), sort=["day", "channel"])
            _same(engine, lambda c: profiles.respondent_cells(c, sid, filters, list(profiles.DIMENSIONS)),
                  sort=list(profiles.DIMENSIONS))
            _same(engine, lambda c: profiles.engaged_cells(c, "respondents", filters, survey_id=sid))
            for k, qtype, _ in QUESTIONS:
                if qtype != "free_text":
                    qid = 10 * sid + k
                    _same(engine, lambda c: answers.weighted_question_results(c, qid, sid, filters, None))
    for sid in (1, 2):
        for k, qtype, _ in QUESTIONS:
            _same_cells(engine, 10 * sid + k, qtype)
            _same_pages(engine, 10 * sid + k, qtype)


def _same_pages(engine, question_id: int, qtype: str) -> None:
    """What the survey page shows of a question, in every view (and every breakdown), the same from the summaries as
    from the records (all views in one call: the cells and hidden keys are worked out once per data load)."""
    views = [Filters(icp, PERIOD.start, PERIOD.end) for icp in ICPS]
    if qtype == "free_text":
        got, want = _both(engine, lambda c: [answers.free_text_summary(c, question_id, f) for f in views])
        for g, w in zip(got, want):
            pd.testing.assert_frame_equal(g.pop("themes"), w.pop("themes"))
            assert g == w
        return
    got, want = _both(engine, lambda c: [[answers.question_results(c, question_id, f),
                                          *[answers.question_by_group(c, question_id, d, f)
                                            for d in answers.BREAKDOWNS]] for f in views])
    for g_view, w_view in zip(got, want):
        for g, w in zip(g_view, w_view):
            pd.testing.assert_frame_equal(g, w)


def _same_cells(engine, question_id: int, qtype: str) -> None:
    """The question's cells (and the keys hidden on the survey page), row for row, from the summaries as from the
    records."""
    if qtype == "free_text":
        got, want = _both(engine, lambda c: answers.free_text_cells(c, question_id))
        pd.testing.assert_frame_equal(got, want)
        return
    got, want = _both(engine, lambda c: (answers.question_cells(c, question_id),
                                         answers.question_hidden(c, question_id)))
    assert (got[0].qtype, got[0].options) == (want[0].qtype, want[0].options)
    pd.testing.assert_frame_equal(got[0].frame, want[0].frame)
    assert got[1] == want[1]


def _random_stores(examples: int):
    """hypothesis settings for tests on random small stores (each example fills the store and compares)."""
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@_random_stores(8)
@given(people=st.lists(person, max_size=30))
def test_every_converted_function_gives_the_same_from_summaries_as_from_records(tiny, people):
    _fill(tiny, people)
    _check_every_function(tiny)


def test_the_summaries_hold_the_counts_worked_out_by_hand(tiny):
    """Three respondents to survey 1 (two in A1, East Kent's; one with no small area but East Kent recorded as the
    ICP area), one to survey 2 in B1, West Kent's: the summaries' rows are counted by hand."""
    base = dict(channel="Online", icp_id=None, birth_year=1990, sex="Female", ethnic_group="White",
                disability="Not disabled", hour=9)
    people = [dict(base, survey_id=1, day=0, lsoa_code="A1", answers=[{"Yes"}, {"Yes", "No"}, None, {"Words"}]),
              dict(base, survey_id=1, day=0, lsoa_code="A1", answers=[{"No"}, {"No"}, None, None]),
              dict(base, survey_id=1, day=3, lsoa_code=None, icp_id=2, answers=[{"Yes"}, None, None, None]),
              dict(base, survey_id=2, day=3, lsoa_code="B1", answers=[None, None, None, None])]
    _fill(tiny, people)
    east_kent = 2  # ICP_AREAS[1]; A1 is in it (tests.factories.LSOAS)
    with tiny.connect() as conn:
        t = m.SummaryResponseDay
        days = conn.execute(select(t.survey_id, t.day, t.icp_key, t.n).order_by(t.survey_id, t.day)).all()
        assert [tuple(r) for r in days] == [(1, dt.date(2025, 1, 1), east_kent, 2), (1, dt.date(2025, 1, 4), east_kent, 1),
                                            (2, dt.date(2025, 1, 4), 4, 1)]  # B1 is in West Kent
        v = m.SummaryQuestionValue
        bits = dict(conn.execute(select(v.value, v.bit).where(v.question_id == 12)).all())
        assert bits == {"No": 1, "Yes": 2}  # the values given, A-Z, a bit each
        c = m.SummaryChoiceCell
        # question 12 (multiple choice): one respondent chose Yes and No (bits 2 + 1), one No (1); both in A1, whose
        # decile puts it in IMD quintile 1, East Kent's
        chosen = conn.execute(select(c.options, c.age_band, c.imd_quintile, c.lsoa_icp, c.icp_key, c.n)
                              .where(c.question_id == 12).order_by(c.options)).all()
        assert [tuple(r) for r in chosen] == [(1, "35-49", "1 (most deprived)", east_kent, east_kent, 1),
                                              (3, "35-49", "1 (most deprived)", east_kent, east_kent, 1)]
        # question 11 (single choice): two chose Yes, one in A1 and one with no small area (East Kent recorded)
        yes = conn.execute(select(c.lsoa_icp, c.icp_key, c.imd_quintile, c.n).where(
            c.question_id == 11, c.options == 2).order_by(c.lsoa_icp)).all()
        assert sorted(map(tuple, yes), key=str) == sorted([(None, east_kent, m.NOT_KNOWN, 1),
                                                           (east_kent, east_kent, "1 (most deprived)", 1)], key=str)
        cells = answers.question_cells(conn, 11).frame
        # the respondent with no small area is 'Not known' by ICP area of residence, yet counts in East Kent's view
        assert cells[["icp_key", "icp_area", "o0", "o1", "n"]].values.tolist() == [
            [east_kent, "East Kent", 0, 1, 1], [east_kent, "East Kent", 1, 0, 1], [east_kent, m.NOT_KNOWN, 1, 0, 1]]
        # free text (question 14): one answer, "Words", mentioning the theme Words (the 4th, bit 8)
        f = m.SummaryFreeTextCell
        assert [tuple(r) for r in conn.execute(select(f.question_id, f.themes, f.icp_key, f.n))] == [
            (14, 8, east_kent, 1)]
        assert surveys.responses_by_day(conn, 1, Filters("East Kent"))["responses"].tolist() == [2, 1]


def test_summaries_are_read_only_while_they_match_the_data_version(tiny):
    _fill(tiny, [])
    with tiny.begin() as conn:
        assert summaries.current(conn)
        set_setting(conn, "data_version", "changed by hand")
        assert not summaries.current(conn)


def test_a_refresh_of_some_surveys_keeps_the_others(tiny):
    base = dict(channel="Paper", icp_id=None, birth_year=1960, sex="Male", ethnic_group="Asian",
                disability="Disabled", hour=12, lsoa_code="A2", answers=[{"No"}, None, None, None])
    _fill(tiny, [dict(base, survey_id=1, day=1), dict(base, survey_id=2, day=2)])
    with tiny.begin() as conn:
        conn.execute(insert(m.SurveyResponse.__table__), [dict(
            id=99, survey_id=2, external_id="late", submitted_at=dt.datetime(2025, 1, 9), channel="Phone",
            lsoa_code="A1", sex="Female", ethnic_group="White", disability="Not disabled")])
        set_setting(conn, "data_version", "one more")
        summaries.refresh(conn, [2])
    _check_every_function(tiny)


EXPORT = ("ID,Completion time,Where do you live,Age,Gender,Do you agree?,Which services?\n"
          "201,01/04/2025 09:05,A1,34,Female,Agree,GP practice;Pharmacy;\n"
          "202,01/04/2025 10:04,B1,70,Male,Disagree,Pharmacy;\n"
          "203,02/04/2025 11:09,A2,,Prefer not to say,Agree,GP practice;\n")


def _current_and_equal(engine, survey_id: int) -> None:
    with engine.connect() as conn:
        assert summaries.current(conn)
    for icp in ICPS:
        filters = Filters(icp, PERIOD.start, PERIOD.end)
        _same(engine, lambda c: surveys.survey_summary(c, filters))
        _same(engine, lambda c: profiles.respondent_cells(c, survey_id, filters, list(profiles.DIMENSIONS)),
              sort=list(profiles.DIMENSIONS))
        for qid in answers.survey_questions(engine.connect(), survey_id)["id"]:
            _same(engine, lambda c: answers.weighted_question_results(c, int(qid), survey_id, filters, None))
    with engine.connect() as conn:
        questions = answers.survey_questions(conn, survey_id)
    for qid, qtype in zip(questions["id"], questions["qtype"]):
        _same_cells(engine, int(qid), qtype)


def test_every_write_path_leaves_current_summaries(tiny, tmp_path):
    """An import into a store filled by hand (its survey's summaries never written: the import refreshes all), a second
    survey's import (only its own), undoing the first, and a reference import (all)."""
    from data_access.importing.pipeline import commit_import, preview_import, undo_import

    path = tmp_path / "export.csv"
    path.write_text(EXPORT, encoding="utf-8")
    first = commit_import(tiny, preview_import(tiny, "responses", path, survey="Spring survey",
                                               mapping={"Where do you live": "area"}), "tester")
    _current_and_equal(tiny, 1)  # the tiny store's own survey, filled by hand
    commit_import(tiny, preview_import(tiny, "responses", path, survey="Autumn survey",
                                       mapping={"Where do you live": "area"}), "tester")
    with tiny.connect() as conn:
        autumn = conn.execute(select(m.Survey.id).where(m.Survey.title == "Autumn survey")).scalar_one()
        assert conn.execute(select(func.sum(m.SummaryResponseDay.n)).where(
            m.SummaryResponseDay.survey_id == autumn)).scalar_one() == 3
    _current_and_equal(tiny, autumn)
    undo_import(tiny, first, "tester")
    _current_and_equal(tiny, autumn)
    with tiny.connect() as conn:  # the undone import's survey is gone, and so are its summaries
        assert conn.execute(select(func.count()).select_from(m.SummaryResponseDay).where(
            m.SummaryResponseDay.survey_id.not_in([1, autumn]))).scalar_one() == 0


# --- Network memberships ---------------------------------------------------------------------------------------------

from data_access import network_release, networks  # noqa: E402

MONTH_PERIODS = [Filters(None, dt.date(2025, 1, 1), dt.date(2025, 6, 30)),  # month edges: read from the summary
                 Filters(None, dt.date(2024, 11, 1), dt.date(2026, 2, 28))]
ODD_PERIOD = Filters(None, dt.date(2025, 1, 10), dt.date(2025, 5, 20))  # not: read from the records both ways

member = st.fixed_dictionaries({
    "network_id": st.sampled_from([1, 2]),
    "joined": st.integers(0, 500),  # days after 2024-06-01
    "stay": st.one_of(st.none(), st.integers(0, 450)),  # days until leaving (None: still a member)
    "channel": st.sampled_from(["Event", "Online", "GP practice"]),
    "lsoa_code": st.sampled_from([None, *[code for code, *_ in LSOAS]]),
    "icp_id": st.sampled_from([None, 1, 2, 3, 4]),
})


def _fill_members(engine, people: list[dict]) -> None:
    """Replace the tiny store's memberships with the people given and refresh the summaries (memberships and all)."""
    first = dt.date(2024, 6, 1)
    with engine.begin() as conn:
        conn.execute(delete(m.NetworkMembership.__table__))
        if people:
            conn.execute(insert(m.NetworkMembership.__table__), [dict(
                network_id=p["network_id"], member_ref=f"m{i}", joined_on=first + dt.timedelta(days=p["joined"]),
                left_on=None if p["stay"] is None else first + dt.timedelta(days=p["joined"] + p["stay"]),
                channel=p["channel"], lsoa_code=p["lsoa_code"], icp_id=p["icp_id"] if p["lsoa_code"] is None else None)
                for i, p in enumerate(people)])
        set_setting(conn, "data_version", f"members-{len(people)}-{id(people)}")
        summaries.refresh(conn)


def _member_views(period: Filters) -> list[Filters]:
    return [Filters(icp, period.start, period.end) for icp in ICPS]


def _check_member_functions(engine) -> None:
    for period in [*MONTH_PERIODS, ODD_PERIOD]:
        def everything(c, period=period):
            out = []
            for f in _member_views(period):
                cells = network_release.cohort_cells(c, f.start, f.end)  # rows in no particular order
                out.append(cells.assign(icp=cells["icp"].fillna(-1)).sort_values(list(cells.columns))
                           .reset_index(drop=True))
                out.append(networks._monthly_raw(c, f))
                out.append(networks.membership_totals_by_month(c, f))
                out += [networks.membership_by_month(c, f, n) for n in (None, 1, 2)]
                out.append(pd.Series([networks.members_on(c, day, f, n) for day in (f.end, f.start, dt.date(2025, 3, 31))
                                      for n in (None, 1, 2)]))
            return out
        got, want = _both(engine, everything)
        for g, w in zip(got, want):
            if isinstance(g, pd.Series):
                pd.testing.assert_series_equal(g, w)
            else:
                pd.testing.assert_frame_equal(g, w, check_dtype=False)


@_random_stores(6)
@given(people=st.lists(member, max_size=40))
def test_membership_counts_are_the_same_from_the_summary_as_from_the_records(tiny, people):
    _fill_members(tiny, people)
    _check_member_functions(tiny)


def test_the_membership_summary_holds_the_counts_worked_out_by_hand(tiny):
    """Three members of network 1: two joining in January 2025 in A1 (East Kent's), one leaving 10 March 2025 (not
    6 months on, so not still a member 6 months after joining, nor 12), one not leaving; one with no small area but
    West Kent recorded, joining 31 July 2024 and leaving 1 February 2025 (6 months and a day on: still a member 6
    months after joining, not 12)."""
    _fill_members(tiny, [])
    with tiny.begin() as conn:
        conn.execute(insert(m.NetworkMembership.__table__), [
            dict(network_id=1, member_ref="a", joined_on=dt.date(2025, 1, 5), left_on=dt.date(2025, 3, 10),
                 channel="Event", lsoa_code="A1", icp_id=None),
            dict(network_id=1, member_ref="b", joined_on=dt.date(2025, 1, 20), left_on=None, channel="Event",
                 lsoa_code="A1", icp_id=None),
            dict(network_id=1, member_ref="c", joined_on=dt.date(2024, 7, 31), left_on=dt.date(2025, 2, 1),
                 channel="Online", lsoa_code=None, icp_id=4)])
        set_setting(conn, "data_version", "by hand")
        summaries.refresh(conn, [], members=True)
    with tiny.connect() as conn:
        s = m.SummaryMembershipCell
        rows = conn.execute(select(s.channel, s.icp_key, s.joined_month, s.left_month, s.still_6, s.still_12, s.n))
        assert sorted((tuple(r) for r in rows), key=str) == [
            ("Event", 2, dt.date(2025, 1, 1), None, 1, 1, 1),
            ("Event", 2, dt.date(2025, 1, 1), dt.date(2025, 3, 1), 0, 0, 1),
            ("Online", 4, dt.date(2024, 7, 1), dt.date(2025, 2, 1), 1, 0, 1)]
        feb = Filters(None, dt.date(2025, 2, 1), dt.date(2025, 2, 28))
        assert networks.members_on(conn, dt.date(2025, 2, 28), feb, 1) == 2  # c left on 1 February
        assert networks.members_on(conn, dt.date(2025, 1, 31), feb, 1) == 3
        assert networks.members_on(conn, dt.date(2025, 1, 31), Filters("East Kent"), 1) == 2


def test_a_survey_refresh_keeps_the_membership_summary(tiny):
    _fill_members(tiny, [dict(network_id=1, joined=10, stay=None, channel="Event", lsoa_code="A1", icp_id=None)])
    with tiny.begin() as conn:
        set_setting(conn, "data_version", "a survey import")
        summaries.refresh(conn, [1])
        assert conn.execute(select(func.sum(m.SummaryMembershipCell.n))).scalar_one() == 1
    _check_member_functions(tiny)
