"""Staff accounts of the web console (storage/accounts.py).

Revision ID: 0006_staff_accounts
Revises: 0005_claims

Column types are spelled out, not imported from the models (they will change after this revision). No
account is created: the console has no default account (`intake staff add` makes the first one).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_staff_accounts"
down_revision = "0005_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create staff_accounts."""
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    """Drop staff_accounts."""
    op.drop_table("staff_accounts")
