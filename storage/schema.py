"""The database schema is Alembic's: `upgrade_schema` brings any database to the newest revision.

The migration scripts ship inside the package (storage/migrations/versions), and Alembic is driven from
here with a Config built in code, so an installed `intake` needs no alembic.ini and no source tree.

Three kinds of database meet `upgrade_schema`:
- an empty one: every revision runs, from 0001_initial;
- one made by the first release, whose `create_all` left our tables but no `alembic_version`: it holds
  exactly the 0001_initial schema, so it is stamped 0001_initial, then upgraded;
- one Alembic already manages: only the revisions it lacks run (none: nothing happens).

Several processes may start at once against one database (two hosts on a shared PostgreSQL, or `intake
run` and `intake ingest` on one SQLite file), so the check and the upgrade run in one transaction that
holds a database-wide lock: PostgreSQL's advisory lock, SQLite's write lock (BEGIN IMMEDIATE). The second
process waits, then finds the schema current.
"""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

import storage
from storage.models import Base

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (0.1 s of imports) is imported where it is used: a sandbox child opens the database through this
# module's engine setup but never migrates it.

FIRST_REVISION = "0001_initial"  # the schema of the first release (create_all, no alembic_version)
RELEASED_TABLE = "messages"      # present in every database the first release made
SCRIPT_LOCATION = "storage:migrations"
# Any fixed 64-bit number, the same in every intake process: the key of the PostgreSQL advisory lock.
ADVISORY_LOCK_KEY = 0x696E74616B65  # "intake"


@dataclass(frozen=True)
class Upgrade:
    """The revision a database was at before `upgrade_schema` and the one it is at now."""

    before: str | None
    after: str | None
    stamped: bool = False  # a first-release database was stamped 0001_initial first


def model_metadata() -> MetaData:
    """Base.metadata with every table module of the package imported, so no table is left unregistered.

    Every module, not a list: a table module added later is found without anyone remembering to list it.
    """
    for info in pkgutil.iter_modules(storage.__path__):
        if not info.ispkg:
            importlib.import_module(f"storage.{info.name}")
    return Base.metadata


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config for the packaged migrations; `connection` is what env.py migrates."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.set_main_option("path_separator", "os")  # Alembic ≥ 1.16 warns without it; older ones ignore it
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest revision the installed code knows (read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision recorded in the database; None for an empty or first-release database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_schema(engine: Engine, *, busy_timeout_seconds: float = 30.0) -> Upgrade:
    """Bring the database to the head revision (stamping a first-release database first); see the module doc."""
    before = current_revision(engine)
    if before is not None and before == head_revision():
        return Upgrade(before, before)  # the common case, without taking the lock
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with _locked_transaction(engine, busy_timeout_seconds) as conn:
        before = MigrationContext.configure(conn).get_current_revision()  # again: another process may have won
        cfg = alembic_config(conn)
        stamped = before is None and _made_by_first_release(conn)
        if stamped:
            command.stamp(cfg, FIRST_REVISION)
        command.upgrade(cfg, "head")
        after = MigrationContext.configure(conn).get_current_revision()
    return Upgrade(before, after, stamped)


def _made_by_first_release(conn: Connection) -> bool:
    return inspect(conn).has_table(RELEASED_TABLE)


@contextmanager
def _locked_transaction(engine: Engine, busy_timeout_seconds: float) -> Iterator[Connection]:
    """A transaction holding the database-wide lock that serialises schema upgrades."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with _sqlite_write_transaction(engine, busy_timeout_seconds) as conn:
            yield conn
        return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held to the end of this transaction; PostgreSQL runs the DDL in the same transaction.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        yield conn


# A commit writes every page it changed whole, to the WAL and again at the checkpoint, and judging one message
# adds a few small rows to a dozen tables and their indexes: with SQLite's default 4 KiB pages that was 190 KB
# written per message (0.16 bytes per byte of ordinary mail, benchmarks/run.py), with 1 KiB pages 95 KB.
# A page size is fixed when the file is first written: only a new database gets it.
SQLITE_PAGE_SIZE = 1024
# A checkpoint copies every page changed since the last one into the database once, however often it changed:
# the pages every message touches (the tables' last pages, their indexes) are written once per checkpoint.
# 4 MiB of WAL between checkpoints, as SQLite's default of 1000 pages was with 4 KiB pages.
WAL_CHECKPOINT_PAGES = 4096


def use_wal(dbapi_conn: sqlite3.Connection | sqlite3.Cursor) -> None:
    """WAL mode, and the page size first in case this connection creates the file."""
    dbapi_conn.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    dbapi_conn.execute("PRAGMA journal_mode=WAL")
    dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")


@contextmanager
def _sqlite_write_transaction(engine: Engine, busy_timeout_seconds: float) -> Iterator[Connection]:
    """A connection of its own in BEGIN IMMEDIATE: the write lock before the first read, DDL included.

    Python's sqlite3 would otherwise commit before each DDL statement, so neither the lock nor the
    migration's atomicity would hold. Foreign keys stay off here (the default), as batch table rebuilds need.
    """
    migrator = create_engine(engine.url, poolclass=NullPool, connect_args={"timeout": busy_timeout_seconds})

    @event.listens_for(migrator, "connect")
    def _no_implicit_transactions(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        use_wal(dbapi_conn)  # persistent; set before any transaction

    @event.listens_for(migrator, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with migrator.begin() as conn:
            yield conn
    finally:
        migrator.dispose()
