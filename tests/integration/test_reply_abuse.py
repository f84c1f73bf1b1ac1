"""An open inbox must not make the office a spam source (issue 14, items 8-10): replies go to the sender
(From), in bounded numbers per mailbox, per domain and in all, are small whatever came in, carry no text or
link a sender chose in their Subject, and never answer an answer to one of our own messages."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default
from typing import Any

import pytest
import samplegen as g

from helpers.configfile import write_example_config
from helpers.smtp_server import SmtpServer, smtp_server, toml_set  # noqa: F401  (smtp_server is a fixture)
from pipeline.bootstrap import build_app
from pipeline.config import load_config
from pipeline.intake.app import App
from pipeline.intake.ledger import ingest_bytes
from pipeline.replies.compose import (
    MAX_REPLY_BYTES,
    ReceivedDocument,
    ReplyContext,
    build_reply,
    reply_subject,
    reply_text,
)
from pipeline.replies.policy import normalised_address, organisation_domain, reply_address
from pipeline.rules.findings import Code, Severity, Verdict
from pipeline.rules.wording import echo, make_finding
from pipeline.staff.review import review
from pipeline.transport.delivery import deliver
from storage import repo
from storage.models import OutboxItem

CST = timezone(timedelta(hours=8))
RECEIVED = datetime(2025, 5, 26, 10, 0, tzinfo=CST)
STUDIO = g.Studio(unit="正定县总工会", leader="张三", gender="男", applicant="正定县某某机械厂", seed=7)
SHARED = frozenset({"126.com", "qq.com"})
SPAM = "正定县总工会 加微信领奖 http://spam.example.top/win 入库材料"


def _mail(from_addr: str, i: int | str, *, subject: str = STUDIO.subject, headers: list[tuple[str, str]] | None = None,
          attachments: list[g.Attachment] | None = None) -> bytes:
    """A submission without its archive (a NO_ATTACHMENT rejection) unless `attachments` are given."""
    return g.eml(subject=subject, from_name="正定县总工会", from_addr=from_addr, date=RECEIVED, received=RECEIVED,
                 message_id=f"<m{i}@sender.example.cn>", body_text="附件为入库材料，请查收。",
                 extra_headers=headers or [], attachments=attachments or [])


def _app(config, clock, **smtp: Any) -> App:
    return build_app(dataclasses.replace(config, smtp=dataclasses.replace(config.smtp, **smtp)), clock=clock)


def _outbox(app: App) -> list[OutboxItem]:
    with app.sessions() as s:
        rows = list(s.query(OutboxItem).order_by(OutboxItem.id))
        s.expunge_all()
        return rows


def _fields(app: App) -> list[dict]:
    with app.sessions() as s:
        return [dict(sub.fields or {}) for sub in repo.submissions(s)]


# --- 8. backscatter: where replies go ------------------------------------------------------------------------

def test_reply_to_a_third_party_is_not_honoured(app) -> None:
    """24 messages with Reply-To: victim+N@… sent 24 rejections to the victim; now each goes to the sender."""
    for i in range(24):
        ingest_bytes(app, _mail("zdxzgh@126.com", i, headers=[("Reply-To", f"victim+{i}@target.example.com")]),
                     f"file:/bs/{i}.eml")
    rows = _outbox(app)
    assert len(rows) == 24 and {r.to_addr for r in rows} == {"zdxzgh@126.com"}
    assert not any(b"victim" in r.raw for r in rows)


@pytest.mark.parametrize("from_addr, reply_to, expected", [
    ("zgh@zdx.gov.cn", "office@zdx.gov.cn", "office@zdx.gov.cn"),          # the union's own domain: honoured
    ("zgh@mail.zdx.gov.cn", "Office <office@zdx.gov.cn>", "office@zdx.gov.cn"),  # its other host
    ("zgh@zdx.gov.cn", "someone@other.gov.cn", "zgh@zdx.gov.cn"),          # another organisation
    ("zdxzgh@126.com", "stranger@126.com", "zdxzgh@126.com"),              # a public provider is no one's domain
    ("zdxzgh@126.com", "victim@qq.com", "zdxzgh@126.com"),
    ("zdxzgh@126.com", "", "zdxzgh@126.com"),
    ("", "victim@zdx.gov.cn", ""),                                         # no From: nobody, never the Reply-To
])
def test_reply_address_policy(from_addr: str, reply_to: str, expected: str) -> None:
    assert reply_address(from_addr, reply_to, SHARED)[0] == expected


def test_addresses_are_counted_as_the_mailbox_they_reach() -> None:
    assert normalised_address("Victim+7@Target.example.com") == "victim@target.example.com"
    assert normalised_address("v.i.c.tim+x@gmail.com") == "victim@gmail.com"
    assert normalised_address("zhang.san@126.com") == "zhang.san@126.com"  # only Gmail documents ignored dots
    assert (organisation_domain("a@mail.zdx.gov.cn") == "zdx.gov.cn"
            and organisation_domain("a@vip.163.com") == "163.com")


def test_the_per_address_cap_folds_case_and_tags(config, clock) -> None:
    app = _app(config, clock, daily_cap_per_recipient=2)
    for i, addr in enumerate(["victim+1@zdx.gov.cn", "VICTIM+2@zdx.gov.cn", "victim@zdx.gov.cn",
                              "victim+3@zdx.gov.cn"]):
        ingest_bytes(app, _mail(addr, i), f"file:/tag/{i}.eml")
    rows = _outbox(app)
    assert [r.status for r in rows] == ["pending", "pending", "failed", "failed"]
    assert all("daily cap of 2 replies to this address" in r.last_error for r in rows[2:])


def test_the_per_domain_cap_spares_public_providers(config, clock) -> None:
    app = _app(config, clock, daily_cap_per_domain=3)
    for i in range(5):
        ingest_bytes(app, _mail(f"clerk{i}@zdx.gov.cn", f"d{i}"), f"file:/dom/{i}.eml")
        ingest_bytes(app, _mail(f"county{i}@126.com", f"p{i}"), f"file:/pub/{i}.eml")
    rows = _outbox(app)
    org = [r for r in rows if r.to_addr.endswith("@zdx.gov.cn")]
    assert [r.status for r in org] == ["pending"] * 3 + ["failed"] * 2
    assert "daily cap of 3 replies to the domain zdx.gov.cn" in org[-1].last_error
    assert all(r.status == "pending" for r in rows if r.to_addr.endswith("@126.com"))


def test_a_global_cap_and_held_back_replies_use_up_nobody_elses(config, clock) -> None:
    """A flood from one address is held back by its own cap without eating the global one."""
    app = _app(config, clock, daily_cap_per_recipient=1, daily_cap_total=3)
    for i in range(10):
        ingest_bytes(app, _mail("flood@126.com", f"f{i}"), f"file:/flood/{i}.eml")
    for i in range(3):
        ingest_bytes(app, _mail(f"county{i}@126.com", f"c{i}"), f"file:/county/{i}.eml")
    rows = _outbox(app)
    assert [r.status for r in rows] == ["pending"] + ["failed"] * 9 + ["pending", "pending", "failed"]
    assert "daily cap of 3 replies in all" in rows[-1].last_error
    clock.now += timedelta(days=1, minutes=1)
    ingest_bytes(app, _mail("county9@126.com", "next"), "file:/county/next.eml")
    assert _outbox(app)[-1].status == "pending"


def test_a_staff_notice_obeys_the_same_address_policy_and_caps(config, clock) -> None:
    app = _app(config, clock, daily_cap_per_recipient=2)
    ingest_bytes(app, _mail("zdxzgh@126.com", 0, headers=[("Reply-To", "victim@target.example.com")]), "file:/s/0.eml")
    done = review(app, 1, decision="rejected", note="请补充材料", by="staff", notify=True)
    assert done.reply_withheld is None
    ingest_bytes(app, _mail("zdxzgh@126.com", 1), "file:/s/1.eml")  # the third reply of the day to that mailbox
    capped = review(app, 1, decision="accepted", note="", by="staff", notify=True)
    rows = _outbox(app)
    assert [(r.kind, r.to_addr, r.status) for r in rows] == [
        ("rejected", "zdxzgh@126.com", "pending"), ("decision", "zdxzgh@126.com", "pending"),
        ("rejected", "zdxzgh@126.com", "failed"), ("decision", "zdxzgh@126.com", "failed")]
    assert capped.reply_id == rows[-1].id and "daily cap of 2" in (capped.reply_withheld or "")


def test_a_rejection_echoes_no_subject_and_no_link(app) -> None:
    """The attacker's subject (an advert with a URL) reaches neither the Subject nor the body of the rejection."""
    ingest_bytes(app, _mail("zdxzgh@126.com", "spam", subject=SPAM), "file:/spam.eml")
    (row,) = _outbox(app)
    msg = message_from_bytes(row.raw, policy=default)
    assert row.kind == "rejected" and msg["Subject"] == f"Re: {app.config.campaigns[0].title}：材料未能受理"
    assert msg["In-Reply-To"] == "<mspam@sender.example.cn>"  # threaded all the same
    body = msg.get_content()
    assert "spam.example" not in body and "http" not in body and "加微信领奖" in body  # quoted, link-free


def test_a_link_in_a_studio_name_never_reaches_a_receipt_subject(config, campaign) -> None:
    subject = reply_subject("accepted", campaign, "正定县总工会", "www.spam.example.top张三创新工作室")
    assert "spam" not in subject and "〔链接已略去〕" in subject
    assert "http" not in echo("见 https://x.example.cn/a?b=1 或 mailto:a@b.cn 或 a@b.cn")


# --- 9. amplification: every reply is bounded ---------------------------------------------------------------

def test_a_lone_part_9999_gets_a_small_reply(app) -> None:
    """A 778-byte e-mail with 材料.part9999.rar produced a 96 KB reply listing 9,998 missing parts."""
    raw = _mail("zdxzgh@126.com", "vol", attachments=[g.Attachment("材料.part9999.rar", b"Rar!\x1a\x07\x01\x00x")])
    ingest_bytes(app, raw, "file:/vol.eml")
    (row,) = _outbox(app)
    body = message_from_bytes(row.raw, policy=default).get_content()
    assert len(row.raw) <= MAX_REPLY_BYTES and "缺少第1至9998卷" in body


def test_many_problems_of_one_kind_are_summarised(app) -> None:
    """150 evidence pictures that are PNG: three listed, the rest counted, the reply under the bound."""
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    files = [*g.materials(STUDIO), *((f"3-{i} 证书{'很长的名字' * 10}.jpg", png) for i in range(3, 153))]
    raw = _mail("zdxzgh@126.com", "many", attachments=[g.Attachment(STUDIO.subject + ".zip", g.zip_bytes(files))])
    ingest_bytes(app, raw, "file:/many.eml")
    (row,) = _outbox(app)
    body = message_from_bytes(row.raw, policy=default).get_content()
    assert len(row.raw) <= MAX_REPLY_BYTES
    assert body.count("不是JPG/JPEG图片") == 3 and "同类问题另有" in body


def test_any_reply_is_at_most_8_kb_whatever_the_lists(campaign) -> None:
    ctx = ReplyContext(to_addr="zdxzgh@126.com", subject="长" * 3000, message_id="<a@x.cn>",
                       references=" ".join(f"<ref{i}@x.cn>" for i in range(5000)), received_at=RECEIVED, studio="",
                       unit="")
    now = datetime(2025, 5, 27, tzinfo=CST)
    docs = [ReceivedDocument("evidence", f"3-{i} {'名' * 200}.jpg", 10_000) for i in range(2000)]
    findings = [make_finding(code, Severity.REJECT, file=f"文件{i}{'长' * 300}.png", title="x" * 500, detail="、".join(
        str(n) for n in range(0, 4000, 2)), subject="y" * 900, actual="PNG")
        for i, code in enumerate([Code.EVIDENCE_NOT_JPEG, Code.ARCHIVE_NAME_MISMATCH, Code.UNSAFE_ARCHIVE,
                                  Code.EVIDENCE_NAMING, Code.SUBJECT_FORMAT, Code.MISSING_EVIDENCE] * 100)]
    for verdict in Verdict:
        body = reply_text(verdict, findings, docs, ctx, campaign, now)
        reply = build_reply(verdict.value, body, ctx, "石家庄市总工会 <sjzjjb@126.com>", "<r@126.com>", now,
                            subject=reply_subject(verdict.value, campaign))
        msg = message_from_bytes(reply.raw, policy=default)
        assert len(reply.raw) <= MAX_REPLY_BYTES, (verdict, len(reply.raw))
        assert len(msg["References"].split()) <= 5 and msg["References"].startswith("<ref0@x.cn>")
        assert msg.get_content().rstrip().endswith(f"{now:%Y年%-m月%-d日}")  # the closing survives any cut


# --- 10. loops: an answer to our own mail is never answered ------------------------------------------------

def test_an_answer_to_our_reply_without_auto_headers_is_judged_but_not_answered(app) -> None:
    ingest_bytes(app, _mail("zdxzgh@126.com", 0), "file:/loop/0.eml")
    (first,) = _outbox(app)
    for i in range(1, 4):  # an out-of-office that quotes the subject and sets only In-Reply-To
        raw = _mail("zdxzgh@126.com", i, subject=f"Re: {STUDIO.subject}",
                    headers=[("In-Reply-To", first.reply_message_id)])
        assert ingest_bytes(app, raw, f"file:/loop/{i}.eml").status == "new"
    assert len(_outbox(app)) == 1
    withheld = [f.get("reply_withheld", "") for f in _fields(app)[1:]]
    assert all("answers our own message" in w and first.reply_message_id in w for w in withheld)


@pytest.mark.parametrize("header, value", [
    ("References", "<a@x.cn> <intake.0123456789abcdef.7.0@126.com>"),  # one of ours not in this database
    ("References", "<1717171717.123.456789.report@126.com>"),           # the nightly report (make_msgid)
    ("In-Reply-To", "<INTAKE.abc.1.0@126.COM>"),
])
def test_our_message_id_forms_are_recognised(app, header: str, value: str) -> None:
    ingest_bytes(app, _mail("zdxzgh@126.com", "x", headers=[(header, value)]), "file:/loop/x.eml")
    assert _outbox(app) == [] and "answers our own message" in _fields(app)[0]["reply_withheld"]


# --- the same through a real SMTP server ---------------------------------------------------------------------

@pytest.fixture
def mta(smtp_server: SmtpServer) -> SmtpServer:  # noqa: F811
    return smtp_server


def test_by_smtp_the_victim_gets_nothing_and_the_sender_only_up_to_the_cap(tmp_path, clock, mta: SmtpServer) -> None:
    path = write_example_config(tmp_path, outbox=False, smtp={
        "host": "127.0.0.1", "port": mta.port, "ssl": False, "username": "", "send_interval_seconds": 0,
        "timeout_seconds": 10, "daily_cap_per_recipient": 3})
    app = build_app(load_config(path), clock=clock)
    for i in range(24):
        ingest_bytes(app, _mail("attacker@126.com", i, headers=[("Reply-To", f"victim+{i}@target.example.com")],
                                subject=SPAM), f"file:/smtp/{i}.eml")
    assert deliver(app).sent == 3
    assert {r for m in mta.received for r in m.rcpt_tos} == {"attacker@126.com"}
    assert all(len(m.content) <= MAX_REPLY_BYTES and b"spam.example" not in m.content for m in mta.received)
