"""Census residents remembered per data load (data_access.cached.remembered), on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import update

from data_access import models as m
from data_access import cached
from data_access.panel import adult_residents
from data_access.profiles import resident_counts
from data_access.settings import set_setting
from tests.factories import build_tiny_store


@pytest.fixture
def engine_tiny(engine):
    build_tiny_store(engine)
    cached.clear()
    yield engine
    cached.clear()


def _double_the_16_to_24s(engine):
    pc = m.PopulationCount
    with engine.begin() as conn:
        conn.execute(update(pc).where(pc.dimension == "age_band", pc.group_name == "16-24").values(count=pc.count * 2))


def _ages(engine):
    with engine.connect() as conn:
        return resident_counts(conn, "age_band").set_index("group")["residents"].to_dict()


def test_a_store_without_a_data_version_is_always_read_afresh(engine_tiny):
    assert _ages(engine_tiny)["16-24"] == 800
    _double_the_16_to_24s(engine_tiny)
    assert _ages(engine_tiny)["16-24"] == 1600


def test_residents_are_remembered_until_the_data_version_changes(engine_tiny):
    with engine_tiny.begin() as conn:
        set_setting(conn, "data_version", "load-1")
    assert _ages(engine_tiny)["16-24"] == 800
    _double_the_16_to_24s(engine_tiny)  # changed behind the data version's back: still the remembered figure
    assert _ages(engine_tiny)["16-24"] == 800
    with engine_tiny.begin() as conn:
        set_setting(conn, "data_version", "load-2")
    assert _ages(engine_tiny)["16-24"] == 1600
    cached.clear()
    assert _ages(engine_tiny)["16-24"] == 1600


def test_a_caller_changing_its_copy_leaves_the_remembered_one(engine_tiny):
    with engine_tiny.begin() as conn:
        set_setting(conn, "data_version", "load-1")
    with engine_tiny.connect() as conn:
        first = adult_residents(conn, "West Kent")
        total = first["residents"].sum()
        first["residents"] = 0
        assert adult_residents(conn, "West Kent")["residents"].sum() == total == 2400
        assert adult_residents(conn)["residents"].sum() == 4800  # other arguments are remembered apart


def test_the_same_call_is_remembered_however_its_arguments_are_passed(engine_tiny):
    calls = []

    @cached.remembered
    def counted(conn, dimension, icp=None):
        calls.append((dimension, icp))
        return [dimension, icp]

    with engine_tiny.begin() as conn:
        set_setting(conn, "data_version", "load-1")
    with engine_tiny.connect() as conn:
        assert counted(conn, "sex") == counted(conn, "sex", None) == counted(conn, dimension="sex", icp=None)
        assert counted(conn, "sex", "East Kent") == ["sex", "East Kent"]
    assert calls == [("sex", None), ("sex", "East Kent")]
