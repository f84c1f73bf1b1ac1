"""Judge one message in a child process with resource limits, so a hostile attachment can only kill the child.

The parent forks a worker from a forkserver that has the pipeline preloaded (milliseconds per message, and
no inherited database connections), handing it the Config, the ledger row, whether to reply and the
parent's clock reading. The child sets its limits before anything else, judges and commits in its own
database session and sends back the IngestResult.

A child that is killed (memory, CPU, SIGKILL from outside), exits without a result or outlives
`wall_seconds` is killed with everything it started; the parent then records the outcome itself: the row
`failed` (retried like any failure), the submission in review with INTERNAL_ERROR, or UNSAFE_ARCHIVE when
the child was unpacking an archive. No reply is queued for those: staff decide.

Like every multiprocessing user, a script that calls this must keep its top-level work under
`if __name__ == "__main__":` (each child imports the parent's main module); `intake` and pytest do.
A child killed from outside leaves any unpacker it started running, bounded by the inherited rlimits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import multiprocessing
import os
import resource
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as sentinel_wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from sqlalchemy.engine import make_url

from pipeline.config import Config, SandboxLimits
from pipeline.intake.app import App, IngestResult, open_app

# mark_failed: the one way a failure is recorded, whether the child's code raised or the child died.
from pipeline.intake.judge import UNPACKING_MARKER, message_workdir, process_in_process, rebuild_folder
from pipeline.intake.ledger import mark_failed
from pipeline.rules.findings import Code, Severity
from pipeline.rules.wording import make_finding
from storage.models import Message

log = logging.getLogger(__name__)
_MIB = 2**20
FORKSERVER_MAIN_ENV = "INTAKE_FORKSERVER_MAIN"  # the parent's main script, for pipeline.intake.forkserver_main
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Imported once by the forkserver, so each child starts with them loaded; pipeline.intake.forkserver_main loads
# the entry point (intake's CLI, pytest) there, which "__main__" in this list is meant to do but doesn't.
PRELOAD = ["pipeline.intake.forkserver_main", "pipeline.intake.sandbox", "parsers.pdf", "parsers.images",
           "parsers.sheets", "parsers.docx_text", "parsers.wordcount", "parsers.form_reader", "parsers.scan",
           "parsers.convert", "pipeline.rules.eligibility", "storage.forms", "storage.mailbox_state",
           "sqlalchemy.dialects.sqlite", "sqlite3", "sqlalchemy.dialects.postgresql", "PIL.JpegImagePlugin",
           "PIL.PngImagePlugin", "pdfminer.cmapdb",
           # imported lazily by pdfplumber (page rendering) and py7zr (extraction): once here, not per child
           "pypdfium2", "psutil",
           # Image.open's first call loads these; names in GBK and CP437 (zip) decode with these codecs
           "PIL.BmpImagePlugin", "PIL.GifImagePlugin", "PIL.PpmImagePlugin", "encodings.gb18030", "encodings.cp437",
           "email.generator"]


def can_isolate(config: Config) -> bool:
    """Isolation is on and the database is one a second process can open."""
    return config.sandbox.isolate and ":memory:" not in config.storage.url


def process_isolated(app: App, message_pk: int, *, notify: bool,
                     started: Callable[[int], None] | None = None) -> IngestResult:
    """Judge ledger row `message_pk` in a limited child; a child that fails is recorded here, never raised."""
    limits = app.config.sandbox
    ctx = child_context()
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child,
                        args=(app.config, message_pk, notify, app.clock(), sender, storage_secret(app.config)),
                        name=f"intake-message-{message_pk}", daemon=True)
    start_child(child)
    sender.close()
    if started is not None:
        started(child.pid or 0)
    exitcode = wait_child(child, limits.wall_seconds)
    timed_out = exitcode is None
    if timed_out:
        _kill_tree(child.pid or 0)
        exitcode = wait_child(child, None)
    result = _receive(receiver)
    if result is not None:
        # The child sends its result only after its commit: the verdict stands whatever the exit status says.
        if exitcode != 0:
            log.warning("message %s: child exited with status %s after sending its result", message_pk, exitcode)
        return result
    reason = _failure_reason(exitcode, timed_out, limits)
    log.error("message %s: %s", message_pk, reason)
    return record_child_failure(app, message_pk, reason)


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


def child_context() -> BaseContext:
    main = sys.modules.get("__main__")
    # Only a main run as a script by path (`intake`, `pytest`) is re-run by children; one run with -m
    # (`python -m pipeline`) is imported by name, and a package's __main__ never (multiprocessing.spawn).
    if getattr(main, "__spec__", None) is None and getattr(main, "__file__", None):
        os.environ[FORKSERVER_MAIN_ENV] = os.path.abspath(main.__file__)  # read by pipeline.intake.forkserver_main
    else:
        os.environ.pop(FORKSERVER_MAIN_ENV, None)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)  # only read when the forkserver starts (once per parent)
    return ctx


def rebuild_isolated(app: App, message_pk: int) -> bool:
    """judge.rebuild_folder (a message's derived files re-made from its raw message) in a limited child, as
    the message was judged: its archives are as hostile as they were then. False if the child failed."""
    if not can_isolate(app.config):
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


def _child(config: Config, message_pk: int, notify: bool, now: datetime, sender: Connection,
           secret_env: dict[str, str]) -> None:
    """The child's whole life: limits first, then judge one message with the parent's time frozen.

    The forkserver starts with an allow-listed environment (pipeline.intake.forkserver_main), without secrets; the
    database password, when the database needs one, comes from the parent for this child alone.
    """
    app = _enter_child(config, secret_env, now)
    sender.send(process_in_process(app, message_pk, notify=notify))
    sender.close()


def _rebuild_child(config: Config, message_pk: int, sender: Connection, secret_env: dict[str, str]) -> None:
    """A child that re-makes one message's derived files (rebuild_isolated), limited like a judging one."""
    app = _enter_child(config, secret_env, None)
    sender.send(rebuild_folder(app, message_pk))
    sender.close()


def _enter_child(config: Config, secret_env: dict[str, str], now: datetime | None) -> App:
    """What every child does first: its secrets, its own process group, death with the forkserver, the limits."""
    os.environ.update(secret_env)
    os.setsid()  # its own process group, so the parent can kill it together with what it started
    _die_with_forkserver()
    apply_limits(config.sandbox)
    # the parent brought the schema up to date
    return open_app(config, process_in_process, (lambda: now) if now is not None else None, upgrade=False)


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


def apply_limits(limits: SandboxLimits) -> None:
    """Set this process's rlimits (never raising one above what the parent was allowed)."""
    _limit(resource.RLIMIT_CORE, 0)  # a 1 GB core dump per killed child would fill the disk
    # SIGXCPU at the soft limit ends the child; SIGKILL at the hard one if it ignores that.
    _limit(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 5)
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
        workdir = message_workdir(app, message)
    marker = workdir / UNPACKING_MARKER
    archive = marker.read_text(encoding="utf-8") if marker.is_file() else None
    shutil.rmtree(workdir / "unpacked", ignore_errors=True)  # a bomb's partial output must not fill the disk
    marker.unlink(missing_ok=True)
    if archive is None:
        return mark_failed(app, message_pk, reason)
    finding = make_finding(Code.UNSAFE_ARCHIVE, Severity.REVIEW, file=archive,
                           detail="解压时超出了系统的资源限制（疑似“压缩炸弹”）", note=reason)
    return mark_failed(app, message_pk, f"{reason} while unpacking {archive}", finding)
