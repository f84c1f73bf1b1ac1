"""A fresh PostgreSQL database per test on the server INTAKE_TEST_DB_URL names (CI starts one: .ci/postgres.sh).

INTAKE_TEST_DB_URL is an admin URL, e.g. postgresql+psycopg://intake:secret@127.0.0.1:5432/intake_test: its
role must be allowed to CREATE DATABASE. Each test gets `intake_t_<random>`, dropped afterwards. The config
the test writes carries the URL without the password and `password_env` naming INTAKE_TEST_DB_PASSWORD,
which holds the password: the way a shared server is configured (README).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

ENV = "INTAKE_TEST_DB_URL"
PASSWORD_ENV = "INTAKE_TEST_DB_PASSWORD"


def admin_url() -> URL:
    """The server to create test databases on; the test is skipped when none is configured."""
    value = os.environ.get(ENV, "")
    if not value:
        pytest.skip(f"{ENV} is not set: no PostgreSQL server to test against (.ci/run starts one)")
    return make_url(value)


@contextmanager
def fresh_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A new empty database; yields the [storage] keys for it (url without password, password_env)."""
    admin = admin_url()
    name = f"intake_t_{secrets.token_hex(6)}"
    server = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)  # CREATE DATABASE: no transaction
    with server.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    settings = {"url": admin._replace(database=name, password=None).render_as_string(hide_password=False)}
    if admin.password:
        monkeypatch.setenv(PASSWORD_ENV, str(admin.password))
        settings["password_env"] = PASSWORD_ENV
    try:
        yield settings
    finally:
        with server.connect() as conn:  # FORCE: a subprocess a failed test left behind must not keep it
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()
