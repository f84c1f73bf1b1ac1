"""The submissions list: filters, sorting and pages over the effective verdicts, and the review queue.

Everything is read the way the CLI listings read it (storage.repo.submissions and the latest staff
decisions) and filtered here; an office's call brings hundreds of messages, not millions. The list's
columns are the 汇总表's (pipeline/staff/export.py's layout and rows), so staff see what they print.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from pipeline.config import Campaign
from pipeline.intake.app import App
from pipeline.staff.export import Layout, layout_for, summary_row
from pipeline.staff.review import VERDICT_NAMES, effective_verdict
from storage import repo
from storage import staff as staff_repo
from storage.models import Submission
from storage.staff import StaffDecision

PAGE_SIZE = 50
SUMMARY_COLUMNS = 6        # 汇总表 columns shown unless all are asked for (1366 px wide screens)
SORTS = {"id": "编号", "received": "收到时间", "verdict": "结论", "unit": "推荐单位", "studio": "工作室"}


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _moment(value: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo is not None else None


@dataclass(frozen=True)
class ListQuery:
    """What the list is asked for; built from the query string, where a value that makes no sense is dropped."""

    verdict: str = ""
    unit: str = ""
    campaign: str = ""
    date_from: date | None = None
    date_to: date | None = None
    code: str = ""
    q: str = ""
    since: datetime | None = None     # fetched after this moment ("arrived since yesterday" on Today)
    queue: bool = False               # only what still needs a person: review, standing, undecided
    current: bool = False             # only submissions that stand for their studio
    sort: str = "received"
    desc: bool = True
    page: int = 1
    all_columns: bool = False

    @classmethod
    def from_args(cls, args: Any) -> ListQuery:
        page = args.get("page", "1")
        return cls(verdict=args.get("verdict", "") if args.get("verdict", "") in VERDICT_NAMES else "",
                   unit=args.get("unit", "").strip()[:100], campaign=args.get("campaign", "").strip()[:64],
                   date_from=_date(args.get("from")), date_to=_date(args.get("to")),
                   code=args.get("code", "").strip()[:64], q=args.get("q", "").strip()[:100],
                   since=_moment(args.get("since")), queue=args.get("queue") == "1",
                   current=args.get("current") == "1",
                   sort=args.get("sort") if args.get("sort") in SORTS else "received",
                   desc=args.get("dir", "desc") != "asc", page=max(1, int(page)) if page.isdigit() else 1,
                   all_columns=args.get("cols") == "all")

    def args(self, **changes: Any) -> str:
        """This query with `changes`, as a query string (empty values left out) for links."""
        q = replace(self, **changes)
        pairs = {"verdict": q.verdict, "unit": q.unit, "campaign": q.campaign,
                 "from": q.date_from.isoformat() if q.date_from else "",
                 "to": q.date_to.isoformat() if q.date_to else "",
                 "code": q.code, "q": q.q, "since": q.since.isoformat() if q.since else "",
                 "queue": "1" if q.queue else "", "current": "1" if q.current else "",
                 "sort": q.sort if q.sort != "received" else "", "dir": "" if q.desc else "asc",
                 "page": str(q.page) if q.page > 1 else "", "cols": "all" if q.all_columns else ""}
        return urlencode({k: v for k, v in pairs.items() if v})


@dataclass(frozen=True)
class Row:
    """One submission in the list."""

    sub: Submission
    verdict: str
    decision: StaffDecision | None
    received: datetime
    codes: list[str]
    cells: list[Any]

    @property
    def verdict_name(self) -> str:
        return VERDICT_NAMES.get(self.verdict, self.verdict)


@dataclass(frozen=True)
class Page:
    """One page of the list, with what the filter form offers."""

    rows: list[Row]
    total: int
    pages: int
    headers: tuple[str, ...]
    hidden_columns: int
    units: list[str]
    codes: list[str]
    campaigns: list[tuple[str, str]]


def needs_review(sub: Submission, decision: StaffDecision | None) -> bool:
    """In the review queue: the rules asked for a person, none has decided, and it stands for its studio."""
    return effective_verdict(sub, decision) == "review" and not sub.superseded_by


def _matches(query: ListQuery, sub: Submission, verdict: str, decision: StaffDecision | None, zone: ZoneInfo) -> bool:
    day = sub.message.received_at.astimezone(zone).date()
    fields = sub.fields or {}
    text = " ".join(str(v) for v in (sub.studio_name, sub.recommending_unit, fields.get("leader_name") or "",
                                     fields.get("form_studio_name") or "", sub.message.subject,
                                     sub.message.from_addr)).casefold()
    return ((not query.verdict or verdict == query.verdict)
            and (not query.unit or query.unit.casefold() in (sub.recommending_unit or "").casefold())
            and (not query.campaign or sub.campaign == query.campaign)
            and (query.date_from is None or day >= query.date_from)
            and (query.date_to is None or day <= query.date_to)
            and (not query.code or any(f.code == query.code for f in sub.findings))
            and (not query.q or all(word in text for word in query.q.casefold().split()))
            and (query.since is None or sub.message.fetched_at > query.since)
            and (not query.queue or needs_review(sub, decision))
            and (not query.current or not sub.superseded_by))


def _sort_key(sort: str) -> Any:
    keys = {"id": lambda r: r.sub.id, "received": lambda r: (r.received, r.sub.id),
            "verdict": lambda r: (r.verdict, r.received), "unit": lambda r: (r.sub.recommending_unit or "", r.received),
            "studio": lambda r: (r.sub.studio_name or "", r.received)}
    return keys[sort]


def _campaign_for(app: App, campaign_id: str) -> Campaign:
    return next((c for c in app.config.campaigns if c.id == campaign_id), app.config.campaigns[0])


def _layout(app: App, query: ListQuery) -> tuple[Campaign, Layout]:
    campaign = _campaign_for(app, query.campaign)
    return campaign, layout_for(campaign)


def list_page(app: App, query: ListQuery) -> Page:
    """The rows of one page, in order; the 汇总表 columns are those of the chosen campaign (else the first)."""
    zone = ZoneInfo(app.config.report.timezone)
    campaign, layout = _layout(app, query)
    shown = [h for n, h in zip(layout.fields, layout.headers, strict=True) if n != "seq"]
    keep = len(shown) if query.all_columns else min(SUMMARY_COLUMNS, len(shown))
    with app.sessions() as session:
        subs = list(repo.submissions(session))
        latest = staff_repo.latest_decisions(session)
        rows = []
        for sub in subs:
            decision = latest.get(sub.id)
            verdict = effective_verdict(sub, decision)
            if _matches(query, sub, verdict, decision, zone):
                own = _campaign_for(app, sub.campaign or campaign.id)
                rows.append(Row(sub, verdict, decision, sub.message.received_at.astimezone(zone),
                                list(dict.fromkeys(f.code for f in sub.findings)),
                                summary_row(sub, own, layout)[:keep]))
        rows.sort(key=_sort_key(query.sort), reverse=query.desc)
        start = (query.page - 1) * PAGE_SIZE
        return Page(rows=rows[start:start + PAGE_SIZE], total=len(rows),
                    pages=max(1, -(-len(rows) // PAGE_SIZE)), headers=tuple(shown[:keep]),
                    hidden_columns=len(shown) - keep,
                    units=sorted({s.recommending_unit for s in subs if s.recommending_unit}),
                    codes=sorted({f.code for s in subs for f in s.findings}),
                    campaigns=[(c.id, c.title) for c in app.config.campaigns])


def review_queue(app: App) -> list[tuple[datetime, int]]:
    """(receipt time, id) of the submissions that need a person, in receipt order (how a clerk works)."""
    with app.sessions() as session:
        subs = list(repo.submissions(session))
        latest = staff_repo.latest_decisions(session)
        return sorted((s.message.received_at, s.id) for s in subs if needs_review(s, latest.get(s.id)))


def next_in_queue(app: App, after: int | None = None) -> int | None:
    """The submission to review after `after` (one just decided, or skipped): the next waiting one in receipt
    order, round to the first; None when nothing waits but `after` itself."""
    queue = review_queue(app)
    if after is None:
        return queue[0][1] if queue else None
    with app.sessions() as session:
        sub = staff_repo.submission(session, after)
        mark = (sub.message.received_at, sub.id) if sub is not None else None
    waiting = [item for item in queue if item[1] != after]
    later = [item for item in waiting if mark is None or item > mark]
    chosen = later or waiting
    return chosen[0][1] if chosen else None
