"""Staff decisions on submissions and the record of reports made, with the queries over them.

A staff decision never overwrites the machine's verdict: `Submission.verdict` stays what the rules said
(and `intake reprocess` may recompute it), while the latest decision is the *effective* verdict that
listings, the report and the 汇总表 show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, selectinload

from storage.models import Base, Message, Submission, UtcDateTime


class StaffDecision(Base):
    """One decision a person took on a submission; the latest one per submission counts."""

    __tablename__ = "staff_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # accepted | rejected
    machine_verdict: Mapped[str] = mapped_column(String(16))  # what the rules said when the person decided
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(255))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))  # the notice queued with --notify


class ReportRun(Base):
    """When a staff report was made: the start of "since the last report" for the next one."""

    __tablename__ = "report_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    made_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    sent: Mapped[int] = mapped_column(Integer, default=0)  # 1 when it was mailed to the recipients
    html_path: Mapped[str] = mapped_column(Text, default="")
    xlsx_path: Mapped[str] = mapped_column(Text, default="")


def add_decision(session: Session, submission: Submission, *, decision: str, note: str, decided_by: str,
                 decided_at: datetime) -> StaffDecision:
    """Record a decision (the caller commits); the machine verdict of the moment is kept beside it."""
    row = StaffDecision(submission_id=submission.id, decision=decision, machine_verdict=submission.verdict,
                        note=note, decided_by=decided_by, decided_at=decided_at)
    session.add(row)
    session.flush()
    return row


def decisions_for(session: Session, submission_id: int) -> Sequence[StaffDecision]:
    """Every decision on one submission, oldest first."""
    query = select(StaffDecision).where(StaffDecision.submission_id == submission_id).order_by(StaffDecision.id)
    return session.scalars(query).all()


def all_decisions(session: Session) -> Sequence[StaffDecision]:
    """Every decision, oldest first."""
    return session.scalars(select(StaffDecision).order_by(StaffDecision.id)).all()


def latest_decisions(session: Session, submission_ids: Iterable[int] | None = None) -> dict[int, StaffDecision]:
    """The decision that counts for each submission that has one."""
    query = select(StaffDecision).order_by(StaffDecision.id)
    if submission_ids is not None:
        query = query.where(StaffDecision.submission_id.in_(list(submission_ids)))
    return {row.submission_id: row for row in session.scalars(query).all()}  # later ids overwrite earlier


def submission(session: Session, submission_id: int) -> Submission | None:
    """One submission with everything `intake show` prints."""
    query = (select(Submission).where(Submission.id == submission_id)
             .options(selectinload(Submission.findings), selectinload(Submission.replies),
                      selectinload(Submission.documents), selectinload(Submission.message)))
    return session.scalar(query)


def studio_history(session: Session, sub: Submission) -> Sequence[Submission]:
    """Every submission for the same studio (this one included), in receipt order."""
    if not sub.studio_key:
        return [sub]
    query = (select(Submission).join(Message)
             .where(Submission.campaign == sub.campaign, Submission.studio_key == sub.studio_key)
             .order_by(Message.received_at, Message.id).options(selectinload(Submission.message)))
    return session.scalars(query).all()


def last_report(session: Session) -> ReportRun | None:
    """The most recent report made, if any."""
    return session.scalar(select(ReportRun).order_by(ReportRun.made_at.desc(), ReportRun.id.desc()).limit(1))


def record_report(session: Session, *, made_at: datetime, sent: bool, html_path: str, xlsx_path: str) -> ReportRun:
    """Remember that a report was made (the caller commits)."""
    row = ReportRun(made_at=made_at, sent=int(sent), html_path=html_path, xlsx_path=xlsx_path)
    session.add(row)
    session.flush()
    return row
