"""Tests for pipeline.documents.archives: real archives built in tmp_path (zipfile, py7zr, rars, the 7zz CLI)."""
from __future__ import annotations

import io
import os
import shutil
import stat
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import py7zr
import pytest
import rars
import samplegen as g
from docx import Document

from helpers.archives import needs, run_unpack, write_7z, write_rar, write_zip
from pipeline.documents import archives
from pipeline.documents.archives import UnpackResult, sniff_archive, unpack

FORM = "（1）石家庄市劳模和工匠人才创新工作室入A级库申报表.docx"
PHOTO = "材料/3-1 荣誉证书.jpg"
CONTENT = {FORM: b"form " * 2000, PHOTO: b"\xff\xd8\xff\xe0 photo " * 500}


def contents(result: UnpackResult) -> dict[str, bytes]:
    """Map display name -> bytes written."""
    assert result.problem is None, result.detail
    return {f.name: f.path.read_bytes() for f in result.files}


def write_raw_name_zip(path: Path, members: list[tuple[bytes, bytes]], extras: list[bytes] | None = None) -> Path:
    """Zip whose names are the given raw bytes with flag bit 11 clear (zipfile itself can't write that).

    Written with same-length ASCII placeholders, then patched in local and central headers.
    """
    holders = [bytes([ord("G") + i]) * len(raw) for i, (raw, _) in enumerate(members)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (holder, (_, data)) in enumerate(zip(holders, members)):
            info = zipfile.ZipInfo(holder.decode())
            info.compress_type = zipfile.ZIP_DEFLATED
            info.extra = extras[i] if extras else b""
            zf.writestr(info, data)
    blob = path.read_bytes()
    for holder, (raw, _) in zip(holders, members):
        assert blob.count(holder) == 2
        blob = blob.replace(holder, raw)
    path.write_bytes(blob)
    return path


def unicode_path_extra(header_name: bytes, real_name: str, crc: int | None = None) -> bytes:
    """Info-ZIP Unicode Path extra field 0x7075."""
    body = struct.pack("<BI", 1, zlib.crc32(header_name) if crc is None else crc) + real_name.encode()
    return struct.pack("<HH", 0x7075, len(body)) + body


def write_with_7zz(archive: Path, files: dict[str, bytes], *switches: str, links: dict[str, str] | None = None) -> Path:
    """Archive a folder of files (and symlinks) with the 7zz CLI: methods and features Python can't write."""
    src = archive.with_name(archive.name + "-src")
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    for name, target in (links or {}).items():
        (src / name).symlink_to(target)
    subprocess.run(["7zz", "a", *switches, str(archive), "."], cwd=src, check=True, capture_output=True)
    return archive


def patch_rar4_names(path: Path, mapping: dict[bytes, bytes]) -> None:
    """Swap RAR4 file-header names for same-length raw bytes and fix the header CRC16s."""
    buf = bytearray(path.read_bytes())
    pos = 7  # after the marker block
    while pos + 7 <= len(buf):
        head_type, flags, size = buf[pos + 2], *struct.unpack_from("<HH", buf, pos + 3)
        add = struct.unpack_from("<I", buf, pos + 7)[0] if flags & 0x8000 else 0
        if head_type == 0x74:  # file header: name at offset 32, length at 26
            length = struct.unpack_from("<H", buf, pos + 26)[0]
            name = bytes(buf[pos + 32 : pos + 32 + length])
            buf[pos + 32 : pos + 32 + length] = mapping.get(name, name)
            struct.pack_into("<H", buf, pos, zlib.crc32(buf[pos + 2 : pos + size]) & 0xFFFF)
        pos += size + add
    path.write_bytes(bytes(buf))


def text_blob(seed: int, size: int) -> bytes:
    """Compressible but non-trivial data."""
    words = [f"w{seed}-{i}".encode() for i in range(97)]
    return b" ".join(words[(i * 31 + seed) % 97] for i in range(size // 6))[:size]


def expect_problem(tmp_path: Path, archive: Path, problem: str, fragment: str = "", **limits: float) -> UnpackResult:
    """Unpack and assert the problem code (and a fragment of the detail)."""
    result, _ = run_unpack(tmp_path, archive, **limits)
    assert result.problem == problem, result
    assert fragment in result.detail
    return result


# --- sniffing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"PK\x03\x04rest", "zip"),
        (b"PK\x05\x06\x00\x00", "zip"),
        (b"PK\x07\x08PK\x03\x04", "zip"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "7z"),
        (b"Rar!\x1a\x07\x00\xcf", "rar"),
        (b"Rar!\x1a\x07\x01\x00", "rar"),
        (b"Rar!\x1a\x07\x02\x00", None),
        (b"%PDF-1.7", None),
        (b"", None),
    ],
)
def test_sniff_archive(head: bytes, kind: str | None) -> None:
    assert sniff_archive(head) == kind


# --- zip names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_zip_names_without_flag(tmp_path: Path, encoding: str) -> None:
    # Chinese Windows writes GBK, macOS writes UTF-8 (NFD) -- both without flag bit 11.
    members = [(FORM.encode(encoding), CONTENT[FORM]), (PHOTO.encode(encoding), CONTENT[PHOTO])]
    if encoding == "utf-8":
        members += [("Re\u0301sume\u0301.txt".encode(), b"cv"), (b"__MACOSX/._x.txt", b"junk"), (b".DS_Store", b"j")]
    result, _ = run_unpack(tmp_path, write_raw_name_zip(tmp_path / "a.zip", members))
    expected = dict(CONTENT) if encoding == "gbk" else {**CONTENT, "Résumé.txt": b"cv"}
    assert contents(result) == expected
    assert result.kind == "zip" and result.nested == ()


def test_zip_gb18030_only_character_and_cp437_fallback(tmp_path: Path) -> None:
    gbk = write_raw_name_zip(tmp_path / "g.zip", [("张堃喆.txt".encode("gb18030"), b"1")])
    assert list(contents(run_unpack(tmp_path, gbk)[0])) == ["张堃喆.txt"]
    shutil.rmtree(tmp_path / "box")
    odd = write_raw_name_zip(tmp_path / "c.zip", [(b"\x80\xff.txt", b"1")])
    assert list(contents(run_unpack(tmp_path, odd)[0])) == ["Ç\xa0.txt"]


def test_zip_with_utf8_flag_and_backslashes(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "a.zip", {FORM: CONTENT[FORM], "材料\\3-1 荣誉证书.jpg": CONTENT[PHOTO]})
    assert contents(run_unpack(tmp_path, archive)[0]) == CONTENT


def test_zip_unicode_path_extra_field(tmp_path: Path) -> None:
    # The header names are garbage (a tool's lossy code page); 0x7075 carries the real name unless stale.
    raw_a, raw_b = b"??? ????.jpg", b"stale-name.txt"
    extras = [unicode_path_extra(raw_a, "3-1 荣誉证书.jpg"), unicode_path_extra(raw_b, "错误.txt", crc=1234)]
    archive = write_raw_name_zip(tmp_path / "u.zip", [(raw_a, b"jpg"), (raw_b, b"txt")], extras)
    assert contents(run_unpack(tmp_path, archive)[0]) == {"3-1 荣誉证书.jpg": b"jpg", "stale-name.txt": b"txt"}


def test_zip_directories_and_junk_are_skipped(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "a.zip", {"材料/": b"", "材料/Thumbs.db": b"x", "desktop.ini": b"x", "a.txt": b"a"})
    result, dest = run_unpack(tmp_path, archive)
    assert contents(result) == {"a.txt": b"a"}
    assert [p.name for p in dest.iterdir()] == [result.files[0].path.name]


# --- hostile and broken zips -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../evil.txt", "escapes the folder"),
        ("材料/../../evil.txt", "escapes the folder"),
        ("..\\evil.txt", "escapes the folder"),
        ("/tmp/studio-intake-evil.txt", "absolute path"),
        ("C:\\Windows\\evil.txt", "absolute path"),
    ],
)
def test_zip_path_escape_is_unsafe(tmp_path: Path, name: str, fragment: str) -> None:
    archive = write_zip(tmp_path / "a.zip", {"ok.txt": b"fine", name: b"evil"})
    expect_problem(tmp_path, archive, "unsafe", fragment)
    assert not Path("/tmp/studio-intake-evil.txt").exists() and not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("mode", [stat.S_IFLNK | 0o777, stat.S_IFCHR | 0o644, stat.S_IFIFO | 0o644])
def test_zip_link_or_device_is_unsafe(tmp_path: Path, mode: int) -> None:
    info = zipfile.ZipInfo("link")
    info.create_system, info.external_attr = 3, mode << 16
    with zipfile.ZipFile(tmp_path / "l.zip", "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr(info, "/etc/passwd")
    expect_problem(tmp_path, tmp_path / "l.zip", "unsafe", "link or special file")


def test_too_many_files(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "a.zip", {f"{i}.txt": b"x" for i in range(7)})
    expect_problem(tmp_path, archive, "unsafe", "too many files (7 > 5)", max_files=5)


def test_too_much_data(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "a.zip", {"a.bin": os.urandom(3000), "b.bin": os.urandom(3000)})
    expect_problem(tmp_path, archive, "unsafe", "too much data", max_total_bytes=5000)


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("zeros.bin", "w") as member:
            for _ in range(50):
                member.write(bytes(1024 * 1024))
    expect_problem(tmp_path, tmp_path / "bomb.zip", "unsafe", "compression ratio")


def test_big_incompressible_file_is_fine(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "a.zip", {"photo.jpg": os.urandom(3 * 1024 * 1024)})
    assert run_unpack(tmp_path, archive)[0].problem is None


def _patch_sizes(blob: bytes, size: int) -> bytes:
    """Rewrite the uncompressed size in the local header (offset 22) and central directory (offset 24)."""
    buf = bytearray(blob)
    struct.pack_into("<I", buf, 22, size)
    struct.pack_into("<I", buf, blob.index(b"PK\x01\x02") + 24, size)
    return bytes(buf)


@pytest.mark.parametrize(("declared", "problem"), [(1000, "corrupt"), (0xFFFF_FFF0, "unsafe")])
def test_zip_lying_size_header(tmp_path: Path, declared: int, problem: str) -> None:
    blob = write_zip(tmp_path / "a.zip", {"a.txt": text_blob(1, 400_000)}).read_bytes()
    (tmp_path / "lie.zip").write_bytes(_patch_sizes(blob, declared))
    expect_problem(tmp_path, tmp_path / "lie.zip", problem)


def test_zip_crc_error(tmp_path: Path) -> None:
    blob = bytearray(write_zip(tmp_path / "a.zip", {"3-1.jpg": b"A" * 5000}, zipfile.ZIP_STORED).read_bytes())
    blob[100] ^= 0xFF
    (tmp_path / "bad.zip").write_bytes(bytes(blob))
    expect_problem(tmp_path, tmp_path / "bad.zip", "corrupt", "CRC error in 3-1.jpg")


@pytest.mark.parametrize("cut", [0.5, 0.95])
def test_truncated_zip(tmp_path: Path, cut: float) -> None:
    blob = write_zip(tmp_path / "a.zip", CONTENT).read_bytes()
    (tmp_path / "t.zip").write_bytes(blob[: int(len(blob) * cut)])
    assert expect_problem(tmp_path, tmp_path / "t.zip", "corrupt").kind == "zip"


def test_empty_zip_versus_lost_central_directory(tmp_path: Path) -> None:
    result, _ = run_unpack(tmp_path, write_zip(tmp_path / "empty.zip", {}))
    assert (result.problem, result.files) == (None, ())
    shutil.rmtree(tmp_path / "box")
    buf = bytearray(write_zip(tmp_path / "a.zip", CONTENT).read_bytes())
    end = buf.rindex(b"PK\x05\x06")
    buf[end + 12 : end + 20] = bytes(8)  # central directory size and offset zeroed: zipfile lists nothing
    (tmp_path / "lost.zip").write_bytes(bytes(buf))
    expect_problem(tmp_path, tmp_path / "lost.zip", "corrupt", "lists no files")


def test_garbage_and_unreadable_input(tmp_path: Path) -> None:
    (tmp_path / "random.zip").write_bytes(os.urandom(4096))
    assert expect_problem(tmp_path, tmp_path / "random.zip", "corrupt", "magic").kind == "zip"
    (tmp_path / "fake.zip").write_bytes(b"PK\x03\x04" + os.urandom(200))
    expect_problem(tmp_path, tmp_path / "fake.zip", "corrupt")
    assert unpack(tmp_path / "missing.rar", tmp_path / "o2").problem == "corrupt"
    assert unpack(tmp_path, tmp_path / "o3").problem == "corrupt"  # a folder, not a file


def test_dest_must_be_a_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        unpack(write_zip(tmp_path / "a.zip", {"a": b"a"}), tmp_path / "file")


def test_problem_keeps_what_was_already_in_dest(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "earlier.txt").write_text("keep me")
    archive = write_zip(tmp_path / "a.zip", {"a.txt": b"a", "../b.txt": b"b"})
    assert unpack(archive, dest).problem == "unsafe"
    assert [p.name for p in dest.iterdir()] == ["earlier.txt"]


def test_encrypted_zip_flag(tmp_path: Path) -> None:
    # zipfile can't write encrypted members; set flag bit 0 in the local (offset 6) and central (8) headers.
    buf = bytearray(write_zip(tmp_path / "a.zip", {"secret.txt": b"flagged"}).read_bytes())
    buf[6] |= 1
    buf[buf.index(b"PK\x01\x02") + 8] |= 1
    (tmp_path / "e.zip").write_bytes(bytes(buf))
    expect_problem(tmp_path, tmp_path / "e.zip", "encrypted")


@needs("7zz")
@pytest.mark.parametrize("extra", [[], ["-mem=AES256"]])
def test_encrypted_zip_from_7zz(tmp_path: Path, extra: list[str]) -> None:
    archive = write_with_7zz(tmp_path / "e.zip", {"申报表.txt": "秘密".encode()}, "-tzip", "-pSECRET", *extra)
    expect_problem(tmp_path, archive, "encrypted")


@needs("7zz")
def test_deflate64_zip_falls_back_to_7zz(tmp_path: Path) -> None:
    archive = write_with_7zz(tmp_path / "d64.zip", {**CONTENT, "__MACOSX/._x": b"junk"}, "-tzip", "-mm=Deflate64")
    with zipfile.ZipFile(archive) as zf:
        assert 9 in {i.compress_type for i in zf.infolist()}  # Deflate64: zipfile cannot read it
    result, dest = run_unpack(tmp_path, archive)
    assert contents(result) == CONTENT
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]  # the tool's work folder is gone


# --- nesting ---------------------------------------------------------------------------------------------


def _docx_bytes() -> bytes:
    doc = Document()
    doc.add_paragraph("申报表")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_nested_zip_unpacked_one_level(tmp_path: Path) -> None:
    deeper = write_zip(tmp_path / "deeper.zip", {"x.txt": b"x"}).read_bytes()
    inner = write_zip(tmp_path / "inner.zip", {"3-1.jpg": b"jpg", "deeper.zip": deeper}).read_bytes()
    ooxml = write_zip(tmp_path / "ooxml.zip", {"[Content_Types].xml": b"<Types/>"}).read_bytes()
    outer = {"材料.zip": inner, "申报表.docx": _docx_bytes(), "report.dat": ooxml, "a.txt": b"a"}
    result, dest = run_unpack(tmp_path, write_zip(tmp_path / "outer.zip", outer))
    got = contents(result)
    assert got == {"材料.zip/3-1.jpg": b"jpg", "材料.zip/deeper.zip": deeper, "申报表.docx": outer["申报表.docx"],
                   "report.dat": ooxml, "a.txt": b"a"}
    assert result.nested == ("材料.zip",)
    assert len(list(dest.rglob("*.zip"))) == 1  # the nested archive was replaced by its members


def test_nested_archive_left_alone_at_depth_zero(tmp_path: Path) -> None:
    inner = write_zip(tmp_path / "inner.zip", {"x.txt": b"x"}).read_bytes()
    result, _ = run_unpack(tmp_path, write_zip(tmp_path / "o.zip", {"inner.zip": inner}), max_depth=0)
    assert contents(result) == {"inner.zip": inner} and result.nested == ()


@pytest.mark.parametrize(("inner", "problem"), [({"../x": b"x"}, "unsafe"), ({"ok": b"x"}, "encrypted")])
def test_nested_problem_is_the_whole_problem(tmp_path: Path, inner: dict[str, bytes], problem: str) -> None:
    if problem == "encrypted":
        inner_bytes = write_7z(tmp_path / "i.7z", inner, password="pw").read_bytes()
    else:
        inner_bytes = write_zip(tmp_path / "i.zip", inner).read_bytes()
    outer = write_zip(tmp_path / "o.zip", {"a.txt": b"a", "附件.bin": inner_bytes})
    expect_problem(tmp_path, outer, problem, "nested archive '附件.bin'")


def test_nested_files_count_towards_limits(tmp_path: Path) -> None:
    inner = write_zip(tmp_path / "i.zip", {f"{i}.txt": b"x" for i in range(4)}).read_bytes()
    outer = write_zip(tmp_path / "o.zip", {"a.txt": b"a", "i.zip": inner})
    expect_problem(tmp_path, outer, "unsafe", "too many files", max_files=5)


# --- 7z --------------------------------------------------------------------------------------------------


@pytest.fixture(params=["7zz", "py7zr"])
def seven_zip_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The 7z tests run with each extractor: 7zz (first when installed) and py7zr (the one without it)."""
    if request.param == "7zz" and shutil.which("7zz") is None:
        pytest.skip("7zz is not installed (CI installs it)")
    monkeypatch.setattr(archives, "prefer_7zz", lambda: request.param == "7zz")
    return str(request.param)


def test_7z_with_chinese_names(tmp_path: Path, seven_zip_reader: str) -> None:
    archive = write_7z(tmp_path / "a.7z", {**CONTENT, "空.txt": b"", "__MACOSX/._a": b"j", "plain.txt": b"p"})
    result, _ = run_unpack(tmp_path, archive)
    assert contents(result) == {**CONTENT, "空.txt": b"", "plain.txt": b"p"} and result.kind == "7z"


@pytest.mark.parametrize("header_encryption", [False, True])
def test_encrypted_7z(tmp_path: Path, header_encryption: bool, seven_zip_reader: str) -> None:
    archive = write_7z(tmp_path / "e.7z", CONTENT, password="pw", header_encryption=header_encryption)
    expect_problem(tmp_path, archive, "encrypted")


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_7z(tmp_path: Path, cut: float, seven_zip_reader: str) -> None:
    blob = write_7z(tmp_path / "a.7z", {"a.txt": text_blob(2, 200_000)}).read_bytes()
    (tmp_path / "t.7z").write_bytes(blob[: int(len(blob) * cut)])
    expect_problem(tmp_path, tmp_path / "t.7z", "corrupt")


@needs("7zz")
@pytest.mark.parametrize("kind", ["7z", "zip"])
def test_symlink_stored_by_7zz_is_unsafe(tmp_path: Path, kind: str) -> None:
    links = {"link": "/etc/passwd"}
    archive = write_with_7zz(tmp_path / f"l.{kind}", {"ok.txt": b"ok"}, f"-t{kind}", "-snl", links=links)
    expect_problem(tmp_path, archive, "unsafe", "'link' is a link")


def test_7z_bomb_by_ratio(tmp_path: Path, seven_zip_reader: str) -> None:
    archive = write_7z(tmp_path / "b.7z", {"zeros.bin": bytes(5 * 1024 * 1024)})
    expect_problem(tmp_path, archive, "unsafe", "compression ratio")


@needs("7zz")
def test_7z_bcj2_falls_back_to_7zz(tmp_path: Path) -> None:
    archive = write_with_7zz(tmp_path / "b.7z", CONTENT, "-t7z", "-mf=BCJ2")
    with pytest.raises(py7zr.UnsupportedCompressionMethodError):
        with py7zr.SevenZipFile(archive) as z:
            z.extractall(tmp_path / "py7zr-cannot")
    result, _ = run_unpack(tmp_path, archive)
    assert contents(result) == CONTENT


# --- rar -------------------------------------------------------------------------------------------------

RAR_CONTENT = {PHOTO: text_blob(3, 300_000), FORM: text_blob(3, 300_000) + b"!", "附件/说明.txt": text_blob(4, 90_000)}


@needs("unar", "bsdtar")
@pytest.mark.parametrize("fmt", ["rar29", "rar50"])
@pytest.mark.parametrize("solid", [False, True])
def test_rar_versions(tmp_path: Path, fmt: str, solid: bool) -> None:
    # RAR4 solid is unar-only and rars' RAR5 output is bsdtar-only: both readers get exercised.
    archive = write_rar(tmp_path / "a.rar", RAR_CONTENT, fmt, solid=solid)
    assert archive.stat().st_size < 200_000  # really compressed
    result, _ = run_unpack(tmp_path, archive)
    assert contents(result) == RAR_CONTENT and result.kind == "rar"


@needs("unar")
@pytest.mark.parametrize("solid", [False, True])
def test_rar4_gbk_names_without_unicode_flag(tmp_path: Path, solid: bool) -> None:
    # WinRAR on Chinese Windows: GBK bytes, '\' separators, no Unicode flag.
    names = {FORM: FORM.encode("gbk"), PHOTO: PHOTO.replace("/", "\\").encode("gbk")}
    holders = {name: f"{i}".encode() * len(raw) for i, (name, raw) in enumerate(names.items())}
    archive = write_rar(tmp_path / "g.rar", {holders[n].decode(): CONTENT[n] for n in names}, "rar29", solid=solid)
    patch_rar4_names(archive, {holders[n]: raw for n, raw in names.items()})
    assert contents(run_unpack(tmp_path, archive)[0]) == CONTENT


@needs("unar", "bsdtar")
@pytest.mark.parametrize("fmt", ["rar29", "rar50"])
@pytest.mark.parametrize("cut", [30, 0.5])
def test_truncated_rar(tmp_path: Path, fmt: str, cut: float) -> None:
    blob = write_rar(tmp_path / "a.rar", RAR_CONTENT, fmt).read_bytes()
    (tmp_path / "t.rar").write_bytes(blob[: int(cut if cut > 1 else len(blob) * cut)])
    expect_problem(tmp_path, tmp_path / "t.rar", "corrupt")


@pytest.mark.parametrize(("fmt", "headers"), [("rar29", False), ("rar50", False), ("rar50", True)])
def test_encrypted_rar(tmp_path: Path, fmt: str, headers: bool) -> None:
    archive = write_rar(tmp_path / "e.rar", CONTENT, fmt, password="pw", encrypt_headers=headers)
    expect_problem(tmp_path, archive, "encrypted")


@pytest.mark.parametrize("fmt", ["rar29", "rar50"])
@pytest.mark.parametrize("part", [0, 1], ids=["first-part-alone", "second-part-alone"])
def test_one_part_of_a_multi_volume_rar_is_named_as_such(tmp_path: Path, fmt: str, part: int) -> None:
    # rars writes a volume number into the first part too, so rarfile answers "need first volume" for both.
    builder = rars.RarBuilder(format=fmt, volume_size=40_000)
    builder.add_bytes(os.urandom(60_000), "big.bin")
    (tmp_path / "v").mkdir()
    parts = sorted(builder.write_volumes(str(tmp_path / "v" / "a.part1.rar")))
    alone = tmp_path / "alone.rar"
    alone.write_bytes(Path(parts[part]).read_bytes())
    expect_problem(tmp_path, alone, "corrupt", "one part of a multi-volume RAR")

def test_a_first_part_alone_as_winrar_writes_it_is_named_as_such(tmp_path: Path) -> None:
    # rarfile reads it, then cannot open the next volume.
    first = g.rar5_volumes([("big.bin", os.urandom(60_000))], volume_size=40_000)[0]
    alone = tmp_path / "alone.rar"
    alone.write_bytes(first)
    expect_problem(tmp_path, alone, "corrupt", "one part of a multi-volume RAR")


@pytest.mark.parametrize("fmt", ["rar29", "rar50"])
def test_rar_symlink_is_unsafe(tmp_path: Path, fmt: str) -> None:
    builder = rars.RarBuilder(format=fmt)
    builder.add_bytes(b"ok", "ok.txt")
    builder.add_unix_symlink("evil", "/etc/passwd")
    builder.write(str(tmp_path / "l.rar"))
    expect_problem(tmp_path, tmp_path / "l.rar", "unsafe", "link")


def test_rar_path_escape_is_unsafe(tmp_path: Path) -> None:
    archive = write_rar(tmp_path / "a.rar", {"ok.txt": b"ok", "xx/evil.txt": b"evil"}, "rar29")
    patch_rar4_names(archive, {b"xx/evil.txt": b"../evil.txt"})
    expect_problem(tmp_path, archive, "unsafe", "escapes the folder")


def test_rar_without_readers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = write_rar(tmp_path / "a.rar", CONTENT)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    expect_problem(tmp_path, archive, "corrupt", "no RAR reader installed (unar/bsdtar)")


@needs("unar", "bsdtar")
def test_rar_tool_timeout(tmp_path: Path) -> None:
    archive = write_rar(tmp_path / "a.rar", RAR_CONTENT, "rar29")
    expect_problem(tmp_path, archive, "corrupt", "timed out", timeout_seconds=0.0)


@needs("unar", "bsdtar")
def test_rar_inside_zip(tmp_path: Path) -> None:
    inner = write_rar(tmp_path / "i.rar", CONTENT, "rar50").read_bytes()
    result, _ = run_unpack(tmp_path, write_zip(tmp_path / "o.zip", {"材料.rar": inner}))
    assert contents(result) == {f"材料.rar/{k}": v for k, v in CONTENT.items()}
    assert result.nested == ("材料.rar",)
