"""The overview page in Streamlit's AppTest on the tiny hand-made store: the tiles, sentences and gaps carry the
figures data_access computes, small counts are hidden, and presentation mode is a switch kept in the address."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from charts.overview import gap_sentence, key_messages
from data_access.definitions import help_text
from data_access.filters import Filters
from data_access.overview import overview
from data_access.reach_gaps import reach_gaps
from tests.factories import build_tiny_store
from tests.test_app import APP
from tests.test_overview import add_respondents
from tests.conftest import app_store

PAGE = "pages/overview.py"
PERIOD = {"from": "2025-01-01", "to": "2025-03-31"}
Q1 = Filters(None, dt.date(2025, 1, 1), dt.date(2025, 3, 31))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The tiny store (with 40 more respondents) on SQLite; DATABASE_URL points at it for the app."""
    def fill(engine):
        build_tiny_store(engine)
        add_respondents(engine)

    with app_store(tmp_path_factory.mktemp("overview"), fill) as engine:
        yield engine


def run(query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text_of(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def test_tiles_carry_the_store_figures_with_their_definitions(store):
    at = run(PERIOD)
    assert metric(at, "Network members").value == "5"
    assert metric(at, "Survey responses").value == "46"
    assert metric(at, "Responses in the last 3 months").value == "46"
    assert metric(at, "Open surveys").value == "0"
    assert metric(at, "Citizens' panel").value == "fewer than 5"  # 3 members
    assert metric(at, "Core20 reach ratio").value == "hidden"  # from 2 respondents in Core20 areas
    assert metric(at, "Network members").help == help_text("members")
    assert metric(at, "Panel mismatch").help == help_text("dissimilarity")
    assert "Common cause" in text_of(at) or "Special cause" in text_of(at) or "Not enough data" in text_of(at)


def test_sentences_match_data_access_and_hide_small_counts(store):
    at = run(PERIOD)
    with store.connect() as conn:
        messages = key_messages(overview(conn, Q1), reach_gaps(conn, Q1))
        gaps = [gap_sentence(g, Q1) for g in reach_gaps(conn, Q1).itertuples()]
    text = text_of(at)
    for message in messages:
        assert message in text
    for i, sentence in enumerate(gaps, start=1):
        assert f"{i}. {sentence}" in text
    assert "The citizens' panel had fewer than 5 members." in text
    assert "(2 of" not in text  # the two Core20 respondents are never counted out
    assert [s.value for s in at.subheader] == ["Headline figures", "In plain English", "Reach gaps to act on",
                                               "Board pack", "Explore"]
    assert any("Reading ease" in c.value for c in at.caption)
    assert len(at.get("download_button")) == 1


def test_area_filter_changes_the_figures(store):
    at = run({**PERIOD, "icp": "East Kent"})
    # East Kent on 31 March 2025: m1, m3, m6 (A1/A2) - 3 members, hidden; responses from A1 and A2: 5 + 40
    assert metric(at, "Network members").value == "fewer than 5"
    assert metric(at, "Survey responses").value == "45"
    assert at.title[0].value == "Patient and public engagement: East Kent"


def test_presentation_mode_is_a_switch_kept_in_the_address(store):
    at = run(PERIOD)
    assert at.sidebar.toggle(key="presentation").value is False
    assert "present" not in at.query_params
    assert "stMain'] [data-testid='stMetricValue'] *{font-size:3.2rem" not in text_of(at)
    at.sidebar.toggle(key="presentation").set_value(True).run()
    assert not at.exception
    assert "stMain'] [data-testid='stMetricValue'] *{font-size:3.2rem" in text_of(at)
    assert at.query_params["present"] in ("1", ["1"])
    assert at.query_params["from"] in ("2025-01-01", ["2025-01-01"])
    # opened from a shared link, presentation mode is on from the start and stays in the address
    again = run({**PERIOD, "present": "1"})
    assert again.sidebar.toggle(key="presentation").value is True
    assert "stMain'] [data-testid='stMetricValue'] *{font-size:3.2rem" in text_of(again)
    assert again.query_params["present"] in ("1", ["1"])
    assert metric(again, "Survey responses").value == "46"
