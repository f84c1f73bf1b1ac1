"""The two state machines the database records, named once.

StrEnum members equal their strings ("new" == LedgerState.NEW), so the columns keep plain text, no
migration is needed, and JSON shows the same values as before.
"""

from __future__ import annotations

from enum import StrEnum


class LedgerState(StrEnum):
    """`messages.status`: new → processing (claimed; the claim is in `error`) → processed | failed (retried)."""

    NEW = "new"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


class ReplyState(StrEnum):
    """`outbox.status`: pending → sending (committed before the server sees it) → sent | pending (4xx) | failed."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
