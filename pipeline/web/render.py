"""The preview child: `python -m pipeline.web.render KIND PATH [PAGE]` writes one preview to stdout.

Applicants' files are hostile input, and pdfium, Pillow's decoders and the DOCX reader are large parsers; the
pipeline never runs them in a process that holds the database or the secrets, and neither does the console.
This child limits itself (address space, CPU seconds, no file writes) before it opens the file, gets an
allow-listed environment from its parent (parsers.toolenv: no passwords), and prints:

  image PATH        the picture re-encoded as PNG, at most MAX_SIDE pixels on its longer side (so what the
                    browser decodes is our PNG, never the sender's bytes)
  pdf-page PATH N   page N (1-based) of a PDF drawn at most MAX_SIDE pixels high, as PNG
  pdf-pages PATH    the number of pages
  docx-text PATH    the document's paragraphs as UTF-8 text
"""

from __future__ import annotations

import io
import resource
import signal
import sys
from pathlib import Path

MAX_SIDE = 1400                # pixels: a page readable on a 1366×768 screen, and printable
MAX_PIXELS = 80_000_000        # parsers.images' decompression-bomb guard
MEMORY_BYTES = 1024 * 1024 * 1024
CPU_SECONDS = 20


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # it only reads, and writes to the stdout pipe
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a library's temp file fails with EFBIG, not a kill


def _png(im: object) -> bytes:
    from PIL import Image

    assert isinstance(im, Image.Image)
    im.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    im.convert("RGB").save(out, "PNG", optimize=False)
    return out.getvalue()


def image(path: Path) -> bytes:
    from parsers.images import loaded_image

    with loaded_image(path, MAX_PIXELS) as im:  # checks the size before decoding
        return _png(im.copy())


def pdf_page(path: Path, number: int) -> bytes:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        page = pdf.pages[number - 1]
        width, height = float(page.width or 1), float(page.height or 1)
        size = {"height": MAX_SIDE} if height >= width else {"width": MAX_SIDE}
        return _png(page.to_image(antialias=True, **size).original)


def pdf_pages(path: Path) -> bytes:
    from parsers.pdf import pdf_info

    return str(pdf_info(path, max_pages_text=0, max_pages=0).pages).encode()


def docx_text(path: Path) -> bytes:
    from parsers.docx_text import read_docx_text

    return read_docx_text(path).text.encode("utf-8", "replace")


def main(argv: list[str]) -> int:
    _limit()
    kind, path = argv[0], Path(argv[1])
    if kind == "image":
        data = image(path)
    elif kind == "pdf-page":
        data = pdf_page(path, int(argv[2]))
    elif kind == "pdf-pages":
        data = pdf_pages(path)
    elif kind == "docx-text":
        data = docx_text(path)
    else:
        return 2
    sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
