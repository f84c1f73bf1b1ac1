"""A submission forwarded as an attachment (作为附件转发) is judged by the attached message's attachments."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
import samplegen as g

from pipeline.intake.ledger import ingest_bytes
from pipeline.mail.mimestream import STREAM_THRESHOLD
from storage import repo

CST = timezone(timedelta(hours=8))
STUDIO = g.Studio(unit="正定县总工会", leader="赵刚", gender="男", applicant="正定县某某机械厂", seed=22)
MATERIALS = {"form_word", "form_scan", "narrative", "evidence", "summary"}


def enterprise_message(extra: bytes = b"") -> bytes:
    """What the enterprise union sent to the county union: the archive, named as the notice asks."""
    files = g.materials(STUDIO)
    if extra:  # a big stored member makes the forward a message intake streams from disk
        files.append(("（3）佐证材料/说明.txt", extra))
    sent = datetime(2025, 5, 26, 9, 0, tzinfo=CST)
    return g.eml(subject=STUDIO.subject, from_name="正定县某某机械厂工会", from_addr="jxcgh@163.com", date=sent,
                 received=None, message_id="<original@163.com>", body_text="请审核后报送。",
                 attachments=[g.Attachment(STUDIO.subject + ".zip", g.zip_bytes(files))], style="netease")


def forward(attached: list[g.Attachment]) -> bytes:
    received = datetime(2025, 5, 27, 10, 0, tzinfo=CST)
    return g.eml(subject="转发：" + STUDIO.subject, from_name="正定县总工会", from_addr="zdxzgh@126.com", date=received,
                 received=received, message_id="<forward@zdxzgh.126.com>", body_text="转发正定县某某机械厂工会的申报材料。",
                 attachments=attached)


def judged(app, raw: bytes) -> tuple[str, list[str], list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    """(verdict, finding codes, [(role, file name)])."""
    assert ingest_bytes(app, raw, "file:/forwarded.eml").status == "new"
    with app.sessions() as session:
        (sub,) = repo.submissions(session)
        return sub.verdict, sorted(f.code for f in sub.findings), [(d.role, d.name) for d in sub.documents]


@pytest.mark.parametrize("as_type", ["message/rfc822", None], ids=["rfc822-8bit", "eml-file-base64"])
def test_the_archive_inside_a_forwarded_message_is_judged(app, as_type: str | None) -> None:
    raw = forward([g.Attachment(STUDIO.subject + ".eml", enterprise_message(), as_type)])
    verdict, codes, documents = judged(app, raw)
    assert (verdict, codes) == ("accepted", [])
    assert MATERIALS <= {role for role, _name in documents}


@pytest.mark.parametrize("as_type", ["message/rfc822", None], ids=["rfc822-8bit", "eml-file-base64"])
def test_a_large_forwarded_message_is_opened_from_disk(app, as_type: str | None) -> None:
    inner = enterprise_message(extra=os.urandom(3 * STREAM_THRESHOLD))
    _verdict, codes, documents = judged(app, forward([g.Attachment(STUDIO.subject + ".eml", inner, as_type)]))
    assert "NOT_ARCHIVE" not in codes and not [c for c in codes if c.startswith("MISSING")]
    assert MATERIALS <= {role for role, _name in documents}


def test_an_attached_message_without_attachments_stays_a_file(app) -> None:
    note = g.eml(subject="关于报送的说明", from_name="正定县总工会", from_addr="zdxzgh@126.com",
                 date=datetime(2025, 5, 26, 9, 0, tzinfo=CST), received=None, message_id="<note@126.com>",
                 body_text="另附说明。")
    archive = g.zip_bytes(g.materials(STUDIO))
    raw = forward([g.Attachment(STUDIO.subject + ".zip", archive), g.Attachment("说明.eml", note, "message/rfc822")])
    _verdict, _codes, documents = judged(app, raw)
    assert MATERIALS <= {role for role, _name in documents}
    assert any(name == "说明.eml" for _role, name in documents)


def test_a_forwarded_message_whose_materials_are_a_download_link_goes_to_review_as_a_link(app) -> None:
    name = STUDIO.subject + ".zip"
    url = "https://mail.163.com/large-attachment-download/index.html?p=X-NETEASE-HUGE-ATTACHMENT.0a1b2c&title=x"
    inner = g.eml(subject=STUDIO.subject, from_name="正定县某某机械厂工会", from_addr="jxcgh@163.com",
                  date=datetime(2025, 5, 26, 9, 0, tzinfo=CST), received=None, message_id="<link@163.com>",
                  body_text=f"请审核后报送。\n\n从网易163邮箱发来的超大附件\n{name} (86.42M, 2025年6月13日 17:40 到期)\n下载地址：{url}\n",
                  style="netease")
    verdict, codes, _documents = judged(app, forward([g.Attachment(STUDIO.subject + ".eml", inner, "message/rfc822")]))
    assert (verdict, codes) == ("review", ["LARGE_ATTACHMENT_LINK"])  # not "no archive, every material missing"
