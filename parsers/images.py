"""Format, size and seal-red share of an image, refusing decompression bombs."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageChops

from parsers.errors import DocumentUnreadable

_THUMBNAIL = (512, 512)
_FILE_SIZE = "intake_file_size"  # key in Image.info: the size before the draft decode
# Seal red on the HSV wheel (Pillow scales H, S, V to 0–255): hue within ~±20° of red, clearly
# saturated and not dark. Faded stamps (240,150,150) still pass; skin (220,170,140) and grey do not.
_RED_HUE_LOW, _RED_HUE_HIGH = 14, 241
_MIN_SATURATION = 80
_MIN_VALUE = 90


@dataclass(frozen=True)
class ImageInfo:
    """Facts about an image file."""

    format: str        # Pillow's format name, e.g. "JPEG", "PNG"
    width: int
    height: int
    red_ratio: float   # share of pixels that look like seal red, on a thumbnail ≤ 512 px


def is_jpeg_bytes(head: bytes) -> bool:
    """True if the bytes start like a JPEG (FF D8 FF)."""
    return head[:3] == b"\xff\xd8\xff"


def image_info(path: Path, max_pixels: int = 80_000_000) -> ImageInfo:
    """Open an image, check its size before decoding, and measure its seal-red share."""
    with loaded_image(path, max_pixels) as im:
        # The draft decode shrinks `size`; the header's size is what staff and the rules mean.
        width, height = im.info[_FILE_SIZE]
        return ImageInfo(format=im.format or "", width=width, height=height, red_ratio=_red_ratio(im))


@contextmanager
def loaded_image(source: Path | BinaryIO, max_pixels: int = 80_000_000) -> Iterator[Image.Image]:
    """The image decoded once at thumbnail scale, its full size checked first; DocumentUnreadable if it
    is a bomb, truncated or not an image. `size` is the draft's; the file's own (width, height) is in
    `info[_FILE_SIZE]`."""
    try:
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make the warning an error.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise DocumentUnreadable(f"image of {width}x{height} pixels exceeds {max_pixels} pixels")
                im.info[_FILE_SIZE] = (width, height)
                # JPEG draft mode decodes at 1/2–1/8 scale directly: cheap for 12-MP phone photos. Asked for
                # the thumbnail's own size (the picture fitted into 512×512), not the 512×512 box: an A4 page's
                # scan (1654×2339) is then decoded at 1/4 (414×585) rather than 1/2, whatever the thumbnail.
                im.draft("RGB", _fitted(width, height))
                im.load()  # decodes everything: raises on truncated or corrupt data
                yield im
    except DocumentUnreadable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DocumentUnreadable(f"image too large (decompression bomb): {exc}"[:200]) from exc
    except (OSError, SyntaxError, ValueError, EOFError, Image.UnidentifiedImageError) as exc:
        raise DocumentUnreadable(f"unreadable image: {exc}"[:200]) from exc


def _fitted(width: int, height: int) -> tuple[int, int]:
    """The size of a thumbnail of at most _THUMBNAIL of a width × height picture (at least 1×1)."""
    scale = min(_THUMBNAIL[0] / max(width, 1), _THUMBNAIL[1] / max(height, 1), 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _red_ratio(im: Image.Image) -> float:
    small = im.copy()
    small.thumbnail(_THUMBNAIL)
    if small.mode in ("RGBA", "LA", "PA") or (small.mode == "P" and "transparency" in small.info):
        # Transparent pixels count as white paper, not as whatever colour they hide.
        rgba = small.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        small = Image.alpha_composite(white, rgba)
    try:
        hue, sat, val = small.convert("RGB").convert("HSV").split()
    except (ValueError, OSError):
        return 0.0  # exotic modes (16-bit, float) that Pillow cannot turn into RGB have no colour anyway
    red_hue = ImageChops.logical_or(
        hue.point(lambda h: 255 if h <= _RED_HUE_LOW else 0, "1"),
        hue.point(lambda h: 255 if h >= _RED_HUE_HIGH else 0, "1"),
    )
    strong = ImageChops.logical_and(
        sat.point(lambda s: 255 if s >= _MIN_SATURATION else 0, "1"),
        val.point(lambda v: 255 if v >= _MIN_VALUE else 0, "1"),
    )
    mask = ImageChops.logical_and(red_hue, strong)
    total = mask.width * mask.height
    return mask.histogram()[255] / total if total else 0.0
