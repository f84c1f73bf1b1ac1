"""Real archives for the archive tests: zip (zipfile), 7z (py7zr), RAR4/RAR5 (rars), and `run_unpack`, which
unpacks one into tmp_path and checks what every result must keep.

    from helpers.archives import needs, run_unpack, write_7z, write_rar, write_zip
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import py7zr
import pytest
import rars

from pipeline.config import ArchiveLimits
from pipeline.documents.archives import UnpackResult, unpack


def needs(*tools: str) -> pytest.MarkDecorator:
    """Skip unless every named system binary is on PATH (CI installs them all)."""
    missing = [t for t in tools if shutil.which(t) is None]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")


def run_unpack(tmp_path: Path, archive: Path, **limits: float) -> tuple[UnpackResult, Path]:
    """Unpack into tmp_path/box/out and check the invariants every result must keep."""
    dest = tmp_path / "box" / "out"
    result = unpack(archive, dest, ArchiveLimits(**limits))  # type: ignore[arg-type]
    assert [p.name for p in (tmp_path / "box").iterdir()] == ["out"]  # nothing beside dest
    for f in result.files:
        assert f.path.is_file() and f.path.resolve().is_relative_to(dest.resolve())
        assert f.path.stat().st_size == f.size
        assert f.path.suffix == Path(f.name).suffix  # on-disk names keep the extension
    if result.problem:
        assert result.files == () and result.detail
        assert list(dest.iterdir()) == []  # partial output removed
    return result, dest


def write_zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    """Zip with Python's naming (UTF-8 flag for non-ASCII names)."""
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def write_7z(path: Path, members: dict[str, bytes], **kwargs: object) -> Path:
    """7z via py7zr (password=..., header_encryption=...)."""
    with py7zr.SevenZipFile(path, "w", **kwargs) as z:  # type: ignore[arg-type]
        for name, data in members.items():
            z.writestr(data, name)
    return path


# A fixed member date (20 May 2025) for RARs that must come out the same bytes every run.
RAR_MTIME = 1_747_700_000


def write_rar(path: Path, members: dict[str, bytes], fmt: str = "rar50", *, mtime: int | None = None,
              **kwargs: object) -> Path:
    """RAR4 ("rar29") or RAR5 ("rar50") via the rars package (solid=..., password=..., encrypt_headers=...);
    members dated `mtime` (RAR_MTIME, say), or now."""
    builder = rars.RarBuilder(format=fmt, **kwargs)
    for name, data in members.items():
        builder.add_bytes(data, name, mtime=mtime)
    builder.write(str(path))
    return path
