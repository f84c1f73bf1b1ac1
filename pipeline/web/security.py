"""What every request of the console passes through: the session's account, roles, CSRF, response headers.

* Every page but the login page (and its stylesheet) needs a logged-in, enabled account; the account is read
  from the database on each request, so disabling it or changing its password ends its sessions at once.
* Every POST carries the session's CSRF token in the form field `csrf_token`: none → 400, a wrong one → 403.
  The session cookie is SameSite=Strict as well; the token is what protects a browser that ignores that.
* Every response says: only our own scripts, styles and images (no inline script, so a subject that slipped
  past escaping still could not run), no framing, no sniffing, nothing cached (applicants' data on shared
  office PCs).
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from pipeline.web.accounts import Account, current_account
from pipeline.web.context import intake_app

SECRET_ENV = "INTAKE_WEB_SECRET"
SECRET_FILE = "web-secret"           # in data_dir, mode 0600, made on first start
CSRF_FIELD = "csrf_token"
PUBLIC_ENDPOINTS = {"auth.login", "static"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
F = TypeVar("F", bound=Callable[..., Any])


def secret_key(data_dir: Path) -> str:
    """The key that signs session cookies: $INTAKE_WEB_SECRET, else a random one kept in data_dir (0600).

    Kept so that a restart does not log everybody out; never printed or logged."""
    given = os.environ.get(SECRET_ENV, "")
    if given:
        return given
    path = data_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip()


def csrf_token() -> str:
    """The session's CSRF token (made on first use); templates put it into every form."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def _check_csrf() -> None:
    sent = request.form.get(CSRF_FIELD)
    if not sent:
        abort(400, description="表单缺少安全令牌，请刷新页面后重试。")
    if not hmac.compare_digest(sent, str(session.get("csrf", ""))):
        abort(403, description="安全令牌无效或已过期，请刷新页面后重试。")


def log_in(account: Account, stamp: str) -> None:
    """A fresh session for `account` (nothing of the anonymous one is kept, the CSRF token neither)."""
    session.clear()
    session.permanent = True
    session["account"], session["stamp"] = account.id, stamp
    csrf_token()


def log_out() -> None:
    session.clear()


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path of this site only (never another host: an open redirect)."""
    if not target:
        return url_for("today.today")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("today.today")
    return target


def _load_account() -> Response | None:
    g.account = None
    account_id, stamp = session.get("account"), session.get("stamp")
    if isinstance(account_id, int) and isinstance(stamp, str):
        g.account = current_account(intake_app(), account_id, stamp)
        if g.account is None:
            session.clear()
    if request.method == "POST":
        _check_csrf()
    if g.account is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if request.endpoint is None:
            abort(404)  # an unknown path tells an anonymous visitor nothing more than a known one
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return None


def requires(role: str) -> Callable[[F], F]:
    """A view only accounts holding `role` (or a higher one) may use: 403 for the others."""

    def wrap(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if g.account is None or not g.account.may(role):
                abort(403, description="您的账户没有此项操作的权限。")
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return wrap


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def install(flask_app: Flask) -> None:
    """Hook the session check and the headers into every request of `flask_app`."""
    flask_app.before_request(_load_account)
    flask_app.after_request(_headers)
    flask_app.jinja_env.globals["csrf_token"] = csrf_token
    flask_app.jinja_env.globals["CSRF_FIELD"] = CSRF_FIELD
