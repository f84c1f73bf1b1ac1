"""A database other hosts share: the password stays out of the file, and text is stored alike everywhere."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from helpers.configfile import write_example_config
from helpers.submissions import submission
from pipeline.cli.main import main
from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.intake.ledger import fresh, ingest_bytes, record_delivery
from storage.models import Message


def config_file(tmp_path: Path, **storage: str) -> Path:
    return write_example_config(tmp_path, storage=storage, outbox=False)


def test_a_password_written_into_the_url_is_refused(tmp_path: Path) -> None:
    path = config_file(tmp_path, url="postgresql+psycopg://intake:Tr0ub4dor@db.example.cn/intake")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any(p.startswith("storage.url: holds a password") for p in caught.value.problems)
    assert "Tr0ub4dor" not in str(caught.value)  # the problem names the key, never the password


def test_the_password_comes_from_the_variable_password_env_names(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTAKE_TEST_NO_SUCH_PASSWORD", raising=False)
    path = config_file(tmp_path, url="postgresql+psycopg://intake@127.0.0.1:1/intake",
                       password_env="INTAKE_TEST_NO_SUCH_PASSWORD")
    assert load_config(path).storage.password_env == "INTAKE_TEST_NO_SUCH_PASSWORD"
    result = CliRunner().invoke(main, ["db", "current", "--config", str(path)])
    assert result.exit_code == 1
    assert "the database password is not set: put it in the environment variable INTAKE_TEST_NO_SUCH_PASSWORD" \
        in result.output


def _encoded(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


@pytest.mark.both_databases
def test_nul_characters_and_overlong_headers_are_stored_alike_on_every_database(app) -> None:
    """PostgreSQL refuses NUL in text and values longer than a VARCHAR; SQLite took both. Now neither gets them."""
    message_id = "<" + "x" * 1200 + "@zdxzgh.126.com>"
    subject = _encoded("材料\x00报送")
    raw = (f"From: {_encoded('正定县总工会')} <zdxzgh@126.com>\r\nTo: sjzjjb@126.com\r\n"
           f"Subject: {subject}\r\nMessage-ID: {message_id}\r\n"
           "Date: Mon, 26 May 2025 10:00:00 +0800\r\n\r\n请查收。\r\n").encode()
    result = ingest_bytes(app, raw, "file:/x/nul.eml")
    assert result.status == "new"
    with app.sessions() as session:
        row = session.scalar(select(Message))
        assert row.subject == "材料报送"  # control characters are dropped where header values are decoded
        assert row.message_id == message_id[:998]
        assert row.status == "processed"


@pytest.mark.both_databases
def test_a_recorded_delivery_is_new_once_and_claimed_for_its_recorder_on_every_database(app) -> None:
    """insert_if_absent says whether this call inserted the row: on PostgreSQL the rowcount of INSERT … ON
    CONFLICT DO NOTHING through the ORM said no, and a new ledger row was taken for another's claim."""
    raw = submission()
    first, added = record_delivery(app, raw, "file:/x/1.eml")
    again, added_again = record_delivery(app, raw, "file:/x/1.eml")
    assert (added, added_again) == (True, False) and first.id == again.id
    assert fresh(first, added) and not fresh(again, added_again)
