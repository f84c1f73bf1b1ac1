"""The ledger: every delivery recorded (raw bytes, then its row) before anything parses it; claiming a row and
handing it to the App's way of judging; recording a failure.

Nothing is lost: the raw bytes are on disk and in the ledger (committed) before any parsing starts, so a crash
leaves a `failed` row that `intake reprocess` can replay.
"""

from __future__ import annotations

import logging
import traceback
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from pipeline.errors import StorageError
from pipeline.intake import progress
from pipeline.intake.app import App, IngestResult, IngestStatus
from pipeline.intake.claims import may_take_over, owner
from pipeline.mail.decode import HEADER_BYTES, DecodedMail, decode_headers
from pipeline.rules.findings import Code, Finding, Verdict, finding_row
from pipeline.rules.wording import make_finding
from storage import repo
from storage.models import LedgerState, Message

log = logging.getLogger(__name__)

# Ledger states that still need processing: FAILED (retried) and NEW, which after the commit that
# recorded it means a crash or kill came before the verdict's commit (no submission, no reply yet).
UNFINISHED = (LedgerState.NEW, LedgerState.FAILED)
# LedgerState.PROCESSING: claimed by a process that is judging it now (pipeline/intake/claims.py): `claimed_by`
# says who, `claimed_at` since when.


def receipt_time(mail: DecodedMail, fallback: datetime) -> datetime:
    """For a local .eml: the topmost Received header, else Date, else when we read it."""
    return mail.received_at or mail.date or fallback


def record_delivery(app: App, raw: bytes | Path, source_key: str, *, received_at: datetime | None = None,
                    folder: str | None = None, uidvalidity: int | None = None, uid: int | None = None,
                    digest: str | None = None) -> tuple[Message, bool]:
    """Store the raw bytes and the ledger row, committed; returns (row, is_new).

    `raw` may be a message file, copied in chunks; `digest`, when known, is the sha256 of `raw`'s bytes.

    The file comes first: a ledger row always has its raw bytes on disk, while a crash or a failure between
    the two leaves at most an unreferenced file (harmless; the next delivery of the same bytes reuses it).
    StorageError when either cannot be written (disk full, database locked): nothing is recorded and the
    caller must leave the message to be fetched or ingested again. Anything else that goes wrong with this
    one message (a header no code foresaw) records it all the same, as `failed` with the traceback and
    without its header values, so that the poll goes on past it and staff see it in review.
    """
    try:
        with app.sessions() as session:
            known = repo.message_by_source(session, source_key)
            if known is not None:
                return known, False
            digest = app.raw.put(raw, digest) if isinstance(raw, bytes) else app.raw.put_file(raw, digest)
            now = app.clock()
            size = len(raw) if isinstance(raw, bytes) else raw.stat().st_size
            where = dict(source_key=source_key, folder=folder, uidvalidity=uidvalidity, uid=uid, sha256=digest,
                         size=size, fetched_at=now, attempts=0)
            # Recorded to be judged next, by this process: claimed in the same commit (one commit fewer, and the
            # WAL writes of one, per message; the caller passes claimed=True to process_by_id, see `fresh`). If
            # this process dies first, its claim is taken over as any claim of a process gone (claims.py).
            claim = dict(status=LedgerState.PROCESSING, claimed_by=owner(), claimed_at=now)
            try:
                # the ledger needs headers only; the body is decoded when judged
                mail = decode_headers(raw if isinstance(raw, bytes) else read_head(raw))
                message, added = repo.add_message(
                    session, **where, message_id=mail.message_id, subject=mail.subject[:2000],
                    from_addr=mail.from_addr, received_at=received_at or receipt_time(mail, now), **claim)
            except (OperationalError, InterfaceError):
                raise  # the database itself is unavailable: StorageError below
            except Exception:  # noqa: BLE001 - this message's values, not the database: record it bare
                session.rollback()
                log.exception("recording %s failed; recorded without its headers", source_key)
                message, added = repo.add_message(session, **where, received_at=received_at or now,
                                                  status=LedgerState.FAILED, error=traceback.format_exc()[-4000:])
            session.commit()
            return message, added  # not added: another process recorded it a moment ago
    except SQLAlchemyError as exc:  # "database is locked" past the busy timeout, a full disk under the DB …
        raise StorageError(f"cannot record {source_key} in the database: {_one_line(exc)}") from exc


def read_head(path: Path) -> bytes:
    """The start of a message file: enough for its headers."""
    with path.open("rb") as fh:
        return fh.read(HEADER_BYTES)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n")[0].split())


def ingest_bytes(app: App, raw: bytes, source_key: str, **where: object) -> IngestResult:
    """Ledger then process; a crash marks the row failed and never stops the caller's loop."""
    message, is_new = record_delivery(app, raw, source_key, **where)  # type: ignore[arg-type]
    if not is_new and message.status not in (*UNFINISHED, LedgerState.PROCESSING):
        return IngestResult(source_key, IngestStatus.KNOWN)
    # a live claim of another process (or call) makes it "known"
    return process_by_id(app, message.id, notify=True, claimed=fresh(message, is_new))


def fresh(message: Message, is_new: bool) -> bool:
    """The row `record_delivery` just added, claimed for this caller: pass claimed=True to process_by_id.

    Only the caller that added it may: a second call for the same row (the same file named twice) must find
    the claim taken, as any other process does, and not judge it a second time."""
    return is_new and message.status == LedgerState.PROCESSING


def process_by_id(app: App, message_pk: int, *, notify: bool, statuses: tuple[str, ...] = UNFINISHED,
                  claimed: bool = False) -> IngestResult:
    """Claim the ledger row `message_pk` and process it (in a limited child process when configured).

    Only a row in `statuses` (or a `processing` row whose owner is gone) is claimed; otherwise another
    process has it or had it, and the result is "known". `claimed`: the caller recorded it, claimed
    (`fresh`). Never raises for a bad message.
    """
    if not claimed:
        with app.sessions() as session:
            source_key = repo.claim_message(session, message_pk, owner(), app.clock(), statuses,
                                            lambda by, at: may_take_over(app, by, at))
            session.commit()  # visible to every other process before the work starts
        if source_key is None:
            return IngestResult(_source_key(app, message_pk), IngestStatus.KNOWN)
    return app.process(app, message_pk, notify=notify)


def _source_key(app: App, message_pk: int) -> str:
    with app.sessions() as session:
        message = session.get(Message, message_pk)
        return message.source_key if message else ""


def mark_failed(app: App, message_pk: int, error: str, finding: Finding | None = None) -> IngestResult:
    """The row failed (to be retried), its submission in review with `finding` (INTERNAL_ERROR by default)."""
    with app.sessions() as session:
        message = session.get(Message, message_pk)
        assert message is not None
        message.status, message.error, message.attempts = LedgerState.FAILED, error, message.attempts + 1
        finding = finding or make_finding(Code.INTERNAL_ERROR)
        sub = repo.save_outcome(session, message, {"campaign": None, "verdict": Verdict.REVIEW.value,
                                                   "evaluated_at": app.clock(), "fields": {}},
                                [finding_row(finding)], [])
        session.commit()
        return IngestResult(message.source_key, IngestStatus.FAILED, sub.id, sub.verdict)


def reprocess_all(app: App, *, only_failed: bool = False) -> list[IngestResult]:
    """Re-judge stored raw messages in receipt order.

    Messages that were judged before get no second reply; one that had failed
    was never answered, so its reply is queued now.
    """
    with app.sessions() as session:
        rows = [(m.id, m.status) for m in repo.messages_in_order(session, LedgerState.FAILED if only_failed else None)]
    progress.expect(len(rows))  # a bar on a terminal when `intake reprocess` tracks progress
    results = []
    for pk, status in rows:
        results.append(process_by_id(app, pk, notify=status == LedgerState.FAILED, statuses=(status,)))
        progress.step()
    return results
