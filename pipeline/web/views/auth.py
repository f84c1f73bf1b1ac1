"""Log in and out. The only page an anonymous visitor gets."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from pipeline.web.accounts import active_accounts, authenticate
from pipeline.web.context import intake_app, throttle
from pipeline.web.security import log_in, log_out, safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    if g.account is not None and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    nobody = active_accounts(intake_app()) == 0
    if request.method == "GET":
        return render_template("login.html.j2", name="", error="", nobody=nobody)
    name = request.form.get("name", "").strip()[:64]
    address = request.remote_addr or "?"
    wait = throttle().wait_seconds(name, address)
    if wait:
        error = f"登录失败次数过多，请 {max(1, -(-wait // 60))} 分钟后再试。"
        return render_template("login.html.j2", name=name, error=error, nobody=nobody), 429
    found = authenticate(intake_app(), name, request.form.get("password", ""))
    if found is None:
        throttle().failed(name, address)
        return render_template("login.html.j2", name=name, error="用户名或密码不正确。", nobody=nobody), 401
    throttle().succeeded(name, address)
    log_in(*found)
    return redirect(safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    log_out()
    flash("已退出登录。")
    return redirect(url_for("auth.login"))
