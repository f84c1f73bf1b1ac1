"""Staff accounts: create, list, disable, and check a password; one implementation for `intake staff` and the
console's account page.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended profile). A hash
made with older parameters is replaced at the next successful login, so raising the cost later needs no
migration. Checking a name that does not exist still runs one verification against a dummy hash, so the
time a login takes does not tell which names exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pipeline.errors import IntakeError
from pipeline.intake.app import App
from storage import accounts as repo
from storage.accounts import ROLES, StaffAccount

MIN_PASSWORD = 10                               # characters; the console faces the office network
NAME_PATTERN = re.compile(r"[\w.\-@\u4e00-\u9fff]{1,64}")  # a login name, also written into decisions
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the name is unknown (the same time as a wrong password: no name is
    revealed by timing). Made on first use: hashing at import cost every `intake` command 0.1 s."""
    return _hasher.hash("not a password of anyone")


class AccountError(IntakeError):
    """An account cannot be created or changed as asked (the message says why, for the person asking)."""


@dataclass(frozen=True)
class Account:
    """An account as the console and the CLI show it (never its hash)."""

    id: int
    name: str
    role: str
    created_at: str
    disabled: bool

    def may(self, role: str) -> bool:
        """Whether this account holds `role` or one above it."""
        return not self.disabled and ROLES.index(self.role) >= ROLES.index(role)


def _view(row: StaffAccount) -> Account:
    return Account(row.id, row.name, row.role, f"{row.created_at:%Y-%m-%d %H:%M}", row.disabled)


def check_new_password(password: str) -> None:
    """AccountError unless the password is long enough to face a network (length is what counts)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符")


def add_account(app: App, name: str, role: str, password: str) -> Account:
    """A new account; AccountError for a bad name, role or password, or a name already taken."""
    if not NAME_PATTERN.fullmatch(name):
        raise AccountError("用户名只能由字母、数字、汉字和 . - _ @ 组成，最长 64 个字符")
    if role not in ROLES:
        raise AccountError(f"角色必须是 {'、'.join(ROLES)} 之一")
    check_new_password(password)
    with app.sessions() as session:
        if repo.account_named(session, name) is not None:
            raise AccountError(f"用户名 {name} 已存在")
        row = repo.add_account(session, name=name, role=role, password_hash=_hasher.hash(password),
                               created_at=app.clock())
        session.commit()
        return _view(row)


def list_accounts(app: App) -> list[Account]:
    """Every account, oldest first."""
    with app.sessions() as session:
        return [_view(row) for row in repo.accounts(session)]


def active_accounts(app: App) -> int:
    """How many accounts can log in."""
    with app.sessions() as session:
        return repo.active_count(session)


def set_disabled(app: App, name: str, disabled: bool) -> Account:
    """Disable (or enable again) an account; its sessions end at their next request."""
    with app.sessions() as session:
        row = repo.account_named(session, name)
        if row is None:
            raise AccountError(f"没有用户 {name}")
        row.disabled = disabled
        session.commit()
        return _view(row)


def set_password(app: App, name: str, password: str) -> Account:
    """A new password for `name` (forgotten, or shared by mistake): the sessions made with the old one end."""
    check_new_password(password)
    with app.sessions() as session:
        row = repo.account_named(session, name)
        if row is None:
            raise AccountError(f"没有用户 {name}")
        row.password_hash = _hasher.hash(password)
        session.commit()
        return _view(row)


def current_account(app: App, account_id: int, stamp: str) -> Account | None:
    """The account a session names, if it still exists, is enabled and its password is unchanged."""
    with app.sessions() as session:
        row = repo.account(session, account_id)
        if row is None or row.disabled or session_stamp(row.password_hash) != stamp:
            return None
        return _view(row)


def session_stamp(password_hash: str) -> str:
    """A short value kept in the session: a new password ends the sessions made with the old one."""
    return password_hash[-16:]


def authenticate(app: App, name: str, password: str) -> tuple[Account, str] | None:
    """(the account, its session stamp) when the name and password match an enabled account, else None."""
    with app.sessions() as session:
        row = repo.account_named(session, name)
        try:
            _hasher.verify(row.password_hash if row is not None else _dummy_hash(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
            session.commit()
        return _view(row), session_stamp(row.password_hash)
