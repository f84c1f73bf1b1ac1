"""Where a request finds the pipeline's App (the one `create_app` was given) and the login throttle."""

from __future__ import annotations

from flask import current_app

from pipeline.intake.app import App
from pipeline.web.throttle import LoginThrottle

EXTENSION = "intake"


def intake_app() -> App:
    """The App of the running console: its config, database sessions, raw store and clock."""
    app: App = current_app.extensions[EXTENSION]["app"]
    return app


def throttle() -> LoginThrottle:
    """The console's login throttle (one per process)."""
    limiter: LoginThrottle = current_app.extensions[EXTENSION]["throttle"]
    return limiter
