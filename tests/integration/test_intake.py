"""The intake service on a real SQLite file: ledger first, failures recorded, nothing lost or answered twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import samplegen as g
from sqlalchemy import func, select

from helpers.submissions import STUDIO, submission
from pipeline.intake.batch import file_key
from pipeline.intake.ledger import ingest_bytes, reprocess_all
from pipeline.replies.outbox import drain_to_folder
from pipeline.staff.review import submission_folder
from storage import repo
from storage.models import Message, OutboxItem, Submission
from storage.rawstore import sha256_hex

CST = timezone(timedelta(hours=8))


def _verdicts(app) -> list[tuple[str, list[str]]]:
    with app.sessions() as s:
        return [(x.verdict, [f.code for f in x.findings]) for x in repo.submissions(s)]


def _count(app, model) -> int:
    with app.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_accepted_submission_is_stored_with_documents_and_one_reply(app) -> None:
    result = ingest_bytes(app, submission(), "file:/x/1.eml")
    assert (result.status, result.verdict) == ("new", "accepted")
    with app.sessions() as s:
        (sub,) = repo.submissions(s)
        assert sub.recommending_unit == "正定县总工会" and sub.studio_name == "张三创新工作室"
        roles = sorted({d.role for d in sub.documents})
        assert roles == ["evidence", "form_scan", "form_word", "narrative", "summary"]
        assert sub.message.received_at == datetime(2025, 5, 26, 2, 0, tzinfo=timezone.utc)
        assert [r.status for r in sub.replies] == ["pending"]
        paths = [Path(d.path) for d in sub.documents]
    submission_folder(app, sub.id)  # the files judging read are re-made where their rows say when staff open them
    assert all(p.is_file() for p in paths)


@pytest.mark.both_databases
def test_the_same_source_twice_is_processed_once(app) -> None:
    raw = submission()
    ingest_bytes(app, raw, "file:/x/1.eml")
    assert ingest_bytes(app, raw, "file:/x/1.eml").status == "known"
    assert (_count(app, Message), _count(app, Submission), _count(app, OutboxItem)) == (1, 1, 1)


def test_same_bytes_under_another_name_is_a_duplicate_without_reply(app) -> None:
    raw = submission()
    ingest_bytes(app, raw, "file:/x/1.eml")
    second = ingest_bytes(app, raw, "file:/y/copy.eml")
    assert second.verdict == "ignored"
    assert _verdicts(app)[1] == ("ignored", ["DUPLICATE"])
    assert _count(app, OutboxItem) == 1
    assert len(list((app.config.storage.data_dir / "raw").rglob("*.eml"))) == 1  # stored once, by content


@pytest.mark.both_databases
def test_a_crash_is_recorded_replayable_and_does_not_stop_the_next_message(app) -> None:
    from pipeline.intake.ledger import fresh, process_by_id, record_delivery

    raw = submission(message_id="<three@x>", from_addr="third@126.com")
    message, is_new = record_delivery(app, raw, "file:/x/3.eml")
    assert fresh(message, is_new)  # recorded claimed by this caller
    app.raw.path_for(message.sha256).unlink()  # the raw copy vanishes between the ledger and processing
    assert process_by_id(app, message.id, notify=True).status == "known"  # the claim is taken: not for others
    broken = process_by_id(app, message.id, notify=True, claimed=True)
    assert (broken.status, broken.verdict) == ("failed", "review")
    with app.sessions() as s:
        row = s.get(Message, message.id)
        assert row.status == "failed" and "StorageError" in row.error and row.attempts == 1
        (sub,) = repo.submissions(s)
        assert [f.code for f in sub.findings] == ["INTERNAL_ERROR"] and not sub.replies
    nxt = ingest_bytes(app, submission(message_id="<four@x>", from_addr="other@126.com"), "file:/x/4.eml")
    assert nxt.verdict == "accepted"
    app.raw.put(raw)  # the raw mail is restored: replaying the failed ones succeeds
    (again,) = reprocess_all(app, only_failed=True)
    assert (again.status, again.verdict) == ("new", "accepted")
    with app.sessions() as s:
        assert [len(x.replies) for x in repo.submissions(s)] == [1, 1]  # the late-judged one is answered once
    reprocess_all(app)
    assert _count(app, OutboxItem) == 2


def test_missing_received_and_date_fall_back_to_the_reading_time(app, clock) -> None:
    raw = submission(received=None)
    raw = b"\r\n".join(line for line in raw.split(b"\r\n")
                       if not line.startswith((b"Date:", b"Received:", b"\tby ", b"\tfor ")))
    result = ingest_bytes(app, raw, "file:/x/nodate.eml")
    with app.sessions() as s:
        assert s.get(Message, 1).received_at == clock.now
    assert result.verdict == "rejected"  # the fake clock is after the deadline: LATE
    assert _verdicts(app) == [("rejected", ["LATE"])]


@pytest.mark.both_databases
def test_resubmission_after_the_deadline_is_late_and_replaces_nothing(app) -> None:
    # Issue 14: only a submission in time may replace one; the package sent in time stays the studio's.
    ingest_bytes(app, submission(pkg=g.Package(narrative_chars=700), message_id="<a@x>"), "file:/x/a.eml")
    ingest_bytes(app, submission(datetime(2025, 5, 31, 9, 0, tzinfo=CST), message_id="<b@x>"), "file:/x/b.eml")
    assert _verdicts(app) == [("rejected", ["NARRATIVE_TOO_SHORT"]), ("rejected", ["LATE"])]
    with app.sessions() as s:
        first, second = repo.submissions(s)
        assert first.superseded_by is None and second.superseded_by == first.id


def test_reply_cap_per_address_per_day(app) -> None:
    cap = app.config.smtp.daily_cap_per_recipient
    for i in range(cap + 2):
        ingest_bytes(app, submission(message_id=f"<n{i}@x>", subject=f"正定县总工会张三{i}创新工作室入库材料"), f"file:/x/{i}.eml")
    with app.sessions() as s:
        statuses = [r.status for r in s.scalars(select(OutboxItem).order_by(OutboxItem.id))]
    assert statuses.count("pending") == cap and statuses[cap:] == ["failed", "failed"]


@pytest.mark.both_databases
def test_outbox_drain_writes_each_reply_once(app, tmp_path: Path) -> None:
    ingest_bytes(app, submission(), "file:/x/1.eml")
    first = drain_to_folder(app, tmp_path / "out")
    assert len(first) == 1 and first[0].read_bytes().startswith(b"From:")
    assert drain_to_folder(app, tmp_path / "out") == []
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_file_key_changes_with_content(tmp_path: Path) -> None:
    path = tmp_path / "a.eml"
    assert file_key(path, sha256_hex(b"x")) != file_key(path, sha256_hex(b"y"))
    assert file_key(path, sha256_hex(b"x")) == file_key(path, sha256_hex(b"x"))


@pytest.mark.parametrize("in_memory", [True, False], ids=["read-whole", "streamed"])
def test_a_message_file_is_stored_exactly_and_keyed_alike_read_whole_or_streamed(
        app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_memory: bool) -> None:
    from pipeline.intake import batch

    raw = submission()
    path = tmp_path / "a.eml"
    path.write_bytes(raw)
    if not in_memory:
        monkeypatch.setattr(batch, "STREAM_THRESHOLD", len(raw) - 1)
    message, is_new = batch.record_file(app, path)
    assert is_new and message.source_key == file_key(path, sha256_hex(raw))
    assert app.raw.get(message.sha256) == raw and message.size == len(raw)
    assert batch.record_file(app, path)[1] is False  # the same file again: known, nothing new


def test_a_new_large_file_is_read_once_and_a_known_path_is_hashed_before_any_copy(
        app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.intake import batch
    from storage import rawstore

    calls: list[str] = []

    def counted(name, real):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(name)
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(batch, "STREAM_THRESHOLD", 0)
    monkeypatch.setattr(batch, "file_sha256", counted("hash", batch.file_sha256))
    monkeypatch.setattr(rawstore, "_copy_hashed", counted("copy", rawstore._copy_hashed))
    path = tmp_path / "a.eml"
    first, edited = submission(), submission(message_id="<a2@zdxzgh.126.com>")

    path.write_bytes(first)
    message, is_new = batch.record_file(app, path)
    assert (is_new, calls) == (True, ["copy"])  # a path never seen: hashed as it is copied
    assert app.raw.get(message.sha256) == first and message.source_key == file_key(path, sha256_hex(first))

    calls.clear()
    assert batch.record_file(app, path)[1] is False
    assert calls == ["hash"]  # the same file again: hashed, known, not copied

    calls.clear()
    path.write_bytes(edited)
    message, is_new = batch.record_file(app, path)
    assert (is_new, calls) == (True, ["hash", "copy"])
    assert app.raw.get(message.sha256) == edited
    assert not list(app.raw.root.glob("*/*.part"))


def test_storing_a_file_the_store_holds_already_keeps_one_copy_and_no_temp_file(tmp_path: Path) -> None:
    from storage.rawstore import RawStore

    store, source = RawStore(tmp_path / "raw"), tmp_path / "m.eml"
    source.write_bytes(b"Subject: x\r\n\r\nbody\r\n")
    digest = store.put(source.read_bytes())
    stored = store.path_for(digest).stat()
    assert store.put_file(source) == digest == sha256_hex(source.read_bytes())
    assert store.path_for(digest).stat().st_ino == stored.st_ino  # not replaced
    assert [p for p in (tmp_path / "raw").rglob("*") if p.is_file()] == [store.path_for(digest)]


def test_a_file_sent_in_the_archive_and_loose_is_listed_once_in_the_receipt(app) -> None:
    import email
    from email import policy

    files = g.materials(STUDIO)
    form_name, form = files[0]
    raw = g.eml(subject=STUDIO.subject, from_name="正定县总工会", from_addr="zdxzgh@126.com",
                date=datetime(2025, 5, 26, 10, 0, tzinfo=CST), received=datetime(2025, 5, 26, 10, 0, tzinfo=CST),
                message_id="<loose@zdxzgh.126.com>", body_text="附件为入库材料。",
                attachments=[g.Attachment(STUDIO.subject + ".zip", g.zip_bytes(files)), g.Attachment(form_name, form)])
    ingest_bytes(app, raw, "file:/loose.eml")
    with app.sessions() as s:
        (item,) = s.scalars(select(OutboxItem)).all()
        reply = email.message_from_bytes(item.raw, policy=policy.default)
    assert reply.get_body(("plain",)).get_content().count(form_name) == 1
