"""Normalised records read from the application form, the summary table and the narrative."""

from __future__ import annotations

from storage.models import Base  # noqa: F401  (tables defined here register on the shared Base)
