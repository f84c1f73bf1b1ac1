"""The `intake` entry point starts the sandbox's forkserver first only for the commands that judge."""

from __future__ import annotations

import pytest

from pipeline.cli.entry import judging_command


@pytest.mark.parametrize(("argv", "judges"), [
    (["ingest", "--config", "c.toml", "mail/"], True),
    (["-v", "demo"], True),
    (["reprocess", "--failed"], True),
    (["submissions", "--json"], False),
    (["run", "--once"], False),   # polls first; its children start when mail comes
    (["serve"], False),
    (["--help"], False),
    ([], False),
])
def test_only_the_commands_that_judge_start_the_forkserver_early(argv: list[str], judges: bool) -> None:
    assert judging_command(argv) is judges
