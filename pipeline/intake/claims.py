"""Who is working on a ledger row or a reply: claims that let several intake processes share one database.

The run lock (a flock) keeps two `intake run` apart on one host only; two hosts on a shared PostgreSQL
server, or a second host's `intake ingest`, get no such protection. So work on a row is claimed in the row
itself, by a conditional UPDATE whose rowcount says who won (storage.repo.claim_message / claim_reply),
committed before the work starts. The claim is two columns of the row: `claimed_by`, the process as
<host>:<pid>:<process start ticks>, and `claimed_at` (migration 0005_claims moved the claims that earlier
versions wrote into the error column). A claim can be taken over when
its owner is known to be gone (same host, and that process no longer exists: a kill or a crash), or when
it is older than the longest a message may take to judge (sandbox.wall_seconds) plus a margin, which is
the only thing another host can know.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from functools import lru_cache

from pipeline.intake.app import App

STALE_MARGIN = timedelta(seconds=60)  # beyond the wall limit: the parent's own bookkeeping after the child


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc): with the pid, unique over a boot."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


@lru_cache(maxsize=1)
def _host() -> str:
    return socket.gethostname()


def owner() -> str:
    """This process, as a claim names it (a pid alone is reused; with its start time it is not)."""
    pid = os.getpid()
    return f"{_host()}:{pid}:{_start_ticks(pid) or '?'}"


def _owner_gone(name: str) -> bool:
    """True when `name` is a process of this host that no longer runs (another host's: never known here)."""
    parts = name.rsplit(":", 2)  # host:pid:ticks
    if len(parts) != 3 or parts[0] != _host() or not parts[1].isdigit():
        return False
    return _start_ticks(int(parts[1])) != parts[2]


def may_take_over(app: App, claimed_by: str | None, claimed_at: datetime | None) -> bool:
    """Whether a row claimed by `claimed_by` at `claimed_at` may be claimed again by this process (module doc).

    A row without a claim (left `sending` on purpose, or by a version without claims) is free.
    """
    if not claimed_by or claimed_at is None:
        return True
    if _owner_gone(claimed_by):
        return True
    limit = timedelta(seconds=app.config.sandbox.wall_seconds) + STALE_MARGIN
    return app.clock() - claimed_at > limit
