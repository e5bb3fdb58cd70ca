"""The first start: an empty store gets the shipped Kent and Medway reference data, then demo engagement data."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from data_access import models as m
from data_access.db import init_db, make_engine
from data_access.first_start import SHIPPED_REFERENCE, fill_empty_store
from data_access.geography import geography_status


@pytest.fixture(scope="module")
def first_start(tmp_path_factory):
    """A SQLite store after the first start (loaded once for this module): (engine, what it said)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('first') / 'store.db'}")
    init_db(engine)
    said = fill_empty_store(engine)
    yield engine, said
    engine.dispose()


def test_the_first_start_loads_kent_and_medway_real_areas(first_start):
    engine, said = first_start
    assert SHIPPED_REFERENCE.is_dir()
    with engine.connect() as conn:
        status = geography_status(conn)
        per_icp = dict(conn.execute(select(m.IcpArea.name, func.count()).join(m.Lsoa, m.Lsoa.icp_id == m.IcpArea.id)
                                    .group_by(m.IcpArea.name)).all())
        districts = conn.execute(select(func.count(func.distinct(m.Lsoa.lad_code)))).scalar_one()
        outlines = conn.execute(select(func.count()).select_from(m.LsoaBoundary)).scalar_one()
        members = conn.execute(select(func.count()).select_from(m.NetworkMembership)).scalar_one()
        synthetic_names = conn.execute(select(func.count()).where(m.Lsoa.name.like("%synthetic%"))).scalar_one()
    assert status == {"synthetic": False, "demo": True, "edition": "IoD2025 / LSOA 2021", "lsoas": 1107}
    # The counts of the ONS lookup by ICP area (data/reference/SOURCES.md): 163 + 414 + 240 + 290 = 1,107.
    assert per_icp == {"Dartford, Gravesham and Swanley": 163, "East Kent": 414, "Medway and Swale": 240,
                       "West Kent": 290}
    assert districts == 13 and outlines == 1107 and members > 0 and synthetic_names == 0
    assert said.startswith("Loaded the reference data in ")
    assert "1,107 small areas in 13 local authorities and 4 ICP areas" in said
    assert "on the loaded reference geography" in said


def test_a_store_with_data_is_left_alone(first_start):
    engine, _ = first_start
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(m.NetworkMembership)).scalar_one()
    assert fill_empty_store(engine) is None
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.NetworkMembership)).scalar_one() == before


def test_without_the_reference_folder_the_geography_is_synthetic(sqlite_engine, tmp_path):
    said = fill_empty_store(sqlite_engine, tmp_path / "missing")
    assert said.startswith(f"No reference data at {tmp_path / 'missing'}")
    with sqlite_engine.connect() as conn:
        assert geography_status(conn)["synthetic"]


def test_the_launcher_fills_an_empty_store_before_serving(tmp_path, monkeypatch, capsys):
    from ui.launch import prepare_store

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'launch.db'}")
    prepare_store()
    out = capsys.readouterr().out
    assert out.startswith("First start: loading Kent and Medway's reference data")
    assert "1,107 small areas" in out
    prepare_store()  # the second start says nothing and changes nothing
    assert capsys.readouterr().out == ""
