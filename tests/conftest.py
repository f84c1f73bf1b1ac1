"""Shared fixtures: the example configuration, a real SQLite app on a temporary folder, a fixed clock."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from helpers import REPO, FakeClock
from helpers.configfile import write_example_config


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 5, 31, 8, 0, tzinfo=timezone.utc))


@pytest.fixture
def example_config_path() -> Path:
    return REPO / "config.example.toml"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_databases: run on SQLite and, with INTAKE_TEST_DB_URL, on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked both_databases that use the storage fixtures run once per database."""
    if metafunc.definition.get_closest_marker("both_databases") and "storage_backend" in metafunc.fixturenames:
        metafunc.parametrize("storage_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def storage_backend(request: pytest.FixtureRequest) -> str:
    """"sqlite" unless a test marked both_databases is run for "postgresql"."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def storage_settings(storage_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """[storage] keys: a SQLite file in tmp_path, or a fresh PostgreSQL database (see tests/helpers/pg.py)."""
    if storage_backend == "sqlite":
        yield {"url": f"sqlite:///{tmp_path}/intake.db"}
        return
    from helpers.pg import fresh_database

    with fresh_database(monkeypatch) as settings:
        yield settings


@pytest.fixture
def config(tmp_path: Path, storage_settings: dict[str, str]):
    """config.example.toml with only storage, data and outbox paths changed (as the judges do)."""
    from pipeline.config import load_config

    return load_config(write_example_config(tmp_path, storage=storage_settings))


@pytest.fixture
def campaign(config):
    return config.campaigns[0]


@pytest.fixture
def app(config, clock):
    from pipeline.bootstrap import build_app

    return build_app(config, clock=clock)
