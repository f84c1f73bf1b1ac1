"""sniff_bytes / sniff_file on real files: magic numbers, zip and OLE2 contents."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path
from typing import Callable

import docx
import openpyxl
import pytest
from PIL import Image

from parsers.docx_text import read_docx_text
from parsers.errors import DocumentUnreadable
from parsers.sheets import read_xlsx_rows
from parsers.sniff import ole_root_entries, sniff_bytes, sniff_file

FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _dir_entry(name: str, kind: int, left: int = NOSTREAM, right: int = NOSTREAM, child: int = NOSTREAM) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le")
    entry = encoded.ljust(64, b"\x00")
    entry += struct.pack("<HBB3I", len(encoded), kind, 1, left, right, child)
    entry += b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16  # CLSID, state bits, times
    entry += struct.pack("<IQ", END, 0)  # start sector, size
    return entry.ljust(128, b"\x00")


def make_ole(entries: list[tuple[str, int, int, int, int]], *, fat_ok: bool = True) -> bytes:
    """A minimal version-3 compound file: header, one FAT sector, one directory sector."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
    header += struct.pack("<IIII", 0, 1, 1, 0)        # dir sectors, FAT sectors, first dir sector, txn
    header += struct.pack("<IIIII", 4096, END, 0, END, 0)  # mini cutoff, minifat, DIFAT
    header += struct.pack("<109I", 0 if fat_ok else 77, *([FREE] * 108))
    fat = struct.pack("<128I", FATSECT, END, *([FREE] * 126))
    directory = b"".join(_dir_entry(*e) for e in entries)
    directory = directory.ljust(512, b"\x00")
    assert len(header) == 512
    return header + fat + directory


def _root(child: int) -> tuple[str, int, int, int, int]:
    return ("Root Entry", 5, NOSTREAM, NOSTREAM, child)


WORD_DOC = [_root(1), ("WordDocument", 2, 2, 3, NOSTREAM), ("1Table", 2, NOSTREAM, NOSTREAM, NOSTREAM),
            ("\x05SummaryInformation", 2, NOSTREAM, NOSTREAM, NOSTREAM)]
WORKBOOK = [_root(1), ("Workbook", 2, NOSTREAM, NOSTREAM, NOSTREAM)]
EXCEL95 = [_root(1), ("Book", 2, NOSTREAM, NOSTREAM, NOSTREAM)]
ENCRYPTED = [_root(1), ("EncryptedPackage", 2, 2, NOSTREAM, NOSTREAM),
             ("EncryptionInfo", 2, NOSTREAM, NOSTREAM, NOSTREAM)]
# A workbook with an embedded Word object: WordDocument sits in a sub-storage, not at the root.
EMBEDDED = [_root(1), ("Workbook", 2, NOSTREAM, 2, NOSTREAM), ("MBD0001", 1, NOSTREAM, NOSTREAM, 3),
            ("WordDocument", 2, NOSTREAM, NOSTREAM, NOSTREAM)]
OTHER = [_root(1), ("PowerPoint Document", 2, NOSTREAM, NOSTREAM, NOSTREAM)]


@pytest.mark.parametrize("entries, expected", [
    (WORD_DOC, "doc"), (WORKBOOK, "xls"), (EXCEL95, "xls"), (ENCRYPTED, "ole"), (OTHER, "ole"),
])
def test_ole_kinds(tmp_path: Path, entries: list, expected: str) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(make_ole(entries))
    assert sniff_bytes(path.read_bytes()[:16]) == "ole"
    assert sniff_file(path) == expected


def test_embedded_word_stream_does_not_make_a_doc(tmp_path: Path) -> None:
    path = tmp_path / "book.xls"
    path.write_bytes(make_ole(EMBEDDED))
    assert ole_root_entries(path) == {"Workbook", "MBD0001"}
    assert sniff_file(path) == "xls"


def test_wps_file_is_doc(tmp_path: Path) -> None:
    path = tmp_path / "申报书.wps"  # WPS writes .wps as OLE2 with a WordDocument stream
    path.write_bytes(make_ole(WORD_DOC))
    assert sniff_file(path) == "doc"


def test_damaged_fat_falls_back_to_name_scan(tmp_path: Path) -> None:
    path = tmp_path / "broken.doc"
    path.write_bytes(make_ole(WORD_DOC, fat_ok=False))
    assert ole_root_entries(path) == set()
    assert sniff_file(path) == "doc"


@pytest.mark.parametrize("entries, reader, reason", [
    (ENCRYPTED, read_docx_text, "encrypted"), (ENCRYPTED, read_xlsx_rows, "encrypted"),
    (WORD_DOC, read_docx_text, "legacy Word"), (WORKBOOK, read_xlsx_rows, "legacy Excel"),
])
def test_ole_files_are_unreadable_as_ooxml(tmp_path: Path, entries: list, reader: Callable, reason: str) -> None:
    path = tmp_path / "申报材料.docx"
    path.write_bytes(make_ole(entries))
    with pytest.raises(DocumentUnreadable, match=reason):
        reader(path)


def _blank_docx(path: Path) -> None:
    docx.Document().save(path)


def _blank_xlsx(path: Path) -> None:
    openpyxl.Workbook().save(path)


@pytest.mark.parametrize("maker, reader, reason", [
    (_blank_xlsx, read_docx_text, "looks like xlsx"), (_blank_docx, read_xlsx_rows, "looks like docx"),
])
def test_readers_refuse_the_other_ooxml(tmp_path: Path, maker: Callable, reader: Callable, reason: str) -> None:
    path = tmp_path / "汇总表"
    maker(path)
    with pytest.raises(DocumentUnreadable, match=reason):
        reader(path)


def _image_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt, expected", [
    ("JPEG", "jpeg"), ("PNG", "png"), ("GIF", "gif"), ("BMP", "bmp"), ("TIFF", "tiff"), ("WEBP", "webp"),
    ("PDF", "pdf"),
])
def test_images_by_magic(fmt: str, expected: str) -> None:
    assert sniff_bytes(_image_bytes(fmt)) == expected


@pytest.mark.parametrize("head, expected", [
    (b"", "empty"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"),
    (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "unknown"),
    (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "unknown"),  # MP4 video
    (b"Rar!\x1a\x07\x00\xcf\x90s", "rar"),
    (b"Rar!\x1a\x07\x01\x00\x33\x92", "rar"),
    (b"7z\xbc\xaf\x27\x1c\x00\x04", "7z"),
    (b"\x1f\x8b\x08\x00", "gzip"),
    (b"{\\rtf1\\ansi", "rtf"),
    (b"PK\x03\x04\x14\x00", "zip"),
    (b"PK\x05\x06" + b"\x00" * 18, "zip"),
    (b"\r\n%PDF-1.4\n", "pdf"),  # junk before the header is tolerated by readers
    ("申报书内容，不少于一千字。\r\n".encode("utf-8"), "text"),
    ("申报书内容，不少于一千字。\r\n".encode("gb18030"), "text"),
    ("\ufeffBOM text".encode("utf-8"), "text"),
    ("utf16".encode("utf-16"), "text"),
    ("中文".encode("utf-8")[:-1], "text"),  # head cut inside a character
    (b"BMW X5 brochure", "text"),  # "BM" alone is not a bitmap
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "unknown"),
    (b"\x00\x05\x16\x07\x00\x02\x00\x00", "unknown"),  # macOS AppleDouble "._" file
])
def test_sniff_bytes(head: bytes, expected: str) -> None:
    assert sniff_bytes(head) == expected


def test_random_bytes_are_unknown(tmp_path: Path) -> None:
    data = bytes((i * 37 + 11) % 256 for i in range(4096))  # deterministic, every byte value
    path = tmp_path / "garbage.docx"
    path.write_bytes(data)
    assert sniff_file(path) == "unknown"


def test_png_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "3-1.jpg"
    path.write_bytes(_image_bytes("PNG"))
    assert sniff_file(path) == "png"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    assert sniff_file(path) == "empty"


def test_docx_xlsx_from_real_libraries(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_paragraph("申报书")
    d.save(tmp_path / "a.doc")  # wrong extension on purpose
    wb = openpyxl.Workbook()
    wb.active["A1"] = "汇总表"
    wb.save(tmp_path / "b.xls")
    assert sniff_bytes((tmp_path / "a.doc").read_bytes()[:64]) == "zip"
    assert sniff_file(tmp_path / "a.doc") == "docx"
    assert sniff_file(tmp_path / "b.xls") == "xlsx"


def _zip(path: Path, members: dict[str, bytes], stored_first: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data, zipfile.ZIP_STORED if stored_first else zipfile.ZIP_DEFLATED)
            stored_first = False
    return path


def _content_types(main: str) -> bytes:
    return (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Override PartName="/x/main.xml" ContentType="application/vnd.openxmlformats-officedocument.{main}"/>'
        "</Types>"
    ).encode()


@pytest.mark.parametrize("members, expected", [
    ({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}, "odt"),
    ({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}, "ods"),
    ({"mimetype": b"application/vnd.oasis.opendocument.presentation"}, "zip"),
    ({"[Content_Types].xml": _content_types("presentationml.presentation.main+xml")}, "pptx"),
    ({"[Content_Types].xml": _content_types("wordprocessingml.document.main+xml")}, "docx"),
    ({"[Content_Types].xml": _content_types("spreadsheetml.sheet.main+xml")}, "xlsx"),
    ({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}, "docx"),
    ({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}, "xlsx"),
    ({"[Content_Types].xml": b"<Types/>", "visio/document.xml": b"<v/>"}, "ooxml"),
    ({"申报书.docx": b"PK", "照片/1.jpg": b"\xff\xd8\xff"}, "zip"),
])
def test_zip_contents(tmp_path: Path, members: dict[str, bytes], expected: str) -> None:
    assert sniff_file(_zip(tmp_path / "f.zip", members, stored_first=True)) == expected


def test_truncated_zip_is_still_zip(tmp_path: Path) -> None:
    whole = _zip(tmp_path / "whole.zip", {"word/document.xml": b"<w/>" * 1000}).read_bytes()
    path = tmp_path / "cut.docx"
    path.write_bytes(whole[: len(whole) // 2])
    assert sniff_file(path) == "zip"
