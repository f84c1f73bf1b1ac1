"""Reply text and MIME: an acknowledgment (回执), a rejection listing every problem, or "under review".

Plain text, UTF-8, no links, no attachments (126 judges anything else as spam),
`Auto-Submitted: auto-replied` so other robots don't answer back (RFC 3834).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr

from pipeline.config import Campaign
from pipeline.findings import Code, Finding, Severity, Verdict
from pipeline.rules import format_moment

ROLE_TITLES = {"form_word": "申报表（Word版）", "form_scan": "申报表盖章扫描件", "narrative": "事迹材料",
               "summary": "汇总表", "evidence": "佐证材料", "other": "其他文件"}
ROLE_ORDER = ("form_word", "form_scan", "narrative", "evidence", "summary", "other")


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


def _documents_block(documents: list[ReceivedDocument]) -> list[str]:
    lines = []
    for role in ROLE_ORDER:
        for doc in (d for d in documents if d.role == role):
            words = f"，按Word字数统计约{doc.word_count}字" if doc.word_count is not None and role == "narrative" else ""
            lines.append(f"  · {ROLE_TITLES.get(role, role)}：{doc.name}（{human_size(doc.size)}{words}）")
    return lines


def _findings_block(findings: list[Finding]) -> list[str]:
    lines = []
    for i, f in enumerate(findings, 1):
        lines.append(f"{i}. {f.message}")
        if f.fix:
            lines.append(f"   修改方法：{f.fix}")
    return lines


def _time_left(campaign: Campaign, now: datetime) -> str:
    deadline = format_moment(campaign.deadline, campaign)
    if campaign.is_late(now):
        return f"本次申报已于{deadline}截止，逾期材料不再受理。"
    return (f"申报截止时间为{deadline}，目前仍可修改后重新发送。请将修改后的全部材料重新打包，"
            f"以相同主题再次发送；我们以截止前最后一次收到的材料为准。")


def reply_text(verdict: Verdict, findings: list[Finding], documents: list[ReceivedDocument],
               ctx: ReplyContext, campaign: Campaign, now: datetime) -> str:
    """The Chinese body of the reply for `verdict`."""
    received = format_moment(ctx.received_at, campaign)
    what = f"“{ctx.unit}{ctx.studio}”的入库材料" if ctx.studio else f"主题为“{ctx.subject}”的邮件"
    lines = ["您好！", ""]
    if verdict is Verdict.ACCEPTED:
        lines += [f"我们已于{received}收到贵单位报送的{what}。经系统初步核对，材料齐全、格式符合通知要求，已登记。", "",
                  "收到的材料：", *_documents_block(documents), "", "后续由工作人员审核，请保持联系电话畅通。"]
    elif verdict is Verdict.REJECTED:
        lines += [f"我们于{received}收到贵单位报送的{what}。经系统核对，存在以下问题，暂不能受理：", "",
                  *_findings_block([f for f in findings if f.severity is Severity.REJECT]), ""]
        others = [f for f in findings if f.severity is not Severity.REJECT]
        if others:
            lines += ["另有以下情况请一并注意：", *_findings_block(others), ""]
        if not any(f.code is Code.LATE for f in findings):
            lines.append(_time_left(campaign, now))
    else:
        received_block = ["收到的材料：", *_documents_block(documents), ""] if documents else []
        lines += [f"我们已于{received}收到贵单位报送的{what}，材料已登记。以下情况需要工作人员人工核实：", "",
                  *_findings_block(findings), "", *received_block, "工作人员核实后如需补充材料，会另行联系。"]
    contact = f"如有疑问，请联系{campaign.contact}。" if campaign.contact else ""
    lines += ["", f"本邮件由系统自动发送，请勿直接回复。{contact}", "", campaign.office or campaign.title,
              f"{now.astimezone(campaign.deadline.tzinfo):%Y年%m月%d日}".replace("年0", "年").replace("月0", "月")]
    return "\n".join(lines) + "\n"


def reply_subject(subject: str) -> str:
    """`Re: <original subject>`, without stacking prefixes."""
    stripped = subject.strip()
    return stripped if stripped.lower().startswith("re:") else f"Re: {stripped}"


def header_safe(text: str) -> str:
    """Sender-supplied header text on one line: control characters and Unicode line/paragraph separators
    become spaces. The email package splits values with str.splitlines (U+2028, U+0085, U+001C … included)
    and refuses them, which made one decoded subject fail the whole message; CR/LF would be injection."""
    return " ".join("".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text).split())


def build_reply(kind: str, body: str, ctx: ReplyContext, sender: str, message_id: str, now: datetime) -> Reply:
    """A proper MIME reply: UTF-8 plain text, threading headers and Auto-Submitted."""
    msg = EmailMessage(policy=SMTP)
    name, addr = parseaddr(sender)
    msg["From"] = formataddr((name, addr)) if name else addr
    msg["To"] = ctx.to_addr
    msg["Subject"] = reply_subject(header_safe(ctx.subject))
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    if ctx.message_id:
        msg["In-Reply-To"] = header_safe(ctx.message_id)
        msg["References"] = header_safe(" ".join(x for x in (ctx.references, ctx.message_id) if x))
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(body, charset="utf-8")
    return Reply(kind=kind, to_addr=ctx.to_addr, subject=str(msg["Subject"]), message_id=message_id, raw=msg.as_bytes())
