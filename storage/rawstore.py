"""The raw-message store: every message's exact bytes on disk, named by content hash."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO, TypeVar

from storage.errors import StorageError

_CHUNK = 2**20
PARTIAL_SUFFIX = ".part"  # a write in progress (or one a kill interrupted): never a stored message
_STAGING = "staging"      # temp files of messages whose hash is known only once they are written
T = TypeVar("T")


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


def _unlink_quietly(path: str | None) -> None:
    if path is not None:
        with suppress(OSError):
            os.unlink(path)


def sha256_hex(raw: bytes) -> str:
    """The content hash that names a raw message."""
    return hashlib.sha256(raw).hexdigest()


def file_sha256(path: Path) -> str:
    """sha256_hex of a file's bytes, read in chunks."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _copy_hashed(source: Path, out: BinaryIO) -> str:
    """Copy `source` into `out` in chunks and return the sha256 of the bytes copied."""
    hasher = hashlib.sha256()
    with source.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            hasher.update(chunk)
            out.write(chunk)
    return hasher.hexdigest()


def _copy_checked(source: Path, out: BinaryIO, digest: str) -> None:
    """Copy `source` into `out` in chunks; OSError when its bytes no longer hash to `digest` (changed meanwhile)."""
    if _copy_hashed(source, out) != digest:
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

        With `digest` (from `file_sha256`) the file is copied only when the store lacks it, and the copy must
        hash to it. Without, it is read once: hashed as it is copied into a temp file, which then takes its
        name (or is dropped when the store holds those bytes already). Reading a 30 MB message twice, once to
        name it and once to copy it, was a fifth of what recording it cost.
        """
        if digest is not None:
            if not self.path_for(digest).exists():
                self._write(digest, lambda fh: _copy_checked(source, fh, digest))
            return digest
        tmp, digest = self._stage(self.root / _STAGING, lambda fh: _copy_hashed(source, fh))
        return self._commit(digest, tmp)

    def _write(self, digest: str, write: Callable[[BinaryIO], object]) -> None:
        tmp, _ = self._stage(self.path_for(digest).parent, write)
        self._commit(digest, tmp)

    def _stage(self, folder: Path, write: Callable[[BinaryIO], T]) -> tuple[str, T]:
        """(temp file, what `write` returned): a temp file in `folder` written by `write` and synced."""
        tmp: str | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=PARTIAL_SUFFIX)
            with os.fdopen(fd, "wb") as fh:
                written = write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            return tmp, written
        except OSError as exc:  # ENOSPC, EFBIG (a file size limit), EIO …: the caller records nothing
            _unlink_quietly(tmp)
            raise StorageError(f"cannot store raw message: {exc}") from exc

    def _commit(self, digest: str, tmp: str) -> str:
        """Give the synced temp file `tmp` its hash name, durably, and return the hash; when the store holds
        those bytes already, the temp file goes."""
        target = self.path_for(digest)
        try:
            if target.exists():
                _unlink_quietly(tmp)
                return digest
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
            _fsync_dir(target.parent)  # the rename itself survives a power cut only once the folder is synced
            return digest
        except OSError as exc:
            _unlink_quietly(tmp)
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
