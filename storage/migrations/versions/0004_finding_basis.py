"""Each finding records the clause of the notice its rule implements (issue 15): findings.basis.

Revision ID: 0004_finding_basis
Revises: 0003_staff

Findings stored before this revision get "" (not recorded); `intake reprocess` fills it from the campaign.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_finding_basis"
down_revision = "0003_staff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add findings.basis, "" for the rows already there."""
    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("basis", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    """Drop findings.basis."""
    with op.batch_alter_table("findings") as batch:
        batch.drop_column("basis")
