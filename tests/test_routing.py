"""Routing: a submission attempt goes to its campaign; questions, notices and logos alone are UNRELATED."""

from __future__ import annotations

from datetime import datetime, timezone
from email.message import EmailMessage

import pytest

from pipeline.mail import decode_message
from pipeline.routing import route

WHEN = datetime(2025, 5, 26, tzinfo=timezone.utc)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _mail(subject: str, attachments: list[tuple[str, bytes, str]] = (), html: str | None = None):
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, "a@b.cn", "sjzjjb@126.com"
    msg.set_content("您好")
    if html:
        msg.add_alternative(html, subtype="html")
    for name, data, disposition in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name, disposition=disposition)
    return decode_message(msg.as_bytes())


@pytest.mark.parametrize("subject,attachments", [
    ("正定县总工会张三创新工作室入库材料", []),
    ("张三创新工作室入库材料", []),
    ("张三工作室申报", [("材料.zip", b"PK\x03\x04", "attachment")]),
    ("你好", [("正定县总工会张三创新工作室入库材料.rar", b"Rar!", "attachment")]),
    ("材料", [("申报表.docx", b"PK\x03\x04", "attachment")]),
])
def test_submission_attempts_are_routed(campaign, subject: str, attachments) -> None:
    assert route(_mail(subject, attachments), (campaign,), WHEN) is campaign


@pytest.mark.parametrize("subject,attachments", [
    ("关于创新工作室申报的咨询", []),
    ("关于创新工作室申报的咨询", [("image001.png", PNG, "inline")]),
    ("代开发票 13800000000", []),
    ("会议通知", [("通知.pdf", b"%PDF-1.4", "attachment")]),
])
def test_questions_and_other_mail_are_unrelated(campaign, subject: str, attachments) -> None:
    assert route(_mail(subject, attachments), (campaign,), WHEN) is None


def test_large_attachment_link_without_attachment_is_a_submission(campaign) -> None:
    html = '<p>从网易163邮箱发来的超大附件</p><a href="https://mail.163.com/large-attachment-download/index.html?p=X">材料.zip</a>'
    assert route(_mail("材料", html=html), (campaign,), WHEN) is campaign


def test_two_campaigns_by_subject_and_date_window(campaign) -> None:
    """One mailbox, two calls: the subject convention and the receipt time decide; outside both windows,
    nothing matches (UNRELATED)."""
    from conftest import REPO

    from pipeline.config import load_config

    qingdao = load_config(REPO / "config.qingdao.toml").campaigns[0]
    both = (campaign, qingdao)
    qd_subject = "青岛市市立医院张伟劳模创新工作室申报材料"
    zip_att = [("材料.zip", b"PK\x03\x04", "attachment")]
    assert route(_mail(qd_subject, zip_att), both, datetime(2022, 5, 12, tzinfo=timezone.utc)) is qingdao
    assert route(_mail(qd_subject, zip_att), both, datetime(2022, 5, 25, tzinfo=timezone.utc)) is qingdao  # LATE
    assert route(_mail("正定县总工会张三创新工作室入库材料", zip_att), both, WHEN) is campaign
    assert route(_mail(qd_subject, []), (qingdao,), WHEN) is None   # three years after its deadline
    assert route(_mail(qd_subject, []), (qingdao,), datetime(2022, 4, 1, tzinfo=timezone.utc)) is None  # before
