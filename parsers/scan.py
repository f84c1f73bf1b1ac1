"""Facts about the stamped scan (申报表盖章扫描件): page count, and whether a red seal shows on it.

A JPEG/PNG is looked at whole. A PDF is looked at on its first MAX_PAGES pages, two ways: the JPEG
images embedded in them (scans are image-only PDFs; a DCTDecode stream is a JPEG file), and each page
rendered at low resolution by pdfium (pdfplumber's renderer), which also sees a seal drawn as vector
shapes (a PDF exported from Word) and images in other encodings. Every picture goes through
image_info's decompression-bomb guard first (embedded ones: their declared size).

Seal red is parsers.images' definition (hue within ~±20° of red, saturated, not dark), on a thumbnail
of at most 512 px. A picture shows a seal when:
  * its red share is at least SEAL_MIN_RATIO = 0.001, and
  * one red blob (red pixels joined after a 5×5 dilation, which also mends a ring broken by the scan)
    has a bounding box at least SEAL_MIN_SIDE = 10% of the picture's shorter side both ways (a 公章 is
    4–4.5 cm, ~20% of an A4 page's width; 10% is 2.1 cm) and at most SEAL_MAX_ASPECT = 1.6 times longer
    than wide (round or oval seals), and
  * fewer than two blobs of about its height stand beside it on the same line: red text is a row of
    glyphs, and a 红头 letterhead's 2 cm characters are each as large and as square as a small seal.
Area alone cannot separate them: a red title line has more red than a seal. Measured (tests/test_scan.py):
  samplegen's stamped scan (seal 19% of the width)    red share 0.0068 (JPEG, the PDF's image, the
                                                      rendered page), blob 20% of the shorter side, aspect 1.0
  the same page without seal / scanned in grey        0
  smaller seal (12% of the width)                     0.0042, blob 13%
  red title, 24 px glyphs                             0.0094, glyphs joined into one flat blob (aspect 10.7)
  红头 title, 56 px glyphs (~2 cm on A4)                0.0270, 8 square blobs of 10.5% side by side
  vector-drawn seal in a PDF (rendered page)          0.0040, blob 21%
A picture that is mostly red (more than MAX_RED_PIXELS of the thumbnail: a red cover photographed)
is not searched for blobs and counts as no seal. Two seals side by side still count (one neighbour).
"""

from __future__ import annotations

import io
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pdfplumber
from PIL import Image, ImageChops, ImageFilter

from parsers import images
from parsers.errors import DocumentUnreadable
from parsers.images import loaded_image
from parsers.pdf import pdf_info

SEAL_MIN_RATIO = 0.001
SEAL_MIN_SIDE = 0.10
SEAL_MAX_ASPECT = 1.6
MAX_PAGES = 5               # the seal is on the form's last page; a form has 2–4 pages
MAX_IMAGES_PER_PAGE = 8     # a scan has one per page; a hostile PDF may list thousands
MAX_PIXELS = 80_000_000     # image_info's default bomb guard, for embedded images too
RENDER_SIDE = 800           # longest side in pixels of a rendered page (~100 dpi for A4)
MAX_RED_PIXELS = 60_000     # of a ≤512 px thumbnail: above this the blob search is skipped
MAX_BLOBS = 2_000           # red specks of a noisy scan, at most
_THUMBNAIL = (512, 512)
_ANY = [0] + [255] * 255   # point() table: any non-zero value → 255


@dataclass(frozen=True)
class ScanInfo:
    """What the stamped scan shows."""

    pages: int            # 1 for an image
    seal_visible: bool    # some image or page holds a seal-shaped red blob (see the module docstring)
    red_ratio: float      # the largest seal-red share of any image or page examined


@dataclass(frozen=True)
class _Look:
    red_ratio: float = 0.0
    seal: bool = False


def scan_info(path: Path, fmt: str) -> ScanInfo:
    """Facts about a scan sniffed as `fmt` ("pdf", "jpeg", "png", …); DocumentUnreadable if it is damaged."""
    if fmt == "pdf":
        pages, looks = _pdf_looks(path)
    else:
        pages, looks = 1, [_image_look(path)]
    return ScanInfo(pages=pages, seal_visible=any(look.seal for look in looks),
                    red_ratio=round(max((look.red_ratio for look in looks), default=0.0), 6))


def _image_look(source: Path | BinaryIO) -> _Look:
    """Decode the image once at thumbnail scale (size and damage checked by images.loaded_image), look for a seal."""
    with loaded_image(source, max_pixels=MAX_PIXELS) as im:
        return _look_at(im)


def _look_at(im: Image.Image) -> _Look:
    """The red share of a picture and whether a seal-shaped red blob is on it."""
    small = im.copy()
    small.thumbnail(_THUMBNAIL)
    if small.mode in ("RGBA", "LA", "PA") or (small.mode == "P" and "transparency" in small.info):
        white = Image.new("RGBA", small.size, (255, 255, 255, 255))
        small = Image.alpha_composite(white, small.convert("RGBA"))
    try:
        small = small.convert("RGB")
    except (ValueError, OSError):
        return _Look()
    mask = _red_mask(small)
    red = mask.histogram()[255]
    ratio = red / (small.width * small.height)
    seal = ratio >= SEAL_MIN_RATIO and red <= MAX_RED_PIXELS and _has_seal_blob(mask)
    return _Look(ratio, seal)


def _red_mask(rgb: Image.Image) -> Image.Image:
    """255 where a pixel is seal red in parsers.images' sense, else 0 (mode "L")."""
    hue, sat, val = rgb.convert("HSV").split()
    tables = (
        [255 if x <= images._RED_HUE_LOW or x >= images._RED_HUE_HIGH else 0 for x in range(256)],
        [255 if x >= images._MIN_SATURATION else 0 for x in range(256)],
        [255 if x >= images._MIN_VALUE else 0 for x in range(256)],
    )
    hue, sat, val = (band.point(table) for band, table in zip((hue, sat, val), tables))
    return ImageChops.darker(ImageChops.darker(hue, sat), val)


def _has_seal_blob(mask: Image.Image) -> bool:
    """A connected red region (after a 5×5 dilation) of seal size and roundish shape, not in a line of glyphs."""
    # A 5×5 dilation: on a 0/255 mask a 5×5 box mean is non-zero exactly where a 5×5 max is (the box
    # filter costs the same at any radius, MaxFilter(5) ten times as much).
    grown = mask.filter(ImageFilter.BoxBlur(2)).point(_ANY)
    width, height = grown.size
    min_side = max(3, SEAL_MIN_SIDE * min(width, height))
    pixels = bytearray(grown.tobytes())
    boxes: list[tuple[int, int, int, int]] = []
    start = pixels.find(255)
    while start >= 0 and len(boxes) < MAX_BLOBS:
        boxes.append(_flood(pixels, width, height, start))
        start = pixels.find(255, start + 1)
    return any(_roundish(box, min_side) and _line_mates(box, boxes) < 2 for box in boxes)


def _roundish(box: tuple[int, int, int, int], min_side: float) -> bool:
    w, h = box[2] - box[0] + 1, box[3] - box[1] + 1
    return min(w, h) >= min_side and max(w, h) <= SEAL_MAX_ASPECT * min(w, h)


def _line_mates(box: tuple[int, int, int, int], boxes: list[tuple[int, int, int, int]]) -> int:
    """Blobs of about the same height beside `box` on the same line, up to 3 widths away: glyphs of a title."""
    left, top, right, bottom = box
    w, h = right - left + 1, bottom - top + 1
    mates = 0
    for other in boxes:
        o_left, o_top, o_right, o_bottom = other
        o_h = o_bottom - o_top + 1
        overlap = min(bottom, o_bottom) - max(top, o_top) + 1
        gap = max(o_left - right, left - o_right)
        if other != box and h / 2 <= o_h <= h * 2 and overlap >= min(h, o_h) / 2 and gap <= 3 * w:
            mates += 1
    return mates


def _flood(pixels: bytearray, width: int, height: int, start: int) -> tuple[int, int, int, int]:
    """Clear the 4-connected region holding `start` and return its bounding box (left, top, right, bottom)."""
    pixels[start] = 0
    queue = deque([start])
    left, top = right, bottom = start % width, start // width
    while queue:
        i = queue.popleft()
        x, y = i % width, i // width
        left, right, top, bottom = min(left, x), max(right, x), min(top, y), max(bottom, y)
        for j, ok in ((i - 1, x > 0), (i + 1, x < width - 1), (i - width, y > 0), (i + width, y < height - 1)):
            if ok and pixels[j]:
                pixels[j] = 0
                queue.append(j)
    return left, top, right, bottom


def _pdf_looks(path: Path) -> tuple[int, list[_Look]]:
    # pdf_info counts the pages and explains damaged or encrypted files; then the first pages are looked at.
    pages = pdf_info(path, max_pages_text=0, max_pages=MAX_PAGES).pages
    looks: list[_Look] = []
    try:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages[:MAX_PAGES]:
                embedded = [_embedded_look(image) for image in page.images[:MAX_IMAGES_PER_PAGE]]
                looks += embedded
                if not any(look.seal for look in embedded):  # drawn seals and other encodings: the page itself
                    looks.append(_rendered_look(page))
                page.close()
    except DocumentUnreadable:
        raise
    except Exception as exc:  # pdfminer and pdfium raise anything on damaged files
        raise DocumentUnreadable(f"corrupt PDF: {type(exc).__name__}: {exc}"[:200]) from exc
    return pages, looks


def _embedded_look(image: dict[str, Any]) -> _Look:
    """An embedded JPEG (DCTDecode alone) decoded; other encodings are left to the rendered page."""
    stream = image.get("stream")
    filters = [str(getattr(name, "name", name)) for name, _params in stream.get_filters()] if stream else []
    if filters != ["DCTDecode"]:
        return _Look()
    width, height = (int(v or 0) for v in image.get("srcsize", (0, 0)))
    if width * height > MAX_PIXELS:
        raise DocumentUnreadable(f"embedded image of {width}x{height} pixels exceeds {MAX_PIXELS} pixels")
    try:
        return _image_look(io.BytesIO(stream.get_rawdata() or b""))
    except (DocumentUnreadable, OSError, ValueError):
        return _Look()  # a broken embedded JPEG: the rendered page still counts


def _rendered_look(page: Any) -> _Look:
    """The page drawn by pdfium at most RENDER_SIDE pixels on its longest side."""
    width, height = float(page.width or 0), float(page.height or 0)
    if width <= 0 or height <= 0:
        return _Look()
    size = {"width": RENDER_SIDE} if width >= height else {"height": RENDER_SIDE}
    try:
        im: Image.Image = page.to_image(antialias=True, **size).original
    except ImportError:
        return _Look()  # no pypdfium2: only the embedded JPEGs are looked at
    return _look_at(im)
