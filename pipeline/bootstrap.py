"""The one wiring function: configuration in, a ready App out. Nothing is built at import time."""

from __future__ import annotations

from datetime import datetime, timezone

from pipeline.config import Config
from pipeline.intake import App, Clock
from storage.db import create_schema, make_engine, session_factory
from storage.rawstore import RawStore


def utc_now() -> datetime:
    """The real clock (tests pass their own)."""
    return datetime.now(timezone.utc)


def build_app(config: Config, clock: Clock | None = None) -> App:
    """Engine, schema, sessions and the raw store for `config`."""
    config.storage.data_dir.mkdir(parents=True, exist_ok=True)
    config.storage.data_dir.chmod(0o700)  # raw mail and applicants' documents: the service account only
    engine = make_engine(config.storage.url, busy_timeout_seconds=config.storage.busy_timeout_seconds)
    create_schema(engine)
    raw = RawStore(config.storage.data_dir / "raw")
    raw.sweep_partials()  # temp files of writes a kill interrupted (an hour old: never a live writer's)
    return App(config=config, sessions=session_factory(engine), raw=raw, clock=clock or utc_now)
