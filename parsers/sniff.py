"""Tell a file's real type from its bytes, never from its name."""

from __future__ import annotations

import re
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

_HEAD_SIZE = 8192
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# ISO-BMFF brands that mean HEIF/HEIC (iPhone photos); "mif1" alone is also used by AVIF.
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_OOXML_MAIN = {
    "wordprocessingml": "docx",
    "spreadsheetml": "xlsx",
    "presentationml": "pptx",
}
_ODF_MIMETYPES = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
}
_MAX_XML_PEEK = 1 << 20  # [Content_Types].xml is a few KiB; never inflate a bomb to sniff

# OLE2 sector ids with a special meaning.
_MAX_SECTOR = 0xFFFFFFFA
_NOSTREAM = 0xFFFFFFFF
_MAX_DIR_SECTORS = 4096  # 16 Ki entries; real documents have a few dozen


def sniff_bytes(head: bytes) -> str:
    """Name the format of a file from its first bytes (magic numbers only; a zip is "zip")."""
    if not head:
        return "empty"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if head[:4] in _ZIP_MAGICS:
        return "zip"
    if head[:8] == _OLE_MAGIC:
        return "ole"
    if head[:7] in (b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01"):
        return "rar"
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return "7z"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:5] == b"{\\rtf":
        return "rtf"
    # Readers accept "%PDF-" anywhere in the first KiB; some scanners and gateways prepend junk.
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if _looks_like_bmp(head):
        return "bmp"
    if _looks_like_text(head):
        return "text"
    return "unknown"


def sniff_file(path: Path) -> str:
    """Name the format of a file, looking inside zips and OLE2 files; never raises for a readable path."""
    with open(path, "rb") as f:
        head = f.read(_HEAD_SIZE)
    kind = sniff_bytes(head)
    try:
        if kind == "zip":
            return _sniff_zip(path)
        if kind == "ole":
            return _sniff_ole(path)
    except Exception:  # a damaged container is still the container its magic says it is
        return kind
    return kind


def ole_root_entries(path: Path) -> set[str]:
    """Names of the streams and storages directly below an OLE2 file's root; empty if unreadable."""
    try:
        with open(path, "rb") as f:
            return _OleDirectory(f).root_names()
    except Exception:
        return set()


def _sniff_ftyp(head: bytes) -> str:
    box_size = int.from_bytes(head[:4], "big")
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, min(box_size, len(head), 64), 4)]
    if brands[0] in (b"avif", b"avis") or b"avif" in brands:
        return "unknown"  # AVIF shares the HEIF container but is not in our list of formats
    if any(b in _HEIC_BRANDS for b in brands):
        return "heic"
    return "unknown"


def _looks_like_bmp(head: bytes) -> bool:
    # "BM" alone starts plenty of text files; also require zero reserved words and a known DIB header size.
    if head[:2] != b"BM" or len(head) < 18:
        return False
    reserved = head[6:10]
    dib_size = struct.unpack_from("<I", head, 14)[0]
    return reserved == b"\x00\x00\x00\x00" and dib_size in (12, 16, 40, 52, 56, 64, 108, 124)


def _looks_like_text(head: bytes) -> bool:
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True  # UTF-16 with BOM (Windows Notepad)
    if b"\x00" in head:
        return False
    text = None
    for encoding in ("utf-8-sig", "gb18030"):
        # The head may end inside a multi-byte character: allow up to 3 trailing bytes to be cut off.
        for cut in range(4):
            try:
                text = head[: len(head) - cut].decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        if text is not None:
            break
    if text is None or not text:
        return False
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f\x1a")
    return controls <= len(text) // 100


def _sniff_zip(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        if "mimetype" in names:
            mimetype = _read_small(z, "mimetype").decode("ascii", "replace").strip()
            if mimetype in _ODF_MIMETYPES:
                return _ODF_MIMETYPES[mimetype]
        if "[Content_Types].xml" not in names:
            return "zip"
        content_types = _read_small(z, "[Content_Types].xml").decode("utf-8", "replace")
        # The main part's content type names the application, wherever the part lives.
        for marker, kind in _OOXML_MAIN.items():
            if re.search(rf"openxmlformats-officedocument\.{marker}\.[a-zA-Z.]*main\+xml", content_types):
                return kind
        for part, kind in (("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"),
                           ("ppt/presentation.xml", "pptx")):
            if part in names:
                return kind
        return "ooxml"


def _read_small(z: zipfile.ZipFile, name: str) -> bytes:
    with z.open(name) as member:
        return member.read(_MAX_XML_PEEK)


def _sniff_ole(path: Path) -> str:
    names = ole_root_entries(path)
    if not names:
        names = _scan_ole_names(path)
    if "WordDocument" in names:
        return "doc"  # Word 97–2003 and WPS .wps
    if "Workbook" in names or "Book" in names:
        return "xls"  # "Book" is the Excel 5/95 stream name
    return "ole"


def _scan_ole_names(path: Path) -> set[str]:
    # Fallback when the FAT is damaged: look for the UTF-16LE names in the first 64 KiB.
    with open(path, "rb") as f:
        data = f.read(65536)
    return {n for n in ("WordDocument", "Workbook", "Book") if (n + "\x00").encode("utf-16-le") in data}


class _OleDirectory:
    """The minimum of an OLE2 compound file needed to list its root entries."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        header = f.read(512)
        if header[:8] != _OLE_MAGIC or len(header) < 512:
            raise ValueError("not an OLE2 file")
        self._sector_size = 1 << struct.unpack_from("<H", header, 0x1E)[0]
        if self._sector_size not in (512, 4096):
            raise ValueError("bad sector size")
        n_fat, self._first_dir = struct.unpack_from("<II", header, 0x2C)
        first_difat, n_difat = struct.unpack_from("<II", header, 0x44)
        fat_sectors = [s for s in struct.unpack_from("<109I", header, 0x4C) if s <= _MAX_SECTOR]
        # Big files list further FAT sectors in a DIFAT chain; each DIFAT sector ends with the next one's id.
        sector, seen = first_difat, 0
        while sector <= _MAX_SECTOR and seen < n_difat and seen < 1024:
            ids = struct.unpack(f"<{self._sector_size // 4}I", self._sector(sector))
            fat_sectors.extend(s for s in ids[:-1] if s <= _MAX_SECTOR)
            sector, seen = ids[-1], seen + 1
        self._fat_sectors = fat_sectors[:n_fat] if n_fat else fat_sectors
        self._fat_cache: dict[int, tuple[int, ...]] = {}

    def _sector(self, sid: int) -> bytes:
        self._f.seek((sid + 1) * self._sector_size)
        data = self._f.read(self._sector_size)
        if len(data) < self._sector_size:
            raise ValueError("sector beyond end of file")
        return data

    def _next(self, sid: int) -> int:
        per_sector = self._sector_size // 4
        index = sid // per_sector
        if index >= len(self._fat_sectors):
            raise ValueError("sector not in FAT")
        if index not in self._fat_cache:
            self._fat_cache[index] = struct.unpack(f"<{per_sector}I", self._sector(self._fat_sectors[index]))
        return self._fat_cache[index][sid % per_sector]

    def _entries(self) -> list[tuple[str, int, int, int, int]]:
        entries: list[tuple[str, int, int, int, int]] = []
        sector, visited = self._first_dir, set()
        while sector <= _MAX_SECTOR and sector not in visited and len(visited) < _MAX_DIR_SECTORS:
            visited.add(sector)
            data = self._sector(sector)
            for off in range(0, len(data), 128):
                name_len, kind = struct.unpack_from("<HB", data, off + 0x40)
                name = data[off : off + max(0, min(name_len, 64) - 2)].decode("utf-16-le", "replace")
                left, right, child = struct.unpack_from("<III", data, off + 0x44)
                entries.append((name, kind, left, right, child))
            sector = self._next(sector)
        return entries

    def root_names(self) -> set[str]:
        entries = self._entries()
        if not entries or entries[0][1] != 5:
            raise ValueError("no root entry")
        # The root's children form a red-black tree linked by left/right siblings; a stream
        # further down (an embedded Word object inside a workbook) is not the file's own type.
        names: set[str] = set()
        stack, seen = [entries[0][4]], set()
        while stack:
            i = stack.pop()
            if i == _NOSTREAM or i in seen or i >= len(entries):
                continue
            seen.add(i)
            name, kind, left, right, _child = entries[i]
            if kind in (1, 2):
                names.add(name)
            stack.extend((left, right))
        return names
