"""Accounts (admins only): who may log in, with which role; add one, disable or enable one."""

from __future__ import annotations

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for

from pipeline.web.accounts import AccountError, add_account, list_accounts, set_disabled
from pipeline.web.context import intake_app
from pipeline.web.security import requires
from storage.accounts import ROLES

bp = Blueprint("accounts", __name__, url_prefix="/accounts")


@bp.route("")
@requires("admin")
def index() -> str:
    return render_template("accounts.html.j2", accounts=list_accounts(intake_app()), roles=ROLES)


@bp.route("", methods=["POST"])
@requires("admin")
def add() -> Response:
    try:
        made = add_account(intake_app(), request.form.get("name", "").strip(), request.form.get("role", ""),
                           request.form.get("password", ""))
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(f"已添加用户 {made.name}（{made.role}）。")
    return redirect(url_for("accounts.index"))


@bp.route("/<name>/disabled", methods=["POST"])
@requires("admin")
def disable(name: str) -> Response:
    disabled = request.form.get("disabled") == "1"
    if disabled and name == g.account.name:
        flash("不能停用自己正在使用的账户。", "error")
        return redirect(url_for("accounts.index"))
    try:
        set_disabled(intake_app(), name, disabled)
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(f"已{'停用' if disabled else '启用'}用户 {name}。")
    return redirect(url_for("accounts.index"))
