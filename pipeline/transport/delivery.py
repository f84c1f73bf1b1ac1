"""Drain the outbox by SMTP, oldest first: exactly once per reply with a sent folder, else at most once.

The guarantee (README, "Operating it on a server", says the same):

* A reply is sent only after its outbox row is committed (it is queued in the
  verdict's transaction, and this runs after that commit).
* Before the server sees a byte, the row is switched `pending → sending` by a
  conditional UPDATE and committed; after the server's 250 it becomes `sent`,
  committed. Two processes can never both win the claim of one row.
* A row still `sending` when a drain starts was interrupted between the claim
  and the `sent` commit (a crash, a kill, a power cut): the server may or may
  not have accepted it. With `smtp.sent_folder` set (126: 客户端发信保存到已发送
  on, folder 已发送), the reply's Message-ID is searched for there over IMAP
  (UID SEARCH HEADER Message-ID, read-only): found → `sent`; absent → the
  server never accepted it (126 saves before it answers 250) → `pending`, sent
  again in this drain. A connection that dies after the message went out (no
  answer to DATA) leaves the row `sending` for the next drain to settle the
  same way. When the folder is off or cannot be asked (IMAP down, no such
  folder), nothing is guessed: the row becomes `failed` with last_error
  "delivery state unknown (crash during send); check the sent mail before
  retrying", is logged as an error and listed for staff (so is a dead
  connection after DATA). `intake outbox --retry` resends failed rows, only
  when staff ask.

So with a sent folder that records every accepted message, delivery is
exactly-once across crashes (as counted by the server); without it,
at-most-once: a crash can leave one reply unsent-or-unknown, never sent
twice. Definite refusals are handled by code: a 4xx (including
126's `451 MI:SFQ` / `451 DT:SPM`) or a connection lost before the message
went out is retried after retry_base_seconds·2^(attempts−1), up to
max_attempts, then failed; a 5xx fails at once with the server's text;
`554 DT:SPM` (judged spam) and `451 MI:SFQ` (quota) stop this drain, the rest
stays pending. A server that cannot be reached or logged in to at all touches
no row: everything waits for the next run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr

from sqlalchemy.orm import Session

from pipeline.intake.app import App
from pipeline.intake.claims import may_take_over, owner
from pipeline.transport.sentfolder import sent_copies
from pipeline.transport.smtp import (
    JudgedSpam,
    SenderThrottled,
    ServerUnavailable,
    SmtpClient,
    SmtpError,
    TemporaryFailure,
    UnknownOutcome,
)
from storage import repo
from storage.models import OutboxItem, ReplyState

log = logging.getLogger(__name__)
Sleep = Callable[[float], None]
UNKNOWN_STATE = "delivery state unknown (crash during send); check the sent mail before retrying"
NOT_IN_SENT_FOLDER = "interrupted while sending and not in the sent folder (never accepted): sending again"
LEFT_FOR_SENT_FOLDER = "no answer after the message went out; to be checked against the sent folder"
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=timezone.utc)


@dataclass
class DeliveryResult:
    """What one drain did."""

    sent: int = 0
    deferred: int = 0                 # 4xx or an early disconnect: pending again, after a back-off
    failed: int = 0                   # became failed in this drain (5xx, gave up, state unknown)
    unreachable: str | None = None    # the server could not be used at all; no row was touched
    stopped: str | None = None        # 554 DT:SPM or the quota: the rest waits for the next run
    errors: list[str] = field(default_factory=list)


def envelope_sender(raw: bytes) -> str:
    """The address in the reply's From: header: 126 refuses any other envelope sender (553)."""
    return parseaddr(str(BytesHeaderParser(policy=compat32).parsebytes(raw).get("From", "")))[1]


def backoff(base_seconds: float, attempts: int) -> timedelta:
    """Wait before try `attempts + 1`: base, 2·base, 4·base …"""
    return timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0))


def settle_interrupted(app: App) -> int:
    """Settle rows a crash left `sending`; returns how many became failed. Only ever called under the run lock.

    With `smtp.sent_folder` set and readable, each row's Message-ID is looked up there: found means the
    server accepted it (→ sent), absent means it never did (→ pending, sent again in this drain). When the
    folder can't be asked, "unknown" must not be guessed either way: failed, for staff (never sent twice).
    """
    with app.sessions() as session:
        # A row another process is sending right now (another host on a shared database) is not interrupted.
        rows = [r for r in repo.replies_with_status(session, ReplyState.SENDING)
                if may_take_over(app, r.claimed_by, r.claimed_at)]
        if not rows:
            return 0
        found = sent_copies(app, [r.reply_message_id for r in rows])
        failed = 0
        for item in rows:
            failed += _settle(app, item, None if found is None else found.get(item.reply_message_id))
        session.commit()
        return failed


def _settle(app: App, item: OutboxItem, in_sent_folder: bool | None) -> int:
    """Decide one interrupted row; 1 if it became failed."""
    if in_sent_folder:
        item.status, item.sent_at, item.last_error, item.next_attempt_at = ReplyState.SENT, app.clock(), None, None
        log.warning("reply %d to %s: interrupted, but found in the sent folder: sent", item.id, item.to_addr)
        return 0
    if in_sent_folder is False:
        item.status, item.last_error, item.next_attempt_at = ReplyState.PENDING, NOT_IN_SENT_FOLDER, None
        log.warning("reply %d to %s: %s", item.id, item.to_addr, NOT_IN_SENT_FOLDER)
        return 0
    item.status, item.last_error = ReplyState.FAILED, UNKNOWN_STATE
    log.error("reply %d to %s: %s", item.id, item.to_addr, UNKNOWN_STATE)
    return 1


def retry_failed(app: App, ids: Iterable[int] | None = None) -> int:
    """Staff asked to resend: failed rows (all, or these ids) become pending again with a fresh count."""
    with app.sessions() as session:
        rows = repo.replies_with_status(session, ReplyState.FAILED, ids)
        for item in rows:
            item.status, item.attempts, item.next_attempt_at = ReplyState.PENDING, 0, None
        session.commit()
        return len(rows)


def deliver(app: App, *, sleep: Sleep = time.sleep, ignore_backoff: bool = False) -> DeliveryResult:
    """Send every due reply once, spaced by send_interval_seconds; see the module docstring."""
    result = DeliveryResult(failed=settle_interrupted(app))
    with app.sessions() as session:
        items = repo.due_replies(session, FAR_FUTURE if ignore_backoff else app.clock())
        if not items:
            return result  # nothing to send: don't even connect
        try:
            with SmtpClient(app.config.smtp) as client:  # the secret is read only if the server asks for a login
                for i, item in enumerate(items):
                    if i:
                        sleep(app.config.smtp.send_interval_seconds)  # bursts look like spam to 126
                    if not _send_one(app, session, client, item, result):
                        break
        except ServerUnavailable as exc:
            result.unreachable = str(exc)
            result.errors.append(f"SMTP server unavailable: {exc}")
            log.error("SMTP server unavailable, replies stay pending: %s", exc)
    return result


def _send_one(app: App, session: Session, client: SmtpClient, item: OutboxItem, result: DeliveryResult) -> bool:
    """Hand one reply to the server and record the outcome; False when the drain must stop."""
    client.open()  # before the claim: an unreachable server leaves the row untouched
    if not repo.claim_reply(session, item, owner(), app.clock()):
        return True  # another process claimed it
    session.commit()  # `sending` is on disk before the server sees a byte
    try:
        client.send(envelope_sender(item.raw), [item.to_addr], item.raw)
    except UnknownOutcome as exc:
        if not app.config.smtp.sent_folder:
            return _record_failure(app, session, item, exc, result)
        # It may have been accepted: leave it `sending`, as a crash would, so the next drain settles it
        # from the sent folder (the server may still be saving it now). The claim is released: nobody is
        # sending it any more, and the next drain, in this process or another, must not wait it out.
        item.last_error = f"{LEFT_FOR_SENT_FOLDER} ({exc})"
        item.claimed_by = item.claimed_at = None
        session.commit()
        result.deferred += 1
        log.warning("reply %d to %s: %s", item.id, item.to_addr, item.last_error)
        return True
    except SmtpError as exc:
        return _record_failure(app, session, item, exc, result)
    item.status, item.sent_at, item.last_error, item.next_attempt_at = ReplyState.SENT, app.clock(), None, None
    session.commit()
    result.sent += 1
    log.info("reply %d sent to %s", item.id, item.to_addr)
    return True


def _record_failure(app: App, session: Session, item: OutboxItem, exc: SmtpError, result: DeliveryResult) -> bool:
    cfg = app.config.smtp
    if isinstance(exc, TemporaryFailure) and item.attempts < cfg.max_attempts:
        item.status, item.last_error = ReplyState.PENDING, str(exc)
        item.next_attempt_at = app.clock() + backoff(cfg.retry_base_seconds, item.attempts)
        result.deferred += 1
        log.warning("reply %d to %s deferred (attempt %d): %s", item.id, item.to_addr, item.attempts, exc)
    else:
        item.status, item.last_error = ReplyState.FAILED, _failure_text(exc, item.attempts)
        result.failed += 1
        result.errors.append(f"reply {item.id} to {item.to_addr}: {item.last_error}")
        log.error("reply %d to %s failed: %s", item.id, item.to_addr, item.last_error)
    session.commit()
    if isinstance(exc, (JudgedSpam, SenderThrottled)):
        result.stopped = str(exc)
        log.error("ALERT: sending stopped for this run, the server said %s; the other replies stay pending", exc)
        return False
    return True


def _failure_text(exc: SmtpError, attempts: int) -> str:
    if isinstance(exc, UnknownOutcome):
        return f"{UNKNOWN_STATE} ({exc})"
    if isinstance(exc, TemporaryFailure):
        return f"gave up after {attempts} attempts: {exc}"
    return str(exc)
