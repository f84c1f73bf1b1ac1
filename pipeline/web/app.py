"""The console's app factory: a Flask application around the pipeline's App (pipeline.bootstrap.build_app).

Templates are Jinja2 with autoescape on for every template whatever its file name (Flask's default covers
only .html and friends, and ours end in .j2), and every printed value passes textsafe.document_text first,
as in the nightly report: a subject from a stranger can never become markup or carry control characters.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jinja2
import markupsafe
from flask import Flask, render_template
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from pipeline.config import WebConfig
from pipeline.intake.app import App
from pipeline.rules.findings import basis_label
from pipeline.staff.review import REPLY_NAMES, VERDICT_NAMES
from pipeline.textsafe import document_text
from pipeline.web import security
from pipeline.web.context import EXTENSION
from pipeline.web.detail import local
from pipeline.web.throttle import LoginThrottle
from pipeline.web.views import BLUEPRINTS

SESSION_HOURS = 12  # a working day: a console left open overnight asks for the password again
SEVERITY_NAMES = {"reject": "退回", "review": "待核实", "warning": "提示", "info": "说明"}
ROLE_NAMES = {"viewer": "只读", "reviewer": "审核", "admin": "管理员"}


def _printable(value: Any) -> Any:
    """Jinja's finalize: text loses the controls that HTML should not carry (bidi overrides shown); markup the
    templates made themselves and numbers pass unchanged."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return document_text(value)
    return value


def _field_text(value: Any) -> str:
    """A recorded form value as one line: lists joined the way clerks write them."""
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return "；".join(" ".join(str(x) for x in v.values() if x not in (None, "")) if isinstance(v, dict)
                        else str(v) for v in value) or "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _error_page(exc: HTTPException) -> tuple[str, int]:
    return render_template("error.html.j2", code=exc.code, description=exc.description or ""), exc.code or 500


def secure_cookies(web: WebConfig) -> bool:
    """Cookies only over HTTPS when staff reach the console by an https:// base_url (a TLS reverse proxy)."""
    return web.base_url.lower().startswith("https://")


def create_app(app_container: App, *, secret_key: str | None = None, throttle: LoginThrottle | None = None) -> Flask:
    """The console for `app_container` (its config with [web], database, raw store and clock)."""
    web = app_container.config.web
    flask_app = Flask(__name__, static_folder="static", template_folder="templates")
    flask_app.config.update(
        SECRET_KEY=secret_key or security.secret_key(app_container.config.storage.data_dir),
        SESSION_COOKIE_NAME="intake_session", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookies(web), PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        MAX_CONTENT_LENGTH=64 * 1024,  # forms only: a note, a password; no uploads
        TEMPLATES_AUTO_RELOAD=False, JSON_AS_ASCII=False)
    if secure_cookies(web):
        flask_app.config["PREFERRED_URL_SCHEME"] = "https"
    flask_app.extensions[EXTENSION] = {"app": app_container, "throttle": throttle or LoginThrottle()}
    env = flask_app.jinja_env
    env.autoescape = True
    env.finalize = _printable
    env.undefined = jinja2.StrictUndefined
    env.trim_blocks = env.lstrip_blocks = True
    env.filters.update(basis_label=basis_label, field_text=_field_text,
                       local=lambda moment: local(moment, app_container.config.report.timezone))
    env.globals.update(VERDICT_NAMES=VERDICT_NAMES, REPLY_NAMES=REPLY_NAMES, SEVERITY_NAMES=SEVERITY_NAMES,
                       ROLE_NAMES=ROLE_NAMES)
    security.install(flask_app)
    for blueprint in BLUEPRINTS:
        flask_app.register_blueprint(blueprint)
    flask_app.register_error_handler(HTTPException, _error_page)
    if web.proxy_hops:
        # The client's address and scheme as the trusted proxies saw them (the login throttle counts addresses);
        # a header beyond those hops is the client's own word and is not believed.
        flask_app.wsgi_app = ProxyFix(flask_app.wsgi_app, x_for=web.proxy_hops,  # type: ignore[method-assign]
                                      x_proto=web.proxy_hops)
    return flask_app
