"""scan_info on stamped scans made like samplegen's, the same pages without seal, red text, grey scans, PDFs."""

from __future__ import annotations

import io
import math
import random
import time
import zlib
from pathlib import Path

import pytest
import samplegen as g
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from parsers import images, scan
from parsers.errors import DocumentUnreadable
from parsers.scan import SEAL_MIN_RATIO, ScanInfo, scan_info

TITLE = "张三创新工作室"


def _page(*, seal: bool = True, red_title: int = 0, seal_radius: int = 58, seed: int = 1) -> Image.Image:
    """samplegen's scanned form page (ruled table, text bars), with or without its seal, optionally a red title.

    `red_title`: glyph size in pixels of a red title line (24: a title in red; 56: a 红头 letterhead's ~2 cm
    characters on A4), glyphs 口-with-a-cross shaped, 20% of their size apart.
    """
    w = g.SCAN_SIZE[0]
    img = Image.new("RGB", g.SCAN_SIZE, (252, 252, 250))
    draw = ImageDraw.Draw(img)
    rng = g._rng("scan", TITLE, seed, 0)
    if red_title:
        size, stroke = red_title, max(3, red_title // 8)
        count = min(12, (w - 100) // (size * 6 // 5))
        for i in range(count):
            x = (w - count * size * 6 // 5) // 2 + i * size * 6 // 5
            draw.rectangle([x, 40, x + size, 40 + size], outline=g.RED, width=stroke)
            draw.line([x, 40 + size // 2, x + size, 40 + size // 2], fill=g.RED, width=stroke)
            draw.line([x + size // 2, 40, x + size // 2, 40 + size], fill=g.RED, width=stroke)
    else:
        draw.rectangle([w // 2 - 200, 48, w // 2 + 200, 64], fill=(40, 40, 40))
    bottom = g.ruled_rows(draw, rng, 128, 14)
    if seal:
        g._seal(draw, (w - 170, bottom - 70), seal_radius)
    return img.filter(ImageFilter.GaussianBlur(0.5))


def _jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=45)
    return buf.getvalue()


def _pdf_of(*pages: Image.Image) -> bytes:
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", resolution=72, save_all=True, append_images=list(pages[1:]), quality=45)
    return buf.getvalue()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _hand_pdf(content: bytes, resources: bytes = b"<< >>", extra: list[bytes] | None = None,
              media: bytes = b"[0 0 595 842]") -> bytes:
    """One page drawn by `content`; `extra` objects are numbered from 5."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               (b"<< /Type /Page /Parent 2 0 R /MediaBox " + media + b" /Contents 4 0 R /Resources " + resources
                + b" >>"),
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream", *(extra or [])]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += (b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
            + b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _vector_seal_pdf(seal: bool = True) -> bytes:
    """A Word-exported-like page: black text lines and a red seal drawn as a ring and a star (no image)."""
    ops = [b"0 g"] + [b"72 %d %d 8 re f" % (760 - 22 * i, 300 + (i * 37) % 150) for i in range(25)]
    if seal:
        cx, cy, r, k = 420, 200, 58, 0.5523
        ops += [b"0.84 0.13 0.15 RG 0.84 0.13 0.15 rg 4 w",
                b"%d %d m" % (cx + r, cy),
                b"%.1f %.1f %.1f %.1f %d %d c" % (cx + r, cy + k * r, cx + k * r, cy + r, cx, cy + r),
                b"%.1f %.1f %.1f %.1f %d %d c" % (cx - k * r, cy + r, cx - r, cy + k * r, cx - r, cy),
                b"%.1f %.1f %.1f %.1f %d %d c" % (cx - r, cy - k * r, cx - k * r, cy - r, cx, cy - r),
                b"%.1f %.1f %.1f %.1f %d %d c S" % (cx + k * r, cy - r, cx + r, cy - k * r, cx + r, cy)]
        star = [(cx + (19 if i % 2 == 0 else 7) * math.cos(math.pi / 2 + i * math.pi / 5),
                 cy + (19 if i % 2 == 0 else 7) * math.sin(math.pi / 2 + i * math.pi / 5)) for i in range(10)]
        ops += [b"%.1f %.1f %s" % (x, y, b"m" if i == 0 else b"l") for i, (x, y) in enumerate(star)] + [b"h f"]
    return _hand_pdf(b"\n".join(ops))


# --- measurements the threshold was chosen from -------------------------------------------------------------

def test_samplegen_stamped_scans_show_their_seal(tmp_path: Path) -> None:
    pdf = scan_info(_write(tmp_path, "s.pdf", g.stamped_scan_pdf(TITLE, 1)), "pdf")
    jpg = scan_info(_write(tmp_path, "s.jpg", g.stamped_scan_jpeg(TITLE, 1)), "jpeg")
    three = scan_info(_write(tmp_path, "s3.pdf", g.stamped_scan_pdf(TITLE, 1, pages=3)), "pdf")
    assert pdf.pages == 1 and three.pages == 3 and jpg.pages == 1
    for info in (pdf, jpg, three):
        assert info.seal_visible and 0.005 < info.red_ratio < 0.009  # measured: 0.0068 / 0.0068 / 0.0068


def test_the_same_page_without_seal_has_none(tmp_path: Path) -> None:
    page = _page(seal=False)
    for name, data, fmt in (("p.jpg", _jpeg(page), "jpeg"), ("p.pdf", _pdf_of(page, page), "pdf")):
        info = scan_info(_write(tmp_path, name, data), fmt)
        assert info == ScanInfo(pages=1 if fmt == "jpeg" else 2, seal_visible=False, red_ratio=0.0)


def test_helper_page_with_seal_measures_like_samplegen(tmp_path: Path) -> None:
    info = scan_info(_write(tmp_path, "p.jpg", _jpeg(_page())), "jpeg")
    assert info.seal_visible and 0.005 < info.red_ratio < 0.009


@pytest.mark.parametrize("glyph", [24, 56])
def test_red_title_alone_is_not_a_seal_though_its_area_is_larger_than_a_small_seal(tmp_path: Path,
                                                                                   glyph: int) -> None:
    title = scan_info(_write(tmp_path, "t.jpg", _jpeg(_page(seal=False, red_title=glyph))), "jpeg")
    small_seal = scan_info(_write(tmp_path, "s.jpg", _jpeg(_page(seal_radius=36))), "jpeg")
    assert not title.seal_visible and title.red_ratio > SEAL_MIN_RATIO   # measured ≈ 0.0094 / 0.0270
    assert small_seal.seal_visible and small_seal.red_ratio < title.red_ratio  # seal 12% of the width: ≈ 0.0042
    both = scan_info(_write(tmp_path, "b.pdf", _pdf_of(_page(red_title=glyph))), "pdf")
    assert both.seal_visible


def test_two_seals_side_by_side_are_not_a_line_of_text(tmp_path: Path) -> None:
    page = _page(seal=False)
    draw = ImageDraw.Draw(page)
    g._seal(draw, (170, 700), 58)
    g._seal(draw, (320, 700), 58)
    assert scan_info(_write(tmp_path, "two.jpg", _jpeg(page)), "jpeg").seal_visible


def test_grey_scan_of_a_stamped_page_shows_no_seal(tmp_path: Path) -> None:
    grey = _page().convert("L")
    assert scan_info(_write(tmp_path, "g.jpg", _jpeg(grey)), "jpeg") == ScanInfo(1, False, 0.0)
    assert scan_info(_write(tmp_path, "g.pdf", _pdf_of(grey)), "pdf") == ScanInfo(1, False, 0.0)


def test_vector_drawn_seal_is_seen_by_rendering_the_page(tmp_path: Path) -> None:
    with_seal = scan_info(_write(tmp_path, "v.pdf", _vector_seal_pdf()), "pdf")
    without = scan_info(_write(tmp_path, "n.pdf", _vector_seal_pdf(seal=False)), "pdf")
    assert with_seal.seal_visible and with_seal.red_ratio > 0.003
    assert without == ScanInfo(1, False, 0.0)


def test_transparent_electronic_seal_png(tmp_path: Path) -> None:
    im = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    g._seal(ImageDraw.Draw(im), (100, 100), 80)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    info = scan_info(_write(tmp_path, "seal.png", buf.getvalue()), "png")
    assert info.seal_visible


def test_red_share_is_the_one_parsers_images_measures() -> None:
    page = _page(red_title=24)
    assert scan._look_at(page).red_ratio == pytest.approx(images._red_ratio(page))


def _colours(first_red: int) -> Image.Image:
    """Every colour with red in first_red … first_red + 15: red by 256-row blocks, green by row, blue by column."""
    size = (256, 16 * 256)

    def band(values: bytes, shape: tuple[int, int]) -> Image.Image:
        return Image.frombytes("L", shape, values).resize(size, Image.Resampling.NEAREST)

    return Image.merge("RGB", (band(bytes(first_red + y // 256 for y in range(size[1])), (1, size[1])),
                               band(bytes(y % 256 for y in range(size[1])), (1, size[1])),
                               band(bytes(range(256)), (256, 1))))


def test_the_red_mask_is_the_hsv_definition_for_every_colour() -> None:
    """The mask converts to HSV only around pixels a byte test calls possibly red: that test passes every colour
    of the 2^24 that is hue ≤ 14 or ≥ 241, saturation ≥ 80, value ≥ 90 in Pillow's own HSV conversion."""
    assert len(_colours(0).getcolors(2**20) or ()) == 2**20
    for first_red in range(0, 256, 16):
        colours = _colours(first_red)
        hue, sat, val = colours.convert("HSV").split()
        wanted = ImageChops.darker(ImageChops.darker(
            hue.point(lambda h: 255 if h <= images._RED_HUE_LOW or h >= images._RED_HUE_HIGH else 0),
            sat.point(lambda s: 255 if s >= images._MIN_SATURATION else 0)),
            val.point(lambda v: 255 if v >= images._MIN_VALUE else 0))
        assert ImageChops.subtract(wanted, scan._maybe_red(colours)).getbbox() is None
        assert scan._red_mask(colours).tobytes() == wanted.tobytes()


def _random_mask(rng: random.Random) -> Image.Image:
    """Specks, boxes and rings anywhere, the edges included, on a small mask."""
    mask = Image.new("L", (rng.randint(1, 120), rng.randint(1, 120)), 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(rng.randint(0, 6)):
        x, y, kind = rng.randrange(mask.width), rng.randrange(mask.height), rng.randrange(3)
        if kind == 0:
            mask.putpixel((x, y), 255)
        elif kind == 1:
            draw.rectangle([x, y, x + rng.randint(0, 10), y + rng.randint(0, 10)], fill=255)
        else:
            draw.ellipse([x - 8, y - 8, x + rng.randint(0, 20), y + rng.randint(0, 20)], outline=255)
    return mask


def test_blobs_are_found_in_the_box_around_the_red_as_in_the_whole_mask() -> None:
    rng = random.Random(18)
    for _ in range(1500):
        mask = _random_mask(rng)
        grown = mask.filter(ImageFilter.BoxBlur(2)).point(lambda v: 255 if v else 0)
        assert scan._grown_blob_boxes(mask) == scan._blob_boxes(grown.tobytes(), *grown.size)


def test_a_mostly_red_picture_is_no_seal_and_quick(tmp_path: Path) -> None:
    im = Image.new("RGB", (1000, 1400), g.RED)
    started = time.monotonic()
    info = scan_info(_write(tmp_path, "red.jpg", _jpeg(im)), "jpeg")
    assert info.red_ratio > 0.9 and not info.seal_visible
    assert time.monotonic() - started < 5


# --- hostile input ---------------------------------------------------------------------------------------------

def test_only_the_first_pages_are_examined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    looked: list[int] = []
    real = scan._rendered_look
    monkeypatch.setattr(scan, "_rendered_look", lambda page: looked.append(page.page_number) or real(page))
    pages = [_page(seal=False)] * 7 + [_page()]
    info = scan_info(_write(tmp_path, "long.pdf", _pdf_of(*pages)), "pdf")
    assert info.pages == 8 and looked == [1, 2, 3, 4, 5]
    assert not info.seal_visible  # the seal on page 8 is past MAX_PAGES


@pytest.mark.parametrize("data", [
    b"%PDF-1.4\n" + bytes(range(256)) * 20,
    g.stamped_scan_pdf(TITLE, 1)[:400],
    b"",
])
def test_corrupt_pdf_is_unreadable(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(DocumentUnreadable):
        scan_info(_write(tmp_path, "bad.pdf", data), "pdf")


def test_corrupt_and_huge_images_are_unreadable(tmp_path: Path) -> None:
    with pytest.raises(DocumentUnreadable):
        scan_info(_write(tmp_path, "bad.jpg", g.stamped_scan_jpeg(TITLE, 1)[:300]), "jpeg")
    header = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", (100_000).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00")
    with pytest.raises(DocumentUnreadable, match="pixels|bomb"):
        scan_info(_write(tmp_path, "bomb.png", header + _png_chunk(b"IEND", b"")), "png")


def test_embedded_image_declaring_billions_of_pixels_is_refused(tmp_path: Path) -> None:
    jpeg = g.stamped_scan_jpeg(TITLE, 1)
    image = (b"<< /Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace /DeviceRGB"
             b" /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % len(jpeg) + jpeg + b"\nendstream")
    pdf = _hand_pdf(b"q 595 0 0 842 0 0 cm /Im0 Do Q", b"<< /XObject << /Im0 5 0 R >> >>", [image])
    with pytest.raises(DocumentUnreadable, match="exceeds"):
        scan_info(_write(tmp_path, "bomb.pdf", pdf), "pdf")


def test_huge_page_is_rendered_small(tmp_path: Path) -> None:
    pdf = _hand_pdf(b"0.84 0.13 0.15 rg 100000 100000 40000 40000 re f", media=b"[0 0 200000 200000]")
    started = time.monotonic()
    info = scan_info(_write(tmp_path, "big.pdf", pdf), "pdf")
    assert info.pages == 1 and time.monotonic() - started < 10


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
