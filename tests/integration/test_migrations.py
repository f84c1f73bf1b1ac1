"""Alembic migrations: an empty database, a database of the first release (with its real code), upgrades twice.

Every test runs on a SQLite file and, with INTAKE_TEST_DB_URL set, on a fresh PostgreSQL database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from helpers import REPO
from helpers.configfile import write_example_config
from pipeline.cli.main import main
from storage.db import create_schema, make_engine
from storage.schema import FIRST_REVISION, SQLITE_PAGE_SIZE, head_revision, model_metadata, upgrade_schema

pytestmark = pytest.mark.both_databases
RELEASE = "ed4d698"  # the first release: its create_all made the databases offices have today
RELEASE_TREE = REPO / "tests" / "data" / f"release-{RELEASE}.tar.gz"
SAMPLES = ["01-accepted-zip-gbk.eml", "15-no-attachment.eml", "26-unrelated.eml"]


def engine_for(settings: dict[str, str]) -> Engine:
    return make_engine(settings["url"], password_env=settings.get("password_env", ""))


def schema_differences(engine: Engine) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the models (every table module)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, model_metadata()))


def write_config(tmp_path: Path, template: Path, storage: dict[str, str], name: str = "config.toml") -> Path:
    """`template` with storage, raw mail and outbox in tmp_path."""
    return write_example_config(tmp_path, source=template, name=name, storage=storage)


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_an_empty_database_is_upgraded_to_exactly_the_models(storage_settings: dict[str, str]) -> None:
    engine = engine_for(storage_settings)
    done = upgrade_schema(engine)
    assert (done.before, done.after, done.stamped) == (None, head_revision(), False)
    assert schema_differences(engine) == []


@pytest.fixture
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first release's source tree (the code that made today's databases), kept in the repository as
    `git archive ed4d698 pipeline parsers storage config.example.toml`, so a shallow clone tests it too."""
    root = tmp_path_factory.mktemp("release")
    with tarfile.open(RELEASE_TREE) as tar:
        tar.extractall(root, filter="data")
    return root


def released_storage(settings: dict[str, str]) -> dict[str, str]:
    """[storage] for the release, which knew no password_env: the password goes into the URL (test only)."""
    if "password_env" not in settings:
        return settings
    from sqlalchemy import make_url

    url = make_url(settings["url"]).set(password=os.environ[settings["password_env"]])
    return {"url": url.render_as_string(hide_password=False)}


def run_release(release: Path, *args: str) -> str:
    """The released `intake` in a subprocess that imports only the release's packages."""
    env = {**os.environ, "PYTHONPATH": str(release)}
    proc = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=release, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def essentials(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What must survive the upgrade unchanged (later versions may add keys to the JSON)."""
    return [(r["id"], r["message_id"], r["subject"], r["from"], r["received_at"], r["verdict"],
             sorted(x["code"] for x in r["reasons"]), r["reply"]["status"]) for r in rows]


def test_a_database_of_the_first_release_keeps_its_rows_and_is_upgraded(
        tmp_path: Path, release: Path, storage_settings: dict[str, str]) -> None:
    old_config = write_config(tmp_path, release / "config.example.toml", released_storage(storage_settings), "old.toml")
    run_release(release, "ingest", "--config", str(old_config), *(str(REPO / "sample_mail" / n) for n in SAMPLES))
    before = json.loads(run_release(release, "submissions", "--json", "--config", str(old_config)))
    assert len(before) == len(SAMPLES)
    engine = engine_for(storage_settings)
    assert "alembic_version" not in inspect(engine).get_table_names()  # create_all, as offices have it

    config = write_config(tmp_path, REPO / "config.example.toml", storage_settings)
    assert "首版数据库（先标记为 0001_initial）" in cli("db", "upgrade", "--config", str(config))
    assert cli("db", "current", "--config", str(config)).strip() == f"{head_revision()} (head)"
    assert schema_differences(engine) == []
    after = json.loads(cli("submissions", "--json", "--config", str(config)))
    assert essentials(after) == essentials(before)


def test_upgrade_twice_changes_nothing_the_second_time(tmp_path: Path, storage_settings: dict[str, str]) -> None:
    config = write_config(tmp_path, REPO / "config.example.toml", storage_settings)
    assert cli("db", "current", "--config", str(config)).startswith("none ")
    assert f"空数据库 → {head_revision()}" in cli("db", "upgrade", "--config", str(config))
    engine = engine_for(storage_settings)
    tables = sorted(inspect(engine).get_table_names())
    assert cli("db", "upgrade", "--config", str(config)).strip() == f"数据库结构已是最新：{head_revision()}"
    assert sorted(inspect(engine).get_table_names()) == tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]


def test_the_first_revision_is_the_released_schema(tmp_path: Path, release: Path,
                                                   storage_settings: dict[str, str]) -> None:
    """0001_initial, written by hand, against the release's own create_all: nothing differs."""
    engine = engine_for(storage_settings)
    from alembic import command

    from storage.schema import alembic_config

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), FIRST_REVISION)
        conn.execute(text("DROP TABLE alembic_version"))
    probe = tmp_path / "compare.py"
    probe.write_text(_RELEASE_COMPARE, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(release)}
    url = released_storage(storage_settings)["url"]
    proc = subprocess.run([sys.executable, str(probe), url], cwd=release, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "[]"


# Run with the release on sys.path: its models against the database 0001_initial made.
_RELEASE_COMPARE = """
import sys
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
import storage.forms, storage.mailbox_state
from storage.db import create_schema, make_engine
from storage.models import Base
with make_engine(sys.argv[1]).connect() as conn:
    print(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata))
"""


def test_the_migrations_ship_with_the_package() -> None:
    """The wheel carries env.py, the template and every revision (pyproject package-data)."""
    import tomllib

    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    shipped = {p for pattern in data["storage"] for p in (REPO / "storage").glob(pattern)}
    folder = REPO / "storage" / "migrations"
    assert {folder / "env.py", folder / "script.py.mako", *(folder / "versions").glob("*.py")} <= shipped


def _at_revision(engine: Engine, revision: str) -> None:
    from alembic import command

    from storage.schema import alembic_config

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def test_claims_written_as_text_by_earlier_versions_move_into_their_columns(storage_settings: dict[str, str]) -> None:
    """0005_claims: a row an older version left claimed is still claimed (same owner, same time) afterwards,
    other error texts stay, and the downgrade writes the live claim back as the old text."""
    from alembic import command

    from storage.schema import alembic_config

    engine = engine_for(storage_settings)
    _at_revision(engine, "0004_finding_basis")
    old_claim = "claimed by host-a:4242:99 at 2025-05-29T08:00:00+08:00"
    with engine.begin() as conn:
        for pk, status, error in [(1, "processing", old_claim), (2, "failed", "Traceback: boom")]:
            conn.execute(text("INSERT INTO messages (id, source_key, sha256, size, subject, from_addr, received_at, "
                              "fetched_at, status, attempts, error) VALUES (:id, :key, 'x', 1, '', '', :t, :t, "
                              ":status, 0, :error)"),
                         {"id": pk, "key": f"file:/m{pk}.eml", "t": "2025-05-29 00:00:00", "status": status,
                          "error": error})
    upgrade_schema(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, error, claimed_by FROM messages ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(1, None, "host-a:4242:99"), (2, "Traceback: boom", None)]
    from sqlalchemy.orm import Session

    from storage.models import Message

    with Session(engine) as session:
        claimed = session.get(Message, 1)
        assert claimed is not None and claimed.claimed_at is not None
        assert claimed.claimed_at.isoformat() == "2025-05-29T00:00:00+00:00"
    assert schema_differences(engine) == []
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004_finding_basis")
    with engine.connect() as conn:
        error = conn.execute(text("SELECT error FROM messages WHERE id = 1")).scalar_one()
    assert error == "claimed by host-a:4242:99 at 2025-05-29T00:00:00+00:00"


def test_a_new_sqlite_file_gets_small_pages_and_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:  # as SQLite and earlier versions made it: 4 KiB pages
        conn.execute("CREATE TABLE kept (x)")
    for path in (tmp_path / "new.db", old):
        create_schema(make_engine(f"sqlite:///{path}"))
    pages = {}
    for path in (tmp_path / "new.db", old):
        with sqlite3.connect(path) as conn:
            pages[path.name] = conn.execute("PRAGMA page_size").fetchone()[0]
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert pages == {"new.db": SQLITE_PAGE_SIZE, "old.db": 4096} and SQLITE_PAGE_SIZE == 1024
