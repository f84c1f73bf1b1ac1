"""The staff console on a real office: staff_site's mail ingested through the real CLI (one reply refused by
the real SMTP relay), two messages with hostile subjects, three accounts made with `intake staff add`, and the
console served by waitress on loopback from a thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.header import Header
from email.policy import compat32
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from helpers.browser import chromium
from helpers.smtp_server import SmtpServer
from helpers.staff_site import SAMPLES, Site, build_site
from pipeline.bootstrap import build_app
from pipeline.cli.main import main
from pipeline.config import load_config
from pipeline.web.app import create_app
from pipeline.web.server import make_server

SCRIPT_SUBJECT = "<script>alert(1)</script>正定县总工会张三创新工作室入库材料"
FORMULA_SUBJECT = '=HYPERLINK("http://evil.example/","点我")正定县总工会张三创新工作室入库材料'
PASSWORD = "correct horse battery"
REVIEW_SAMPLES = ("28-form-team-too-small.eml", "35-scan-without-seal.eml")  # more of the queue to work through
ACCOUNTS = {"admin": "admin", "reviewer": "李四", "viewer": "王五", "victim": "赵六"}  # role (or purpose) → name


def resent(subject: str, message_id: str) -> bytes:
    """Sample 01 sent again under `subject` (RFC 2047 encoded) with a Message-ID of its own."""
    msg = message_from_bytes((SAMPLES / "01-accepted-zip-gbk.eml").read_bytes(), policy=compat32)
    msg.replace_header("Subject", Header(subject, "utf-8").encode())
    msg.replace_header("Message-ID", message_id)
    return msg.as_bytes()


def add_account(config: Path, name: str, role: str, password: str = PASSWORD) -> None:
    """`intake staff add NAME --role ROLE --password-stdin`, as an operator's script would run it."""
    result = CliRunner().invoke(main, ["staff", "add", name, "--role", role, "--password-stdin",
                                       "--config", str(config)], input=password + "\n")
    assert result.exit_code == 0, result.output


@dataclass
class Console:
    """A served console and the office behind it."""

    url: str
    site: Site

    def name(self, who: str) -> str:
        return ACCOUNTS[who]


def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """A module's console (`yield from console(...)` in a module-scoped fixture)."""
    server = SmtpServer()
    server.start()
    try:
        site = build_site(tmp_path_factory.mktemp("console"), server)
        extra = site.root / "hostile"
        extra.mkdir()
        (extra / "script.eml").write_bytes(resent(SCRIPT_SUBJECT, "<script.1@zdxzgh.126.com>"))
        (extra / "formula.eml").write_bytes(resent(FORMULA_SUBJECT, "<formula.1@zdxzgh.126.com>"))
        for name in REVIEW_SAMPLES:
            (extra / name).write_bytes((SAMPLES / name).read_bytes())
        site.cli("ingest", str(extra))
        for who, name in ACCOUNTS.items():
            add_account(site.config, name, who if who != "victim" else "viewer")
        web = make_server(create_app(build_app(load_config(site.config))), "127.0.0.1", 0)
        thread = threading.Thread(target=web.run, daemon=True)
        thread.start()
        try:
            yield Console(f"http://127.0.0.1:{web.effective_port}", site)
        finally:
            web.close()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The module's console (import this fixture, with `downloads` and `driver`, into a test module)."""
    yield from console(tmp_path_factory)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the module's browser saves what it downloads."""
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def driver(downloads: Path) -> Iterator[Any]:
    """The module's headless chromium (skips the module's tests when it is not installed)."""
    with chromium(downloads) as browser:
        yield browser


def log_in(driver: object, console: Console, who: str, password: str = PASSWORD) -> None:
    """A fresh session (cookies cleared) for the account `who` stands for, through the login form."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(console.url + "/login")  # type: ignore[attr-defined]
    driver.delete_all_cookies()  # type: ignore[attr-defined]
    driver.get(console.url + "/login")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "name").send_keys(console.name(who))  # type: ignore[attr-defined]
    driver.find_element(By.ID, "password").send_keys(password)  # type: ignore[attr-defined]
    button = driver.find_element(By.ID, "login")  # type: ignore[attr-defined]
    button.click()
    # The form posts and a new page loads: wait for it (the old page's button is gone from the document), so
    # the caller reads the answer, not the form it just sent, however slow a loaded machine is. Chromium
    # reports a node of the old page as stale or, now and then, as "does not belong to the document".

    def old_page_gone(_driver: object) -> bool:
        try:
            button.is_enabled()
        except WebDriverException:
            return True
        return False

    WebDriverWait(driver, 30).until(old_page_gone)
