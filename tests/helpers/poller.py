"""Polling the test Dovecot: a distinct correct submission per studio number, times of May 2025 in Beijing time,
the `imap` fixture (an App whose mailbox is the Dovecot), and what the ledger holds afterwards.

    from helpers.dovecot_server import dovecot  # noqa: F401 - fixture (`imap` asks for it)
    from helpers.poller import at, counts, imap, submission, verdict_of  # noqa: F401 - imap is a fixture
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

import pytest
import samplegen as g
from samplegen import CST
from sqlalchemy import func, select

from helpers.dovecot_server import DovecotServer
from pipeline.bootstrap import build_app
from pipeline.intake.app import App
from storage import repo
from storage.models import Message, OutboxItem, Submission

BODY_MARK = "附件为入库材料"  # in every body `submission` builds; must never reach a log


def studio(n: int) -> g.Studio:
    """A different studio (and sender) per n, so no two test messages are duplicates of each other."""
    units = ["正定县总工会", "鹿泉区总工会", "高邑县总工会", "辛集市总工会", "晋州市总工会", "新乐市总工会"]
    return g.Studio(unit=units[n % len(units)], leader="张三李四王五赵六钱七孙八"[n % 6 * 2:n % 6 * 2 + 2], gender="男",
                    applicant="某某机械厂", seed=40 + n)


def submission(n: int, *, date: datetime, received: datetime | None = None) -> bytes:
    """A complete, correct submission from studio `n` with the given Date (and Received) header."""
    s = studio(n)
    archive = g.zip_bytes(g.materials(s))
    return g.eml(subject=s.subject, from_name=s.unit, from_addr=f"unit{n}@126.com", date=date,
                 received=received, message_id=f"<sub{n}.{date:%H%M%S}@126.com>",
                 body_text=f"您好，{BODY_MARK}，请查收。", attachments=[g.Attachment(s.subject + ".zip", archive)])


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """That moment of May 2025, Beijing time."""
    return datetime(2025, 5, day, hour, minute, second, tzinfo=CST)


@pytest.fixture
def imap(config, clock, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> Callable[..., App]:
    """Build an App whose mailbox is the test Dovecot (mailbox settings overridable); the password is in the env."""
    monkeypatch.setenv("INTAKE_IMAP_PASSWORD", dovecot.password)

    def make(server: DovecotServer = dovecot, **mailbox: object) -> App:
        return build_app(dataclasses.replace(config, mailbox=server.mailbox_config(**mailbox)), clock=clock)

    return make


def counts(app: App) -> tuple[int, int, int]:
    """(ledger rows, submissions, replies)."""
    with app.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Message, Submission, OutboxItem))


def outcomes(app: App) -> dict[str, tuple[str, list[str]]]:
    """source_key → (verdict, finding codes)."""
    with app.sessions() as s:
        return {x.message.source_key: (x.verdict, sorted(f.code for f in x.findings)) for x in repo.submissions(s)}


def verdict_of(app: App, folder: str, uid: int) -> tuple[str, list[str]]:
    """(verdict, finding codes) of the message with that UID in that folder."""
    (key,) = [k for k in outcomes(app) if k.startswith(f"imap:{folder}:") and k.endswith(f":{uid}")]
    return outcomes(app)[key]
