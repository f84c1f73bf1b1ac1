"""Staff accounts of the web console (pipeline/web/): a name, a role, an argon2 hash, disabled or not.

Accounts are never deleted: a staff decision names who took it (`StaffDecision.decided_by` is the account's
name), and a name that could be reused by someone else would make that record ambiguous. An account that
must no longer log in is disabled.

Roles are ordered: a viewer reads, a reviewer also decides and retries replies, an admin also manages
accounts. Hashing is not done here (storage holds no policy): pipeline/web/accounts.py hashes and verifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Boolean, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base, UtcDateTime

ROLES = ("viewer", "reviewer", "admin")  # each role may do everything the ones before it may


class StaffAccount(Base):
    """One person who may log in to the console."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))           # one of ROLES
    password_hash: Mapped[str] = mapped_column(Text)        # argon2id, in the PHC string format
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


def account_named(session: Session, name: str) -> StaffAccount | None:
    """The account with exactly this name (names are compared as written: no case folding)."""
    return session.scalar(select(StaffAccount).where(StaffAccount.name == name))


def account(session: Session, account_id: int) -> StaffAccount | None:
    """The account with this id."""
    return session.get(StaffAccount, account_id)


def accounts(session: Session) -> Sequence[StaffAccount]:
    """Every account, oldest first."""
    return session.scalars(select(StaffAccount).order_by(StaffAccount.id)).all()


def active_count(session: Session) -> int:
    """How many accounts can log in (0: the console has nobody yet)."""
    return session.scalar(select(func.count(StaffAccount.id)).where(StaffAccount.disabled.is_(False))) or 0


def add_account(session: Session, *, name: str, role: str, password_hash: str, created_at: datetime) -> StaffAccount:
    """A new account (the caller commits); the name must not be taken."""
    row = StaffAccount(name=name, role=role, password_hash=password_hash, created_at=created_at, disabled=False)
    session.add(row)
    session.flush()
    return row
