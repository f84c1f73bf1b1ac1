"""The one wiring function: configuration in, a ready App out. Nothing is built at import time.

Here, and only here, the way messages are judged is chosen: in a limited child process (pipeline.intake.sandbox)
when the configuration and the platform allow it, else in the calling process (pipeline.intake.judge).
"""

from __future__ import annotations

from pipeline.config import Config
from pipeline.intake.app import App, Clock, open_app
from pipeline.intake.forkstart import start_forkserver
from pipeline.intake.sandbox import can_isolate, process_isolated


def build_app(config: Config, clock: Clock | None = None, *, judging: bool = False) -> App:
    """The App for `config`, its schema brought to the newest revision. `judging`: messages are judged next
    (ingest, demo, reprocess): the sandbox's forkserver starts first, its imports of the judging code (about
    a second) made while this process checks the schema and records the first messages."""
    if can_isolate(config):
        if judging:
            start_forkserver()
        return open_app(config, process_isolated, clock)
    from pipeline.intake.judge import process_in_process  # only here: a parent of sandbox children never needs it

    return open_app(config, process_in_process, clock)
