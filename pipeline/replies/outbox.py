"""Queue a reply within the address policy and the daily caps, and drain the outbox to a folder of .eml files
(the demo, and offices that send by hand)."""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pipeline.config import Campaign, Config
from pipeline.replies.compose import ReplyContext, build_reply
from pipeline.replies.policy import (
    CAP_PREFIX,
    cap_refusal,
    looks_like_ours,
    message_id_domain,
    own_addresses,
    own_domains,
    referenced_ids,
    reply_address,
    reply_refusal,
)
from storage import repo
from storage.models import OutboxItem, ReplyState, Submission

if TYPE_CHECKING:  # pipeline.intake.judge imports this module
    from pipeline.intake.app import App

log = logging.getLogger(__name__)
CAP_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Queued:
    """What `queue_reply` did: a row (None when nobody may be answered) and why it is not going out, if so."""

    item: OutboxItem | None
    withheld: str | None


def queue_reply(session: Session, config: Config, campaign: Campaign, sub: Submission, ctx: ReplyContext, *,
                kind: str, body: str, subject: str, reply_to: str, now: datetime) -> Queued:
    """The one way a reply or a notice enters the outbox, inside the caller's transaction.

    The address is the sender's From (Reply-To only within the sender's own organisational domain,
    `recipients.reply_address`); an address nobody may be answered at queues nothing (Queued(None, why)).
    Otherwise the reply is queued, and held back as failed with the reason when one of the daily caps
    (`[smtp]` daily_cap_*) is reached: stored for staff to see, never sent.
    """
    to_addr, reply_to_ignored = reply_address(sub.message.from_addr, reply_to, config.smtp.shared_domains)
    if reply_to_ignored:
        log.info("submission %s: %s", sub.id, reply_to_ignored)
    refusal = reply_refusal(to_addr, own_addresses(config))
    if refusal is not None:
        return Queued(None, refusal)
    recent = repo.reply_recipients_since(session, now - CAP_WINDOW, CAP_PREFIX)
    capped = cap_refusal(to_addr, recent, config.smtp)
    sender = config.smtp.sender or campaign.mailbox
    domain = message_id_domain(sender)
    # <intake.…@our domain>: recipients.looks_like_ours knows an answer to any of these, even one not in the outbox.
    reply_id = f"<intake.{sub.message.sha256[:16]}.{sub.id}.{len(sub.replies)}@{domain}>"
    reply = build_reply(kind, body, dataclasses.replace(ctx, to_addr=to_addr), sender, reply_id, now, subject=subject)
    item = repo.queue_reply(session, sub, kind=reply.kind, to_addr=reply.to_addr, subject=reply.subject,
                            reply_message_id=reply.message_id, raw=reply.raw, now=now)
    if capped is not None:
        # A loop or a forged sender must not turn the office mailbox into a spam source.
        item.status, item.last_error = ReplyState.FAILED, capped
    return Queued(item, capped)


def drain_to_folder(app: App, folder: Path) -> list[Path]:
    """Write each pending reply as `<id>-<kind>.eml`, then mark them all sent, in one commit.

    The file name depends only on the outbox row, so a crash between writing
    and recording rewrites the same files on the next run: never two copies.
    One commit, not one a reply: each was a fsync and a few pages of WAL
    (issue 18: bytes written per byte of mail).
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with app.sessions() as session:
        for item in repo.pending_replies(session):
            target = folder / f"{item.id:05d}-{item.kind}.eml"
            tmp = target.with_suffix(".part")
            tmp.write_bytes(item.raw)
            os.replace(tmp, target)
            item.status, item.sent_at, item.attempts = ReplyState.SENT, app.clock(), item.attempts + 1
            written.append(target)
        session.commit()
    return written


def answers_our_mail(session: Session, config: Config, in_reply_to: str, references: str) -> str | None:
    """Why mail whose In-Reply-To / References names one of our own messages gets no automatic answer, or None.

    An out-of-office or a robot without Auto-Submitted answering our reply would otherwise be answered
    again, and that answer answered, until the caps. Ours are the replies in the outbox and anything of our
    Message-ID forms (<intake.…@our domain>, the nightly report's <….report@our domain>). A clerk who sends
    corrected materials by pressing Reply is still judged and recorded; staff can tell them (`intake review
    --notify`)."""
    ids = referenced_ids(in_reply_to, references)
    domains = own_domains(config)
    ours = [i for i in ids if looks_like_ours(i, domains)] or sorted(repo.known_reply_ids(session, ids))
    if not ours:
        return None
    return f"answers our own message {ours[0][:100]} (In-Reply-To/References): never answered automatically"
