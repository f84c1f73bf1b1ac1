"""The report's workbook: one sheet per verdict, one row per submission with its fields and findings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.rules.findings import Verdict, basis_label
from pipeline.staff.review import VERDICT_NAMES
from pipeline.textsafe import cell_text, formula_like

if TYPE_CHECKING:
    from pipeline.config import Campaign
    from pipeline.staff.report import Entry, ReportData

# (form field key, column title): the keys of Submission.fields, in the order of the 申报表.
FIELD_COLUMNS = (
    ("category", "类别"), ("applicant_unit", "申报单位"), ("established", "成立时间"), ("industry", "所属行业"),
    ("leader_name", "带头人"), ("leader_gender", "性别"), ("leader_birth", "出生年月"), ("leader_age", "年龄"),
    ("leader_education", "学历"), ("leader_title", "职称/技术等级"), ("leader_post", "工作岗位及职务"),
    ("leader_specialty", "主要技能特长"), ("leader_honour", "曾获最高荣誉"), ("leader_phone", "联系电话"),
    ("area", "面积"), ("location", "工作室地点"), ("member_count", "成员数"), ("funding_wan", "经费投入（万元）"),
    ("innovation_field", "创新领域"), ("innovation_result_count", "创新成果数"), ("innovation_results", "主要创新成果"),
    ("members", "工作室成员"), ("narrative_char_count", "事迹材料字数"),
)
# Fields computed from others, and what a campaign must ask for to have them.
_DERIVED = {"category": lambda c, names: True, "leader_age": lambda c, names: "leader_birth" in names,
            "innovation_result_count": lambda c, names: "innovation_results" in names,
            "members": lambda c, names: c.form is not None and c.form.schema.members is not None,
            "narrative_char_count": lambda c, names: c.role("narrative") is not None}
_SHOWN_ELSEWHERE = frozenset({"studio_name", "recommending_unit"})   # BASE_COLUMNS have them


def field_columns(campaigns: Sequence[Campaign]) -> list[tuple[str, str]]:
    """(field key, column title) for the campaigns of the config: the fields their forms have, in the order of
    FIELD_COLUMNS, then each campaign's other form fields titled by their first label. The leader's column
    is titled in the campaigns' own word (带头人, 领衔人); a field no campaign asks for has no column.
    Without campaigns: FIELD_COLUMNS."""
    if not campaigns:
        return list(FIELD_COLUMNS)
    labels: dict[str, str] = {}
    for c in campaigns:
        specs = (*c.form.schema.header_fields, *c.form.schema.fields) if c.form is not None else ()
        names = {spec.name for spec in specs}
        for spec in specs:
            labels.setdefault(spec.name, spec.labels[0] if spec.labels else spec.name)
        for key, has in _DERIVED.items():
            if has(c, names):
                labels.setdefault(key, key)
    leader = "/".join(dict.fromkeys(c.wording.leader for c in campaigns if c.form is not None)) or "带头人"
    known = [(key, leader if key == "leader_name" else title) for key, title in FIELD_COLUMNS if key in labels]
    listed = {key for key, _ in FIELD_COLUMNS} | _SHOWN_ELSEWHERE
    return known + [(key, title) for key, title in labels.items() if key not in listed]


BASE_COLUMNS = ("编号", "收到时间", "发件人", "主题", "推荐单位", "工作室名称", "结论", "系统结论", "人工意见",
                "是否已被替代", "问题代码", "问题说明", "回复状态")
WIDTHS = {"主题": 40, "问题说明": 60, "主要创新成果": 40, "工作室成员": 40, "推荐单位": 18, "工作室名称": 22}
HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")


def field_value(value: Any) -> Any:
    """A field as one cell: numbers stay numbers, lists become lines, missing stays empty (never "None")."""
    if value is None:
        return None
    if isinstance(value, (int, float, str)):
        return value
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values() if v not in (None, ""))
    if isinstance(value, list):
        return "\n".join(str(field_value(v)) for v in value if v not in (None, ""))
    return str(value)


def append_row(ws: Worksheet, values: Sequence[Any]) -> None:
    """Append a row in which any text may come from a stranger: every str becomes a string cell (never a
    formula), numbers and dates the project computed stay what they are.

    openpyxl stores any str that starts with "=" as a formula, and refuses the whole workbook for one
    control character (IllegalCharacterError). So text is cleaned first (textsafe.cell_text) and then
    forced to a string cell. A text that a spreadsheet would read as a formula when a clerk re-enters the
    cell (= + - @, tab, CR) also gets Excel's quote prefix, the flag Excel itself sets for a value typed
    with a leading apostrophe: the cell shows and prints exactly what the sender wrote, nothing prepended,
    and stays text when edited. Writing an apostrophe into the value instead would put it on the printed
    汇总表 and into every comparison with the form.
    """
    cleaned = [cell_text(v) if isinstance(v, str) else v for v in values]
    ws.append(cleaned)
    row = ws.max_row
    for column, value in enumerate(cleaned, 1):
        if isinstance(value, str):
            _as_text(ws.cell(row=row, column=column))


def _as_text(cell: Cell) -> None:
    cell.data_type = "s"
    if formula_like(cell.value):
        cell.quotePrefix = True


def _finding_line(f: Any) -> str:
    return (f"[{f.severity}] {f.code}：{f.message}" + (f"（{f.file}）" if f.file else "")
            + (f"（依据：{basis_label(f.basis)}）" if f.basis else ""))


def entry_row(e: Entry, columns: Sequence[tuple[str, str]] = FIELD_COLUMNS) -> list[Any]:
    """One submission as a row of the workbook."""
    sub, fields = e.sub, e.sub.fields or {}
    note = f"{e.decision.decided_by}：{e.decision.note}" if e.decision else None
    return [sub.id, e.received, sub.message.from_addr, sub.message.subject, sub.recommending_unit or None,
            sub.studio_name or None, VERDICT_NAMES.get(e.verdict, e.verdict),
            VERDICT_NAMES.get(sub.verdict, sub.verdict), note, f"是（#{sub.superseded_by}）" if sub.superseded_by else "否",
            ", ".join(dict.fromkeys(f.code for f in sub.findings)) or None,
            "\n".join(map(_finding_line, sub.findings)) or None, e.reply_status,
            *(field_value(fields.get(key)) for key, _ in columns)]


def _sheet(ws: Worksheet, entries: list[Entry], columns: Sequence[tuple[str, str]]) -> None:
    header = [*BASE_COLUMNS, *(title for _, title in columns)]
    append_row(ws, header)
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for e in entries:
        append_row(ws, entry_row(e, columns))
    for i, title in enumerate(header, 1):
        ws.column_dimensions[get_column_letter(i)].width = WIDTHS.get(title, 14)
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    ws.freeze_panes = "A2"  # the header stays while scrolling
    ws.auto_filter.ref = ws.dimensions


def write_workbook(data: ReportData, path: Path, campaigns: Sequence[Campaign] = ()) -> Path:
    """Write the workbook: sheets 已受理 / 退回 / 待人工核实 / 已忽略, by effective verdict, with the form fields
    of `campaigns` (see field_columns)."""
    book = Workbook()
    book.remove(book.active)
    columns = field_columns(campaigns)
    for verdict in Verdict:
        _sheet(book.create_sheet(VERDICT_NAMES[verdict]), [e for e in data.entries if e.verdict == verdict], columns)
    book.save(path)
    return path
