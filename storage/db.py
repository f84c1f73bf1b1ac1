"""Engine and session factory, built on demand from a URL (nothing is created at import time)."""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import suppress
from pathlib import Path

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import StorageError
from storage.schema import Upgrade, upgrade_schema, use_wal


def private_file(path: Path) -> None:
    """Create `path` (or tighten it) as 0600 before SQLite opens it: it holds senders' addresses and names,
    and SQLite gives its -wal and -shm files the database file's permissions."""
    os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o600))  # read-only: an existing file is left as it is
    with suppress(OSError):  # a file someone else owns: SQLite will say what is wrong with it
        os.chmod(path, 0o600)


def database_password(password_env: str) -> str:
    """The database password from the environment variable `[storage] password_env` names."""
    value = os.environ.get(password_env, "")
    if not value:
        raise StorageError(f"the database password is not set: put it in the environment variable {password_env}")
    return value


def make_engine(url: str, *, busy_timeout_seconds: float = 30.0, password_env: str = "") -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout so a reader never blocks the poller.

    Past the busy timeout a write raises "database is locked" (OperationalError): callers stop and leave the
    message for the next run rather than wait forever on a stuck connection. With `password_env` the
    password comes from that environment variable, never from the file the URL was written in.
    """
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        private_file(Path(url.removeprefix("sqlite:///")))
    target = make_url(url)
    if password_env and target.get_backend_name() != "sqlite":  # a file has no password
        target = target.set(password=database_password(password_env))
    if target.get_backend_name() == "sqlite":
        connect_args: dict[str, object] = {"timeout": busy_timeout_seconds}
    else:  # an unreachable server or a row locked by a stuck session fails the run instead of hanging it
        connect_args = {"connect_timeout": max(1, round(busy_timeout_seconds)),
                        "options": f"-c lock_timeout={round(busy_timeout_seconds * 1000)}"}
    # pool_pre_ping: a shared server restarted between two polls of `intake run` costs nothing but a reconnect.
    engine = create_engine(target, connect_args=connect_args, pool_pre_ping=target.get_backend_name() != "sqlite")
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            _switch_to_wal(cur, busy_timeout_seconds)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    return engine


def _switch_to_wal(cur: sqlite3.Cursor, busy_timeout_seconds: float) -> None:
    """Put the database in WAL mode, waiting out other processes that are doing the same.

    SQLite answers the switch with "database is locked" at once, without its busy handler, while another
    connection holds the lock it needs (two hosts starting together on a new file do this); so wait here.
    """
    deadline = time.monotonic() + busy_timeout_seconds
    pause = 0.005
    while True:
        try:
            use_wal(cur)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def create_schema(engine: Engine, *, busy_timeout_seconds: float = 30.0) -> Upgrade:
    """Bring the database to the newest schema with the packaged Alembic migrations (the old name, kept)."""
    return upgrade_schema(engine, busy_timeout_seconds=busy_timeout_seconds)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (the CLI prints them afterwards)."""
    return sessionmaker(engine, expire_on_commit=False)
