"""Text from strangers, made safe for the place it is written to. Pure functions, no I/O.

Every subject, sender name, file name from an archive, form field, summary-table cell and finding message
that quotes them may hold anything: control characters that XML cannot carry (openpyxl and python-docx
refuse the whole file for one), ESC sequences a terminal would execute (colours, OSC 52 clipboard writes,
OSC 8 links), bidi overrides that show `exe.pdf` for `fdp.exe`, a leading `=` that a spreadsheet reads
as a formula, or lone surrogates (bytes that were never text) that crash any encoder. Each writer calls
the one function for its medium here, so a new output cannot forget a case another output handles:

- `xml_text`: what an XML document can hold (parsers.xmltext: the parsers' edge, and the base of the others);
- `document_text`: the HTML report, the report mail's text, Word tables;
- `cell_text` / `formula_like`: one spreadsheet cell;
- `terminal_text`: one value printed on a terminal or into a log line;
- `json_text`: JSON already serialised with ensure_ascii=False, before it is printed;
- `file_name_text`: the name a download is offered under (a header value).
"""

from __future__ import annotations

import re

from parsers.xmltext import xml_text

__all__ = ["FORMULA_STARTS", "cell_text", "document_text", "file_name_text", "formula_like", "json_text",
           "terminal_text", "visible", "xml_text"]
# Marks and overrides that reorder the text around them (RLO shows "申报表\u202excod.exe" as "申报表exe.docx").
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BIDI_CONTROL = re.compile(f"[{_BIDI}]")
# What a terminal must never receive raw: every C0 control (tab and newline too, unless the caller keeps
# them), DEL, C1, the bidi controls, the line and paragraph separators, and lone surrogates.
_TERMINAL_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")
# What JSON leaves raw with ensure_ascii=False and a terminal must not receive (it escapes C0 itself).
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")

# A spreadsheet reads a cell typed with one of these first characters as a formula (a full-width ＝ too,
# in Excel with a Chinese input method); tab and CR lead the same payloads in CSV injection.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
# Excel's limit on one cell, in UTF-16 code units; a longer cell makes Excel "repair" the whole workbook.
EXCEL_CELL_LIMIT = 32_767
_CUT_MARK = "……（已截断）"
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def visible(ch: str) -> str:
    """One character as the escape Python would write for it, which a reader sees and a terminal does not
    act on: \\x1b, \\u202e, \\n."""
    code = ord(ch)
    return _NAMED.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def document_text(text: str) -> str:
    """Text for a document a person reads (the HTML report, its text part, a Word table): xml_text, with
    bidi controls shown as escapes so that a file name reads in the order its characters really have."""
    return _BIDI_CONTROL.sub(lambda m: visible(m.group()), xml_text(text))


def cell_text(text: str) -> str:
    """Text for one spreadsheet cell: document_text, cut to what Excel holds in a cell (with a note)."""
    text = document_text(text)
    if _utf16_units(text) <= EXCEL_CELL_LIMIT:
        return text
    return _first_units(text, EXCEL_CELL_LIMIT - _utf16_units(_CUT_MARK)) + _CUT_MARK


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # no lone surrogate is left: xml_text replaced them


def _first_units(text: str, room: int) -> str:
    """The longest start of `text` that takes at most `room` UTF-16 units (never half a pair)."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            return text[:i]
    return text


def formula_like(text: str) -> bool:
    """Whether a spreadsheet would take `text` for a formula if a clerk re-entered the cell (see
    pipeline/staff/report_xlsx.py: such a cell is written as a string with Excel's quote prefix)."""
    return text.startswith(FORMULA_STARTS)


def terminal_text(text: str, keep: str = "") -> str:
    """A value for a terminal (or a log line): every control, bidi control and lone surrogate shown as an
    escape, never emitted. `keep` lists characters printed as they are ("\\n" for multi-line output)."""
    return _TERMINAL_UNSAFE.sub(lambda m: m.group() if m.group() in keep else visible(m.group()), text)


def json_text(serialised: str) -> str:
    """JSON from json.dumps(…, ensure_ascii=False) made safe to print: DEL, C1 and bidi controls, line
    separators and lone surrogates as \\u escapes. Outside strings JSON has only ASCII, so every match is
    inside a string, where the escape decodes to the same character (json.loads gives the value back)."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", serialised)


def file_name_text(name: str, fallback: str = "file") -> str:
    """The last part of a name from an archive or a mail, fit to offer a download under: no controls (a
    newline in a header is refused, or splits it), no bidi controls or lone surrogates, no path separators;
    `fallback` when nothing is left."""
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _TERMINAL_UNSAFE.sub("_", last).strip(" .")
    return cleaned or fallback
