"""Judge messages in a child process with resource limits, so a hostile attachment can only kill the child.

The parent forks a worker from a forkserver that has the pipeline preloaded (no inherited database
connections), handing it the Config. The child sets its limits before anything else, opens the database,
then judges up to `[limits] messages_per_child` messages one after the other, each sent with whether to
reply and the parent's clock reading: for each it answers "started" first, then judges and commits in a
session of its own and sends back the IngestResult. Each thread of the parent keeps its child between two
messages (a new engine, compiled statements and warm parser caches cost ~45 ms a child), for the same
Config and database secret only; the child ends after its last message, when the pipe closes, or when no
message has come for CHILD_IDLE_SECONDS. Each message gets `cpu_seconds` of CPU and `wall_seconds` of its own.

A child that is killed (memory, CPU, SIGKILL from outside), exits without a result or outlives
`wall_seconds` on a message is killed with everything it started; the parent then records the outcome of
the message it had started, and of no other: the row `failed` (retried like any failure), the submission in
review with INTERNAL_ERROR, or UNSAFE_ARCHIVE when the child was unpacking an archive. No reply is queued
for those: staff decide. A kept child found gone before it said "started" costs nothing: a new one judges.

Like every multiprocessing user, a script that calls this must keep its top-level work under
`if __name__ == "__main__":` (each child imports the parent's main module); `intake` and pytest do.
A child killed from outside leaves any unpacker it started running, bounded by the inherited rlimits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import math
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as sentinel_wait
from multiprocessing.process import BaseProcess
from typing import Any

from sqlalchemy.engine import make_url

from pipeline.config import Config, SandboxLimits
from pipeline.intake.app import App, IngestResult, open_app

# pipeline.intake.judge (the parsers, the archive tools, openpyxl …) is imported where it is used, never here:
# a parent that hands every message to a child need not load it (0.37 s of each `intake ingest`), and the
# forkserver has it preloaded for the children (PRELOAD).
from pipeline.intake.folders import clear_after_crash
from pipeline.intake.forkstart import child_context

# mark_failed: the one way a failure is recorded, whether the child's code raised or the child died.
from pipeline.intake.ledger import mark_failed
from pipeline.rules.findings import Code, Severity
from pipeline.rules.wording import make_finding
from storage.models import Message

log = logging.getLogger(__name__)
_MIB = 2**20
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def can_isolate(config: Config) -> bool:
    """Isolation is on and the database is one a second process can open."""
    return config.sandbox.isolate and ":memory:" not in config.storage.url


def process_isolated(app: App, message_pk: int, *, notify: bool,
                     started: Callable[[int], None] | None = None) -> IngestResult:
    """Judge ledger row `message_pk` in a limited child; a child that fails is recorded here, never raised.

    The calling thread's kept child judges it if there is one for this Config, else a new child. `started`
    gets the pid of the child judging this message (a kept one once it has said "started").
    """
    limits = app.config.sandbox
    request = (message_pk, notify, app.clock())
    child = _kept_child(app.config)
    deadline = _hand_over(child, request, limits.wall_seconds) if child is not None else None
    if child is None or deadline is None:  # none kept, or it was gone before it took the message: a new one
        child = _start_judging_child(app.config)
        deadline = time.monotonic() + limits.wall_seconds  # a new child's start counts, as it always did
        _send(child, request)
    if started is not None:
        started(child.pid)
    try:
        verdict = _await_verdict(child, deadline)
    except TimeoutError:
        verdict = None
    if verdict is not None:
        result, last = verdict
        _keep(child, retire=last)
        return result
    exitcode, timed_out = _end(child, deadline)
    reason = _failure_reason(exitcode, timed_out, limits)
    log.error("message %s: %s", message_pk, reason)
    return record_child_failure(app, message_pk, reason)


# A child waits this long for its next message, then exits. `intake ingest` sends the next one within
# milliseconds; `intake run` polls every few minutes, and a child idle until then would hold a database
# connection and its memory for nothing. Read by the parent when it starts a child (tests shorten it).
CHILD_IDLE_SECONDS = 5.0

# (message_pk, notify, the parent's clock reading): one message for a child to judge.
_Request = tuple[int, bool, datetime]
_STARTED = "started"  # the child's first answer to a request, before it touches the message


@dataclass
class _Child:
    """A judging child and the pipe to it, with what it was started for."""

    process: BaseProcess
    conn: Connection
    config: Config
    secret: dict[str, str]

    @property
    def pid(self) -> int:
        return self.process.pid or 0

    def ended(self) -> bool:
        """Whether it has exited (its status is not read: see _STATUS_LOCK)."""
        return bool(sentinel_wait([self.process.sentinel], 0))


_kept = threading.local()  # .child: this thread's child, waiting for its next message


def _kept_child(config: Config) -> _Child | None:
    """This thread's kept child if it was started for `config` and the same database secret; taken out of
    the keeping (a child that fails is not put back). One for another Config is let go: it ends on EOF."""
    child: _Child | None = getattr(_kept, "child", None)
    _kept.child = None
    if child is None:
        return None
    if child.config is config and child.secret == storage_secret(config) and not child.ended():
        return child
    _let_go(child)
    return None


def _keep(child: _Child, *, retire: bool) -> None:
    """After a verdict: keep the child for this thread's next message, or let it go when it said that was its
    last (it exits by itself; the forkserver reaps it)."""
    if retire:
        _let_go(child)
    else:
        _kept.child = child


def _let_go(child: _Child) -> None:
    """Close the pipe: a child waiting for a message exits on the EOF, one that has exited is reaped here."""
    child.conn.close()
    if child.ended():
        wait_child(child.process, 0)


def _start_judging_child(config: Config) -> _Child:
    ctx = child_context()
    ours, theirs = ctx.Pipe()
    secret = storage_secret(config)
    process = ctx.Process(target=_judging_child, args=(config, theirs, secret, CHILD_IDLE_SECONDS),
                          name="intake-judge", daemon=True)
    start_child(process)
    theirs.close()
    return _Child(process, ours, config, secret)


def _send(child: _Child, request: _Request) -> bool:
    """False if the child's end is closed (it exited); a child that died early is found by _await_verdict."""
    try:
        child.conn.send(request)
    except OSError:
        return False
    return True


def _hand_over(child: _Child, request: _Request, wall_seconds: float) -> float | None:
    """Give a kept child the message; the message's deadline once it has said "started", or None (and the
    child is ended) if it exited, closed the pipe or did not answer first: then it never touched it."""
    deadline = time.monotonic() + wall_seconds
    if _send(child, request):
        with suppress(TimeoutError):
            if _reply(child, deadline) == (_STARTED, request[0]):
                return deadline
    exitcode, killed = _end(child, deadline)
    log.info("message %s: the kept child %s %s before taking it; a new one judges it", request[0], child.pid,
             "did not answer" if killed else f"had exited (status {exitcode})")
    return None


def _await_verdict(child: _Child, deadline: float) -> tuple[IngestResult, bool] | None:
    """(the result, whether it was the child's last) once it comes; None if the child ended without one.
    Raises TimeoutError at `deadline`."""
    while True:
        reply = _reply(child, deadline)
        if reply is None:
            return None
        if reply[0] != _STARTED:  # a new child's "started" comes first
            return reply[1], reply[2]


def _reply(child: _Child, deadline: float) -> tuple[Any, ...] | None:
    """The child's next message on the pipe, or None if it ended or closed the pipe first."""
    if not sentinel_wait([child.conn, child.process.sentinel], max(0.0, deadline - time.monotonic())):
        raise TimeoutError
    try:  # what it sent before it ended is still there to read
        return child.conn.recv() if child.conn.poll() else None
    except (EOFError, OSError):
        return None


def _end(child: _Child, deadline: float) -> tuple[int | None, bool]:
    """Wait until `deadline` for the child to exit, else kill it with everything it started: (its exit
    status, whether it was killed for time)."""
    child.conn.close()
    exitcode = wait_child(child.process, max(0.0, deadline - time.monotonic()))
    if exitcode is not None:
        return exitcode, False
    _kill_tree(child.pid)
    return wait_child(child.process, None), True


# multiprocessing is not thread-safe here: every Process.start() polls all other live children
# (multiprocessing.process._cleanup), and a forkserver child's exit status is 8 bytes read once from a pipe.
# Two threads reading it at once leave one with EOF, which multiprocessing reports as exit status 255
# ("perhaps the forkserver got killed") although the child finished fine. With `--workers 2` that turned
# about one message in thirty into a failure; so starting a child and reading any exit status share a lock.
_STATUS_LOCK = threading.Lock()


def start_child(child: BaseProcess) -> None:
    """child.start(), safe beside other threads that start or wait for children."""
    with _STATUS_LOCK:
        child.start()


def wait_child(child: BaseProcess, timeout: float | None) -> int | None:
    """Wait up to `timeout` s (None: for ever) for `child` to end; its exit code, or None if it still runs.

    The wait itself happens outside the lock, so threads wait in parallel; only reading the status is serialised.
    """
    sentinel_wait([child.sentinel], timeout)
    with _STATUS_LOCK:
        child.join(0)  # the status is ready (or the timeout passed): reads it once, reaps the Process object
        return child.exitcode


def rebuild_isolated(app: App, message_pk: int) -> bool:
    """judge.rebuild_folder (a message's derived files re-made from its raw message) in a limited child, as
    the message was judged: its archives are as hostile as they were then. False if the child failed."""
    if not can_isolate(app.config):
        from pipeline.intake.judge import rebuild_folder

        return rebuild_folder(app, message_pk)
    ctx = child_context()
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_rebuild_child, args=(app.config, message_pk, sender, storage_secret(app.config)),
                        name=f"intake-rebuild-{message_pk}", daemon=True)
    start_child(child)
    sender.close()
    if wait_child(child, app.config.sandbox.wall_seconds) is None:
        _kill_tree(child.pid or 0)
        wait_child(child, None)
    return bool(_receive(receiver))


def _receive(receiver: Connection) -> IngestResult | None:
    try:
        return receiver.recv() if receiver.poll() else None
    except (EOFError, OSError):
        return None
    finally:
        receiver.close()


def storage_secret(config: Config) -> dict[str, str]:
    """The database password variable as this process has it now, when the child needs it (see _child).

    The child opens the database itself (it judges and commits in its own session), so a PostgreSQL child
    needs the password; a SQLite file has none (storage.db.make_engine ignores it there), and then the child
    gets nothing. The mailbox and SMTP codes it never gets: see pipeline.intake.forkserver_main.
    """
    name = config.storage.password_env
    if not name or name not in os.environ or make_url(config.storage.url).get_backend_name() == "sqlite":
        return {}
    return {name: os.environ[name]}


def _judging_child(config: Config, conn: Connection, secret_env: dict[str, str], idle_seconds: float) -> None:
    """The child's whole life: limits first, then up to messages_per_child messages, each with the parent's
    time frozen at its request and its own CPU budget; it stops early when it is worn (_worn).

    The forkserver starts with an allow-listed environment (pipeline.intake.forkserver_main), without secrets; the
    database password, when the database needs one, comes from the parent for this child alone.
    """
    limits = config.sandbox
    app = _enter_child(config, secret_env, messages=limits.messages_per_child)
    fresh = _footprint()
    for judged in range(1, limits.messages_per_child + 1):
        request = _next_request(conn, idle_seconds)
        if request is None:
            break
        message_pk, notify, now = request
        if judged > 1:
            _allow_cpu_for_message(limits.cpu_seconds)
        conn.send((_STARTED, message_pk))  # from here on, whatever becomes of this child is this message's
        result = app.process(_frozen_at(app, now), message_pk, notify=notify)  # judge.process_in_process
        last = judged == limits.messages_per_child or _worn(limits, fresh)
        conn.send(("judged", result, last))
        if last:
            break
    conn.close()


def _next_request(conn: Connection, idle_seconds: float) -> _Request | None:
    """The next message to judge; None when the pipe closed or nothing came for `idle_seconds`."""
    try:
        return conn.recv() if conn.poll(idle_seconds) else None
    except (EOFError, OSError):
        return None


def _frozen_at(app: App, now: datetime) -> App:
    return replace(app, clock=lambda: now)


def _allow_cpu_for_message(cpu_seconds: int) -> None:
    """Raise the soft CPU limit to what this child has used so far + `cpu_seconds` (rounded up): RLIMIT_CPU
    counts a process's whole life, and each message gets the budget it had in a child of its own."""
    soft = math.ceil(_cpu_used()) + cpu_seconds
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _cpu_used() -> float:
    """CPU seconds this process has used, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _footprint() -> tuple[int, int]:
    """(address space in bytes, open descriptors) of this process now; (0, 0) where there is no /proc."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            pages = int(fh.read().split()[0])
        return pages * resource.getpagesize(), len(os.listdir("/proc/self/fd"))
    except (OSError, ValueError, IndexError):
        return 0, 0


def _worn(limits: SandboxLimits, fresh: tuple[int, int]) -> bool:
    """Whether this child should stop after this message so that the next one gets a new child's room.

    Its CPU: once it has used `cpu_seconds` in all, as its soft limit must stay below 2 × cpu_seconds (the
    hard limit, see apply_limits; the tools it starts inherit the soft one). Its address space and open
    descriptors: a heap left fragmented or a descriptor left open by one message must not push the next over
    `memory_mb` or `max_open_files`; an eighth of either may go before the child makes way.
    """
    if _cpu_used() >= limits.cpu_seconds:
        return True
    memory, files = _footprint()
    return memory - fresh[0] > limits.memory_mb * _MIB // 8 or files - fresh[1] > limits.max_open_files // 8


def _rebuild_child(config: Config, message_pk: int, sender: Connection, secret_env: dict[str, str]) -> None:
    """A child that re-makes one message's derived files (rebuild_isolated), limited like a judging one."""
    app = _enter_child(config, secret_env)
    from pipeline.intake.judge import rebuild_folder  # preloaded in the forkserver

    sender.send(rebuild_folder(app, message_pk))
    sender.close()


def _enter_child(config: Config, secret_env: dict[str, str], *, messages: int = 1) -> App:
    """What every child does first: its secrets, its own process group, death with the forkserver, the limits
    (for `messages` messages)."""
    os.environ.update(secret_env)
    os.setsid()  # its own process group, so the parent can kill it together with what it started
    _die_with_forkserver()
    apply_limits(config.sandbox, messages=messages)
    from pipeline.intake.judge import process_in_process  # preloaded in the forkserver

    # the parent brought the schema up to date
    return open_app(config, process_in_process, upgrade=False)  # each message brings its clock (_frozen_at)


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library, for prctl. Looked up once, in the forkserver (pipeline.intake.forkserver_main): find_library
    runs `ldconfig -p`, 3 ms a child otherwise."""
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _die_with_forkserver() -> None:
    """SIGKILL this child when its parent (the forkserver) exits, which it does as soon as intake dies.

    Without this a child outlives an `intake` killed with SIGKILL (setsid detached it) and may commit its
    verdict after the next run has started judging the same row: two submissions, two replies. With it,
    the child dies within milliseconds, long before a new run can start, and its transaction rolls back.
    """
    parent = os.getppid()
    with suppress(OSError, AttributeError):
        libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the forkserver died before prctl: nobody is waiting for this verdict
        os._exit(1)


def apply_limits(limits: SandboxLimits, *, messages: int = 1) -> None:
    """Set this process's rlimits (never raising one above what the parent was allowed), for `messages`.

    A hard limit can only go down, so a child for several messages gets one with room for two budgets: it
    raises its soft limit before each message to what it used + cpu_seconds (_allow_cpu_for_message) and stops
    once it has used cpu_seconds in all (_worn), so the soft limit never passes 2 × cpu_seconds.
    """
    _limit(resource.RLIMIT_CORE, 0)  # a 1 GB core dump per killed child would fill the disk
    # SIGXCPU at the soft limit ends the child; SIGKILL at the hard one if it ignores that.
    _limit(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds * (2 if messages > 1 else 1) + 5)
    _limit(resource.RLIMIT_AS, limits.memory_mb * _MIB)
    _limit(resource.RLIMIT_NOFILE, limits.max_open_files)
    _limit(resource.RLIMIT_FSIZE, limits.max_file_mb * _MIB)


def _limit(kind: int, soft: int, hard: int | None = None) -> None:
    _, current = resource.getrlimit(kind)
    cap = (lambda n: n) if current == resource.RLIM_INFINITY else (lambda n: min(n, current))
    resource.setrlimit(kind, (cap(soft), cap(hard if hard is not None else soft)))


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc (Linux); empty where there is no /proc."""
    parents: dict[int, list[int]] = {}
    with suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with suppress(OSError, ValueError, IndexError):
                    with open(f"/proc/{entry.name}/stat", "rb") as fh:
                        # The name field may hold spaces and parentheses: the ppid follows the last ')'.
                        ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
                    parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found.extend(children)
        todo.extend(children)
    return found


def _kill_tree(pid: int) -> None:
    """SIGKILL the child, its process group and every descendant (unpackers run in sessions of their own)."""
    if pid <= 0:
        return
    for target in (pid, *_descendants(pid)):  # collected first: once the child dies its children are re-parented
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(target, signal.SIGKILL)
        with suppress(ProcessLookupError, PermissionError):
            os.kill(target, signal.SIGKILL)


def _failure_reason(exitcode: int | None, timed_out: bool, limits: SandboxLimits) -> str:
    """One line for the ledger's error column and the staff report."""
    if timed_out:
        return f"child timed out after {limits.wall_seconds:g} s and was killed"
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = {signal.SIGKILL: f" (memory limit of {limits.memory_mb} MB, or killed from outside)",
                signal.SIGXCPU: f" (CPU limit of {limits.cpu_seconds} s)",
                signal.SIGXFSZ: f" (file size limit of {limits.max_file_mb} MB)"}.get(signal.Signals(-exitcode), "")
        return f"child killed by {name}{hint}"
    return f"child exited with status {exitcode} without a result (out of memory?)"


def record_child_failure(app: App, message_pk: int, reason: str) -> IngestResult:
    """Review with UNSAFE_ARCHIVE if the child died unpacking (its marker says which), else INTERNAL_ERROR."""
    with app.sessions() as session:
        message = session.get(Message, message_pk)
        assert message is not None
        archive = clear_after_crash(app, message)
    if archive is None:
        return mark_failed(app, message_pk, reason)
    finding = make_finding(Code.UNSAFE_ARCHIVE, Severity.REVIEW, file=archive,
                           detail="解压时超出了系统的资源限制（疑似“压缩炸弹”）", note=reason)
    return mark_failed(app, message_pk, f"{reason} while unpacking {archive}", finding)
