"""Today: the nightly report's content, live (pipeline/staff/report.py's `collect`, not a second count)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template

from pipeline.staff.report import collect
from pipeline.web.context import intake_app
from pipeline.web.listing import review_queue

bp = Blueprint("today", __name__)


def since_yesterday(now: datetime, zone: ZoneInfo) -> datetime:
    """The start of yesterday in the office's time zone: "arrived since yesterday" on Today."""
    day = now.astimezone(zone).date() - timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=zone)


@bp.route("/")
def today() -> str:
    app = intake_app()
    now = app.clock()
    since = since_yesterday(now, ZoneInfo(app.config.report.timezone))
    data = collect(app, now, since)
    return render_template("today.html.j2", r=data, since=since.isoformat(), queue=len(review_queue(app)))
