"""Submissions forwarded as an attachment: the materials are the attachments of the attached message.

A county union clerk who received an enterprise union's e-mail often forwards it "as an attachment" (Foxmail
and Outlook: 作为附件转发): the message carries one message/rfc822 part and the archive is inside that. Judged
as it arrives, it had no archive and none of the materials. Its attached messages are opened one level deep
and their attachments stand in for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.mail.classify import find_large_attachment_links
from pipeline.mail.decode import Attachment, DecodedMail, decode_message
from pipeline.mail.mimestream import split_file
from pipeline.rules.facts import LargeAttachmentLink

MESSAGE_TYPES = ("message/rfc822", "message/global")


def is_attached_message(att: Attachment) -> bool:
    """An attached e-mail: by its MIME type, or an .eml file sent as application/octet-stream."""
    return att.content_type in MESSAGE_TYPES or att.filename.lower().endswith(".eml")


@dataclass(frozen=True)
class Unwrapped:
    """A message's attachments with its attached messages opened, and the 超大附件 / cloud links in the bodies
    of those opened."""

    attachments: tuple[Attachment, ...]
    large_links: tuple[LargeAttachmentLink, ...]


def unwrap_forwarded(attachments: Sequence[Attachment], spill_dir: Path) -> Unwrapped:
    """`attachments` with each attached message that carries materials (attachments, or a 超大附件 link in its
    body) replaced by its attachments, in its place.

    One level only: a message attached to the attached message stays as it is. A large attached message
    that mimestream already decoded to a file is split from that file into `spill_dir`, never read whole.
    """
    out: list[Attachment] = []
    links: list[LargeAttachmentLink] = []
    for i, att in enumerate(attachments):
        inner = _open(att, spill_dir / f"{i:03d}") if is_attached_message(att) else None
        inner_links = find_large_attachment_links(inner) if inner is not None else ()
        if inner is not None and (inner.attachments or inner_links):
            out.extend(inner.attachments)
            links.extend(inner_links)
        else:
            out.append(att)
    return Unwrapped(tuple(out), tuple(links))


def _open(att: Attachment, spill_dir: Path) -> DecodedMail:
    return split_file(att.path, spill_dir) if att.path is not None else decode_message(att.data)
