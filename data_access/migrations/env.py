"""Alembic environment: runs migrations on the engine the caller bound to the config."""

from alembic import context
from sqlmodel import SQLModel

import data_access.models  # noqa: F401  (registers the tables)
from data_access.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def _pragma(connection, statement: str) -> None:
    """Run a PRAGMA outside any transaction (inside one, SQLite ignores foreign_keys)."""
    cursor = connection.connection.dbapi_connection.cursor()
    cursor.execute(statement)
    cursor.close()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # SQLite alters a table by copying it; with foreign keys enforced, dropping the old copy of a
            # table that other rows point at would fail. Checks are off for the migration only.
            _pragma(connection, "PRAGMA foreign_keys=OFF")
        with connection.begin():
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=sqlite)
            context.run_migrations()
        if sqlite:
            _pragma(connection, "PRAGMA foreign_keys=ON")


run_migrations_online()
