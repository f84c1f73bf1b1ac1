"""The one exception the parsers raise on purpose."""

from __future__ import annotations


class DocumentUnreadable(Exception):
    """A file that cannot be read as the format it claims (corrupt, encrypted, wrong type)."""
