"""One unattended pass: poll, process, send (the nightly report is pipeline/staff/report.py).

`run_once` never raises for a mailbox or SMTP server that can't be used: it
records the problem in the result, whose `exit_status` is what `intake run
--once` exits with (0 all well, 1 a message or a reply failed, 2 the mailbox
or the SMTP server could not be used at all).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from pipeline.errors import MailboxError, StorageError
from pipeline.intake.app import App
from pipeline.replies.outbox import drain_to_folder
from pipeline.transport.delivery import Sleep, deliver
from pipeline.transport.poller import MailboxLink, poll_once
from storage import repo

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What one pass did, and what went wrong."""

    polled: int = 0
    processed: int = 0
    failed_messages: int = 0
    sent: int = 0
    failed_replies: int = 0
    mailbox_error: str | None = None   # the mailbox could not be used at all
    storage_error: str | None = None   # the database or the raw store failed (locked, disk full): poll stopped
    smtp_error: str | None = None      # the SMTP server (or the outbox folder) could not be used at all
    alert: str | None = None           # sending stopped (554 DT:SPM, quota)
    errors: list[str] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        """0 all well; 1 a message or a reply failed; 2 the mailbox or SMTP server was unusable."""
        if self.mailbox_error or self.smtp_error or self.storage_error:
            return 2
        return 1 if self.failed_messages or self.failed_replies or self.alert else 0


def run_once(app: App, *, sleep: Sleep = time.sleep, link: MailboxLink | None = None) -> RunResult:
    """Poll and process what is new, then deliver the outbox; problems are recorded, not raised.

    `link` keeps the IMAP connection open for the next pass (the scheduler's); without it the pass
    logs out when its poll is done."""
    started = app.clock()
    result = RunResult()
    _poll(app, result, link)
    with app.sessions() as session:  # before delivery touches anything: these were queued over the daily cap
        capped = repo.failed_replies_queued_since(session, started)
    _deliver(app, result, sleep)
    result.failed_replies += capped
    log.log(logging.INFO if result.exit_status == 0 else logging.WARNING, "%s", summary_line(result))
    return result


def _poll(app: App, result: RunResult, link: MailboxLink | None) -> None:
    try:
        if not app.config.mailbox.host:
            raise MailboxError("mailbox.host is not set in the configuration")
        polled = poll_once(app, link=link)
    except MailboxError as exc:
        result.mailbox_error = str(exc)
        result.errors.append(f"mailbox: {exc}")
        log.error("mailbox unavailable: %s", exc)
        return
    except (StorageError, SQLAlchemyError) as exc:
        # Disk full or the database locked: the message being recorded was not, and the folder state was
        # not advanced past it, so the next poll fetches it again; stop here rather than fail every message.
        result.storage_error = _one_line(str(exc))
        result.errors.append(f"storage: {result.storage_error}")
        log.error("storage unavailable, the poll stopped; the rest is fetched on the next run: %s", exc)
        return
    result.polled, result.processed, result.failed_messages = polled.fetched, polled.processed, polled.failed
    result.errors.extend(str(e) for e in polled.errors)


def _deliver(app: App, result: RunResult, sleep: Sleep) -> None:
    """The outbox folder when configured, else SMTP when a host is set, else replies wait."""
    cfg = app.config.smtp
    if cfg.outbox_dir:
        try:
            result.sent = len(drain_to_folder(app, cfg.outbox_dir))
        except OSError as exc:
            result.smtp_error = f"outbox folder {cfg.outbox_dir}: {exc}"
        return
    if not cfg.host:
        log.warning("neither smtp.host nor smtp.outbox_dir is set: replies stay pending in the outbox")
        return
    delivered = deliver(app, sleep=sleep)
    result.sent, result.failed_replies = delivered.sent, delivered.failed
    result.smtp_error, result.alert = delivered.unreachable, delivered.stopped
    result.errors.extend(delivered.errors)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def summary_line(result: RunResult) -> str:
    """The one-line Chinese summary `intake run --once` prints."""
    line = (f"收取新邮件 {result.polled} 封，处理 {result.processed} 封，处理出错 {result.failed_messages} 封；"
            f"发出回复 {result.sent} 封，回复失败 {result.failed_replies} 封。")
    if result.mailbox_error:
        line += f"邮箱无法使用：{_one_line(result.mailbox_error)}。"
    if result.storage_error:
        line += f"数据库或存储不可用（下次运行重试）：{_one_line(result.storage_error)}。"
    if result.smtp_error:
        line += f"发信服务器无法使用：{_one_line(result.smtp_error)}。"
    if result.alert:
        line += f"发信已暂停：{_one_line(result.alert)}。"
    return line
