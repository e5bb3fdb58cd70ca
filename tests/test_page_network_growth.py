"""The network growth page in Streamlit's AppTest: filters change the figures to the right values."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from data_access.db import init_db, make_engine
from data_access.demo import seed_demo
from data_access.filters import Filters
from tests.test_app import APP

PAGE = "pages/network_growth.py"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A seeded demo store; DATABASE_URL points at it for the app."""
    path = tmp_path_factory.mktemp("netapp") / "demo.db"
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
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def filters_of(at: AppTest, icp: str | None = None) -> Filters:
    start, end = at.session_state["flt_period"]
    return Filters(icp, start, end)


def sentences(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_spc_charts_and_verdicts(store):
    at = run_page()
    text = sentences(at)
    assert "People joining a network each month (all networks, Kent and Medway): mean" in text
    assert "Net change in network members each month (all networks, Kent and Medway): mean" in text
    assert "Target 0:" in text
    assert not at.error
