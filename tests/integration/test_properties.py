"""Property-based tests (hypothesis): mutated mail, archives and documents never escape the per-message boundary.

Every property runs a bounded, derandomized number of examples so CI is reproducible and the file stays
well under a minute. Seeds are small valid inputs built once; mutations flip, overwrite, insert, delete and
truncate bytes, with positions biased toward the headers at both ends where parsers make their decisions.
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
import unicodedata
import zipfile
from email.message import EmailMessage
from pathlib import Path

import py7zr
import pytest
import rars
import samplegen as g
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.docx_text import read_docx_text
from parsers.errors import DocumentUnreadable
from parsers.images import image_info
from parsers.pdf import pdf_info
from parsers.sheets import read_xlsx_rows
from pipeline.config import ArchiveLimits
from pipeline.documents.archives import unpack
from pipeline.mail.decode import decode_message

# derandomize: the same examples on every run (CI reproducibility); no deadline: the 7z/rar tools are subprocesses.
BOUNDED = settings(derandomize=True, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SMALL_LIMITS = ArchiveLimits(max_files=50, max_total_bytes=8 * 1024 * 1024, max_ratio=200.0, max_depth=1,
                             timeout_seconds=10.0)


# ---------------------------------------------------------------- mutations

def _apply(seed: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    """Apply byte-level edits to `seed`; positions wrap around so every op lands somewhere."""
    data = bytearray(seed)
    for op, pos, value in ops:
        if not data:
            break
        i = pos % len(data)
        if op == "flip":
            data[i] ^= 1 << (value % 8)
        elif op == "set":
            data[i] = value
        elif op == "insert":
            data[i:i] = bytes([value]) * (1 + value % 4)
        elif op == "delete":
            del data[i:i + 1 + value % 16]
        else:  # truncate
            del data[i:]
    return bytes(data)


def mutated(seed: bytes, max_ops: int = 6) -> st.SearchStrategy[bytes]:
    """Mutations of `seed`, positions biased to the first and last 256 bytes (headers, central directories)."""
    n = len(seed)
    position = st.one_of(st.integers(0, min(255, n - 1)), st.integers(max(0, n - 256), n - 1), st.integers(0, n - 1))
    op = st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]), position, st.integers(0, 255))
    return st.lists(op, min_size=1, max_size=max_ops).map(lambda ops: _apply(seed, ops))


# ---------------------------------------------------------------- MIME

_NAME_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)


def _is_clean_name(name: str) -> bool:
    """No path separators, no control characters (Cc) and no bidi overrides in an attachment name."""
    return "/" not in name and "\\" not in name and not any(
        unicodedata.category(ch) == "Cc" or "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069" for ch in name)


def _message(names: list[str], blobs: list[bytes], subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "张三 <zs@example.cn>"
    msg["To"] = "sjzjjb@126.com"
    msg["Subject"] = subject
    msg.set_content("附件为入库材料。")
    for name, data in zip(names, blobs):
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


@settings(BOUNDED, max_examples=60)
@given(names=st.lists(_NAME_TEXT, min_size=1, max_size=3), data=st.data(),
       subject=st.text(max_size=60).filter(lambda s: "\r" not in s and "\n" not in s))
def test_generated_attachments_round_trip(names: list[str], data: st.DataObject, subject: str) -> None:
    blobs = [data.draw(st.binary(max_size=300)) for _ in names]
    mail = decode_message(_message(names, blobs, subject))
    assert [a.data for a in mail.attachments] == blobs
    assert all(_is_clean_name(a.filename) for a in mail.attachments)


@functools.cache
def _seed_message() -> bytes:
    """A realistic Foxmail-style submission with encoded-word names and a base64 zip."""
    archive = g.zip_bytes([("（1）申报表.docx", b"PK fake"), ("3-1 照片.jpg", b"\xff\xd8\xff fake")])
    return g.eml(subject="正定县总工会-张三创新工作室", from_name="正定县总工会", from_addr="zdxzgh@126.com",
                 date=g.datetime(2025, 5, 26, 10, 0, tzinfo=g.timezone.utc), received=None,
                 message_id="<p1@example.cn>", body_text="请查收。",
                 attachments=[g.Attachment("正定县总工会-张三创新工作室.zip", archive),
                              g.Attachment("../..\\evil\u202egpj.exe", b"MZ")])


@settings(BOUNDED, max_examples=150)
@given(raw=st.deferred(lambda: mutated(_seed_message(), max_ops=10)))
def test_mutated_messages_decode_without_raising(raw: bytes) -> None:
    mail = decode_message(raw)
    assert all(_is_clean_name(a.filename) for a in mail.attachments)
    assert isinstance(mail.subject, str) and "\n" not in mail.subject and "\r" not in mail.subject


@settings(BOUNDED, max_examples=60)
@given(raw=st.binary(max_size=2000))
def test_arbitrary_bytes_decode_without_raising(raw: bytes) -> None:
    mail = decode_message(raw)
    assert all(_is_clean_name(a.filename) for a in mail.attachments)


# ---------------------------------------------------------------- archives

_MEMBERS = {"（1）申报表.docx": b"form " * 40, "佐证/3-1 照片.jpg": b"\xff\xd8\xff" + bytes(range(256)) * 2,
            "readme.txt": b"hello"}


@functools.cache
def _seed_archive(kind: str) -> bytes:
    """A small valid archive of `kind` with a folder and non-ASCII names."""
    if kind == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in _MEMBERS.items():
                zf.writestr(name, data)
        return buf.getvalue()
    if kind == "7z":
        buf = io.BytesIO()
        with py7zr.SevenZipFile(buf, "w") as sz:
            for name, data in _MEMBERS.items():
                sz.writestr(data, name)
        return buf.getvalue()
    builder = rars.RarBuilder(format="rar50")
    for name, data in _MEMBERS.items():
        builder.add_bytes(data, name)
    with tempfile.TemporaryDirectory() as tmp:
        builder.write(os.path.join(tmp, "a.rar"))
        return Path(tmp, "a.rar").read_bytes()


def _tree(root: Path) -> set[str]:
    return {os.path.relpath(os.path.join(d, n), root) for d, dirs, files in os.walk(root) for n in dirs + files}


def _check_unpack(data: bytes, suffix: str) -> None:
    """unpack() returns files or a problem, never raises, and writes nothing outside dest."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        archive = root / "in" / f"a.{suffix}"
        archive.write_bytes(data)
        dest = root / "out" / "dest"
        result = unpack(archive, dest, SMALL_LIMITS)
        assert (result.problem is None) or not result.files
        assert result.problem is not None or result.files or data == b""  # an empty archive lists nothing
        outside = {p for p in _tree(root) if not p.startswith(("out/dest", "in"))}
        assert outside == {"out"}, outside
        assert _tree(root / "in") == {f"a.{suffix}"}
        for f in result.files:
            assert Path(os.path.realpath(f.path)).is_relative_to(os.path.realpath(dest))


@settings(BOUNDED, max_examples=120)
@given(data=st.deferred(lambda: mutated(_seed_archive("zip"))))
def test_mutated_zip_never_escapes(data: bytes) -> None:
    _check_unpack(data, "zip")


@settings(BOUNDED, max_examples=40)
@given(data=st.deferred(lambda: mutated(_seed_archive("7z"))))
def test_mutated_7z_never_escapes(data: bytes) -> None:
    _check_unpack(data, "7z")


@settings(BOUNDED, max_examples=30)
@given(data=st.deferred(lambda: mutated(_seed_archive("rar"))))
def test_mutated_rar_never_escapes(data: bytes) -> None:
    _check_unpack(data, "rar")


# ---------------------------------------------------------------- documents

_STUDIO = g.Studio(unit="正定县总工会", leader="张三", gender="男", applicant="正定县某某机械厂", seed=3)


@functools.cache
def _seed_document(kind: str) -> bytes:
    if kind == "docx":
        return g.narrative_docx(_STUDIO.name, 300, 3)
    if kind == "xlsx":
        return g.summary_xlsx([_STUDIO.summary_row()])
    if kind == "pdf":
        return g.stamped_scan_pdf(_STUDIO.name, 3)
    return g.photo_jpeg("3-1", 3, size=(64, 48))


_READERS = {"docx": read_docx_text, "xlsx": read_xlsx_rows, "pdf": pdf_info, "jpg": image_info}


def _read_only_unreadable(kind: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"doc.{kind}"
        path.write_bytes(data)
        try:
            _READERS[kind](path)
        except DocumentUnreadable:
            pass


@pytest.mark.parametrize("kind", ["docx", "xlsx", "pdf", "jpg"])
def test_mutated_documents_raise_only_document_unreadable(kind: str) -> None:
    @settings(BOUNDED, max_examples=60)
    @given(data=mutated(_seed_document(kind)))
    def check(data: bytes) -> None:
        _read_only_unreadable(kind, data)

    check()
