"""Per-folder IMAP state: UIDVALIDITY, the highest UID seen, aliases, folders reported missing, failed logins.

The message ledger itself is `storage.models.Message` (one row per delivery we
looked at, keyed `imap:<folder>:<uidvalidity>:<uid>`). These tables hold what
the poller needs beside it:

    imap_folders          (folder, uidvalidity) → the highest UID dealt with
    imap_aliases          (folder, uidvalidity, uid) of a message the ledger already has
                          under an earlier UIDVALIDITY of the same folder (no second verdict)
    imap_missing_folders  configured folders the server lacks, so the warning is logged once
    imap_login_failures   the last failed LOGIN per account, so we never retry it too soon
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base, LedgerState, Message, UtcDateTime
from storage.upsert import insert_if_absent

# UIDVALIDITY and UIDs are unsigned 32-bit numbers: BigInteger keeps them whole on PostgreSQL too.


class ImapFolder(Base):
    """One (folder, UIDVALIDITY) we polled and the highest UID dealt with in it."""

    __tablename__ = "imap_folders"
    __table_args__ = (UniqueConstraint("folder", "uidvalidity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    folder: Mapped[str] = mapped_column(String(255))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    polled_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ImapAlias(Base):
    """A UID under a new UIDVALIDITY that carries a message the ledger already has."""

    __tablename__ = "imap_aliases"
    __table_args__ = (UniqueConstraint("folder", "uidvalidity", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    folder: Mapped[str] = mapped_column(String(255))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ImapMissingFolder(Base):
    """A configured folder spec the server did not have when we last looked."""

    __tablename__ = "imap_missing_folders"

    spec: Mapped[str] = mapped_column(String(255), primary_key=True)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ImapLoginFailure(Base):
    """The last failed LOGIN of an account (user@host:port); removed by the next good one."""

    __tablename__ = "imap_login_failures"

    account: Mapped[str] = mapped_column(String(512), primary_key=True)
    failed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    count: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str] = mapped_column(Text, default="")


def note_folder(session: Session, folder: str, uidvalidity: int, now: datetime) -> int | None:
    """Remember that `folder` now has `uidvalidity`; return the previous UIDVALIDITY if it changed."""
    row = session.scalar(select(ImapFolder).where(ImapFolder.folder == folder, ImapFolder.uidvalidity == uidvalidity))
    if row is not None:
        row.polled_at = now
        return None
    previous = session.scalar(select(ImapFolder.uidvalidity).where(ImapFolder.folder == folder)
                              .order_by(ImapFolder.polled_at.desc(), ImapFolder.id.desc()).limit(1))
    # Another process polling the same mailbox may note it at the same moment: then it reports the change.
    added = insert_if_absent(session, ImapFolder, {"folder": folder, "uidvalidity": uidvalidity, "last_uid": 0,
                                                   "first_seen_at": now, "polled_at": now}, ["folder", "uidvalidity"])
    return previous if added else None


def knows_folder(session: Session, folder: str, uidvalidity: int) -> bool:
    """Whether (folder, uidvalidity) was polled before."""
    return session.scalar(select(ImapFolder.id).where(ImapFolder.folder == folder,
                                                      ImapFolder.uidvalidity == uidvalidity)) is not None


def last_uid(session: Session, folder: str, uidvalidity: int) -> int:
    """The highest UID of (folder, uidvalidity) already dealt with: state, ledger and aliases agree on a floor."""
    state = session.scalar(select(ImapFolder.last_uid).where(ImapFolder.folder == folder,
                                                             ImapFolder.uidvalidity == uidvalidity))
    # The ledger commits per message before the state row moves, so after a crash it may be ahead.
    ledger = session.scalar(select(func.max(Message.uid)).where(Message.folder == folder,
                                                                Message.uidvalidity == uidvalidity))
    aliases = session.scalar(select(func.max(ImapAlias.uid)).where(ImapAlias.folder == folder,
                                                                   ImapAlias.uidvalidity == uidvalidity))
    return max(state or 0, ledger or 0, aliases or 0)


def advance(session: Session, folder: str, uidvalidity: int, uid: int) -> None:
    """Everything up to `uid` in (folder, uidvalidity) is dealt with (recorded, aliased or gone)."""
    row = session.scalar(select(ImapFolder).where(ImapFolder.folder == folder, ImapFolder.uidvalidity == uidvalidity))
    if row is not None and uid > row.last_uid:
        row.last_uid = uid


def has_history(session: Session, folder: str, uidvalidity: int) -> bool:
    """True when the ledger has deliveries from `folder` under another UIDVALIDITY (a re-scan is due)."""
    query = select(Message.id).where(Message.folder == folder, Message.uidvalidity != uidvalidity).limit(1)
    return session.scalar(query) is not None


def earlier_delivery(session: Session, folder: str, uidvalidity: int, *, sha256: str | None = None,
                     message_id: str | None = None, size: int | None = None) -> Message | None:
    """The same message delivered earlier in `folder` under another UIDVALIDITY: same bytes, or same Message-ID and
    size."""
    same = []
    if sha256:
        same.append(Message.sha256 == sha256)
    if message_id and size is not None:
        same.append(and_(Message.message_id == message_id, Message.size == size))
    if not same:
        return None
    query = (select(Message).where(Message.folder == folder, Message.uidvalidity != uidvalidity, or_(*same))
             .order_by(Message.id).limit(1))
    return session.scalar(query)


def add_alias(session: Session, folder: str, uidvalidity: int, uid: int, message_pk: int, now: datetime) -> None:
    """Record (folder, uidvalidity, uid) as a known alias of ledger row `message_pk`."""
    insert_if_absent(session, ImapAlias, {"folder": folder, "uidvalidity": uidvalidity, "uid": uid,
                                          "message_pk": message_pk, "recorded_at": now},
                     ["folder", "uidvalidity", "uid"])


def interrupted(session: Session) -> list[int]:
    """Ledger rows from IMAP recorded but never judged (a crash between the two commits), in receipt order."""
    # PROCESSING: claimed by a process that may have died since (process_by_id's claim decides).
    query = (select(Message.id).where(Message.status.in_([LedgerState.NEW, LedgerState.PROCESSING]),
                                      Message.source_key.startswith("imap:"))
             .order_by(Message.received_at, Message.id))
    return list(session.scalars(query))


def retryable_failures(session: Session, max_attempts: int) -> list[int]:
    """Ledger rows from IMAP whose processing failed fewer than `max_attempts` times, in receipt order."""
    query = (select(Message.id).where(Message.status == LedgerState.FAILED, Message.attempts < max_attempts,
                                      Message.source_key.startswith("imap:"))
             .order_by(Message.received_at, Message.id))
    return list(session.scalars(query))


def newly_missing(session: Session, missing: Sequence[str], now: datetime) -> list[str]:
    """Store the specs missing now; return those not reported before (a folder that came back is forgotten)."""
    session.execute(delete(ImapMissingFolder).where(ImapMissingFolder.spec.not_in(list(missing))))
    # Of two processes noticing the same folder missing, only the one that records it reports it.
    return [spec for spec in dict.fromkeys(missing)
            if insert_if_absent(session, ImapMissingFolder, {"spec": spec, "reported_at": now}, ["spec"])]


def login_failure(session: Session, account: str) -> ImapLoginFailure | None:
    """The last failed LOGIN of `account`, if the last attempt failed."""
    return session.get(ImapLoginFailure, account)


def record_login_failure(session: Session, account: str, now: datetime, error: str) -> None:
    """Remember a failed LOGIN (the time decides when we may try again)."""
    if insert_if_absent(session, ImapLoginFailure, {"account": account, "failed_at": now, "count": 1, "error": error},
                        ["account"]):
        return
    session.execute(update(ImapLoginFailure).where(ImapLoginFailure.account == account)
                    .values(failed_at=now, count=ImapLoginFailure.count + 1, error=error))


def clear_login_failure(session: Session, account: str) -> None:
    """A LOGIN succeeded: forget earlier failures."""
    session.execute(delete(ImapLoginFailure).where(ImapLoginFailure.account == account))
