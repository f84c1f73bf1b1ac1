"""What every `intake` command module shares: the --config option, loading it, and building the App.

One loader and one way of reporting configuration problems, imported by cli.main, cli.db and cli.staff alike.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from pipeline.bootstrap import build_app
from pipeline.config import Config, load_config
from pipeline.errors import ConfigError, IntakeError
from pipeline.intake.app import App
from pipeline.textsafe import terminal_text

CONFIG_HELP = "TOML configuration file (default: $INTAKE_CONFIG, else ./config.toml)."
config_option = click.option("--config", "config_file", metavar="FILE", help=CONFIG_HELP)


def config_path(value: str | None) -> Path:
    return Path(value or os.environ.get("INTAKE_CONFIG") or "config.toml")


def load(value: str | None) -> Config:
    """The configuration named by --config (or $INTAKE_CONFIG, or ./config.toml); its problems as a click error."""
    try:
        return load_config(config_path(value))
    except ConfigError as exc:
        raise click.ClickException("configuration problems:\n  " + "\n  ".join(exc.problems)) from None


def make_app(config: Config, *, judging: bool = False) -> App:
    """build_app, with a storage problem reported as a click error instead of a traceback."""
    try:
        return build_app(config, judging=judging)
    except IntakeError as exc:
        raise click.ClickException(terminal_text(str(exc))) from None


def app_for(config_file: str | None) -> App:
    return make_app(load(config_file))
