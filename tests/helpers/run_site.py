"""`intake run` against the test servers: a config file pointed at Dovecot and aiosmtpd, ways to run the CLI on it,
the servers as fixtures (`imap`, `smtp`), and sample mail loaded into the mailbox at the dates of MAILBOX.

    from helpers.dovecot_server import dovecot  # noqa: F401  (a fixture: `imap` asks for it)
    from helpers.run_site import MAILBOX, Site, imap, load, smtp  # noqa: F401  (fixtures)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from samplegen import CST

from helpers import REPO
from helpers.crash_checks import OFFICE, SMTP_CODE
from helpers.dovecot_server import DovecotServer
from helpers.smtp_server import SmtpServer, toml_set
from helpers.staff_site import SAMPLES
from pipeline.cli.main import main

DEADLINE = datetime(2025, 5, 30, 23, 59, 59, tzinfo=CST)
# sample → (INTERNALDATE, folder, expected verdict, a code it must carry)
MAILBOX: dict[str, tuple[datetime, str, str, str | None]] = {
    "01-accepted-zip-gbk.eml": (datetime(2025, 5, 26, 10, 2, tzinfo=CST), "INBOX", "accepted", None),
    "04-accepted-mac-zip-deadline-day.eml": (DEADLINE, "INBOX", "accepted", None),
    "02-accepted-7z-utf8.eml": (DEADLINE + timedelta(seconds=1), "INBOX", "rejected", "LATE"),
    "06-narrative-too-short.eml": (datetime(2025, 5, 24, 16, 20, tzinfo=CST), "INBOX", "rejected",
                                   "NARRATIVE_TOO_SHORT"),
    "15-no-attachment.eml": (datetime(2025, 5, 23, 17, 2, tzinfo=CST), "垃圾邮件", "rejected", "NO_ATTACHMENT"),
    "22-large-attachment-link.eml": (datetime(2025, 5, 29, 17, 40, tzinfo=CST), "INBOX", "review", None),
    "23-auto-reply.eml": (datetime(2025, 5, 27, 8, 4, tzinfo=CST), "INBOX", "ignored", "AUTO_REPLY"),
    "26-unrelated.eml": (datetime(2025, 5, 25, 3, 15, tzinfo=CST), "垃圾邮件", "ignored", "UNRELATED"),
}


class Site:
    """A config file pointed at the test servers, and ways to run `intake` on it."""

    def __init__(self, tmp_path: Path, imap: DovecotServer, smtp: SmtpServer, *,
                 mailbox: dict[str, Any] | None = None, sending: dict[str, Any] | None = None,
                 storage: dict[str, str] | None = None) -> None:
        text = (REPO / "config.example.toml").read_text(encoding="utf-8")
        # storage: the [storage] keys of another database (conftest's storage_settings)
        text = toml_set(text, "storage", **{"url": f"sqlite:///{tmp_path}/intake.db",
                                            "data_dir": str(tmp_path / "data"), **(storage or {})})
        text = toml_set(text, "mailbox", host=imap.host, port=imap.port, ssl=False, username=imap.user,
                        timeout_seconds=10, **(mailbox or {}))
        text = toml_set(text, "smtp", host="127.0.0.1", port=smtp.port, ssl=False, send_interval_seconds=0,
                        timeout_seconds=10, **(sending or {}))
        self.path, self.smtp, self.lock = tmp_path / "config.toml", smtp, tmp_path / "data" / "intake.lock"
        self.path.write_text(text, encoding="utf-8")
        self.env = {**os.environ, "INTAKE_IMAP_PASSWORD": imap.password, "INTAKE_SMTP_PASSWORD": SMTP_CODE}
        self.env.pop("JOURNAL_STREAM", None)  # set only where a test says so

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "pipeline", *args, "--config", str(self.path)]

    def run_once(self, expect: int = 0) -> str:
        proc = subprocess.run(self.command("run", "--once"), env=self.env, capture_output=True, text=True, timeout=120,
                              check=False)
        assert proc.returncode == expect, proc.stdout + proc.stderr
        return proc.stdout

    def submissions(self) -> list[dict[str, Any]]:
        out = CliRunner().invoke(main, ["submissions", "--json", "--config", str(self.path)])
        assert out.exit_code == 0, out.output
        return json.loads(out.output)


@pytest.fixture
def smtp() -> Any:
    """Like 126: AUTH required, and MAIL FROM must be the logged-in user."""
    server = SmtpServer(username=OFFICE, password=SMTP_CODE)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def imap(dovecot: DovecotServer) -> DovecotServer:
    """The Dovecot from tests/helpers/dovecot_server.py, under a name that doesn't shadow the import."""
    return dovecot


def load(imap: DovecotServer, names: list[str]) -> None:
    """Append the named samples, each to its MAILBOX folder at its MAILBOX date (the INTERNALDATE)."""
    for name in names:
        when, folder, _verdict, _code = MAILBOX[name]
        imap.append(folder, (SAMPLES / name).read_bytes(), when)
