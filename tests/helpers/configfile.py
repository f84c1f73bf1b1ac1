"""config.example.toml pointed at a folder, written as a file: the one way every test and benchmark makes a
configuration of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import REPO
from helpers.smtp_server import toml_set

EXAMPLE = REPO / "config.example.toml"


def write_example_config(folder: Path, *, source: Path = EXAMPLE, name: str = "config.toml",
                         storage: dict[str, str] | None = None, outbox: bool = True,
                         **sections: dict[str, Any]) -> Path:
    """`folder`/`name`: `source` with its database (a SQLite file in `folder` unless `storage` names a `url`;
    other `storage` keys beside it) and data_dir in `folder`, replies written to `folder`/outbox unless
    `outbox` is False (a test SMTP server instead), and `sections` overriding keys:
    write_example_config(tmp, smtp={"host": "127.0.0.1", "port": 2525})."""
    folder.mkdir(parents=True, exist_ok=True)
    text = source.read_text(encoding="utf-8")
    text = toml_set(text, "storage", **{"url": f"sqlite:///{folder}/intake.db", **(storage or {})},
                    data_dir=str(folder / "data"))
    if outbox:
        text = toml_set(text, "smtp", outbox_dir=str(folder / "outbox"))
    for section, values in sections.items():
        text = toml_set(text, section, **values)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
