"""The consolidated 汇总表 (附件2 of the notice): accepted studios, grouped by recommending unit, print-ready.

Filled from the parsed form fields of the submissions whose effective verdict is accepted and that no
later submission for the same studio replaced. A value the form did not give leaves its cell empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.config import Campaign
from pipeline.intake.app import App
from pipeline.staff.report import unit_key
from pipeline.staff.review import effective_verdict
from pipeline.textsafe import document_text
from storage import repo
from storage import staff as staff_repo
from storage.models import Submission

# Column widths in Excel characters for the columns the notices print, chosen so that a table fills an A4
# landscape page; another column gets a width from its header's length.
KNOWN_WIDTHS = {"序号": 5, "推荐单位": 14, "申报单位": 16, "工作室名称": 18, "带头人姓名": 8, "年龄": 5, "性别": 5,
                "职务": 12, "技术等级/职称": 12, "曾获最高荣誉": 16, "主要技术特长": 16, "专业领域": 12, "成员人数": 6,
                "成立时间": 10, "所属行业": 10}
YEAR_MONTH = re.compile(r"^\s*(\d{4})\D{1,3}(\d{1,2})")


def _year_month(value: Any) -> tuple[int, int] | None:
    match = YEAR_MONTH.match(str(value)) if value else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return int(match.group(1)), int(match.group(2))


def month_text(value: Any) -> str | None:
    """"2019-03" → "2019年3月"; anything else as it was written, nothing → None."""
    parts = _year_month(value)
    if parts:
        return f"{parts[0]}年{parts[1]}月"
    return str(value) if value not in (None, "") else None


def age(fields: dict[str, Any], at: datetime) -> int | None:
    """leader_age, else whole years from leader_birth ("YYYY-MM") to `at` (the campaign's deadline)."""
    given = fields.get("leader_age")
    if isinstance(given, int) and not isinstance(given, bool):
        return given
    born = _year_month(fields.get("leader_birth"))
    if not born:
        return None
    return at.year - born[0] - (1 if at.month < born[1] else 0)


def _text(value: Any) -> Any:
    return value if value not in (None, "") else None


@dataclass(frozen=True)
class Layout:
    """The summary table a campaign's notice prints: title, column headers, the field each column shows."""

    title: str
    fields: tuple[str, ...]      # "seq" is the running number 序号
    headers: tuple[str, ...]
    widths: tuple[int, ...]


# A campaign whose notice prints no summary table still gets a plain one from what every form gives.
GENERIC_COLUMNS = (("seq", "序号"), ("recommending_unit", "推荐单位"), ("studio_name", "工作室名称"),
                   ("category", "类别"), ("leader_name", ""), ("leader_title", "职称/技术等级"),
                   ("leader_phone", "联系电话"), ("member_count", "成员人数"))


def widths_for(headers: tuple[str, ...]) -> tuple[int, ...]:
    """Column widths: the known ones, else from the header's length."""
    return tuple(KNOWN_WIDTHS.get(h, 30 if len(h) > 6 else max(8, 2 * len(h) + 2)) for h in headers)


def layout_for(campaign: Campaign) -> Layout:
    """The campaign's `summary_table` (columns in order, each headed by its first label, and its title); for a
    campaign without one, a plain table of the studio, its leader (in the campaign's word) and its size, titled
    after the campaign. Nothing of one notice's table is printed for another's."""
    rules = campaign.summary_table
    if rules is None or not rules.table.columns:
        fields = {spec.name for spec in campaign.form.schema.fields} if campaign.form is not None else set()
        chosen = [(name, header or campaign.wording.leader) for name, header in GENERIC_COLUMNS
                  if name in ("seq", "recommending_unit", "studio_name") or name in fields
                  or (name == "category" and campaign.categories)]
        headers = tuple(header for _, header in chosen)
        return Layout(f"{campaign.title}汇总表", tuple(name for name, _ in chosen), headers, widths_for(headers))
    names = tuple(col.name for col in rules.table.columns)
    headers = tuple(col.labels[0] for col in rules.table.columns)
    return Layout(rules.title or f"{campaign.title}汇总表", names, headers, widths_for(headers))


def _cell(name: str, sub: Submission, f: dict[str, Any], campaign: Campaign) -> Any:
    if name == "leader_age":
        return age(f, campaign.deadline)
    if name == "established":
        return month_text(f.get("established"))
    if name in ("recommending_unit", "studio_name"):
        return _text(f.get(name) or getattr(sub, name))
    value = f.get(name)
    if isinstance(value, list):   # results, honours: one cell, items separated as clerks write them
        return "；".join(str(v) for v in value) or None
    return _text(value)


def summary_row(sub: Submission, campaign: Campaign, layout: Layout | None = None) -> list[Any]:
    """One studio in the columns of the campaign's summary table (without its 序号)."""
    layout = layout or layout_for(campaign)
    f = sub.fields or {}
    return [_cell(name, sub, f, campaign) for name in layout.fields if name != "seq"]


def _unit_order(campaign: Campaign) -> dict[str, int]:
    """Units in roster order (counties, industry unions, enterprises) so the table reads like the roster."""
    names = [unit for kind in campaign.units for unit in kind.roster]
    return {unit_key(name, campaign): i for i, name in enumerate(names)}


def summary_rows(app: App, campaign: Campaign | None = None) -> list[list[Any]]:
    """The table body: accepted, current studios of `campaign` (default: the first), numbered, by unit."""
    campaign = campaign or app.config.campaigns[0]
    layout = layout_for(campaign)
    unit_column = next((i for i, n in enumerate(n for n in layout.fields if n != "seq") if n == "recommending_unit"), 0)
    order = _unit_order(campaign)
    with app.sessions() as session:
        subs = [s for s in repo.submissions(session) if s.campaign == campaign.id and not s.superseded_by]
        latest = staff_repo.latest_decisions(session, [s.id for s in subs])
        chosen = [s for s in subs if effective_verdict(s, latest.get(s.id)) == "accepted"]
        rows = [summary_row(s, campaign, layout) for s in
                sorted(chosen, key=lambda s: (s.message.received_at, s.id))]
    # Grouped by recommending unit in roster order; stable, so receipt order is kept within a unit.
    rows.sort(key=lambda r: (order.get(unit_key(r[unit_column] or "", campaign), len(order)), r[unit_column] or ""))
    return [[i, *row] for i, row in enumerate(rows, 1)] if "seq" in layout.fields else rows


def write_xlsx(rows: list[list[Any]], path: Path, title: str, columns: tuple[str, ...],
               widths: tuple[int, ...] | None = None) -> Path:
    """The 汇总表 as a print-ready workbook: title row, header repeated on every page, A4 landscape."""
    widths = widths or widths_for(columns)
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    from pipeline.staff.report_xlsx import append_row  # every cell from a form is text, never a formula

    book = Workbook()
    ws = book.active
    ws.title = "汇总表"
    append_row(ws, [title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    ws["A1"].font, ws["A1"].alignment = Font(bold=True, size=16), Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 32
    append_row(ws, list(columns))
    for row in rows:
        append_row(ws, row)
    line = Side(style="thin", color="000000")
    for i, row in enumerate(ws.iter_rows(min_row=2, max_col=len(columns)), 2):
        for cell in row:
            cell.border = Border(left=line, right=line, top=line, bottom=line)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.font = Font(bold=i == 2, size=10)
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0  # all columns on one page width, as many pages as rows
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "2:2"
    ws.print_options.horizontalCentered = True
    ws.freeze_panes = "A3"
    book.save(path)
    return path


def write_docx(rows: list[list[Any]], path: Path, title: str, columns: tuple[str, ...],
               widths: tuple[int, ...] | None = None) -> Path:
    """The 汇总表 as a Word table in the same layout, A4 landscape, header row repeated on every page."""
    widths = widths or widths_for(columns)
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    style = doc.styles["Normal"]
    style.font.size = Pt(9)
    # Without an East Asian font Word may render the Chinese text in a Latin font's fallback.
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(document_text(title))
    run.bold, run.font.size = True, Pt(16)
    table = doc.add_table(rows=1, cols=len(columns))
    table.style = "Table Grid"
    for cell, name in zip(table.rows[0].cells, columns):
        cell.text = document_text(name)
        cell.paragraphs[0].runs[0].bold = True
    marker = OxmlElement("w:tblHeader")  # Word repeats this row at the top of every page
    marker.set(qn("w:val"), "true")
    table.rows[0]._tr.get_or_add_trPr().append(marker)
    for row in rows:
        for cell, value in zip(table.add_row().cells, row):
            # python-docx (lxml) refuses a control character with a ValueError: the whole export would fail.
            cell.text = "" if value is None else document_text(str(value))
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = Cm(width * 0.2)
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.save(str(path))
    return path


def export_summary(app: App, out: Path, fmt: str = "xlsx", campaign_id: str | None = None) -> tuple[Path, int]:
    """Write the 汇总表 of a campaign (default: the first) to `out` as xlsx or docx; returns the path and the
    number of studios."""
    campaign = next((c for c in app.config.campaigns if c.id == campaign_id), None) if campaign_id else None
    if campaign_id and campaign is None:
        raise ValueError(f"no campaign {campaign_id!r} in the config")
    campaign = campaign or app.config.campaigns[0]
    layout = layout_for(campaign)
    rows = summary_rows(app, campaign)
    out.parent.mkdir(parents=True, exist_ok=True)
    (write_docx if fmt == "docx" else write_xlsx)(rows, out, layout.title, layout.headers, layout.widths)
    return out, len(rows)
