"""`intake export summary`: the 汇总表 of 附件2, column for column, one row per accepted current studio."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from openpyxl import load_workbook

from helpers.staff_site import Site, office
from pipeline.staff.export import age, month_text, write_xlsx

# 附件2 of the Shijiazhuang notice, as config.example.toml describes it (the code prints no notice's table).
SUMMARY_TITLE = "石家庄市劳模和工匠人才（名师、名医）创新工作室入库汇总表"
NOTICE_COLUMNS = ["序号", "推荐单位", "申报单位", "工作室名称", "带头人姓名", "年龄", "性别", "职务", "技术等级/职称",
                  "曾获最高荣誉", "主要技术特长", "专业领域", "成员人数", "成立时间", "所属行业"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from office(tmp_path_factory)


def _accepted(site: Site) -> list[dict]:
    return [r for r in site.rows() if r["verdict"] == "accepted" and not r["fields"]["superseded_by"]]


def test_the_workbook_has_the_notice_columns_and_one_row_per_accepted_studio(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "汇总表.xlsx"
    assert "个工作室" in site.cli("export", "summary", "--out", str(out))
    sheet = load_workbook(out).active
    assert sheet["A1"].value == SUMMARY_TITLE
    assert [c.value for c in sheet[2]] == NOTICE_COLUMNS
    body = list(sheet.iter_rows(min_row=3, values_only=True))
    accepted = _accepted(site)
    assert len(body) == len(accepted) >= 3
    assert [row[0] for row in body] == list(range(1, len(body) + 1))
    by_studio = {row[3]: row for row in body}
    for sub in accepted:
        fields, row = sub["fields"], by_studio[sub["fields"]["studio_name"]]
        assert row[1] == fields["recommending_unit"]
        for column, key in (("带头人姓名", "leader_name"), ("性别", "leader_gender"), ("所属行业", "industry"),
                            ("成员人数", "member_count"), ("职务", "leader_post"), ("专业领域", "innovation_field")):
            assert row[NOTICE_COLUMNS.index(column)] == fields.get(key), column
        if fields.get("established"):
            year, month = fields["established"].split("-")
            assert row[NOTICE_COLUMNS.index("成立时间")] == f"{year}年{int(month)}月"
    units = [row[1] for row in body]
    assert units == sorted(units, key=units.index)  # grouped: each unit's studios stand together
    assert all(cell is None or str(cell) != "None" for row in body for cell in row)


def test_superseded_and_rejected_studios_are_left_out(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "s.xlsx"
    site.cli("export", "summary", "--out", str(out))
    studios = [row[3] for row in load_workbook(out).active.iter_rows(min_row=3, values_only=True)]
    rows = site.rows()
    assert len(studios) == len(set(studios))  # 孙伟创新工作室 once: the resubmission, not the rejected first try
    rejected_only = {r["fields"].get("studio_name") for r in rows if r["verdict"] == "rejected"} - \
        {r["fields"].get("studio_name") for r in _accepted(site)}
    assert rejected_only and not rejected_only & set(studios)


def test_the_workbook_is_ready_to_print(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "p.xlsx"
    site.cli("export", "summary", "--out", str(out))
    sheet = load_workbook(out).active
    assert sheet.page_setup.orientation == "landscape" and str(sheet.page_setup.paperSize) == "9"  # 9 = A4
    assert sheet.print_title_rows == "$2:$2"
    assert "A1:O1" in {str(r) for r in sheet.merged_cells.ranges}
    assert all(sheet.column_dimensions[c].width > 0 for c in "ABCDEFGHIJKLMNO")
    header = sheet["B2"]
    assert header.border.left.style == "thin" and header.alignment.wrap_text and header.font.bold


def test_the_word_table_has_the_same_layout_in_landscape(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "汇总表.docx"
    site.cli("export", "summary", "--out", str(out), "--format", "docx")
    doc = Document(str(out))
    assert doc.sections[0].orientation == WD_ORIENT.LANDSCAPE
    assert doc.sections[0].page_width > doc.sections[0].page_height
    assert doc.paragraphs[0].text == SUMMARY_TITLE
    [table] = doc.tables
    assert [c.text for c in table.rows[0].cells] == NOTICE_COLUMNS
    assert len(table.rows) - 1 == len(_accepted(site))
    assert table.rows[0]._tr.trPr.xml.count("tblHeader") == 1  # the header repeats on every page


def test_missing_values_leave_cells_empty(tmp_path: Path) -> None:
    write_xlsx([[1, "正定县总工会", None, "张三创新工作室", None, None, None, None, None, None, None, None, None, None,
                 None]], tmp_path / "m.xlsx", SUMMARY_TITLE, tuple(NOTICE_COLUMNS))
    row = next(load_workbook(tmp_path / "m.xlsx").active.iter_rows(min_row=3, values_only=True))
    assert row[:4] == (1, "正定县总工会", None, "张三创新工作室") and set(row[4:]) == {None}


def test_month_and_age_from_the_form() -> None:
    deadline = datetime(2025, 5, 30, 23, 59, tzinfo=UTC)
    assert month_text("2019-03") == "2019年3月" and month_text("2019年3月") == "2019年3月"
    assert month_text(None) is None and month_text("") is None and month_text("不详") == "不详"
    assert age({"leader_age": 41, "leader_birth": "1980-01"}, deadline) == 41
    assert age({"leader_birth": "1980-05"}, deadline) == 45 and age({"leader_birth": "1980-06"}, deadline) == 44
    assert age({"leader_birth": None}, deadline) is None and age({}, deadline) is None
