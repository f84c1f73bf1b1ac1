"""Rows of an XLSX workbook as strings."""

from __future__ import annotations

import datetime as dt
import functools
import lzma
import re
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import openpyxl
from lxml import etree
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook

from parsers.errors import DocumentUnreadable
from parsers.sniff import ole_root_entries, sniff_file
from parsers.xmltext import xml_text

_MAX_COLS = 256          # a styled row can reach column XFD (16 384 cells); no summary table is that wide
_MAX_UNCOMPRESSED = 200 * 1024 * 1024
_MERGE_TAG = re.compile(r"\}mergeCell$")


def read_xlsx_rows(path: Path, max_rows: int = 2000) -> list[list[str]]:
    """Rows of every sheet in order (empty rows dropped, trailing empty cells trimmed), at most `max_rows`."""
    try:
        st = path.stat()
    except OSError as exc:
        raise DocumentUnreadable(f"cannot read the XLSX: {exc}"[:200]) from exc
    return [list(row) for row in _rows(path, st.st_size, st.st_mtime_ns, max_rows)]


@functools.lru_cache(maxsize=8)
def _rows(path: Path, size: int, mtime_ns: int, max_rows: int) -> tuple[tuple[str, ...], ...]:
    """read_xlsx_rows for one version of a file: the role check and the summary reader both read the
    summary table, and openpyxl costs ~17 ms a workbook. A damaged file raises each time (not cached)."""
    _check_container(path)
    rows: list[list[str]] = []
    try:
        # A file object, not a path: openpyxl refuses paths whose extension is not .xlsx (a renamed .xls).
        with open(path, "rb") as f:
            wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
            try:
                for ws in wb.worksheets:
                    if len(rows) >= max_rows:
                        break
                    rows.extend(_sheet_rows(wb, ws, max_rows - len(rows)))
            finally:
                wb.close()
    except DocumentUnreadable:
        raise
    except Exception as exc:  # openpyxl raises KeyError, ValueError, TypeError … on damaged files
        raise DocumentUnreadable(f"corrupt XLSX: {type(exc).__name__}: {exc}"[:200]) from exc
    return tuple(tuple(row) for row in rows)


def _check_container(path: Path) -> None:
    kind = sniff_file(path)
    if kind == "xlsx":
        try:
            with zipfile.ZipFile(path) as z:
                declared = sum(info.file_size for info in z.infolist())
                if declared > _MAX_UNCOMPRESSED:  # openpyxl would inflate shared strings and styles whole
                    raise DocumentUnreadable("XLSX unpacks to more than 200 MB")
                _refuse_dtds(z)
        except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, ValueError, EOFError, RuntimeError,
                NotImplementedError) as exc:  # zlib.error: a damaged deflate stream in a part _refuse_dtds reads
            raise DocumentUnreadable(f"corrupt XLSX zip: {exc}") from exc
        return
    if kind == "ole" and "EncryptedPackage" in ole_root_entries(path):
        raise DocumentUnreadable("encrypted (password-protected) Office document")
    if kind == "xls":
        raise DocumentUnreadable("legacy Excel 97-2003 / WPS workbook, not XLSX")
    raise DocumentUnreadable(f"not an XLSX file (looks like {kind})")


class _Prolog(Exception):
    """Raised by the prolog check's handlers to stop expat: `dtd` says whether a DOCTYPE was met."""

    def __init__(self, dtd: bool) -> None:
        super().__init__()
        self.dtd = dtd


def _refuse_dtds(z: zipfile.ZipFile) -> None:
    """Refuse a workbook any of whose parts declares a DTD: Excel never writes one, and openpyxl reads
    sheets and shared strings with the standard library's expat, which expands internal entities.

    Every part is checked whatever its name (the workbook's relationships may point a sheet at any file
    name), with expat itself, so a DOCTYPE is found wherever the prolog puts it (after a long comment, in
    UTF-16) and in any encoding openpyxl's parser would read. Parsing stops at the first element: the XML
    grammar allows a DOCTYPE only before it."""
    for info in z.infolist():
        if not info.is_dir():
            with z.open(info) as part:
                if _has_dtd(part, info.filename):
                    raise DocumentUnreadable(f"XLSX part {info.filename[:80]} has a DTD")


def _has_dtd(part: IO[bytes], name: str) -> bool:
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _stop_at_doctype
    parser.StartElementHandler = _stop_at_root
    try:
        parser.ParseFile(part)
    except _Prolog as stop:
        return stop.dtd
    except (ValueError, LookupError) as exc:  # an encoding expat cannot read, so no check was possible
        raise DocumentUnreadable(f"XLSX part {name[:80]} is in an unsupported encoding") from exc
    except expat.ExpatError:
        return False  # not XML (a picture), or broken before any DTD: every XML parser stops there too
    return False


def _stop_at_doctype(*_args: object) -> None:
    raise _Prolog(dtd=True)


def _stop_at_root(*_args: object) -> None:
    raise _Prolog(dtd=False)


def _sheet_rows(wb: Workbook, ws: Any, limit: int) -> list[list[str]]:
    if not hasattr(ws, "iter_rows"):
        return []  # chartsheets
    hidden = _merged_followers(wb, ws)
    ws.reset_dimensions()  # the stored <dimension> is often wrong in files from other programs
    rows: list[list[str]] = []
    # Rows come numbered from 1 (missing ones filled in); styled empty rows can run to a million,
    # so look at no more than ten physical rows per row wanted.
    for r, values in enumerate(ws.iter_rows(max_row=limit * 10, max_col=_MAX_COLS, values_only=True), 1):
        # Excel keeps a merged range's value in its top-left cell; other writers may repeat it.
        row = ["" if (r, c) in hidden else _cell_text(v) for c, v in enumerate(values, 1)]
        while row and not row[-1].strip():
            row.pop()
        if row:
            rows.append(row)
            if len(rows) >= limit:
                break
    return rows


def _merged_followers(wb: Workbook, ws: Any) -> set[tuple[int, int]]:
    """(row, column) of every merged cell but the top-left one; read-only sheets don't expose merges."""
    archive: zipfile.ZipFile | None = getattr(wb, "_archive", None)
    sheet_path: str | None = getattr(ws, "_worksheet_path", None)
    if archive is None or sheet_path is None:
        return set()
    cells: set[tuple[int, int]] = set()
    with archive.open(sheet_path) as f:
        for _event, el in etree.iterparse(f, events=("end",), resolve_entities=False, no_network=True,
                                          huge_tree=False):
            if isinstance(el.tag, str) and _MERGE_TAG.search(el.tag):
                min_col, min_row, max_col, max_row = range_boundaries(el.get("ref", ""))
                for row in range(min_row, min(max_row, min_row + 10_000) + 1):
                    for col in range(min_col, min(max_col, _MAX_COLS) + 1):
                        if (row, col) != (min_row, min_col):
                            cells.add((row, col))
            el.clear()
    return cells


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel shows 15 significant digits; whole numbers (phone numbers, years) without ".0".
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    # XML carries DEL and the C1 controls (U+009B is CSI to a terminal); no form or table means them.
    return xml_text(str(value))
