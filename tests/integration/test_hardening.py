"""Issue 14, availability and integrity: no message stops the poller, none steals another studio's standing.

Each test is the reproduction from the issue, run on the real pipeline (a real SQLite file, a real Dovecot
for the poller), plus the siblings of the defect: other headers that carry raw bytes, other dates out of
range, other materials that cannot be read, other ways a stranger's mail could replace a submission.
"""

from __future__ import annotations

import dataclasses
import random
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import samplegen as g
from sqlalchemy import select

from helpers.dovecot_server import DovecotServer, dovecot  # noqa: F401 - fixture
from pipeline.bootstrap import build_app
from pipeline.intake import ledger
from pipeline.intake.app import App
from pipeline.intake.ledger import ingest_bytes, reprocess_all
from pipeline.mail.decode import HEADER_BYTES, decode_headers, decode_message, header_block
from pipeline.rules.subject import MAX_SUBJECT_CHARS, parse_subject
from pipeline.staff.export import summary_rows
from pipeline.staff.review import submission_folder
from pipeline.transport.poller import poll_once
from storage import repo
from storage.models import Message

CST = timezone(timedelta(hours=8))
STUDIO = g.Studio(unit="正定县总工会", leader="张三", gender="男", applicant="某某机械厂", seed=7)
ARCHIVE = g.zip_bytes(g.materials(STUDIO))


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 5, day, hour, tzinfo=CST)


def submission(n: int, *, sender: str = "zdxzgh@126.com", day: int = 20, subject: str = STUDIO.subject,
               attachments: list[g.Attachment] | None = None) -> bytes:
    """A complete, correct package for STUDIO (or other attachments), received on 2025-05-`day`."""
    files = [g.Attachment(STUDIO.subject + ".zip", ARCHIVE)] if attachments is None else attachments
    return g.eml(subject=subject, from_name=STUDIO.unit, from_addr=sender, date=at(day), received=at(day),
                 message_id=f"<h{n}.{day}@126.com>", body_text="附件为入库材料，请查收。", attachments=files)


def with_header(raw: bytes, name: bytes, value: bytes) -> bytes:
    """`raw` with header `name` replaced by the exact bytes `value` (no encoding applied)."""
    out, count = re.subn(rb"(?m)^" + name + rb":[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*", name + b": " + value, raw, count=1)
    assert count == 1
    return out


def without_header(raw: bytes, name: bytes) -> bytes:
    return re.sub(rb"(?m)^" + name + rb":[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*\r?\n", b"", raw)


def outcomes(app: App) -> list[tuple[str, str, list[str]]]:
    """(source key, verdict, finding codes) of every submission, in ledger order."""
    with app.sessions() as s:
        return [(x.message.source_key, x.verdict, sorted(f.code for f in x.findings)) for x in repo.submissions(s)]


def stored_text(app: App) -> list[str]:
    """Every header value the ledger and the submissions hold."""
    with app.sessions() as s:
        rows = s.scalars(select(Message)).all()
        return [v for m in rows for v in (m.message_id or "", m.subject, m.from_addr)]


# ---------------------------------------------------------------- 1. poison headers never stop the poller

POISON_IDS = {
    "8-bit junk": b"<\xff\xfe@x>",
    "UTF-8 (RFC 6532)": "<工会申报@例子.中国>".encode(),
    "GBK bytes": "<张三@x>".encode("gb18030"),
    "NUL and ESC": b"<a\x00b\x1b[31m@x>",
}


@pytest.mark.parametrize("value", POISON_IDS.values(), ids=POISON_IDS.keys())
def test_a_poison_message_id_is_recorded_as_valid_text_and_the_poll_goes_on(
        value: bytes, config, clock, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("INTAKE_IMAP_PASSWORD", dovecot.password)
    app = build_app(dataclasses.replace(config, mailbox=dovecot.mailbox_config()), clock=clock)
    dovecot.append("INBOX", submission(1, sender="a@126.com"), at(20))
    dovecot.append("INBOX", with_header(submission(2, sender="a@126.com"), b"Message-ID", value), at(20, 11))
    dovecot.append("INBOX", submission(3, sender="c@126.com", subject="鹿泉区总工会李四创新工作室入库材料"), at(20, 12))
    first = poll_once(app)
    assert (first.processed, first.failed) == (3, 0)
    assert poll_once(app).fetched == 0  # the folder state moved past all three
    assert [v for _key, v, _codes in outcomes(app)] == ["accepted", "accepted", "rejected"]
    for text in stored_text(app):
        text.encode("utf-8")  # no lone surrogate
        assert not re.search(r"[\x00-\x1f\x7f]", text)


def test_every_decoded_header_value_is_valid_text() -> None:
    raw = submission(1)
    raw = with_header(raw, b"Subject", b"=?utf-7?Q?+2D3-?= \x1b]52;c;ZXZpbA==\x07\xe6\xad\xa3\xe5\xae\x9a \x01\x02")
    raw = with_header(raw, b"From", b"\"\xd5\xfd\xb6\xa8\x00\x1b]8;;http://x\x07\" <zdx@126.com>")
    raw = with_header(raw, b"X-Mailer", b"\xff\xfe\x00\x9b")
    mail = decode_message(raw)
    values = [mail.subject, mail.from_name, mail.from_addr, mail.message_id or "", *(v for _k, v in mail.headers)]
    for value in values:
        value.encode("utf-8")
        assert not re.search(r"[\x00-\x1f\x7f-\x9f]", value), value
    assert "正定" in mail.subject and mail.from_addr == "zdx@126.com"


def test_any_failure_while_recording_one_message_leaves_it_failed_with_its_bytes_and_goes_on(
        config, clock, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Not only database errors: whatever a header provokes in recording, the row is kept as failed."""
    monkeypatch.setenv("INTAKE_IMAP_PASSWORD", dovecot.password)
    app = build_app(dataclasses.replace(config, mailbox=dovecot.mailbox_config()), clock=clock)
    poison = submission(2, sender="a@126.com").replace(b"Subject:", b"X-Poison: yes\r\nSubject:", 1)
    real = ledger.decode_headers

    def fragile(raw: bytes):  # a header no code foresaw: the decoder fails on this message only
        if b"X-Poison" in raw:
            raise RuntimeError("a header nobody foresaw")
        return real(raw)

    monkeypatch.setattr(ledger, "decode_headers", fragile)
    dovecot.append("INBOX", submission(1, sender="a@126.com"), at(20))
    dovecot.append("INBOX", poison, at(20, 11))
    dovecot.append("INBOX", submission(3, sender="c@126.com", subject="鹿泉区总工会李四创新工作室入库材料"), at(20, 12))
    poll_once(app)
    assert poll_once(app).fetched == 0
    with app.sessions() as s:
        rows = s.scalars(select(Message).order_by(Message.uid)).all()
        assert len(rows) == 3
        assert "a header nobody foresaw" in (rows[1].error or "") or rows[1].status == "processed"
        assert app.raw.get(rows[1].sha256) == poison
        assert rows[2].status == "processed"
        assert rows[1].received_at is not None


# ---------------------------------------------------------------- 2. a huge subject is bounded

def test_a_subject_longer_than_any_real_one_is_not_matched_and_is_parsed_once(campaign) -> None:
    subject = "正定县总工会" + "张" * 90_000 + "创新工作室入库材料"
    parts = parse_subject(subject, campaign)
    assert not parts.well_formed and (parts.unit, parts.studio) == ("", "")
    assert len(parts.text) <= MAX_SUBJECT_CHARS + 1
    assert parse_subject(subject, campaign) is parts  # routing, rules and identity share one parse
    real = parse_subject(STUDIO.subject, campaign)
    assert real.well_formed and real.studio == STUDIO.name


def test_a_huge_subject_gets_a_bounded_subject_finding(app: App) -> None:
    subject = "正定县总工会" + "张" * 90_000 + "创新工作室入库材料"
    result = ingest_bytes(app, submission(1, subject=subject), "file:huge-subject")
    assert result.status == "new"
    with app.sessions() as s:
        (sub,) = repo.submissions(s)
        assert "SUBJECT_FORMAT" in {f.code for f in sub.findings}
        assert all(len(f.message) < 2000 for f in sub.findings)


# ---------------------------------------------------------------- 3. dates out of any real range

@pytest.mark.parametrize("date", ["Fri, 31 Dec 9999 23:59:59 -1200", "Thu, 1 Jan 1970 00:00:00 +1400",
                                  "Tue, 1 Jan 2999 00:00:00 +0800", "Sat, 1 Jan 1000 00:00:00 +0000"])
def test_a_date_no_server_could_have_written_is_noted_and_not_used(date: str, app: App, clock) -> None:
    raw = with_header(without_header(submission(1), b"Received"), b"Date", date.encode())
    mail = decode_headers(raw)
    assert mail.date is None and any("implausible Date" in d or "unparseable Date" in d for d in mail.defects)
    result = ingest_bytes(app, raw, "file:far-date")
    assert result.status == "new"
    with app.sessions() as s:
        (message,) = s.scalars(select(Message)).all()
        assert message.received_at == clock()  # when we read it: neither the future nor the distant past


def test_a_received_header_with_a_far_date_falls_back_to_the_next_one(app: App) -> None:
    raw = submission(1, day=21)
    raw = raw.replace(b"Received:", b"Received: from evil by x; Fri, 31 Dec 9999 23:59:59 -1200\r\nReceived:", 1)
    assert decode_headers(raw).received_at == at(21)
    assert ingest_bytes(app, raw, "file:far-received").verdict == "accepted"


# ---------------------------------------------------------------- 4. a body the decoder gives up on

def test_an_undecodable_message_goes_to_staff_with_its_headers_never_to_ignored(config, clock) -> None:
    # The memory-limited child cannot hold this part; 300 MB of address space stands for the real 1 GB
    # against a 100 MB part, so that the test stays small.
    limited = dataclasses.replace(config, sandbox=dataclasses.replace(config.sandbox, memory_mb=300))
    app = build_app(limited, clock=clock)
    junk = b"!@#$%^&*()" * (6 * 2**20)  # 60 MB that is not base64, one line
    raw = g.eml(subject=STUDIO.subject, from_name=STUDIO.unit, from_addr="zdxzgh@126.com", date=at(20),
                received=at(20), message_id="<junk@126.com>", body_text="附件为入库材料。", attachments=[])
    head, _, _ = raw.partition(b"\r\n\r\n")
    raw = (re.sub(rb"(?m)^Content-Type:[^\r\n]*", b"Content-Type: multipart/mixed; boundary=BB", head)
           + b"\r\n\r\n--BB\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n--BB\r\n"
           + b"Content-Type: application/zip; name=a.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + junk + b"\r\n--BB--\r\n")
    result = ingest_bytes(app, raw, "file:undecodable")
    assert result.verdict == "review"
    with app.sessions() as s:
        (sub,) = repo.submissions(s)
        codes = {f.code for f in sub.findings}
        assert "UNRELATED" not in codes
        assert codes & {"MESSAGE_UNDECODABLE", "INTERNAL_ERROR"}
        assert sub.message.subject == STUDIO.subject and sub.message.from_addr == "zdxzgh@126.com"


# ---------------------------------------------------------------- 5. a huge header block is read bounded

def test_the_header_block_read_before_judging_is_bounded() -> None:
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 990) for i in range(20_000))  # 20 MB of headers
    raw = submission(1).replace(b"Subject:", filler + b"Subject:", 1)
    assert len(header_block(raw)) <= HEADER_BYTES + 4
    raw = submission(1).replace(b"MIME-Version:", filler + b"MIME-Version:", 1)
    mail = decode_headers(raw)  # the fields before the cut are still read
    assert mail.subject == STUDIO.subject and mail.from_addr == "zdxzgh@126.com"


def test_a_message_with_a_huge_header_block_is_recorded_and_judged(app: App) -> None:
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 990) for i in range(5_000))
    raw = submission(1).replace(b"MIME-Version:", filler + b"MIME-Version:", 1)
    result = ingest_bytes(app, raw, "file:huge-headers")
    assert result.status == "new" and result.verdict == "accepted"


# ---------------------------------------------------------------- 6. a stranger cannot supersede a studio

def verdicts(app: App) -> dict[str, tuple[str, int | None, list[str]]]:
    """source key → (verdict, superseded_by as a source key's index, codes)."""
    with app.sessions() as s:
        subs = repo.submissions(s)
        key_of = {x.id: x.message.source_key for x in subs}
        return {x.message.source_key: (x.verdict, key_of.get(x.superseded_by), sorted(f.code for f in x.findings))
                for x in subs}


def exported_studios(app: App) -> list[str]:
    return [str(cell) for row in summary_rows(app) for cell in row if str(cell).endswith("创新工作室")]


def test_a_stranger_without_materials_or_after_the_deadline_cannot_replace_an_accepted_studio(app: App) -> None:
    assert ingest_bytes(app, submission(1), "file:1").verdict == "accepted"
    ingest_bytes(app, submission(2, sender="stranger@evil.cn", day=21, attachments=[]), "file:2")
    ingest_bytes(app, submission(3, sender="stranger@evil.cn", day=31), "file:3")  # complete, but late
    ingest_bytes(app, submission(4, sender="ZDXZGH+q@126.com", day=22, attachments=[]), "file:4")  # the clerk asks
    found = verdicts(app)
    assert found["file:1"] == ("accepted", None, [])
    assert found["file:2"][1] == found["file:3"][1] == found["file:4"][1] == "file:1"
    assert exported_studios(app) == [STUDIO.name]


def test_another_sender_with_materials_is_a_conflict_for_staff_and_replaces_nothing(app: App) -> None:
    ingest_bytes(app, submission(1), "file:1")
    ingest_bytes(app, submission(2, sender="other@126.com", day=21), "file:2")  # same provider, another mailbox
    found = verdicts(app)
    assert found["file:1"] == ("accepted", None, [])
    assert found["file:2"] == ("review", None, ["STUDIO_CONFLICT"])
    assert exported_studios(app) == [STUDIO.name]
    with app.sessions() as s:
        first, second = sorted(repo.submissions(s), key=lambda x: x.message.source_key)
        (conflict,) = second.findings
        assert f"#{first.id}" in conflict.note and "zdxzgh@126.com" in conflict.note  # staff see which one stands
        assert b"zdxzgh" not in second.replies[0].raw  # the other sender's address is never told to this one


@pytest.mark.parametrize("sender", ["zdxzgh@126.com", "ZdxZgh+resend@126.com"])
def test_the_same_sender_replaces_its_own_submission(sender: str, app: App) -> None:
    ingest_bytes(app, submission(1, attachments=[g.Attachment(STUDIO.subject + ".zip", g.zip_bytes(
        g.materials(STUDIO, g.Package(narrative_chars=300))))]), "file:1")
    ingest_bytes(app, submission(2, sender=sender, day=22), "file:2")
    found = verdicts(app)
    assert found["file:1"][:2] == ("rejected", "file:2")
    assert found["file:2"] == ("accepted", None, [])


def test_one_organisation_may_resend_from_another_mailbox_of_its_own_domain(app: App) -> None:
    ingest_bytes(app, submission(1, sender="gh@hospital.example.cn"), "file:1")
    ingest_bytes(app, submission(2, sender="office@mail.hospital.example.cn", day=22), "file:2")
    found = verdicts(app)
    assert found["file:1"][1] == "file:2" and found["file:2"] == ("accepted", None, [])


def test_a_stranger_who_came_first_with_nothing_does_not_block_the_real_submission(app: App) -> None:
    ingest_bytes(app, submission(1, sender="stranger@evil.cn", attachments=[]), "file:1")
    ingest_bytes(app, submission(2, day=22), "file:2")
    found = verdicts(app)
    assert found["file:1"][1] == "file:2" and found["file:2"] == ("accepted", None, [])


def test_reprocessing_keeps_the_same_standing(app: App) -> None:
    ingest_bytes(app, submission(1), "file:1")
    ingest_bytes(app, submission(2, sender="stranger@evil.cn", day=21, attachments=[]), "file:2")
    ingest_bytes(app, submission(3, sender="other@126.com", day=23), "file:3")
    before = verdicts(app)
    reprocess_all(app)
    assert verdicts(app) == before


# ---------------------------------------------------------------- 7. a required material that cannot be read

@pytest.mark.parametrize("scan", [("（盖章扫描件）.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 40),
                                  ("（盖章扫描件）.jpg", b"\xff\xd8\xff\xe0" + b"junk" * 500)], ids=["pdf", "jpg"])
def test_an_unreadable_stamped_scan_is_a_finding_for_staff(scan: tuple[str, bytes], app: App) -> None:
    suffix, data = scan
    files = [(n, d) for n, d in g.materials(STUDIO) if "盖章扫描件" not in n]
    files.append((f"{g.FORM_FILE}{suffix}", data))
    archive = g.Attachment(STUDIO.subject + ".zip", g.zip_bytes(files))
    result = ingest_bytes(app, submission(1, attachments=[archive]), "file:scan")
    assert result.verdict == "review"
    with app.sessions() as s:
        (sub,) = repo.submissions(s)
        (finding,) = [f for f in sub.findings if f.code == "UNREADABLE_DOCUMENT"]
        assert "盖章扫描件" in finding.file


def test_a_summary_table_unreadable_as_a_table_is_a_finding_for_staff(app: App) -> None:
    files = [(n, d) for n, d in g.materials(STUDIO) if "汇总表" not in n]
    files.append((f"{g.SUMMARY_FILE}.docx", g.narrative_docx("汇总", 50, 1)))  # a Word file without the table
    archive = g.Attachment(STUDIO.subject + ".zip", g.zip_bytes(files))
    ingest_bytes(app, submission(1, attachments=[archive]), "file:summary")
    with app.sessions() as s:
        (sub,) = repo.submissions(s)
        assert sub.verdict != "accepted", sorted(f.code for f in sub.findings)



# ---------------------------------------------------------------- 16. limits per message, nothing kept of the unsafe

def unpacked_files(app: App) -> list[Path]:
    return [p for p in (app.config.storage.data_dir / "files").rglob("*") if p.is_file() and "unpacked" in p.parts]


def test_the_byte_and_file_budgets_are_for_the_whole_message_not_each_archive(config, clock) -> None:
    """Two archives, each within the limits, together over them: the second is unsafe, and nothing is kept."""
    small = dataclasses.replace(config, limits=dataclasses.replace(config.limits, max_total_bytes=3 * 2**20))
    app = build_app(small, clock=clock)
    blob = random.Random(14).randbytes(2 * 2**20)  # 2 MB that does not compress: far under the ratio limit
    archives = [g.Attachment(f"{STUDIO.subject}{i}.zip", g.zip_bytes([(f"{i}.bin", blob)])) for i in (1, 2)]
    ingest_bytes(app, submission(1, attachments=archives), "file:two")
    with app.sessions() as s:
        (sub,) = repo.submissions(s)
        assert "UNSAFE_ARCHIVE" in {f.code for f in sub.findings}
        assert all(d.path == "" for d in sub.documents if d.origin)
    assert unpacked_files(app) == []


def test_a_message_with_one_unsafe_archive_keeps_none_of_what_it_unpacked(app: App) -> None:
    bomb = g.zip_bytes([("bomb.bin", bytes(300 * 2**20))])  # 300 MB of zeros: far past the ratio limit
    archives = [g.Attachment(STUDIO.subject + ".zip", ARCHIVE), g.Attachment("其他材料.zip", bomb)]
    ingest_bytes(app, submission(1, attachments=archives), "file:bomb")
    with app.sessions() as s:
        (sub,) = repo.submissions(s)
        assert sub.verdict == "rejected" and "UNSAFE_ARCHIVE" in {f.code for f in sub.findings}
    assert unpacked_files(app) == []
    _folder, listing = submission_folder(app, sub.id)  # what staff open is re-made: without the unsafe members
    assert listing and not any(name.startswith("unpacked") for name, _size in listing)
    fine = ingest_bytes(app, submission(2, day=21), "file:fine")
    assert fine.verdict == "accepted" and fine.submission_id is not None
    _folder, listing = submission_folder(app, fine.submission_id)
    assert any(name.startswith("unpacked") for name, _size in listing)  # a safe package's files are there


def test_a_conflict_found_only_when_an_earlier_receipt_is_judged_later_still_goes_to_staff(app: App) -> None:
    """Parallel workers may judge a later receipt first: the rule holds whatever order judging took."""
    ingest_bytes(app, submission(2, sender="other@126.com", day=21), "file:2")  # received later, judged first
    assert verdicts(app)["file:2"] == ("accepted", None, [])
    ingest_bytes(app, submission(1, day=20), "file:1")
    found = verdicts(app)
    assert found["file:1"] == ("accepted", None, [])
    assert found["file:2"] == ("review", None, ["STUDIO_CONFLICT"])
    assert exported_studios(app) == [STUDIO.name]
