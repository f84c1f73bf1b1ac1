"""Local message sources for `intake ingest`: .eml files, folders of them, and Maildirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
