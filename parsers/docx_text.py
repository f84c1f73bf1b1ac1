"""Text and tables of a DOCX, read from word/document.xml the way Word shows them."""

from __future__ import annotations

import os
import posixpath
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from lxml import etree

from parsers.errors import DocumentUnreadable
from parsers.sniff import ole_root_entries, sniff_file
from parsers.xmltext import xml_text

MAX_DOCUMENT_XML = 50 * 1024 * 1024
# Identification, the form reader and the narrative's record each read the same DOCX (text, tables, pictures,
# layout): its main part is parsed once and the last few kept with what was read from them, keyed by the file's
# identity and version.
_KEPT_BODIES = 4
_KEPT_XML = 2 * 1024 * 1024   # a larger document.xml is parsed again when asked again, never kept
_parts: OrderedDict[tuple[int, int, int, int], _MainPart] = OrderedDict()

_W_NAMESPACES = (
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main",  # ISO "strict" OOXML
)
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_R_OFFICE_DOCUMENT = "/officeDocument"

# Never holds visible body text: properties, deleted or moved-away text, field instructions.
_SKIP = frozenset({
    "pPr", "rPr", "sectPr", "tblPr", "tblGrid", "trPr", "tcPr", "tblPrEx", "sdtPr", "sdtEndPr",
    "del", "moveFrom", "delText", "instrText", "delInstrText", "sym",
})
# Never expands an entity nor loads anything; a DTD is then refused by _parse, whatever precedes it.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class DocxText:
    """Body paragraphs of a DOCX, table cells and text boxes included, in document order."""

    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        """All paragraphs joined by newlines."""
        return "\n".join(self.paragraphs)


def read_docx_text(path: Path) -> DocxText:
    """Read every body paragraph (tables, text boxes, content controls, accepted insertions)."""
    return _part(path).text


def count_pictures(path: Path) -> int:
    """How many pictures a DOCX holds (its word/media parts): pages pasted in as images carry no countable text."""
    kept = _parts.get(_version(path))
    if kept is not None:
        return kept.pictures
    try:
        with zipfile.ZipFile(path) as zf:
            return sum(1 for name in zf.namelist() if name.startswith("word/media/") and not name.endswith("/"))
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise DocumentUnreadable(f"corrupt DOCX container: {exc}"[:200]) from exc


def read_docx_tables(path: Path) -> list[list[list[str]]]:
    """Every table (nested ones after their parent) as rows of cell texts, one slot per grid column."""
    return [_grid(rows) for rows in _part(path).tables]


@dataclass(frozen=True)
class GridCell:
    """One cell of a Word table placed on the table's grid (`w:gridSpan` and `w:vMerge` honoured)."""

    row: int
    col: int          # first grid column the cell covers
    span: int         # grid columns covered
    text: str
    continued: bool   # a vMerge continuation: the text stays in the cell above that starts the merge


@dataclass(frozen=True)
class DocxLayout:
    """What a form reader needs: every table as placed cells, and the paragraphs outside tables."""

    tables: tuple[tuple[tuple[GridCell, ...], ...], ...]   # tables → rows → cells, nested tables after parents
    paragraphs: tuple[str, ...]                             # body text outside tables (text boxes included)


def read_docx_layout(path: Path) -> DocxLayout:
    """Tables as grid-placed cells (never python-docx's row.cells, which repeats merged cells) plus loose text."""
    return _part(path).layout


_Rows = tuple[tuple[tuple[GridCell, ...], int], ...]   # a table's kept rows: placed cells, w:gridAfter


class _MainPart:
    """A parsed main part, and each reading of it done once, when first asked for (the results are immutable)."""

    def __init__(self, body: etree._Element, pictures: int) -> None:
        self.body = body
        self.pictures = pictures

    @cached_property
    def text(self) -> DocxText:
        walker = _TextWalker(into_tables=True)
        walker.walk(self.body)
        return DocxText(paragraphs=tuple(walker.paragraphs))

    @cached_property
    def tables(self) -> tuple[_Rows, ...]:
        """Every table's rows, nested tables after their parent."""
        found: list[_Rows] = []
        _collect(self.body, lambda tbl: found.append(_rows_with_after(tbl)))
        return tuple(found)

    @cached_property
    def layout(self) -> DocxLayout:
        # A one-cell table around the whole form (or around a block of it, at any depth) is layout, not a table:
        # its paragraphs (申报单位：…) are loose text and the tables inside it are the form's own.
        # is_wrapper_table counts the same kept rows and cells as _rows_with_after places.
        tables = tuple(tuple(cells for cells, _after in rows) for rows in self.tables
                       if not (len(rows) == 1 and len(rows[0][0]) == 1))
        walker = _TextWalker(into_tables=False, into_wrappers=True)
        walker.walk(self.body)
        return DocxLayout(tables=tables, paragraphs=tuple(walker.paragraphs))


def is_wrapper_table(tbl: etree._Element) -> bool:
    """Whether a w:tbl is one row of one cell: a frame drawn around content, which holds no label/value grid."""
    rows = [tr for tr in _find(tbl, _TR, stop=_TBL)
            if _first(_first(tr, _TR_PR), _DEL) is None]   # a deleted row is gone once revisions are accepted
    return len(rows) == 1 and sum(1 for _ in _find(rows[0], _TC, stop=_TBL)) == 1


@cache
def _w(*names: str) -> frozenset[str]:
    """The tags of WordprocessingML elements named `names`, in either namespace."""
    return frozenset(f"{{{ns}}}{name}" for ns in _W_NAMESPACES for name in names)


_AC, _CHOICE, _FALLBACK = _MC + "AlternateContent", _MC + "Choice", _MC + "Fallback"
_PRUNED = _w(*_SKIP) | {_FALLBACK}
_P, _TBL, _TR, _TC = _w("p"), _w("tbl"), _w("tr"), _w("tc")
_TR_PR, _TC_PR, _DEL = _w("trPr"), _w("tcPr"), _w("del")
_INLINE = {f"{{{ns}}}{name}": name for ns in _W_NAMESPACES
           for name in ("t", "tab", "ptab", "br", "cr", "noBreakHyphen", "fldChar")}
_TEXT_TAGS = _P | _INLINE.keys()             # what a text walk stops at, tables read through
_CELL_TEXT_TAGS = _TEXT_TAGS | _TBL          # … and with tables to skip (or look at)
_Event = tuple[str, etree._Element, etree.iterwalk]


def _view(root: etree._Element, tags: frozenset[str], events: tuple[str, ...] = ("start",)) -> Iterator[_Event]:
    """The `events` ("start" always among them) of the elements below `root` whose tags are in `tags`, in
    document order, as the document reads: mc:AlternateContent replaced by its first mc:Choice (never the
    Fallback), nothing inside properties, deleted text or field instructions (_SKIP). lxml walks the tree in C
    (comments and processing instructions never reach Python) and skips pruned subtrees there; at a start
    event the caller may skip_subtree() the walker given with it, to stay out of that element. No tag filter
    is given to lxml: building one costs more than the events it saves on a table cell."""
    walker = etree.iterwalk(root, events=events)
    for event, el in walker:
        tag = el.tag
        if tag in tags:
            if el is not root:
                yield event, el, walker
        elif tag in _PRUNED or tag == _AC:
            if event == "start" and el is not root:
                walker.skip_subtree()
                choice = next((c for c in el if c.tag == _CHOICE), None) if tag == _AC else None
                if choice is not None:
                    yield from _view(choice, tags, events)


class _TextWalker:
    """Collects paragraph texts from a subtree, honouring fields, revisions and text boxes."""

    def __init__(self, into_tables: bool, into_wrappers: bool = False) -> None:
        self.into_tables = into_tables
        self.into_wrappers = into_wrappers   # still read one-cell layout tables as running text
        self.paragraphs: list[str] = []
        # One entry per open complex field: True once its "separate" is reached (the result shows).
        self._fields: list[bool] = []
        self._buffer: list[str] | None = None
        self._open: list[tuple[int, list[str] | None]] = []   # per open paragraph: its index, the outer buffer

    def walk(self, el: etree._Element) -> None:
        """Visit the elements below `el`."""
        tags = _TEXT_TAGS if self.into_tables else _CELL_TEXT_TAGS
        for event, child, walker in _view(el, tags, ("start", "end")):
            tag = child.tag
            if tag in _P:
                if event == "start":
                    self._start_paragraph()
                else:
                    self._end_paragraph()
            elif event == "end":
                continue
            elif tag in _TBL:
                if not (self.into_wrappers and is_wrapper_table(child)):
                    walker.skip_subtree()  # a cell's own text; its nested tables are listed on their own
            else:
                walker.skip_subtree()  # what an inline element holds is never text
                self._inline(_INLINE[tag], child)

    def _start_paragraph(self) -> None:
        # Text-box paragraphs met inside this one are appended after it, their place kept by the index.
        self._open.append((len(self.paragraphs), self._buffer))
        self.paragraphs.append("")
        self._buffer = []

    def _end_paragraph(self) -> None:
        index, outer = self._open.pop()
        self.paragraphs[index] = "".join(self._buffer or ())
        self._buffer = outer
        # A field still in its instruction part at a paragraph end is malformed (Word never splits
        # an instruction there); dropping it keeps one bad field from hiding the rest of the document.
        while self._fields and not self._fields[-1]:
            self._fields.pop()

    def _inline(self, name: str, el: etree._Element) -> None:
        if name == "fldChar":
            kind = _attr(el, "fldCharType")
            if kind == "begin":
                self._fields.append(False)
            elif kind == "separate" and self._fields:
                self._fields[-1] = True
            elif kind == "end" and self._fields:
                self._fields.pop()
            return
        if self._buffer is None or not all(self._fields):
            return  # outside a paragraph, or inside a field's instruction part
        if name == "t":
            # XML carries DEL and the C1 controls (U+009B is CSI to a terminal); no form or narrative means them.
            self._buffer.append(xml_text(el.text or ""))
        elif name in ("tab", "ptab"):
            self._buffer.append("\t")
        elif name in ("br", "cr"):
            self._buffer.append("\n")
        else:
            self._buffer.append("-")


def _collect(el: etree._Element, visit: Callable[[etree._Element], None]) -> None:
    """Visit every table below `el`, a parent before the tables nested in it."""
    for _event, tbl, _walker in _view(el, _TBL):
        visit(tbl)


def _grid(table: _Rows) -> list[list[str]]:
    rows: list[list[str]] = []
    for placed, grid_after in table:
        row: list[str] = []
        for cell in placed:
            row.extend([""] * (cell.col - len(row)))
            row.append(cell.text)
            row.extend([""] * (cell.span - 1))
        rows.append(row + [""] * grid_after)
    return rows


def _rows_with_after(tbl: etree._Element) -> _Rows:
    """Each kept row's placed cells and its w:gridAfter (empty grid columns after its last cell)."""
    rows: list[tuple[tuple[GridCell, ...], int]] = []
    for tr in _find(tbl, _TR, stop=_TBL):
        tr_pr = _first(tr, _TR_PR)
        if tr_pr is not None and _first(tr_pr, _DEL) is not None:
            continue  # a deleted row is gone once revisions are accepted
        col = _int_val(tr_pr, "gridBefore", 0)
        cells: list[GridCell] = []
        for tc in _find(tr, _TC, stop=_TBL):
            tc_pr = _first(tc, _TC_PR)
            span = max(1, _int_val(tc_pr, "gridSpan", 1))
            continued = _is_continuation(tc_pr)
            text = "" if continued else _cell_text(tc)  # a merge keeps its text in the cell that starts it
            cells.append(GridCell(len(rows), col, span, text, continued))
            col += span
        rows.append((tuple(cells), _int_val(tr_pr, "gridAfter", 0)))
    return tuple(rows)


def _cell_text(tc: etree._Element) -> str:
    walker = _TextWalker(into_tables=False)
    walker.walk(tc)
    # A cell holding a nested table also holds empty paragraphs around it.
    return "\n".join(walker.paragraphs).strip("\n")


def _find(el: etree._Element, want: frozenset[str], stop: frozenset[str]) -> Iterator[etree._Element]:
    """Descendants tagged `want` through wrappers (w:sdt, w:customXml, w:ins), not inside `stop` nor inside
    another `want`."""
    for _event, child, walker in _view(el, want | stop):
        walker.skip_subtree()
        if child.tag in want:
            yield child


def _first(el: etree._Element | None, tags: frozenset[str]) -> etree._Element | None:
    """The first child of `el` tagged one of `tags` (no mc:AlternateContent looked into: properties)."""
    if el is None:
        return None
    return next((c for c in el if c.tag in tags), None)


def _attr(el: etree._Element, name: str) -> str | None:
    for ns in _W_NAMESPACES:
        value = el.get(f"{{{ns}}}{name}")
        if value is not None:
            return value
    return None


def _int_val(parent: etree._Element | None, name: str, default: int) -> int:
    el = _first(parent, _w(name))
    if el is None:
        return default
    try:
        return min(int(_attr(el, "val") or default), 1000)  # a hostile span must not allocate millions
    except ValueError:
        return default


def _is_continuation(tc_pr: etree._Element | None) -> bool:
    for name in ("vMerge", "hMerge"):  # hMerge: the pre-2007 way of merging horizontally
        el = _first(tc_pr, _w(name))
        if el is not None and (_attr(el, "val") or "continue") == "continue":
            return True
    return False


def _version(path: Path) -> tuple[int, int, int, int]:
    """The file's identity and version: device, inode, size, modification time (ns)."""
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1, -1, -1)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _part(path: Path) -> _MainPart:
    """The main document part parsed (kept for the next reader of the same file), or DocumentUnreadable."""
    key = _version(path)
    kept = _parts.get(key)
    if kept is not None:
        _parts.move_to_end(key)
        return kept
    body, pictures, size = _read_body(path)
    part = _MainPart(body, pictures)
    if key[0] >= 0 and size <= _KEPT_XML:
        _parts[key] = part
        while len(_parts) > _KEPT_BODIES:
            _parts.popitem(last=False)
    return part


def _read_body(path: Path) -> tuple[etree._Element, int, int]:
    """Parse the main document part, or explain in DocumentUnreadable why it cannot be; with the count of
    pictures and the part's size."""
    kind = sniff_file(path)
    if kind == "ole":
        if "EncryptedPackage" in ole_root_entries(path):
            raise DocumentUnreadable("encrypted (password-protected) Office document")
        raise DocumentUnreadable("OLE2 file that is not a Word document")
    if kind == "doc":
        raise DocumentUnreadable("legacy Word 97-2003 / WPS document, not DOCX")
    if kind not in ("zip", "docx", "ooxml"):
        raise DocumentUnreadable(f"not a DOCX file (looks like {kind})")
    try:
        with zipfile.ZipFile(path) as z:
            part = _main_part(z)
            with z.open(part) as member:
                data = member.read(MAX_DOCUMENT_XML + 1)
            pictures = sum(1 for name in z.namelist() if name.startswith("word/media/") and not name.endswith("/"))
    except DocumentUnreadable:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError,
            NotImplementedError, ValueError) as exc:
        raise DocumentUnreadable(f"corrupt DOCX zip: {exc}") from exc
    if len(data) > MAX_DOCUMENT_XML:
        raise DocumentUnreadable("document.xml is larger than 50 MB")
    try:
        root = _parse(data, "document.xml")
    except etree.XMLSyntaxError as exc:
        raise DocumentUnreadable(f"document.xml is not well-formed XML: {exc}") from exc
    body = _first(root, _w("body"))
    if body is None:
        raise DocumentUnreadable("document.xml has no w:body")
    return body, pictures, len(data)


def _parse(data: bytes, name: str) -> etree._Element:
    """Parse a part; DocumentUnreadable when it has a DTD. Word never writes one, entity tricks do. The
    parser itself reports the DTD (docinfo), so a DOCTYPE after a long comment or in UTF-16 is found too,
    and the parser expands none of its entities meanwhile."""
    root = etree.fromstring(data, _PARSER)
    if root.getroottree().docinfo.internalDTD is not None:
        raise DocumentUnreadable(f"{name} has a DTD")
    return root


def _main_part(z: zipfile.ZipFile) -> str:
    names = set(z.namelist())
    # The package relationships name the main part; some generators don't call it word/document.xml.
    if "_rels/.rels" in names:
        try:
            with z.open("_rels/.rels") as rels_file:
                rels = _parse(rels_file.read(1 << 20), "_rels/.rels")
            for rel in rels:
                if str(rel.get("Type") or "").endswith(_R_OFFICE_DOCUMENT):
                    target = posixpath.normpath(str(rel.get("Target") or "").lstrip("/"))
                    if target in names:
                        return target
        except etree.XMLSyntaxError:
            pass
    if "word/document.xml" in names:
        return "word/document.xml"
    raise DocumentUnreadable("zip has no word/document.xml (not a DOCX)")
