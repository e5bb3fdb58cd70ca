"""The citizens' panel page in Streamlit's AppTest: tolerance and wave inputs change the gaps and the quotas
exactly as data_access computes them from the store."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data_access.db import init_db, make_engine
from data_access.demo import seed_demo
from data_access.panel import PANEL_DIMENSIONS, group_order, panel_size, quota_inputs
from data_access.quotas import plan_wave
from data_access.representativeness import Tolerance

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGE = "pages/panel_coverage.py"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A seeded demo store; DATABASE_URL points at it for the app."""
    path = tmp_path_factory.mktemp("panel_page") / "demo.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    init_db(engine)
    seed_demo(engine, seed=7)
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    yield engine
    engine.dispose()
    if old is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = old


def run_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def quota_frame(at: AppTest):
    return next(d.value for d in at.dataframe if "At least" in d.value.columns)


def expected_plan(store, wave_day, target, tolerance):
    with store.connect() as conn:
        inputs = quota_inputs(conn, wave_day, None)
    return plan_wave(inputs, target, tolerance, {d: group_order(d) for d in PANEL_DIMENSIONS})


def test_quotas_follow_the_wave_inputs_and_the_tolerance(store):
    at = run_page()
    end = at.session_state["flt_period"][1]
    wave_day = at.date_input(key="plan_date").value
    assert wave_day == end + dt.timedelta(days=182)
    plan = expected_plan(store, wave_day, 2000, Tolerance())
    assert metric(at, "Recruits needed") == f"{plan.wave:,}" and plan.wave > 0
    table = quota_frame(at)
    age = table[table["Dimension"] == "Age band"]
    assert age["Recruits"].tolist() == plan.by_dimension["age_band"]["recruits"].tolist()
    assert age["At least"].tolist() == plan.by_dimension["age_band"]["at_least"].tolist()
    for _, part in table.groupby("Dimension"):
        assert part["Recruits"].sum() == plan.wave

    # A bigger target and a later wave: more recruits, from fewer members still serving.
    later = wave_day + dt.timedelta(days=365)
    at.number_input(key="plan_target").set_value(2500)
    at.date_input(key="plan_date").set_value(later).run()
    assert not at.exception
    with store.connect() as conn:
        serving = panel_size(conn, later)
    assert metric(at, "Still serving at the wave") == f"{serving:,}"
    assert metric(at, "Recruits needed") == f"{2500 - serving:,}"
    plan2 = expected_plan(store, later, 2500, Tolerance())
    table = quota_frame(at)
    assert table[table["Dimension"] == "Sex"]["Recruits"].tolist() == plan2.by_dimension["sex"]["recruits"].tolist()
    assert table["Recruits"].sum() == plan2.wave * len(plan2.by_dimension)

    # A narrower tolerance narrows the range each group must be recruited within.
    at.number_input(key="tol_low").set_value(0.95)
    at.number_input(key="tol_high").set_value(1.05).run()
    assert not at.exception
    plan3 = expected_plan(store, later, 2500, Tolerance(0.95, 1.05, 5.0))
    table = quota_frame(at)
    age = table[table["Dimension"] == "Age band"]
    assert age["At least"].tolist() == plan3.by_dimension["age_band"]["at_least"].tolist()
    assert age["At most"].tolist() == plan3.by_dimension["age_band"]["at_most"].tolist()
    assert age["At least"].tolist() != plan2.by_dimension["age_band"]["at_least"].tolist()


def test_tolerance_changes_the_gaps_to_close(store):
    at = run_page()
    text = " ".join(m.value for m in at.markdown)
    assert "groups are outside tolerance" in text
    before = next(m.value for m in at.markdown if "outside tolerance (" in m.value)
    at.number_input(key="tol_low").set_value(0.1)
    at.number_input(key="tol_high").set_value(10.0)
    at.number_input(key="tol_pp").set_value(100.0).run()
    assert not at.exception
    assert any("Every group is within tolerance" in m.value for m in at.markdown)
    assert before != next(m.value for m in at.markdown if "within tolerance (" in m.value)
