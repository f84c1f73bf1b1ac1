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
    engine = make_engine(config.storage.url)
    create_schema(engine)
    return App(config=config, sessions=session_factory(engine), raw=RawStore(config.storage.data_dir / "raw"),
               clock=clock or utc_now)
