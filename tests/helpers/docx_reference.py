"""The DOCX walk as it was before the walk in C (commit c10a8f2): Python recursion over every element; the grid
placement written out anew, the same rule.

Kept as the reference the fast walk in parsers/docx_text.py must match exactly (tests/unit/test_docx_walk.py):
the same paragraphs, tables and placed cells for any main part, however odd its markup.

    from helpers.docx_reference import reference_layout, reference_tables, reference_text
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from lxml import etree

from parsers.docx_text import DocxLayout, DocxText, GridCell
from parsers.xmltext import xml_text

_W_NAMESPACES = (
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main",
)
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_SKIP = frozenset({
    "pPr", "rPr", "sectPr", "tblPr", "tblGrid", "trPr", "tcPr", "tblPrEx", "sdtPr", "sdtEndPr",
    "del", "moveFrom", "delText", "instrText", "delInstrText", "sym",
})


def reference_text(body: etree._Element) -> DocxText:
    """read_docx_text of a parsed w:body."""
    walker = _TextWalker(into_tables=True)
    walker.walk(body)
    return DocxText(paragraphs=tuple(walker.paragraphs))


def reference_tables(body: etree._Element) -> list[list[list[str]]]:
    """read_docx_tables of a parsed w:body."""
    tables: list[list[list[str]]] = []
    _collect(body, lambda tbl: tables.append(_grid(tbl)))
    return tables


def reference_layout(body: etree._Element) -> DocxLayout:
    """read_docx_layout of a parsed w:body."""
    walker = _TextWalker(into_tables=False, into_wrappers=True)
    walker.walk(body)
    found: list[etree._Element] = []
    _collect(body, found.append)
    grids = tuple(_placed_rows(tbl) for tbl in found if not _is_wrapper_table(tbl))
    return DocxLayout(tables=grids, paragraphs=tuple(walker.paragraphs))


def _is_wrapper_table(tbl: etree._Element) -> bool:
    rows = [tr for tr in _find(tbl, "tr", stop="tbl") if _first(_first(tr, "trPr"), "del") is None]
    return len(rows) == 1 and sum(1 for _ in _find(rows[0], "tc", stop="tbl")) == 1


def _local(el: etree._Element) -> str | None:
    tag = el.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return None
    ns, _, name = tag[1:].partition("}")
    return name if ns in _W_NAMESPACES else None


def _children(el: etree._Element) -> Iterator[etree._Element]:
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag == _MC + "AlternateContent":
            choice = next((c for c in child if c.tag == _MC + "Choice"), None)
            if choice is not None:
                yield from _children(choice)
        elif child.tag == _MC + "Fallback":
            continue
        else:
            yield child


class _TextWalker:
    def __init__(self, into_tables: bool, into_wrappers: bool = False) -> None:
        self.into_tables = into_tables
        self.into_wrappers = into_wrappers
        self.paragraphs: list[str] = []
        self._fields: list[bool] = []
        self._buffer: list[str] | None = None

    def walk(self, el: etree._Element) -> None:
        for child in _children(el):
            name = _local(child)
            if name in _SKIP:
                continue
            if name == "p":
                self._paragraph(child)
            elif name == "tbl" and not self.into_tables and not (self.into_wrappers and _is_wrapper_table(child)):
                continue
            elif name in ("t", "tab", "ptab", "br", "cr", "noBreakHyphen", "fldChar"):
                self._inline(name, child)
            else:
                self.walk(child)

    def _paragraph(self, p: etree._Element) -> None:
        outer = self._buffer
        index = len(self.paragraphs)
        self.paragraphs.append("")
        self._buffer = []
        self.walk(p)
        self.paragraphs[index] = "".join(self._buffer)
        self._buffer = outer
        while self._fields and not self._fields[-1]:
            self._fields.pop()

    def _inline(self, name: str, el: etree._Element) -> None:
        if name == "fldChar":
            self._field(_attr(el, "fldCharType"))
        elif self._buffer is not None and all(self._fields):
            self._buffer.append(xml_text(el.text or "") if name == "t" else _SHOWN_AS[name])

    def _field(self, kind: str | None) -> None:
        """A complex field begins (its instruction hides text), shows its result, or ends."""
        if kind == "begin":
            self._fields.append(False)
        elif self._fields and kind == "separate":
            self._fields[-1] = True
        elif self._fields and kind == "end":
            del self._fields[-1]


_SHOWN_AS = {"tab": "\t", "ptab": "\t", "br": "\n", "cr": "\n", "noBreakHyphen": "-"}


def _collect(el: etree._Element, visit: Callable[[etree._Element], None]) -> None:
    for child in _children(el):
        name = _local(child)
        if name in _SKIP:
            continue
        if name == "tbl":
            visit(child)
        _collect(child, visit)


def _grid(tbl: etree._Element) -> list[list[str]]:
    """Each row's cells laid on the grid: a spanned cell's text in its first column, blanks elsewhere."""
    out = []
    for cells, after in _rows_with_after(tbl):
        slots = {cell.col: cell.text for cell in cells}
        width = max((cell.col + cell.span for cell in cells), default=0)
        out.append([slots.get(col, "") for col in range(width)] + [""] * after)
    return out


def _placed_rows(tbl: etree._Element) -> tuple[tuple[GridCell, ...], ...]:
    return tuple(cells for cells, _ in _rows_with_after(tbl))


def _rows_with_after(tbl: etree._Element) -> list[tuple[tuple[GridCell, ...], int]]:
    """Rows not deleted, each as its placed cells and its w:gridAfter."""
    kept = [tr for tr in _find(tbl, "tr", stop="tbl") if _first(_first(tr, "trPr"), "del") is None]
    return [(_placed(index, tr), _int_val(_first(tr, "trPr"), "gridAfter", 0)) for index, tr in enumerate(kept)]


def _placed(index: int, tr: etree._Element) -> tuple[GridCell, ...]:
    starts = [_int_val(_first(tr, "trPr"), "gridBefore", 0)]
    cells = []
    for tc in _find(tr, "tc", stop="tbl"):
        span = max(1, _int_val(_first(tc, "tcPr"), "gridSpan", 1))
        merged = _is_continuation(_first(tc, "tcPr"))
        cells.append(GridCell(index, starts[-1], span, "" if merged else _cell_text(tc), merged))
        starts.append(starts[-1] + span)
    return tuple(cells)


def _cell_text(tc: etree._Element) -> str:
    walker = _TextWalker(into_tables=False)
    walker.walk(tc)
    return "\n".join(walker.paragraphs).strip("\n")


def _find(el: etree._Element, want: str, stop: str) -> Iterator[etree._Element]:
    for child in _children(el):
        name = _local(child)
        if name == want:
            yield child
        elif name != stop and name not in _SKIP:
            yield from _find(child, want, stop)


def _first(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    return next((c for c in el if _local(c) == name), None)


def _attr(el: etree._Element, name: str) -> str | None:
    """The attribute in the first namespace that has it."""
    return next((v for v in (el.get(f"{{{ns}}}{name}") for ns in _W_NAMESPACES) if v is not None), None)


def _int_val(parent: etree._Element | None, name: str, default: int) -> int:
    """A property's w:val as a number (at most 1000), `default` when absent or not a number."""
    el = _first(parent, name)
    try:
        return default if el is None else min(int(_attr(el, "val") or default), 1000)
    except ValueError:
        return default


def _is_continuation(tc_pr: etree._Element | None) -> bool:
    merges = (_first(tc_pr, name) for name in ("vMerge", "hMerge"))
    return any(el is not None and (_attr(el, "val") or "continue") == "continue" for el in merges)
