"""Derived files as a cache (issue 18): bounded by [storage] derived_cache_mb, re-made from the raw message;
judging works in memory when there is room, else in the cache folder."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import samplegen as g
from sqlalchemy import select

from pipeline.bootstrap import build_app
from pipeline.documents import derived, scratch
from pipeline.intake import folders
from pipeline.intake.folders import message_workdir
from pipeline.intake.ledger import ingest_bytes
from pipeline.staff.review import submission_folder
from storage import repo
from storage.models import Message

CST = timezone(timedelta(hours=8))


def _submission(i: int) -> bytes:
    studio = g.Studio(unit="正定县总工会", leader=("张三", "李四", "王五")[i], gender="男", applicant="正定县某某机械厂",
                      seed=7 + i)
    received = datetime(2025, 5, 26, 10, i, tzinfo=CST)
    return g.eml(subject=studio.subject, from_name="正定县总工会", from_addr=f"zd{i}@126.com", date=received,
                 received=received, message_id=f"<derived.{i}@126.com>", body_text="附件为入库材料，请查收。",
                 attachments=[g.Attachment(studio.subject + ".zip", g.zip_bytes(g.materials(studio)))])


def _app(config, clock, mb: int):  # type: ignore[no-untyped-def]
    storage = dataclasses.replace(config.storage, derived_cache_mb=mb)
    return build_app(dataclasses.replace(config, storage=storage), clock=clock)


def _documents(app) -> dict[int, list[tuple[str, int]]]:  # type: ignore[no-untyped-def]
    with app.sessions() as s:
        return {sub.id: sorted((d.path, d.size) for d in sub.documents) for sub in repo.submissions(s)}


def test_with_no_cache_judging_leaves_one_copy_and_open_remakes_the_files_where_the_rows_say(config, clock) -> None:
    app = _app(config, clock, 0)
    result = ingest_bytes(app, _submission(0), "file:/x/0.eml")
    assert result.verdict == "accepted"
    files = [p for p in app.files_root.rglob("*") if p.is_file()]
    assert files == []  # judged, read, recorded: nothing derived is kept
    (sub_id, docs), = _documents(app).items()
    assert docs and not any(Path(path).exists() for path, _size in docs if path)
    folder, listing = submission_folder(app, sub_id)
    assert derived.is_ready(folder) and listing and derived.READY not in {name for name, _size in listing}
    assert all(Path(path).stat().st_size == size for path, size in docs if path)  # the same files, same places
    assert all((folder / name).stat().st_size == size for name, size in listing)


def test_the_least_recently_used_folders_go_first(config, clock) -> None:
    app = _app(config, clock, 2048)
    for i in range(3):
        ingest_bytes(app, _submission(i), f"file:/x/{i}.eml")
    with app.sessions() as s:
        folders = {sub.id: message_workdir(app, sub.message) for sub in repo.submissions(s)}
    first, second, third = sorted(folders)
    for sub_id in (first, second, third, first):  # opened in this order: the first is now the most recently used
        submission_folder(app, sub_id)
        time.sleep(0.01)  # the markers' times tell the order
    assert all(derived.is_ready(f) for f in folders.values())
    sizes = {k: int((f / derived.READY).read_text()) for k, f in folders.items()}
    bound = (sizes[first] + sizes[third]) / 2**20 + 0.01   # room for two of the three
    removed = derived.evict(app.files_root, bound)
    assert removed == [folders[second]] and not folders[second].exists()
    assert derived.is_ready(folders[first]) and derived.is_ready(folders[third])
    _folder, listing = submission_folder(app, second)  # re-made on demand
    assert listing and derived.is_ready(folders[second])


def test_a_folder_being_written_is_never_evicted(config, clock, tmp_path: Path) -> None:
    app = _app(config, clock, 0)
    busy = app.files_root / "ab" / "1-abcdef"
    busy.mkdir(parents=True)
    (busy / "part.bin").write_bytes(b"x" * 4096)
    assert derived.evict(app.files_root, 0) == [] and (busy / "part.bin").exists()


def test_judging_compares_the_cache_with_its_bound_at_most_every_sweep_interval(tmp_path: Path) -> None:
    """settle(): a folder goes at once when the bound leaves no room; otherwise one sweep per interval, not
    one per message (each sweep reads every folder's marker)."""
    import os

    root = tmp_path / "files"

    def ready(name: str, size: int) -> Path:
        folder = root / "ab" / name
        folder.mkdir(parents=True)
        (folder / "x.bin").write_bytes(b"x" * size)
        derived.mark_ready(folder)
        return folder

    alone = ready("0-a", 10)
    derived.settle(root, 0, alone)
    assert not alone.exists()
    first = ready("1-a", 2**20)
    derived.settle(root, 1.5, first)                # swept now: within the bound
    second = ready("2-a", 2**20)
    derived.settle(root, 1.5, second)               # over the bound, but swept a moment ago: both stay
    assert first.exists() and second.exists()
    old = (root / derived.SWEPT).stat().st_mtime - derived.SWEEP_SECONDS - 1
    os.utime(root / derived.SWEPT, (old, old))
    os.utime(first / derived.READY, (old, old))     # the least recently used
    derived.settle(root, 1.5, second)
    assert not first.exists() and second.exists()


def _small_limits(app):  # type: ignore[no-untyped-def]
    """Limits whose worst case fits a small /dev/shm (a container's is 64 MB), so judging goes to memory."""
    limits = dataclasses.replace(app.config.limits, max_total_bytes=8 * 2**20)
    return dataclasses.replace(app, config=dataclasses.replace(app.config, limits=limits))


def _in_memory(app) -> list[Path]:  # type: ignore[no-untyped-def]
    root = scratch.private_root()
    assert root is not None  # /dev/shm is a tmpfs on every Linux this runs on
    with app.sessions() as s:
        names = {folders.memory_workdir(app, m).name for m in s.scalars(select(Message))}  # type: ignore[union-attr]
    return [p for p in root.iterdir() if p.name in names or p.name.removesuffix(".spill") in names]


def test_judging_in_memory_keeps_nothing_and_the_rows_name_the_folder_open_remakes(config, clock) -> None:
    app = _small_limits(_app(config, clock, 2048))
    assert app.config.storage.judge_in_memory  # the shipped default
    result = ingest_bytes(app, _submission(0), "file:/x/0.eml")
    assert result.verdict == "accepted" and result.submission_id is not None
    # Judged on disk, a cache of 2 GB would have kept the folder; in memory nothing is left anywhere.
    assert [p for p in app.files_root.rglob("*") if p.is_file()] == [] and _in_memory(app) == []
    with app.sessions() as s:
        folder = message_workdir(app, s.scalars(select(Message)).one())
    docs = _documents(app)[result.submission_id]
    assert docs and all(Path(path).is_relative_to(folder) for path, _size in docs if path)
    opened, listing = submission_folder(app, result.submission_id)
    assert opened == folder and listing
    assert all(Path(path).stat().st_size == size for path, size in docs if path)


def test_without_memory_or_without_room_for_the_worst_case_judging_works_in_the_cache_folder(config, clock) -> None:
    off = _app(dataclasses.replace(config, storage=dataclasses.replace(config.storage, judge_in_memory=False)),
               clock, 2048)
    no_room = _app(dataclasses.replace(config, limits=dataclasses.replace(config.limits, max_total_bytes=2**60)),
                   clock, 2048)
    for i, app in enumerate((off, no_room)):
        result = ingest_bytes(app, _submission(i), f"file:/x/{i}.eml")
        assert result.verdict == "accepted"
        with app.sessions() as s:
            message = s.scalars(select(Message).where(Message.source_key == f"file:/x/{i}.eml")).one()
            folder = message_workdir(app, message)
        assert derived.is_ready(folder) and any((folder / "unpacked").rglob("*.docx"))  # kept, as a cache
        assert _in_memory(app) == []


def test_after_a_crash_in_memory_the_marker_is_read_and_the_folder_goes(config, clock) -> None:
    app = _small_limits(_app(config, clock, 2048))
    ingest_bytes(app, _submission(0), "file:/x/0.eml")
    with app.sessions() as s:
        message = s.scalars(select(Message)).one()
        memory = folders.memory_workdir(app, message)
        assert memory is not None
        (memory / "unpacked" / "000").mkdir(parents=True)
        (memory / "unpacked" / "000" / "big.bin").write_bytes(b"\0" * 4096)
        (memory / folders.UNPACKING_MARKER).write_text("炸弹.zip", encoding="utf-8")
        memory.with_name(memory.name + ".spill").mkdir()
        assert folders.clear_after_crash(app, message) == "炸弹.zip"
        assert folders.clear_after_crash(app, message) is None  # once read, the marker is gone
    assert _in_memory(app) == []
