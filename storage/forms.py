"""Normalised records read from the application form, the summary table and the narrative.

Field names come from the campaign's form schema (config), so form values are
rows of (field, value, raw) rather than one column per field: a second notice
with other fields needs no schema change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, delete, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base


class FormValue(Base):
    """One field of a submission's application form, normalised, with the text as written."""

    __tablename__ = "form_values"
    __table_args__ = (UniqueConstraint("submission_id", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)    # str, int, float or list; None when blank
    raw: Mapped[str] = mapped_column(Text, default="")
    file: Mapped[str] = mapped_column(Text, default="")


class FormMember(Base):
    """One row of the form's member table (工作室成员情况)."""

    __tablename__ = "form_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text, default="")
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    education: Mapped[str | None] = mapped_column(Text, nullable=True)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    post: Mapped[str | None] = mapped_column(Text, nullable=True)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)   # columns a campaign adds


class SummaryRow(Base):
    """One data row of the summary table (汇总表) a submission carried, columns named by the campaign."""

    __tablename__ = "summary_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    studio_name: Mapped[str] = mapped_column(Text, default="")
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    file: Mapped[str] = mapped_column(Text, default="")


class Narrative(Base):
    """The narrative (事迹材料): its text and both counts."""

    __tablename__ = "narratives"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), unique=True)
    file: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    word_count: Mapped[int | None] = mapped_column(Integer, nullable=True)        # Word's 字数, low reading
    word_count_high: Mapped[int | None] = mapped_column(Integer, nullable=True)
    char_count: Mapped[int | None] = mapped_column(Integer, nullable=True)        # plain characters


_MEMBER_COLUMNS = ("name", "age", "education", "title", "post")


def save_records(session: Session, submission_id: int, *, form_file: str = "",
                 values: Mapping[str, Any] | None = None, raw: Mapping[str, str] | None = None,
                 members: Sequence[Mapping[str, Any]] = (), summary_file: str = "",
                 summary: Sequence[Mapping[str, str]] = (), narrative: Mapping[str, Any] | None = None) -> None:
    """Replace everything parsed for one submission (a reprocess writes the same rows again)."""
    for table in (FormValue, FormMember, SummaryRow, Narrative):
        session.execute(delete(table).where(table.submission_id == submission_id))
    raw = raw or {}
    # Bulk INSERTs (one executemany a table): added as objects, each row was an INSERT … RETURNING of its own
    # (SQLite returns keys in order only row by row), ~30 statements and 10 ms a message; nothing reads the
    # new rows' keys.
    _insert(session, FormValue, [dict(submission_id=submission_id, field=name, value=value, raw=raw.get(name, ""),
                                      file=form_file) for name, value in (values or {}).items()])
    _insert(session, FormMember, [dict(submission_id=submission_id, position=i, name=str(m.get("name") or ""),
                                       age=m.get("age"), education=m.get("education"), title=m.get("title"),
                                       post=m.get("post"),
                                       extra={k: v for k, v in m.items() if k not in _MEMBER_COLUMNS} or None)
                                  for i, m in enumerate(members, 1)])
    _insert(session, SummaryRow, [dict(submission_id=submission_id, position=i, studio_name=row.get("studio_name", ""),
                                       values=dict(row), file=summary_file) for i, row in enumerate(summary, 1)])
    if narrative:
        _insert(session, Narrative, [dict(submission_id=submission_id, **narrative)])


def _insert(session: Session, table: type[Base], rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table), rows)
