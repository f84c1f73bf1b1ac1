"""Records parsed from the materials: form values, member rows, summary rows, the narrative.

Revision ID: 0002_forms
Revises: 0001_initial

Submissions judged before this revision have no parsed records; `intake reprocess` fills them from the
stored raw messages.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_forms"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def _submission_fk(unique: bool = False) -> sa.Column:
    return sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                     nullable=False, index=not unique, unique=unique)


def upgrade() -> None:
    """Four tables hanging off submissions."""
    op.create_table(
        "form_values",
        sa.Column("id", sa.Integer(), primary_key=True),
        _submission_fk(),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.UniqueConstraint("submission_id", "field"),
    )
    op.create_table(
        "form_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        _submission_fk(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("education", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("post", sa.Text(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
    )
    op.create_table(
        "summary_rows",
        sa.Column("id", sa.Integer(), primary_key=True),
        _submission_fk(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("studio_name", sa.Text(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
    )
    op.create_table(
        "narratives",
        sa.Column("id", sa.Integer(), primary_key=True),
        _submission_fk(unique=True),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("word_count", sa.Integer(), nullable=True),
        sa.Column("word_count_high", sa.Integer(), nullable=True),
        sa.Column("char_count", sa.Integer(), nullable=True),
    )


def downgrade() -> None:
    """Drop the parsed records (the raw messages keep everything needed to parse them again)."""
    for table in ("narratives", "summary_rows", "form_members", "form_values"):
        op.drop_table(table)
