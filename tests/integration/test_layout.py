"""The flat top-level packages have generic names: make sure they are ours, and that every command has help."""

from __future__ import annotations

import importlib
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from helpers import REPO
from pipeline.cli.main import main


@pytest.mark.parametrize("name", ["pipeline", "parsers", "storage"])
def test_package_resolves_to_this_repository(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert str(module.__file__).startswith(str(REPO / name))


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        yield prefix + (name,)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


@pytest.mark.parametrize("path", list(_commands(main)), ids=lambda p: " ".join(p))
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    cmd = main
    for part in path:
        cmd = cmd.commands[part]  # type: ignore[attr-defined]
    assert cmd.help, f"{' '.join(path)} has no help text"


def test_python_dash_m_pipeline_runs_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "ingest" in result.stdout and "demo" in result.stdout
