"""Previews of a submission's files, made by the limited child in pipeline/web/render.py and kept on disk.

A document is found by its id *and* the submission it belongs to (a file id of another submission is a 404),
and its path comes from the database, never from the request; the path must also lie inside the message's
own work folder, so a row pointing elsewhere (a bug, a hand-edited database) serves nothing. Previews are
cached under data_dir/previews, named by document id, size and modification time: `intake reprocess`
unpacks a message again under new document ids, and an old preview is never shown for a new file. The cache
is bounded like the unpacked files (`[storage] derived_cache_mb`, least recently used removed first).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from parsers.toolenv import tool_env
from pipeline.intake.app import App
from pipeline.intake.folders import message_workdir
from pipeline.staff.review import submission_folder
from storage.models import Document, Submission

IMAGE_FORMATS = frozenset({"jpeg", "png", "gif", "bmp", "webp", "tiff"})
MAX_PDF_PAGES = 8          # pages previewed inline; the whole file is a download away
TIMEOUT_SECONDS = 30
DOWNLOAD_TYPES = {
    "pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "bmp": "image/bmp",
    "webp": "image/webp", "tiff": "image/tiff", "zip": "application/zip", "7z": "application/x-7z-compressed",
    "rar": "application/vnd.rar", "doc": "application/msword", "xls": "application/vnd.ms-excel",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


_REBUILDING = threading.Lock()  # one re-make of a message's folder at a time (several previews ask at once)


class PreviewFailed(Exception):
    """The child could not make the preview (a damaged file, a limit reached)."""


@dataclass(frozen=True)
class FileRef:
    """A document the request may see: its row's facts and the checked path on disk."""

    id: int
    name: str
    format: str
    role: str
    size: int
    path: Path

    @property
    def preview_kind(self) -> str | None:
        """How the page shows it: "image", "pdf", "docx", or None (download only)."""
        if self.format in IMAGE_FORMATS:
            return "image"
        return self.format if self.format in ("pdf", "docx") else None

    @property
    def content_type(self) -> str:
        return DOWNLOAD_TYPES.get(self.format, "application/octet-stream")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def file_ref(app: App, submission_id: int, document_id: int) -> FileRef | None:
    """The document `document_id` of submission `submission_id` if it is kept on disk, else None (→ 404).

    The unpacked files are a cache (pipeline.documents.derived): a folder removed to keep within the bound is
    re-made from the raw message by `intake open`'s own function before the file is given up for missing."""
    with app.sessions() as session:
        doc = session.scalar(select(Document).where(Document.id == document_id,
                                                    Document.submission_id == submission_id))
        if doc is None or not doc.path:
            return None
        sub = session.get(Submission, submission_id)
        assert sub is not None  # the document's foreign key
        folder = message_workdir(app, sub.message)
        ref = FileRef(doc.id, doc.name, doc.format, doc.role, doc.size, Path(doc.path))
    if not _inside(ref.path, folder):
        return None
    if not ref.path.exists():
        with _REBUILDING:
            if not ref.path.exists():
                submission_folder(app, submission_id)
    return ref if ref.path.is_file() and not ref.path.is_symlink() else None


def _run_child(args: list[str]) -> bytes:
    env = tool_env(PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    try:
        done = subprocess.run([sys.executable, "-m", "pipeline.web.render", *args], capture_output=True,
                              env=env, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise PreviewFailed("timed out") from None
    if done.returncode != 0:
        raise PreviewFailed(done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or "failed")
    return done.stdout


def _cached(app: App, ref: FileRef, what: str, args: list[str]) -> bytes:
    stat = ref.path.stat()
    folder = app.config.storage.data_dir / "previews"
    cache = folder / f"{ref.id}-{stat.st_size}-{stat.st_mtime_ns}-{what}"
    try:
        data = cache.read_bytes()
        os.utime(cache)  # used now: the last to be trimmed
        return data
    except FileNotFoundError:  # not made yet, or trimmed by another request a moment ago
        pass
    data = _run_child(args)
    folder.mkdir(mode=0o700, exist_ok=True)
    partial = cache.with_name(f"{cache.name}.{threading.get_ident()}.part")
    partial.write_bytes(data)
    partial.replace(cache)  # readers never see half a file
    trim(folder, app.config.storage.derived_cache_mb)
    return data


def trim(folder: Path, bound_mb: float) -> list[Path]:
    """Previews are derived files too: past `[storage] derived_cache_mb` MiB the least recently used are
    removed (0: none kept once served). Returns the files removed."""
    entries = []
    for path in folder.iterdir():
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        if not path.name.endswith(".part"):
            entries.append((info.st_mtime_ns, info.st_size, path))
    total = sum(size for _used, size, _path in entries)
    removed = []
    for _used, size, path in sorted(entries):
        if total <= bound_mb * 2**20:
            break
        path.unlink(missing_ok=True)
        total -= size
        removed.append(path)
    return removed


def preview_png(app: App, ref: FileRef, page: int = 1) -> bytes:
    """The picture, or a PDF's page, as PNG; PreviewFailed if it cannot be drawn."""
    if ref.preview_kind == "image":
        return _cached(app, ref, "image.png", ["image", str(ref.path)])
    if ref.preview_kind == "pdf" and 1 <= page <= MAX_PDF_PAGES:
        return _cached(app, ref, f"page{page}.png", ["pdf-page", str(ref.path), str(page)])
    raise PreviewFailed("no picture preview for this file")


def pdf_pages(app: App, ref: FileRef) -> int:
    """How many pages a PDF has (0 when it cannot be read)."""
    try:
        return int(_cached(app, ref, "pages.txt", ["pdf-pages", str(ref.path)]))
    except (PreviewFailed, ValueError):
        return 0


def docx_text(app: App, ref: FileRef) -> str | None:
    """A Word document's text, or None when it cannot be read."""
    try:
        return _cached(app, ref, "text.txt", ["docx-text", str(ref.path)]).decode("utf-8", "replace")
    except PreviewFailed:
        return None
