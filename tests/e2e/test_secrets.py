"""Secrets stay out of files and logs; the data folder and the database are private to the service account."""

from __future__ import annotations

import base64
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO
from helpers.dovecot_server import DovecotServer, dovecot  # noqa: F401  (a fixture)
from helpers.run_site import MAILBOX, OFFICE, SMTP_CODE, Site, imap, load, smtp  # noqa: F401  (fixtures)
from helpers.smtp_server import SmtpServer
from pipeline.bootstrap import build_app
from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.intake.ledger import ingest_bytes

# `intake -v run --once` with the root logger at DEBUG (-v alone gives INFO): the most a log can ever say.
_DEBUG_RUN = """
import logging, sys
_basic = logging.basicConfig
logging.basicConfig = lambda **kw: _basic(**{**kw, "level": logging.DEBUG})
from pipeline.cli.main import main
sys.argv = ["intake", "-v", *sys.argv[1:]]
main()
"""


def secret_forms(user: str, password: str) -> list[str]:
    """The password as it could leak: plain, base64 alone, and inside AUTH PLAIN / AUTH LOGIN exchanges."""
    def b64(raw: str) -> str:
        return base64.b64encode(raw.encode()).decode()
    return [password, b64(password), b64(f"\0{user}\0{password}"), b64(f"{user}\0{user}\0{password}")]


def _run_debug(site: Site) -> str:
    cmd = [sys.executable, "-c", _DEBUG_RUN, "run", "--once", "--config", str(site.path)]
    proc = subprocess.run(cmd, env=site.env, capture_output=True, text=True, timeout=180, check=False, cwd=REPO)
    return proc.stdout + proc.stderr


def test_run_once_at_debug_never_logs_the_passwords(tmp_path: Path, imap: DovecotServer,  # noqa: F811
                                                     smtp: SmtpServer) -> None:  # noqa: F811
    site = Site(tmp_path, imap, smtp)
    load(imap, list(MAILBOX))
    output = _run_debug(site)
    assert "INFO" in output or "DEBUG" in output  # logging was on, so the absence below means something
    assert len(smtp.received) > 0  # it logged in to both servers
    text = site.path.read_text(encoding="utf-8")
    for form in secret_forms(imap.user, imap.password) + secret_forms(OFFICE, SMTP_CODE):
        assert form not in output
        assert form not in text  # the config names the variables, never the values
    # A refused login is where a password most often lands in a log line: wrong ones must not appear either.
    site.env.update(INTAKE_IMAP_PASSWORD="wrong-imap-Secret-1", INTAKE_SMTP_PASSWORD="wrong-smtp-Secret-2")
    output = _run_debug(site)
    assert "LOGIN" in output or "login" in output.lower()
    for form in secret_forms(imap.user, "wrong-imap-Secret-1") + secret_forms(OFFICE, "wrong-smtp-Secret-2"):
        assert form not in output


@pytest.mark.parametrize("section", ["mailbox", "smtp"])
def test_a_password_in_the_config_file_is_refused_without_echoing_it(tmp_path: Path, section: str) -> None:
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    text = re.sub(rf"^\[{section}\][^\n]*\n", lambda m: m.group(0) + 'password = "Plain-Text-Secret-9"\n', text,
                  count=1, flags=re.M)
    assert "Plain-Text-Secret-9" in text
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "password" in str(info.value) and "Plain-Text-Secret-9" not in str(info.value)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_folder_database_and_raw_files_are_private(config, clock) -> None:
    old = os.umask(0o022)  # a typical service umask: what would otherwise give 0755 / 0644
    try:
        app = build_app(config, clock=clock)
        ingest_bytes(app, b"From: a@b.cn\r\nSubject: x\r\n\r\nhello\r\n", "file:/p.eml")
    finally:
        os.umask(old)
    db = Path(config.storage.url.removeprefix("sqlite:///"))
    assert _mode(config.storage.data_dir) == 0o700
    assert _mode(db) == 0o600
    assert all(_mode(p) == 0o600 for p in db.parent.glob(db.name + "-*"))  # -wal / -shm
    raw_files = [p for p in (config.storage.data_dir / "raw").rglob("*") if p.is_file()]
    assert raw_files and all(_mode(p) == 0o600 for p in raw_files)


def test_an_existing_world_readable_database_is_tightened(config, clock) -> None:
    db = Path(config.storage.url.removeprefix("sqlite:///"))
    db.touch(mode=0o644)
    db.chmod(0o644)
    config.storage.data_dir.mkdir(mode=0o755)
    build_app(config, clock=clock)
    assert (_mode(db), _mode(config.storage.data_dir)) == (0o600, 0o700)
