"""The raw-message store: every message's exact bytes on disk, named by content hash."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from pipeline.errors import StorageError


def sha256_hex(raw: bytes) -> str:
    """The content hash that names a raw message."""
    return hashlib.sha256(raw).hexdigest()


class RawStore:
    """Content-addressed files under `root`; writing the same bytes twice stores them once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, digest: str) -> Path:
        """Where the message with this hash lives (two-level fan-out keeps folders small)."""
        return self.root / digest[:2] / f"{digest}.eml"

    def put(self, raw: bytes) -> str:
        """Store `raw` durably (temp file, fsync, rename) and return its hash."""
        digest = sha256_hex(raw)
        target = self.path_for(digest)
        if target.exists():
            return digest
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise StorageError(f"cannot store raw message {digest}: {exc}") from exc
        return digest

    def get(self, digest: str) -> bytes:
        """The exact bytes stored under `digest`."""
        try:
            return self.path_for(digest).read_bytes()
        except OSError as exc:
            raise StorageError(f"raw message {digest} is missing from {self.root}: {exc}") from exc
