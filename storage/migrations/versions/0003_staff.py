"""Staff decisions on submissions and the record of reports made (storage/staff.py).

Revision ID: 0003_staff
Revises: 0002_forms

Column types are spelled out (storage.models.UtcDateTime is DateTime(timezone=True)), not imported:
the models will change after this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_staff"
down_revision = "0002_forms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create staff_decisions and report_runs (see storage/staff.py)."""
    op.create_table(
        "staff_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("machine_verdict", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(255), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reply_id", sa.Integer(), sa.ForeignKey("outbox.id"), nullable=True),
    )
    op.create_index("ix_staff_decisions_submission_id", "staff_decisions", ["submission_id"])
    op.create_table(
        "report_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("html_path", sa.Text(), nullable=False),
        sa.Column("xlsx_path", sa.Text(), nullable=False),
    )
    op.create_index("ix_report_runs_made_at", "report_runs", ["made_at"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_report_runs_made_at", table_name="report_runs")
    op.drop_table("report_runs")
    op.drop_index("ix_staff_decisions_submission_id", table_name="staff_decisions")
    op.drop_table("staff_decisions")
