"""Shared fixtures: a fresh store on SQLite and, where reachable, on PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from data_access.db import init_db, make_engine
from data_access.demo import seed_demo

ROOT = Path(__file__).resolve().parent.parent
# The Kent and Medway reference data shipped in data/reference/ (REFERENCE_DIR may point at another copy).
REFERENCE_DIR = Path(os.environ.get("REFERENCE_DIR", ROOT / "data" / "reference"))
REFERENCE_FIXTURES = ROOT / "tests" / "fixtures" / "reference"


def reference_file(name: str) -> Path:
    """A reference file by name: in REFERENCE_DIR, its iod2019/ folder (the earlier edition), or the test fixtures
    (copies of files the product does not ship)."""
    for folder in (REFERENCE_DIR, REFERENCE_DIR / "iod2019", REFERENCE_FIXTURES):
        if (folder / name).exists():
            return folder / name
    return REFERENCE_DIR / name
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES", "") not in ("", "0", "false")


def _postgres_reachable() -> str | None:
    try:
        engine = make_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """An empty, migrated store: SQLite in a temp file, or a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        init_db(eng)
        yield eng
        eng.dispose()
        return
    reason = _postgres_reachable()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " (REQUIRE_POSTGRES is set, so this is a failure, not a skip)")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(PG_ADMIN_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        init_db(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    """An empty, migrated SQLite store (for tests that need only one engine)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    init_db(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def reference_dir() -> Path:
    """The real reference data folder (data/reference/ unless REFERENCE_DIR is set); tests using it skip when it
    is absent."""
    if not REFERENCE_DIR.exists():
        pytest.skip(f"reference data not found at {REFERENCE_DIR}")
    return REFERENCE_DIR


@contextlib.contextmanager
def app_store(folder: Path, fill: Callable) -> Iterator:
    """A SQLite store in folder, filled by fill(engine), with DATABASE_URL pointing at it (for AppTest) while
    in use; DATABASE_URL is put back afterwards."""
    url = f"sqlite:///{folder / 'store.db'}"
    engine = make_engine(url)
    init_db(engine)
    fill(engine)
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        yield engine
    finally:
        engine.dispose()
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old


@pytest.fixture(scope="session")
def demo7(tmp_path_factory):
    """The demo store generated with seed 7, shared by the disclosure audits (read only)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('demo7') / 'store.db'}")
    init_db(engine)
    seed_demo(engine, seed=7)
    yield engine
    engine.dispose()


def seeded_store(folder: Path, seed: int) -> str:
    """The address of a new SQLite store in folder, filled with demo data (demo scale) from this seed."""
    url = f"sqlite:///{folder / 'store.db'}"
    engine = make_engine(url)
    init_db(engine)
    seed_demo(engine, seed=seed, scale="demo")
    engine.dispose()
    return url
