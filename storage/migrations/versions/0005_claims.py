"""Claims get their own columns (issue 16): messages and outbox get claimed_by and claimed_at.

Revision ID: 0005_claims
Revises: 0004_finding_basis

Earlier versions wrote a claim as text into the row's error column ("claimed by <host:pid:ticks> at <ISO
time>": messages.error while `processing`, outbox.last_error while `sending`). The upgrade moves each such
claim into the new columns and clears the text, so that a row a crashed process left claimed is still taken
over by the same rule; the downgrade writes claims of live rows back as that text.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0005_claims"
down_revision = "0004_finding_basis"
branch_labels = None
depends_on = None

PREFIX = "claimed by "
# table, its text column, the status in which a claim is live
CLAIMED = (("messages", "error", "processing"), ("outbox", "last_error", "sending"))


def _parse(text: str | None) -> tuple[str, datetime] | None:
    """("host:pid:ticks", when) from an old claim text, None for any other text."""
    if not text or not text.startswith(PREFIX):
        return None
    owner, sep, when = text.removeprefix(PREFIX).rpartition(" at ")
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        return None
    if not sep:
        return None
    return owner, moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _table(name: str, text: str) -> sa.TableClause:
    # Typed columns: SQLAlchemy writes and reads the timestamp in each dialect's own format.
    return sa.table(name, sa.column("id", sa.Integer), sa.column("status", sa.String), sa.column(text, sa.Text),
                    sa.column("claimed_by", sa.String), sa.column("claimed_at", sa.DateTime(timezone=True)))


def _utc(moment: datetime, dialect: str) -> datetime:
    """As the models store it: UTC, without an offset in SQLite (which keeps none)."""
    moment = moment.astimezone(timezone.utc)
    return moment.replace(tzinfo=None) if dialect == "sqlite" else moment


def upgrade() -> None:
    """Add the columns, then move each old claim text into them."""
    for table, _text, _live in CLAIMED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("claimed_by", sa.String(255), nullable=True))
            batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    for name, text, _live in CLAIMED:
        table = _table(name, text)
        claims = bind.execute(sa.select(table.c.id, table.c[text]).where(table.c[text].like(PREFIX + "%"))).all()
        for row_id, claim in claims:
            parsed = _parse(claim)
            if parsed is not None:
                owner, moment = parsed
                bind.execute(table.update().where(table.c.id == row_id).values(
                    {"claimed_by": owner, "claimed_at": _utc(moment, bind.dialect.name), text: None}))


def downgrade() -> None:
    """Write live claims back as text, then drop the columns."""
    bind = op.get_bind()
    for name, text, live in CLAIMED:
        table = _table(name, text)
        claims = bind.execute(sa.select(table.c.id, table.c.claimed_by, table.c.claimed_at)
                              .where(table.c.status == live, table.c.claimed_by.is_not(None))).all()
        for row_id, owner, moment in claims:
            when = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)) if moment else None
            claim = f"{PREFIX}{owner} at {when.isoformat()}" if when else None
            bind.execute(table.update().where(table.c.id == row_id).values({text: claim}))
    for table, _text, _live in CLAIMED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("claimed_at")
            batch.drop_column("claimed_by")
