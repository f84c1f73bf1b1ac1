"""Submissions forwarded as an attachment: the materials are the attachments of the attached message.

A county union clerk who received an enterprise union's e-mail often forwards it "as an attachment" (Foxmail
and Outlook: 作为附件转发): the message carries one message/rfc822 part and the archive is inside that. Judged
as it arrives, it had no archive and none of the materials. Its attached messages are opened one level deep
and their attachments stand in for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.mail import Attachment, decode_message
from pipeline.mimestream import split_file

MESSAGE_TYPES = ("message/rfc822", "message/global")


def is_attached_message(att: Attachment) -> bool:
    """An attached e-mail: by its MIME type, or an .eml file sent as application/octet-stream."""
    return att.content_type in MESSAGE_TYPES or att.filename.lower().endswith(".eml")


def unwrap_forwarded(attachments: Sequence[Attachment], spill_dir: Path) -> tuple[Attachment, ...]:
    """`attachments` with each attached message that has attachments replaced by them (in its place).

    One level only: a message attached to the attached message stays as it is. A large attached message
    that mimestream already decoded to a file is split from that file into `spill_dir`, never read whole.
    """
    out: list[Attachment] = []
    for i, att in enumerate(attachments):
        inner = _attachments_of(att, spill_dir / f"{i:03d}") if is_attached_message(att) else ()
        out.extend(inner or (att,))
    return tuple(out)


def _attachments_of(att: Attachment, spill_dir: Path) -> tuple[Attachment, ...]:
    if att.path is not None:
        return split_file(att.path, spill_dir).attachments
    return decode_message(att.data).attachments
