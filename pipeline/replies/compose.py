"""Reply text and MIME: an acknowledgment (回执), a rejection listing every problem, or "under review".

Plain text, UTF-8, no links, no attachments (126 judges anything else as spam),
`Auto-Submitted: auto-replied` so other robots don't answer back (RFC 3834).

Every reply is at most MAX_REPLY_BYTES as sent, whatever came in: what the sender wrote is quoted only
bounded and without links (`messages.echo`), long lists are summarised, and a rejection's Subject is the
campaign's own wording, so nobody can use us to carry their text to a third party.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr

from pipeline.config import Campaign
from pipeline.replies.policy import MSG_ID
from pipeline.rules.checks import format_moment
from pipeline.rules.findings import Code, Finding, Severity, Verdict
from pipeline.rules.wording import echo, one_line

ROLE_TITLES = {"form_word": "申报表（Word版）", "form_scan": "申报表盖章扫描件", "narrative": "事迹材料",
               "summary": "汇总表", "evidence": "佐证材料", "other": "其他文件"}
ROLE_ORDER = ("form_word", "form_scan", "narrative", "evidence", "summary", "other")

MAX_REPLY_BYTES = 8 * 1024   # the whole message as sent, headers included
MAX_DOCUMENTS = 30           # files a receipt lists one by one; the rest are counted
MAX_FINDINGS = 12            # problems a reply lists one by one …
PER_CODE = 3                 # … and of one kind (forty pictures that are not JPEG are one problem)
NAME_CHARS = 80              # of one file name
LABEL_CHARS = 60             # of a studio's name or a subject quoted in a sentence
MAX_THREAD_IDS = 5           # References: the thread's first Message-ID and the latest ones (RFC 5322 §3.6.4)


@dataclass(frozen=True)
class ReceivedDocument:
    """A document as the acknowledgment lists it."""

    role: str
    name: str
    size: int
    word_count: int | None = None


@dataclass(frozen=True)
class ReplyContext:
    """What a reply needs to know about the message it answers."""

    to_addr: str
    subject: str
    message_id: str | None
    references: str
    received_at: datetime
    studio: str
    unit: str


@dataclass(frozen=True)
class Reply:
    """A composed reply, ready for the outbox."""

    kind: str
    to_addr: str
    subject: str
    message_id: str
    raw: bytes


def human_size(size: int) -> str:
    """Sizes as a clerk reads them: 35 KB, 2.4 MB."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _documents_block(documents: list[ReceivedDocument], campaign: Campaign) -> list[str]:
    titles = {**ROLE_TITLES, "evidence": campaign.wording.evidence}   # 佐证材料, 证明材料 …: the notice's word
    ordered = [d for role in ROLE_ORDER for d in documents if d.role == role]
    ordered += [d for d in documents if d.role not in ROLE_ORDER]
    lines = []
    for doc in ordered[:MAX_DOCUMENTS]:
        words = f"，按Word字数统计约{doc.word_count}字" if doc.word_count is not None and doc.role == "narrative" else ""
        lines.append(f"  · {titles.get(doc.role, doc.role)}：{echo(doc.name, NAME_CHARS)}"
                     f"（{human_size(doc.size)}{words}）")
    if len(ordered) > MAX_DOCUMENTS:
        lines.append(f"  · ……另有{len(ordered) - MAX_DOCUMENTS}个文件，不再逐一列出")
    return lines


def findings_block(findings: list[Finding]) -> list[str]:
    """Numbered problems with their fixes: at most PER_CODE of one kind and MAX_FINDINGS in all, the rest
    counted (each kind's fix is the same, so the clerk loses nothing by not reading it forty times)."""
    shown: list[Finding] = []
    total: Counter[Code] = Counter()
    for f in findings:
        total[f.code] += 1
        if total[f.code] <= PER_CODE and len(shown) < MAX_FINDINGS:
            shown.append(f)
    listed = Counter(f.code for f in shown)
    last_of = {f.code: i for i, f in enumerate(shown)}
    lines = []
    for i, f in enumerate(shown):
        lines.append(f"{i + 1}. {f.message}")
        following = shown[i + 1] if i + 1 < len(shown) else None
        # Findings of one kind in a row with the same fix (one per misnamed file): the fix once, after the last.
        if f.fix and not (following and following.code == f.code and following.fix == f.fix):
            lines.append(f"   修改方法：{f.fix}")
        if last_of[f.code] == i and total[f.code] > listed[f.code]:
            lines.append(f"   同类问题另有{total[f.code] - listed[f.code]}项，不再逐条列出，请按上述方法一并检查。")
    rest = sum(n for code, n in total.items() if code not in listed)
    if rest:
        lines.append(f"另有{rest}项问题未列出，请先按以上各项修改；如需完整清单，请联系工作人员。")
    return lines


def _time_left(campaign: Campaign, now: datetime) -> str:
    deadline = format_moment(campaign.deadline, campaign)
    if campaign.is_late(now):
        return f"本次申报已于{deadline}截止，逾期材料不再受理。"
    return f"申报截止时间为{deadline}，目前仍可修改后重新发送。请将修改后的全部材料{resend_how(campaign)}；我们以截止前最后一次收到的材料为准。"


def resend_how(campaign: Campaign) -> str:
    """How to send again: packing and the subject are said only where the campaign asks for them (a notice
    without an archive requirement or a subject convention must not be given one in our reply)."""
    how = "重新打包，" if campaign.archive_required else ""
    return how + ("以相同主题再次发送" if campaign.subject.enforced else "再次发送")


def what_was_sent(campaign: Campaign, unit: str, studio: str, subject: str) -> str:
    """“正定县总工会张三创新工作室”的入库材料 (in the campaign's word for a submission), or, without a studio,
    主题为“…”的邮件."""
    if studio:
        return f"“{echo(unit + studio, LABEL_CHARS)}”的{campaign.wording.materials}"
    return f"主题为“{echo(subject, LABEL_CHARS)}”的邮件"


def reply_text(verdict: Verdict, findings: list[Finding], documents: list[ReceivedDocument],
               ctx: ReplyContext, campaign: Campaign, now: datetime) -> str:
    """The Chinese body of the reply for `verdict`."""
    received = format_moment(ctx.received_at, campaign)
    what = what_was_sent(campaign, ctx.unit, ctx.studio, ctx.subject)
    lines = ["您好！", ""]
    if verdict is Verdict.ACCEPTED:
        # Only a package without any finding is called compliant; a warning (a seal not seen where a campaign
        # keeps that a warning) is said, never passed over with 格式符合通知要求.
        notes = [f for f in findings if f.severity is Severity.WARNING]
        checked = "材料齐全，已登记。另有以下情况请注意：" if notes else "材料齐全、格式符合通知要求，已登记。"
        lines += [f"我们已于{received}收到贵单位报送的{what}。经系统初步核对，{checked}", "",
                  *([*findings_block(notes), ""] if notes else []),
                  "收到的材料：", *_documents_block(documents, campaign), "", "后续由工作人员审核，请保持联系电话畅通。"]
    elif verdict is Verdict.REJECTED:
        lines += [f"我们于{received}收到贵单位报送的{what}。经系统核对，存在以下问题，暂不能受理：", "",
                  *findings_block([f for f in findings if f.severity is Severity.REJECT]), ""]
        others = [f for f in findings if f.severity is not Severity.REJECT]
        if others:
            lines += ["另有以下情况请一并注意：", *findings_block(others), ""]
        if not any(f.code is Code.LATE for f in findings):
            lines.append(_time_left(campaign, now))
    else:
        received_block = ["收到的材料：", *_documents_block(documents, campaign), ""] if documents else []
        lines += [f"我们已于{received}收到贵单位报送的{what}，材料已登记。以下情况需要工作人员人工核实：", "",
                  *findings_block(findings), "", *received_block, "工作人员核实后如需补充材料，会另行联系。"]
    contact = f"如有疑问，请联系{campaign.contact}。" if campaign.contact else ""
    lines += ["", f"本邮件由系统自动发送，请勿直接回复。{contact}", "", campaign.office or campaign.title,
              f"{now.astimezone(campaign.deadline.tzinfo):%Y年%m月%d日}".replace("年0", "年").replace("月0", "月")]
    return "\n".join(lines) + "\n"


# The Subject says what happened in the campaign's words. Only a receipt names the studio (as parsed, quoted
# bounded and without links): a rejection goes to whoever sent anything at all, so its Subject carries nothing
# a sender wrote. Threading is kept by In-Reply-To and References.
SUBJECT_WORDING = {"accepted": "材料已受理", "review": "材料已登记，待人工核实", "rejected": "材料未能受理"}
NAMES_STUDIO = frozenset({"accepted", "review"})


def reply_subject(kind: str, campaign: Campaign, unit: str = "", studio: str = "", wording: str = "") -> str:
    """`Re: <studio or campaign title>：<what happened>` for a reply of `kind` (accepted, review, rejected)."""
    label = echo(unit + studio, LABEL_CHARS) if studio and kind in NAMES_STUDIO else one_line(campaign.title)
    return f"Re: {label}：{wording or SUBJECT_WORDING.get(kind, SUBJECT_WORDING['review'])}"


def _thread(message_id: str | None, references: str) -> tuple[str, str] | None:
    """(In-Reply-To, References) for a reply to `message_id`, or None when it is no Message-ID. References
    keeps the thread's first and latest ids only: a sender's 10,000 ids must not come back in our header."""
    own = MSG_ID.fullmatch(one_line(message_id or ""))
    if own is None:
        return None
    ids = list(dict.fromkeys([*MSG_ID.findall(references), own.group()]))
    if len(ids) > MAX_THREAD_IDS:
        ids = [ids[0], *ids[-(MAX_THREAD_IDS - 1):]]
    return own.group(), " ".join(ids)


CLOSING_LINES = 5  # "", 本邮件由系统…, "", office, date: the end of every reply and notice


def _shortened(body: str, keep: int) -> str:
    """`body` with its middle cut to about `keep` characters; the closing (who sent it, whom to ask) stays."""
    lines = body.rstrip("\n").split("\n")
    head, tail = "\n".join(lines[:-CLOSING_LINES]), lines[-CLOSING_LINES:]
    cut = head[:max(0, keep)].rsplit("\n", 1)[0]
    return "\n".join([cut, "", "……（以下内容过长，从略；如需完整情况，请联系工作人员。）", *tail]) + "\n"


def _message(body: str, ctx: ReplyContext, sender: str, message_id: str, now: datetime, subject: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    name, addr = parseaddr(sender)
    msg["From"] = formataddr((name, addr)) if name else addr
    msg["To"] = ctx.to_addr
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    thread = _thread(ctx.message_id, ctx.references)
    if thread:
        msg["In-Reply-To"], msg["References"] = thread
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(body, charset="utf-8")
    return msg.as_bytes()


def build_reply(kind: str, body: str, ctx: ReplyContext, sender: str, message_id: str, now: datetime, *,
                subject: str) -> Reply:
    """A proper MIME reply: UTF-8 plain text, threading headers and Auto-Submitted, at most MAX_REPLY_BYTES.

    The lists in a body are bounded already; this is the backstop for whatever adds up past it.
    """
    subject = one_line(subject)[:200]
    raw = _message(body, ctx, sender, message_id, now, subject)
    keep = len(body)
    while len(raw) > MAX_REPLY_BYTES:
        keep = keep * (MAX_REPLY_BYTES - 512) // len(raw) - 100
        if keep <= 0:  # cannot happen: every header is bounded
            raise ValueError(f"reply headers alone exceed {MAX_REPLY_BYTES} bytes")
        raw = _message(_shortened(body, keep), ctx, sender, message_id, now, subject)
    return Reply(kind=kind, to_addr=ctx.to_addr, subject=subject, message_id=message_id, raw=raw)
