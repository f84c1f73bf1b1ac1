"""Member names the file system cannot hold (over 255 bytes of UTF-8: ~86 CJK characters) extract from every
archive kind and with every extractor, under names of our own, as zip members always did (issue 14, item 17)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hostile.make_corpus import LONG_DIR, LONG_FILE, LONG_NAMES

from helpers.archives import RAR_MTIME, needs, run_unpack, write_7z, write_rar, write_zip
from helpers.hostile import delivery
from pipeline.documents import archives
from pipeline.intake.ledger import ingest_bytes
from storage import repo

# Real content: enough to compress, different per member so that a swap would show.
CONTENT = {name: data * 3000 for name, data in LONG_NAMES.items()}


def only_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *tools: str) -> None:
    """PATH holds only the named extractors: forces which one reads the archive."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in tools:
        (folder / tool).symlink_to(shutil.which(tool))  # type: ignore[arg-type]
    monkeypatch.setenv("PATH", str(folder))


def assert_extracted(tmp_path: Path, archive: Path, expected: dict[str, bytes]) -> None:
    """Every member under its full display name, each file on disk under a name the file system holds."""
    result, dest = run_unpack(tmp_path, archive)
    assert result.problem is None, result.detail
    assert {f.name: f.path.read_bytes() for f in result.files} == expected
    assert all(len(p.name.encode()) <= 255 for p in dest.rglob("*"))


def rename_in_7z(archive: Path, renames: dict[str, str]) -> Path:
    """Rename members inside an archive with 7zz (no file system can hold the long names to archive them)."""
    pairs = [name for pair in renames.items() for name in pair]
    subprocess.run(["7zz", "rn", "-bd", str(archive), *pairs], check=True, capture_output=True)
    return archive


def test_the_names_are_too_long_for_the_file_system() -> None:
    assert len(LONG_FILE.encode()) > 255 and len(LONG_DIR.encode()) > 255
    assert len(LONG_FILE) < 110  # ~100 CJK characters: a plausible title, not an attack on the name length


def test_zip(tmp_path: Path) -> None:
    assert_extracted(tmp_path, write_zip(tmp_path / "a.zip", CONTENT), CONTENT)


@pytest.mark.parametrize("reader", ["7zz", "py7zr"])
def test_7z_with_each_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    if reader == "7zz" and shutil.which("7zz") is None:
        pytest.skip("needs 7zz")
    monkeypatch.setattr(archives, "prefer_7zz", lambda: reader == "7zz")
    assert_extracted(tmp_path, write_7z(tmp_path / "a.7z", CONTENT), CONTENT)


@needs("7zz")
def test_7z_that_only_7zz_reads(tmp_path: Path) -> None:
    """BCJ2 (py7zr cannot): the 7zz fallback after py7zr gave up."""
    archive = tmp_path / "b.7z"
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    shorts = {"a.txt": LONG_FILE, "d/说明.txt": f"{LONG_DIR}/说明.txt", "ok.txt": "ok.txt"}
    for short, long in shorts.items():
        (src / short).write_bytes(CONTENT[long])
    subprocess.run(["7zz", "a", "-t7z", "-mf=BCJ2", str(archive), "."], cwd=src, check=True, capture_output=True)
    rename_in_7z(archive, {"a.txt": LONG_FILE, "d": LONG_DIR})
    assert_extracted(tmp_path, archive, CONTENT)


@needs("7zz")
def test_zip_that_only_7zz_reads(tmp_path: Path) -> None:
    """Deflate64 (zipfile cannot): the 7zz fallback of the zip reader."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(CONTENT[LONG_FILE])
    archive = tmp_path / "d64.zip"
    subprocess.run(["7zz", "a", "-tzip", "-mm=Deflate64", str(archive), "a.txt"], cwd=src, check=True,
                   capture_output=True)
    rename_in_7z(archive, {"a.txt": LONG_FILE})
    assert_extracted(tmp_path, archive, {LONG_FILE: CONTENT[LONG_FILE]})


@pytest.mark.parametrize(("fmt", "solid", "tool"), [("rar29", False, "unar"), ("rar29", True, "unar"),
                                                     ("rar29", False, "bsdtar"), ("rar50", False, "bsdtar"),
                                                     ("rar50", True, "bsdtar")])
def test_rar_with_each_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, solid: bool,
                              tool: str) -> None:
    archive = write_rar(tmp_path / "a.rar", CONTENT, fmt, solid=solid, mtime=RAR_MTIME)
    only_tools(tmp_path, monkeypatch, tool)
    assert_extracted(tmp_path, archive, CONTENT)


@needs("7zz", "bsdtar")
def test_long_names_in_a_nested_archive(tmp_path: Path) -> None:
    inner = write_7z(tmp_path / "i.7z", CONTENT).read_bytes()
    rar = write_rar(tmp_path / "i.rar", CONTENT, "rar50", mtime=RAR_MTIME).read_bytes()
    outer = write_zip(tmp_path / "o.zip", {f"{LONG_DIR}/材料.7z": inner, "材料.rar": rar})
    expected = {**{f"{LONG_DIR}/材料.7z/{k}": v for k, v in CONTENT.items()},
                **{f"材料.rar/{k}": v for k, v in CONTENT.items()}}
    assert_extracted(tmp_path, outer, expected)


@needs("bsdtar")
def test_a_damaged_archive_with_long_names_is_still_corrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the pipe a tool that stops early, or data that does not match the listing, is a problem, never a
    short file."""
    blob = bytearray(write_rar(tmp_path / "a.rar", CONTENT, "rar50", mtime=RAR_MTIME).read_bytes())
    at = blob.find(b"long file name")  # rars stores text it cannot shrink much: damage its data
    if at < 0:
        at = len(blob) // 2
    blob[at:at + 4] = b"XXXX"
    (tmp_path / "bad.rar").write_bytes(bytes(blob))
    only_tools(tmp_path, monkeypatch, "bsdtar")
    result, _ = run_unpack(tmp_path, tmp_path / "bad.rar")
    assert result.problem == "corrupt"


@needs("unar", "bsdtar")
def test_the_pipe_keeps_the_timeout(tmp_path: Path) -> None:
    archive = write_rar(tmp_path / "a.rar", CONTENT, "rar29", mtime=RAR_MTIME)
    result, _ = run_unpack(tmp_path, archive, timeout_seconds=0.0)
    assert result.problem == "corrupt" and "timed out" in result.detail


@pytest.mark.parametrize("name", ["7z-long-names.7z", "rar5-long-names.rar", "rar4-long-names.rar",
                                  "zip-with-7z-long-names.zip"])
def test_hostile_corpus_long_names_are_received(app, name: str) -> None:
    """Through the pipeline: no ARCHIVE_CORRUPT, and the long-named file is among the documents."""
    assert ingest_bytes(app, delivery(name), f"file:/hostile/{name}").status == "new"
    with app.sessions() as session:
        (sub,) = repo.submissions(session)
        codes = {f.code for f in sub.findings}
        names = {d.name.rsplit("/", 1)[-1] for d in sub.documents}
    assert "ARCHIVE_CORRUPT" not in codes and "UNSAFE_ARCHIVE" not in codes, codes
    assert {LONG_FILE, "说明.txt", "ok.txt"} <= names
