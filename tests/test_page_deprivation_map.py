"""The deprivation map page in Streamlit's AppTest, on the real IoD2025 small areas with demo engagement
data: the deck's layers and data follow the switches, and the figures match data_access."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from charts.maps import GAP_COLOUR, decile_colour
from data_access.demo import seed_demo
from data_access.filters import Filters
from data_access.geography import unplaced_engagement
from data_access.reach import area_reach, core20_reach, reach_benchmarks
from data_access.reference_import import import_reference
from tests.conftest import app_store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGE = "pages/deprivation_map.py"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The real reference areas with demo engagement data; DATABASE_URL points at it for the app."""
    from tests.conftest import REFERENCE_DIR
    if not REFERENCE_DIR.exists():
        pytest.skip(f"reference data not found at {REFERENCE_DIR}")

    def fill(engine):
        import_reference(engine, REFERENCE_DIR)
        seed_demo(engine, seed=11)

    with app_store(tmp_path_factory.mktemp("map"), fill) as engine:
        yield engine


def run_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if query:
        at.query_params.update(query)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def filters_of(at: AppTest, icp: str | None = None) -> Filters:
    start, end = at.session_state["flt_period"]
    return Filters(icp, start, end)


def deck_layers(at: AppTest) -> dict:
    decks = at.get("deck_gl_json_chart")
    assert len(decks) == 1
    return {lay["id"]: lay for lay in json.loads(decks[0].proto.json)["layers"]}


def features(at: AppTest) -> dict:
    return {f["properties"]["code"]: f["properties"] for f in deck_layers(at)["small-areas"]["data"]["features"]}


def text_of(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(c.value for c in at.caption)


def test_map_draws_the_real_areas_with_icp_outlines(store):
    at = run_page()
    notes = " ".join(n.value for n in at.info) + " ".join(w.value for w in at.warning)
    assert "Demonstration engagement data on Kent and Medway's real small areas." in notes
    assert "synthetic" not in notes.lower()
    layers = deck_layers(at)
    assert set(layers) == {"small-areas", "icp-outlines"}  # no area chosen yet, so no outline of one
    assert len(layers["small-areas"]["data"]["features"]) == 1107
    assert sorted(f["properties"]["icp"] for f in layers["icp-outlines"]["data"]["features"]) == [
        "Dartford, Gravesham and Swanley", "East Kent", "Medway and Swale", "West Kent"]
    with store.connect() as conn:
        areas = area_reach(conn, filters_of(at)).set_index("code")
    props = features(at)
    code = areas.index[areas["imd_decile"] == 1][0]
    assert props[code]["fill"] == decile_colour(1) and props[code]["decile"] == 1
    assert props[code]["name"] == areas.loc[code, "name"] and props[code]["district"] == areas.loc[code, "district"]
    assert props[code]["population"] == f"{int(areas.loc[code, 'population']):,}"
    tooltip = at.get("deck_gl_json_chart")[0].proto.tooltip
    assert all(f"{{{key}}}" in tooltip for key in ("name", "district", "icp", "imd_decile", "population", "members",
                                                    "panel_per_1000", "respondents_per_1000"))
    core = int(areas["core20"].sum())
    assert next(m.value for m in at.metric if m.label == "Core20 small areas") == f"{core:,} of 1,107"


def test_switching_domain_and_local_rank_recolours_the_map(store):
    at = run_page()
    at.selectbox(key="map_measure").select("crime_decile").run()
    assert not at.exception
    with store.connect() as conn:
        areas = area_reach(conn, filters_of(at)).set_index("code")
    props = features(at)
    assert all(props[c]["decile"] == int(d) for c, d in areas["crime_decile"].items())
    assert all(props[c]["fill"] == decile_colour(d) for c, d in areas["crime_decile"].items())
    assert "Crime decile (1 = most deprived)" in text_of(at)  # the legend follows
    at.selectbox(key="map_measure").select("local_decile").run()
    props = features(at)
    assert all(props[c]["decile"] == int(d) for c, d in areas["local_decile"].items())


def test_reach_view_and_measure(store):
    at = run_page()
    at.radio(key="map_view").set_value("reach").run()
    at.selectbox(key="map_reach").select("respondents").run()
    assert not at.exception
    with store.connect() as conn:
        areas = area_reach(conn, filters_of(at)).set_index("code")
    props = features(at)
    shown = areas.dropna(subset=["respondents_per_1000"])
    code = shown["respondents_per_1000"].idxmax()
    assert props[code]["respondents_per_1000"] == f"{shown.loc[code, 'respondents_per_1000']:.1f}"
    assert props[code]["value"] == f"{shown.loc[code, 'respondents_per_1000']:.1f} per 1,000 residents"
    hidden = areas.index[areas["respondents"].isna()]
    if len(hidden):
        assert props[hidden[0]]["respondents"] == "not shown"
    assert "Survey responses per 1,000 residents" in text_of(at)
    assert "Survey responses per 1,000 residents: <b>{value}</b>" in at.get("deck_gl_json_chart")[0].proto.tooltip


def test_gaps_view_picks_out_core20_areas_below_the_median(store):
    at = run_page()
    at.radio(key="map_view").set_value("gaps").run()
    at.selectbox(key="map_reach").select("panel").run()
    with store.connect() as conn:
        f = filters_of(at)
        areas = area_reach(conn, f)
        median = reach_benchmarks(conn, f).set_index("area").loc["Kent and Medway", "panel_median"]
    gaps = set(areas.loc[areas["panel_gap"], "code"])
    assert gaps and all(areas.set_index("code").loc[list(gaps), "core20"])
    red = {c for c, p in features(at).items() if p["fill"][:3] == list(GAP_COLOUR)}
    assert red == gaps
    assert next(m.value for m in at.metric if m.label.startswith("Reach gaps")) == f"{len(gaps):,}"
    assert f"({median:.1f} per 1,000 residents)" in text_of(at)


def test_choosing_an_area_shows_its_detail_and_comparisons(store):
    at = run_page()
    with store.connect() as conn:
        f = filters_of(at)
        areas = area_reach(conn, f).set_index("code")
        bench = reach_benchmarks(conn, f).set_index("area")
    row = areas.dropna(subset=["members_per_1000"]).sort_values("members_per_1000").iloc[-1]
    at.selectbox(key="map_area").set_value(row.name).run()
    assert not at.exception
    assert f"{row['name']} ({row.name})" in [s.value for s in at.subheader]
    text = text_of(at)
    assert (f"Network members: {int(row['members']):,}, {row['members_per_1000']:.1f} per 1,000 residents") in text
    assert f"{row['icp']} ({bench.loc[row['icp'], 'members_per_1000']:.1f})" in text
    assert f"Kent and Medway ({bench.loc['Kent and Medway', 'members_per_1000']:.1f})" in text
    outline = deck_layers(at)["selected-area"]["data"]["features"]
    assert [f["properties"]["code"] for f in outline] == [row.name]  # the chosen area is outlined on the map


def test_an_area_outside_the_chosen_icp_area_is_let_go(store):
    at = run_page()
    at.selectbox(key="map_area").set_value("E01024657").run()  # Thanet 001A, East Kent
    at.sidebar.selectbox(key="flt_icp").select("West Kent").run()
    assert not at.exception
    assert at.selectbox(key="map_area").value is None
    assert "selected-area" not in deck_layers(at)


def test_icp_filter_and_reach_tables(store):
    at = run_page({"icp": "East Kent"})
    with store.connect() as conn:
        f = filters_of(at, "East Kent")
        areas = area_reach(conn, f)
        by_icp = core20_reach(conn, f.__class__(None, f.start, f.end), "icp").set_index("area")
        unplaced = unplaced_engagement(conn, f).set_index("kind")
    assert len(features(at)) == len(areas) == (areas["icp"] == "East Kent").sum()
    text = text_of(at)
    east = by_icp.loc["East Kent"]
    assert f"East Kent: {east['core20_share'] * 100:.0f}% of residents live in Core20 areas" in text
    assert f"{unplaced.loc['members', 'no_area']:,} network members" in text
    assert len(at.get("plotly_chart")) >= 2
