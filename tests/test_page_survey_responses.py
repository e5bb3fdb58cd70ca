"""The survey responses page in Streamlit's AppTest: picking a survey and a breakdown shows the figures
data_access computes, and the awkward cases (no responses, one response, a question nobody answered,
an area with no population data) each give a clear message."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import insert
from streamlit.testing.v1 import AppTest

from charts.theme import pct
from data_access import models as m
from data_access.answers import likert_summary, question_by_group, question_results, survey_questions
from data_access.db import init_db, make_engine
from data_access.demo import seed_demo
from data_access.filters import Filters
from data_access.surveys import responses_by_day, survey_summary
from tests.factories import build_tiny_store
from tests.test_surveys import build_survey_extras

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGE = "pages/survey_responses.py"
FROM_2024 = {"from": "2024-01-01", "to": "2026-11-15"}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Both stores, made before any app runs (so no app thread migrates a store while one is built):
    the seeded demo store, and the tiny hand-made store with the survey extras plus five responses to
    survey 4, whose area (Medway and Swale) has no population data."""
    folder = tmp_path_factory.mktemp("survey_page")
    demo = make_engine(f"sqlite:///{folder / 'demo.db'}")
    init_db(demo)
    seed_demo(demo, seed=7)
    tiny = make_engine(f"sqlite:///{folder / 'tiny.db'}")
    init_db(tiny)
    build_tiny_store(tiny)
    build_survey_extras(tiny)
    with tiny.begin() as conn:
        conn.execute(insert(m.SurveyResponse.__table__), [
            dict(id=300 + i, survey_id=4, external_id=f"med{i}", submitted_at=dt.datetime(2025, 5, 2 + i, 10),
                 channel="Online", lsoa_code=None, birth_year=1970, sex="Male", ethnic_group="White",
                 disability="Not disabled") for i in range(5)])
    yield {"demo": demo, "tiny": tiny}
    demo.dispose()
    tiny.dispose()


def _point_at(engine):
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = str(engine.url)
    yield engine
    if old is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = old


@pytest.fixture
def demo_store(stores):
    """DATABASE_URL points at the demo store for the app."""
    yield from _point_at(stores["demo"])


@pytest.fixture
def tiny_store(stores):
    """DATABASE_URL points at the tiny store for the app."""
    yield from _point_at(stores["tiny"])


def run_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if query:
        at.query_params.update(query)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def pick_survey(at: AppTest, survey_id: int) -> AppTest:
    at.selectbox(key="survey_choice").set_value(survey_id).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_filters(at: AppTest) -> Filters:
    start, end = at.session_state["flt_period"]
    return Filters(None, start, end)


def sentences(at: AppTest) -> str:
    return " ".join(x.value for x in at.markdown)


def infos(at: AppTest) -> str:
    return " ".join(x.value for x in at.info)


def metric(at: AppTest, label: str) -> str:
    return next(x.value for x in at.metric if x.label == label)


def survey_id_called(engine, title: str) -> int:
    with engine.connect() as conn:
        frame = survey_summary(conn, Filters(None, dt.date(2016, 1, 1), dt.date(2026, 11, 15)))
    return int(frame.set_index("title").loc[title, "id"])


def test_picking_a_survey_and_a_breakdown_shows_its_figures(demo_store):
    at = run_page(FROM_2024)
    sid = survey_id_called(demo_store, "Access to GP services")
    pick_survey(at, sid)
    f = page_filters(at)
    with demo_store.connect() as conn:
        daily = responses_by_day(conn, sid, f)
        questions = survey_questions(conn, sid)
        likert = questions[questions["qtype"] == "likert"].iloc[0]
        summary = likert_summary(question_results(conn, int(likert["id"]), f))
        multi = questions[questions["qtype"] == "multiple"].iloc[0]
        multi_res = question_results(conn, int(multi["id"]), f)
    assert metric(at, "Responses") == f"{int(daily['responses'].sum()):,}"
    text = sentences(at)
    assert "Target met" in text or "Target missed" in text  # closed in December 2024
    assert f"{pct(summary['agree'])} agreed and {pct(summary['disagree'])} disagreed ({summary['n']:,} answered)" in text
    top = multi_res.loc[multi_res["count"].idxmax()]
    assert f"of {int(top['n']):,} who answered, {int(top['count']):,} ({pct(top['share'])}) chose {top['option']}" in text
    assert "design effect" in text and "Furthest out:" in text

    at.selectbox(key="breakdown_question").set_value(int(likert["id"])).run()
    at.selectbox(key="breakdown_dim").set_value("imd_quintile").run()
    assert not at.exception
    with demo_store.connect() as conn:
        by = question_by_group(conn, int(likert["id"]), "imd_quintile", f)
    by = by[by["group"] != "Not known"]
    # a group with a hidden share is not described (its shares would not add up)
    by = by[by.groupby("group")["share"].transform(lambda s: s.notna().all())]
    agree = (by[by["option"].isin(["Agree", "Strongly agree"])].groupby("group", sort=False)["share"].sum())
    best, worst = agree.idxmax(), agree.idxmin()
    n_best = int(by.set_index("group").loc[best, "n"].iloc[0])
    n_worst = int(by.set_index("group").loc[worst, "n"].iloc[0])
    assert (f"Agreement was highest among IMD quintile {best} ({pct(agree[best])} of {n_best:,}) and lowest among "
            f"IMD quintile {worst} ({pct(agree[worst])} of {n_worst:,})") in sentences(at)


def test_a_survey_not_yet_open_says_so(demo_store):
    at = run_page()
    sid = survey_id_called(demo_store, "Citizens' panel: hospital discharge")
    pick_survey(at, sid)
    assert "has not opened yet" in infos(at)
    assert "no responses" in infos(at)
    assert "Open actions across all surveys" in [s.value for s in at.subheader]


def test_a_survey_with_one_response(tiny_store):
    at = pick_survey(run_page(), 3)
    assert metric(at, "Responses") == "fewer than 5"  # one response: a small number, so not shown
    assert "This survey has fewer than 5 responses from this area" in infos(at)
    assert metric(at, "Per 1,000 residents") == "not shown"
    assert not at.get("plotly_chart") or len(at.get("plotly_chart")) >= 1  # the progress chart only


def test_a_question_nobody_answered_and_free_text_as_plain_text(tiny_store):
    at = pick_survey(run_page(), 1)
    assert "Nobody has answered this question." in infos(at)
    assert "Fewer than 5 people answered this question" in infos(at)  # 4 answered the multiple choice
    examples = [t.value for t in at.text]
    assert "“<b>kind staff</b>”" in examples and "“nothing **else**”" in examples
    assert not any("kind staff" in x.value for x in at.markdown)  # never rendered as HTML or Markdown
    # Every respondent to survey 1 is female, so weighting cannot reach the male residents' share.
    assert "cannot be weighted" in infos(at)


def test_a_survey_whose_area_has_no_population_data(tiny_store):
    at = pick_survey(run_page(), 4)
    assert metric(at, "Per 1,000 residents") == "no data"
    text = infos(at)
    assert "no population data for the areas this survey covers" in text
    assert "cannot be weighted to match residents" in text
