"""The raw-message store: every message's exact bytes on disk, named by content hash."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import StorageError

_CHUNK = 2**20
PARTIAL_SUFFIX = ".part"  # a write in progress (or one a kill interrupted): never a stored message


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX); a file system that cannot sync folders is left as it is."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_hex(raw: bytes) -> str:
    """The content hash that names a raw message."""
    return hashlib.sha256(raw).hexdigest()


def file_sha256(path: Path) -> str:
    """sha256_hex of a file's bytes, read in chunks."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _copy_checked(source: Path, out: BinaryIO, digest: str) -> None:
    """Copy `source` into `out` in chunks; OSError when its bytes no longer hash to `digest` (changed meanwhile)."""
    hasher = hashlib.sha256()
    with source.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            hasher.update(chunk)
            out.write(chunk)
    if hasher.hexdigest() != digest:
        raise OSError(f"{source} changed while it was being stored")


class RawStore:
    """Content-addressed files under `root`; writing the same bytes twice stores them once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, digest: str) -> Path:
        """Where the message with this hash lives (two-level fan-out keeps folders small)."""
        return self.root / digest[:2] / f"{digest}.eml"

    def put(self, raw: bytes, digest: str | None = None) -> str:
        """Store `raw` durably (temp file, fsync, rename, fsync of the folder) and return its hash.

        The final name appears only once every byte is on disk, so a crash or a full disk can never leave a
        short file under a hash name: `path_for` either does not exist or holds exactly `raw`. A failed
        write removes its temp file; one left by a kill (`*.part`) is never read and `sweep_partials`
        removes it later. `digest` is `sha256_hex(raw)` when the caller has computed it already.
        """
        digest = digest or sha256_hex(raw)
        if not self.path_for(digest).exists():
            self._write(digest, lambda fh: fh.write(raw))
        return digest

    def put_file(self, source: Path, digest: str | None = None) -> str:
        """Store the message file `source` as `put` stores bytes, streamed: never whole in memory.

        `digest` (from `file_sha256`, when the caller has it) spares a second read; the copy is hashed as it
        is written and must match it.
        """
        digest = digest or file_sha256(source)
        if not self.path_for(digest).exists():
            self._write(digest, lambda fh: _copy_checked(source, fh, digest))
        return digest

    def _write(self, digest: str, write: Callable[[BinaryIO], object]) -> None:
        target = self.path_for(digest)
        tmp: str | None = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=PARTIAL_SUFFIX)
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            tmp = None
            _fsync_dir(target.parent)  # the rename itself survives a power cut only once the folder is synced
        except OSError as exc:  # ENOSPC, EFBIG (a file size limit), EIO …: the caller records nothing
            if tmp is not None:
                with suppress(OSError):
                    os.unlink(tmp)
            raise StorageError(f"cannot store raw message {digest}: {exc}") from exc

    def sweep_partials(self, older_than_seconds: float = 3600.0) -> int:
        """Remove temp files a killed process left behind; recent ones may belong to a writer still running."""
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in self.root.glob(f"*/*{PARTIAL_SUFFIX}"):
            with suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    def get(self, digest: str) -> bytes:
        """The exact bytes stored under `digest`."""
        try:
            return self.path_for(digest).read_bytes()
        except OSError as exc:
            raise StorageError(f"raw message {digest} is missing from {self.root}: {exc}") from exc
