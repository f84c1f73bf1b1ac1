"""Alembic environment of studio-intake, run by storage.schema.upgrade_schema (no alembic.ini needed).

The caller hands over an open connection inside its own transaction (config.attributes["connection"]),
so the lock it holds covers the whole upgrade. SQLite alters tables by rebuilding them: batch mode.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from storage.schema import model_metadata

target_metadata = model_metadata()  # for `alembic revision --autogenerate` and the schema test


def _configure(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # the alembic command line with sqlalchemy.url set: open our own engine
        from storage.db import make_engine

        engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as connection:
            _configure(connection)
            context.run_migrations()
        return
    _configure(connection)
    with context.begin_transaction():  # the caller's transaction: nothing is committed here
        context.run_migrations()


def run_offline() -> None:
    """`alembic upgrade --sql`: the SQL for a DBA to review, from the URL alone."""
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
