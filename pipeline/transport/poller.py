"""One poll of the IMAP mailbox: fetch what is new, record it, process it.

For each configured folder (INBOX and the junk folders) the ledger is keyed on
(folder, UIDVALIDITY, UID), never on the UID alone nor on \\Seen. Only UIDs above
the last one dealt with are fetched: INTERNALDATE and size first, then bodies in
batches. Every message is stored and committed (`record_delivery`) before it is
processed, processing errors mark the row failed and the poll goes on; failed
rows are retried from the stored bytes on later polls, `max_attempts` times.

A new UIDVALIDITY re-scans the folder: a message the ledger already has from
that folder (same bytes, or same Message-ID and size) is recorded as an alias of
the earlier row, without a second verdict or reply; only what is really new is
processed. A dropped connection is re-opened with back-off and the poll resumes
from the ledger. Nothing on the server changes unless `move_processed_to` is set,
and then only after the message's commit.

`intake run` passes a `MailboxLink`: the connection then stays open between
polls, with the main folder EXAMINEd, so an idle poll needs no LOGIN and its
STATUS of that folder is answered without re-reading it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.config import MailboxConfig
from pipeline.errors import MailboxError
from pipeline.intake import progress
from pipeline.intake.app import App, IngestStatus
from pipeline.intake.ledger import fresh, process_by_id, record_delivery
from pipeline.mail.decode import decode_headers
from pipeline.transport.imap import (
    ConnectionLost,
    Envelope,
    FolderRefused,
    LoginFailed,
    Mailbox,
    ServerFolder,
    connect,
    match_folder,
    resolve_folders,
)
from storage import mailbox_state as state
from storage.models import LedgerState
from storage.rawstore import sha256_hex

log = logging.getLogger(__name__)

RECONNECT_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0)  # seconds before the 2nd, 3rd, 4th connection of one poll
BATCH_BYTES = 64 * 2**20     # a body batch also stops at this many bytes (126 allows 50 MB messages)
ENVELOPE_CHUNK = 200         # UIDs per INTERNALDATE/SIZE fetch: keeps the command line short
LOGOUT_WAIT = 5.0            # seconds for the goodbye of a kept connection, which may be dead already


@dataclass(frozen=True)
class PollResult:
    """What one poll did (processed + failed = messages put through processing)."""

    fetched: int            # bodies downloaded this poll
    processed: int          # messages judged this poll (new + retried)
    failed: int             # messages whose processing failed this poll
    known: int              # UIDs skipped because the ledger already has them
    folders: tuple[str, ...]          # folders actually polled (server names)
    missing_folders: tuple[str, ...]  # configured folders the server doesn't have
    errors: tuple[str, ...]           # connection/login problems, one line each (no secrets)


@dataclass(frozen=True)
class _Where:
    """One (folder, UIDVALIDITY): the scope of a UID."""

    folder: str
    uidvalidity: int

    def key(self, uid: int) -> str:
        return f"imap:{self.folder}:{self.uidvalidity}:{uid}"


@dataclass
class _Tally:
    """Counts across the connections of one poll (a reconnect must not count anything twice)."""

    fetched: int = 0
    processed: int = 0
    failed: int = 0
    aliased: int = 0
    skipped: dict[_Where, int] = field(default_factory=dict)
    handled: dict[_Where, set[int]] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)
    missing: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)

    def skip(self, where: _Where, exists: int, new: int, last: int) -> None:
        """Messages in the folder at or below `last`, less those this poll dealt with itself."""
        mine = sum(1 for uid in self.handled.get(where, ()) if uid <= last)
        self.skipped[where] = max(0, exists - new - mine)

    def error(self, line: str) -> None:
        if line not in self.errors:
            self.errors.append(line)

    def result(self) -> PollResult:
        return PollResult(self.fetched, self.processed, self.failed, sum(self.skipped.values()) + self.aliased,
                          tuple(self.folders), self.missing, tuple(self.errors))


class MailboxLink:
    """The IMAP connection `intake run` keeps open between polls, and when a poll last used it.

    Keeping it saves a LOGIN per poll (126 throttles accounts that log in often) and keeps the idle
    poll's cost flat as the mailbox grows (see `Mailbox.status`). A connection idle for longer than
    `keep_connection_minutes` is logged out rather than used: NAT and firewalls drop idle TCP without
    a word, and a command on such a socket only fails when the timeout runs out."""

    def __init__(self) -> None:
        self.box: Mailbox | None = None
        self.used_at: datetime | None = None

    def take(self, app: App) -> Mailbox | None:
        """The kept connection, unless there is none or it has been idle too long (then it is logged out)."""
        if self.box is None or self.used_at is None:
            return None
        idle = app.clock() - self.used_at
        if idle > timedelta(minutes=app.config.mailbox.keep_connection_minutes):
            log.info("the kept IMAP connection has been idle for %d s; logging out and connecting again",
                     idle.total_seconds())
            self.close()
            return None
        return self.box

    def keep(self, app: App, box: Mailbox) -> None:
        """Hold `box` for the next poll (or log it out at once when keep_connection_minutes is 0)."""
        if box is not self.box:
            self.close()
        self.box, self.used_at = box, app.clock()
        if app.config.mailbox.keep_connection_minutes <= 0:
            self.close()

    def wait_for_mail(self, app: App, seconds: float, stop: Callable[[], bool] = lambda: False) -> bool | None:
        """IDLE on the kept connection's main folder for at most `seconds`: True when mail arrived, False when
        the time ran out or `stop()`, None when this connection cannot IDLE (none kept, no IDLE on the server,
        or it dropped): then the caller just waits for the next poll."""
        box = self.box
        if box is None:
            return None
        try:
            if not box.can_idle():
                return None
            arrived = box.wait_for_news(seconds, stop)
        except MailboxError as exc:
            log.info("IDLE on the kept IMAP connection ended (%s); the next poll connects again", exc)
            self.close()
            return None
        self.used_at = app.clock()
        return arrived

    def close(self) -> None:
        """LOGOUT the kept connection, if any."""
        box, self.box, self.used_at = self.box, None, None
        if box is not None:
            box.close(wait=LOGOUT_WAIT)


def mailbox_password(cfg: MailboxConfig) -> str:
    """The authorization code from the environment variable the config names."""
    value = os.environ.get(cfg.password_env, "")
    if not value:
        raise MailboxError(f"the IMAP password is not set: put the mailbox's authorization code (授权码) "
                           f"in the environment variable {cfg.password_env}")
    return value


def poll_once(app: App, *, password: str | None = None, link: MailboxLink | None = None) -> PollResult:
    """Retry failed messages, then poll every configured folder once; MailboxError if the mailbox is unusable.

    Without `link` the poll connects and logs out; with it, it reuses the link's connection when there
    is one and leaves its connection in the link."""
    cfg = app.config.mailbox
    secret = password if password is not None else mailbox_password(cfg)
    tally = _Tally()
    _retry_failed(app, tally)
    if link is not None and _kept_poll(app, link, tally):
        return _finished(tally)
    _check_login_pause(app)
    for attempt, delay in enumerate((*RECONNECT_DELAYS, None), start=1):
        try:
            _connected_poll(app, secret, tally, link)
            break
        except ConnectionLost as exc:
            tally.error(str(exc))
            if delay is None:
                raise MailboxError(f"{exc} (gave up after {attempt} connections)") from None
            log.warning("%s; reconnecting in %g s", exc, delay)
            time.sleep(delay)
    return _finished(tally)


def _finished(tally: _Tally) -> PollResult:
    result = tally.result()
    log.info("IMAP poll: %d fetched, %d processed, %d failed, %d known; folders %s; missing %s",
             result.fetched, result.processed, result.failed, result.known, result.folders, result.missing_folders)
    return result


def _account(cfg: MailboxConfig) -> str:
    return f"{cfg.username}@{cfg.host}:{cfg.port}"


def _check_login_pause(app: App) -> None:
    """After a failed LOGIN, wait `login_retry_minutes`: 126 bans accounts that keep failing."""
    cfg = app.config.mailbox
    with app.sessions() as session:
        failure = state.login_failure(session, _account(cfg))
    if failure is None:
        return
    until = failure.failed_at + timedelta(minutes=cfg.login_retry_minutes)
    if app.clock() < until:
        raise LoginFailed(f"IMAP LOGIN as {cfg.username} failed at {failure.failed_at:%Y-%m-%d %H:%M:%S} UTC "
                          f"({failure.error}); not trying again before {until:%H:%M:%S} UTC")


def _kept_poll(app: App, link: MailboxLink, tally: _Tally) -> bool:
    """Poll over the link's connection; False when there is none to use or it dropped (then connect anew)."""
    box = link.take(app)
    if box is None:
        return False
    listing: list[ServerFolder] | None = None
    try:
        listing = box.folders()
        _poll_folders(app, box, tally, listing)
    except ConnectionLost as exc:
        link.close()
        if listing is None:
            # Refused at the first command: servers close idle connections (Dovecot after 30 minutes),
            # which is no poll error, just a reason to connect again at once.
            log.info("the kept IMAP connection is gone (%s); connecting again", exc)
        else:
            tally.error(str(exc))  # dropped in the middle of the poll: reported as on a fresh connection
            log.warning("%s; reconnecting", exc)
        return False
    except BaseException:
        link.close()  # storage failure, interrupt: the connection may be in the middle of a command
        raise
    _keep(app, link, box, tally)
    return True


def _connected_poll(app: App, secret: str, tally: _Tally, link: MailboxLink | None = None) -> None:
    """One connection: LOGIN (remembering a failure), ID, then every folder; kept in `link` if given."""
    cfg = app.config.mailbox
    try:
        box = connect(cfg, secret)
    except LoginFailed as exc:
        with app.sessions() as session:
            state.record_login_failure(session, _account(cfg), app.clock(), str(exc))
            session.commit()
        log.error("%s; next attempt in %d minutes at the earliest", exc, cfg.login_retry_minutes)
        raise LoginFailed(f"{exc} (not retried for {cfg.login_retry_minutes} minutes)") from None
    try:
        with app.sessions() as session:
            state.clear_login_failure(session, _account(cfg))
            session.commit()
        _poll_folders(app, box, tally)
    except BaseException:
        box.close()
        raise
    if link is None:
        box.close()
    else:
        _keep(app, link, box, tally)


def _keep(app: App, link: MailboxLink, box: Mailbox, tally: _Tally) -> None:
    """Hand the connection to the link with the first polled folder (normally INBOX) left EXAMINEd, so the
    next poll's STATUS of it is cheap. Not with move_processed_to: that polls through SELECT anyway."""
    link.keep(app, box)
    first = tally.folders[0] if tally.folders else None
    if link.box is None or app.config.mailbox.move_processed_to or first is None or box.selected == first:
        return
    try:
        box.examine(first)
    except FolderRefused as exc:
        log.warning("could not leave %s EXAMINEd for the next poll: %s", first, exc)
    except ConnectionLost as exc:
        log.info("the IMAP connection dropped after the poll (%s); the next poll connects again", exc)
        link.close()


def _poll_folders(app: App, box: Mailbox, tally: _Tally, listing: list[ServerFolder] | None = None) -> None:
    cfg = app.config.mailbox
    if listing is None:
        listing = box.folders()
    names, tally.missing = resolve_folders(cfg.folders, listing)
    _report_missing(app, tally.missing)
    target = match_folder(cfg.move_processed_to, listing) if cfg.move_processed_to else None
    if cfg.move_processed_to and target is None:
        tally.error(f"move_processed_to: the server has no folder {cfg.move_processed_to!r}; nothing is moved")
    for name in names:
        if name == target:
            continue  # what we moved there was processed already
        try:
            _poll_folder(app, box, name, target, tally)
        except FolderRefused as exc:
            log.warning("skipping folder %s: %s", name, exc)
            tally.error(str(exc))
            continue
        if name not in tally.folders:
            tally.folders.append(name)


def _report_missing(app: App, missing: Sequence[str]) -> None:
    """Warn once per folder the server lacks; later polls stay quiet until it appears and goes again."""
    with app.sessions() as session:
        fresh = state.newly_missing(session, missing, app.clock())
        session.commit()
    for spec in missing:
        level = logging.WARNING if spec in fresh else logging.DEBUG
        log.log(level, "configured folder %r is not on the server; skipping it", spec)


def _nothing_new(app: App, box: Mailbox, folder: str, tally: _Tally) -> bool:
    """True when STATUS shows a folder we know (same UIDVALIDITY) with nothing above the last UID dealt
    with: the poll stops there, without the EXAMINE whose cost grows with the folder's size."""
    quick = box.status(folder)
    if quick is None or quick.uidnext is None:
        return False
    with app.sessions() as session:
        if not state.knows_folder(session, folder, quick.uidvalidity):
            return False
        last = state.last_uid(session, folder, quick.uidvalidity)
        if quick.uidnext > last + 1:
            return False
        state.note_folder(session, folder, quick.uidvalidity, app.clock())   # polled_at, as EXAMINE would
        session.commit()
    tally.skip(_Where(folder, quick.uidvalidity), quick.exists, 0, last)
    return True


def _poll_folder(app: App, box: Mailbox, folder: str, target: str | None, tally: _Tally) -> None:
    """Fetch and process the UIDs of one folder above the last one dealt with."""
    if target is None and _nothing_new(app, box, folder, tally):
        return
    status = box.examine(folder, readonly=target is None)
    where = _Where(folder, status.uidvalidity)
    with app.sessions() as session:
        previous = state.note_folder(session, folder, status.uidvalidity, app.clock())
        last = state.last_uid(session, folder, status.uidvalidity)
        rescan = state.has_history(session, folder, status.uidvalidity)
        session.commit()
    if previous is not None:
        log.warning("UIDVALIDITY of %s changed from %d to %d: re-scanning it; messages already in the ledger "
                    "are recorded as aliases, not processed again", folder, previous, status.uidvalidity)
    nothing_new = status.uidnext is not None and status.uidnext <= last + 1
    new = [] if nothing_new else box.uids_after(last, status.uidnext)
    tally.skip(where, status.exists, len(new), last)
    progress.expect(len(new))
    for chunk in _chunks(new, ENVELOPE_CHUNK):
        envelopes = box.envelopes(chunk, message_ids=rescan)
        for batch in _batches([u for u in chunk if u in envelopes], envelopes, app.config.mailbox.batch_size):
            _take_batch(app, box, where, batch, envelopes, rescan, target, tally)
        with app.sessions() as session:
            state.advance(session, folder, status.uidvalidity, chunk[-1])  # also past UIDs expunged meanwhile
            session.commit()


def _chunks(uids: Sequence[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(uids), size):
        yield list(uids[i:i + size])


def _batches(uids: Sequence[int], envelopes: dict[int, Envelope], count: int) -> Iterator[list[int]]:
    """At most `count` messages and BATCH_BYTES (by RFC822.SIZE) per body fetch, at least one."""
    batch: list[int] = []
    size = 0
    for uid in uids:
        if batch and (len(batch) >= max(1, count) or size + envelopes[uid].size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(uid)
        size += envelopes[uid].size
    if batch:
        yield batch


def _take_batch(app: App, box: Mailbox, where: _Where, batch: list[int], envelopes: dict[int, Envelope],
                rescan: bool, target: str | None, tally: _Tally) -> None:
    """Download what we must, then record and process in UID order; move only what is committed."""
    aliases = {uid: pk for uid in batch if rescan and (pk := _known_by_header(app, where, envelopes[uid]))}
    bodies = box.bodies([uid for uid in batch if uid not in aliases])
    tally.fetched += len(bodies)
    committed: list[int] = []
    for uid in batch:
        if uid in aliases:
            _alias(app, where, uid, aliases[uid], tally)
            committed.append(uid)
        elif uid in bodies and _take(app, where, uid, bodies[uid], envelopes[uid], rescan, tally):
            committed.append(uid)
        progress.step()
    if target and committed and box.move(committed, target):
        log.info("moved %d message(s) from %s to %s after recording them", len(committed), where.folder, target)


def _known_by_header(app: App, where: _Where, env: Envelope) -> int | None:
    """On a re-scan: the ledger row with this Message-ID and size, so the body need not be downloaded again."""
    if not env.message_id:
        return None
    with app.sessions() as session:
        row = state.earlier_delivery(session, where.folder, where.uidvalidity, message_id=env.message_id,
                                     size=env.size)
        return row.id if row else None


def _alias(app: App, where: _Where, uid: int, message_pk: int, tally: _Tally) -> None:
    with app.sessions() as session:
        state.add_alias(session, where.folder, where.uidvalidity, uid, message_pk, app.clock())
        session.commit()
    log.info("%s UID %d (UIDVALIDITY %d) is message #%d already recorded; not processed again",
             where.folder, uid, where.uidvalidity, message_pk)
    tally.aliased += 1
    tally.handled.setdefault(where, set()).add(uid)


def _take(app: App, where: _Where, uid: int, raw: bytes, env: Envelope, rescan: bool, tally: _Tally) -> bool:
    """Alias, or ledger (committed) then process; True when nothing failed."""
    if rescan:
        with app.sessions() as session:
            row = state.earlier_delivery(session, where.folder, where.uidvalidity, sha256=sha256_hex(raw),
                                         message_id=decode_headers(raw).message_id, size=len(raw))
            earlier = row.id if row else None
        if earlier is not None:
            _alias(app, where, uid, earlier, tally)
            return True
    message, is_new = record_delivery(app, raw, where.key(uid), received_at=env.internaldate, folder=where.folder,
                                      uidvalidity=where.uidvalidity, uid=uid)
    tally.handled.setdefault(where, set()).add(uid)
    if not is_new and message.status in (LedgerState.NEW, LedgerState.PROCESSING):
        # Recorded (and claimed) by a poll that was killed before the verdict's commit: judge it now, exactly
        # once (a claim of a process still alive, another host's, is left to it: process_by_id says "known").
        return _process(app, message.id, tally, claimed=False)
    if not is_new:
        tally.aliased += 1  # recorded by an earlier poll that stopped before its state was saved
        return True
    log.debug("%s UID %d: %s", where.folder, uid, message.subject)  # subjects only at DEBUG
    return _process(app, message.id, tally, claimed=fresh(message, is_new))


def _process(app: App, message_pk: int, tally: _Tally, *, claimed: bool) -> bool:
    result = process_by_id(app, message_pk, notify=True, claimed=claimed)
    if result.status == IngestStatus.KNOWN:
        return True  # another process claimed it first (two hosts polling one mailbox): its work, not ours
    if result.status == IngestStatus.FAILED:
        tally.failed += 1
        return False
    tally.processed += 1
    return True


def _retry_failed(app: App, tally: _Tally) -> None:
    """Failed rows are judged again from their stored bytes (no refetch) until `max_attempts` failures."""
    with app.sessions() as session:
        # Interrupted rows too: the folder state normally keeps their UID to be fetched again, but the
        # message may have been moved or expunged on the server since; its stored bytes are enough.
        pending = state.interrupted(session) + state.retryable_failures(session, app.config.mailbox.max_attempts)
    progress.expect(len(pending))
    for message_pk in pending:
        log.info("retrying message #%d whose processing failed before", message_pk)
        _process(app, message_pk, tally, claimed=False)
        progress.step()
