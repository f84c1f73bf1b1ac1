"""The one wiring function: configuration in, a ready App out. Nothing is built at import time.

Here, and only here, the way messages are judged is chosen: in a limited child process (pipeline.intake.sandbox)
when the configuration and the platform allow it, else in the calling process (pipeline.intake.judge).
"""

from __future__ import annotations

from pipeline.config import Config
from pipeline.intake.app import App, Clock, open_app
from pipeline.intake.judge import process_in_process
from pipeline.intake.sandbox import can_isolate, process_isolated


def build_app(config: Config, clock: Clock | None = None) -> App:
    """The App for `config`, its schema brought to the newest revision."""
    process = process_isolated if can_isolate(config) else process_in_process
    return open_app(config, process, clock)
