"""Progress through a backlog on stderr: a bar on a terminal, a line now and then in a log or a pipe.

stdout stays untouched (tests and scripts parse the summary lines there). The poller does not know
the command line: it reports through `expect` / `step`, which go to the Progress that the command made
current with `tracking(...)` and do nothing otherwise (the scheduler, the tests).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

import click

_current: ContextVar[Progress | None] = ContextVar("progress", default=None)


class Progress:
    """Work done out of a total that may grow (a poll finds its backlog folder by folder)."""

    def __init__(self, label: str, total: int = 0, *, stream: TextIO | None = None, every: int = 10,
                 seconds: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self.every, self.seconds, self.clock = every, seconds, clock
        self.tty = _is_tty(self.stream)
        self._last_line = clock()
        self._bar: Any = None  # click's ProgressBar, made when there is a backlog to show

    def expect(self, count: int) -> None:
        """More work was found."""
        self.total += count
        if self._bar is not None:
            self._bar.length = self.total

    def step(self, count: int = 1) -> None:
        """`count` more items are done."""
        self.done += count
        if self.tty:
            self._draw(count)
        elif self.done % self.every == 0 or self.clock() - self._last_line >= self.seconds:
            self._line()

    def _draw(self, count: int) -> None:
        if self._bar is None:
            if self.total < 2:  # one message is no backlog: no bar flashing by
                return
            self._bar = click.progressbar(length=self.total, label=self.label, file=self.stream,
                                          show_pos=True, show_eta=True)
            self._bar.__enter__()
            count = self.done
        self._bar.update(count)

    def _line(self) -> None:
        of = f"/{self.total}" if self.total >= self.done else ""
        click.echo(f"{self.label}: {self.done}{of}", file=self.stream)
        self._last_line = self.clock()

    def close(self) -> None:
        """Finish the bar (a terminal), or say the final count if lines were printed (a log)."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
        elif not self.tty and self.done >= self.every and self.done % self.every:
            self._line()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or a bare object
        return False


@contextmanager
def tracking(label: str, total: int = 0, **options: object) -> Iterator[Progress]:
    """Make a Progress current for the block (the poller reports to it), closed at the end."""
    progress = Progress(label, total, **options)  # type: ignore[arg-type]
    token = _current.set(progress)
    try:
        yield progress
    finally:
        _current.reset(token)
        progress.close()


def expect(count: int) -> None:
    """More work was found (no-op unless a command is tracking progress)."""
    if (progress := _current.get()) is not None:
        progress.expect(count)


def step(count: int = 1) -> None:
    """Items are done (no-op unless a command is tracking progress)."""
    if (progress := _current.get()) is not None:
        progress.step(count)
