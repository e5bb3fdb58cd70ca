"""Clicking a small area on the deprivation map chooses it: the detail beside the map and the outline follow.

A real click cannot be driven in headless Chromium here (deck.gl's click never reaches Streamlit
offline, even for a minimal pydeck chart; hover picking works), so the test hands the page the
selection state Streamlit's pydeck chart sends after a click, in the shape Streamlit documents:
{"selection": {"indices": {layer id: [index]}, "objects": {layer id: [the clicked GeoJSON feature]}}}.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data_access.demo import seed_demo
from tests.conftest import app_store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGE = "pages/deprivation_map.py"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Demo data on the synthetic geography; DATABASE_URL points at it for the app."""
    def fill(engine):
        seed_demo(engine, seed=5)

    with app_store(tmp_path_factory.mktemp("click"), fill) as engine:
        yield engine


def layers(at: AppTest) -> dict:
    (deck,) = at.get("deck_gl_json_chart")
    return {lay["id"]: lay for lay in json.loads(deck.proto.json)["layers"]}


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def click(at: AppTest, index: int, feature: dict) -> AppTest:
    at.session_state["imd_map"] = {"selection": {"indices": {"small-areas": [index]},
                                                 "objects": {"small-areas": [feature]}}}
    return run(at)


def test_a_click_on_an_area_shows_its_detail_and_outlines_it(store):
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(PAGE)
    run(at)
    assert "selected-area" not in layers(at)
    feats = layers(at)["small-areas"]["data"]["features"]
    index = len(feats) // 3
    chosen = feats[index]
    click(at, index, chosen)
    code, name = chosen["properties"]["code"], chosen["properties"]["name"]
    assert at.selectbox(key="map_area").value == code
    assert [s.value for s in at.subheader][0] == f"{name} ({code})"
    outline = layers(at)["selected-area"]["data"]["features"]
    assert [f["properties"]["code"] for f in outline] == [code]

    # A click on another area moves the choice; choosing from the list afterwards still works.
    other = feats[index + 1]
    click(at, index + 1, other)
    assert at.selectbox(key="map_area").value == other["properties"]["code"]
    at.selectbox(key="map_area").select(chosen["properties"]["code"])
    run(at)
    assert [s.value for s in at.subheader][0] == f"{name} ({code})"
