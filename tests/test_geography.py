"""Geography queries: on the tiny hand-made store (SQLite and PostgreSQL), and on the real IoD2025
reference files, checked against figures computed independently from the files with pandas."""

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import create_engine, delete, insert, text

from data_access import models as m
from data_access.filters import Filters
from data_access.geography import lsoa_areas, lsoa_shapes, unplaced_engagement
from data_access.reach import area_reach, core20_reach, reach_by_decile
from data_access.reference_import import import_reference
from tests.factories import build_tiny_store

Q1 = Filters(None, dt.date(2025, 1, 1), dt.date(2025, 3, 31))


@pytest.fixture
def tiny(engine):
    build_tiny_store(engine)
    return engine


def test_lsoa_areas(tiny):
    with tiny.connect() as conn:
        frame = lsoa_areas(conn).set_index("code")
        east = lsoa_areas(conn, "East Kent")
    assert frame.index.tolist() == ["A1", "A2", "B1", "B2"]
    assert frame["district"].tolist() == ["Thanet", "Canterbury", "Maidstone", "Tunbridge Wells"]
    assert frame["icp"].tolist() == ["East Kent", "East Kent", "West Kent", "West Kent"]
    assert frame["population"].tolist() == [1000, 2000, 1500, 1500]
    assert frame["core20"].tolist() == [True, False, True, False]
    assert frame["has_outline"].all()
    assert east["code"].tolist() == ["A1", "A2"]
    # local_rank 1 and 2 of the 4 Kent and Medway areas: deciles 1 and 3, even with one ICP area chosen.
    assert east["local_decile"].tolist() == [1, 3]
    assert "geometry" not in frame


def test_lsoa_shapes_are_parsed_and_simplified(tiny):
    with tiny.connect() as conn:
        shapes = lsoa_shapes(conn)
    assert sorted(shapes) == ["A1", "A2", "B1", "B2"]
    assert shapes["A1"]["type"] == "Polygon"
    assert shapes["A1"]["coordinates"][0][:2] == [[1.0, 51.0], [1.01, 51.0]]


def _insert_unchecked(engine, table, rows):
    """Insert rows whose small area code is not loaded (as an older store or another tool may hold)."""
    if engine.dialect.name == "sqlite":
        plain = create_engine(engine.url)  # without the store's PRAGMA foreign_keys=ON
        with plain.begin() as conn:
            conn.execute(insert(table), rows)
        plain.dispose()
        return
    with engine.connect() as conn:
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(insert(table), rows)
        conn.execute(text("SET session_replication_role = DEFAULT"))
        conn.commit()


def test_engagement_that_cannot_be_drawn_is_counted(tiny):
    _insert_unchecked(tiny, m.NetworkMembership.__table__, [
        dict(member_ref="z1", network_id=1, joined_on=dt.date(2025, 1, 10), lsoa_code="E01999999", channel="Event"),
        dict(member_ref="z2", network_id=1, joined_on=dt.date(2025, 1, 11), lsoa_code="E01999998", channel="Event"),
    ])
    with tiny.begin() as conn:
        conn.execute(delete(m.LsoaBoundary.__table__).where(m.LsoaBoundary.lsoa_code == "B2"))
    with tiny.connect() as conn:
        u = unplaced_engagement(conn, Q1).set_index("kind")
        reach = area_reach(conn, Q1).set_index("code")
        shapes = lsoa_shapes(conn)
    # Members on 31 March: m1, m3, m5, m6, m7 (no area) and z1, z2 (unknown codes); m5 is in B2 (no outline).
    assert u.loc["members"].tolist() == [7, 1, 0, 2, 1]
    assert u.loc["respondents"].tolist() == [6, 0, 0, 0, 0]
    assert u.loc["panel", "total"] == 3
    # B2 is still an area with its figures, though it cannot be drawn; the unknown codes are in no area.
    assert "B2" in reach.index and not reach.loc["B2", "has_outline"] and "B2" not in shapes
    assert "E01999999" not in reach.index


# --- The real reference data ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A SQLite store with the shipped IoD2025 files imported (once for this module)."""
    from tests.conftest import REFERENCE_DIR
    if not REFERENCE_DIR.exists():
        pytest.skip(f"reference data not found at {REFERENCE_DIR}")
    from data_access.db import init_db, make_engine
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('real') / 'real.db'}")
    init_db(engine)
    import_reference(engine, REFERENCE_DIR)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def imd(real):
    from tests.conftest import REFERENCE_DIR
    frame = pd.read_csv(REFERENCE_DIR / "imd2025_lsoa21_kent_medway.csv")
    census = pd.read_csv(REFERENCE_DIR / "census2021_lsoa21_age_ethnicity_disability_kent_medway.csv")
    lookup = pd.read_csv(REFERENCE_DIR / "lookup_lsoa21_icp_kent_medway.csv")
    frame = frame.merge(census[["lsoa21_code", "age_total"]], on="lsoa21_code", how="left")
    return frame.merge(lookup[["lsoa21_code", "icp"]], on="lsoa21_code", how="left")


def test_real_small_areas_per_district(real, imd):
    with real.connect() as conn:
        areas = lsoa_areas(conn)
        shapes = lsoa_shapes(conn)
    assert len(areas) == len(imd) == 1107
    expected = imd.groupby("lad24_name").size().sort_index()
    got = areas.groupby("district").size().sort_index()
    assert got.to_dict() == expected.to_dict()
    assert set(shapes) == set(areas["code"])  # every real area can be drawn


def test_real_core20_areas_by_district(real, imd):
    core = imd[imd["imd_decile"] <= 2]
    expected = core.groupby("lad24_name").size()
    with real.connect() as conn:
        areas = lsoa_areas(conn)
        table = core20_reach(conn, Q1, "district").set_index("area")
    got = areas[areas["core20"]].groupby("district").size()
    assert got.to_dict() == expected.to_dict()
    assert got.idxmax() == expected.idxmax()  # the district with the most Core20 areas
    pop = imd.groupby("lad24_name")["age_total"].sum()
    core_pop = core.groupby("lad24_name")["age_total"].sum()
    assert table["population"].iloc[:-1].to_dict() == pop.to_dict()
    assert table["core20_population"].iloc[:-1].to_dict() == core_pop.reindex(pop.index, fill_value=0).to_dict()
    assert table.loc["Kent and Medway", "population"] == imd["age_total"].sum()


def test_real_core20_share_by_icp_area(real, imd):
    with real.connect() as conn:
        table = core20_reach(conn, Q1, "icp").set_index("area")
    for icp, part in imd.groupby("icp"):
        share = part.loc[part["imd_decile"] <= 2, "age_total"].sum() / part["age_total"].sum()
        assert table.loc[icp, "lsoas"] == len(part)
        assert table.loc[icp, "core20_share"] == pytest.approx(share)


def test_real_local_deciles_and_domains(real, imd):
    with real.connect() as conn:
        areas = lsoa_areas(conn).set_index("code")
        deciles = reach_by_decile(conn, Q1).set_index("decile")
    # Deciles within Kent and Medway: 1,107 areas in ten near-equal groups, decile 1 the lowest national ranks.
    sizes = areas["local_decile"].value_counts().sort_index()
    assert sizes.index.tolist() == list(range(1, 11)) and sizes.min() >= 110 and sizes.max() <= 111
    most = imd.nsmallest(110, "imd_rank")["lsoa21_code"]
    assert (areas.loc[most, "local_decile"] == 1).all()
    crime = imd.set_index("lsoa21_code")["crime_decile"]
    assert areas["crime_decile"].to_dict() == crime.to_dict()
    expected = imd.groupby("imd_decile")["age_total"].sum().reindex(range(1, 11), fill_value=0)
    assert deciles["population"].tolist() == expected.tolist()
