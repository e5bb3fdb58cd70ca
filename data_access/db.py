"""The database engine: DATABASE_URL, or an embedded SQLite file under data/ by default."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "engagement.db"


class StoreError(Exception):
    """A problem with the store that a user can act on, stated in one sentence."""


def database_url() -> str:
    """The configured database URL (DATABASE_URL), or the embedded SQLite default."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://"):]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (see _sqlite_begin), so
    # that schema changes and imports are all-or-nothing.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN")


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """An engine for the URL given (or the configured one), with SQLite set to WAL mode."""
    url = url or database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    return engine


def init_db(engine: Engine) -> None:
    """Create the schema, or upgrade it in place, to the newest revision (Alembic)."""
    from data_access.migrate import upgrade

    upgrade(engine)


def is_initialised(engine: Engine) -> bool:
    """True when the store's tables exist."""
    return inspect(engine).has_table("lsoa")


def reset_id_sequences(conn) -> None:
    """On PostgreSQL, move each id sequence past the ids already used (after rows were written with
    explicit ids, as the demo generator does), so later inserts do not clash. Elsewhere, nothing."""
    if conn.dialect.name != "postgresql":
        return
    from sqlmodel import SQLModel

    for table in SQLModel.metadata.sorted_tables:
        if "id" in table.c and table.c.id.primary_key and table.c.id.autoincrement is not False:
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)")


def refresh_statistics(engine: Engine) -> None:
    """Refresh the query planner's statistics for the store's tables, so it picks the right indexes and join
    orders: ANALYZE on PostgreSQL (only this store's tables, in its schema); ANALYZE then PRAGMA optimize on
    SQLite."""
    from sqlmodel import SQLModel

    import data_access.models  # noqa: F401 - registers the tables

    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA optimize")
            return
        present = set(inspect(conn).get_table_names())
        names = [t.name for t in SQLModel.metadata.sorted_tables if t.name in present]
        if names:
            quote = conn.dialect.identifier_preparer.quote
            conn.exec_driver_sql("ANALYZE " + ", ".join(quote(n) for n in names))


def after_load(engine: Engine) -> None:
    """What every load (import, undo, demo data, reference data, postcode lookup) does once it has committed:
    refresh the planner's statistics. A failure here is logged, not raised: the load itself has succeeded."""
    try:
        refresh_statistics(engine)
    except Exception as exc:  # noqa: BLE001 - the data is loaded; stale statistics only make queries slower
        logging.getLogger(__name__).warning("Planner statistics not refreshed after a load: %s", exc)
