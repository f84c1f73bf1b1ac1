"""SQLAlchemy 2.x models: the message ledger, submissions, documents, findings and the outbox."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship

# Re-exported (`as`): the pipeline takes its models and their states from here.
from storage.states import LedgerState as LedgerState
from storage.states import ReplyState as ReplyState


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC; SQLite keeps no offset, so we normalise on the way in and out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; receipt times must carry a zone")
        return value.astimezone(timezone.utc).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class Base(DeclarativeBase):
    """Declarative base of every table."""


def fit_text(column: Column[Any], value: object) -> object:
    """A str as every database can store it: no NUL, no lone surrogate, no longer than the column's VARCHAR length.

    PostgreSQL refuses NUL and length (hostile mail carries NULs in names and headers, and any length), where
    SQLite kept them as given; values are fitted on every database so that both hold the same. A lone
    surrogate (8-bit header bytes kept by surrogateescape, or UTF-7) cannot be encoded for any database: one
    that slipped through made every poll fail on the same message.
    """
    if not isinstance(value, str):
        return value
    value = _UNSTORABLE.sub("\ufffd", value)
    length = getattr(column.type, "length", None)
    return value[:length] if length else value


@event.listens_for(Base, "before_insert", propagate=True)
@event.listens_for(Base, "before_update", propagate=True)
def _fit_text_columns(mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    for column in mapper.columns:
        key = mapper.get_property_by_column(column).key
        value = target.__dict__.get(key)
        fitted = fit_text(column, value)
        if fitted is not value:
            setattr(target, key, fitted)


class Message(Base):
    """One delivery we looked at: a file we ingested or an IMAP UID. Never deleted."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_message_id", "message_id"), Index("ix_messages_sha256", "sha256"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # file:<path>#<sha> | imap:<folder>:<uidvalidity>:<uid>
    source_key: Mapped[str] = mapped_column(String(1024), unique=True)
    folder: Mapped[str | None] = mapped_column(String(255))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)  # 32-bit unsigned: past a signed INTEGER
    uid: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str | None] = mapped_column(String(998))
    subject: Mapped[str] = mapped_column(Text, default="")
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default=LedgerState.NEW)  # a LedgerState
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # The process that last claimed the row (host:pid:start ticks) and when; a live claim while `processing`
    # (pipeline/intake/claims.py), afterwards a record of who judged it.
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    submission: Mapped[Submission | None] = relationship(back_populates="message", uselist=False)


class Submission(Base):
    """The verdict on one message, re-computed in place by `intake reprocess`."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_studio", "campaign", "studio_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    campaign: Mapped[str | None] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(16))
    recommending_unit: Mapped[str] = mapped_column(String(255), default="")
    studio_name: Mapped[str] = mapped_column(String(255), default="")
    studio_key: Mapped[str | None] = mapped_column(String(512))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    evaluated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    message: Mapped[Message] = relationship(back_populates="submission")
    findings: Mapped[list[FindingRow]] = relationship(cascade="all, delete-orphan", order_by="FindingRow.id")
    documents: Mapped[list[Document]] = relationship(cascade="all, delete-orphan", order_by="Document.id")
    replies: Mapped[list[OutboxItem]] = relationship(back_populates="submission", order_by="OutboxItem.id")


class FindingRow(Base):
    """One finding of a submission."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    fix: Mapped[str] = mapped_column(Text, default="")
    file: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")  # technical detail for staff only
    # The notice's clause the rule implements ("四.6"), "office" for the office's own rule, "" if not recorded
    basis: Mapped[str] = mapped_column(Text, default="")


class Document(Base):
    """A file found in a submission, with the role it was identified as."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(Text, default="")
    word_count: Mapped[int | None] = mapped_column(Integer)
    word_count_high: Mapped[int | None] = mapped_column(Integer)
    char_count: Mapped[int | None] = mapped_column(Integer)


class OutboxItem(Base):
    """A reply queued in the same transaction as its verdict; sent (or written) after the commit."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("submission_id", "kind", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # accepted | rejected | review
    revision: Mapped[int] = mapped_column(Integer, default=0)
    to_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    reply_message_id: Mapped[str] = mapped_column(String(255), unique=True)
    raw: Mapped[bytes] = mapped_column()
    # pending → sending (committed before the server sees it) → sent | pending (4xx, later) | failed.
    # A row left in `sending` by a crash is never resent automatically (see pipeline/transport/delivery.py).
    status: Mapped[str] = mapped_column(String(16), default=ReplyState.PENDING, index=True)  # a ReplyState
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # As on messages: who last claimed the row to send it, and when (a live claim while `sending`).
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # back-off after a 4xx; None = now

    submission: Mapped[Submission] = relationship(back_populates="replies")
