"""Staff commands: look at one submission, record a decision (optionally telling the sender), find its files.

The machine verdict stays in `Submission.verdict`; a person's decision is a row of its own
(storage/staff.py) and becomes the *effective* verdict everywhere staff look.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.config import Campaign
from pipeline.documents import derived
from pipeline.errors import IntakeError
from pipeline.intake.app import App
from pipeline.intake.folders import message_workdir
from pipeline.intake.sandbox import rebuild_isolated
from pipeline.mail.decode import HEADER_BYTES, decode_headers
from pipeline.replies.compose import ReplyContext, human_size, reply_subject, resend_how, what_was_sent
from pipeline.replies.outbox import queue_reply
from pipeline.rules.checks import format_moment
from pipeline.rules.findings import basis_label
from pipeline.staff.views import DISPLAY_ZONE, reply_summary, table
from storage import staff as staff_repo
from storage.forms import Narrative
from storage.models import ReplyState, Submission
from storage.staff import StaffDecision

DECISIONS = ("accepted", "rejected")
VERDICT_NAMES = {"accepted": "已受理", "rejected": "退回", "review": "待人工核实", "ignored": "已忽略"}
REPLY_NAMES = {ReplyState.PENDING: "待发送", ReplyState.SENT: "已发送", ReplyState.FAILED: "发送失败", "none": "无回复"}


class NotFound(IntakeError):
    """No submission has that id."""


def effective_verdict(sub: Submission, decision: StaffDecision | None) -> str:
    """The staff decision when there is one, else the machine's verdict."""
    return decision.decision if decision is not None else sub.verdict


def default_staff_name() -> str:
    """Who is deciding when --by is not given: the operating-system user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return os.environ.get("USER") or f"uid{os.getuid()}"


@dataclass(frozen=True)
class ReviewOutcome:
    """What `intake review` recorded."""

    decision_id: int
    submission_id: int
    machine_verdict: str
    decision: str
    reply_id: int | None
    reply_withheld: str | None


def review(app: App, submission_id: int, *, decision: str, note: str, by: str, notify: bool) -> ReviewOutcome:
    """Record a staff decision; with `notify`, queue a Chinese notice of it to the sender in the same commit."""
    if decision not in DECISIONS:
        raise IntakeError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    with app.sessions() as session:
        sub = staff_repo.submission(session, submission_id)
        if sub is None:
            raise NotFound(f"no submission #{submission_id}")
        now = app.clock()
        row = staff_repo.add_decision(session, sub, decision=decision, note=note, decided_by=by, decided_at=now)
        withheld = None
        if notify:
            row.reply_id, withheld = _queue_decision_notice(app, session, sub, row)
        session.commit()
        return ReviewOutcome(row.id, sub.id, row.machine_verdict, decision, row.reply_id, withheld)


def _campaign(app: App, sub: Submission) -> Campaign:
    return next((c for c in app.config.campaigns if c.id == sub.campaign), app.config.campaigns[0])


def decision_text(sub: Submission, row: StaffDecision, campaign: Campaign) -> str:
    """The body of the notice telling the sender what staff decided, and why."""
    received = format_moment(sub.message.received_at, campaign)
    what = what_was_sent(campaign, sub.recommending_unit, sub.studio_name, sub.message.subject)
    if row.decision == "accepted":
        # 受理 is the first of the notice's steps (初步审核); 考察、评审、审议 and the published list decide
        # admission. "已登记入库" read as if the studio were admitted already.
        outcome = ("经工作人员审核，申报材料予以受理，即材料审核通过，进入后续评审程序。"
                   "受理不代表已经入选，最终结果以评审结束后正式印发的文件为准。")
    else:
        outcome = "经工作人员审核，材料暂不能受理。"
    lines = ["您好！", "", f"贵单位于{received}报送的{what}，{outcome}"]
    if row.note.strip():
        lines += ["", f"审核意见：{row.note.strip()}"]
    if row.decision == "rejected" and not campaign.is_late(row.decided_at):
        deadline = format_moment(campaign.deadline, campaign)
        lines += ["", f"申报截止时间为{deadline}，请按审核意见修改后，将全部材料{resend_how(campaign)}。"]
    contact = f"如有疑问，请联系{campaign.contact}。" if campaign.contact else ""
    day = f"{row.decided_at.astimezone(campaign.deadline.tzinfo):%Y年%m月%d日}".replace("年0", "年").replace("月0", "月")
    lines += ["", f"本邮件由系统发送，请勿直接回复。{contact}", "", campaign.office or campaign.title, day]
    return "\n".join(lines) + "\n"


def _reply_to_header(app: App, sub: Submission) -> str:
    """The Reply-To the sender wrote, from the stored raw message's head (the policy decides if it counts)."""
    path = app.raw.path_for(sub.message.sha256)
    if not path.is_file():
        return ""
    with path.open("rb") as fh:
        return decode_headers(fh.read(HEADER_BYTES)).header("reply-to")


def _queue_decision_notice(app: App, session: Session, sub: Submission,
                           row: StaffDecision) -> tuple[int | None, str | None]:
    """Queue the notice through the outbox, with the same address policy and daily caps as every automatic
    reply; (outbox id, None), (None, why nobody is told) or (outbox id, why it is held back by a cap)."""
    campaign, now, message = _campaign(app, sub), row.decided_at, sub.message
    ctx = ReplyContext(to_addr="", subject=message.subject, message_id=message.message_id, references="",
                       received_at=message.received_at, studio=sub.studio_name, unit=sub.recommending_unit)
    wording = "审核结果：予以受理" if row.decision == "accepted" else "审核结果：暂不能受理"
    queued = queue_reply(session, app.config, campaign, sub, ctx, kind="decision",
                         body=decision_text(sub, row, campaign),
                         subject=reply_subject(row.decision, campaign, sub.recommending_unit, sub.studio_name, wording),
                         reply_to=_reply_to_header(app, sub), now=now)
    return (queued.item.id if queued.item else None), queued.withheld


# --- intake show --------------------------------------------------------------------------------------


def _local(moment: datetime | None) -> str:
    return f"{moment.astimezone(DISPLAY_ZONE):%Y-%m-%d %H:%M}" if moment else "-"


def _field_value(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, list):
        return "；".join(_field_value(v) if not isinstance(v, dict) else
                        " ".join(str(x) for x in v.values() if x not in (None, "")) for v in value) or "-"
    return str(value)


def show_text(app: App, submission_id: int) -> str:
    """Everything about one submission, for `intake show`."""
    with app.sessions() as session:
        sub = staff_repo.submission(session, submission_id)
        if sub is None:
            raise NotFound(f"no submission #{submission_id}")
        decisions = staff_repo.decisions_for(session, sub.id)
        history = staff_repo.studio_history(session, sub)
        latest = staff_repo.latest_decisions(session, [h.id for h in history])
        narrative = session.scalar(select(Narrative).where(Narrative.submission_id == sub.id))
        lines = _show_lines(sub, decisions, history, latest)
        if narrative is not None:
            excerpt = " ".join(narrative.text.split())[:160]
            lines += ["", f"事迹材料：{narrative.file}（Word字数约{narrative.word_count}字，字符{narrative.char_count}个）",
                      f"  {excerpt}{'……' if len(narrative.text) > 160 else ''}"]
        return "\n".join(lines) + "\n"


def _show_lines(sub: Submission, decisions: Sequence[StaffDecision], history: Sequence[Submission],
                latest: dict[int, StaffDecision]) -> list[str]:
    msg = sub.message
    current = latest.get(sub.id)
    verdict = VERDICT_NAMES.get(effective_verdict(sub, current), sub.verdict)
    machine = f"（系统结论：{VERDICT_NAMES.get(sub.verdict, sub.verdict)}）" if current else ""
    lines = [f"申报 #{sub.id}：{msg.subject or '（无主题）'}",
             f"  发件人：{msg.from_addr}    收到：{_local(msg.received_at)}    活动：{sub.campaign or '-'}",
             f"  推荐单位：{sub.recommending_unit or '-'}    工作室：{sub.studio_name or '-'}",
             f"  结论：{verdict}{machine}" + (f"    本工作室以 #{sub.superseded_by} 为准" if sub.superseded_by else ""),
             "", f"问题（{len(sub.findings)}）："]
    # Each finding says which clause of the notice it rests on, so staff can tell the notice's rules from
    # the office's own (which only ever ask for review).
    lines += [f"  [{f.severity}] {f.code}：{f.message}" + (f"（{f.file}）" if f.file else "")
              + (f"\n      依据：{basis_label(f.basis)}" if f.basis else "")
              + (f"\n      说明：{f.note}" if f.note and f.severity == "review" else "") for f in sub.findings]
    lines += ["", f"文件（{len(sub.documents)}）："]
    lines += [f"  {d.role:10s} {d.name}  {d.format}  {human_size(d.size)}" for d in sub.documents]
    lines += ["", "表单字段："]
    lines += [f"  {key}: {_field_value(value)}" for key, value in sorted((sub.fields or {}).items())]
    reply = reply_summary(sub)
    lines += ["", f"回复：{REPLY_NAMES.get(reply['status'], reply['status'])}" +
              (f" → {reply['to']}「{reply['subject']}」" if reply["to"] else "")]
    lines += [f"  #{r.id} {r.kind} {r.status}" + (f"：{r.last_error}" if r.last_error else "") for r in sub.replies]
    lines += ["", "人工审核："]
    lines += [f"  {_local(d.decided_at)} {d.decided_by}：{VERDICT_NAMES[d.decision]}（原系统结论 "
              f"{VERDICT_NAMES.get(d.machine_verdict, d.machine_verdict)}）{d.note}" for d in decisions] or ["  无"]
    lines += ["", "同一工作室的报送记录："]
    rows = [[f"#{h.id}" + (" ←" if h.id == sub.id else ""), _local(h.message.received_at),
             VERDICT_NAMES.get(effective_verdict(h, latest.get(h.id)), h.verdict),
             f"以 #{h.superseded_by} 为准" if h.superseded_by else "有效"] for h in history]
    lines += ["  " + line for line in table(rows, [8, 17, 12, 14]).splitlines()]
    return lines


# --- intake open --------------------------------------------------------------------------------------


def submission_folder(app: App, submission_id: int) -> tuple[Path, list[tuple[str, int]]]:
    """The folder with the unpacked files of a submission and its files (relative path, size).

    Derived files are a cache (pipeline.documents.derived): a folder removed to keep within
    `[storage] derived_cache_mb` is re-made from the raw message first, in the sandbox like a judgement,
    at the paths the documents' rows name; the folder then counts as used now."""
    with app.sessions() as session:
        sub = staff_repo.submission(session, submission_id)
        if sub is None:
            raise NotFound(f"no submission #{submission_id}")
        folder = message_workdir(app, sub.message)
        message_pk = sub.message.id
    if not derived.is_ready(folder):
        rebuild_isolated(app, message_pk)
    derived.touch(folder)
    derived.evict(app.files_root, app.config.storage.derived_cache_mb, keep=folder)
    files = sorted((str(p.relative_to(folder)), p.stat().st_size) for p in folder.rglob("*")
                   if p.is_file() and p.name != derived.READY) if folder.is_dir() else []
    return folder, files
