"""config.example.toml with storage, data and outbox moved under one folder, as a file (test_workers, benchmarks)."""

from __future__ import annotations

from pathlib import Path

from helpers import REPO
from helpers.smtp_server import toml_set


def write_example_config(folder: Path) -> Path:
    """`folder`/config.toml: the example with a SQLite file, data_dir and outbox_dir inside `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    text = toml_set(text, "storage", url=f"sqlite:///{folder}/intake.db")
    text = text.replace('data_dir = "data"', f'data_dir = "{folder}/data"')
    text = text.replace('# outbox_dir = "outbox"', f'outbox_dir = "{folder}/outbox"')
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path
