"""The one wiring function: configuration in, a ready App out. Nothing is built at import time."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.engine import Engine

from pipeline.config import Config
from pipeline.intake.judge import App, Clock
from storage.db import create_schema, make_engine, session_factory
from storage.rawstore import RawStore


def storage_engine(config: Config) -> Engine:
    """The engine for `[storage]` (the password, if any, from the environment variable it names)."""
    cfg = config.storage
    return make_engine(cfg.url, busy_timeout_seconds=cfg.busy_timeout_seconds, password_env=cfg.password_env)


def utc_now() -> datetime:
    """The real clock (tests pass their own)."""
    return datetime.now(timezone.utc)


def build_app(config: Config, clock: Clock | None = None, *, upgrade: bool = True) -> App:
    """Engine, schema (brought to the newest revision unless `upgrade` is False), sessions and the raw store.

    The sandbox's per-message child passes upgrade=False: its parent's build_app already did it.
    """
    config.storage.data_dir.mkdir(parents=True, exist_ok=True)
    config.storage.data_dir.chmod(0o700)  # raw mail and applicants' documents: the service account only
    engine = storage_engine(config)
    if upgrade:
        create_schema(engine, busy_timeout_seconds=config.storage.busy_timeout_seconds)
    raw = RawStore(config.storage.data_dir / "raw")
    raw.sweep_partials()  # temp files of writes a kill interrupted (an hour old: never a live writer's)
    return App(config=config, sessions=session_factory(engine), raw=raw, clock=clock or utc_now)
