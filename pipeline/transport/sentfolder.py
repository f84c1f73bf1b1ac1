"""Ask the mailbox's sent folder whether replies went out: how a crash during sending is settled.

126 (with 客户端发信保存到已发送 on) saves every message it accepts from a client
in 已发送 before answering 250. So after a crash between the server's 250 and our
record, the reply's Message-ID in that folder means "accepted", and its absence
means "never accepted". `smtp.sent_folder` names the folder (or a SPECIAL-USE flag
such as "\\Sent"); the [mailbox] account is used, read-only (EXAMINE).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pipeline.errors import MailboxError
from pipeline.intake.app import App
from pipeline.transport.imap import Mailbox, connect, match_folder
from pipeline.transport.poller import mailbox_password

log = logging.getLogger(__name__)


def sent_copies(app: App, message_ids: Iterable[str]) -> dict[str, bool] | None:
    """{Message-ID: found in the sent folder}, or None when that cannot be known (off, unreachable, no folder)."""
    wanted = list(message_ids)
    spec = app.config.smtp.sent_folder
    if not spec or not wanted or not app.config.mailbox.host:
        return None
    try:
        with connect(app.config.mailbox, mailbox_password(app.config.mailbox)) as box:
            return _look_up(box, spec, wanted)
    except (MailboxError, ValueError) as exc:
        # Unknown is not "absent": guessing "absent" would send a reply twice.
        log.error("cannot check the sent folder %r: %s", spec, exc)
        return None


def _look_up(box: Mailbox, spec: str, wanted: list[str]) -> dict[str, bool] | None:
    folder = match_folder(spec, box.folders())
    if folder is None:
        log.error("the mailbox has no folder %r (smtp.sent_folder): crash-interrupted replies stay unknown", spec)
        return None
    box.examine(folder)
    return {message_id: bool(box.uids_with_message_id(message_id)) for message_id in wanted}
