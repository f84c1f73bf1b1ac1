"""Local message sources for `intake ingest`: .eml files, folders of them, and Maildirs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from pipeline.mail.decode import HEADER_BYTES, decode_headers

MAILDIR_SUBFOLDERS = ("new", "cur")


def _folder_messages(folder: Path) -> list[Path]:
    if all((folder / sub).is_dir() for sub in ("cur", "new", "tmp")):
        # A Maildir: messages live in new/ and cur/ with no extension; tmp/ is still being written.
        return sorted(p for sub in MAILDIR_SUBFOLDERS for p in (folder / sub).iterdir() if p.is_file())
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".eml")


def message_paths(paths: list[Path]) -> Iterator[Path]:
    """Every message file named by `paths`, each once, folders expanded in name order."""
    seen: set[Path] = set()
    for path in paths:
        found = _folder_messages(path) if path.is_dir() else [path]
        for p in found:
            if p.resolve() not in seen:
                seen.add(p.resolve())
                yield p


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def header_receipt_time(path: Path) -> datetime:
    """The receipt time from a file's headers alone (topmost Received, else Date), without reading the body."""
    with path.open("rb") as fh:
        mail = decode_headers(fh.read(HEADER_BYTES))
    return mail.received_at or mail.date or EPOCH


def in_receipt_order(paths: list[Path]) -> list[Path]:
    """Files sorted by when the server received them, so the earlier of two copies is the original.

    Two files received at the same moment (the same delivery saved twice) keep the order they were given in
    (`message_paths`: as named on the command line, a folder's files by name): the first one named is the
    original, the other the DUPLICATE, on every run. The sort is stable; no other tie-breaker.
    """
    return sorted(paths, key=header_receipt_time)
