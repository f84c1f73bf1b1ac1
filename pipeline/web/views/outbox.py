"""The outbox page: failed and waiting replies, and the retry button."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from pipeline.web.context import intake_app
from pipeline.web.outbox import RetryRefused, outbox_rows, retry_reply
from pipeline.web.security import requires

bp = Blueprint("outbox", __name__, url_prefix="/outbox")


@bp.route("")
def index() -> str:
    return render_template("outbox.html.j2", rows=outbox_rows(intake_app()))


@bp.route("/<int:reply_id>/retry", methods=["POST"])
@requires("reviewer")
def retry(reply_id: int) -> Response:
    try:
        done = retry_reply(intake_app(), reply_id, confirmed=request.form.get("confirm") == "1")
    except RetryRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("outbox.index"))
    if done.delivered is None:
        flash(f"回复 #{reply_id} 已重新排队，由正在运行的 intake run 在下一轮发出。")
    elif done.unreachable:
        flash(f"回复 #{reply_id} 已重新排队，但发信服务器无法使用：{done.unreachable}", "error")
    else:
        flash(f"回复 #{reply_id} 已重新排队；本次发出 {done.delivered} 封，失败 {done.failed} 封。")
    return redirect(url_for("outbox.index"))
