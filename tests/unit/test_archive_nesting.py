"""Nested archives are limited as one tree: everything unpacked at every level against the size that arrived,
and an archive found unsafe leaves nothing unpacked on disk (issue 14, item 16)."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest
import samplegen as g
from hostile.make_corpus import fixed_deflate_zip, nested_zip_bomb, rar_of_copies, seven_zip_of_copies

from helpers.archives import needs, run_unpack
from helpers.hostile import delivery
from helpers.volumes import judged, message, split_7z
from pipeline.config import ArchiveLimits
from pipeline.documents import archives
from pipeline.documents.archives import unpack

LIMIT = ArchiveLimits().max_ratio


def level_ratios(blob: bytes) -> list[float]:
    """Unpacked / packed of a one-member zip and of that member as a whole (what each level's check sees)."""
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        (info,) = zf.infolist()
        return [info.file_size / info.compress_size, info.file_size / len(blob)]


def test_a_zip_in_a_zip_each_level_under_the_limit_is_unsafe(tmp_path: Path) -> None:
    outer = nested_zip_bomb(32)
    with zipfile.ZipFile(io.BytesIO(outer)) as zf:
        inner = zf.read("材料.zip")
    assert all(r < LIMIT for r in level_ratios(outer) + level_ratios(inner))  # no level alone is a bomb
    (tmp_path / "n.zip").write_bytes(outer)
    result, dest = run_unpack(tmp_path, tmp_path / "n.zip")  # also: nothing left in dest
    assert result.problem == "unsafe"
    assert "compression ratio of the archive and the archives inside it" in result.detail
    assert not any(dest.rglob("*"))


@pytest.mark.parametrize("reader", ["7zz", "py7zr"])
def test_a_7z_in_a_zip_each_level_under_the_limit_is_unsafe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             reader: str) -> None:
    if shutil.which("7zz") is None:
        pytest.skip("needs 7zz (makes the archive; CI installs it)")
    monkeypatch.setattr(archives, "prefer_7zz", lambda: reader == "7zz")
    inner = seven_zip_of_copies(8)  # 8 MiB at ~145:1
    assert 8 * 2**20 / len(inner) < LIMIT
    (tmp_path / "n.zip").write_bytes(fixed_deflate_zip("材料.7z", inner))
    result, _ = run_unpack(tmp_path, tmp_path / "n.zip")
    assert result.problem == "unsafe" and "archives inside it" in result.detail


@needs("unar", "bsdtar")
@pytest.mark.parametrize("fmt", ["rar29", "rar50"])
def test_a_rar_in_a_zip_each_level_under_the_limit_is_unsafe(tmp_path: Path, fmt: str) -> None:
    inner = rar_of_copies(8, fmt)
    assert 8 * 2**20 / len(inner) < LIMIT
    (tmp_path / "n.zip").write_bytes(fixed_deflate_zip("材料.rar", inner))
    result, _ = run_unpack(tmp_path, tmp_path / "n.zip")
    assert result.problem == "unsafe" and "archives inside it" in result.detail


def test_the_tree_counts_against_the_volumes_size_when_given(tmp_path: Path) -> None:
    """A volume set's parts together are what arrived: `packed_bytes` is the tree's denominator."""
    outer = nested_zip_bomb(4)
    (tmp_path / "n.zip").write_bytes(outer)
    many = unpack(tmp_path / "n.zip", tmp_path / "a", packed_bytes=len(outer) * 100)  # as if 100 x bigger
    assert many.problem is None and sum(f.size for f in many.files) == 4 * 2**20
    alone = unpack(tmp_path / "n.zip", tmp_path / "b")
    assert alone.problem == "unsafe" and not any((tmp_path / "b").rglob("*"))


def test_an_ordinary_nested_archive_is_still_fine(tmp_path: Path) -> None:
    """Documents zipped twice (a department's zip inside the studio's): a few to one, far from the limit."""
    files = g.materials(g.Studio(unit="正定县总工会", leader="张三", gender="男", applicant="某厂", seed=3))
    inner = g.zip_bytes(files)
    (tmp_path / "o.zip").write_bytes(g.zip_bytes([("材料.zip", inner), ("说明.txt", b"x" * 3000)]))
    result, _ = run_unpack(tmp_path, tmp_path / "o.zip")
    assert result.problem is None and len(result.files) == len(files) + 1


def _unpacked_files(app) -> list[Path]:  # type: ignore[no-untyped-def]
    return [p for p in Path(app.config.storage.data_dir).rglob("*") if p.is_file() and "unpacked" in p.parts]


@pytest.mark.parametrize("name", ["zipbomb-nested-each-level-under.zip", "zipbomb-7z-in-zip.zip",
                                  "zipbomb-rar-in-zip.zip"])
def test_hostile_nested_bombs_leave_nothing_unpacked(app, name: str) -> None:
    if shutil.which("7zz") is None or shutil.which("bsdtar") is None:
        pytest.skip("needs 7zz and bsdtar")
    from pipeline.intake.ledger import ingest_bytes
    from storage import repo

    assert ingest_bytes(app, delivery(name), f"file:/hostile/{name}").status == "new"
    with app.sessions() as session:
        (sub,) = repo.submissions(session)
        assert "UNSAFE_ARCHIVE" in {f.code for f in sub.findings}
    assert _unpacked_files(app) == []


def test_a_nested_bomb_split_into_volumes_is_unsafe(app, tmp_path: Path) -> None:
    """The volume path (pipeline/documents/volumes.py): the parts' sizes together against the whole tree."""
    parts = split_7z([("材料.zip", fixed_deflate_zip("zeros.bin", bytes(16 * 2**20))),
                      ("pad.bin", os.urandom(40_000))], 3)
    stem = "正定县总工会李娜创新工作室入库材料"
    verdict, findings, _roles = judged(app, message([(f"{stem}.7z.{n:03d}", p) for n, p in enumerate(parts, 1)]))
    assert "UNSAFE_ARCHIVE" in {code for code, _text in findings}
    assert _unpacked_files(app) == []
