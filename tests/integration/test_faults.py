"""Faults of the world around the pipeline: each leaves the work to be retried, and the next run finishes it once.

SMTP down, slow, answering 4xx/5xx; IMAP cut mid-fetch or refusing LOGIN; the
database locked past the busy timeout; the disk full (a real EFBIG from
RLIMIT_FSIZE) while a raw message is stored. Nothing is marked done that
isn't: no ledger row without its raw file, no `sent` without the server's 250.
A reply left unknown is settled from the sent folder 已发送 when configured.
"""

from __future__ import annotations

import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from samplegen import Attachment, eml

from helpers.crash_checks import (  # noqa: F401  (fixtures)
    SENT,
    SavingSmtp,
    assert_consistent,
    assert_raw_files,
    imap,
    query,
    run_config,
    run_env,
    saving_smtp,
    write_config,
)
from helpers.dovecot_server import CuttingProxy, DovecotServer, dovecot  # noqa: F401  (a fixture)
from helpers.mailcorpus import Mail, corpus
from pipeline.bootstrap import build_app
from pipeline.config import load_config
from pipeline.service.runner import RunResult, run_once
from pipeline.transport import poller

UNKNOWN = "delivery state unknown (crash during send); check the sent mail before retrying"


def load(imap: DovecotServer, mails: list[Mail]) -> None:  # noqa: F811
    for mail in mails:
        imap.append("INBOX", mail.raw, mail.received)


def once(config: Path, imap: DovecotServer, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
         reconnects: int = 3) -> RunResult:
    """One `intake run --once` pass in this process (no sleeping between replies or reconnects)."""
    for key, value in run_env(imap).items():
        if key.startswith("INTAKE_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(poller, "RECONNECT_DELAYS", (0.0,) * reconnects)
    return run_once(build_app(load_config(config)), sleep=lambda _s: None)


def site(tmp_path: Path, imap: DovecotServer, smtp: SavingSmtp, count: int, sent_folder: str = SENT,  # noqa: F811
         **smtp_keys: object) -> tuple[list[Mail], Path]:
    """`count` corpus messages in INBOX and a config pointed at both servers."""
    mails = corpus(count)
    load(imap, mails)
    return mails, run_config(tmp_path, imap, smtp, sent_folder, **smtp_keys)


def killed_before_250(config: Path, imap: DovecotServer, smtp: SavingSmtp) -> None:  # noqa: F811
    """`intake run --once` SIGKILLed by the server after it stored (and saved) the first reply, before its 250."""
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--once", "--config", str(config)],
                            env=run_env(imap), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    smtp.kill_on_data(proc.pid)
    assert proc.wait(timeout=120) == -signal.SIGKILL


def outbox(tmp_path: Path) -> list[tuple[str, str | None]]:
    return query(tmp_path / "intake.db", "SELECT status, last_error FROM outbox ORDER BY id")


def answered(mails: list[Mail]) -> list[Mail]:
    return [m for m in mails if m.answered]


def assert_sent_once(smtp: SavingSmtp, mails: list[Mail]) -> None:
    """Counted at the server: each answered message got exactly one reply."""
    got = sorted(r.message["In-Reply-To"] for r in smtp.received)
    assert got == sorted(m.message_id for m in answered(mails))


# --- SMTP ----------------------------------------------------------------------------------------------


def test_smtp_down_then_up(tmp_path: Path, imap, saving_smtp, monkeypatch) -> None:  # noqa: F811
    mails, config = site(tmp_path, imap, saving_smtp, 6, SENT)
    saving_smtp.stop()
    first = once(config, imap, monkeypatch)
    assert first.smtp_error and first.exit_status == 2 and first.processed == 6
    assert {s for s, _ in outbox(tmp_path)} == {"pending"}  # a server never reached touches no row
    saving_smtp.start()
    assert once(config, imap, monkeypatch).exit_status == 0
    assert_sent_once(saving_smtp, mails)
    assert_consistent(tmp_path / "intake.db", tmp_path / "data" / "raw", mails)


def test_smtp_slower_than_the_timeout_is_settled_from_the_sent_folder(tmp_path: Path, imap, saving_smtp,  # noqa: F811
                                                                      monkeypatch) -> None:
    # One accepted, one rejected, two ignored: two replies.
    mails, config = site(tmp_path, imap, saving_smtp, 4, SENT, timeout_seconds=1)
    save = saving_smtp.on_data
    saving_smtp.on_data = lambda received: (save(received), time.sleep(1.5))  # stored, then silence past the timeout
    first = once(config, imap, monkeypatch)
    assert first.sent == 0 and [s for s, _ in outbox(tmp_path)] == ["sending", "sending"]  # never `sent` without 250
    saving_smtp.on_data = save
    assert once(config, imap, monkeypatch).exit_status == 0  # both are in 已发送: sent, not sent again
    assert_sent_once(saving_smtp, mails)
    assert [s for s, _ in outbox(tmp_path)] == ["sent", "sent"]


def test_smtp_slow_without_a_sent_folder_is_never_sent_twice(tmp_path: Path, imap, saving_smtp,  # noqa: F811
                                                             monkeypatch) -> None:
    mails, config = site(tmp_path, imap, saving_smtp, 1, "", timeout_seconds=1)
    save = saving_smtp.on_data
    saving_smtp.on_data = lambda received: (save(received), time.sleep(1.5))
    assert once(config, imap, monkeypatch).exit_status == 1
    saving_smtp.on_data = save
    once(config, imap, monkeypatch)
    assert len(saving_smtp.received) == 1 and outbox(tmp_path)[0][0] == "failed" and UNKNOWN in outbox(tmp_path)[0][1]


def test_smtp_4xx_is_retried_and_5xx_waits_for_staff(tmp_path: Path, imap, saving_smtp,  # noqa: F811
                                                     monkeypatch) -> None:
    mails, config = site(tmp_path, imap, saving_smtp, 4, SENT, retry_base_seconds=0)
    saving_smtp.refuse("451 DT:SPM please try again")
    saving_smtp.refuse("550 mailbox unavailable")
    result = once(config, imap, monkeypatch)
    assert result.sent == 0 and saving_smtp.received == []
    assert [s for s, _ in outbox(tmp_path)] == ["pending", "failed"]  # 4xx: later; 5xx: staff decide
    assert once(config, imap, monkeypatch).sent == 1
    retry = subprocess.run([sys.executable, "-m", "pipeline", "outbox", "--retry", "--config", str(config)],
                           env=run_env(imap), capture_output=True, text=True, timeout=120, check=False)
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert_sent_once(saving_smtp, mails)


def test_a_reply_interrupted_before_the_server_accepted_it_is_sent_again(tmp_path: Path, imap,  # noqa: F811
                                                                          saving_smtp,  # noqa: F811
                                                                          monkeypatch) -> None:
    mails, config = site(tmp_path, imap, saving_smtp, 1, SENT)
    saving_smtp.stop()
    once(config, imap, monkeypatch)
    with sqlite3.connect(tmp_path / "intake.db") as conn:  # as a kill right after the claim's commit leaves it
        conn.execute("UPDATE outbox SET status = 'sending', attempts = 1")
    saving_smtp.start()
    assert once(config, imap, monkeypatch).sent == 1
    assert_sent_once(saving_smtp, mails)


def test_an_unreadable_sent_folder_keeps_the_reply_unknown(tmp_path: Path, imap, saving_smtp,  # noqa: F811
                                                           monkeypatch) -> None:
    mails, config = site(tmp_path, imap, saving_smtp, 1, "Sent Messages")  # the server has no such folder
    killed_before_250(config, imap, saving_smtp)
    assert once(config, imap, monkeypatch).exit_status == 1
    assert outbox(tmp_path) == [("failed", UNKNOWN)] and len(saving_smtp.received) == 1


def test_killed_between_the_servers_250_and_our_record_is_found_in_the_sent_folder(tmp_path: Path, imap,  # noqa: F811
                                                                                   saving_smtp,  # noqa: F811
                                                                                   monkeypatch) -> None:
    mails, config = site(tmp_path, imap, saving_smtp, 4, SENT)
    killed_before_250(config, imap, saving_smtp)
    result = once(config, imap, monkeypatch)
    assert (result.exit_status, result.sent, result.failed_replies) == (0, 1, 0)
    assert_sent_once(saving_smtp, mails)
    assert [s for s, _ in outbox(tmp_path)] == ["sent", "sent"]


# --- IMAP ----------------------------------------------------------------------------------------------


def test_imap_cut_mid_fetch_on_every_connection_then_recovers(tmp_path: Path, imap, saving_smtp,  # noqa: F811
                                                              monkeypatch) -> None:
    mails, config = site(tmp_path, imap, saving_smtp, 12)
    with CuttingProxy(imap.port, cut_after=3000, cuts=2, after_fetches=1) as proxy:
        text = config.read_text(encoding="utf-8").replace(f"port = {imap.port}", f"port = {proxy.port}")
        config.write_text(text.replace("batch_size = 50", "batch_size = 4"), encoding="utf-8")
        first = once(config, imap, monkeypatch, reconnects=1)  # both connections of this poll cut mid-fetch
        assert first.mailbox_error and "gave up after 2 connections" in first.mailbox_error
        assert proxy.cut_done == 2
        assert_raw_files(tmp_path / "intake.db", tmp_path / "data" / "raw")  # what came through is complete
        assert once(config, imap, monkeypatch).exit_status == 0  # the next poll: a clean connection
    assert_consistent(tmp_path / "intake.db", tmp_path / "data" / "raw", mails)
    assert_sent_once(saving_smtp, mails)


def test_imap_refusing_login_waits_then_recovers(tmp_path: Path, imap, saving_smtp, monkeypatch) -> None:  # noqa: F811
    mails, config = site(tmp_path, imap, saving_smtp, 3, SENT)
    config.write_text(config.read_text(encoding="utf-8").replace("login_retry_minutes = 5", "login_retry_minutes = 0"),
                      encoding="utf-8")
    monkeypatch.setattr(imap, "password", "wrong-code")
    refused = once(config, imap, monkeypatch)
    assert refused.mailbox_error and "LOGIN" in refused.mailbox_error and refused.processed == 0
    assert query(tmp_path / "intake.db", "SELECT count(*) FROM messages") == [(0,)]
    monkeypatch.undo()
    assert once(config, imap, monkeypatch).exit_status == 0
    assert_consistent(tmp_path / "intake.db", tmp_path / "data" / "raw", mails)


# --- the database and the disk -------------------------------------------------------------------------


def write_mails(folder: Path, mails: list[Mail]) -> Path:
    folder.mkdir()
    for mail in mails:
        (folder / mail.name).write_bytes(mail.raw)
    return folder


def ingest(config: Path, folder: Path, **popen: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(folder), "--config", str(config)],
                          capture_output=True, text=True, timeout=120,
                          check=False, **popen)  # type: ignore[call-overload]


def test_database_locked_past_the_busy_timeout(tmp_path: Path) -> None:
    mails = corpus(6)
    config = write_config(tmp_path, storage={"busy_timeout_seconds": 1},
                          smtp={"outbox_dir": str(tmp_path / "outbox")})
    folder = write_mails(tmp_path / "mail", mails)
    build_app(load_config(config))  # the database exists, in WAL mode
    holder = sqlite3.connect(tmp_path / "intake.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holding the write lock for longer than 1 s
    try:
        locked = ingest(config, folder)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert locked.returncode == 2 and "database is locked" in locked.stderr, locked.stdout + locked.stderr
    assert query(tmp_path / "intake.db", "SELECT count(*) FROM messages") == [(0,)]
    done = ingest(config, folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_consistent(tmp_path / "intake.db", tmp_path / "data" / "raw", mails)


def big_mail(i: int) -> Mail:
    """An unrelated mail of ~3 MB (random bytes, base64): bigger than the file size limit below."""
    import random
    from datetime import timedelta

    from helpers.mailcorpus import START

    received = START + timedelta(minutes=7 * i + 1)
    mid = f"<big.{i}@example.com>"
    data = random.Random(i).randbytes(2_200_000)
    raw = eml(subject="会议资料", from_name="某公司", from_addr="ad@example.com", date=received, received=received,
              message_id=mid, body_text="资料见附件", attachments=[Attachment("资料.bin", data)])
    return Mail(f"{i:03d}-big.eml", raw, "ignored", received, False, mid)


def full_disk() -> None:
    """In the child before exec: files may not grow past 2 MB (EFBIG, with SIGXFSZ ignored as a full disk)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 * 2**20, 2 * 2**20))


def test_disk_full_while_storing_a_raw_message(tmp_path: Path) -> None:
    mails = corpus(6)
    mails.insert(3, big_mail(2))  # received between the 3rd and the 4th
    config = write_config(tmp_path, smtp={"outbox_dir": str(tmp_path / "outbox")})
    folder = write_mails(tmp_path / "mail", mails)
    full = ingest(config, folder, preexec_fn=full_disk)
    assert full.returncode == 2 and "File too large" in full.stderr, full.stdout + full.stderr
    db, raw_root = tmp_path / "intake.db", tmp_path / "data" / "raw"
    assert query(db, "SELECT count(*) FROM messages") == [(3,)]  # those before it, complete; it, not at all
    assert_raw_files(db, raw_root)
    assert not list(raw_root.glob("*/*.part"))  # the failed write cleaned up after itself
    done = ingest(config, folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_consistent(db, raw_root, mails)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(answered(mails))


def test_disk_full_during_a_poll_leaves_the_message_on_the_server_to_fetch_again(tmp_path: Path, imap,  # noqa: F811
                                                                                  saving_smtp) -> None:  # noqa: F811
    mails = corpus(6)
    mails.insert(3, big_mail(2))
    load(imap, mails)
    config = run_config(tmp_path, imap, saving_smtp, SENT)
    command = [sys.executable, "-m", "pipeline", "run", "--once", "--config", str(config)]
    full = subprocess.run(command, env=run_env(imap), capture_output=True, text=True, timeout=120, check=False,
                          preexec_fn=full_disk)
    assert full.returncode == 2 and "数据库或存储不可用" in full.stdout, full.stdout + full.stderr
    assert query(tmp_path / "intake.db", "SELECT count(*) FROM messages") == [(3,)]
    done = subprocess.run(command, env=run_env(imap), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_consistent(tmp_path / "intake.db", tmp_path / "data" / "raw", mails)
    assert_sent_once(saving_smtp, mails)
