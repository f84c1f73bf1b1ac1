"""pdf_info and image_info on files made with Pillow and by hand."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from parsers.errors import DocumentUnreadable
from parsers.images import ImageInfo, image_info, is_jpeg_bytes
from parsers.pdf import PdfInfo, first_pages, pdf_info


def _scan(color: tuple[int, int, int] = (255, 255, 255), size: tuple[int, int] = (400, 560)) -> Image.Image:
    """A white page with a red seal in the middle, like a stamped scan."""
    im = Image.new("RGB", size, color)
    w, h = size
    ImageDraw.Draw(im).ellipse((w // 4, h // 4, 3 * w // 4, h // 4 + w // 2), fill=(215, 35, 45))
    return im


def _pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """Assemble numbered objects into a PDF with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_extra, xref)
    return bytes(out)


def _text_pdf_objects() -> list[bytes]:
    stream = b"BT /F1 12 Tf 72 720 Td (Hello   World) Tj 0 -20 Td (2024) Tj ET"
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


def _rc4(key: bytes, data: bytes) -> bytes:
    s, j = list(range(256)), 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def _encrypted_pdf() -> bytes:
    """Standard security handler R2 with user password "user" (PDF 1.4 spec, algorithms 3.2–3.4)."""
    pad = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
    padded = lambda pw: (pw + pad)[:32]  # noqa: E731
    file_id, permissions = b"0123456789abcdef", -4
    owner = _rc4(hashlib.md5(padded(b"owner")).digest()[:5], padded(b"user"))
    key = hashlib.md5(padded(b"user") + owner + struct.pack("<i", permissions) + file_id).digest()[:5]
    user = _rc4(key, pad)
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>" % (
        owner.hex().encode(), user.hex().encode(), permissions)
    trailer = b"/Encrypt 6 0 R /ID [<%s> <%s>] " % (file_id.hex().encode(), file_id.hex().encode())
    return _pdf(_text_pdf_objects() + [encrypt], trailer)


def test_multi_page_scan(tmp_path: Path) -> None:
    path = tmp_path / "盖章扫描件.pdf"
    _scan().save(path, "PDF", save_all=True, append_images=[_scan(), _scan()])
    assert pdf_info(path) == PdfInfo(pages=3, text="", image_count=3)


def test_text_pdf_whitespace_removed(tmp_path: Path) -> None:
    path = tmp_path / "text.pdf"
    path.write_bytes(_pdf(_text_pdf_objects()))
    assert pdf_info(path) == PdfInfo(pages=1, text="HelloWorld2024", image_count=0)


def test_text_limited_to_first_pages_but_images_counted_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    _scan().save(path, "PDF", save_all=True, append_images=[_scan()] * 4)
    info = pdf_info(path, max_pages_text=1)
    assert (info.pages, info.image_count) == (5, 5)


def test_encrypted_pdf(tmp_path: Path) -> None:
    path = tmp_path / "加密.pdf"
    path.write_bytes(_encrypted_pdf())
    with pytest.raises(DocumentUnreadable, match="encrypted"):
        pdf_info(path)


@pytest.mark.parametrize("data", [
    b"%PDF-1.4\nthis is not a pdf at all\n%%EOF\n",
    b"",
    b"\x89PNG\r\n\x1a\n",
])
def test_corrupt_pdf(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(data)
    with pytest.raises(DocumentUnreadable):
        pdf_info(path)


def test_truncated_pdf(tmp_path: Path) -> None:
    path = tmp_path / "cut.pdf"
    _scan().save(path, "PDF")
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DocumentUnreadable):
        pdf_info(path)


def _pages_or_problem(read: Callable[[], int]) -> int | str:
    try:
        return read()
    except DocumentUnreadable as exc:
        return str(exc)


def _first_pages_count(path: Path) -> int:
    with first_pages(path, 2) as (count, pages):
        assert len(pages) == min(count, 2) and all(len(images) == 1 for _page, images in pages)
        return count


@pytest.mark.parametrize("data", [
    b"%PDF-1.4\nthis is not a pdf at all\n%%EOF\n", b"", b"\x89PNG\r\n\x1a\n", _encrypted_pdf(), None, "cut"])
def test_first_pages_counts_and_refuses_as_pdf_info_does(tmp_path: Path, data: bytes | str | None) -> None:
    """The seal check opens a scan once through first_pages: the same page count, the same problem text."""
    path = tmp_path / "scan.pdf"
    _scan().save(path, "PDF", save_all=True, append_images=[_scan()] * 2)
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif data == "cut":
        path.write_bytes(path.read_bytes()[:2000])
    expected = _pages_or_problem(lambda: pdf_info(path, max_pages_text=0, max_pages=2).pages)
    assert _pages_or_problem(lambda: _first_pages_count(path)) == expected
    assert data is not None or expected == 3


def _jpeg(im: Image.Image, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def test_jpeg_photo_with_seal(tmp_path: Path) -> None:
    path = tmp_path / "3-1.jpg"
    path.write_bytes(_jpeg(_scan(size=(1600, 2240)), quality=90))
    info = image_info(path)
    assert (info.format, info.width, info.height) == ("JPEG", 1600, 2240)
    # The seal covers π/4 · (1/2)² · (1600/2240) ≈ 14 % of the page.
    assert 0.10 < info.red_ratio < 0.18


@pytest.mark.parametrize("color, red", [
    ((255, 255, 255), False), ((30, 30, 30), False), ((220, 170, 140), False),   # paper, ink, skin
    ((60, 120, 200), False), ((215, 35, 45), True), ((240, 150, 150), True),     # blue, seal, faded seal
])
def test_red_ratio_colours(tmp_path: Path, color: tuple[int, int, int], red: bool) -> None:
    path = tmp_path / "c.png"
    Image.new("RGB", (50, 50), color).save(path)
    assert image_info(path).red_ratio == (1.0 if red else 0.0)


def test_png_named_jpg_and_transparency(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    Image.new("RGBA", (100, 60), (255, 0, 0, 0)).save(path, "PNG")  # fully transparent red
    assert image_info(path) == ImageInfo(format="PNG", width=100, height=60, red_ratio=0.0)


def test_sixteen_bit_png(tmp_path: Path) -> None:
    path = tmp_path / "gray16.png"
    Image.new("I;16", (20, 10), 30000).save(path)
    info = image_info(path)
    assert (info.format, info.width, info.height, info.red_ratio) == ("PNG", 20, 10, 0.0)


def test_truncated_jpeg(tmp_path: Path) -> None:
    data = _jpeg(_scan(size=(800, 600)))
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DocumentUnreadable):
        image_info(path)


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(b"not an image at all")
    with pytest.raises(DocumentUnreadable):
        image_info(path)


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def test_png_bomb_header_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(50000, 50000))  # 2.5 gigapixels declared, no pixel data
    with pytest.raises(DocumentUnreadable, match="pixels|bomb"):
        image_info(path)


def _jpeg_with_size(width: int, height: int) -> bytes:
    data = bytearray(_jpeg(Image.new("RGB", (16, 16), "white")))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)  # SOF0: length(2) precision(1) height width
    return bytes(data)


def test_jpeg_over_max_pixels_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(_jpeg_with_size(9000, 9000))  # 81 MP: over our 80 MP, under Pillow's own limit
    with pytest.raises(DocumentUnreadable, match="exceeds"):
        image_info(path)


def test_pillow_bomb_warning_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "warn.jpg"
    path.write_bytes(_jpeg_with_size(10000, 10000))  # 100 MP: Pillow only warns (limit ~89.5 MP)
    with pytest.raises(DocumentUnreadable, match="bomb"):
        image_info(path, max_pixels=500_000_000)


def test_small_max_pixels(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    Image.new("RGB", (100, 100)).save(path)
    assert image_info(path, max_pixels=10_000).width == 100
    with pytest.raises(DocumentUnreadable):
        image_info(path, max_pixels=9_999)


def test_is_jpeg_bytes() -> None:
    assert is_jpeg_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    assert not is_jpeg_bytes(b"\x89PNG\r\n")
    assert not is_jpeg_bytes(b"\xff\xd8")


def test_a_pdf_with_thousands_of_pages_is_counted_but_only_its_first_pages_are_parsed(tmp_path: Path) -> None:
    import time

    pages = 5000
    stream = b"BT /F1 12 Tf 72 720 Td (page) Tj ET"
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R"
                b" /Resources << /Font << /F1 4 0 R >> >> >>"] * pages
    path = tmp_path / "long.pdf"
    path.write_bytes(_pdf(objects))
    started = time.process_time()
    info = pdf_info(path)
    assert info.pages == pages and info.text == "page" * 20
    assert time.process_time() - started < 15
