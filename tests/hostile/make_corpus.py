"""Write the hostile corpus into tests/hostile/files/ and its manifest (deterministic; run from anywhere).

Every file is small (the largest is a few hundred KB); what makes it hostile is what a reader would do with
it: escape the folder, inflate without bound, follow a link, recurse, or choke on a header. The manifest says
how the test delivers each file (an attachment under a given MIME name, or a whole message) and which finding
codes a sensible verdict must carry. The 7z with encrypted headers gets a fresh random salt from 7zz on each
run, so only that file's bytes differ between runs.

    python tests/hostile/make_corpus.py
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import rars

HERE = Path(__file__).resolve().parent
OUT = HERE / "files"
STAMP = (2025, 5, 20, 10, 0, 0)
SUBJECT = "正定县总工会张三创新工作室入库材料"  # the subject convention of the notice
CANARY = "intake-hostile-canary"  # the test checks that no file of this name appears anywhere it looks


# ---------------------------------------------------------------- zip helpers

def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED,
         attrs: dict[str, int] | None = None) -> bytes:
    """A zip with fixed timestamps; `attrs` sets a member's Unix mode (high 16 bits of external_attr)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, STAMP)
            info.compress_type = method
            if attrs and name in attrs:
                info.create_system = 3
                info.external_attr = attrs[name] << 16
            zf.writestr(info, data)
    return buf.getvalue()


def _raw_name_zip(name: bytes, data: bytes) -> bytes:
    """A stored zip whose one member has exactly the bytes `name` (zipfile would normalise it)."""
    crc = zlib.crc32(data)
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, len(data), len(data),
                        len(name), 0) + name + data
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc, len(data), len(data),
                          len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


def overlap_bomb(entries: int = 400, kernel_size: int = 256 * 1024) -> bytes:
    """David Fifield's overlapping-entry bomb, "full overlap" variant: every central directory entry points at
    the same local header and deflate kernel, so each member looks modest (ratio ~ the kernel's) while the whole
    archive inflates to entries x kernel_size."""
    kernel_data = bytes(range(256)) * (kernel_size // 256)  # compresses ~ 100:1, under the per-member limit
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    kernel = comp.compress(kernel_data) + comp.flush()
    crc = zlib.crc32(kernel_data)
    name = b"0"
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(kernel), kernel_size,
                        len(name), 0) + name + kernel
    central = b""
    for i in range(entries):
        member = f"{i:04d}.txt".encode()
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(kernel),
                               kernel_size, len(member), 0, 0, 0, 0, 0, 0) + member
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, entries, entries, len(central), len(local), 0)
    return local + central + end


def lying_size_bomb() -> bytes:
    """64 MiB of zeros whose headers claim 1000 bytes (per-member and archive ratios look harmless): a reader
    that trusts the header inflates everything; ours stops at the declared size and the CRC fails."""
    data = bytearray(_zip([("zeros.bin", b"\0" * (64 * 1024 * 1024))]))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        struct.pack_into("<I", data, at + offset, 1000)
    return bytes(data)


def fixed_deflate_zip(name: str, data: bytes) -> bytes:
    """A one-member zip deflated with the fixed Huffman code only (zipfile always picks its own codes): zeros
    compress 158:1 that way, under the ratio limit, and the output repeats every 13 bytes, so a zip of it
    compresses ~120:1 again. Both levels pass a limit that is checked one level at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_FIXED)
    packed = packer.compress(data) + packer.flush()
    crc, raw = zlib.crc32(data), name.encode()
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0x800, 8, 0, 0x21, crc, len(packed), len(data),
                        len(raw), 0) + raw + packed
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0x800, 8, 0, 0x21, crc, len(packed),
                          len(data), len(raw), 0, 0, 0, 0, 0, 0) + raw
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


def nested_zip_bomb(mib: int) -> bytes:
    """A zip in a zip, each level under 200:1 (158:1 inside, ~120:1 outside), `mib` MiB at the bottom."""
    return fixed_deflate_zip("材料.zip", fixed_deflate_zip("zeros.bin", bytes(mib * 2**20)))


def repeated_member(seed: int = 5) -> bytes:
    """1 MiB that 7z and RAR compress ~145:1 (7 KB of noise, then zeros): under the ratio limit, and N copies
    in a non-solid archive are N identical packed streams, which a zip around it compresses again."""
    return random.Random(seed).randbytes(7000) + bytes(2**20)


def seven_zip_of_copies(count: int) -> bytes:
    """A non-solid 7z of `count` copies of repeated_member()."""
    return _seven_zip({f"{i:03d}.bin": repeated_member() for i in range(count)}, "-ms=off", "-m0=LZMA", "-mmt=1")


def rar_of_copies(count: int, fmt: str = "rar50") -> bytes:
    """A RAR of `count` copies of repeated_member()."""
    return _rar({f"{i:03d}.bin": repeated_member() for i in range(count)}, fmt=fmt)


# Names over 255 bytes of UTF-8 (Linux's NAME_MAX): a file name of 103 CJK characters, and a folder of 90 (the
# file in it has a short name), as Chinese senders write them.
LONG_FILE = "（3）" + "石家庄市劳模和工匠人才创新工作室荣誉证书" * 5 + ".txt"
LONG_DIR = "目录" * 45
LONG_NAMES = {LONG_FILE: b"long file name\n", f"{LONG_DIR}/说明.txt": b"in a long folder\n", "ok.txt": b"ok\n"}


def long_names_7z() -> bytes:
    """A 7z with LONG_NAMES, made by 7zz under short names and renamed inside the archive (no file system holds
    the long ones)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "src")
        (src / "d").mkdir(parents=True)
        for short, data in (("a.txt", LONG_NAMES[LONG_FILE]), ("d/说明.txt", LONG_NAMES[f"{LONG_DIR}/说明.txt"]),
                            ("ok.txt", LONG_NAMES["ok.txt"])):
            (src / short).write_bytes(data)
        for path in (src / "d", *src.rglob("*.txt")):
            os.utime(path, (1_747_700_000, 1_747_700_000))
        out = Path(tmp, "a.7z")
        subprocess.run(["7zz", "a", "-bd", str(out), "a.txt", "d", "ok.txt"], cwd=src, check=True, capture_output=True)
        subprocess.run(["7zz", "rn", "-bd", str(out), "a.txt", LONG_FILE, "d", LONG_DIR], check=True,
                       capture_output=True)
        return out.read_bytes()


def nested_zip(depth: int) -> bytes:
    """A zip inside a zip … `depth` levels, a text file at the bottom."""
    data = _zip([("bottom.txt", b"the bottom\n")])
    for level in range(depth - 1, 0, -1):
        data = _zip([(f"level{level}.zip", data)], zipfile.ZIP_STORED)
    return data


# ---------------------------------------------------------------- 7z / rar helpers

def _seven_zip(files: dict[str, bytes], *switches: str, links: dict[str, str] | None = None) -> bytes:
    """Build a 7z with the 7zz CLI from files (fixed mtimes) and optional symlinks."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "src")
        src.mkdir()
        for name, data in files.items():
            (src / name).write_bytes(data)
            os.utime(src / name, (1_747_700_000, 1_747_700_000))
        for name, target in (links or {}).items():
            (src / name).symlink_to(target)
            os.utime(src / name, (1_747_700_000, 1_747_700_000), follow_symlinks=False)
        out = Path(tmp, "a.7z")
        subprocess.run(["7zz", "a", "-bd", *switches, str(out), *sorted([*files, *(links or {})])], cwd=src,
                       check=True, capture_output=True)
        return out.read_bytes()


def _tar_hardlink() -> bytes:
    """A tar with a hard link member (7z and zip cannot store one; the pipeline must treat tar as not-an-archive)."""
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        data = b"secret\n"
        info = tarfile.TarInfo("a.txt")
        info.size, info.mtime = len(data), 1_747_700_000
        tf.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("../../etc/" + CANARY)
        link.type, link.linkname, link.mtime = tarfile.LNKTYPE, "a.txt", 1_747_700_000
        tf.addfile(link)
    return buf.getvalue()


def _rar(members: dict[str, bytes], *, symlinks: dict[str, str] | None = None, fmt: str = "rar50") -> bytes:
    builder = rars.RarBuilder(format=fmt)
    for name, data in members.items():
        builder.add_bytes(data, name, mtime=1_747_700_000)
    for name, target in (symlinks or {}).items():
        builder.add_unix_symlink(name, target)
    return builder.to_bytes()


def _vint(data: bytes, pos: int) -> tuple[int, int]:
    """A RAR5 variable-length integer at pos: (value, position after it)."""
    value = shift = 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def _rar5_renamed(safe: str, hostile: str) -> bytes:
    """A RAR5 with member `safe` renamed to the same-length `hostile` (rars refuses to write such names), header
    CRCs recomputed so that readers accept it."""
    data = bytearray(_rar({safe: b"x"}))
    data[:] = data.replace(safe.encode(), hostile.encode())
    pos = 8
    while pos < len(data):
        size, start = _vint(data, pos + 4)
        _kind, p = _vint(data, start)
        flags, p = _vint(data, p)
        if flags & 1:
            _extra, p = _vint(data, p)
        payload = _vint(data, p)[0] if flags & 2 else 0
        struct.pack_into("<I", data, pos, zlib.crc32(data[pos + 4:start + size]))
        pos = start + size + payload
    return bytes(data)


def rar_second_volume() -> bytes:
    """Part 2 of a two-volume RAR5 (the first part is not sent)."""
    return _rar_volume(1)


def rar_first_volume() -> bytes:
    """Part 1 of a two-volume RAR5 (the second part is not sent: rarfile calls that "need first volume")."""
    return _rar_volume(0)


def _rar_volume(index: int) -> bytes:
    builder = rars.RarBuilder(format="rar50", volume_size=40_000)
    builder.add_bytes(random.Random(7).randbytes(60_000), "big.bin", mtime=1_747_700_000)  # incompressible
    with tempfile.TemporaryDirectory() as tmp:
        parts = builder.write_volumes(os.path.join(tmp, "a.part1.rar"))
        return Path(sorted(parts)[index]).read_bytes()


# ---------------------------------------------------------------- documents

_CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                  b'2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                  b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                  b'<Override PartName="/{part}" ContentType="{ctype}"/></Types>')
_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                      for i in range(1, 10))
           + b"]>")


def billion_laughs_docx() -> bytes:
    body = (_LAUGHS + b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            b"<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>")
    types = _CONTENT_TYPES.replace(b"{part}", b"word/document.xml").replace(
        b"{ctype}", b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
    rels = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            b'officeDocument" Target="word/document.xml"/></Relationships>')
    return _zip([("[Content_Types].xml", types), ("_rels/.rels", rels), ("word/document.xml", body)])


def billion_laughs_xlsx() -> bytes:
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rns = b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    rel = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    types = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             b'<Default Extension="xml" ContentType="application/xml"/>'
             b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
             b'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
             b'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.'
             b'xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
             b"</Types>")
    root_rels = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                 b'relationships"><Relationship Id="rId1" Type="' + rel + b'officeDocument" '
                 b'Target="xl/workbook.xml"/></Relationships>')
    wb = (b'<?xml version="1.0"?><workbook ' + ns + b" " + rns + b'><sheets><sheet name="S" sheetId="1" r:id="rId1"/>'
          b"</sheets></workbook>")
    wb_rels = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
               b'relationships"><Relationship Id="rId1" Type="' + rel + b'worksheet" Target="worksheets/sheet1.xml"/>'
               b'<Relationship Id="rId2" Type="' + rel + b'sharedStrings" Target="sharedStrings.xml"/>'
               b"</Relationships>")
    sheet = (_LAUGHS.replace(b"lolz", b"worksheet") + b"<worksheet " + ns + b'><sheetData><row r="1">'
             b'<c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c><c r="B1" t="s"><v>0</v></c></row></sheetData>'
             b"</worksheet>")
    strings = (_LAUGHS.replace(b"lolz", b"sst") + b"<sst " + ns + b' count="1" uniqueCount="1"><si><t>&lol9;</t>'
               b"</si></sst>")
    return _zip([("[Content_Types].xml", types), ("_rels/.rels", root_rels), ("xl/workbook.xml", wb),
                 ("xl/_rels/workbook.xml.rels", wb_rels), ("xl/worksheets/sheet1.xml", sheet),
                 ("xl/sharedStrings.xml", strings)])


def docx_inflating_document() -> bytes:
    """A docx whose document.xml inflates to 60 MB of spaces (a bomb inside a document, not an archive)."""
    body = (b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            b"<w:body><w:p><w:r><w:t>" + b" " * (60 * 1024 * 1024) + b"</w:t></w:r></w:p></w:body></w:document>")
    types = _CONTENT_TYPES.replace(b"{part}", b"word/document.xml").replace(
        b"{ctype}", b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
    return _zip([("[Content_Types].xml", types), ("word/document.xml", body)])


def many_pages_pdf(pages: int = 3000) -> bytes:
    """A valid PDF with `pages` empty pages (each a tiny distinct object, with an xref table)."""
    objects = [b"<</Type/Catalog/Pages 2 0 R>>",
               b"<</Type/Pages/Count %d/Kids[" % pages + b" ".join(b"%d 0 R" % (3 + i) for i in range(pages)) + b"]>>"]
    objects += [b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 9 9]>>"] * pages
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj%sendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def huge_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG header declaring 10 gigapixels, followed by a tiny (truncated) IDAT."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
            + chunk(b"IEND", b""))


def huge_jpeg(width: int = 65_500, height: int = 65_500) -> bytes:
    """A baseline JPEG header declaring 65500 x 65500 pixels, then almost no scan data."""
    quant = b"\xff\xdb\x00\x43\x00" + bytes([1] * 64)
    sof = b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", height, width) + b"\x03\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    dc = b"\xff\xc4\x00\x1f\x00" + bytes([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]) + bytes(range(12))
    sos = b"\xff\xda\x00\x0c\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00"
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + quant + sof + dc + sos
            + b"\x00" * 64 + b"\xff\xd9")


# ---------------------------------------------------------------- whole messages

def _headers(subject: str, extra: str = "") -> str:
    return ("Received: from mx.example.cn by mx.126.com; Mon, 26 May 2025 10:00:00 +0800\r\n"
            "From: zdxzgh@126.com\r\nTo: sjzjjb@126.com\r\nDate: Mon, 26 May 2025 10:00:00 +0800\r\n"
            f"Message-ID: <hostile-{zlib.crc32(subject.encode()) % 1000}@example.cn>\r\nSubject: {subject}\r\n{extra}"
            "MIME-Version: 1.0\r\n")


def two_hundred_attachments() -> bytes:
    parts = "".join(f"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
                    f'filename="a{i:03d}.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n' for i in range(200))
    head = _headers("=?utf-8?B?" + _b64(SUBJECT) + "?=").replace("Message-ID: <hostile-", "Message-ID: <h200-")
    return (head + 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
            "--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" + parts + "--B--\r\n").encode()


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def ten_thousand_encoded_words() -> bytes:
    words = "\r\n ".join("=?utf-8?Q?=E5=BC=A0?=" for _ in range(10_000))
    head = _headers(words).replace("Message-ID: <hostile-", "Message-ID: <h10k-")
    return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n").encode()


def deep_multipart(depth: int = 1000) -> bytes:
    head = _headers("=?utf-8?B?" + _b64(SUBJECT) + "?=").replace("Message-ID: <hostile-", "Message-ID: <hdeep-")
    opening = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth))
    closing = "".join(f"\r\n--b{i}--" for i in reversed(range(depth)))
    return (head + opening + "Content-Type: text/plain\r\n\r\ndeep" + closing + "\r\n").encode()


def nul_headers() -> bytes:
    head = _headers("=?utf-8?B?" + _b64(SUBJECT) + "?=\x00evil", extra="X-Nul: a\x00b\r\n\x00Bad: header\r\n")
    head = head.replace("Message-ID: <hostile-", "Message-ID: <hnul-").replace("From: zdxzgh", "From: zd\x00xzgh")
    body = _zip([("（1）申报表.txt", b"x")])
    return (head + 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
            '--B\r\nContent-Type: application/zip; name="a\x00b.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + _b64_bytes(body) + "\r\n--B--\r\n").encode("latin-1")


def _b64_bytes(data: bytes) -> str:
    import base64

    return base64.encodebytes(data).decode().replace("\n", "\r\n")


def _with_zip(head: str, extra_parts: str = "", zip_name: str = "") -> bytes:
    """A message with header block `head` and a small zip attached as the notice asks (named after SUBJECT)."""
    body = _zip([("（1）申报表.txt", b"x")])
    name = zip_name or f"=?utf-8?B?{_b64(SUBJECT + '.zip')}?="
    return (head + 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain; '
            'charset=utf-8\r\n\r\nhi\r\n' + extra_parts + f'--B\r\nContent-Type: application/zip; name="{name}"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n" + _b64_bytes(body) + "\r\n--B--\r\n").encode("latin-1")


def _subject_head(tag: str, subject: str = "", extra: str = "") -> str:
    """Headers with SUBJECT (or `subject`, already encoded) and a Message-ID of its own."""
    head = _headers(subject or "=?utf-8?B?" + _b64(SUBJECT) + "?=", extra=extra)
    return head.replace("Message-ID: <hostile-", f"Message-ID: <h{tag}-")


def message_id_bytes(value: bytes) -> Callable[[], bytes]:
    """A message whose Message-ID is exactly `value` (raw 8-bit, or UTF-8 as RFC 6532 clients send it)."""
    def build() -> bytes:
        raw = _with_zip(_subject_head("mid"))
        return raw.replace(b"Message-ID: <hmid-", value + b"\r\nX-Was: <hmid-", 1)
    return build


def far_date() -> bytes:
    """Date past datetime.max once in UTC, and no Received header to fall back on."""
    head = _subject_head("date").split("\r\n", 1)[1].replace("Mon, 26 May 2025 10:00:00 +0800",
                                                             "Fri, 31 Dec 9999 23:59:59 -1200")
    return _with_zip(head)


def huge_subject() -> bytes:
    """A 30,000-character subject (matching it was quadratic: 15 s of CPU)."""
    return _with_zip(_subject_head("subj", "=?utf-8?B?" + _b64("正定县总工会" + "张" * 30_000 + "创新工作室入库材料") + "?="))


def escape_subject() -> bytes:
    """Terminal escapes (colour, OSC 52 clipboard, OSC 8 link), a formula and C0 controls in the subject."""
    text = ("=HYPERLINK(\"http://evil.example/\",\"x\")\x1b[31m\x1b]52;c;ZXZpbA==\x07"
            "\x1b]8;;http://evil\x07\x01\x1b" + SUBJECT)
    return _with_zip(_subject_head("esc", "=?utf-8?B?" + _b64(text) + "?="))


def reply_to_victim() -> bytes:
    """A Reply-To on another domain: a rejection must not go there."""
    return _with_zip(_subject_head("rt", extra="Reply-To: victim+7@victim.example.org\r\n"))


def answers_our_reply() -> bytes:
    """An out-of-office without auto-reply headers, answering one of our replies."""
    head = _subject_head("ooo", "=?utf-8?B?" + _b64("Re: " + SUBJECT) + "?=",
                         extra="In-Reply-To: <intake.0123456789abcdef.1.0@126.com>\r\n")
    return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\nI am out of the office.\r\n").encode()


def huge_header_block() -> bytes:
    """300 KB of headers before the subject's end: read bounded in the process that records the delivery."""
    filler = "".join(f"X-Filler-{i}: {'a' * 990}\r\n" for i in range(300))
    return _with_zip(_subject_head("hdr", extra=filler))


def nine_thousand_volumes() -> bytes:
    """One attachment named as part 9999 of a RAR set: the reply must not list 9,998 missing parts."""
    head = _subject_head("vol")
    body = _rar_volume(1)
    return (head + 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
            '--B\r\nContent-Type: application/octet-stream; name="材料.part9999.rar"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n" + _b64_bytes(body) + "\r\n--B--\r\n").encode("utf-8")


# ---------------------------------------------------------------- the corpus

ZIP_NAME = SUBJECT + ".zip"
# name -> (builder, how it is delivered, MIME file name or None, finding codes a sensible verdict must carry)
Entry = tuple[Callable[[], bytes], str, str | None, list[str]]
CORPUS: dict[str, Entry] = {
    "zipslip-dotdot.zip": (lambda: _zip([("ok.txt", b"ok"), (f"../../../../../../../../tmp/{CANARY}-dotdot", b"x")]),
                           "attachment", ZIP_NAME, ["UNSAFE_ARCHIVE"]),
    "zipslip-absolute.zip": (lambda: _zip([(f"/tmp/{CANARY}-abs", b"x")]), "attachment", ZIP_NAME, ["UNSAFE_ARCHIVE"]),
    "zipslip-backslash.zip": (lambda: _raw_name_zip(f"..\\..\\..\\..\\{CANARY}-bs".encode(), b"x"),
                              "attachment", ZIP_NAME, ["UNSAFE_ARCHIVE"]),
    "zipslip-drive.zip": (lambda: _raw_name_zip(f"C:\\Windows\\{CANARY}-drive".encode(), b"x"),
                          "attachment", ZIP_NAME, ["UNSAFE_ARCHIVE"]),
    "zipslip-in-nested.zip": (lambda: _zip([("inner.zip", _zip([(f"../../{CANARY}-nested", b"x")]))]),
                              "attachment", ZIP_NAME, ["UNSAFE_ARCHIVE"]),
    "zipbomb-ratio.zip": (lambda: _zip([("zeros.bin", b"\0" * (64 * 1024 * 1024))]), "attachment", ZIP_NAME,
                          ["UNSAFE_ARCHIVE"]),
    "zipbomb-overlap.zip": (overlap_bomb, "attachment", ZIP_NAME, ["UNSAFE_ARCHIVE"]),
    "zipbomb-nested-ratio.zip": (lambda: _zip([("inner.zip", _zip([("zeros.bin", b"\0" * (32 * 1024 * 1024))]))]),
                                 "attachment", ZIP_NAME, ["UNSAFE_ARCHIVE"]),
    # Each level under the ratio limit, together ~19000:1: 201 MB from 11 KB (issue 14, item 16).
    "zipbomb-nested-each-level-under.zip": (lambda: nested_zip_bomb(201), "attachment", ZIP_NAME, ["UNSAFE_ARCHIVE"]),
    "zipbomb-7z-in-zip.zip": (lambda: fixed_deflate_zip("材料.7z", seven_zip_of_copies(200)), "attachment", ZIP_NAME,
                              ["UNSAFE_ARCHIVE"]),
    "zipbomb-rar-in-zip.zip": (lambda: fixed_deflate_zip("材料.rar", rar_of_copies(200)), "attachment", ZIP_NAME,
                               ["UNSAFE_ARCHIVE"]),
    # Member names over 255 bytes (item 17): extracted, not ARCHIVE_CORRUPT (tests/integration/test_archive_names.py).
    "7z-long-names.7z": (long_names_7z, "attachment", SUBJECT + ".7z", []),
    "rar5-long-names.rar": (lambda: _rar(LONG_NAMES), "attachment", SUBJECT + ".rar", []),
    "rar4-long-names.rar": (lambda: _rar(LONG_NAMES, fmt="rar29"), "attachment", SUBJECT + ".rar", []),
    "zip-with-7z-long-names.zip": (lambda: _zip([("材料.7z", long_names_7z())]), "attachment", ZIP_NAME, []),
    "zip-symlink.zip": (lambda: _zip([("link", b"/etc/passwd")], attrs={"link": 0o120777}), "attachment", ZIP_NAME,
                        ["UNSAFE_ARCHIVE"]),
    "zip-fifo.zip": (lambda: _zip([("pipe", b"")], attrs={"pipe": 0o010644}), "attachment", ZIP_NAME,
                     ["UNSAFE_ARCHIVE"]),
    "zip-many-members.zip": (lambda: _zip([(f"{i}", b"") for i in range(3000)], zipfile.ZIP_STORED), "attachment",
                             ZIP_NAME, ["UNSAFE_ARCHIVE"]),
    "zip-nested-10-deep.zip": (lambda: nested_zip(10), "attachment", ZIP_NAME, []),
    "zip-names-control.zip": (lambda: _zip([("a\x01b\x7f\nc\r.txt", b"x"), ("tab\there.docx", b"y")]), "attachment",
                              ZIP_NAME, []),
    "zip-names-rtl.zip": (lambda: _zip([("3-1 照片\u202egpj.exe", b"MZ\x90\x00")]), "attachment", ZIP_NAME, []),
    "zip-names-dots.zip": (lambda: _zip([("..", b"x"), ("...", b"y"), (". /a", b"z")]), "attachment", ZIP_NAME,
                           ["UNSAFE_ARCHIVE"]),
    "zip-encrypted-flag.zip": (lambda: _zip([("a.txt", b"x")]).replace(b"PK\x03\x04\x14\x00\x00\x00",
                                                                      b"PK\x03\x04\x14\x00\x01\x00", 1)
                               .replace(b"PK\x01\x02\x14\x03\x14\x00\x00\x00",
                                        b"PK\x01\x02\x14\x03\x14\x00\x01\x00", 1),
                               "attachment", ZIP_NAME, ["ARCHIVE_ENCRYPTED"]),
    "zip-truncated.zip": (lambda: _zip([("a.txt", b"hello " * 1000)])[:-40], "attachment", ZIP_NAME,
                          ["ARCHIVE_CORRUPT"]),
    "7z-encrypted-headers.7z": (lambda: _seven_zip({"a.txt": b"secret"}, "-mhe=on", "-pSECRET"), "attachment",
                                SUBJECT + ".7z", ["ARCHIVE_ENCRYPTED"]),
    "7z-symlink.7z": (lambda: _seven_zip({"a.txt": b"x"}, "-snl", links={"link": "/etc/passwd"}), "attachment",
                      SUBJECT + ".7z", ["UNSAFE_ARCHIVE"]),
    "7z-bomb.7z": (lambda: _seven_zip({"zeros.bin": b"\0" * (64 * 1024 * 1024)}), "attachment", SUBJECT + ".7z",
                   ["UNSAFE_ARCHIVE"]),
    "rar-truncated.rar": (lambda: _rar({"a.txt": b"hello " * 2000})[:120], "attachment", SUBJECT + ".rar",
                          ["ARCHIVE_CORRUPT"]),
    "rar-volume-part2.rar": (rar_second_volume, "attachment", SUBJECT + ".part2.rar", ["ARCHIVE_CORRUPT"]),
    "rar-volume-part1-only.rar": (rar_first_volume, "attachment", SUBJECT + ".part1.rar", ["ARCHIVE_CORRUPT"]),
    "rar-symlink.rar": (lambda: _rar({"a.txt": b"x"}, symlinks={"link": "/etc/passwd"}), "attachment",
                        SUBJECT + ".rar", ["UNSAFE_ARCHIVE"]),
    "rar-slip.rar": (lambda: _rar5_renamed(f"xx/xx/{CANARY}-rar", f"../../{CANARY}-rar"), "attachment",
                     SUBJECT + ".rar", ["UNSAFE_ARCHIVE"]),
    "tar-hardlink.tar": (_tar_hardlink, "attachment", SUBJECT + ".tar", ["NOT_ARCHIVE"]),
    "zipbomb-lying-size.zip": (lying_size_bomb, "attachment", ZIP_NAME, ["ARCHIVE_CORRUPT"]),
    "png-huge-dimensions.png": (huge_png, "attachment", "3-1 获奖证书.png", ["EVIDENCE_NOT_JPEG"]),
    "jpeg-huge-dimensions.jpg": (huge_jpeg, "attachment", "3-2 专利证书.jpg", []),
    "pdf-3000-pages.pdf": (many_pages_pdf, "attachment", "（1）申报表（盖章扫描件）.pdf", []),
    "docx-billion-laughs.docx": (billion_laughs_docx, "attachment", "（2）张三创新工作室事迹材料.docx",
                                 ["UNREADABLE_DOCUMENT"]),
    "docx-inflating-document.docx": (docx_inflating_document, "attachment", "（2）张三创新工作室事迹材料.docx",
                                     ["UNREADABLE_DOCUMENT"]),
    "xlsx-billion-laughs.xlsx": (billion_laughs_xlsx, "attachment", "汇总表.xlsx", ["UNREADABLE_DOCUMENT"]),
    "docx-really-exe.docx": (lambda: b"MZ\x90\x00\x03" + b"\0" * 59 + b"PE\0\0" + b"\0" * 200, "attachment",
                             "（2）张三创新工作室事迹材料.docx", ["UNREADABLE_DOCUMENT"]),
    "mime-name-dotdot.zip": (lambda: _zip([("a.txt", b"x")]), "attachment", f"../../../../tmp/{CANARY}-mime.zip", []),
    "mime-name-control.zip": (lambda: _zip([("a.txt", b"x")]), "attachment", "a\r\nBcc: x@evil.cn\x01\x7f.zip",
                              ["ARCHIVE_NAME_MISMATCH"]),
    "mime-name-rtl.zip": (lambda: _zip([("a.txt", b"x")]), "attachment", "申报材料\u202epiz.exe", []),
    "msg-200-attachments.eml": (two_hundred_attachments, "message", None, ["NOT_ARCHIVE"]),
    "msg-10000-encoded-words.eml": (ten_thousand_encoded_words, "message", None, ["UNRELATED"]),
    "msg-multipart-1000-deep.eml": (deep_multipart, "message", None, ["NO_ATTACHMENT"]),
    "msg-nul-in-headers.eml": (nul_headers, "message", None, ["NO_ATTACHMENT"]),
    "msg-message-id-8bit.eml": (message_id_bytes(b"Message-ID: <\xff\xfe@x>"), "message", None, []),
    "msg-message-id-utf8.eml": (message_id_bytes("Message-ID: <工会申报@例子.中国>".encode()), "message", None, []),
    "msg-date-year-9999.eml": (far_date, "message", None, []),
    "msg-subject-30000.eml": (huge_subject, "message", None, ["SUBJECT_FORMAT"]),
    "msg-subject-escapes.eml": (escape_subject, "message", None, []),
    "msg-reply-to-victim.eml": (reply_to_victim, "message", None, []),
    "msg-answers-our-reply.eml": (answers_our_reply, "message", None, ["NO_ATTACHMENT"]),
    "msg-header-block-300k.eml": (huge_header_block, "message", None, []),
    "msg-part9999-of-a-rar.eml": (nine_thousand_volumes, "message", None, ["ARCHIVE_CORRUPT"]),
}


def main() -> None:
    """Rebuild every file and the manifest."""
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    manifest = {}
    for name, (build, how, mime_name, codes) in CORPUS.items():
        (OUT / name).write_bytes(build())
        manifest[name] = {"as": how, "mime_name": mime_name, "codes": codes}
    (HERE / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
