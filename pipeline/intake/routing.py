"""Which campaign a message belongs to: by subject, keywords, attachments (their names, and the covering note for
a campaign without a subject convention) and the campaign's date window."""

from __future__ import annotations

from datetime import datetime

from parsers.names import normalize_name
from parsers.sniff import sniff_bytes
from pipeline.config import Campaign
from pipeline.mail.classify import find_large_attachment_links
from pipeline.mail.decode import Attachment, DecodedMail, html_to_text
from pipeline.rules.subject import parse_subject

ARCHIVE_EXTENSIONS = (".zip", ".7z", ".rar")
IMAGE_KINDS = frozenset({"jpeg", "png", "gif", "bmp", "webp"})


def is_material(att: Attachment) -> bool:
    """An attachment that could be application material, not a signature logo inline in the HTML."""
    return att.disposition != "inline" or sniff_bytes(att.head(64)) not in IMAGE_KINDS


# How much of a body is searched for the campaign's words: a covering note is a few lines; a hostile 20 MB
# body costs no more than this.
BODY_CHARS = 4000


def relevance(mail: DecodedMail, campaign: Campaign) -> int:
    """0 = unrelated; 3 = the subject fits the convention; 2 = campaign words; 1 = files that may be materials.

    Without material attached, only a subject that reads like a submission
    (or a large-attachment link) counts: a clerk's question about the call is
    for staff to answer, not a rejection for a missing attachment.

    A campaign whose notice prescribes no subject (`subject.enforced` false, the Qingdao call) cannot ask
    the subject to say what the mail is: its materials are recognised by their names and the covering
    note instead — the campaign's keywords, a material's name keywords (申报表, 盖章, 扫描 …) or an
    evidence word (证书, 复印件 …) in the subject, the body or a file's name (2) — and any other files sent
    in its window are still taken as an attempt (1, like an archive for a campaign with a convention), so a
    unit whose scan is called "doc01.pdf" is told what was not found instead of never being answered. A
    campaign that scores higher (its subject convention, its words) still wins.
    """
    if parse_subject(mail.subject, campaign).well_formed:
        return 3
    subject = normalize_name(mail.subject)
    material = [a for a in mail.attachments if is_material(a)]
    if not material:
        submitted = any(k in subject for k in campaign.submission_keywords) or find_large_attachment_links(mail)
        return 2 if submitted else 0
    texts = [subject, *(normalize_name(a.filename) for a in material)]
    free = not campaign.subject.enforced
    words = material_words(campaign) if free else campaign.keywords
    if free:
        texts.append(normalize_name(covering_note(mail)))
    if any(k and k in t for k in words for t in texts):
        return 2
    if free:
        return 1
    return 1 if any(a.filename.lower().endswith(ARCHIVE_EXTENSIONS) for a in material) else 0


def covering_note(mail: DecodedMail) -> str:
    """The start of the body, bounded before any HTML is converted (a hostile body may be megabytes)."""
    text = mail.text_body if mail.text_body.strip() else html_to_text(mail.html_body[: 8 * BODY_CHARS])
    return text[:BODY_CHARS]


def material_words(campaign: Campaign) -> tuple[str, ...]:
    """The words that name a campaign's materials: its keywords, each material's name keywords, evidence words."""
    names = (k for role in campaign.documents for k in role.name_keywords)
    return tuple(dict.fromkeys((*campaign.keywords, *names, *campaign.evidence.folder_keywords)))


def route(mail: DecodedMail, campaigns: tuple[Campaign, ...], received_at: datetime) -> Campaign | None:
    """The best campaign for this message, or None (UNRELATED).

    Among several, a campaign that was open at receipt wins, then the most
    relevant, then the one whose window (opens … deadline) is nearest to the
    receipt time. Late mail still routes, so it gets LATE rather than
    UNRELATED; a reminder sent before a call opens goes to that call, not to
    one that closed years ago.
    """
    scored = []
    for campaign in campaigns:
        if not campaign.accepts_mail_at(received_at):
            continue  # outside the call's window: mail for another (or no) campaign
        score = relevance(mail, campaign)
        if score == 0:
            continue
        started = campaign.opens is None or received_at >= campaign.opens
        open_now = started and not campaign.is_late(received_at)
        scored.append(((open_now, score, -_distance(campaign, received_at)), campaign))
    return max(scored, key=lambda item: item[0])[1] if scored else None


def _distance(campaign: Campaign, received_at: datetime) -> float:
    """Seconds between the receipt time and the campaign's window (0 inside it)."""
    if campaign.opens is not None and received_at < campaign.opens:
        return (campaign.opens - received_at).total_seconds()
    return max(0.0, (received_at - campaign.deadline).total_seconds())
