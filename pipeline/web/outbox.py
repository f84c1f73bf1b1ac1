"""The console's outbox: what is waiting or failed, and a retry with the rules of `intake outbox --retry`.

A retry puts a failed row back to pending with a fresh count (transport.delivery.retry_failed, the CLI's
own function) and then, when no `intake run` holds the run lock, delivers what is due now exactly as the CLI
does (SMTP ignoring back-off, or the outbox folder). When `intake run` holds the lock, the row is only
requeued: the service sends it on its next pass, and two processes never drain at once.

A row whose delivery state is unknown (a crash or a lost connection after the message went out) may already
be in the applicant's mailbox; it is retried only when the person confirms they checked the sent mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from pipeline.errors import IntakeError
from pipeline.intake.app import App
from pipeline.replies.outbox import drain_to_folder
from pipeline.service.scheduler import LockHeld, run_lock
from pipeline.transport.delivery import UNKNOWN_STATE, deliver, retry_failed
from storage.models import OutboxItem, ReplyState

SHOWN = (ReplyState.FAILED, ReplyState.PENDING, ReplyState.SENDING)


class RetryRefused(IntakeError):
    """The row cannot be retried as asked (not failed, or unknown state without confirmation)."""


@dataclass(frozen=True)
class OutboxRow:
    """One reply that is not (known to be) sent."""

    id: int
    submission_id: int
    status: str
    kind: str
    to: str
    subject: str
    error: str
    attempts: int
    created: datetime
    unknown: bool               # delivery state unknown: confirm before retrying


def unknown_state(item: OutboxItem) -> bool:
    """Whether the server may have taken the reply although it is recorded failed."""
    return item.status == ReplyState.FAILED and (item.last_error or "").startswith(UNKNOWN_STATE)


def outbox_rows(app: App) -> list[OutboxRow]:
    """Failed replies first, then those waiting or being sent, oldest first within each."""
    with app.sessions() as session:
        items = session.scalars(select(OutboxItem).where(OutboxItem.status.in_(SHOWN)).order_by(OutboxItem.id)).all()
        rows = [OutboxRow(i.id, i.submission_id, i.status, i.kind, i.to_addr, i.subject, i.last_error or "",
                          i.attempts, i.created_at, unknown_state(i)) for i in items]
    return sorted(rows, key=lambda r: (r.status != ReplyState.FAILED, r.id))


@dataclass(frozen=True)
class RetryOutcome:
    """What one retry did."""

    requeued: int
    delivered: int | None       # None: `intake run` holds the lock and will send it
    failed: int = 0
    unreachable: str | None = None


def retry_reply(app: App, reply_id: int, *, confirmed: bool) -> RetryOutcome:
    """Retry one failed reply (see the module docstring); RetryRefused when it may not be retried."""
    with app.sessions() as session:
        item = session.get(OutboxItem, reply_id)
        if item is None or item.status != ReplyState.FAILED:
            raise RetryRefused("只能重发发送失败的回复。")
        if unknown_state(item) and not confirmed:
            raise RetryRefused("这封回复的投递状态不明，可能已经送达：请先在邮箱“已发送”中核对，再勾选确认后重发。")
    try:
        with run_lock(app.config.run.lock_file):
            again = retry_failed(app, [reply_id])
            cfg = app.config.smtp
            if cfg.outbox_dir or not cfg.host:
                return RetryOutcome(again, len(drain_to_folder(app, cfg.outbox_dir) if cfg.outbox_dir else []))
            done = deliver(app, ignore_backoff=True)
            return RetryOutcome(again, done.sent, done.failed, done.unreachable)
    except LockHeld:
        return RetryOutcome(retry_failed(app, [reply_id]), None)
