"""Per-folder IMAP state: UIDVALIDITY, the highest UID seen, and folders reported missing."""

from __future__ import annotations

from storage.models import Base  # noqa: F401  (tables defined here register on the shared Base)
