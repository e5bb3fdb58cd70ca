"""The dashboard's pages in Streamlit's AppTest: every page opens (from the menu and by its own
address), shows the shared filters, and shows the figures data_access computes from the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from charts.theme import pct, signed
from data_access.demo import seed_demo
from data_access.filters import Filters
from data_access.networks import members_on
from data_access.overview import headline_figures
from data_access.panel import panel_size
from tests.conftest import app_store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = {
    "pages/overview.py": "Patient and public engagement: Kent and Medway",
    "pages/network_growth.py": "Network growth",
    "pages/survey_responses.py": "Survey responses",
    "pages/panel_coverage.py": "Citizens' panel coverage",
    "pages/deprivation_map.py": "Deprivation map",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A seeded demo store; DATABASE_URL points at it for the app."""
    def fill(engine):
        seed_demo(engine, seed=7)

    with app_store(tmp_path_factory.mktemp("app"), fill) as engine:
        yield engine


def run_app(page: str | None = None, deep_link: bool = True, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if query:
        at.query_params.update(query)
    if page and deep_link:
        at.switch_page(page)  # the first run of the session is on this page, as when its URL is typed in
        at.run()
    else:
        at.run()
        if page:
            at.switch_page(page)
            at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def default_filters(at: AppTest, icp: str | None = None) -> Filters:
    start, end = at.session_state["flt_period"]
    return Filters(icp, start, end)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def sentences(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("deep_link", [True, False], ids=["by-address", "by-menu"])
def test_every_page_opens_with_the_shared_filters(store, page, deep_link):
    at = run_app(page, deep_link=deep_link)
    assert [t.value for t in at.title] == [PAGES[page]]
    assert at.sidebar.selectbox(key="flt_icp").value == "All Kent and Medway"
    assert at.sidebar.date_input(key="flt_period").value is not None
    assert not at.error
    assert "synthetic" in " ".join(w.value for w in at.warning).lower()


def test_default_period_is_the_year_to_the_latest_data(store):
    at = run_app()
    start, end = at.session_state["flt_period"]
    with store.connect() as conn:  # the latest joining or response, read directly from the records
        latest = max(str(conn.exec_driver_sql(sql).scalar())[:10] for sql in (
            "SELECT MAX(joined_on) FROM networkmembership", "SELECT MAX(submitted_at) FROM surveyresponse"))
    assert end == dt.date.fromisoformat(latest)
    assert start == end - dt.timedelta(days=364)


def test_overview_figures_match_data_access(store):
    at = run_app()
    with store.connect() as conn:
        h = headline_figures(conn, default_filters(at))
    assert metric(at, "Network members") == f"{h.members:,}"
    assert metric(at, "Survey responses") == f"{h.responses:,}"
    assert metric(at, "Open surveys") == f"{h.open_surveys:,}"
    assert metric(at, "Citizens' panel") == f"{h.panel_members:,}"
    assert metric(at, "Core20 respondents") == pct(h.core20_share_respondents)
    assert f"{signed(h.growth_12m)} on a year earlier ({h.members_year_before:,})" in sentences(at)


def test_changing_the_icp_filter_changes_the_figures(store):
    at = run_app()
    before = metric(at, "Network members")
    at.sidebar.selectbox(key="flt_icp").select("East Kent").run()
    assert not at.exception
    with store.connect() as conn:
        h = headline_figures(conn, default_filters(at, "East Kent"))
    assert metric(at, "Network members") == f"{h.members:,}" != before
    assert metric(at, "Survey responses") == f"{h.responses:,}"
    assert at.title[0].value == "Patient and public engagement: East Kent"
    assert at.query_params["icp"] == ["East Kent"] or at.query_params["icp"] == "East Kent"


def test_filters_are_read_from_the_address(store):
    at = run_app("pages/panel_coverage.py", query={"icp": "West Kent", "from": "2025-01-01", "to": "2025-12-31"})
    assert at.sidebar.selectbox(key="flt_icp").value == "West Kent"
    assert at.session_state["flt_period"] == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    with store.connect() as conn:
        size = panel_size(conn, dt.date(2025, 12, 31), "West Kent")
    assert metric(at, "Panel members serving") == f"{size:,}"


def test_network_page_sentence_carries_the_store_figures(store):
    at = run_app("pages/network_growth.py")
    f = default_filters(at)
    with store.connect() as conn:
        end_total = members_on(conn, f.end, f)
    assert f"to {end_total:,} by" in sentences(at)
    assert len(at.get("plotly_chart")) >= 2


def test_network_filter_changes_the_chart(store):
    at = run_app("pages/network_growth.py")
    at.selectbox(key="network_choice").select("Thanet Health Network").run()
    f = default_filters(at)
    with store.connect() as conn:
        from data_access.networks import networks
        nid = int(networks(conn).set_index("name").loc["Thanet Health Network", "id"])
        end_total = members_on(conn, f.end, f, network_id=nid)
    assert f"to {end_total:,} by" in sentences(at)


def test_survey_page_shows_a_verdict_and_representation(store):
    at = run_app("pages/survey_responses.py")
    text = sentences(at)
    assert any(word in text for word in ("On track", "Behind by", "Target met", "Target missed"))
    assert "By age band in Kent and Medway" in text
    assert len(at.get("plotly_chart")) >= 4
    headings = [s.value for s in at.subheader]
    for heading in ("All surveys at a glance", "Results for every question", "Answers by group",
                    "Who responded, against who lives there", "Results weighted to match residents",
                    "You said, we did", "Open actions across all surveys"):
        assert heading in headings


def test_panel_page_lists_gaps(store):
    at = run_app("pages/panel_coverage.py")
    f = default_filters(at)
    with store.connect() as conn:
        size = panel_size(conn, f.end)
    assert metric(at, "Panel members serving") == f"{size:,}"
    assert "groups are outside tolerance" in sentences(at)


def test_map_page_draws_every_small_area(store):
    at = run_app("pages/deprivation_map.py")
    decks = at.get("deck_gl_json_chart")
    assert len(decks) == 1
    import json
    spec = json.loads(decks[0].proto.json)
    layer = next(lay for lay in spec["layers"] if lay["id"] == "small-areas")
    with store.connect() as conn:
        from sqlalchemy import func, select
        from data_access.models import Lsoa
        n = conn.execute(select(func.count()).select_from(Lsoa)).scalar_one()
    assert len(layer["data"]["features"]) == n
    at.selectbox(key="map_measure").select("crime_decile").run()
    assert not at.exception
    at.radio(key="map_view").set_value("gaps").run()
    assert not at.exception
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    layer = next(lay for lay in spec["layers"] if lay["id"] == "small-areas")
    assert len(layer["data"]["features"]) == n


def test_an_unknown_disclosure_rule_is_named_on_every_page_and_at_start_up(store, monkeypatch, capsys):
    """A typing slip in DISCLOSURE_RULE must not pass silently: the default rule is used and the sidebar of every
    page, and the launcher before the server starts, say so."""
    from data_access.disclosure import policy, rule_warning
    from ui.launch import check_settings

    monkeypatch.setenv("DISCLOSURE_RULE", "HES-rounded")
    expected = ("DISCLOSURE_RULE is set to 'HES-rounded', which is not a known rule (threshold or hes), so the default "
                "rule (threshold) is used.")
    assert rule_warning() == expected and policy().rule == "threshold"
    at = run_app("pages/network_growth.py")
    assert expected in [w.value for w in at.sidebar.warning]
    check_settings()
    assert capsys.readouterr().out == f"Warning: {expected}\n"
    for ok in ("hes", "threshold", " Threshold "):
        monkeypatch.setenv("DISCLOSURE_RULE", ok)
        assert rule_warning() is None
    monkeypatch.delenv("DISCLOSURE_RULE")
    assert rule_warning() is None


def _snapshot(value):
    """A copy of a result as it is now: frames copied, figures and maps as their JSON, containers and objects part
    by part."""
    import copy

    import pandas as pd

    if isinstance(value, (pd.DataFrame, pd.Series)):
        return copy.deepcopy(value)
    if hasattr(value, "to_json") and callable(value.to_json):  # a plotly figure or a pydeck map
        return ("json", value.to_json())
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_snapshot(v) for v in value]
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return (type(value).__qualname__, _snapshot(vars(value)))
    return copy.deepcopy(value)


def _same(a, b) -> bool:
    """True when two snapshots are equal (frames by columns, index, values, types and attrs; NaN equal to NaN)."""
    import numpy as np
    import pandas as pd

    if isinstance(a, (pd.DataFrame, pd.Series)):
        return (type(a) is type(b) and a.shape == b.shape and list(getattr(a, "columns", [])) ==
                list(getattr(b, "columns", [])) and a.index.equals(b.index) and a.equals(b) and _same(a.attrs, b.attrs))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return a == b or (a != a and b != b)  # NaN is a faithful copy of NaN


def test_pages_leave_the_results_they_are_handed_as_they_were(store, monkeypatch):
    """Kept results are handed to every reader without copying: no page (nor chart) may change one. Every result
    is copied when it is made, and after every page has run for the county and an ICP area, each is compared
    with its copy."""
    from data_access import cached

    made = {}
    keep = cached._kept_or_made

    def recording(key, make):
        def made_and_copied():
            value = make()
            made[key] = _snapshot(value)
            return value
        return keep(key, made_and_copied)

    cached.clear()
    monkeypatch.setattr(cached, "_kept_or_made", recording)
    for icp in ("", "EK"):
        for page in PAGES:
            run_app(page, query={"icp": icp} if icp else None)
    kept = {key: value for key, (value, _) in cached._results.items()}
    assert len(made) > 100 and set(made) <= set(kept)
    changed = [key[3] for key, value in made.items() if not _same(value, _snapshot(kept[key]))]
    assert changed == []
