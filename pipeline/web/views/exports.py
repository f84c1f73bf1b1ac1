"""Exports: the 汇总表 (XLSX, DOCX) with `intake export summary`'s function, and the report workbook."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request, send_file

from pipeline.staff.export import export_summary
from pipeline.staff.report import collect
from pipeline.web.context import intake_app
from pipeline.web.views.today import since_yesterday

bp = Blueprint("exports", __name__, url_prefix="/exports")
TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def _attachment(path: Path, name: str, fmt: str) -> Response:
    # send_file writes the Chinese name as RFC 5987 filename* with an ASCII fallback; the bytes are read
    # first because the temporary folder goes away when the view returns.
    return send_file(io.BytesIO(path.read_bytes()), mimetype=TYPES[fmt], as_attachment=True, download_name=name)


@bp.route("")
def index() -> str:
    return render_template("exports.html.j2", campaigns=intake_app().config.campaigns)


@bp.route("/summary.<fmt>")
def summary(fmt: str) -> Response:
    app = intake_app()
    if fmt not in TYPES:
        abort(404)
    campaign_id = request.args.get("campaign") or None
    if campaign_id and all(c.id != campaign_id for c in app.config.campaigns):
        abort(404)
    with tempfile.TemporaryDirectory() as tmp:
        path, _count = export_summary(app, Path(tmp) / f"summary.{fmt}", fmt, campaign_id)
        return _attachment(path, f"汇总表-{campaign_id or app.config.campaigns[0].id}.{fmt}", fmt)


@bp.route("/report.xlsx")
def report() -> Response:
    """The nightly report's workbook as of now, "new" meaning since yesterday as on Today; no report is recorded
    (the nightly report's "since the last report" stays the service's)."""
    from pipeline.staff.report_xlsx import write_workbook  # openpyxl: only when asked

    app = intake_app()
    now = app.clock()
    zone = ZoneInfo(app.config.report.timezone)
    data = collect(app, now, since_yesterday(now, zone))
    stamp = f"{now.astimezone(zone):%Y%m%d-%H%M}"
    with tempfile.TemporaryDirectory() as tmp:
        path = write_workbook(data, Path(tmp) / "report.xlsx", app.config.campaigns)
        return _attachment(path, f"申报情况明细-{stamp}.xlsx", "xlsx")
