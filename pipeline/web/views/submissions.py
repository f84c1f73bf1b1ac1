"""The submissions list, one submission, its files, and the decision on it."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, send_file, url_for

from pipeline.errors import IntakeError
from pipeline.staff.review import DECISIONS, NotFound, review
from pipeline.textsafe import file_name_text
from pipeline.web.context import intake_app
from pipeline.web.detail import submission_detail
from pipeline.web.listing import SORTS, ListQuery, list_page, next_in_queue
from pipeline.web.previews import MAX_PDF_PAGES, PreviewFailed, file_ref, preview_png
from pipeline.web.security import requires
from storage import staff as staff_repo

bp = Blueprint("submissions", __name__, url_prefix="/submissions")
NOTE_LIMIT = 2000  # characters: the note goes into a mail to the sender with "notify"


@bp.route("")
def index() -> str:
    query = ListQuery.from_args(request.args)
    return render_template("submissions.html.j2", page=list_page(intake_app(), query), query=query, sorts=SORTS)


@bp.route("/next")
def next_item() -> Response:
    """The next submission waiting for a person after ?after=ID (or the first one)."""
    after = request.args.get("after", "")
    chosen = next_in_queue(intake_app(), int(after) if after.isdigit() else None)
    if chosen is None:
        flash("没有待人工核实的申报了。")
        return redirect(url_for("submissions.index", queue="1"))
    return redirect(url_for("submissions.show", submission_id=chosen))


@bp.route("/<int:submission_id>")
def show(submission_id: int) -> str:
    try:
        detail = submission_detail(intake_app(), submission_id)
    except NotFound:
        abort(404)
    return render_template("submission.html.j2", d=detail, max_pages=MAX_PDF_PAGES, decisions=DECISIONS)


@bp.route("/<int:submission_id>/decide", methods=["POST"])
@requires("reviewer")
def decide(submission_id: int) -> Response:
    """Record the decision with `intake review`'s own function, then go on to the next in the queue."""
    decision = request.form.get("decision", "")
    note = request.form.get("note", "").strip()
    if decision not in DECISIONS:
        abort(400, description="请选择“予以受理”或“不予受理”。")
    if decision == "rejected" and not note:
        flash("不予受理时请填写审核意见（告知申报单位如何修改）。", "error")
        return redirect(url_for("submissions.show", submission_id=submission_id) + "#decide")
    try:
        done = review(intake_app(), submission_id, decision=decision, note=note[:NOTE_LIMIT], by=g.account.name,
                      notify=request.form.get("notify") == "1")
    except NotFound:
        abort(404)
    except IntakeError as exc:
        abort(400, description=str(exc))
    word = "予以受理" if done.decision == "accepted" else "不予受理"
    told = "，通知已放入发件箱" if done.reply_id is not None else (
        f"，未通知申报单位：{done.reply_withheld}" if request.form.get("notify") == "1" else "")
    flash(f"#{submission_id} 已记录：{word}{told}。")
    return redirect(url_for("submissions.next_item", after=submission_id))


@bp.route("/<int:submission_id>/files/<int:file_id>")
def download(submission_id: int, file_id: int) -> Response:
    """The original file, always as an attachment (never rendered by the browser in our origin)."""
    ref = file_ref(intake_app(), submission_id, file_id)
    if ref is None:
        abort(404)
    return send_file(ref.path, mimetype=ref.content_type, as_attachment=True, download_name=file_name_text(ref.name),
                     conditional=False, etag=False)


@bp.route("/<int:submission_id>/files/<int:file_id>/preview")
def preview(submission_id: int, file_id: int) -> Response:
    """A picture, or a PDF's page (?page=N), drawn as PNG by the limited child."""
    ref = file_ref(intake_app(), submission_id, file_id)
    page = request.args.get("page", "1")
    if ref is None or ref.preview_kind not in ("image", "pdf") or not page.isdigit() or \
            not 1 <= int(page) <= MAX_PDF_PAGES:
        abort(404)
    try:
        data = preview_png(intake_app(), ref, int(page))
    except PreviewFailed:
        abort(404)
    return Response(data, mimetype="image/png", headers={"Content-Disposition": "inline; filename=preview.png"})


@bp.route("/<int:submission_id>/message.eml")
def raw_message(submission_id: int) -> Response:
    """The message exactly as it arrived (for a mail program, or as evidence)."""
    app = intake_app()
    with app.sessions() as session:
        sub = staff_repo.submission(session, submission_id)
        if sub is None:
            abort(404)
        path = app.raw.path_for(sub.message.sha256)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="message/rfc822", as_attachment=True,
                     download_name=f"submission-{submission_id}.eml", conditional=False, etag=False)
