"""Every load leaves the query planner with statistics that match what was loaded (SQLite and PostgreSQL):
ANALYZE (and SQLite's PRAGMA optimize) runs after each import, undo, demo load, reference import and postcode
lookup, so the planner does not pick plans for empty tables."""

from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from data_access import models as m
from data_access.demo import seed_demo
from data_access.importing.pipeline import commit_import, preview_import, undo_import
from data_access.importing.postcodes import load_postcode_lookup
from data_access.reference_import import import_reference
from tests.factories import build_tiny_store

IMPORTS = Path(__file__).parent / "fixtures" / "imports"
MEMBERS = (
    "Member ID,Network,Joined,Area,Channel,Year of birth,Gender\n"
    "N001,Patient Network,03/01/2025,A1,Event,1950,F\n"
    "N002,Patient Network,10/01/2025,A2,Event,1990,M\n"
    "N003,Patient Network,12/01/2025,B1,Event,1970,F\n"
)


def planner_rows(engine, table: str) -> float | None:
    """How many rows the planner's statistics say the table holds (None when it has no statistics)."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            if not conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
                return None
            stat = conn.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = :t"), {"t": table}).scalars().first()
            return float(stat.split()[0]) if stat else None
        analysed = conn.execute(text("SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() "
                                     "AND tablename = :t"), {"t": table}).scalar_one()
        if not analysed:
            return None
        return conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"),
                            {"t": table}).scalar_one()


def rows(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_import_and_undo_refresh_the_statistics(engine, tmp_path):
    build_tiny_store(engine)  # 7 memberships, written directly: no statistics yet
    assert planner_rows(engine, "networkmembership") is None
    path = tmp_path / "members.csv"
    path.write_text(MEMBERS, encoding="utf-8")
    import_id = commit_import(engine, preview_import(engine, "memberships", path), "tester")
    assert rows(engine, m.NetworkMembership) == 10
    assert planner_rows(engine, "networkmembership") == 10
    undo_import(engine, import_id, "tester")
    assert planner_rows(engine, "networkmembership") == 7


def test_demo_load_refreshes_the_statistics(engine):
    seed_demo(engine, seed=3, scale="demo")
    for model in (m.NetworkMembership, m.PanelMember, m.Lsoa):
        table = model.__tablename__
        assert planner_rows(engine, table) == rows(engine, model), table
    # Larger tables are sampled on PostgreSQL; the estimate is still close.
    assert planner_rows(engine, "surveyresponse") == pytest.approx(rows(engine, m.SurveyResponse), rel=0.05)


def test_postcode_lookup_refreshes_the_statistics(engine):
    build_tiny_store(engine)
    load_postcode_lookup(engine, IMPORTS / "postcodes_nspl_sample.csv")
    assert planner_rows(engine, "postcodearea") == 4  # 5 rows in the file, one outside the loaded areas


def test_reference_import_refreshes_the_statistics(engine, reference_dir):
    import_reference(engine, reference_dir / "imd2025_lsoa21_kent_medway.csv")
    assert rows(engine, m.Lsoa) > 1000
    assert planner_rows(engine, "lsoa") == rows(engine, m.Lsoa)
