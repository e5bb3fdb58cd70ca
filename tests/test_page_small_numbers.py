"""Every number about people that reaches the network growth, survey responses and deprivation map pages -
sentences, captions, metrics, tables (and so their CSV downloads), chart values and map tooltips - is
suppressed below the threshold.

The store is tests/factories.py's tiny store with the survey extras of tests/test_surveys.py: every group,
area, network, channel and month there holds 1 to 7 people, so with the default rule (threshold 5) no count
of 1 to 4 may appear anywhere. Each page is run in AppTest and everything it renders is collected.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data_access.db import init_db, make_engine
from tests.factories import build_tiny_store
from tests.test_app import APP
from tests.test_surveys import build_survey_extras

# Columns that are not counts of people (areas' residents come from the census, deciles are labels, ...).
NOT_COUNTS = re.compile(r"resident|population|decile|rank|share|ratio|per 1,000|per_1000|gap|target|days|lsoas|"
                        r"small areas|quarter|year|median|trajectory|weighted|%|position|id$|outside|mean|sd|rate|"
                        r"deviation|months used|projected|low|high|design|effective|quintile|age band|group", re.I)
SMALL = {1, 2, 3, 4}
# A small count in words: "3 people", "(n=2)", "4 responses", "of 3 who answered", ...
SMALL_IN_WORDS = re.compile(
    r"(?<![\d.,%:/-])[1-4] (people|person|members?|responses?|respondents?|joined|left|answered|answers|"
    r"network members|panel members|survey responses|who)\b|n=[1-4]\b|\(([1-4])(,|\))")


@pytest.fixture(scope="module")
def tiny_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "tiny.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    init_db(engine)
    build_tiny_store(engine)
    build_survey_extras(engine)
    engine.dispose()
    return url


@pytest.fixture
def tiny_app(tiny_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", tiny_url)
    for name in ("DISCLOSURE_RULE", "SMALL_NUMBER_THRESHOLD", "SPECIAL_CATEGORY_MIN_BASE"):
        monkeypatch.delenv(name, raising=False)


def run(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def words(at: AppTest) -> list[str]:
    """Every sentence, caption, notice and metric on the page."""
    out = [m.value for m in at.markdown] + [c.value for c in at.caption]
    out += [e.value for kind in ("info", "warning", "error", "success") for e in getattr(at, kind)]
    out += [f"{m.label}: {m.value}" for m in at.metric]
    out += [h.value for kind in ("title", "header", "subheader") for h in getattr(at, kind)]
    return out


def small_counts_in_tables(at: AppTest) -> list[str]:
    """Cells of count columns holding 1 to 4 in any table on the page (the CSV download is the same table)."""
    found = []
    for df in at.dataframe:
        frame = df.value
        for col in frame.columns:
            if NOT_COUNTS.search(str(col)):
                continue
            values = pd.to_numeric(frame[col], errors="coerce")
            if values.notna().sum() == 0:
                continue
            hits = values[values.isin(SMALL)]
            if len(hits):
                found.append(f"{col}: {list(hits)}")
    return found


def chart_values(at: AppTest) -> list[str]:
    """Labels and hover data of every plotly chart (bar labels such as '40% (3)' or 'n=2')."""
    out = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for trace in spec.get("data", []):
            for key in ("text", "name"):
                value = trace.get(key)
                out += [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []
    return out


def check_page(at: AppTest) -> None:
    leaks = [w for w in words(at) + chart_values(at) if SMALL_IN_WORDS.search(w)]
    assert not leaks, leaks
    assert not small_counts_in_tables(at), small_counts_in_tables(at)


def test_network_growth_page_shows_no_small_count(tiny_app):
    at = run("pages/network_growth.py", {"from": "2025-01-01", "to": "2025-03-31"})
    check_page(at)
    text = " ".join(words(at))
    assert "fewer than 5" in text  # the counts are there, hidden
    # the per-network monthly table: every member count of the tiny networks is hidden
    for east in (None, "East Kent"):
        if east:
            at.sidebar.selectbox(key="flt_icp").select(east).run()
            assert not at.exception
            check_page(at)
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for trace in spec.get("data", []):
            if trace.get("type") == "scatter" and str(trace.get("name", "")).endswith("Network"):
                ys = [v for v in trace.get("y", []) if v is not None]
                assert not [v for v in ys if v in SMALL], trace["name"]


def test_survey_page_shows_no_small_count(tiny_app):
    at = run("pages/survey_responses.py", {"from": "2025-01-01", "to": "2025-12-31"})
    at.selectbox(key="survey_choice").set_value(1).run()
    assert not at.exception
    check_page(at)
    text = " ".join(words(at))
    assert "Responses: 6" in text  # six responses: shown
    # daily bars and the running total of the progress chart: no day of 1-4
    progress = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    for trace in progress[:2]:
        assert not [v for v in trace.get("y", []) if v in SMALL], trace.get("name")
    # ethnic group is special-category data: with 6 respondents the breakdown is withheld, and says why
    at.selectbox(key="breakdown_dim").set_value("ethnic_group").run()
    assert "ethnic group is special-category personal data" in " ".join(i.value for i in at.info)
    check_page(at)


def test_deprivation_map_shows_no_small_count(tiny_app):
    at = run("pages/deprivation_map.py", {"from": "2025-01-01", "to": "2025-03-31"})
    check_page(at)
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    layer = next(lay for lay in deck["layers"] if lay["id"] == "small-areas")
    for feature in layer["data"]["features"]:
        props = feature["properties"]
        for kind in ("members", "panel", "respondents"):
            assert props[kind] in ("0", "not shown") or int(props[kind].replace(",", "")) >= 5, props
            if props[kind] == "not shown":
                assert props[f"{kind}_per_1000"] == "not shown"
    # the area detail of a small area with members
    at.selectbox(key="map_area").set_value("A1").run()
    assert not at.exception
    check_page(at)
    assert any("not shown" in w for w in words(at))
