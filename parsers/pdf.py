"""Page count, text and image count of a PDF (stamped scans are image-only PDFs)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError
from pdfplumber.utils.exceptions import PdfminerException

from parsers.errors import DocumentUnreadable

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class PdfInfo:
    """Facts about a PDF."""

    pages: int
    text: str          # all pages' text, whitespace removed (pdfplumber inserts spaces at font changes)
    image_count: int   # images on the first `max_pages` pages (a scan has ≥1)


def pdf_info(path: Path, max_pages_text: int = 20, max_pages: int = 200) -> PdfInfo:
    """Count pages; extract the text of the first `max_pages_text` and count images on the first `max_pages`."""
    texts: list[str] = []
    images = 0
    with _explained():
        with pdfplumber.open(path) as pdf:
            pages = len(pdf.pages)
            # Parsing every page of a hostile 5000-page PDF takes minutes; a scan shows itself on its first pages.
            for number, page in enumerate(pdf.pages[:max_pages]):
                if number < max_pages_text:
                    texts.append(page.extract_text() or "")
                images += len(page.images)
                page.close()  # drop the page's parsed objects: long scans otherwise pile up in memory
    if pages == 0:
        raise DocumentUnreadable("PDF has no pages")
    # pdfplumber puts spaces at font changes and turns U+3000 into a space: remove all whitespace.
    return PdfInfo(pages=pages, text=_WHITESPACE.sub("", "".join(texts)), image_count=images)


PageImages = list[tuple[Any, list[dict[str, Any]]]]   # pdfplumber pages, each with the images it lists


@contextmanager
def first_pages(path: Path, max_pages: int) -> Iterator[tuple[int, PageImages]]:
    """The PDF open: its page count and its first `max_pages` pages, each with its images (parsed objects
    dropped). What pdf_info(path, 0, max_pages) reads and refuses, with the same DocumentUnreadable for an
    encrypted, damaged or empty file: a reader that looks further needs not open and parse the file twice."""
    with _explained():
        pdf = pdfplumber.open(path)
    try:
        with _explained():
            count = len(pdf.pages)
            pages = [(page, _images(page)) for page in pdf.pages[:max_pages]]
        if count == 0:
            raise DocumentUnreadable("PDF has no pages")
        yield count, pages
    finally:
        with _explained():
            pdf.close()


def _images(page: Any) -> list[dict[str, Any]]:
    images: list[dict[str, Any]] = page.images
    page.close()  # drop the page's parsed objects: the image list stays
    return images


@contextmanager
def _explained() -> Iterator[None]:
    """pdfminer's and pdfplumber's errors as DocumentUnreadable."""
    try:
        yield
    except Exception as exc:  # pdfminer raises anything from PSEOF to KeyError on damaged files
        # pdfplumber wraps pdfminer's exceptions in PdfminerException(original).
        cause = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
        if isinstance(cause, PDFEncryptionError):
            raise DocumentUnreadable("encrypted PDF (needs a password)") from exc
        raise DocumentUnreadable(f"corrupt PDF: {type(cause).__name__}: {cause}"[:200]) from exc
