"""Queries and updates the pipeline needs, so that only `storage/` speaks SQLAlchemy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, not_, or_, select, update
from sqlalchemy.orm import Session, selectinload

from storage.models import Document, FindingRow, LedgerState, Message, OutboxItem, ReplyState, Submission
from storage.upsert import insert_if_absent


def message_by_source(session: Session, source_key: str) -> Message | None:
    """The ledger row for a delivery we have already looked at."""
    return session.scalar(select(Message).where(Message.source_key == source_key))


def source_recorded(session: Session, prefix: str) -> bool:
    """Whether any ledger row's source key starts with `prefix` (a file path already ingested, any version)."""
    found = select(Message.id).where(Message.source_key.startswith(prefix, autoescape=True)).limit(1)
    return session.scalar(found) is not None


def add_message(session: Session, **values: Any) -> tuple[Message, bool]:
    """Record a delivery in the ledger unless it is there already: (row, True when this call added it).

    Another process may record the same source key at the same moment: the loser gets the winner's row.
    The caller commits before processing it.
    """
    added = insert_if_absent(session, Message, values, ["source_key"])
    message = session.scalar(select(Message).where(Message.source_key == values["source_key"]))
    assert message is not None
    return message, added


def claim_message(session: Session, message_pk: int, owner: str, at: datetime, statuses: Sequence[str],
                  may_take_over: Callable[[str | None, datetime | None], bool]) -> str | None:
    """status → processing, claimed by `owner` at `at`, if the row is in one of `statuses`; the caller commits.

    A row already `processing` is taken over only when `may_take_over(its claimed_by, its claimed_at)` says its
    owner is gone; both UPDATEs are conditional, so of two processes racing for one row exactly one sees
    rowcount 1. Returns the row's source key when this call won the claim, else None.
    """
    values = {"status": LedgerState.PROCESSING, "claimed_by": owner, "claimed_at": at}
    free = [s for s in statuses if s != LedgerState.PROCESSING]  # a live claim is never taken by the first UPDATE
    won = session.execute(update(Message).where(Message.id == message_pk, Message.status.in_(free))
                          .values(**values)
                          .execution_options(synchronize_session=False)).rowcount == 1  # type: ignore[attr-defined]
    if not won:
        row = session.execute(select(Message.status, Message.claimed_by, Message.claimed_at)
                              .where(Message.id == message_pk)).one_or_none()
        if row is None or row.status != LedgerState.PROCESSING or not may_take_over(row.claimed_by, row.claimed_at):
            return None
        same = [_same(Message.claimed_by, row.claimed_by), _same(Message.claimed_at, row.claimed_at)]
        won = session.execute(update(Message)
                              .where(Message.id == message_pk, Message.status == LedgerState.PROCESSING, *same)
                              .values(**values)
                              .execution_options(synchronize_session=False)).rowcount == 1  # type: ignore[attr-defined]
    return session.scalar(select(Message.source_key).where(Message.id == message_pk)) if won else None


def _same(column: Any, value: object) -> Any:
    """`column` holds `value` (NULL compares with IS)."""
    return column.is_(None) if value is None else column == value


def earlier_copy(session: Session, message: Message) -> Message | None:
    """An earlier delivery with the same Message-ID or the same bytes, if any."""
    same = [Message.sha256 == message.sha256]
    if message.message_id:
        same.append(Message.message_id == message.message_id)
    return session.scalar(select(Message).where(Message.id < message.id, or_(*same)).order_by(Message.id).limit(1))


def messages_in_order(session: Session, status: LedgerState | None = None) -> Sequence[Message]:
    """Ledger rows in receipt order (ties by arrival in the ledger), optionally by status."""
    query = select(Message).order_by(Message.received_at, Message.id)
    if status:
        query = query.where(Message.status == status)
    return session.scalars(query).all()


def save_outcome(session: Session, message: Message, values: dict[str, Any],
                 findings: Iterable[dict[str, str]], documents: Iterable[dict[str, Any]]) -> Submission:
    """Create or replace the submission of `message` with a new verdict, findings and documents."""
    sub = message.submission
    if sub is None:
        sub = Submission(message_pk=message.id, **values)
        session.add(sub)
    else:
        for key, value in values.items():
            setattr(sub, key, value)
        sub.findings.clear()
        sub.documents.clear()
    sub.findings.extend(FindingRow(**f) for f in findings)
    sub.documents.extend(Document(**d) for d in documents)
    session.flush()
    return sub


def studio_submissions(session: Session, campaign: str, studio_key: str) -> Sequence[Submission]:
    """The judged, non-ignored submissions of one studio, in receipt order (pipeline/intake/supersession.py)."""
    return session.scalars(
        select(Submission).join(Message).where(Submission.campaign == campaign, Submission.studio_key == studio_key,
                                               Submission.verdict != "ignored")
        .order_by(Message.received_at, Message.id)
    ).all()


def submissions_by_id(session: Session, ids: Sequence[int]) -> Sequence[Submission]:
    return session.scalars(select(Submission).where(Submission.id.in_(ids))
                           .order_by(Submission.id)).all() if ids else []


def add_finding(submission: Submission, values: dict[str, str]) -> None:
    """One more finding for a stored submission (the caller commits)."""
    submission.findings.append(FindingRow(**values))


def set_superseded(session: Session, links: dict[int, int | None]) -> None:
    """Store where each submission points (None: it stands)."""
    for target in set(links.values()):
        ids = [sub for sub, to in links.items() if to == target]
        session.execute(update(Submission).where(Submission.id.in_(ids)).values(superseded_by=target)
                        .execution_options(synchronize_session="fetch"))


def queue_reply(session: Session, submission: Submission, *, kind: str, to_addr: str, subject: str,
                reply_message_id: str, raw: bytes, now: datetime) -> OutboxItem:
    """Put a reply in the outbox inside the caller's transaction (sent only after the commit)."""
    revision = len(submission.replies)
    item = OutboxItem(submission_id=submission.id, kind=kind, revision=revision, to_addr=to_addr, subject=subject,
                      reply_message_id=reply_message_id, raw=raw, status=ReplyState.PENDING, created_at=now)
    session.add(item)
    session.flush()
    return item


# Replies go out in ledger (receipt) order, whatever order the messages were judged in (`intake ingest
# --workers`), then in the order they were queued.
_REPLY_ORDER = (Message.id, OutboxItem.id)


def _replies() -> Any:
    return select(OutboxItem).join(Submission, OutboxItem.submission_id == Submission.id).join(Message)


def pending_replies(session: Session) -> Sequence[OutboxItem]:
    """Replies waiting to be delivered, oldest message first."""
    return session.scalars(_replies().where(OutboxItem.status == ReplyState.PENDING).order_by(*_REPLY_ORDER)).all()


def submissions(session: Session, verdict: str | None = None, unit: str | None = None) -> Sequence[Submission]:
    """Submissions with everything the listings show, in ledger order."""
    query = (select(Submission).join(Message).order_by(Message.id, Submission.id)
             .options(selectinload(Submission.findings), selectinload(Submission.replies),
                      selectinload(Submission.documents), selectinload(Submission.message)))
    if verdict:
        query = query.where(Submission.verdict == verdict)
    if unit:
        query = query.where(Submission.recommending_unit.contains(unit))
    return session.scalars(query).all()


def due_replies(session: Session, now: datetime) -> Sequence[OutboxItem]:
    """Pending replies whose back-off (if any) has run out, oldest first."""
    due = or_(OutboxItem.next_attempt_at.is_(None), OutboxItem.next_attempt_at <= now)
    return session.scalars(_replies().where(OutboxItem.status == ReplyState.PENDING, due).order_by(*_REPLY_ORDER)).all()


def claim_reply(session: Session, item: OutboxItem, owner: str, at: datetime) -> bool:
    """pending → sending (+1 attempt), claimed by `owner` at `at`, unless another process got there first; the
    caller commits. The claim lets another host's drain leave a row this process is still sending alone
    (pipeline/intake/claims.py)."""
    # A conditional UPDATE: of two drains racing for one row, exactly one sees rowcount 1.
    values: dict[str, Any] = {"status": ReplyState.SENDING, "attempts": OutboxItem.attempts + 1,
                              "claimed_by": owner, "claimed_at": at}
    result = session.execute(update(OutboxItem).where(OutboxItem.id == item.id, OutboxItem.status == ReplyState.PENDING)
                             .values(**values)
                             .execution_options(synchronize_session=False))
    session.refresh(item)
    return result.rowcount == 1  # type: ignore[attr-defined]


def replies_with_status(session: Session, status: ReplyState, ids: Iterable[int] | None = None) -> Sequence[OutboxItem]:
    """Outbox rows in `status` (optionally only these ids), oldest first."""
    query = select(OutboxItem).where(OutboxItem.status == status).order_by(OutboxItem.id)
    if ids is not None:
        query = query.where(OutboxItem.id.in_(list(ids)))
    return session.scalars(query).all()


def failed_replies_queued_since(session: Session, since: datetime) -> int:
    """Replies queued at or after `since` that are already failed (the daily cap)."""
    query = select(OutboxItem.id).where(OutboxItem.status == ReplyState.FAILED, OutboxItem.created_at >= since)
    return len(session.scalars(query).all())


def reply_recipients_since(session: Session, since: datetime, held_back_prefix: str) -> list[str]:
    """The addresses of the replies queued since `since`, those a cap held back (failed, last_error starting
    with `held_back_prefix`) left out: what the daily caps count. A flood of held-back rows must not use up
    the caps of everybody else."""
    reason = func.coalesce(OutboxItem.last_error, "")
    held_back = and_(OutboxItem.status == ReplyState.FAILED, reason.startswith(held_back_prefix, autoescape=True))
    query = select(OutboxItem.to_addr).where(OutboxItem.created_at >= since, not_(held_back))
    return list(session.scalars(query).all())


def known_reply_ids(session: Session, message_ids: Sequence[str]) -> set[str]:
    """Which of `message_ids` are Message-IDs of replies we queued (the outbox remembers every one)."""
    if not message_ids:
        return set()
    query = select(OutboxItem.reply_message_id).where(OutboxItem.reply_message_id.in_(list(message_ids)))
    return set(session.scalars(query).all())
