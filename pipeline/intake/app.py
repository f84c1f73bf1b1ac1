"""The App: everything processing needs, built once (`open_app`) and passed down; and what processing returns.

How a message is judged (in a limited child process, or here) is chosen by the wiring (pipeline.bootstrap) and
injected as `App.process`: the ledger calls it without knowing which, so nothing here imports the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Config
from pipeline.documents import scratch
from storage.db import create_schema, make_engine, session_factory
from storage.rawstore import RawStore

Clock = Callable[[], datetime]


class IngestStatus(StrEnum):
    """What happened to one delivery (the values are printed by `intake ingest`)."""

    NEW = "new"          # processed now
    KNOWN = "known"      # already in the ledger, or claimed by another process right now
    FAILED = "failed"    # processing failed; the row is kept for `intake reprocess`


@dataclass(frozen=True)
class IngestResult:
    """What happened to one delivery."""

    source_key: str
    status: IngestStatus
    submission_id: int | None = None
    verdict: str | None = None


class Process(Protocol):
    """Judge the claimed ledger row `message_pk` (in process or in a sandbox child); never raises for bad mail."""

    def __call__(self, app: App, message_pk: int, *, notify: bool) -> IngestResult: ...


@dataclass
class App:
    """Everything processing needs, built once by `open_app`."""

    config: Config
    sessions: sessionmaker[Session]
    raw: RawStore
    clock: Clock
    process: Process  # chosen by pipeline.bootstrap.build_app

    @property
    def files_root(self) -> Path:
        return self.config.storage.data_dir / "files"


def storage_engine(config: Config) -> Engine:
    """The engine for `[storage]` (the password, if any, from the environment variable it names)."""
    cfg = config.storage
    return make_engine(cfg.url, busy_timeout_seconds=cfg.busy_timeout_seconds, password_env=cfg.password_env)


def utc_now() -> datetime:
    """The real clock (tests pass their own)."""
    return datetime.now(timezone.utc)


def open_app(config: Config, process: Process, clock: Clock | None = None, *, upgrade: bool = True) -> App:
    """Engine, schema (brought to the newest revision unless `upgrade` is False), sessions and the raw store.

    The sandbox's per-message child passes upgrade=False: its parent already did it.
    """
    config.storage.data_dir.mkdir(parents=True, exist_ok=True)
    config.storage.data_dir.chmod(0o700)  # raw mail and applicants' documents: the service account only
    engine = storage_engine(config)
    if upgrade:
        create_schema(engine, busy_timeout_seconds=config.storage.busy_timeout_seconds)
    raw = RawStore(config.storage.data_dir / "raw")
    raw.sweep_partials()  # temp files of writes a kill interrupted (an hour old: never a live writer's)
    if upgrade:  # a parent, not a sandbox child: folders in memory that a killed judging left (an hour old)
        scratch.sweep(scratch.private_root())
    return App(config=config, sessions=session_factory(engine), raw=raw, clock=clock or utc_now, process=process)
