"""Login throttling: after MAX_FAILURES wrong passwords for one account from one address, that pair waits.

Counted per (account name, client address): a colleague mistyping at the next desk does not lock the
account for everyone, and one address guessing many names is slowed by the per-address count as well
(MAX_FAILURES_PER_ADDRESS over all names). Kept in memory: the console is one process (waitress threads),
and a restart, which only an administrator can do, clears it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_FAILURES = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW_SECONDS = 15 * 60   # failures older than this are forgotten
LOCK_SECONDS = 15 * 60     # how long a throttled pair waits


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class LoginThrottle:
    """Thread-safe failure counts; `clock` is monotonic seconds (tests pass their own)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], _Record] = {}

    def wait_seconds(self, name: str, address: str) -> int:
        """Seconds before `name` may try again from `address` (0: now)."""
        now = self._clock()
        with self._lock:
            waits = [rec.locked_until - now for rec in (self._records.get((name, address)),
                                                        self._records.get(("", address))) if rec]
        return max(0, round(max(waits, default=0)))

    def failed(self, name: str, address: str) -> None:
        """Count a wrong password; past the limits the pair (or the address) is locked for LOCK_SECONDS."""
        now = self._clock()
        with self._lock:
            for key, limit in (((name, address), MAX_FAILURES), (("", address), MAX_FAILURES_PER_ADDRESS)):
                rec = self._records.setdefault(key, _Record())
                rec.failures = [t for t in rec.failures if now - t < WINDOW_SECONDS] + [now]
                if len(rec.failures) >= limit:
                    rec.locked_until, rec.failures = now + LOCK_SECONDS, []

    def succeeded(self, name: str, address: str) -> None:
        """A right password clears the pair's count (the address's stays: it counts guesses at all names)."""
        with self._lock:
            self._records.pop((name, address), None)
