"""Where judging works: a private folder on the memory file system, only when it has room for the worst case."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.documents import scratch


@pytest.fixture
def name() -> Iterator[str]:
    """A folder name of this test's own under /dev/shm, removed afterwards."""
    own = f"studio-intake-test-{os.getpid()}-{time.monotonic_ns()}"
    yield own
    path = scratch.MEMORY_FS / own
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        for child in path.iterdir():
            child.rmdir() if child.is_dir() else child.unlink()
        path.rmdir()


def test_the_folder_is_made_private_on_the_memory_file_system(name: str) -> None:
    root = scratch.private_root(name=name)
    assert root == scratch.MEMORY_FS / name and root.is_dir()
    assert root.stat().st_mode & 0o777 == 0o700
    assert scratch.private_root(name=name) == root  # found again


def test_a_name_taken_by_a_link_or_an_open_folder_is_not_used(name: str, tmp_path: Path) -> None:
    (scratch.MEMORY_FS / name).symlink_to(tmp_path)  # another local user pointing us at their folder
    assert scratch.private_root(name=name) is None
    (scratch.MEMORY_FS / name).unlink()
    (scratch.MEMORY_FS / name).mkdir(mode=0o755)
    os.chmod(scratch.MEMORY_FS / name, 0o755)  # readable by every local user
    assert scratch.private_root(name=name) is None


def test_a_folder_on_disk_is_not_memory(tmp_path: Path) -> None:
    assert scratch.private_root(tmp_path) is None


def test_room_means_twice_the_worst_case_in_the_file_system_and_in_memory(name: str) -> None:
    root = scratch.private_root(name=name)
    assert root is not None
    free = os.statvfs(root).f_bavail * os.statvfs(root).f_frsize
    least = min(free, scratch.available_memory())
    assert least > 0
    assert scratch.has_room(root, least // 2 - 2**20)
    assert not scratch.has_room(root, least // 2 + 2**20)
    assert scratch.worst_case_bytes(3 * 2**20, 2048 * 2**20) == 2054 * 2**20


def test_only_what_a_killed_judging_left_long_ago_is_swept(name: str) -> None:
    root = scratch.private_root(name=name)
    assert root is not None
    old, new = root / "a-1-0123", root / "a-2-4567"
    old.mkdir()
    new.mkdir()
    (root / "a-3.spill").write_bytes(b"x")
    past = time.time() - scratch.STALE_SECONDS - 60
    os.utime(old, (past, past))
    os.utime(root / "a-3.spill", (past, past))
    scratch.sweep(root)
    assert sorted(p.name for p in root.iterdir()) == ["a-2-4567"]
    scratch.sweep(None)  # no memory file system: nothing to do
