"""Drain the outbox to a folder of .eml files (the demo, and offices that send by hand)."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.intake import App
from storage import repo


def drain_to_folder(app: App, folder: Path) -> list[Path]:
    """Write each pending reply as `<id>-<kind>.eml`, then mark it sent.

    The file name depends only on the outbox row, so a crash between writing
    and recording rewrites the same file on the next run: never two copies.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with app.sessions() as session:
        for item in repo.pending_replies(session):
            target = folder / f"{item.id:05d}-{item.kind}.eml"
            tmp = target.with_suffix(".part")
            tmp.write_bytes(item.raw)
            os.replace(tmp, target)
            item.status, item.sent_at, item.attempts = "sent", app.clock(), item.attempts + 1
            session.commit()
            written.append(target)
    return written
