"""The staff report: what the data says (`collect`), as HTML for webmail and plain text, saved and mailed.

Subjects, addresses and file names come from strangers, so the HTML is rendered by Jinja2 with
autoescape on, and every value printed passes textsafe.document_text (no control character, bidi
overrides visible); the page has inline CSS only and no scripts, because webmail strips both <style>
blocks (some) and scripts (all). The chart is table-based bars: SVG is dropped by several webmails.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import markupsafe

from parsers.names import normalize_name
from pipeline.config import Campaign
from pipeline.errors import DeliveryError
from pipeline.intake.app import App
from pipeline.replies.policy import message_id_domain
from pipeline.rules.findings import Verdict, basis_label
from pipeline.staff.review import REPLY_NAMES, VERDICT_NAMES, effective_verdict
from pipeline.staff.views import reply_summary
from pipeline.textsafe import document_text
from pipeline.transport.smtp import SmtpClient
from storage import repo
from storage import staff as staff_repo
from storage.models import LedgerState, ReplyState, Submission
from storage.staff import StaffDecision

log = logging.getLogger(__name__)
VERDICTS = tuple(Verdict)  # the report's order: accepted, rejected, review, ignored
CHART_DAYS = 31  # the chart shows at most this many days (the last ones): it must stay readable on a phone
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass(frozen=True)
class Entry:
    """One submission as the report shows it."""

    sub: Submission
    verdict: str                      # effective: the staff decision when there is one
    decision: StaffDecision | None
    received: str                     # local time, as text
    reply_status: str
    reply_error: str

    @property
    def verdict_name(self) -> str:
        return VERDICT_NAMES.get(self.verdict, self.verdict)


@dataclass(frozen=True)
class CampaignStatus:
    """Deadline facts of one campaign."""

    title: str
    deadline: str
    days_left: str
    deadline_day: list[Entry]


@dataclass
class ReportData:
    """Everything the report shows, computed once and rendered as HTML, text and XLSX."""

    made_at: str
    timezone: str
    since: str | None
    entries: list[Entry]
    counts: list[tuple[str, str, int]]                # (verdict, label, count) over all submissions
    new_entries: list[Entry]
    new_counts: list[tuple[str, str, int]]
    problems: list[Entry]                             # rejected or review
    units: list[dict[str, Any]]                       # studios per recommending unit
    silent_units: list[tuple[str, str]]               # (kind label, unit) on the roster, nothing received
    campaigns: list[CampaignStatus]
    failed_replies: list[dict[str, Any]]
    failed_messages: list[dict[str, Any]]
    pending_replies: int
    decisions: list[dict[str, Any]]
    per_day: list[dict[str, Any]] = field(default_factory=list)
    # Roster units that have sent, by whether anything of theirs is accepted (see `roster_groups`).
    waiting_units: list[tuple[str, str]] = field(default_factory=list)   # sent, nothing accepted yet
    accepted_units: list[tuple[str, str]] = field(default_factory=list)  # sent, something accepted

    @property
    def total(self) -> int:
        return len(self.entries)


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"


def _entry(sub: Submission, decision: StaffDecision | None, zone: ZoneInfo) -> Entry:
    reply = reply_summary(sub)
    error = (sub.replies[-1].last_error or "") if sub.replies else ""
    return Entry(sub, effective_verdict(sub, decision), decision, _local(sub.message.received_at, zone),
                 REPLY_NAMES.get(reply["status"], reply["status"]),
                 error if reply["status"] == ReplyState.FAILED else "")


def _counts(entries: list[Entry]) -> list[tuple[str, str, int]]:
    tally = Counter(e.verdict for e in entries)
    return [(v, VERDICT_NAMES[v], tally.get(v, 0)) for v in VERDICTS]


def unit_key(name: str, campaign: Campaign | None = None) -> str:
    """A unit name for comparing roster and subjects: normalised, without the prefix the campaign says a name
    may carry or leave off (石家庄's `unit_name_prefix`: "石家庄市教科文卫工会" and "市教科文卫工会" are one
    unit). Which prefix is the campaign's business, never the code's."""
    key = normalize_name(name)
    prefix = campaign.unit_name_prefix if campaign is not None else None
    return prefix.sub("", key, count=1) if prefix is not None else key


@dataclass(frozen=True)
class RosterGroups:
    """The roster's units (kind label, unit), in roster order, by how far each has got."""

    accepted: list[tuple[str, str]]   # sent, and a submission of theirs stands accepted
    waiting: list[tuple[str, str]]    # sent, but nothing accepted yet (rejected, in review, or replaced)
    silent: list[tuple[str, str]]     # nothing judged has come from them


def roster_groups(campaigns: tuple[Campaign, ...], entries: list[Entry]) -> RosterGroups:
    """Sort every campaign's roster into the three groups staff chase differently: a unit whose only package
    was rejected has sent, but still owes the office a package it can accept.

    Accepted counts the effective verdict (a staff decision overrides the rules') of a submission that still
    stands: one replaced by a later package of the same studio no longer does.
    """
    groups = RosterGroups([], [], [])
    for c in campaigns:  # a unit's names are compared in its campaign's terms, and only with its campaign's mail
        mine = [e for e in entries if e.sub.campaign == c.id and e.sub.recommending_unit]
        sent = {unit_key(e.sub.recommending_unit, c) for e in mine if e.verdict != "ignored"}
        accepted = {unit_key(e.sub.recommending_unit, c) for e in mine
                    if e.verdict == "accepted" and not e.sub.superseded_by}
        for kind in c.units:
            for unit in kind.roster:
                key = unit_key(unit, c)
                group = groups.accepted if key in accepted else groups.waiting if key in sent else groups.silent
                group.append((kind.label or kind.kind, unit))
    return groups


def silent_units(campaigns: tuple[Campaign, ...], entries: list[Entry]) -> list[tuple[str, str]]:
    """Roster units (every campaign) from which no judged submission has come, in roster order."""
    return roster_groups(campaigns, entries).silent


def _units(entries: list[Entry]) -> list[dict[str, Any]]:
    """Current studios (not superseded, not ignored) per recommending unit, busiest first."""
    by_unit: dict[str, Counter[str]] = defaultdict(Counter)
    for e in entries:
        if e.verdict != "ignored" and not e.sub.superseded_by:
            by_unit[e.sub.recommending_unit or "（未识别）"][e.verdict] += 1
    rows = [{"unit": unit, "total": sum(c.values()), **{v: c.get(v, 0) for v in VERDICTS}}
            for unit, c in by_unit.items()]
    return sorted(rows, key=lambda r: (-r["total"], r["unit"]))


def days_left(campaign: Campaign, now: datetime) -> str:
    """"还有 N 天", "今天截止" or "已截止", counted in local calendar days."""
    zone = ZoneInfo(campaign.timezone)
    if campaign.is_late(now):
        return "已截止"
    days = (campaign.deadline.astimezone(zone).date() - now.astimezone(zone).date()).days
    return "今天截止" if days == 0 else f"还有 {days} 天"


def _campaign_status(campaign: Campaign, now: datetime, entries: list[Entry]) -> CampaignStatus:
    zone = ZoneInfo(campaign.timezone)
    last_day = campaign.deadline.astimezone(zone).date()
    on_day = [e for e in entries if e.sub.campaign == campaign.id and e.verdict != "ignored"
              and e.sub.message.received_at.astimezone(zone).date() == last_day]
    return CampaignStatus(campaign.title, _local(campaign.deadline, zone), days_left(campaign, now), on_day)


def per_day(entries: list[Entry], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Judged submissions per local day, every day from the first to the last (empty days too)."""
    tally = Counter(e.sub.message.received_at.astimezone(zone).date() for e in entries if e.verdict != "ignored")
    if not tally:
        return []
    first, last = min(tally), max(tally)
    first = max(first, last - timedelta(days=CHART_DAYS - 1))
    top = max(tally.values())
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [{"day": f"{d.month}月{d.day}日", "date": d, "count": tally.get(d, 0),
             "width": round(100 * tally.get(d, 0) / top)} for d in days]


def _decision_rows(decisions: list[StaffDecision], subs: dict[int, Submission], zone: ZoneInfo) -> list[dict[str, Any]]:
    return [{"id": d.submission_id, "subject": subs[d.submission_id].message.subject if d.submission_id in subs else "",
             "decision": VERDICT_NAMES[d.decision], "machine": VERDICT_NAMES.get(d.machine_verdict, d.machine_verdict),
             "by": d.decided_by, "at": _local(d.decided_at, zone), "note": d.note} for d in decisions]


def collect(app: App, now: datetime, since: datetime | None) -> ReportData:
    """Read everything the report shows from the database."""
    zone = ZoneInfo(app.config.report.timezone)
    with app.sessions() as session:
        subs = list(repo.submissions(session))
        latest = staff_repo.latest_decisions(session)
        entries = [_entry(s, latest.get(s.id), zone) for s in subs]
        new = [e for e in entries if since is None or e.sub.message.fetched_at > since]
        failed = [{"id": r.id, "to": r.to_addr, "subject": r.subject, "error": r.last_error or ""}
                  for r in repo.replies_with_status(session, ReplyState.FAILED)]
        broken = [{"id": m.id, "subject": m.subject, "error": (m.error or "").strip().splitlines()[-1:] or [""]}
                  for m in repo.messages_in_order(session, LedgerState.FAILED)]
        pending = len(repo.replies_with_status(session, ReplyState.PENDING))
        decisions = _decision_rows(list(staff_repo.all_decisions(session)), {s.id: s for s in subs}, zone)
    roster = roster_groups(app.config.campaigns, entries)
    return ReportData(
        made_at=_local(now, zone), timezone=app.config.report.timezone,
        since=_local(since, zone) if since else None, entries=entries, counts=_counts(entries),
        new_entries=new, new_counts=_counts(new), problems=[e for e in entries if e.verdict in ("rejected", "review")],
        units=_units(entries), silent_units=roster.silent, waiting_units=roster.waiting,
        accepted_units=roster.accepted,
        campaigns=[_campaign_status(c, now, entries) for c in app.config.campaigns],
        failed_replies=failed, failed_messages=[{**m, "error": m["error"][0]} for m in broken],
        pending_replies=pending, decisions=decisions, per_day=per_day(entries, zone))


def _printable(value: Any) -> Any:
    """Jinja's finalize: every {{ value }} of the report, before escaping. Text loses the controls that
    neither HTML nor a mail body should carry (and a lone surrogate, which would fail the UTF-8 encoding of
    the page and the mail every night); markup the template made safe itself and numbers pass unchanged."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return document_text(value)
    return value


def _environment() -> jinja2.Environment:
    # autoescape=True for every template, not by extension: a subject must never become markup.
    env = jinja2.Environment(loader=jinja2.PackageLoader("pipeline.staff", "templates"), autoescape=True,
                             finalize=_printable, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["basis_label"] = basis_label
    return env


def render_html(data: ReportData) -> str:
    """The HTML page (inline CSS, no scripts)."""
    return _environment().get_template("report.html.j2").render(r=data)


def render_text(data: ReportData) -> str:
    """The plain-text alternative of the same report."""
    lines = [f"申报情况日报（截至 {data.made_at}，{data.timezone}）", "",
             f"全部登记 {data.total} 封：" + "，".join(f"{label} {n}" for _v, label, n in data.counts)]
    if data.since:
        lines.append(f"自上次报告（{data.since}）以来新收 {len(data.new_entries)} 封：" +
                     "，".join(f"{label} {n}" for _v, label, n in data.new_counts))
    for c in data.campaigns:
        lines.append(f"{c.title}：截止 {c.deadline}，{c.days_left}；截止当天收到 {len(c.deadline_day)} 封。")
    lines += ["", f"退回或待人工核实 {len(data.problems)} 封："]
    for e in data.problems:
        codes = "、".join(f.code + (f"（依据：{basis_label(f.basis)}）" if f.basis else "") for f in e.sub.findings) or "-"
        again = f"（本工作室以 #{e.sub.superseded_by} 为准）" if e.sub.superseded_by else ""
        lines.append(f"  #{e.sub.id} {e.verdict_name}「{e.sub.message.subject}」{codes}；回复：{e.reply_status}{again}")
    lines += ["", f"已报送、有材料受理的单位 {len(data.accepted_units)} 个：" + "、".join(u for _k, u in data.accepted_units),
              f"已报送、尚无材料受理的单位 {len(data.waiting_units)} 个：" + "、".join(u for _k, u in data.waiting_units),
              f"尚未报送的单位 {len(data.silent_units)} 个：" + "、".join(u for _k, u in data.silent_units)]
    lines += ["", f"回复发送失败 {len(data.failed_replies)} 封："]
    lines += [f"  #{r['id']} {r['to']}「{r['subject']}」：{r['error']}" for r in data.failed_replies]
    lines += ["", f"人工审核 {len(data.decisions)} 条："]
    lines += [f"  #{d['id']} {d['decision']}（{d['by']}，{d['at']}）{d['note']}" for d in data.decisions]
    lines += ["", f"待发送回复 {data.pending_replies} 封。详见 HTML 报告与所附 Excel 表。"]
    return document_text("\n".join(lines) + "\n")  # subjects, addresses and errors are quoted above


@dataclass(frozen=True)
class ReportFiles:
    """What one report run produced."""

    html: Path
    xlsx: Path
    text: str
    sent: bool


def make_report(app: App, out_dir: Path | None = None, *, send: bool = False) -> ReportFiles:
    """Write the HTML and XLSX report, mail them when asked, and record that a report was made."""
    # openpyxl is heavy: imported only when a report is made
    from pipeline.staff.report_xlsx import write_workbook

    folder = out_dir or app.config.storage.data_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    now = app.clock()
    with app.sessions() as session:
        last = staff_repo.last_report(session)
        since = last.made_at if last else None
    data = collect(app, now, since)
    stamp = f"{now.astimezone(ZoneInfo(app.config.report.timezone)):%Y%m%d-%H%M}"
    html_path, xlsx_path = folder / f"report-{stamp}.html", folder / f"report-{stamp}.xlsx"
    html_path.write_text(render_html(data), encoding="utf-8")
    write_workbook(data, xlsx_path, app.config.campaigns)
    text = render_text(data)
    if send:
        mail_report(app, text, html_path.read_text(encoding="utf-8"), xlsx_path, now)
    with app.sessions() as session:
        staff_repo.record_report(session, made_at=now, sent=send, html_path=str(html_path), xlsx_path=str(xlsx_path))
        session.commit()
    return ReportFiles(html_path, xlsx_path, text, send)


def report_message(app: App, text: str, html: str, xlsx: Path, now: datetime) -> EmailMessage:
    """multipart/mixed: (text/plain | text/html) alternatives, then the workbook."""
    cfg, recipients = app.config.smtp, list(app.config.report.recipients)
    sender = cfg.sender or app.config.campaigns[0].mailbox
    domain = message_id_domain(sender)
    day = now.astimezone(ZoneInfo(app.config.report.timezone)).date()
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"] = sender, ", ".join(recipients)
    msg["Subject"] = f"申报情况日报 {day:%Y-%m-%d}"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid("report", domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    msg.add_attachment(xlsx.read_bytes(), maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1],
                       filename=f"申报情况日报-{_day_name(day)}.xlsx")
    return msg


def _day_name(day: date) -> str:
    return f"{day:%Y%m%d}"


def mail_report(app: App, text: str, html: str, xlsx: Path, now: datetime) -> None:
    """Mail the report to report.recipients: an .eml in smtp.outbox_dir when set, else by SMTP.

    DeliveryError when there is nowhere to send it or the server refuses it (the files stay on disk).
    """
    recipients = list(app.config.report.recipients)
    if not recipients:
        raise DeliveryError("report.recipients is empty: nobody to send the report to")
    msg = report_message(app, text, html, xlsx, now)
    cfg = app.config.smtp
    if cfg.outbox_dir:  # the same switch as for replies: no SMTP, the mail is written as a file
        cfg.outbox_dir.mkdir(parents=True, exist_ok=True)
        stamp = now.astimezone(ZoneInfo(app.config.report.timezone))
        (cfg.outbox_dir / f"report-{stamp:%Y%m%d-%H%M%S}.eml").write_bytes(msg.as_bytes())
        return
    if not cfg.host:
        raise DeliveryError("neither smtp.host nor smtp.outbox_dir is set: the report cannot be sent")
    address = getaddresses([msg["From"]])[0][1]
    with SmtpClient(cfg) as client:  # the secret is read only if the server asks for a login
        client.open()
        client.send(address, recipients, msg.as_bytes())


def nightly_report(app: App) -> Path:
    """The scheduler's job: the full report, mailed when there are recipients and a way to send."""
    cfg = app.config.smtp
    send = bool(app.config.report.recipients) and bool(cfg.host or cfg.outbox_dir)
    try:
        return make_report(app, send=send).html
    except DeliveryError as exc:
        log.error("the nightly report could not be mailed; it is written without being sent: %s", exc)
        return make_report(app, send=False).html
