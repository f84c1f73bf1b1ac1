"""`intake ingest` over many files: each delivery recorded in the ledger (committed), then judged, N at a time.

Each judgement already runs in a sandbox child of its own (pipeline/intake/sandbox.py), so a pool of N threads that
each wait for one child keeps N cores busy. Recording stays sequential, in receipt order, and a message is
judged only once it and every earlier one are recorded, so ledger ids follow receipt order: a duplicate is
recognised against the earlier row (`repo.earlier_copy` compares ids), which of a studio's submissions stands is
decided in receipt order (`supersession.refresh`) and replies go out in ledger order
(`repo.pending_replies`), in whatever order the children finish.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path

from pipeline.config import Config
from pipeline.intake.app import App, IngestResult, IngestStatus
from pipeline.intake.ledger import UNFINISHED, fresh, process_by_id, record_delivery
from pipeline.mail.mimestream import STREAM_THRESHOLD
from storage import repo
from storage.models import LedgerState, Message
from storage.rawstore import file_sha256, sha256_hex


def worker_count(config: Config, requested: int | None = None) -> int:
    """Messages judged at once: `requested` (the --workers option), else `[run] workers`; 0 = one per CPU.

    Without isolation every judgement runs in this process, where threads would only contend: one then.
    """
    from pipeline.intake.sandbox import can_isolate  # imports this package's intake module

    wanted = config.run.workers if requested is None else requested
    if wanted <= 0:
        wanted = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, wanted) if can_isolate(config) else 1


def record_file(app: App, path: Path) -> tuple[Message, bool]:
    """Store one message file and its ledger row, committed (see `record_delivery`); a large one streamed.

    Streamed, never read whole: a parent that read each 30 MB message into memory peaked at twice the RSS
    in benchmarks/run.py and was no faster, its recording overlapping the judging anyway. A large file from
    a path never recorded is read once, hashed as it is stored; from a known path (a folder ingested again)
    it is hashed first, so that a file already recorded is not copied again.
    """
    if path.stat().st_size <= STREAM_THRESHOLD:
        raw = path.read_bytes()
        return record_delivery(app, raw, file_key(path, sha256_hex(raw)))
    if _path_recorded(app, path):
        digest = file_sha256(path)
    else:
        digest = app.raw.put_file(path)
    return record_delivery(app, path, file_key(path, digest), digest=digest)


def _path_recorded(app: App, path: Path) -> bool:
    with app.sessions() as session:
        return repo.source_recorded(session, file_key_prefix(path))


def _needs_judging(message: Message, is_new: bool) -> bool:
    return is_new or message.status in (*UNFINISHED, LedgerState.PROCESSING)


# When a message counts as judged, from its ledger row: only `intake demo` passes one (replaying old sample
# mail as of the day it came); `ingest` and `run` always judge by the real clock.
JudgedAt = Callable[[Message], datetime]


def _judging_app(app: App, message: Message, judged_at: JudgedAt | None) -> App:
    """`app`, or a copy whose clock stands still at `judged_at(message)` for this one message's judgement
    (the verdict's time, its reply's date and the deadline sentence in it)."""
    if judged_at is None:
        return app
    moment = judged_at(message)
    return dataclasses.replace(app, clock=lambda: moment)


def ingest_file(app: App, path: Path, judged_at: JudgedAt | None = None) -> IngestResult:
    """Ledger then process one file (what `ingest_bytes` does for bytes)."""
    message, is_new = record_file(app, path)
    if not _needs_judging(message, is_new):
        return IngestResult(message.source_key, IngestStatus.KNOWN)
    return process_by_id(_judging_app(app, message, judged_at), message.id, notify=True,
                         claimed=fresh(message, is_new))


def ingest_parallel(app: App, paths: Sequence[Path], workers: int,
                    step: Callable[[], None] = lambda: None, judged_at: JudgedAt | None = None) -> list[IngestResult]:
    """Record the files one after the other in the given order, each judged as soon as it is recorded,
    `workers` at a time (so recording the next files overlaps judging the first ones).

    Recording stays at most 2 × `workers` files ahead of the judging: a backlog of 300 large messages is not
    first copied whole into the raw store (all the disk's bandwidth, nothing judged meanwhile) and an
    interrupted run leaves few rows recorded but not judged. Results come back in the order of `paths`.
    A storage failure (StorageError, SQLAlchemyError, OSError) raises once the judgements already started
    have finished; nothing after it is recorded or judged.
    """
    results: list[IngestResult | None] = [None] * len(paths)
    workers = max(1, workers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="intake-judge") as pool:
        futures: dict[Future[IngestResult], int] = {}
        try:
            for i, path in enumerate(paths):
                message, is_new = record_file(app, path)
                if _needs_judging(message, is_new):
                    judge = _judging_app(app, message, judged_at)
                    futures[pool.submit(process_by_id, judge, message.id, notify=True,
                                        claimed=fresh(message, is_new))] = i
                else:
                    results[i] = IngestResult(message.source_key, IngestStatus.KNOWN)
                    step()
                _collect(futures, results, step, keep=2 * workers)
            _collect(futures, results, step, keep=0)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return [r for r in results if r is not None]


def _collect(futures: dict[Future[IngestResult], int], results: list[IngestResult | None],
             step: Callable[[], None], *, keep: int) -> None:
    """Move finished judgements into `results`, waiting until at most `keep` are left running or queued
    (`workers` judging and as many recorded, waiting); a judgement's exception raises."""
    while True:
        done = [f for f in futures if f.done()]
        if not done and len(futures) > keep:
            done = [next(as_completed(futures))]
        for future in done:
            results[futures.pop(future)] = future.result()
            step()
        if len(futures) <= keep:
            return


def file_key(path: Path, digest: str) -> str:
    """Ledger key of a local file from its path and its content's sha256 (an edited file is a new delivery)."""
    return f"{file_key_prefix(path)}{digest[:16]}"


def file_key_prefix(path: Path) -> str:
    """What the ledger keys of every version of the file at `path` start with."""
    return f"file:{path.resolve()}#"
