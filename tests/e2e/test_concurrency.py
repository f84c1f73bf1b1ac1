"""Two hosts, one database: `intake run --once` twice at the same moment judges and answers each message once.

Two hosts sharing a PostgreSQL server cannot share the flock run lock, so each process here has a lock file
of its own (as two hosts would) and only the database keeps them apart: the ledger insert that tolerates
the other's row, the claim of each row before it is judged (pipeline/intake/claims.py), the claim of each reply
before it is sent. The data folder (raw mail) is shared, as it must be between hosts (README). A real
Dovecot holds the mail, a real aiosmtpd (saving to 已发送 like 126) counts the replies; the same race runs
on a SQLite file too.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpers.configfile import write_example_config
from helpers.crash_checks import SENT, SavingSmtp, imap, run_env, saving_smtp  # noqa: F401  (fixtures)
from helpers.dovecot_server import DovecotServer, dovecot  # noqa: F401  (a fixture)
from helpers.mailcorpus import corpus
from pipeline.bootstrap import build_app
from pipeline.config import load_config
from pipeline.intake.app import App
from pipeline.intake.claims import owner
from pipeline.intake.ledger import process_by_id, record_delivery
from storage.db import make_engine
from storage.models import Message, OutboxItem, Submission

pytestmark = pytest.mark.both_databases
MESSAGES = 24  # enough that the two runs overlap on many messages, not only on the first


def host_config(tmp_path: Path, name: str, imap: DovecotServer, smtp: SavingSmtp,  # noqa: F811
                storage: dict[str, str]) -> Path:
    """One host's config: the shared database and data folder, its own run lock."""
    return write_example_config(
        tmp_path, name=f"{name}.toml", storage=storage, outbox=False, run={"lock_file": str(tmp_path / f"{name}.lock")},
        mailbox={"host": imap.host, "port": imap.port, "ssl": False, "username": imap.user, "timeout_seconds": 10,
                 "batch_size": 4},
        smtp={"host": "127.0.0.1", "port": smtp.port, "ssl": False, "send_interval_seconds": 0, "timeout_seconds": 10,
              "sent_folder": SENT})


def processed_count(stdout: str) -> int:
    """The "处理 N 封" of a run's summary line: messages this process judged itself."""
    found = re.search(r"处理 (\d+) 封，处理出错 (\d+) 封", stdout)
    assert found, stdout
    return int(found.group(1)) + int(found.group(2))


def test_two_hosts_polling_together_judge_and_answer_each_message_once(
        tmp_path: Path, imap: DovecotServer, saving_smtp: SavingSmtp,  # noqa: F811
        storage_settings: dict[str, str]) -> None:
    mails = corpus(MESSAGES)
    for mail in mails:
        imap.append("INBOX", mail.raw, mail.received)
    configs = [host_config(tmp_path, name, imap, saving_smtp, storage_settings) for name in ("host-a", "host-b")]
    env = run_env(imap)
    # Started together on an empty database: the schema upgrade races too (one waits for the other's).
    procs = [subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--once", "--config", str(path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for path in configs]
    outputs = [proc.communicate(timeout=240) for proc in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, out + err
    judged = [processed_count(out) for out, _err in outputs]
    assert sum(judged) == MESSAGES, judged  # each message judged by exactly one of the two

    app = build_app(load_config(configs[0]))
    with app.sessions() as session:
        statuses = Counter(session.scalars(select(Message.status)))
        assert statuses == {"processed": MESSAGES}
        assert session.scalar(select(func.count()).select_from(Submission)) == MESSAGES
        replies = Counter(session.scalars(select(OutboxItem.status)))
    answered = [m.message_id for m in mails if m.answered]
    assert replies == {"sent": len(answered)}
    got = Counter(r.message["In-Reply-To"] for r in saving_smtp.received)
    assert got == Counter(answered)  # one reply per answered message, at the server, none for ignored mail


def _claimed(app: App, by: str, at: datetime, which: int = 0) -> int:
    """A ledger row left `processing` by `by` (another host, or a process that died)."""
    message, _new = record_delivery(app, corpus(3)[which].raw, f"file:/x/claimed-{which}.eml")
    with app.sessions() as session:
        row = session.get(Message, message.id)
        row.status, row.claimed_by, row.claimed_at = "processing", by, at
        session.commit()
    return message.id


def test_another_hosts_claim_is_taken_over_only_once_it_is_stale(app, clock) -> None:
    pk = _claimed(app, "elsewhere.example.cn:4242:123456", clock())
    assert process_by_id(app, pk, notify=True).status == "known"  # it may still be working on it
    clock.now += timedelta(seconds=app.config.sandbox.wall_seconds + 30)
    assert process_by_id(app, pk, notify=True).status == "known"  # within the margin
    clock.now += timedelta(seconds=60)
    assert process_by_id(app, pk, notify=True).status == "new"
    with app.sessions() as session:
        assert session.get(Message, pk).status == "processed"


def test_a_claim_of_a_process_gone_from_this_host_is_taken_over_at_once(app, clock) -> None:
    mine = _claimed(app, owner(), clock(), 1)
    assert process_by_id(app, mine, notify=True).status == "known"  # this very process: alive
    finished = subprocess.Popen(["true"])
    finished.wait()  # its pid no longer runs (a killed intake)
    ticks = owner().rsplit(":", 1)[1]
    pk = _claimed(app, f"{socket.gethostname()}:{finished.pid}:{ticks}", clock(), 2)
    assert process_by_id(app, pk, notify=True).status == "new"


def _open_when(url: str, start: float) -> None:
    """A forked child: connect to `url` at `start` (as a freshly started host does) and exit 0 if it could."""
    try:
        while time.time() < start:
            pass
        with make_engine(url).connect() as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
            conn.commit()
        os._exit(0)
    except Exception:  # noqa: BLE001 - any failure is the test's finding, told by the exit status
        os._exit(1)


def test_processes_opening_a_new_sqlite_file_together_all_get_in(tmp_path: Path) -> None:
    # SQLite refuses the switch to WAL with "database is locked" at once, past its busy handler, while another
    # connection holds the lock (the red CI of two hosts starting together); 4 x 30 starts hit it every time.
    failed = 0
    for round_ in range(30):
        url = f"sqlite:///{tmp_path / f'{round_}.db'}"
        start = time.time() + 0.05
        children = []
        for _ in range(4):
            pid = os.fork()
            if pid == 0:
                _open_when(url, start)
            children.append(pid)
        failed += sum(os.waitpid(pid, 0)[1] != 0 for pid in children)
    assert failed == 0
