"""The base of studio-intake's own errors and the storage error, defined in storage, the lowest package that raises
one, so that storage never imports pipeline; pipeline.errors re-exports both beside its other errors."""

from __future__ import annotations


class IntakeError(Exception):
    """Base of every error studio-intake raises on purpose."""


class StorageError(IntakeError):
    """The database or the raw-message store failed."""
