"""Which campaign a message belongs to: by subject, keywords, attachments and the campaign's date window."""

from __future__ import annotations

from datetime import datetime

from parsers.names import normalize_name
from pipeline.config import Campaign
from pipeline.mail import DecodedMail
from pipeline.subject import parse_subject

ARCHIVE_EXTENSIONS = (".zip", ".7z", ".rar")


def relevance(mail: DecodedMail, campaign: Campaign) -> int:
    """0 = unrelated; 3 = the subject fits the convention; 2 = campaign words; 1 = an archive is attached."""
    if parse_subject(mail.subject, campaign).well_formed:
        return 3
    texts = [normalize_name(mail.subject), *(normalize_name(a.filename) for a in mail.attachments)]
    if any(k and k in t for k in campaign.keywords for t in texts):
        return 2
    if any(a.filename.lower().endswith(ARCHIVE_EXTENSIONS) for a in mail.attachments):
        return 1
    return 0


def route(mail: DecodedMail, campaigns: tuple[Campaign, ...], received_at: datetime) -> Campaign | None:
    """The best campaign for this message, or None (UNRELATED).

    Among several, a campaign that had opened and not yet closed at receipt
    wins, then the most relevant, then the nearest deadline. Late mail still
    routes, so it gets LATE rather than UNRELATED.
    """
    scored = []
    for campaign in campaigns:
        score = relevance(mail, campaign)
        if score == 0:
            continue
        started = campaign.opens is None or received_at >= campaign.opens
        open_now = started and not campaign.is_late(received_at)
        scored.append(((started, open_now, score, -abs((campaign.deadline - received_at).total_seconds())), campaign))
    return max(scored, key=lambda item: item[0])[1] if scored else None
