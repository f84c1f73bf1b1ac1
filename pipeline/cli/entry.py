"""The `intake` command's entry point (and `python -m pipeline`'s).

A command that judges messages starts the sandbox's forkserver before anything else is imported: its own
imports of the judging code (about 2 s of CPU) then run on the other core while this process imports the
command's modules (0.7 s), instead of after them, and the first message's child is ready that much sooner
(it used to be 1.3 s after the command started). Only the light pipeline.intake.forkstart is imported for
it. A command whose configuration turns isolation off leaves the forkserver idle; it ends with this process.
"""

from __future__ import annotations

import sys

JUDGING_COMMANDS = frozenset({"ingest", "demo", "reprocess"})


def judging_command(argv: list[str]) -> bool:
    """Whether the command line names a command that judges messages (options before it are skipped)."""
    return next((arg for arg in argv if not arg.startswith("-")), None) in JUDGING_COMMANDS


def main() -> None:
    if judging_command(sys.argv[1:]):
        from pipeline.intake.forkstart import start_forkserver

        start_forkserver()
    from pipeline.cli.main import main as intake

    intake(prog_name="intake")
