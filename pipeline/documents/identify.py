"""Identify each received file: its real format, the role it plays, and the facts parsers read from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from parsers.convert import convert_to_docx, soffice_path
from parsers.docx_text import count_pictures, read_docx_tables, read_docx_text
from parsers.errors import DocumentUnreadable
from parsers.names import split_ext
from parsers.sheets import read_xlsx_rows
from parsers.sniff import sniff_file
from parsers.wordcount import count_words
from pipeline.rules.facts import EXTENSION_FORMATS, UNSNIFFABLE, FileFacts


@dataclass(frozen=True)
class _Read:
    """What _read_text found in a Word or Excel file."""

    body: str = ""
    tables: str = ""
    problem: str = ""
    converted: Path | None = None  # LibreOffice's .docx of a .doc
    pictures: int = 0


def _read_text(path: Path, fmt: str) -> _Read:
    """Body text, table text and pictures of Word files, table text of Excel files; others: nothing."""
    if fmt == "doc" and soffice_path() is None:
        return _Read(problem="旧版Word（.doc/.wps）格式")
    converted = None
    try:
        if fmt == "doc":  # read through a DOCX that LibreOffice writes next to it; the format stays "doc"
            path = converted = convert_to_docx(path, path.parent)
        if fmt in ("docx", "doc"):
            tables = "\n".join("\t".join(row) for t in read_docx_tables(path) for row in t)
            return _Read(read_docx_text(path).text, tables, "", converted, count_pictures(path))
        if fmt == "xlsx":
            return _Read(tables="\n".join("\t".join(row) for row in read_xlsx_rows(path)))
    except DocumentUnreadable as exc:
        return _Read(problem=str(exc) or "damaged file")
    if fmt == "xls":
        return _Read(problem="旧版Excel（.xls）格式")
    return _Read()


def inspect_file(name: str, path: Path, size: int, origin: str = "") -> FileFacts:
    """Sniff one file and read the text a role decision or a check needs."""
    fmt = sniff_file(path)
    claimed = EXTENSION_FORMATS.get(split_ext(PurePosixPath(name).name)[1])
    if fmt in UNSNIFFABLE and fmt != "zip" and claimed:
        return FileFacts(name, path, size, fmt, origin, problem="文件已损坏或不是声称的格式")
    if fmt == "zip" and claimed in ("docx", "xlsx"):
        # A zip named .docx / .xlsx: read it as what it claims; a damaged one then says why it can't be read.
        fmt = claimed
    read = _read_text(path, fmt)
    words = count_words(read.body) if read.body else None
    return FileFacts(name, path, size, fmt, origin, words=words, text=read.tables or read.body, problem=read.problem,
                     converted=read.converted, pictures=read.pictures)
