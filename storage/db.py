"""Engine and session factory, built on demand from a URL (nothing is created at import time)."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Base


def private_file(path: Path) -> None:
    """Create `path` (or tighten it) as 0600 before SQLite opens it: it holds senders' addresses and names,
    and SQLite gives its -wal and -shm files the database file's permissions."""
    os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o600))  # read-only: an existing file is left as it is
    with suppress(OSError):  # a file someone else owns: SQLite will say what is wrong with it
        os.chmod(path, 0o600)


def make_engine(url: str, *, busy_timeout_seconds: float = 30.0) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout so a reader never blocks the poller.

    Past the busy timeout a write raises "database is locked" (OperationalError): callers stop and leave the
    message for the next run rather than wait forever on a stuck connection.
    """
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        private_file(Path(url.removeprefix("sqlite:///")))
    engine = create_engine(url, future=True, connect_args={"timeout": busy_timeout_seconds} if url.startswith("sqlite") else {})
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    return engine


def create_schema(engine: Engine) -> None:
    """Create missing tables (migrations arrive with the PostgreSQL work)."""
    import storage.forms  # noqa: F401  - register every table module on Base before creating
    import storage.mailbox_state  # noqa: F401

    Base.metadata.create_all(engine)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (the CLI prints them afterwards)."""
    return sessionmaker(engine, expire_on_commit=False)
