"""What the tests share: the repository's root, the fake clock, and (in the modules beside this one) real servers
on loopback (dovecot_server, smtp_server, pg), the example configuration pointed at a folder (configfile), the
message corpora (mailcorpus, staff_site, crash_checks, hostile), and the builders and fixtures more than one test
module uses: archives, docx, facts, submissions, volumes, poller, run_site. A test module imports what it shares
from here, never from another test module (tests/unit/test_layering.py checks it)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class FakeClock:
    """The only fake in the suite: time that moves when a test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
