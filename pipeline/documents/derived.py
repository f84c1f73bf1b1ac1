"""Derived files as a cache: each message's folder under data_dir/files (its decoded attachments and what
its archives unpacked to) can be re-made from the raw message, which is the record.

A folder counts once its READY marker is written (judging or re-making it wrote every file); the marker
holds the folder's size and its modification time says when the folder was last judged or opened.
`[storage] derived_cache_mb` bounds the ready folders' total size: past it, the least recently used are
removed, oldest first, until the rest fit; after judging the total is compared at most every SWEEP_SECONDS
(`settle`), and with a bound of 0 the folder just judged goes at once. A folder
without a marker is being written now, or was cut short by a crash, and is never removed here: judging
or re-making it starts by clearing it. `pipeline.staff.review.submission_folder` (`intake open`, the staff
console) re-makes a missing folder in the sandbox, and `intake reprocess` judges again, which re-makes it.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

READY = ".derived"
SWEPT = ".swept"       # in files_root: its time says when some process last compared the cache with its bound
SWEEP_SECONDS = 30.0   # a sweep reads every folder's marker (0.25 s at 10,000 folders): once this often at most
_MIB = 2**20


def _size(folder: Path) -> int:
    total = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def mark_ready(folder: Path) -> int:
    """Record that every file of `folder` is written (and now is its last use); its size in bytes."""
    if not folder.is_dir():
        return 0
    (folder / READY).unlink(missing_ok=True)
    size = _size(folder)
    (folder / READY).write_text(str(size), encoding="ascii")
    return size


def is_ready(folder: Path) -> bool:
    return (folder / READY).is_file()


def touch(folder: Path) -> None:
    """Mark a ready folder as used now (it is then the last to be removed)."""
    try:
        os.utime(folder / READY)
    except OSError:
        pass


def forget(folder: Path) -> None:
    """Remove a message's derived files (the marker first: a reader never takes a half-removed folder)."""
    (folder / READY).unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)


def _ready_folders(files_root: Path) -> list[tuple[float, int, Path]]:
    """(last use, size, folder) of every ready message folder (files_root/xx/<id>-<sha>)."""
    found = []
    try:
        shards = [e for e in os.scandir(files_root) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    for shard in shards:
        try:
            folders = list(os.scandir(shard.path))
        except OSError:
            continue
        for entry in folders:
            marker = os.path.join(entry.path, READY)
            try:
                used = os.stat(marker).st_mtime
                with open(marker, encoding="ascii") as fh:
                    size = int(fh.read(32) or 0)
            except (OSError, ValueError):
                continue
            found.append((used, size, Path(entry.path)))
    return found


def evict(files_root: Path, bound_mb: float, keep: Path | None = None) -> list[Path]:
    """Remove the least recently used ready folders until the rest fit in `bound_mb` MiB; never `keep`
    (the folder being opened). Returns the folders removed."""
    folders = sorted(_ready_folders(files_root))
    total = sum(size for _used, size, _path in folders)
    removed = []
    for _used, size, path in folders:
        if total <= bound_mb * _MIB:
            break
        if keep is not None and path == keep:
            continue
        forget(path)
        total -= size
        removed.append(path)
    return removed


def settle(files_root: Path, bound_mb: float, folder: Path) -> None:
    """After judging wrote `folder`: with no room at all (bound 0) it goes at once; otherwise the cache is
    compared with its bound at most every SWEEP_SECONDS by any process (each message used to read every
    folder's marker: quadratic over a busy day), so it may exceed the bound by what that interval wrote."""
    if bound_mb <= 0:
        forget(folder)
        return
    stamp = files_root / SWEPT
    try:
        if time.time() - stamp.stat().st_mtime < SWEEP_SECONDS:
            return
    except FileNotFoundError:
        pass
    stamp.touch()
    evict(files_root, bound_mb)

