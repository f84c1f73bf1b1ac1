"""Where a message is judged: a private folder on the memory file system (/dev/shm) when it has room for the
worst the message may unpack to, else the message's folder in the derived-file cache on disk.

Judging writes the decoded attachments and all that the archives unpack to, reads each file once and is done:
the files are re-made from the raw message when staff open the submission (pipeline/documents/derived.py).
Written to disk they were more bytes than the mail itself (benchmarks/run.py, ordinary mail: 1.3 bytes put in
the page cache per byte received, a fifth of a byte of it reaching the disk before the folder was removed);
in memory none of it does. The room asked for is the worst case, not the usual one: twice what one message
may occupy (its attachments decoded, once more for volumes being joined, and the unpacked bytes its
`[limits] max_total_mb` allows), free both in the file system and in the machine's available memory, so that
two workers each unpacking a bomb to the limit still fit. Otherwise the disk, as before.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

MEMORY_FS = Path("/dev/shm")
_TMPFS_TYPES = frozenset({"tmpfs", "ramfs"})
STALE_SECONDS = 3600.0  # a folder no judging can still be using (the sandbox kills a child long before)


# Folders found private once, by this process: every message asks for its root, and /dev/shm's sticky bit
# keeps another user from replacing a folder of ours afterwards.
_checked: set[Path] = set()


def private_root(base: Path = MEMORY_FS, name: str | None = None) -> Path | None:
    """This user's folder `name` under the memory file system `base`, made 0700 if missing; None when `base`
    is no memory file system or the name is taken by something that is not a private folder of ours (another
    local user could otherwise read the applicants' documents, or point us elsewhere with a symlink)."""
    root = base / (name or f"studio-intake-{os.getuid()}")
    if root in _checked:
        return root
    if not _is_memory_fs(base):
        return None
    try:
        os.mkdir(root, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        info = os.lstat(root)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    _checked.add(root)
    return root


def _is_memory_fs(path: Path) -> bool:
    """`path` is the mount point of a tmpfs, from /proc/self/mounts (Linux; elsewhere never)."""
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as fh:
            mounts = [line.split()[1:3] for line in fh if len(line.split()) >= 3]
    except OSError:
        return False
    return any(point == str(path) and kind in _TMPFS_TYPES for point, kind in mounts)


def available_memory() -> int:
    """Bytes the kernel says can be allocated without swapping (MemAvailable), 0 when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def worst_case_bytes(message_bytes: int, max_unpacked_bytes: int) -> int:
    """What judging one message may write at most: attachments decoded and joined, and all it unpacks."""
    return 2 * message_bytes + max_unpacked_bytes


def has_room(root: Path, need: int) -> bool:
    """Room for two messages' worst case in the file system of `root` and in available memory."""
    try:
        fs = os.statvfs(root)
    except OSError:
        return False
    return min(fs.f_bavail * fs.f_frsize, available_memory()) >= 2 * need


def sweep(root: Path | None, older_than: float = STALE_SECONDS) -> None:
    """Remove what judging left in `root` when its process was killed (a folder in memory stays there until
    the machine restarts otherwise), if nothing changed in it for `older_than` seconds."""
    if root is None:
        return
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
        except OSError:
            continue
