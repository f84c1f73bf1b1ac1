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
Area alone cannot separate them: a red title line has more red than a seal. Measured (tests/unit/test_scan.py):
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, ImageChops, ImageFilter

from parsers import images
from parsers.errors import DocumentUnreadable
from parsers.images import loaded_image
from parsers.pdf import first_pages

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
        return _look_at(im, mine=True)


def _look_at(im: Image.Image, *, mine: bool = False) -> _Look:
    """The red share of a picture and whether a seal-shaped red blob is on it; `mine`: `im` may be shrunk."""
    small = im if mine else im.copy()
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
    """255 where a pixel is seal red in parsers.images' sense, else 0 (mode "L").

    The HSV conversion (a float division per pixel) is done only inside the box around the pixels that may be
    red: seal red has red for its largest channel, at least _MIN_VALUE, and its smallest channel well below it
    (saturation), which plain byte arithmetic tells. On a stamped page that box is ~3 % of it."""
    mask = Image.new("L", rgb.size, 0)
    box = _maybe_red(rgb).getbbox()
    if box is not None:
        mask.paste(_hsv_red_mask(rgb.crop(box)), box[:2])
    return mask


# Saturation ≥ _MIN_SATURATION / 255 at value ≥ _MIN_VALUE needs max − min ≥ 28.2; the margin covers the
# conversion's float rounding (tests/unit/test_scan.py checks all 2^24 colours: 29 would still do).
_MIN_SPREAD = images._MIN_VALUE * images._MIN_SATURATION // 255 - 2
_AT_LEAST_VALUE = [255 if x >= images._MIN_VALUE else 0 for x in range(256)]
_AT_LEAST_SPREAD = [255 if x >= _MIN_SPREAD else 0 for x in range(256)]


def _maybe_red(rgb: Image.Image) -> Image.Image:
    """255 where red is at least _MIN_VALUE and exceeds green or blue by _MIN_SPREAD: every seal-red pixel."""
    red, green, blue = rgb.split()
    spread = ImageChops.lighter(ImageChops.subtract(red, green), ImageChops.subtract(red, blue))
    return ImageChops.darker(red.point(_AT_LEAST_VALUE), spread.point(_AT_LEAST_SPREAD))


_HSV_TABLES = (
    [255 if x <= images._RED_HUE_LOW or x >= images._RED_HUE_HIGH else 0 for x in range(256)],
    [255 if x >= images._MIN_SATURATION else 0 for x in range(256)],
    _AT_LEAST_VALUE,
)


def _hsv_red_mask(rgb: Image.Image) -> Image.Image:
    hue, sat, val = (band.point(table) for band, table in zip(rgb.convert("HSV").split(), _HSV_TABLES))
    return ImageChops.darker(ImageChops.darker(hue, sat), val)


def _has_seal_blob(mask: Image.Image) -> bool:
    """A connected red region (after a 5×5 dilation) of seal size and roundish shape, not in a line of glyphs."""
    width, height = mask.size
    min_side = max(3, SEAL_MIN_SIDE * min(width, height))
    boxes = _grown_blob_boxes(mask)[:MAX_BLOBS]
    return any(_roundish(box, min_side) and _line_mates(box, boxes) < 2 for box in boxes)


_MARGIN = 4   # zeros kept around the red pixels when the mask is cropped: more than the dilation's reach of 2


def _grown_blob_boxes(mask: Image.Image) -> list[tuple[int, int, int, int]]:
    """_blob_boxes of the mask after a 5×5 dilation, in the mask's coordinates. Only the box around its red
    pixels (~3 % of a stamped page) is dilated and searched: with a margin of zeros wider than the dilation's
    reach, what the filter sees beyond the crop's edges is zeros, as in the whole mask."""
    red = mask.getbbox()
    if red is None:
        return []
    width, height = mask.size
    left, top = max(0, red[0] - _MARGIN), max(0, red[1] - _MARGIN)
    crop = mask.crop((left, top, min(width, red[2] + _MARGIN), min(height, red[3] + _MARGIN)))
    # A 5×5 dilation: on a 0/255 mask a 5×5 box mean is non-zero exactly where a 5×5 max is (the box
    # filter costs the same at any radius, MaxFilter(5) ten times as much).
    grown = crop.filter(ImageFilter.BoxBlur(2)).point(_ANY)
    return [(x0 + left, y0 + top, x1 + left, y1 + top) for x0, y0, x1, y1 in _blob_boxes(grown.tobytes(), *grown.size)]


def _blob_boxes(pixels: bytes, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The bounding box (left, top, right, bottom) of each 4-connected region of non-zero pixels (a 0/255
    mask), in the order of each region's first pixel in raster order. Works on the runs of each row, not on
    pixels: a run joins the region of every run of the row above that it overlaps (union-find, the earliest
    run being the root)."""
    parent: list[int] = []
    boxes: list[list[int]] = []   # per run: left, top, right, bottom; a root's covers its whole region

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    above: list[tuple[int, int, int]] = []   # (first x, last x, run) of the row above
    for y in range(height):
        row_start, row_end = y * width, (y + 1) * width
        here: list[tuple[int, int, int]] = []
        k = 0
        x = pixels.find(255, row_start, row_end)
        while x >= 0:
            end = pixels.find(0, x, row_end)
            end = row_end if end < 0 else end
            first, last = x - row_start, end - 1 - row_start
            run = len(parent)
            parent.append(run)
            boxes.append([first, y, last, y])
            while k < len(above) and above[k][1] < first:
                k += 1
            j = k
            while j < len(above) and above[j][0] <= last:   # overlaps this run: one region
                a, b = root(above[j][2]), root(run)
                if a != b:
                    keep, gone = min(a, b), max(a, b)
                    parent[gone] = keep
                    kb, gb = boxes[keep], boxes[gone]
                    kb[:] = min(kb[0], gb[0]), min(kb[1], gb[1]), max(kb[2], gb[2]), max(kb[3], gb[3])
                j += 1
            here.append((first, last, run))
            x = pixels.find(255, end, row_end) if end < row_end else -1
        above = here
    return [(b[0], b[1], b[2], b[3]) for i, b in enumerate(boxes) if parent[i] == i]


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


def _pdf_looks(path: Path) -> tuple[int, list[_Look]]:
    # first_pages counts the pages and explains damaged or encrypted files, as pdf_info does; then the first
    # pages are looked at.
    looks: list[_Look] = []
    with first_pages(path, MAX_PAGES) as (pages, first):
        try:
            for page, images in first:
                embedded = [_embedded_look(image) for image in images[:MAX_IMAGES_PER_PAGE]]
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
