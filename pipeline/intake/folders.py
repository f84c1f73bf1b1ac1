"""The folders a message's derived files are written to: its folder in the derived-file cache (named by the
documents' rows), and the private folder on the memory file system judging uses when there is room
(pipeline/documents/scratch.py); and what is left of them after a judging process died.

Apart from pipeline.intake.judge so that what only needs the folders (the sandbox's parent, `intake open`,
the staff console) does not load the parsers and archive tools judging needs.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
from pathlib import Path

from pipeline.documents import scratch
from pipeline.intake.app import App
from storage.models import Message

UNPACKING_MARKER = ".unpacking"  # in a message's work folder while one of its archives is being unpacked


def message_workdir(app: App, message: Message) -> Path:
    """The folder of one ledger row in the derived-file cache: its attachments saved and unpacked, as the
    documents' rows name them, wherever judging read them."""
    return app.files_root / message.sha256[:2] / f"{message.id}-{message.sha256[:12]}"


def memory_workdir(app: App, message: Message) -> Path | None:
    """The folder judging uses for one ledger row on the memory file system (pipeline/documents/scratch.py),
    whether or not it is used now; None without one. Named after the data folder too: two offices (or test
    runs) on one machine have their own message 1."""
    root = scratch.private_root()
    if root is None:
        return None
    return root / f"{_office(app.config.storage.data_dir)}-{message.id}-{message.sha256[:12]}"


@functools.cache
def _office(data_dir: Path) -> str:
    """A short name for the office whose data folder is `data_dir` (resolved once, not for every message)."""
    return hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:8]


def judging_workdir(app: App, message: Message) -> Path:
    """In memory when there is room for the worst this message may unpack to, else the cache folder."""
    folder = memory_workdir(app, message) if app.config.storage.judge_in_memory else None
    need = scratch.worst_case_bytes(message.size or 0, app.config.limits.max_total_bytes)
    if folder is not None and scratch.has_room(folder.parent, need):
        return folder
    return message_workdir(app, message)


def clear_after_crash(app: App, message: Message) -> str | None:
    """After the process judging `message` died: the name of the archive it was unpacking, if its marker says
    so. What it left in memory goes, and on disk what it unpacked (a bomb's partial output must not fill it)."""
    archive = None
    memory, cached = memory_workdir(app, message), message_workdir(app, message)
    for folder in (f for f in (memory, cached) if f is not None):
        marker = folder / UNPACKING_MARKER
        if marker.is_file():
            archive = marker.read_text(encoding="utf-8")
        shutil.rmtree(folder / "unpacked", ignore_errors=True)
        marker.unlink(missing_ok=True)
    if memory is not None:
        shutil.rmtree(memory, ignore_errors=True)
        shutil.rmtree(memory.with_name(memory.name + ".spill"), ignore_errors=True)
    return archive
