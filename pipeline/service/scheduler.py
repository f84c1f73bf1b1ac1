"""`intake run` unattended: APScheduler 3.x, the run lock, clean shutdown, journald-friendly logs.

The only module that touches APScheduler. Two jobs in the report's time zone:
a pass (`runner.run_once`) every `mailbox.poll_minutes`, the first one at
once, and the nightly report at `report.at`. One worker thread, so a pass and
the report never overlap; `max_instances=1, coalesce=True` so a slow pass is
never doubled or replayed in a burst. The passes share one `MailboxLink`: the
IMAP connection stays open between them (one LOGIN instead of one per pass).
Where the server offers IMAP IDLE, a pass then waits on that connection until
a second before the next job is due, and passes again as soon as mail arrives
(a reply within seconds); 126 offers no IDLE, so there the passes are
`poll_minutes` apart (a fraction of a minute is fine: an idle poll is ~12 ms).
SIGTERM / SIGINT let the running job finish (an IDLE ends within a second),
then the connection is logged out, the process exits 0 and the lock is released.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from pipeline.errors import IntakeError
from pipeline.intake.app import App
from pipeline.service.runner import run_once
from pipeline.staff.report import nightly_report
from pipeline.transport.poller import MailboxLink

log = logging.getLogger(__name__)
SYSLOG_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class LockHeld(IntakeError):
    """Another intake process is working on this configuration."""


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` for the block; LockHeld at once if another process has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise LockHeld(f"another intake process (pid {holder}) holds {path}; not starting a second one") from None
    try:
        # The pid is only for the message above; the flock is the lock (it dies with the process).
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class JournalFormatter(logging.Formatter):
    """`LEVEL logger: message`, prefixed with `<N>` under systemd, which reads it as the syslog priority."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.journal = bool(os.environ.get("JOURNAL_STREAM"))  # set by systemd when stderr goes to journald

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return f"<{SYSLOG_PRIORITY.get(record.levelno, 6)}>{line}" if self.journal else line


def configure_logging(level: int | None = None) -> None:
    """Log to stderr without timestamps (journald adds them); `level` None keeps the current one."""
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JournalFormatter())
    root.addHandler(handler)
    if level is not None:
        root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # "Running job …" every few minutes is noise
    # imapclient's DEBUG log is the whole protocol conversation (subjects, addresses): never in the journal.
    logging.getLogger("imapclient").setLevel(logging.INFO)


def _pass(app: App, link: MailboxLink | None, waiting: _Waiting | None = None) -> None:
    """One scheduled pass; a bug is logged and the next pass still runs. Then, where the server offers IDLE,
    the kept connection waits on the main folder until the next scheduled job is due and a pass runs as
    soon as mail arrives (126 offers no IDLE: there the passes are the poll interval apart)."""
    try:
        run_once(app, link=link)
        while link is not None and waiting is not None:
            seconds = waiting.seconds_left()
            if seconds <= 0 or link.wait_for_mail(app, seconds, waiting.stopping.is_set) is not True:
                break
            run_once(app, link=link)
    except Exception:  # an unattended service must outlive one bad pass
        log.exception("the pass failed")


class _Waiting:
    """How long a pass may IDLE: until a second before the scheduler's next job (the next poll, the nightly
    report) or until the service is stopping."""

    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping
        self.scheduler: BlockingScheduler | None = None

    def seconds_left(self) -> float:
        if self.stopping.is_set() or self.scheduler is None:
            return 0.0
        due = [job.next_run_time for job in self.scheduler.get_jobs() if job.next_run_time is not None]
        if not due:
            return 0.0
        return (min(due) - datetime.now(min(due).tzinfo)).total_seconds() - 1.0


def _report(app: App) -> None:
    try:
        log.info("nightly report written to %s", nightly_report(app))  # HTML + XLSX, mailed to staff
    except Exception:  # a failed report must not stop the polling
        log.exception("the nightly report failed")


def build_scheduler(app: App, link: MailboxLink | None = None,
                    stopping: threading.Event | None = None) -> BlockingScheduler:
    """The poll job (first run now; its passes share `link`, and IDLE on it between passes unless `stopping`
    is None) and the nightly report job, in the report's time zone."""
    zone = ZoneInfo(app.config.report.timezone)
    grace = app.config.run.misfire_grace_seconds
    # One worker: a pass and the report never run at once (one SMTP connection, one database writer).
    scheduler = BlockingScheduler(timezone=zone, executors={"default": ThreadPoolExecutor(1)})
    waiting = _Waiting(stopping) if stopping is not None else None
    if waiting is not None:
        waiting.scheduler = scheduler
    scheduler.add_job(_pass, IntervalTrigger(minutes=app.config.mailbox.poll_minutes, timezone=zone),
                      args=[app, link, waiting],
                      id="poll", name="poll, process, send", max_instances=1, coalesce=True,
                      misfire_grace_time=grace, next_run_time=datetime.now(zone))
    hour, minute = (int(x) for x in app.config.report.at.split(":"))
    scheduler.add_job(_report, CronTrigger(hour=hour, minute=minute, timezone=zone), args=[app], id="report",
                      name="nightly report", max_instances=1, coalesce=True, misfire_grace_time=grace)
    return scheduler


def serve(app: App) -> None:
    """Run the scheduler until SIGTERM or SIGINT; the running job finishes first, then the kept IMAP
    connection is logged out."""
    link = MailboxLink()
    stopping = threading.Event()
    scheduler = build_scheduler(app, link, stopping)

    def stop(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            log.info("%s: finishing the running job, then stopping", signal.Signals(signum).name)
            # Not in the handler itself: it interrupts the scheduler's own thread, which may hold its locks.
            threading.Thread(target=_shutdown, args=(scheduler,), name="shutdown").start()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        log.info("polling every %s minutes; nightly report at %s %s", app.config.mailbox.poll_minutes,
                 app.config.report.at, app.config.report.timezone)
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        link.close()  # after start() returns no pass is running (shutdown waits for it)
    log.info("stopped")


def _shutdown(scheduler: BlockingScheduler) -> None:
    deadline = time.monotonic() + 30
    while not scheduler.running and time.monotonic() < deadline:
        time.sleep(0.05)  # a signal that came before start(): wait until there is something to stop
    with suppress(SchedulerNotRunningError):
        scheduler.shutdown(wait=True)
