"""IMAP IDLE between passes where the server offers it (issue 18): mail is picked up as it arrives, not at the
next poll; a server without IDLE (126) is polled as before. Against the real Dovecot of tests/helpers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from helpers.dovecot_server import CAPABILITY_126, DovecotServer, dovecot  # noqa: F401 - fixture
from helpers.poller import at, imap, submission  # noqa: F401 - imap is a fixture
from pipeline.intake.app import App
from pipeline.transport.poller import MailboxLink, poll_once


def test_the_kept_connection_wakes_when_mail_arrives(imap: Callable[..., App],
                                                  dovecot: DovecotServer) -> None:
    app, link = imap(), MailboxLink()
    try:
        poll_once(app, link=link)  # leaves the main folder EXAMINEd on the kept connection
        assert link.wait_for_mail(app, 0.5) is False  # nothing came
        threading.Timer(1.0, lambda: dovecot.append("INBOX", submission(1, date=at(26, 10)), at(26, 10))).start()
        started = time.monotonic()
        assert link.wait_for_mail(app, 20) is True
        assert time.monotonic() - started < 15  # woken by the mail, not by the 20 s timeout
        assert poll_once(app, link=link).processed == 1  # the connection is usable again after DONE
    finally:
        link.close()


def test_stopping_ends_the_wait(imap: Callable[..., App]) -> None:
    app, link = imap(), MailboxLink()
    try:
        poll_once(app, link=link)
        started = time.monotonic()
        assert link.wait_for_mail(app, 30, stop=lambda: time.monotonic() - started > 1) is False
        assert time.monotonic() - started < 15  # ended by `stop`, not by the 30 s timeout
    finally:
        link.close()


def test_without_idle_on_the_server_the_link_does_not_wait(imap: Callable[..., App]) -> None:
    server = DovecotServer.start(imap_capability=CAPABILITY_126)
    link = MailboxLink()
    try:
        app = imap(server)
        poll_once(app, link=link)
        started = time.monotonic()
        assert link.wait_for_mail(app, 10) is None and time.monotonic() - started < 5  # no 10 s wait
    finally:
        link.close()
        server.stop()
