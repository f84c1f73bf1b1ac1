"""Serving the console with waitress (a production WSGI server, pure Python, no build step)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from waitress.server import create_server

THREADS = 4  # a handful of clerks; previews run in child processes, not in these threads


def make_server(flask_app: Flask, host: str, port: int, **options: Any) -> Any:
    """A waitress server bound to host:port (port 0: any free port, see `.effective_port`); `.run()` serves."""
    return create_server(flask_app, host=host, port=port, threads=THREADS, ident="intake",
                         clear_untrusted_proxy_headers=True, **options)
