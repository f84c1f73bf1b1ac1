"""INSERT … ON CONFLICT DO NOTHING for the dialects we run on, so a race to record the same thing is no error.

Two intake processes on one database (two hosts, or `run` beside `ingest`) may record the same ledger row,
folder state or alias at the same moment. A plain INSERT makes the loser's transaction fail on the unique
constraint; this one lets the loser carry on and read the winner's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import fit_text


def insert_if_absent(session: Session, model: type[Any], values: dict[str, Any], keys: Sequence[str]) -> bool:
    """Insert one row unless a row with the same unique `keys` exists; True when this call inserted it."""
    dialect = session.get_bind().dialect.name
    values = {key: fit_text(model.__table__.c[key], value) for key, value in values.items()}  # as the ORM does
    if dialect == "postgresql":
        # Whether a row came back says whether this call inserted it: through the ORM, psycopg's rowcount for
        # INSERT … ON CONFLICT DO NOTHING did not (a new ledger row was reported as already there).
        stmt = (postgresql.insert(model).values(**values).on_conflict_do_nothing(index_elements=list(keys))
                .returning(*model.__table__.primary_key.columns))
        return session.execute(stmt).first() is not None
    if dialect == "sqlite":
        stmt = sqlite.insert(model).values(**values).on_conflict_do_nothing(index_elements=list(keys))
        return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]
    session.add(model(**values))  # another database: a plain INSERT, where a lost race is an IntegrityError
    session.flush()
    return True
