"""`intake run` end to end: a real Dovecot, a real aiosmtpd, the CLI in a subprocess.

The config is config.example.toml with only the servers, the storage paths and
the send interval changed; passwords come from the environment, as in production.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from helpers import REPO
from helpers.dovecot_server import DovecotServer, dovecot  # noqa: F401  (a fixture)
from helpers.run_site import MAILBOX, OFFICE, SMTP_CODE, Site, imap, load, smtp  # noqa: F401  (fixtures)
from helpers.smtp_server import SmtpServer
from pipeline.bootstrap import build_app
from pipeline.cli.main import main
from pipeline.config import load_config
from pipeline.service.runner import RunResult, run_once, summary_line
from pipeline.service.scheduler import LockHeld, build_scheduler, run_lock

SAMPLES = REPO / "sample_mail"
CST = timezone(timedelta(hours=8))


@pytest.fixture
def site(tmp_path: Path, imap: DovecotServer, smtp: SmtpServer, storage_settings: dict[str, str]) -> Site:
    return Site(tmp_path, imap, smtp, storage=storage_settings)


def message_id(name: str) -> str:
    return str(BytesHeaderParser().parsebytes((SAMPLES / name).read_bytes())["Message-ID"])


def assert_one_reply_each(site: Site, rows: list[dict[str, Any]]) -> None:
    """Each answered message: exactly one reply, to its sender, threaded; none for ignored mail."""
    by_reply_to = {r.message["In-Reply-To"]: r for r in site.smtp.received}
    assert len(by_reply_to) == len(site.smtp.received)  # never two replies to one message
    for row in rows:
        if row["verdict"] == "ignored":
            assert row["reply"]["status"] == "none" and row["message_id"] not in by_reply_to
            continue
        got = by_reply_to[row["message_id"]]
        assert got.rcpt_tos == (row["reply"]["to"],) and row["reply"]["status"] == "sent"
        assert got.mail_from == parseaddr(got.message["From"])[1] == OFFICE


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.both_databases
def test_once_judges_everything_answers_once_and_changes_nothing_on_the_server(site: Site, imap) -> None:
    load(imap, [n for n in MAILBOX if n != "22-large-attachment-link.eml"])
    flags = {f: imap.flags(f) for f in ("INBOX", "垃圾邮件")}
    out = site.run_once()
    assert "收取新邮件 7 封，处理 7 封，处理出错 0 封；发出回复 5 封，回复失败 0 封。" in out
    rows = site.submissions()
    by_id = {r["message_id"]: r for r in rows}
    assert len(rows) == len(by_id) == 7
    for name, (_when, _folder, verdict, code) in MAILBOX.items():
        row = by_id.get(message_id(name))
        assert row is not None or name == "22-large-attachment-link.eml"
        assert row is None or (row["verdict"] == verdict and code in {x["code"] for x in row["reasons"]} | {None}), name
    assert_one_reply_each(site, rows)
    assert {f: imap.flags(f) for f in flags} == flags  # no \Seen, nothing moved or deleted

    assert "收取新邮件 0 封，处理 0 封，处理出错 0 封；发出回复 0 封" in site.run_once()
    assert len(site.smtp.received) == 5 and site.submissions() == rows

    load(imap, ["22-large-attachment-link.eml"])  # arrives between runs
    assert "收取新邮件 1 封" in site.run_once() and len(site.smtp.received) == 6
    rows = site.submissions()
    assert len(rows) == 8 and [r["verdict"] for r in rows][-1] == "review"
    assert_one_reply_each(site, rows)


def test_smtp_down_on_the_first_run_and_up_on_the_second(site: Site, imap, smtp: SmtpServer) -> None:
    load(imap, ["01-accepted-zip-gbk.eml", "06-narrative-too-short.eml", "26-unrelated.eml"])
    smtp.stop()
    out = site.run_once(expect=2)
    assert "发出回复 0 封" in out and "发信服务器无法使用" in out
    assert [r["reply"]["status"] for r in site.submissions()] == ["pending", "pending", "none"]
    smtp.start()
    assert "收取新邮件 0 封，处理 0 封，处理出错 0 封；发出回复 2 封" in site.run_once()
    site.run_once()
    assert len(smtp.received) == 2
    assert_one_reply_each(site, site.submissions())


def test_killed_between_the_servers_acceptance_and_our_record_it_is_not_sent_again(site: Site, imap,
                                                                                   smtp: SmtpServer) -> None:
    load(imap, ["06-narrative-too-short.eml", "15-no-attachment.eml"])
    proc = subprocess.Popen(site.command("run", "--once"), env=site.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    smtp.kill_on_data(proc.pid)  # it needs far longer than this to import, poll and judge
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert len(smtp.received) == 1
    out = site.run_once(expect=1)  # the unknown reply is a failure staff must look at
    assert "发出回复 1 封，回复失败 1 封" in out
    rows = site.submissions()
    assert sorted(r["reply"]["status"] for r in rows) == ["failed", "sent"]
    assert len(smtp.received) == 2 and len({r.message["In-Reply-To"] for r in smtp.received}) == 2
    outbox = CliRunner().invoke(main, ["outbox", "--config", str(site.path)])
    assert "delivery state unknown (crash during send); check the sent mail before retrying" in outbox.output
    site.run_once()
    assert len(smtp.received) == 2


def test_judged_as_spam_stops_the_pass_and_the_rest_goes_next_time(site: Site, imap, smtp: SmtpServer) -> None:
    load(imap, ["06-narrative-too-short.eml", "15-no-attachment.eml"])
    smtp.refuse("554 DT:SPM 126 smtp7,C8mowAD3 please see http://mail.163.com/help/help_spam_16.htm")
    out = site.run_once(expect=1)
    assert "发出回复 0 封，回复失败 1 封。发信已暂停：554 DT:SPM" in out
    assert [r["reply"]["status"] for r in site.submissions()] == ["failed", "pending"]
    assert "发出回复 1 封，回复失败 0 封" in site.run_once() and len(smtp.received) == 1


def test_the_daily_cap_holds_back_replies_to_one_address(tmp_path: Path, imap, smtp: SmtpServer) -> None:
    site = Site(tmp_path, imap, smtp, sending={"daily_cap_per_recipient": 2})
    raw = (SAMPLES / "15-no-attachment.eml").read_bytes()
    for i in range(3):  # three distinct messages from one address
        imap.append("INBOX", raw.replace(b"@zhxzgh.126.com>", f".{i}@zhxzgh.126.com>".encode()),
                       datetime(2025, 5, 23, 17, i, tzinfo=CST))
    assert "发出回复 2 封，回复失败 1 封" in site.run_once(expect=1)
    assert [r["reply"]["status"] for r in site.submissions()] == ["sent", "sent", "failed"]
    assert len(smtp.messages_to("zhxzgh@126.com")) == 2


def test_without_the_mailbox_secret_the_run_exits_2(site: Site) -> None:
    site.env.pop("INTAKE_IMAP_PASSWORD")
    out = site.run_once(expect=2)
    assert "邮箱无法使用" in out and "INTAKE_IMAP_PASSWORD" in out


def test_the_scheduler_polls_holds_the_lock_and_stops_cleanly_on_sigterm(tmp_path: Path, imap,
                                                                         smtp: SmtpServer) -> None:
    site = Site(tmp_path, imap, smtp, mailbox={"poll_minutes": 0.01})  # every 0.6 s
    load(imap, ["06-narrative-too-short.eml"])
    log = tmp_path / "stderr.log"
    site.env["JOURNAL_STREAM"] = "8:4242"  # as under systemd: each line starts with its syslog priority
    with log.open("wb") as err:
        proc = subprocess.Popen(site.command("run"), env=site.env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_for(lambda: len(smtp.received) == 1)  # the first pass runs at once
        second = subprocess.run(site.command("run", "--once"), env=site.env, capture_output=True, text=True,
                                check=False)
        assert second.returncode == 3 and "another intake process" in second.stderr
        load(imap, ["15-no-attachment.eml"])
        wait_for(lambda: len(smtp.received) == 2)  # picked up by a later pass
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert ("<6>INFO pipeline.service.scheduler: SIGTERM" in text
            and "<6>INFO pipeline.service.scheduler: stopped" in text)
    assert "Traceback" not in text and imap.password not in text and SMTP_CODE not in text
    with run_lock(site.lock), pytest.raises(LockHeld):  # released: ours now, and only ours
        with run_lock(site.lock):
            pass


def test_with_an_outbox_folder_replies_are_written_not_sent(tmp_path: Path, imap: DovecotServer, smtp: SmtpServer,
                                                             monkeypatch) -> None:
    site = Site(tmp_path, imap, smtp, sending={"outbox_dir": str(tmp_path / "outbox")})
    monkeypatch.setenv("INTAKE_IMAP_PASSWORD", imap.password)
    load(imap, ["06-narrative-too-short.eml", "26-unrelated.eml"])
    smtp.stop()  # never contacted
    result = run_once(build_app(load_config(site.path)))
    assert (result.polled, result.sent, result.exit_status) == (2, 1, 0)
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["00001-rejected.eml"]


def test_the_scheduler_has_a_poll_job_now_and_a_nightly_report(site: Site) -> None:
    jobs = {job.id: job for job in build_scheduler(build_app(load_config(site.path))).get_jobs()}  # not started
    poll, report = jobs["poll"], jobs["report"]
    assert (poll.max_instances, poll.coalesce, poll.misfire_grace_time) == (1, True, 300)
    assert abs((poll.next_run_time - datetime.now(timezone.utc)).total_seconds()) < 5  # the first poll at once
    assert poll.trigger.interval == timedelta(minutes=5)
    nightly = report.trigger.get_next_fire_time(None, datetime.now(timezone.utc))
    assert (nightly.hour, nightly.minute, str(nightly.tzinfo)) == (22, 0, "Asia/Shanghai")
    assert (report.max_instances, report.coalesce) == (1, True)


@pytest.mark.parametrize(("result", "status"), [
    (RunResult(polled=3, processed=3, sent=2), 0),
    (RunResult(failed_messages=1), 1), (RunResult(failed_replies=1), 1), (RunResult(alert="554 DT:SPM"), 1),
    (RunResult(failed_replies=1, smtp_error="refused"), 2), (RunResult(mailbox_error="login failed"), 2),
])
def test_exit_status(result: RunResult, status: int) -> None:
    assert result.exit_status == status and "\n" not in summary_line(result)
