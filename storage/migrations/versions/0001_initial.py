"""The first released schema (git ed4d698): message ledger, submissions, findings, documents, outbox, IMAP state.

Revision ID: 0001_initial
Revises:

Written by hand to match what that release's `create_all` made, constraint for constraint (unnamed
unique constraints included, so PostgreSQL gives them the same default names): a database made by the
release is stamped with this revision and must not differ from one this revision creates.
Column types are spelled out here rather than imported from the models, which will change after it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # storage.models.UtcDateTime at the time
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Every table of the first release, parents first."""
    _imap_state_without_messages()
    _messages()
    _imap_aliases()
    _submissions()
    _documents_and_findings()
    _outbox()


def _imap_state_without_messages() -> None:
    op.create_table(
        "imap_folders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("folder", sa.String(255), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        _when("first_seen_at"),
        _when("polled_at"),
        sa.UniqueConstraint("folder", "uidvalidity"),
    )
    op.create_table(
        "imap_login_failures",
        sa.Column("account", sa.String(512), primary_key=True),
        _when("failed_at"),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
    )
    op.create_table(
        "imap_missing_folders",
        sa.Column("spec", sa.String(255), primary_key=True),
        _when("reported_at"),
    )


def _messages() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_key", sa.String(1024), nullable=False),
        sa.Column("folder", sa.String(255), nullable=True),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("uid", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("from_addr", sa.String(320), nullable=False),
        _when("received_at"),
        _when("fetched_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint("source_key"),
    )
    op.create_index("ix_messages_message_id", "messages", ["message_id"])
    op.create_index("ix_messages_sha256", "messages", ["sha256"])


def _imap_aliases() -> None:
    op.create_table(
        "imap_aliases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("folder", sa.String(255), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_pk", sa.Integer(), sa.ForeignKey("messages.id"), nullable=False),
        _when("recorded_at"),
        sa.UniqueConstraint("folder", "uidvalidity", "uid"),
    )
    op.create_index("ix_imap_aliases_message_pk", "imap_aliases", ["message_pk"])


def _submissions() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_pk", sa.Integer(), sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("campaign", sa.String(64), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("recommending_unit", sa.String(255), nullable=False),
        sa.Column("studio_name", sa.String(255), nullable=False),
        sa.Column("studio_key", sa.String(512), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("superseded_by", sa.Integer(), sa.ForeignKey("submissions.id"), nullable=True),
        _when("evaluated_at"),
        sa.UniqueConstraint("message_pk"),
    )
    op.create_index("ix_submissions_studio", "submissions", ["campaign", "studio_key"])


def _child_of_submission(name: str, *columns: sa.Column | sa.UniqueConstraint) -> None:
    """A table of rows belonging to one submission: id, submission_id (indexed), then `columns`."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submissions.id"), nullable=False),
        *columns,
    )
    op.create_index(f"ix_{name}_submission_id", name, ["submission_id"])


def _documents_and_findings() -> None:
    _child_of_submission(
        "documents",
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("word_count", sa.Integer(), nullable=True),
        sa.Column("word_count_high", sa.Integer(), nullable=True),
        sa.Column("char_count", sa.Integer(), nullable=True),
    )
    _child_of_submission(
        "findings",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=False) for name in ("message", "fix", "file", "note")),
    )


def _outbox() -> None:
    _child_of_submission(
        "outbox",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("to_addr", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("reply_message_id", sa.String(255), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _when("created_at"),
        _when("sent_at", nullable=True),
        _when("next_attempt_at", nullable=True),
        sa.UniqueConstraint("submission_id", "kind", "revision"),
        sa.UniqueConstraint("reply_message_id"),
    )
    op.create_index("ix_outbox_status", "outbox", ["status"])


def downgrade() -> None:
    """Drop everything 0001 made, children first."""
    for table in ("outbox", "findings", "documents", "submissions", "imap_aliases", "messages",
                  "imap_missing_folders", "imap_login_failures", "imap_folders"):
        op.drop_table(table)
