"""Replies stay well-formed whatever the sender wrote, go only to real people, and are capped per address per day."""

from __future__ import annotations

import base64
import dataclasses
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.parser import BytesParser
from email.policy import default

import pytest
import samplegen as g
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import REPO
from pipeline.bootstrap import build_app
from pipeline.config import load_config
from pipeline.intake.ledger import ingest_bytes
from pipeline.mail.decode import decode_message
from pipeline.replies.compose import ReplyContext, build_reply, reply_subject
from pipeline.replies.policy import is_role_address, is_valid_address, reply_refusal
from storage import repo

CAMPAIGN = load_config(REPO / "config.example.toml").campaigns[0]
CST = timezone(timedelta(hours=8))
RECEIVED = datetime(2025, 5, 26, 10, 0, tzinfo=CST)
STUDIO = g.Studio(unit="正定县总工会", leader="张三", gender="男", applicant="正定县某某机械厂", seed=7)
REPLY_HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Auto-Submitted",
                 "X-Auto-Response-Suppress", "Content-Type", "Content-Transfer-Encoding", "MIME-Version"]


def _encoded(text: str) -> str:
    return "=?utf-8?B?" + base64.b64encode(text.encode()).decode() + "?="


_EVIL_REFERENCE = _encoded("<x>\r\nBcc: y@evil.cn")


def _raw(subject_header: str, from_header: str = "zdxzgh@126.com", extra: str = "") -> bytes:
    return (f"From: {from_header}\r\nTo: sjzjjb@126.com\r\nSubject: {subject_header}\r\n"
            f"Message-ID: <m1@example.cn>\r\nReferences: <r0@example.cn> {_EVIL_REFERENCE}\r\n"
            f"{extra}Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n").encode("utf-8", "surrogateescape")


def assert_well_formed(raw: bytes, to_addr: str) -> None:
    """The reply parses without defects, carries exactly our headers once each, and no line is over 998."""
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    msg = BytesParser(policy=default).parsebytes(raw)
    assert sorted(msg.keys()) == sorted(REPLY_HEADERS), msg.keys()
    assert not msg.defects and all(not msg[h].defects for h in msg.keys())
    assert msg["To"].addresses[0].addr_spec == to_addr
    assert "\n" not in str(msg["Subject"]) and "\r" not in str(msg["Subject"])
    assert msg.get_content_type() == "text/plain"


def _reply_for(raw: bytes) -> bytes:
    mail = decode_message(raw)
    ctx = ReplyContext(to_addr="zdxzgh@126.com", subject=mail.subject, message_id=mail.message_id,
                       references=mail.header("references"), received_at=RECEIVED, studio="", unit="")
    sender = "石家庄市总工会劳动和经济工作部 <sjzjjb@126.com>"
    # A receipt names the studio: the sender's text reaches the Subject this way (a rejection's is fixed).
    subject = reply_subject("accepted", CAMPAIGN, "", mail.subject)
    return build_reply("accepted", "正文\n", ctx, sender, "<r@126.com>", RECEIVED, subject=subject).raw


_HOSTILE_TEXT = st.lists(st.sampled_from(["\r", "\n", "\r\n", "\x00", "\x0b", " ", "Bcc: x@evil.cn", ":", "=?",
                                         "?=", "张", "a", "\u2028", "\u202e", "\t", '"', "<", ">", "\\"]),
                         max_size=40).map("".join)


@settings(max_examples=120, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(subject=_HOSTILE_TEXT, name=_HOSTILE_TEXT, encode=st.booleans())
def test_reply_headers_stay_well_formed_for_hostile_subjects_and_names(subject: str, name: str, encode: bool) -> None:
    # A raw CR/LF ends the header (folding only continues on whitespace); an encoded one decodes to CR/LF.
    subject_header = _encoded(subject) if encode else subject.replace("\r", "").replace("\n", "\r\n ")
    from_header = f"{_encoded(name)} <zdxzgh@126.com>"
    assert_well_formed(_reply_for(_raw(subject_header or "x", from_header)), "zdxzgh@126.com")


@pytest.mark.parametrize("subject_header", [
    _encoded("正定县总工会\r\nBcc: victim@evil.cn\r\n\r\nspam body"),
    "=?utf-8?Q?a=0D=0ABcc:_victim@evil.cn?=",
    # Regression (found by hypothesis): U+2028, U+0085 and U+001C are line ends to str.splitlines, and the
    # email package refused the Subject, so the whole message failed with INTERNAL_ERROR on every retry.
    _encoded("入库材料\u2028\x85\x1cBcc: victim@evil.cn"),
    _encoded("长" * 5000),  # very long: folded, never one 998+ line
    " ".join([_encoded("张三创新工作室")] * 400),
])
def test_known_injection_subjects(subject_header: str) -> None:
    raw = _reply_for(_raw(subject_header))
    assert_well_formed(raw, "zdxzgh@126.com")
    assert b"\r\nBcc:" not in raw.split(b"\r\n\r\n", 1)[0]


@pytest.mark.parametrize("addr, ok", [
    ("zdxzgh@126.com", True), ("zhang.san+tag@mail.example.cn", True), ("a@b", False), ("a b@c.cn", False),
    ("a@b.cn\r\nBcc: x@y.cn", False), ("@b.cn", False), ("a@-b.cn", False), ("a..b@c.cn", False),
    ("张三@example.cn", False), ("x" * 65 + "@c.cn", False), ("a@b.c", False), ("", False),
])
def test_valid_address_syntax(addr: str, ok: bool) -> None:
    assert is_valid_address(addr) is ok


@pytest.mark.parametrize("addr", ["postmaster@x.cn", "MAILER-DAEMON@x.cn", "noreply@x.cn", "no-reply@x.cn",
                                  "donotreply@x.cn", "root@x.cn", "abuse@x.cn", "noreply+abc@x.cn",
                                  "owner-list@x.cn", "list-request@x.cn"])
def test_role_addresses(addr: str) -> None:
    assert is_role_address(addr)
    assert reply_refusal(addr, frozenset()) is not None


def _submission(from_addr: str, *, message_id: str, reply_to: str | None = None, when: datetime = RECEIVED) -> bytes:
    extra = [("Reply-To", reply_to)] if reply_to else []
    return g.eml(subject=STUDIO.subject, from_name="正定县总工会", from_addr=from_addr, date=when, received=when,
                 message_id=message_id, body_text="附件为入库材料，请查收。", extra_headers=extra,
                 attachments=[g.Attachment(STUDIO.subject + ".zip", g.zip_bytes(g.materials(STUDIO)))])


@pytest.mark.parametrize("from_addr, reply_to, why", [
    ("root@zdx.example.cn", None, "role address"),
    ("abuse@zdx.example.cn", None, "role address"),
    ("zgh@zdx.gov.cn", "postmaster@zdx.gov.cn", "role address"),  # a Reply-To honoured (own domain) is checked too
    ("zdxzgh@localhost", None, "not a valid address"),
])
def test_no_reply_to_role_own_or_invalid_senders_but_still_judged(config, clock, caplog, from_addr: str,
                                                                  reply_to: str | None, why: str) -> None:
    # Judged in this process so that caplog sees the log line (a sandbox child logs to the forkserver's stderr).
    app = build_app(dataclasses.replace(config, sandbox=dataclasses.replace(config.sandbox, isolate=False)),
                    clock=clock)
    result = ingest_bytes(app, _submission(from_addr, message_id="<role@x.cn>", reply_to=reply_to), "file:/r/1.eml")
    assert result.status == "new" and result.verdict in ("accepted", "rejected", "review")
    with app.sessions() as s:
        (sub,) = repo.submissions(s)
        assert sub.replies == []
        assert why in sub.fields["reply_withheld"]
    assert any(why in r.getMessage() and "no reply queued" in r.getMessage() for r in caplog.records)


def test_daily_cap_per_recipient(config, clock) -> None:
    """The (cap+1)th reply to one address within a day is held back as failed; a day later replies go again."""
    cap = 3
    app = build_app(dataclasses.replace(config, smtp=dataclasses.replace(config.smtp, daily_cap_per_recipient=cap)),
                    clock=clock)
    for i in range(cap + 2):
        ingest_bytes(app, _submission("zdxzgh@126.com", message_id=f"<cap{i}@x.cn>",
                                      when=RECEIVED + timedelta(minutes=i)),
                     f"file:/cap/{i}.eml")
    clock.now += timedelta(days=1, minutes=1)
    ingest_bytes(app, _submission("zdxzgh@126.com", message_id="<cap-next@x.cn>", when=RECEIVED + timedelta(days=1)),
                 "file:/cap/next.eml")
    with app.sessions() as s:
        statuses = [r.status for sub in repo.submissions(s) for r in sub.replies]
        errors = [r.last_error for sub in repo.submissions(s) for r in sub.replies if r.status == "failed"]
    assert statuses == ["pending"] * cap + ["failed"] * 2 + ["pending"]
    assert all("daily cap of 3" in e for e in errors)


def test_reply_raw_from_the_outbox_is_well_formed(app) -> None:
    """End to end: a hostile subject and display name through ingest, the queued reply parsed back."""
    raw = _submission("zdxzgh@126.com", message_id="<e2e@x.cn>").replace(
        b"From: ", b"From: " + _encoded("正定\r\nBcc: x@evil.cn").encode() + b" <zdxzgh@126.com>\r\nX-Old-From: ", 1)
    ingest_bytes(app, raw, "file:/e2e.eml")
    with app.sessions() as s:
        (sub,) = repo.submissions(s)
        (reply,) = sub.replies
        assert_well_formed(reply.raw, "zdxzgh@126.com")
        assert message_from_bytes(reply.raw)["Auto-Submitted"] == "auto-replied"


@pytest.mark.parametrize("body,service", [
    ("材料太大，用百度网盘发送：\n链接: https://pan.baidu.com/s/1AbCdEfGhIj?pwd=ab12 提取码: ab12\n"
     "--来自百度网盘超级会员v5的分享", "百度网盘"),
    ("从163邮箱发来的超大附件\nhttps://mail.163.com/large-attachment-download/index.html?p=X1&file=Y2 下载", "网易邮箱超大附件"),
], ids=["baidu-pan", "163-large-attachment"])
def test_a_download_link_is_named_in_the_reply_never_linked(app, body: str, service: str) -> None:
    """126 judges replies with links as spam, and the address is the sender's: the reply names the service,
    the record keeps the address for staff."""
    raw = g.eml(subject=STUDIO.subject, from_name="正定县总工会", from_addr="zdxzgh@126.com", date=RECEIVED,
                received=RECEIVED, message_id="<link@x.cn>", body_text=body)
    ingest_bytes(app, raw, "file:/link.eml")
    with app.sessions() as s:
        (sub,) = repo.submissions(s)
        (reply,) = sub.replies
        text = decode_message(reply.raw).text_body
        assert sub.verdict == "review" and [f.code for f in sub.findings] == ["LARGE_ATTACHMENT_LINK"]
        assert service in text and "http" not in text and ".com" not in text
        assert "如链接中是申报材料" in text  # a clerk who attached the materials and linked a video is not told to resend
        (link,) = sub.fields["large_attachment_links"]
        assert link["url"].startswith("https://") and link["url"] in body
