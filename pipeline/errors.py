"""Exceptions mean "could not run at all"; a bad submission is a finding, never an exception.

    IntakeError
    ├── ConfigError      the TOML file is missing or wrong (carries every problem at once)
    ├── MailboxError     IMAP could not be reached or answered wrongly
    ├── DeliveryError    SMTP or the outbox folder refused a reply
    └── StorageError     the database or the raw-message store failed
"""

from __future__ import annotations

from storage.errors import IntakeError, StorageError  # defined in storage: storage never imports pipeline

__all__ = ["ConfigError", "DeliveryError", "IntakeError", "MailboxError", "StorageError"]


class ConfigError(IntakeError):
    """The configuration cannot be used; `problems` lists every reason found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class MailboxError(IntakeError):
    """The IMAP mailbox could not be used."""


class DeliveryError(IntakeError):
    """A reply could not be delivered."""
