"""A small office for the staff-side tests: sample mail ingested through the real CLI into a real SQLite
file, replies delivered to a real aiosmtpd, one of them refused for good (a failed reply to report).

Also the hostile message: sample 01 re-sent under a subject that is an HTML tag.
"""

from __future__ import annotations

import json
import re
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import REPO
from helpers.configfile import write_example_config
from helpers.smtp_server import SmtpServer
from pipeline.cli.main import main

SAMPLES = REPO / "sample_mail"
# Accepted, rejected, superseded, review, ignored, deadline-day and late mail; no RAR (unar may be missing).
SUBSET = ("01-accepted-zip-gbk.eml", "02-accepted-7z-utf8.eml", "04-accepted-mac-zip-deadline-day.eml",
          "06-narrative-too-short.eml", "07-resubmission-fixed.eml", "08-evidence-png-renamed.eml",
          "15-no-attachment.eml", "21-late.eml", "22-large-attachment-link.eml", "23-auto-reply.eml",
          "25-duplicate.eml", "26-unrelated.eml")
HOSTILE_SUBJECT = "<img src=x onerror=alert(1)>正定县总工会张三创新工作室入库材料"


def run(*args: str, code: int = 0) -> str:
    """The real CLI; stdout only (progress goes to stderr)."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


def hostile_message() -> bytes:
    """Sample 01 with a subject that would be markup if the report did not escape it, and its own Message-ID."""
    raw = (SAMPLES / "01-accepted-zip-gbk.eml").read_bytes()
    subject = f"=?utf-8?b?{b64encode(HOSTILE_SUBJECT.encode()).decode()}?="
    raw = re.sub(rb"^Subject: .*$", f"Subject: {subject}".encode(), raw, count=1, flags=re.MULTILINE)
    return raw.replace(b"<20250526100133.7431@zdxzgh.126.com>", b"<hostile.1@zdxzgh.126.com>")


def write_config(root: Path, server: SmtpServer) -> Path:
    """config.example.toml with storage under `root` and SMTP at the test server (no login, no pauses)."""
    return write_example_config(root, outbox=False, smtp={
        "host": "127.0.0.1", "port": server.port, "ssl": False, "username": "", "send_interval_seconds": 0,
        "max_attempts": 3, "timeout_seconds": 10})


@dataclass
class Site:
    """One configured office with its mail processed."""

    root: Path
    config: Path
    server: SmtpServer

    def cli(self, *args: str, code: int = 0) -> str:
        return run(*args, "--config", str(self.config), code=code)

    def rows(self, *args: str) -> list[dict]:
        return json.loads(self.cli("submissions", "--json", *args))


def build_site(root: Path, server: SmtpServer) -> Site:
    """Ingest the subset and the hostile message, then deliver with the first reply refused (554)."""
    mail = root / "mail"
    mail.mkdir(parents=True)
    for name in SUBSET:
        (mail / name).write_bytes((SAMPLES / name).read_bytes())
    (mail / "99-hostile.eml").write_bytes(hostile_message())
    site = Site(root, write_config(root, server), server)
    site.cli("ingest", str(mail))
    server.refuse("554 5.7.1 recipient address rejected", times=1)
    site.cli("outbox", "--retry", code=1)  # 1: one reply failed
    return site


def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A module's site with its own SMTP relay (`yield from office(...)` in a module-scoped fixture)."""
    server = SmtpServer()
    server.start()
    try:
        yield build_site(tmp_path_factory.mktemp("office"), server)
    finally:
        server.stop()
