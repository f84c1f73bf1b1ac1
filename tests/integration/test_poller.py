"""Polling a real Dovecot: verdicts on INTERNALDATE, nothing twice, nothing changed on the server, drops survived."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from helpers.dovecot_server import CAPABILITY_126, JUNK, CuttingProxy, DovecotServer, dovecot  # noqa: F401 - fixture
from helpers.poller import BODY_MARK, at, counts, imap, studio, submission, verdict_of  # noqa: F401 - imap is a fixture
from pipeline.errors import MailboxError
from pipeline.intake.app import App
from pipeline.intake.ledger import reprocess_all
from pipeline.mail.decode import decode_message
from pipeline.transport import poller
from pipeline.transport.imap import Mailbox
from pipeline.transport.poller import PollResult, poll_once
from storage.mailbox_state import ImapAlias
from storage.models import Message
from storage.rawstore import sha256_hex

SAMPLES = Path(__file__).resolve().parents[2] / "sample_mail"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))


# --- verdicts, deadline, ledger ----------------------------------------------------------------------

def test_the_deadline_is_judged_on_internaldate_not_on_headers(imap, dovecot: DovecotServer) -> None:
    app = imap()
    # Date and Received say 30 May, the server received it five seconds after the deadline: held up on the way
    # (the notice says 前发送), so staff decide (DELAYED_DELIVERY), never accepted on the headers' word.
    delayed = dovecot.append("INBOX", submission(1, date=at(30, 23, 58), received=at(30, 23, 59, 50)), at(31, 0, 0, 5))
    # Date and Received say 29 May, the server received it on 31 May: no delay explains that, LATE.
    late = dovecot.append("INBOX", submission(3, date=at(29, 10), received=at(29, 10, 0, 5)), at(31, 9))
    # Date says 31 May (a wrong clock), the server received it in the last second.
    on_time = dovecot.append("INBOX", submission(2, date=at(31, 10)), at(30, 23, 59, 59))
    result = poll_once(app)
    assert (result.fetched, result.processed, result.failed) == (3, 3, 0)
    assert verdict_of(app, "INBOX", delayed) == ("review", ["DELAYED_DELIVERY"])
    assert verdict_of(app, "INBOX", late) == ("rejected", ["LATE"])
    assert verdict_of(app, "INBOX", on_time) == ("accepted", [])
    with app.sessions() as s:
        received = dict(s.execute(select(Message.uid, Message.received_at)).all())
    assert received[delayed] == at(31, 0, 0, 5)


def test_every_sample_polled_from_inbox_and_junk_gets_its_verdict_and_the_server_is_untouched(
        imap, dovecot: DovecotServer) -> None:
    app = imap()
    junk = {"23-auto-reply.eml", "26-unrelated.eml", "13-subject-format.eml"}
    where: dict[str, tuple[str, int]] = {}
    for path in sorted(SAMPLES.glob("*.eml")):
        raw = path.read_bytes()
        folder = JUNK if path.name in junk else "INBOX"
        flags = ("\\Seen", "\\Flagged") if path.name.startswith("02") else ()  # staff already read this one
        where[path.name] = (folder, dovecot.append(folder, raw, decode_message(raw).received_at, flags))
    before = {f: dovecot.flags(f) for f in ("INBOX", JUNK)}

    first = poll_once(app)
    total = len(EXPECTED)
    assert (first.fetched, first.processed, first.failed, first.known) == (total, total, 0, 0)
    assert first.folders == ("INBOX", JUNK) and first.errors == ()
    for name, expected in EXPECTED.items():
        assert verdict_of(app, *where[name]) == (expected["verdict"], expected["codes"]), name

    stored = counts(app)
    second = poll_once(app)
    assert (second.fetched, second.processed, second.known) == (0, 0, total)
    assert counts(app) == stored
    after = {f: dovecot.flags(f) for f in ("INBOX", JUNK)}
    assert after == before  # no \Seen, no move, no delete
    assert sum(b"\\Seen" in fl for folder in after.values() for fl in folder.values()) == 1


def test_a_message_appended_between_polls_is_picked_up(imap, dovecot: DovecotServer) -> None:
    app = imap()
    dovecot.append("INBOX", submission(1, date=at(26, 10)), at(26, 10))
    poll_once(app)
    uid = dovecot.append(JUNK, submission(2, date=at(27, 9)), at(27, 9))
    result = poll_once(app)
    assert (result.fetched, result.processed, result.known) == (1, 1, 1)
    assert verdict_of(app, JUNK, uid) == ("accepted", [])
    assert counts(app) == (2, 2, 2)


def test_an_idle_poll_asks_status_and_selects_nothing(imap, dovecot: DovecotServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """EXAMINE makes the server re-scan the folder (its cost grows with the mailbox); with nothing new, the
    poll learns that from STATUS alone. New mail still goes through EXAMINE and is fetched."""
    app = imap()
    dovecot.append("INBOX", submission(1, date=at(26, 10)), at(26, 10))
    poll_once(app)
    examined: list[str] = []
    real = Mailbox.examine

    def counting(self: Mailbox, folder: str, *, readonly: bool = True):  # type: ignore[no-untyped-def]
        examined.append(folder)
        return real(self, folder, readonly=readonly)

    monkeypatch.setattr(Mailbox, "examine", counting)
    idle = poll_once(app)
    assert (idle.fetched, idle.processed, idle.known) == (0, 0, 1) and examined == []
    uid = dovecot.append("INBOX", submission(2, date=at(27, 9)), at(27, 9))
    busy = poll_once(app)
    assert examined == ["INBOX"] and (busy.fetched, busy.processed) == (1, 1)
    assert verdict_of(app, "INBOX", uid) == ("accepted", [])


def test_the_same_message_in_inbox_and_junk_is_one_submission_and_a_duplicate(imap, dovecot: DovecotServer) -> None:
    app = imap()
    raw = submission(1, date=at(26, 10))
    dovecot.append("INBOX", raw, at(26, 10))
    dovecot.append(JUNK, raw, at(26, 10))
    poll_once(app)
    assert verdict_of(app, "INBOX", 1) == ("accepted", [])
    assert verdict_of(app, JUNK, 1) == ("ignored", ["DUPLICATE"])
    assert counts(app) == (2, 2, 1)


def test_a_missing_folder_is_reported_every_poll_but_warned_about_once(imap, dovecot: DovecotServer,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    app = imap()
    caplog.set_level(logging.WARNING, logger="pipeline")
    assert poll_once(app).missing_folders == ("广告邮件", "订阅邮件")
    assert sum("广告邮件" in r.getMessage() for r in caplog.records) == 1
    caplog.clear()
    result = poll_once(app)
    assert result.missing_folders == ("广告邮件", "订阅邮件") and result.errors == ()
    assert not caplog.records
    dovecot.create_folder("广告邮件")  # it appears: polled from now on
    uid = dovecot.append("广告邮件", submission(3, date=at(28, 8)), at(28, 8))
    result = poll_once(app)
    assert result.folders == ("INBOX", JUNK, "广告邮件") and result.missing_folders == ("订阅邮件",)
    assert verdict_of(app, "广告邮件", uid) == ("accepted", [])


# --- UIDVALIDITY ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("folder", ["INBOX", JUNK])
def test_a_new_uidvalidity_processes_nothing_twice_and_only_new_mail_once(imap, dovecot: DovecotServer,
                                                                          folder: str) -> None:
    app = imap()
    no_id = b"From: a@b.cn\r\nSubject: =?UTF-8?B?6Zeu6aKY?=\r\n\r\nno Message-ID here\r\n"
    for raw, when in [(submission(1, date=at(26, 10)), at(26, 10)), (submission(2, date=at(27, 10)), at(27, 10)),
                      (no_id, at(27, 11))]:
        dovecot.append(folder, raw, when)
    poll_once(app)
    old = dovecot.uidvalidity(folder)
    stored = counts(app)

    new = dovecot.recreate(folder, reverse=True)  # UIDs 1..3 now name other messages
    fresh = dovecot.append(folder, submission(3, date=at(28, 10)), at(28, 10))
    result = poll_once(app)

    assert new != old
    # Message-ID and size recognise two without downloading them; the one without Message-ID is matched by its bytes.
    assert (result.fetched, result.processed, result.known) == (2, 1, 3)
    assert counts(app) == (stored[0] + 1, stored[1] + 1, stored[2] + 1)
    assert verdict_of(app, folder, fresh) == ("accepted", [])
    server = dovecot.messages(folder)
    with app.sessions() as s:
        aliases = s.scalars(select(ImapAlias).where(ImapAlias.uidvalidity == new)).all()
        assert sorted(a.uid for a in aliases) == [1, 2, 3]
        for alias in aliases:  # each alias points at the row holding exactly these bytes
            assert s.get(Message, alias.message_pk).sha256 == sha256_hex(server[alias.uid])
    again = poll_once(app)
    assert (again.fetched, again.processed, again.known) == (0, 0, 4)


# --- processing failures -------------------------------------------------------------------------------

def _on_disk(app: App) -> App:
    """Judging in the cache folder, where a file in the way of files_root makes every unpacking crash."""
    storage = dataclasses.replace(app.config.storage, judge_in_memory=False)
    return dataclasses.replace(app, config=dataclasses.replace(app.config, storage=storage))


def test_a_crash_is_retried_from_the_stored_bytes_then_left_for_staff(imap, dovecot: DovecotServer) -> None:
    app = _on_disk(imap(max_attempts=2))
    app.files_root.write_text("a file where unpacking needs a folder")  # every unpack now crashes
    dovecot.append("INBOX", submission(1, date=at(26, 10)), at(26, 10))
    dovecot.append("INBOX", (SAMPLES / "23-auto-reply.eml").read_bytes(), at(26, 11))  # needs no unpacking
    first = poll_once(app)
    assert (first.fetched, first.processed, first.failed) == (2, 1, 1)  # the poll went on after the crash

    second = poll_once(app)  # retried from the stored bytes: nothing downloaded
    assert (second.fetched, second.processed, second.failed) == (0, 0, 1)
    app.files_root.unlink()
    third = poll_once(app)  # two failures = max_attempts: left for staff
    assert (third.processed, third.failed) == (0, 0)
    with app.sessions() as s:
        row = s.scalar(select(Message).where(Message.uid == 1))
        assert (row.status, row.attempts) == ("failed", 2) and "NotADirectoryError" in row.error
    assert counts(app)[2] == 0

    (replayed,) = reprocess_all(app, only_failed=True)  # `intake reprocess --failed`
    assert replayed.verdict == "accepted" and counts(app)[2] == 1


def test_a_failed_message_succeeds_on_the_next_poll_and_is_answered_once(imap, dovecot: DovecotServer) -> None:
    app = _on_disk(imap())
    app.files_root.write_text("not a folder")
    dovecot.append("INBOX", submission(1, date=at(26, 10)), at(26, 10))
    assert poll_once(app).failed == 1
    app.files_root.unlink()
    result = poll_once(app)
    assert (result.fetched, result.processed, result.failed) == (0, 1, 0)
    assert verdict_of(app, "INBOX", 1) == ("accepted", [])
    assert counts(app) == (1, 1, 1)
    assert poll_once(app).processed == 0


# --- moving processed mail (off by default) ------------------------------------------------------------

@pytest.fixture(params=["MOVE", "126: COPY + UID EXPUNGE"])
def movable(request: pytest.FixtureRequest) -> Iterator[DovecotServer]:
    server = DovecotServer.start(imap_capability=None if request.param == "MOVE" else CAPABILITY_126)
    try:
        yield server
    finally:
        server.stop()


def test_move_processed_to_moves_only_after_the_commit(imap, movable: DovecotServer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    app = imap(movable, move_processed_to="已处理", batch_size=2)
    movable.create_folder("已处理")
    raws = [submission(n, date=at(26, 10 + n)) for n in range(3)]
    for n, raw in enumerate(raws):
        movable.append("INBOX", raw, at(26, 10 + n))
    seen_at_move: list[dict[int, str]] = []
    real_move = Mailbox.move

    def checked_move(self: Mailbox, uids: list[int], target: str) -> bool:
        with app.sessions() as s:  # what the database holds at the moment the server is asked to move
            rows = s.execute(select(Message.uid, Message.status).where(Message.uid.in_(uids))).all()
        seen_at_move.append(dict(rows))
        return real_move(self, uids, target)

    monkeypatch.setattr(Mailbox, "move", checked_move)
    result = poll_once(app)
    assert seen_at_move == [{1: "processed", 2: "processed"}, {3: "processed"}]
    assert (result.processed, result.folders) == (3, ("INBOX", JUNK))
    assert movable.flags("INBOX") == {}
    assert sorted(movable.messages("已处理").values()) == sorted(raws)
    assert poll_once(app).fetched == 0  # the target folder is not polled


# --- connections ---------------------------------------------------------------------------------------

def test_a_connection_cut_in_the_middle_of_a_fetch_resumes_and_processes_each_message_once(
        imap, dovecot: DovecotServer) -> None:
    for n in range(5):
        dovecot.append("INBOX", submission(n, date=at(26, 10 + n)), at(26, 10 + n))
    with CuttingProxy(dovecot.port, cut_after=3000, after_fetches=1) as proxy:  # cut inside the second batch
        app = imap(port=proxy.port, batch_size=2)
        result = poll_once(app)
        assert proxy.cut_done == 1 and proxy.connections == 2
    assert len(result.errors) == 1  # the drop, reported in one line
    assert (result.fetched, result.processed, result.failed) == (5, 5, 0)
    assert counts(app) == (5, 5, 5)
    with app.sessions() as s:
        assert sorted(s.scalars(select(Message.uid).where(Message.status == "processed"))) == [1, 2, 3, 4, 5]


def test_a_server_that_goes_silent_in_the_middle_of_a_fetch_times_out_and_the_poll_resumes(
        imap, dovecot: DovecotServer) -> None:
    for n in range(5):
        dovecot.append("INBOX", submission(n, date=at(26, 10 + n)), at(26, 10 + n))
    # Logged in, one batch through, then nothing more in either direction on that connection.
    with CuttingProxy(dovecot.port, cut_after=3000, after_fetches=1, stall=True) as proxy:
        app = imap(port=proxy.port, batch_size=2, timeout_seconds=1.0)
        result = poll_once(app)
        assert proxy.cut_done == 1 and proxy.connections == 2
    assert len(result.errors) == 1 and "timed out" in result.errors[0]
    assert (result.fetched, result.processed, result.failed) == (5, 5, 0)
    assert counts(app) == (5, 5, 5)


def test_when_reconnecting_fails_the_poll_gives_up_and_the_next_one_completes(
        imap, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(poller, "RECONNECT_DELAYS", (0.0, 0.0))  # no need to wait between attempts here
    for n in range(8):
        dovecot.append("INBOX", submission(n, date=at(26, 10 + n)), at(26, 10 + n))
    # Each of the first three connections gets one batch of two through and is cut in the next one.
    with CuttingProxy(dovecot.port, cut_after=3000, cuts=3, after_fetches=1) as proxy:
        app = imap(port=proxy.port, batch_size=2)
        with pytest.raises(MailboxError, match="gave up after 3 connections"):
            poll_once(app)
        assert counts(app) == (6, 6, 6)  # what came through is safe in the ledger
        result = poll_once(app)  # the fourth connection is not cut
    assert (result.fetched, result.processed, result.known) == (2, 2, 6)
    assert counts(app) == (8, 8, 8)


def test_a_failed_login_is_not_retried_before_login_retry_minutes(imap, dovecot: DovecotServer, clock,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    dovecot.append("INBOX", submission(1, date=at(26, 10)), at(26, 10))
    with CuttingProxy(dovecot.port) as proxy:  # counts connections, cuts nothing
        app = imap(port=proxy.port, login_retry_minutes=5)
        with pytest.raises(MailboxError, match="LOGIN"):
            poll_once(app, password="wrong-code-Zz9")
        with pytest.raises(MailboxError, match="not trying again before"):
            poll_once(app)  # the right password, but too soon: the server is not even contacted
        assert proxy.connections == 1
        clock.now += timedelta(minutes=5)
        assert poll_once(app).processed == 1
        assert proxy.connections == 2
    assert "wrong-code-Zz9" not in caplog.text and dovecot.password not in caplog.text
    assert BODY_MARK not in caplog.text


def test_an_unset_password_variable_is_a_mailbox_error(imap, monkeypatch: pytest.MonkeyPatch) -> None:
    app = imap()
    monkeypatch.delenv("INTAKE_IMAP_PASSWORD")
    with pytest.raises(MailboxError, match="INTAKE_IMAP_PASSWORD"):
        poll_once(app)


def test_logs_carry_no_password_no_body_and_subjects_only_at_debug(imap, dovecot: DovecotServer,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    dovecot.append("INBOX", submission(1, date=at(26, 10)), at(26, 10))
    result: PollResult = poll_once(imap())
    assert result.processed == 1
    assert dovecot.password not in caplog.text and BODY_MARK not in caplog.text
    subject = studio(1).subject
    assert all(r.levelno == logging.DEBUG for r in caplog.records if subject in r.getMessage())
