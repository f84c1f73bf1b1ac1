"""Delivery by SMTP against a real aiosmtpd on loopback: once, from the office address, with back-off and stops."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import subprocess
import sys
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import REPO
from helpers.configfile import write_example_config
from helpers.smtp_server import SmtpServer, smtp_server, toml_set  # noqa: F401  (smtp_server is a fixture)
from pipeline.bootstrap import build_app
from pipeline.cli.main import main
from pipeline.config import load_config
from pipeline.intake.app import App
from pipeline.intake.ledger import ingest_bytes
from pipeline.transport.delivery import UNKNOWN_STATE, backoff, deliver
from pipeline.transport.smtp import JudgedSpam, PermanentFailure, SenderThrottled, TemporaryFailure, classify
from storage import repo

SAMPLES = REPO / "sample_mail"
OFFICE = "sjzjjb@126.com"
ANSWERED = ("01-accepted-zip-gbk.eml", "15-no-attachment.eml", "06-narrative-too-short.eml")
IGNORED = ("23-auto-reply.eml", "26-unrelated.eml")


def write_config(tmp_path: Path, server: SmtpServer, **smtp: object) -> Path:
    """config.example.toml pointed at `server`, storage in `tmp_path`."""
    values = {"host": "127.0.0.1", "port": server.port, "ssl": False, "username": "", "send_interval_seconds": 0,
              "max_attempts": 3, "timeout_seconds": 10, **smtp}
    return write_example_config(tmp_path, outbox=False, smtp=values)


@pytest.fixture
def mta(smtp_server: SmtpServer) -> SmtpServer:  # noqa: F811
    """The relay from tests/helpers/smtp_server.py, under a name that doesn't shadow the import."""
    return smtp_server


@pytest.fixture
def make_app(tmp_path: Path, clock):
    def make(server: SmtpServer, **smtp: object) -> App:
        return build_app(load_config(write_config(tmp_path, server, **smtp)), clock=clock)
    return make


@pytest.fixture
def sapp(make_app, mta) -> App:
    return make_app(mta)


def ingest(app: App, *names: str) -> None:
    for name in names:
        ingest_bytes(app, (SAMPLES / name).read_bytes(), f"test:{name}")


def rows(app: App) -> list:
    with app.sessions() as session:
        return [r for s in repo.submissions(session) for r in s.replies]


def statuses(app: App) -> list[str]:
    return [r.status for r in rows(app)]


def test_each_reply_goes_once_from_the_office_address_after_the_commit(sapp: App, mta: SmtpServer,
                                                                       tmp_path: Path) -> None:
    seen_in_db: list[list[str]] = []

    def status_when_data_arrives(_received: object) -> None:
        with sqlite3.connect(tmp_path / "intake.db") as db:  # another connection: only committed rows
            seen_in_db.append([s for (s,) in db.execute("SELECT status FROM outbox ORDER BY id")])

    mta.on_data = status_when_data_arrives
    ingest(sapp, *ANSWERED, *IGNORED)
    result = deliver(sapp)
    assert (result.sent, result.failed, result.deferred) == (3, 0, 0)
    assert seen_in_db == [["sending", "pending", "pending"], ["sent", "sending", "pending"],
                          ["sent", "sent", "sending"]]
    with sapp.sessions() as session:
        subs = repo.submissions(session)
        assert [s.replies for s in subs if s.verdict == "ignored"] == [[], []]  # nothing for ignored mail
        originals = {s.message.message_id: s.replies[0] for s in subs if s.replies}
    assert len(mta.received) == 3
    for got in mta.received:
        msg = got.message
        assert got.mail_from == parseaddr(msg["From"])[1] == OFFICE  # 126: 553 otherwise
        row = originals[msg["In-Reply-To"]]
        assert got.rcpt_tos == (row.to_addr,) and msg["Message-ID"] == row.reply_message_id
        assert row.status == "sent" and row.sent_at == sapp.clock() and row.attempts == 1
    assert deliver(sapp).sent == 0 and len(mta.received) == 3


def test_login_only_with_a_username_and_the_secret_from_the_environment(make_app, monkeypatch) -> None:
    server = SmtpServer(username=OFFICE, password="auth-code-123")
    server.start()
    try:
        app = make_app(server, username=OFFICE)
        ingest(app, "15-no-attachment.eml")
        monkeypatch.delenv("INTAKE_SMTP_PASSWORD", raising=False)
        missing = deliver(app)
        assert missing.unreachable and "INTAKE_SMTP_PASSWORD is not set" in missing.unreachable
        monkeypatch.setenv("INTAKE_SMTP_PASSWORD", "wrong")
        refused = deliver(app)
        assert refused.unreachable and "535" in refused.unreachable and "wrong" not in refused.unreachable
        assert [(r.status, r.attempts, r.next_attempt_at) for r in rows(app)] == [("pending", 0, None)]
        monkeypatch.setenv("INTAKE_SMTP_PASSWORD", "auth-code-123")
        assert deliver(app).sent == 1 and server.logins == [OFFICE]
    finally:
        server.stop()


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_ssl_on_connect_and_starttls_with_a_verified_certificate(tls: str, make_app, tmp_path: Path,
                                                                monkeypatch) -> None:
    server = SmtpServer(tls=tls, cert_dir=tmp_path)  # type: ignore[arg-type]
    server.start()
    try:
        app = make_app(server, ssl=tls == "ssl", starttls=tls == "starttls")
        ingest(app, "15-no-attachment.eml")
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        untrusted = deliver(app)
        assert untrusted.unreachable and "CERTIFICATE_VERIFY_FAILED" in untrusted.unreachable
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
        assert deliver(app).sent == 1 and len(server.received) == 1
    finally:
        server.stop()


def test_a_4xx_is_retried_with_exponential_back_off_then_fails(sapp: App, mta: SmtpServer, clock) -> None:
    ingest(sapp, "15-no-attachment.eml")
    mta.refuse("451 DT:SPM please try again", times=3)
    start = clock.now
    assert deliver(sapp).deferred == 1
    [row] = rows(sapp)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, start + timedelta(seconds=60))
    assert "451 DT:SPM" in row.last_error
    assert deliver(sapp).deferred == 0  # not due yet: not even tried
    clock.now += timedelta(seconds=60)
    assert deliver(sapp).deferred == 1
    assert rows(sapp)[0].next_attempt_at == clock.now + timedelta(seconds=120)
    clock.now += timedelta(seconds=120)
    assert deliver(sapp).failed == 1
    [row] = rows(sapp)
    assert row.status == "failed" and row.last_error == "gave up after 3 attempts: 451 DT:SPM please try again"
    assert mta.received == []


def test_a_5xx_fails_at_once_with_the_servers_text_and_the_rest_goes_on(sapp: App, mta: SmtpServer) -> None:
    ingest(sapp, "15-no-attachment.eml", "06-narrative-too-short.eml")
    mta.refuse("550 5.1.1 Mailbox not found")
    result = deliver(sapp)
    assert (result.sent, result.failed) == (1, 1)
    assert [(r.status, r.last_error) for r in rows(sapp)] == [("failed", "550 5.1.1 Mailbox not found"), ("sent", None)]


def test_judged_as_spam_stops_sending_and_alerts(sapp: App, mta: SmtpServer, caplog) -> None:
    ingest(sapp, *ANSWERED)
    mta.refuse("554 DT:SPM 126 smtp5,jtKowAD3 , please see http://mail.163.com/help/help_spam_16.htm")
    with caplog.at_level(logging.ERROR, logger="pipeline.transport.delivery"):
        result = deliver(sapp)
    assert result.stopped and "554 DT:SPM" in result.stopped and result.sent == 0
    assert any("ALERT" in r.getMessage() for r in caplog.records)
    assert [(r.status, r.attempts) for r in rows(sapp)] == [("failed", 1), ("pending", 0), ("pending", 0)]
    assert mta.received == []


def test_the_quota_defers_the_reply_and_stops_the_run(sapp: App, mta: SmtpServer) -> None:
    ingest(sapp, "15-no-attachment.eml", "06-narrative-too-short.eml")
    mta.refuse("451 MI:SFQ user over quota, please try later")
    result = deliver(sapp)
    assert result.stopped and (result.deferred, result.sent) == (1, 0)
    assert [(r.status, r.attempts) for r in rows(sapp)] == [("pending", 1), ("pending", 0)]


def test_a_server_that_is_down_touches_no_row(sapp: App, mta: SmtpServer) -> None:
    ingest(sapp, "15-no-attachment.eml", "06-narrative-too-short.eml")
    mta.stop()
    result = deliver(sapp)
    assert result.unreachable and "Connection refused" in result.unreachable
    assert [(r.status, r.attempts, r.next_attempt_at) for r in rows(sapp)] == [("pending", 0, None)] * 2
    mta.start()
    assert deliver(sapp).sent == 2 and deliver(sapp).sent == 0 and len(mta.received) == 2


def test_no_answer_after_the_message_went_out_is_unknown_and_never_resent(sapp: App, mta: SmtpServer) -> None:
    ingest(sapp, "15-no-attachment.eml", "06-narrative-too-short.eml")
    mta.hang_up()
    result = deliver(sapp)
    assert (result.sent, result.failed) == (1, 1)  # the second reply went over a new connection
    first = rows(sapp)[0]
    assert first.status == "failed" and first.last_error.startswith(UNKNOWN_STATE)
    assert deliver(sapp).sent == 0 and len(mta.received) == 2


def test_a_crash_between_the_servers_250_and_our_commit_is_never_resent(sapp: App, mta: SmtpServer,
                                                                       tmp_path: Path) -> None:
    ingest(sapp, "15-no-attachment.eml")
    config = str(tmp_path / "config.toml")
    sender = ("import sys, pathlib; from pipeline.bootstrap import build_app; from pipeline.config import load_config;"
              "from pipeline.transport.delivery import deliver;"
              " deliver(build_app(load_config(pathlib.Path(sys.argv[1]))))")
    proc = subprocess.Popen([sys.executable, "-c", sender, config], cwd=tmp_path)
    mta.kill_on_data(proc.pid)  # the child needs far longer than this to import and connect
    assert proc.wait(timeout=60) == -9
    assert len(mta.received) == 1 and statuses(sapp) == ["sending"]

    result = deliver(sapp)  # the next run
    assert (result.sent, result.failed) == (0, 1) and len(mta.received) == 1
    [row] = rows(sapp)
    assert (row.status, row.last_error) == ("failed", UNKNOWN_STATE)
    listing = CliRunner().invoke(main, ["outbox", "--config", config])
    assert "failed" in listing.output and UNKNOWN_STATE in listing.output

    retried = CliRunner().invoke(main, ["outbox", "--config", config, "--retry", "--id", str(row.id)])
    assert retried.exit_code == 0, retried.output
    assert "已发出 1 封回复" in retried.output and len(mta.received) == 2  # only because staff asked


def test_outbox_retry_sends_now_despite_the_back_off(sapp: App, mta: SmtpServer, tmp_path: Path) -> None:
    ingest(sapp, "15-no-attachment.eml", "06-narrative-too-short.eml")
    mta.refuse("451 try later")
    mta.refuse("550 no such user")
    deliver(sapp)
    assert statuses(sapp) == ["pending", "failed"]
    out = CliRunner().invoke(main, ["outbox", "--config", str(tmp_path / "config.toml"), "--retry"])
    assert out.exit_code == 0, out.output
    assert "重新排队 1 封；已发出 2 封回复" in out.output and statuses(sapp) == ["sent", "sent"]


def test_sends_are_spaced_by_the_interval(sapp: App, mta: SmtpServer) -> None:
    spaced = dataclasses.replace(sapp.config.smtp, send_interval_seconds=2.5)
    sapp.config = dataclasses.replace(sapp.config, smtp=spaced)
    ingest(sapp, *ANSWERED)
    slept: list[float] = []
    assert deliver(sapp, sleep=slept.append).sent == 3 and slept == [2.5, 2.5]


def test_the_daily_cap_holds_back_replies_to_one_address(make_app, mta: SmtpServer) -> None:
    app = make_app(mta, daily_cap_per_recipient=2)
    raw = (SAMPLES / "15-no-attachment.eml").read_bytes()
    for i in range(4):  # four distinct messages from one address: a loop or a forged sender
        ingest_bytes(app, raw.replace(b"@zhxzgh.126.com>", f".{i}@zhxzgh.126.com>".encode()), f"test:{i}")
    assert deliver(app).sent == 2
    assert statuses(app) == ["sent", "sent", "failed", "failed"]
    assert "daily cap of 2" in rows(app)[2].last_error and len(mta.messages_to("zhxzgh@126.com")) == 2


@pytest.mark.parametrize(("code", "text", "kind"), [
    (451, "MI:SFQ quota", SenderThrottled), (451, "DT:SPM later", TemporaryFailure), (421, "bye", TemporaryFailure),
    (554, "DT:SPM spam", JudgedSpam), (554, "other", PermanentFailure), (553, "Mail from must equal", PermanentFailure),
])
def test_replies_are_classified_by_code_and_126s_markers(code: int, text: str, kind: type) -> None:
    assert type(classify(code, text.encode())) is kind


def test_back_off_doubles() -> None:
    assert [backoff(60, n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]



def test_a_relay_without_auth_gets_the_mail_without_login(make_app, mta: SmtpServer, monkeypatch) -> None:
    # config.example.toml names the mailbox as username; pointed at a local relay that offers no AUTH,
    # replies still go (no secret needed), with a warning in the log.
    monkeypatch.delenv("INTAKE_SMTP_PASSWORD", raising=False)
    app = make_app(mta, username=OFFICE)
    ingest(app, "15-no-attachment.eml")
    assert deliver(app).sent == 1 and len(mta.received) == 1 and mta.logins == []
