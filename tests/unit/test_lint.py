"""The code's form, checked on the source: no line of a tracked Python file is longer than 120 characters (as
len() counts them, so a Chinese character is one: ruff's E501 counts display columns and is switched off), and
`ruff check` with the configuration in pyproject.toml finds nothing."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from helpers import REPO

MAX_LINE = 120


def _tracked_python_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--", "*.py"], cwd=REPO, capture_output=True, text=True,
                            check=False)
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout: {listed.stderr.strip()}")
    return [name for name in listed.stdout.split("\0") if name]


def test_no_line_is_longer_than_120_characters() -> None:
    files = _tracked_python_files()
    assert files
    long = [f"{name}:{number}: {len(line)} characters"
            for name in files if (REPO / name).is_file()
            for number, line in enumerate((REPO / name).read_text(encoding="utf-8").splitlines(), 1)
            if len(line) > MAX_LINE]
    assert long == [], "\n".join(long)


def test_ruff_finds_nothing() -> None:
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (it is in the test extras)")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(REPO)], cwd=REPO, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
