"""Everything the page of one submission shows, read once per request.

Read through the same queries as `intake show` (storage/staff.py): the submission, its decisions, the
studio's history with the decision that counts for each; the form's fields are labelled with the campaign's
own words (its form schema), the files carry what their preview needs, the replies are rendered from the
bytes that were sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.policy import default
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from pipeline.config import Campaign
from pipeline.intake.app import App
from pipeline.replies.compose import human_size
from pipeline.staff.review import NotFound, effective_verdict, submission_folder
from pipeline.web.listing import needs_review
from pipeline.web.previews import MAX_PDF_PAGES, FileRef, docx_text, file_ref, pdf_pages
from storage import staff as staff_repo
from storage.forms import Narrative
from storage.models import OutboxItem, Submission
from storage.staff import StaffDecision

SCAN_ROLE = "form_scan"
MEMBER_TITLES = {"name": "姓名", "age": "年龄", "education": "学历", "title": "职称/技术等级", "post": "职务/岗位"}


@dataclass(frozen=True)
class FileView:
    """One file of the submission with its preview."""

    ref: FileRef | None          # None: listed but not kept on disk (an unsafe archive's contents)
    id: int
    name: str
    role: str
    role_title: str
    format: str
    size: str
    origin: str
    pages: int                   # PDF pages previewed inline (at most MAX_PDF_PAGES)
    total_pages: int
    text: str | None             # a Word document's text

    @property
    def kind(self) -> str | None:
        return self.ref.preview_kind if self.ref is not None else None


@dataclass(frozen=True)
class ReplyView:
    """A reply as it was queued and sent: headers, status and the text the sender got."""

    id: int
    kind: str
    status: str
    to: str
    subject: str
    body: str
    error: str
    created: datetime
    sent: datetime | None


@dataclass(frozen=True)
class Detail:
    """The submission page's content."""

    sub: Submission
    campaign: Campaign | None
    verdict: str
    decision: StaffDecision | None
    decisions: list[StaffDecision]
    history: list[tuple[Submission, str]]
    fields: list[tuple[str, Any]]
    members: list[dict[str, Any]]
    member_titles: list[tuple[str, str]]
    other_fields: list[tuple[str, Any]]
    narrative: Narrative | None
    files: list[FileView]
    scan: FileView | None
    replies: list[ReplyView]
    in_queue: bool


def reply_body(raw: bytes) -> str:
    """The text part of a queued reply, as the recipient's mail program shows it."""
    msg = message_from_bytes(raw, policy=default)
    part = msg.get_body(("plain",))  # type: ignore[attr-defined]
    return str(part.get_content()) if part is not None else ""


def _campaign(app: App, sub: Submission) -> Campaign | None:
    return next((c for c in app.config.campaigns if c.id == sub.campaign), None)


Pairs = list[tuple[str, Any]]


def _form_fields(campaign: Campaign | None, values: dict[str, Any]) -> tuple[Pairs, Pairs]:
    """The campaign's form fields in its order and words; then every other recorded value under its key."""
    specs = list(campaign.form.schema.header_fields + campaign.form.schema.fields) if campaign and campaign.form else []
    named = [(spec.title, values.get(spec.name)) for spec in specs]
    known = {spec.name for spec in specs} | {"members", "superseded_by"}
    return named, [(key, value) for key, value in sorted(values.items()) if key not in known]


def _member_titles(campaign: Campaign | None, members: list[dict[str, Any]]) -> list[tuple[str, str]]:
    table = campaign.form.schema.members if campaign and campaign.form else None
    titles = {col.name: col.title for col in table.columns} if table else {}
    keys = list(dict.fromkeys(k for m in members for k in m if k != "position"))
    return [(k, titles.get(k) or MEMBER_TITLES.get(k, k)) for k in keys]


def _file_view(app: App, sub: Submission, campaign: Campaign | None, doc: Any) -> FileView:
    ref = file_ref(app, sub.id, doc.id)
    titles = {role.role: role.title for role in campaign.documents} if campaign else {}
    titles.update({"evidence": campaign.evidence.title if campaign else "佐证材料", "other": "其他文件"})
    total = pdf_pages(app, ref) if ref is not None and ref.preview_kind == "pdf" else 0
    text = docx_text(app, ref) if ref is not None and ref.preview_kind == "docx" else None
    return FileView(ref, doc.id, doc.name, doc.role, titles.get(doc.role, doc.role), doc.format,
                    human_size(doc.size), doc.origin, min(total, MAX_PDF_PAGES), total, text)


def _reply_view(item: OutboxItem) -> ReplyView:
    return ReplyView(item.id, item.kind, item.status, item.to_addr, item.subject, reply_body(item.raw),
                     item.last_error or "", item.created_at, item.sent_at)


def submission_detail(app: App, submission_id: int) -> Detail:
    """Everything about one submission; NotFound when there is no such id."""
    submission_folder(app, submission_id)  # its files on disk (re-made if the cache dropped them), and used now
    with app.sessions() as session:
        sub = staff_repo.submission(session, submission_id)
        if sub is None:
            raise NotFound(f"no submission #{submission_id}")
        campaign = _campaign(app, sub)
        decisions = list(staff_repo.decisions_for(session, sub.id))
        history = list(staff_repo.studio_history(session, sub))
        latest = staff_repo.latest_decisions(session, [h.id for h in history] + [sub.id])
        narrative = session.scalar(select(Narrative).where(Narrative.submission_id == sub.id))
        values = dict(sub.fields or {})
        members = [m for m in values.get("members") or [] if isinstance(m, dict)]
        named, other = _form_fields(campaign, values)
        files = [_file_view(app, sub, campaign, doc) for doc in sub.documents]
        scan = next((f for f in files if f.role == SCAN_ROLE and f.kind in ("image", "pdf")), None)
        _ = sub.message.subject  # loaded before the session closes
        decision = latest.get(sub.id)
        return Detail(sub=sub, campaign=campaign, verdict=effective_verdict(sub, decision), decision=decision,
                      decisions=decisions,
                      history=[(h, effective_verdict(h, latest.get(h.id))) for h in history],
                      fields=named, members=members, member_titles=_member_titles(campaign, members),
                      other_fields=other, narrative=narrative, files=files, scan=scan,
                      replies=[_reply_view(r) for r in sub.replies], in_queue=needs_review(sub, decision))


def local(moment: datetime | None, zone: str) -> str:
    """A stored moment in the office's time zone, for the page."""
    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}" if moment else "—"
