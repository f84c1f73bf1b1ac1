"""Read a filled application form and a summary table by their labels, the way clerks fill them.

The schema (which labels mean which field, which are required, the member
table's columns) comes from the campaign config; nothing here knows a notice.
A value is looked for in the label's own cell ("姓名：张三"), then to the right
of the label, then below it (forms laid out as a header row over a value row).
A cell that can't be read into its kind becomes "unreadable", never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from parsers import normalize
from parsers.labels import LabelIndex

if TYPE_CHECKING:  # a type only: the schema and the record are read by the rules, which open no files
    from parsers.docx_text import DocxLayout

Normaliser = Callable[[str], object]
KINDS: dict[str, Normaliser] = {
    "text": normalize.plain, "month": normalize.month, "phone": normalize.phone, "money_wan": normalize.money_wan,
    "count": normalize.count, "gender": normalize.gender, "age": normalize.age,
    "choice": lambda text: normalize.plain(normalize.checked_option(text)),   # "☑技术创新型 □服务创新型"
}
LIST_KIND = "list"
# Text a clerk writes instead of a list: "see the attached sheet" — not a count of results.
_SEE_ATTACHED = re.compile(r"见附[页件表]|附后|详见")
_ITEM_NUMBER = re.compile(r"(?:^|(?<=[；;。\s]))(?:[（(]?\d{1,2}[)）.、．]|[（(][一二三四五六七八九十]{1,2}[)）]|[一二三四五六七八九十]{1,2}、)\s*"
                          r"|(?<=[)）])[（(]\d{1,2}[)）]\s*")   # "…（2020年）（2）…": the next item right after a bracket
_LEFTOVER = re.compile(r"^[…．.。、\s]*(?:可附页|附页)?[…．.。、\s]*$")


@dataclass(frozen=True)
class FieldSpec:
    """One form field: its labels (synonyms), how its value is read, whether it must be filled."""

    name: str
    labels: tuple[str, ...]
    kind: str = "text"
    required: bool = False
    max_items: int = 0      # a list field may hold at most this many items (0: no limit)

    @property
    def title(self) -> str:
        """How findings name the field: its first label."""
        return self.labels[0]


@dataclass(frozen=True)
class TableSpec:
    """A table with a header row: its columns (field name → header labels) and where it ends."""

    columns: tuple[FieldSpec, ...]
    min_header_matches: int = 3
    end_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormSchema:
    """What one campaign's application form looks like."""

    fields: tuple[FieldSpec, ...]
    header_fields: tuple[FieldSpec, ...] = ()   # read from the lines above the table, e.g. 申报单位：
    members: TableSpec | None = None
    section_labels: tuple[str, ...] = ()        # labels that hold no value (工作室带头人情况 …)


@dataclass
class FormRecord:
    """What was read from one form."""

    values: dict[str, object] = field(default_factory=dict)    # field → normalised value (None: blank)
    raw: dict[str, str] = field(default_factory=dict)          # field → the text as written
    members: list[dict[str, object]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)           # required fields left blank (their titles)
    unreadable: list[str] = field(default_factory=list)        # filled but not readable as their kind
    results_see_attached: bool = False                         # the results cell says "见附页"


@dataclass(frozen=True)
class _Cell:
    table: int
    row: int
    col: int
    span: int
    text: str
    continued: bool

    @cached_property
    def key(self) -> str:
        return normalize.label_key(self.text)   # asked for again and again: each label is looked for in every cell


def _either_width(ch: str) -> str:
    """A regex for `ch` in its ASCII or full-width form (labels are NFKC-normalised, cell text is not)."""
    if "!" <= ch <= "~":
        return f"[{re.escape(ch)}{re.escape(chr(ord(ch) + 0xFEE0))}]"
    return re.escape(ch)


def _labels_pattern(label: str, anywhere: bool = False) -> re.Pattern[str]:
    """`label` with any spacing between its characters, then a colon or space, then the value; `anywhere`:
    the label may also follow other text on the line after a space ("姓名：张三　　性别：男")."""
    chars = r"[\s\u3000]*".join(_either_width(ch) for ch in normalize.squash(label))
    start = r"(?:^|(?<=[\s\u3000]))" if anywhere else r"^[\s\u3000]*"
    return re.compile(rf"{start}{chars}[\s\u3000]*(?:[:：][\s\u3000]*|[\s\u3000]+)(?P<value>\S.*)$", re.DOTALL)


class _Grid:
    """All cells of a document's tables, addressable by (table, row, column)."""

    def __init__(self, layout: DocxLayout, labels: set[str], sections: set[str] | None = None,
                 index: LabelIndex | None = None) -> None:
        self.rows: list[list[list[_Cell]]] = [
            [[_Cell(t, c.row, c.col, c.span, c.text, c.continued) for c in row] for row in table]
            for t, table in enumerate(layout.tables)]
        self.labels = labels
        self.excluded: set[tuple[int, int]] = set()   # (table, row) of the member table
        # Cells whose text is not one of the config's spellings but means a field (领衔人, 组建日期 …).
        self.meant: dict[_Cell, str] = self._reworded(index, sections or set()) if index else {}

    def cells(self) -> list[_Cell]:
        return [c for table in self.rows for row in table for c in row if (c.table, c.row) not in self.excluded]

    def is_label(self, cell: _Cell) -> bool:
        return cell.key in self.labels or cell in self.meant

    def _reworded(self, index: LabelIndex, sections: set[str]) -> dict[_Cell, str]:
        """Reworded labels, told from values the way a reader tells them: by where they stand. A cell right
        after a field's label is that field's value even when it reads like a label (工作岗位及职务 |
        工作室负责人), and so is a cell in the row under a row of labels (labels over values)."""
        meant: dict[_Cell, str] = {}
        for table in self.rows:
            above_all_labels = False
            for row in table:
                after_label, filled, labelled = False, 0, 0
                for cell in sorted(row, key=lambda c: c.col):
                    if cell.continued or not cell.text.strip():
                        after_label = False
                        continue
                    filled += 1
                    if cell.key in self.labels:
                        labelled += 1
                        after_label = cell.key not in sections   # a section title has no value beside it
                        continue
                    name = None if after_label or above_all_labels else index.field_of(cell.text)
                    if name is not None:
                        meant[cell] = name
                        labelled += 1
                    after_label = name is not None
                above_all_labels = filled >= 2 and labelled == filled
        return meant

    def right_of(self, cell: _Cell) -> _Cell | None:
        row = self.rows[cell.table][cell.row]
        return next((c for c in row if c.col >= cell.col + cell.span), None)

    def below(self, cell: _Cell) -> _Cell | None:
        table = self.rows[cell.table]
        for r in range(cell.row + 1, min(cell.row + 4, len(table))):
            under = next((c for c in table[r] if c.col <= cell.col < c.col + c.span), None)
            if under is None or not under.continued:
                return under
        return None


@lru_cache(maxsize=16)
def _label_index(schema: FormSchema) -> LabelIndex:
    """One index per schema (a campaign's, for as long as the process runs): it remembers the labels it read."""
    return LabelIndex((spec.name, spec.labels) for spec in (*schema.fields, *schema.header_fields))


def read_form(layout: DocxLayout, schema: FormSchema) -> FormRecord:
    """Every field of `schema` from a form's tables and loose paragraphs."""
    record = FormRecord()
    labels = {normalize.label_key(label) for spec in (*schema.fields, *schema.header_fields)
              for label in spec.labels}
    sections = {normalize.label_key(s) for s in schema.section_labels}
    labels |= sections
    if schema.members:
        labels |= {normalize.label_key(label) for col in schema.members.columns for label in col.labels}
    index = _label_index(schema)
    grid = _Grid(layout, labels, sections, index)
    if schema.members:
        record.members = _read_members(grid, schema)
    for spec in schema.header_fields:
        raw = _header_value(layout.paragraphs, spec)
        if raw is None:
            raw = _table_value(grid, spec, index)
        if raw is None:
            raw = _reworded_line_value(layout.paragraphs, spec, index)
        _store(record, spec, raw or "")
    for spec in schema.fields:
        raw = _table_value(grid, spec, index)
        if raw is None:   # the label is in no table: a form typed as lines ("姓名：张三　　性别：男")
            raw = _header_value(layout.paragraphs, spec)
        if raw is None:
            raw = _reworded_line_value(layout.paragraphs, spec, index)
        _store(record, spec, raw or "")
    return record


def _store(record: FormRecord, spec: FieldSpec, raw: str) -> None:
    record.raw[spec.name] = raw
    if spec.kind == LIST_KIND:
        items = split_items(raw)
        record.results_see_attached = record.results_see_attached or (
            bool(_SEE_ATTACHED.search(raw)) and len(items) < 2)
        value: object = items or None
    else:
        value = KINDS.get(spec.kind, normalize.plain)(raw)
    record.values[spec.name] = value
    if value is None and spec.kind == LIST_KIND and _SEE_ATTACHED.search(raw):
        return  # "详见附页": filled in on an extra page, which a person reads
    if value is None:
        # A list with only its template numbering ("1.  2.  3.  ……可附页") is as blank as an empty cell.
        blank = normalize.plain(raw) is None or spec.kind == LIST_KIND
        if not blank:
            record.unreadable.append(spec.title)
        elif spec.required:
            record.missing.append(spec.title)


def split_items(text: str) -> list[str]:
    """'1.甲\\n2.乙', '1.甲；2.乙', '（1）甲（2）乙' → ['甲', '乙']; the template's '……可附页' line is dropped."""
    lines = [line.strip() for line in (text or "").splitlines()]
    items: list[str] = []
    for line in lines:
        parts = _ITEM_NUMBER.split(line) if _ITEM_NUMBER.search(line) else [line]
        for part in parts:
            item = part.strip().strip("；;，,。").strip()
            if item and not _LEFTOVER.match(item):
                items.append(item)
    return items


_DATE_TAIL = re.compile(r"[\s\u3000]*(?:\d{4}|[〇一二三四五六七八九○]{4})?[\s\u3000]*年[\s\u3000]*\d*[\s\u3000]*月"
                        r"[\s\u3000]*\d*[\s\u3000]*日?[\s\u3000]*$")


def _header_value(paragraphs: Sequence[str], spec: FieldSpec) -> str | None:
    """`申报单位：XX公司　　　2025年5月19日` → 'XX公司' (the date the template prints beside it removed)."""
    for label in spec.labels:
        pattern = _labels_pattern(label, anywhere=True)
        for paragraph in paragraphs:
            m = pattern.search(paragraph.strip())
            if m:
                value = _DATE_TAIL.sub("", m.group("value").strip())
                return re.split(r"[\s\u3000]{2,}|\t", value.strip())[0] if value.strip() else ""
    return None


_COLON = re.compile(r"[:：]")


def _reworded_inline(text: str, spec: FieldSpec, index: LabelIndex) -> str | None:
    """The value of "领衔人：张三" when the words before the colon mean `spec`, else None."""
    parts = _COLON.split(text, maxsplit=1)
    if len(parts) == 2 and parts[1].strip() and index.field_of(parts[0]) == spec.name:
        return parts[1].strip()
    return None


def _find_label(grid: _Grid, spec: FieldSpec, index: LabelIndex | None = None) -> tuple[_Cell, str] | None:
    """The first cell holding one of the field's labels: as the config spells it (alone, then "label：value"),
    then reworded (alone, then "label：value")."""
    cells = grid.cells()
    wanted = [normalize.label_key(label) for label in spec.labels]
    for key in wanted:
        for cell in cells:
            if not cell.continued and cell.key == key:
                return cell, ""
    for label in spec.labels:
        pattern = _labels_pattern(label)
        for cell in cells:
            m = pattern.match(cell.text) if not cell.continued else None
            if m and not grid.is_label(cell):
                return cell, m.group("value")
    reworded = next((cell for cell in cells if grid.meant.get(cell) == spec.name), None)
    if reworded is not None:
        return reworded, ""
    for cell in cells if index is not None else ():
        value = None if cell.continued or grid.is_label(cell) else _reworded_inline(cell.text, spec, index)
        if value is not None:
            return cell, value
    return None


def _reworded_line_value(paragraphs: Sequence[str], spec: FieldSpec, index: LabelIndex) -> str | None:
    """`负责人：张三　　性别：男` typed as a line: the value after a reworded label, up to the next gap."""
    for paragraph in paragraphs:
        for segment in re.split(r"[\s\u3000]{2,}|\t", paragraph.strip()):
            value = _reworded_inline(segment, spec, index)
            if value is not None:
                return _DATE_TAIL.sub("", value).strip() if spec.kind != "month" else value
    return None


def _table_value(grid: _Grid, spec: FieldSpec, index: LabelIndex | None = None) -> str | None:
    """The raw text of a field's value, or None when its label is nowhere in the form."""
    found = _find_label(grid, spec, index)
    if found is None:
        return None
    cell, inline = found
    if inline.strip():
        return inline.strip()
    right = grid.right_of(cell)
    if right is not None and not grid.is_label(right):
        return "" if right.continued else right.text
    below = grid.below(cell)
    if below is not None and not grid.is_label(below) and not below.continued:
        return below.text
    return ""


def _header_columns(grid: _Grid, row: list[_Cell], spec: TableSpec, non_member: set[str],
                    member_only: set[str]) -> dict[str, _Cell] | None:
    """Column name → header cell, when `row` is the member table's header row."""
    keys = {cell.key for cell in row}
    if keys & non_member and not keys & member_only:
        return None   # a leader block laid out vertically (出生年月, 联系电话 …; no 年龄): not the member table
    found: dict[str, _Cell] = {}
    for cell in row:
        for col in spec.columns:
            if col.name not in found and cell.key in {normalize.label_key(x) for x in col.labels}:
                found[col.name] = cell
    # The first column (姓名) identifies a member row: a leader row of 学历 / 职称 / 职务 labels is not a header.
    key = spec.columns[0].name if spec.columns else ""
    return found if len(found) >= spec.min_header_matches and key in found else None


def _read_members(grid: _Grid, schema: FormSchema) -> list[dict[str, object]]:
    """Rows under every member-table header (a continuation table on an extra page included)."""
    spec = schema.members
    assert spec is not None
    member_labels = {normalize.label_key(x) for col in spec.columns for x in col.labels}
    field_labels = {normalize.label_key(x) for f in schema.fields for x in f.labels}
    non_member = field_labels - member_labels
    member_only = member_labels - field_labels          # 年龄: only a member table has it
    ends = {normalize.label_key(x) for x in spec.end_labels} | non_member
    members: list[dict[str, object]] = []
    for t, table in enumerate(grid.rows):
        header: dict[str, _Cell] | None = None
        for r, row in enumerate(table):
            if header is None:
                header = _header_columns(grid, row, spec, non_member, member_only)
                if header is not None:
                    grid.excluded.add((t, r))
                continue
            if any(c.key in ends for c in row):
                header = None
                continue
            grid.excluded.add((t, r))
            member = _member_row(row, header, spec)
            if member is not None:
                members.append(member)
    return members


def _member_row(row: list[_Cell], header: dict[str, _Cell], spec: TableSpec) -> dict[str, object] | None:
    values: dict[str, object] = {}
    raw_any = False
    for col in spec.columns:
        head = header.get(col.name)
        if head is None:
            continue  # a column this form's table doesn't have (性别 in most)
        cell = next((c for c in row if head is not None and c.col <= head.col < c.col + c.span), None)
        text = cell.text if cell is not None and not cell.continued else ""
        if head is not None and cell is not None and cell.col != head.col and cell.span > 1 and cell.col < head.col:
            text = ""  # a wide cell starting in an earlier column ("可附页") belongs to that column
        raw_any = raw_any or bool(normalize.plain(text))
        values[col.name] = (normalize.plain(text) if col.kind == "text" else KINDS[col.kind](text)) if text else None
    name = values.get("name")
    if not raw_any or not name or _LEFTOVER.match(str(name)):
        return None
    return values


def read_table_rows(rows: Sequence[Sequence[str]], spec: TableSpec) -> list[dict[str, str]]:
    """Data rows of a summary table (from Excel or Word) under its header row, column names from `spec`."""
    data: list[dict[str, str]] = []
    index: dict[str, int] | None = None
    for row in rows:
        keys = [normalize.label_key(cell) for cell in row]
        matched = {col.name: keys.index(k) for col in spec.columns
                   for k in (normalize.label_key(x) for x in col.labels) if k in keys}
        if len(matched) >= spec.min_header_matches:
            index = matched   # a header row (a table repeated per unit repeats it)
            continue
        if index is None:
            continue
        values = {name: (row[i] if i < len(row) else "").strip() for name, i in index.items()}
        filled = {k: v for k, v in values.items() if v and k != "seq"}
        if filled:
            data.append(values)
    return data
