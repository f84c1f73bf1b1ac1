"""Which campaign a message belongs to: by subject, keywords, attachments and the campaign's date window."""

from __future__ import annotations

from datetime import datetime

from parsers.names import normalize_name
from parsers.sniff import sniff_bytes
from pipeline.classify import find_large_attachment_links
from pipeline.config import Campaign
from pipeline.mail import Attachment, DecodedMail
from pipeline.subject import parse_subject

ARCHIVE_EXTENSIONS = (".zip", ".7z", ".rar")
IMAGE_KINDS = frozenset({"jpeg", "png", "gif", "bmp", "webp"})


def is_material(att: Attachment) -> bool:
    """An attachment that could be application material, not a signature logo inline in the HTML."""
    return att.disposition != "inline" or sniff_bytes(att.head(64)) not in IMAGE_KINDS


def relevance(mail: DecodedMail, campaign: Campaign) -> int:
    """0 = unrelated; 3 = the subject fits the convention; 2 = campaign words; 1 = an archive is attached.

    Without material attached, only a subject that reads like a submission
    (or a large-attachment link) counts: a clerk's question about the call is
    for staff to answer, not a rejection for a missing attachment.
    """
    if parse_subject(mail.subject, campaign).well_formed:
        return 3
    subject = normalize_name(mail.subject)
    material = [a for a in mail.attachments if is_material(a)]
    if not material:
        submitted = any(k in subject for k in campaign.submission_keywords) or find_large_attachment_links(mail)
        return 2 if submitted else 0
    texts = [subject, *(normalize_name(a.filename) for a in material)]
    if any(k and k in t for k in campaign.keywords for t in texts):
        return 2
    return 1 if any(a.filename.lower().endswith(ARCHIVE_EXTENSIONS) for a in material) else 0


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
