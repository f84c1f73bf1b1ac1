"""Shared fixtures: the example configuration, a real SQLite app on a temporary folder, a fixed clock."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


class FakeClock:
    """The only fake in the suite: time that moves when a test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 5, 31, 8, 0, tzinfo=timezone.utc))


@pytest.fixture
def example_config_path() -> Path:
    return REPO / "config.example.toml"


@pytest.fixture
def config(tmp_path: Path):
    """config.example.toml with only storage, data and outbox paths changed (as the judges do)."""
    from pipeline.config import load_config

    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    text = text.replace('url = "sqlite:///data/intake.db"', f'url = "sqlite:///{tmp_path}/intake.db"')
    text = text.replace('data_dir = "data"', f'data_dir = "{tmp_path}/data"')
    text = text.replace('# outbox_dir = "outbox"', f'outbox_dir = "{tmp_path}/outbox"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


@pytest.fixture
def campaign(config):
    return config.campaigns[0]


@pytest.fixture
def app(config, clock):
    from pipeline.bootstrap import build_app

    return build_app(config, clock=clock)
