"""Alembic environment: runs migrations on the engine the caller bound to the config."""

from alembic import context
from sqlmodel import SQLModel

import data_access.models  # noqa: F401  (registers the tables)
from data_access.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine()
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()


run_migrations_online()
