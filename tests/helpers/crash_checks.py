"""What must hold after any number of crashes and faults: read straight from the SQLite file and the data folder.

    from helpers.crash_checks import assert_consistent, ledger_rows

Used by tests/e2e/test_crash.py and tests/integration/test_faults.py, with a config file pointed at the test servers.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpers.configfile import write_example_config
from helpers.dovecot_server import DovecotServer, dovecot  # noqa: F401  (a fixture)
from helpers.mailcorpus import Mail
from helpers.smtp_server import Received, SmtpServer

OFFICE = "sjzjjb@126.com"
SMTP_CODE = "smtp-auth-code"   # the 授权码 the test SMTP server expects
SENT = "已发送"                 # 126's sent folder

# (child table, its foreign key, parent table): a row whose parent is missing is an orphan.
LINKS = (("submissions", "message_pk", "messages"), ("findings", "submission_id", "submissions"),
         ("documents", "submission_id", "submissions"), ("outbox", "submission_id", "submissions"))


def query(db: Path, sql: str, *args: object) -> list[tuple]:
    """Rows of one query on a fresh read-only connection."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def ledger_rows(db: Path) -> list[tuple[int, str, str, str | None]]:
    """(id, status, sha256, Message-ID) of every ledger row."""
    return query(db, "SELECT id, status, sha256, message_id FROM messages ORDER BY id")


def assert_database_sound(db: Path) -> None:
    """SQLite's own checks, and no row pointing at a parent that is not there."""
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "PRAGMA foreign_key_check") == []
    for child, key, parent in LINKS:
        orphans = query(db, f"SELECT count(*) FROM {child} WHERE {key} NOT IN (SELECT id FROM {parent})")
        assert orphans == [(0,)], f"{child} rows without their {parent} row"


def assert_raw_files(db: Path, raw_root: Path) -> None:
    """Every ledger row's raw file exists under its hash name and holds exactly those bytes."""
    for pk, _status, digest, _mid in ledger_rows(db):
        path = raw_root / digest[:2] / f"{digest}.eml"
        assert path.is_file(), f"ledger row {pk}: no raw file"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"ledger row {pk}: raw file damaged"


def assert_consistent(db: Path, raw_root: Path, mails: list[Mail]) -> dict[str, int]:
    """Each mail: one ledger row, processed, one submission with the expected verdict, one reply if answered.

    Returns {Message-ID: outbox row id} of the replies.
    """
    assert_database_sound(db)
    assert_raw_files(db, raw_root)
    rows = ledger_rows(db)
    by_mid = Counter(mid for _pk, _st, _d, mid in rows)
    assert len(rows) == len(mails) and all(by_mid[m.message_id] == 1 for m in mails), "one ledger row per message"
    assert {status for _pk, status, _d, _mid in rows} == {"processed"}
    verdicts = dict(query(db, "SELECT m.message_id, s.verdict FROM submissions s JOIN messages m "
                              "ON m.id = s.message_pk"))
    assert query(db, "SELECT count(*) FROM submissions") == [(len(mails),)]
    assert {m.message_id: m.verdict for m in mails} == verdicts
    replies = query(db, "SELECT m.message_id, o.id FROM outbox o JOIN submissions s ON s.id = o.submission_id "
                        "JOIN messages m ON m.id = s.message_pk")
    assert Counter(mid for mid, _ in replies) == Counter(m.message_id for m in mails if m.answered), \
        "exactly one reply queued per answered message"
    return dict(replies)


def write_config(tmp_path: Path, **sections: dict[str, object]) -> Path:
    """config.example.toml pointed at tmp_path, with `sections` overriding keys."""
    return write_example_config(tmp_path, outbox=False, **sections)


class SavingSmtp(SmtpServer):
    """Like 126 with 客户端发信保存到已发送: each accepted message is saved in the sent folder before the 250."""

    def __init__(self, imap: DovecotServer, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.imap = imap
        self.on_data = self._save

    def _save(self, received: Received) -> None:
        self.imap.append(SENT, received.content, datetime.now(UTC), flags=("\\Seen",))


def run_config(tmp_path: Path, imap: DovecotServer, smtp: SmtpServer, sent_folder: str,
               **smtp_keys: object) -> Path:
    """A config for `intake run` against these servers (replies spaced 0.25 s)."""
    return write_config(
        tmp_path,
        mailbox={"host": imap.host, "port": imap.port, "ssl": False, "username": imap.user, "timeout_seconds": 10},
        smtp={"host": "127.0.0.1", "port": smtp.port, "ssl": False, "send_interval_seconds": 0.25,
              "timeout_seconds": 10, "sent_folder": sent_folder, **smtp_keys})


def run_env(imap: DovecotServer) -> dict[str, str]:
    """The environment with both secrets."""
    env = {**os.environ, "INTAKE_IMAP_PASSWORD": imap.password, "INTAKE_SMTP_PASSWORD": SMTP_CODE}
    env.pop("JOURNAL_STREAM", None)
    return env


@pytest.fixture
def imap(dovecot: DovecotServer) -> DovecotServer:  # noqa: F811
    """Dovecot with the sent folder 已发送."""
    dovecot.create_folder(SENT)
    return dovecot


@pytest.fixture
def saving_smtp(imap: DovecotServer) -> Iterator[SavingSmtp]:
    """The SMTP server that saves in 已发送 (AUTH required, MAIL FROM must be the office, as on 126)."""
    server = SavingSmtp(imap, username=OFFICE, password=SMTP_CODE)
    server.start()
    yield server
    server.stop()
