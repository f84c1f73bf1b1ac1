"""Routing: a submission attempt goes to its campaign; questions, notices and logos alone are UNRELATED."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from pipeline.intake.routing import route
from pipeline.mail.decode import decode_message

WHEN = datetime(2025, 5, 26, tzinfo=UTC)
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
    from helpers import REPO
    from pipeline.config import load_config

    qingdao = load_config(REPO / "config.qingdao.toml").campaigns[0]
    both = (campaign, qingdao)
    qd_subject = "青岛市市立医院张伟劳模创新工作室申报材料"
    zip_att = [("材料.zip", b"PK\x03\x04", "attachment")]
    assert route(_mail(qd_subject, zip_att), both, datetime(2022, 5, 12, tzinfo=UTC)) is qingdao
    assert route(_mail(qd_subject, zip_att), both, datetime(2022, 5, 25, tzinfo=UTC)) is qingdao  # LATE
    assert route(_mail("正定县总工会张三创新工作室入库材料", zip_att), both, WHEN) is campaign
    assert route(_mail(qd_subject, []), (qingdao,), WHEN) is None   # three years after its deadline
    assert route(_mail(qd_subject, []), (qingdao,), datetime(2022, 4, 1, tzinfo=UTC)) is None  # before


# --- a campaign without a subject convention (the Qingdao notice prescribes none, issue 15 §2) ---------------

QD_WHEN = datetime(2022, 5, 12, 2, 0, tzinfo=UTC)


def _qingdao():
    from helpers import REPO
    from pipeline.config import load_config

    return load_config(REPO / "config.qingdao.toml").campaigns[0]


def _with_body(subject: str, body: str, attachments: list[tuple[str, bytes, str]]):
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, "a@b.cn", "office@example.invalid"
    msg.set_content(body)
    for name, data, disposition in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name, disposition=disposition)
    return decode_message(msg.as_bytes())


@pytest.mark.parametrize("subject,body,attachments", [
    ("青岛市市立医院张伟工作室申报材料", "", [("材料.zip", b"PK\x03\x04", "attachment")]),   # no convention needed
    ("报送", "", [("申报表（盖章）.pdf", b"%PDF-1.4", "attachment")]),                  # a material's name
    ("报送", "", [("获奖证书.jpg", b"\xff\xd8\xff\xe0", "attachment")]),                 # an evidence word
    ("报送", "附件是我院的申报表和证明材料复印件", [("scan01.pdf", b"%PDF-1.4", "attachment")]),  # the covering note
    ("你好", "", [("IMG_0001.jpg", b"\xff\xd8\xff\xe0", "attachment")]),                # files, nothing telling
    ("", "", [("doc01.pdf", b"%PDF-1.4", "attachment")]),
])
def test_without_a_convention_mail_that_carries_files_is_judged(subject: str, body: str, attachments) -> None:
    qingdao = _qingdao()
    assert route(_with_body(subject, body or "您好", attachments), (qingdao,), QD_WHEN) is qingdao


@pytest.mark.parametrize("subject,body,attachments", [
    ("关于创新工作室申报的咨询", "请问申报表需要几份？", []),                       # a question: no files
    ("关于创新工作室申报的咨询", "", [("image001.png", PNG, "inline")]),          # a signature logo is no file
    ("你好", "附件是申报表", []),                                                # words in the body alone
])
def test_without_a_convention_mail_without_files_is_unrelated(subject: str, body: str, attachments) -> None:
    assert route(_with_body(subject, body or "您好", attachments), (_qingdao(),), QD_WHEN) is None


def test_without_a_convention_the_window_still_decides() -> None:
    qingdao = _qingdao()
    mail = _with_body("你好", "您好", [("IMG_0001.jpg", b"\xff\xd8\xff\xe0", "attachment")])
    assert route(mail, (qingdao,), datetime(2022, 5, 1, tzinfo=UTC)) is None   # before the notice
    assert route(mail, (qingdao,), WHEN) is None                                         # three years later


def test_overlapping_windows_a_convention_that_fits_wins(campaign) -> None:
    """Both calls open at once: the Shijiazhuang subject goes to sjz-2025 even though it carries the words the
    Qingdao materials are known by; mail that only a campaign without a convention takes goes there."""
    from dataclasses import replace

    qingdao = replace(_qingdao(), opens=campaign.opens, deadline=campaign.deadline)
    both = (qingdao, campaign)
    package = [("正定县总工会张三创新工作室入库材料.zip", b"PK\x03\x04", "attachment"),
               ("申报表（盖章）.pdf", b"%PDF-1.4", "attachment")]
    assert route(_mail("正定县总工会张三创新工作室入库材料", package), both, WHEN) is campaign
    assert route(_mail("正定县总工会张三创新工作室入库材料", package), both[::-1], WHEN) is campaign
    photos = [("IMG_0001.jpg", b"\xff\xd8\xff\xe0", "attachment")]
    assert route(_mail("你好", photos), both, WHEN) is qingdao
    assert route(_mail("关于创新工作室申报的咨询"), both, WHEN) is None
