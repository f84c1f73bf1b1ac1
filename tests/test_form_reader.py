"""The form reader on hand-written WordprocessingML: where values sit relative to their labels."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from test_docx_text import make_docx

from parsers.docx_text import read_docx_layout
from parsers.form_reader import FormRecord, read_form, read_table_rows, split_items
from pipeline.config import Campaign

Cell = str | tuple[str, int] | tuple[str, int, str]   # text | (text, gridSpan) | (text, gridSpan, vMerge)


def _runs(text: str) -> str:
    return "".join(f'<w:p><w:r><w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>'
                   for line in text.split("\n"))


def _tc(cell: Cell) -> str:
    text, span, vmerge = (cell, 1, "") if isinstance(cell, str) else (cell + ("",))[:3]  # type: ignore[operator]
    props = (f'<w:gridSpan w:val="{span}"/>' if span > 1 else "") + (
        f'<w:vMerge w:val="{vmerge}"/>' if vmerge == "restart" else "<w:vMerge/>" if vmerge else "")
    body = _runs(text) if not text.startswith("<") else text
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{body}</w:tc>"


def table(rows: list[list[Cell]], cols: int = 7) -> str:
    grid = "".join('<w:gridCol w:w="1200"/>' for _ in range(cols))
    body = "".join("<w:tr>" + "".join(_tc(c) for c in row) + "</w:tr>" for row in rows)
    return f"<w:tbl><w:tblPr/><w:tblGrid>{grid}</w:tblGrid>{body}</w:tbl>"


def read(tmp_path: Path, campaign: Campaign, xml: str, before: str = "申报单位：正定县某机械公司　　　　2025年5月19日") -> FormRecord:
    assert campaign.form is not None
    return read_form(read_docx_layout(make_docx(tmp_path, xml, before=before)), campaign.form.schema)


@pytest.fixture
def campaign(config) -> Campaign:  # type: ignore[no-untyped-def]
    return config.campaigns[0]


TOP = [["工作室名称", ("张三创新工作室", 2), "成立时间", "2019年3月", "所属行业", "制造业"]]
LEADER = [
    [("工作室带头人情况", 1, "restart"), "姓名", "张三", "性别", "男", "出生年月", "1975.06"],
    [("", 1, "continue"), "学历", "本科", "职称/技术等级", ("高级技师", 3)],
    [("", 1, "continue"), "工作岗位及职务", "车间主任", "主要技能特长", ("数控加工", 3)],
    [("", 1, "continue"), "曾获最高荣誉", "河北省劳动模范", "联系电话", ("138-1234-5678", 3)],
]
BUILD = [
    [("工作室建设情况", 1, "restart"), "面积", "120平方米", "工作室地点", "一车间", "成员数", "七人"],
    [("", 1, "continue"), "经费投入", "100000元", "创新领域", ("数控加工", 3)],
    ["经济和社会效益", ("节约成本50万元。", 6)], ["人才培养情况", ("培养技师5名。", 6)],
    ["主要创新成果", ("1.甲工装\n2.乙方法\n3.\n……可附页", 6)],
]
MEMBERS = [
    [("工作室成员情况", 1, "restart"), "姓名", "年龄", "学历", "职称/技术等级", ("工作岗位及职务", 2)],
    [("", 1, "continue"), "李四", "45", "大专", "技师", ("班组长", 2)],
    [("", 1, "continue"), "", "", "", "", ("", 2)],
    [("", 1, "continue"), "王五", "38岁", "本科", "工程师", ("技术员", 2)],
    [("", 1, "continue"), ("可附页", 6)],
    ["本单位工会意见", ("同意推荐。", 6)],
]


def test_the_printed_layout(tmp_path: Path, campaign: Campaign) -> None:
    record = read(tmp_path, campaign, table(TOP + LEADER + BUILD + MEMBERS))
    v = record.values
    assert v["applicant_unit"] == "正定县某机械公司"
    assert (v["studio_name"], v["established"], v["industry"]) == ("张三创新工作室", "2019-03", "制造业")
    assert (v["leader_name"], v["leader_gender"], v["leader_birth"]) == ("张三", "男", "1975-06")
    assert (v["leader_title"], v["leader_post"], v["leader_phone"]) == ("高级技师", "车间主任", "13812345678")
    assert (v["member_count"], v["funding_wan"], v["innovation_field"]) == (7, 10, "数控加工")
    assert v["innovation_results"] == ["甲工装", "乙方法"]
    assert record.members == [
        {"name": "李四", "age": 45, "education": "大专", "title": "技师", "post": "班组长"},
        {"name": "王五", "age": 38, "education": "本科", "title": "工程师", "post": "技术员"}]
    assert record.missing == [] and record.unreadable == []


def test_values_in_the_label_cell_and_spaced_labels(tmp_path: Path, campaign: Campaign) -> None:
    leader = [[("工作室带头人情况", 1, "restart"), ("姓　　名：张三", 2), ("性 别：女", 2), "出生年月：", "1980年2月"]]
    record = read(tmp_path, campaign, table(TOP + leader + BUILD + MEMBERS))
    assert (record.values["leader_name"], record.values["leader_gender"]) == ("张三", "女")
    assert record.values["leader_birth"] == "1980-02"


def test_values_in_the_row_below_their_labels(tmp_path: Path, campaign: Campaign) -> None:
    leader = [["姓名", "性别", "出生年月", "学历", "职称/技术等级", "联系电话", "曾获最高荣誉"],
              ["赵六", "女", "二〇〇一年五月", "硕士研究生", "主任医师", "0311-85521691", "全国五一劳动奖章"]]
    record = read(tmp_path, campaign, table(TOP + leader + BUILD + MEMBERS))
    v = record.values
    assert (v["leader_name"], v["leader_gender"], v["leader_birth"]) == ("赵六", "女", "2001-05")
    assert (v["leader_title"], v["leader_phone"], v["leader_honour"]) == ("主任医师", "0311-85521691", "全国五一劳动奖章")
    assert [m["name"] for m in record.members] == ["李四", "王五"]   # the leader's header row is not the member table


def test_blank_and_unreadable_fields_are_reported_not_guessed(tmp_path: Path, campaign: Campaign) -> None:
    top = [["工作室名称", ("张三创新工作室", 2), "成立时间", "去年", "所属行业", ""]]
    record = read(tmp_path, campaign, table(top + LEADER + BUILD + MEMBERS))
    assert record.values["established"] is None and record.values["industry"] is None
    assert "所属行业" in record.missing and "成立时间" in record.unreadable
    assert record.raw["established"] == "去年"


def test_a_deleted_template_row_leaves_its_fields_blank(tmp_path: Path, campaign: Campaign) -> None:
    build = BUILD[1:]   # the 面积 / 地点 / 成员数 row removed by the sender
    record = read(tmp_path, campaign, table(TOP + LEADER + build + MEMBERS))
    assert record.values["member_count"] is None and "成员数" in record.missing
    assert record.values["area"] is None and record.values["funding_wan"] == 10


def test_nested_member_table_content_controls_and_tracked_changes(tmp_path: Path, campaign: Campaign) -> None:
    nested = table([["姓名", "年龄", "学历", "职称/技术等级", "工作岗位及职务"],
                    ["李四", "45", "大专", "技师", "班组长"], ["王五", "38", "本科", "工程师", "技术员"]], cols=5)
    sdt = ('<w:sdt><w:sdtPr><w:showingPlcHdr w:val="0"/></w:sdtPr><w:sdtContent><w:p><w:r><w:t>机械制造</w:t>'
           '</w:r></w:p></w:sdtContent></w:sdt>')
    tracked = ('<w:p><w:del w:id="1" w:author="a"><w:r><w:delText>2018年1月</w:delText></w:r></w:del>'
               '<w:ins w:id="2" w:author="a"><w:r><w:t>2020年6月</w:t></w:r></w:ins></w:p>')
    top = [["工作室名称", ("张三创新工作室", 2), "成立时间", tracked, "所属行业", sdt]]
    members = [["工作室成员情况", (f"<w:p/>{nested}<w:p/>", 6)], ["本单位工会意见", ("同意推荐。", 6)]]
    record = read(tmp_path, campaign, table(top + LEADER + BUILD + members))
    assert record.values["established"] == "2020-06" and record.values["industry"] == "机械制造"
    assert [m["name"] for m in record.members] == ["李四", "王五"]
    assert record.values["leader_name"] == "张三"


def test_applicant_unit_in_a_text_box_line(tmp_path: Path, campaign: Campaign) -> None:
    record = read(tmp_path, campaign, table(TOP + LEADER + BUILD + MEMBERS), before="申 报 单 位：石药集团有限公司　　年　月　日")
    assert record.values["applicant_unit"] == "石药集团有限公司"


@pytest.mark.parametrize("text, items", [
    ("1.甲\n2.乙\n3.丙\n……可附页", ["甲", "乙", "丙"]),
    ("1.甲；2.乙；3.丙", ["甲", "乙", "丙"]),
    ("（1）甲（2021年）\n（2）乙", ["甲（2021年）", "乙"]),
    ("一、甲\n二、乙", ["甲", "乙"]),
    ("1.\n2.\n3.\n……可附页", []),
    ("一种新型焊接工装", ["一种新型焊接工装"]),
])
def test_result_lists(text: str, items: list[str]) -> None:
    assert split_items(text) == items


def test_summary_rows_under_a_split_header(campaign: Campaign) -> None:
    assert campaign.summary_table is not None
    rows = [["石家庄市劳模和工匠人才创新工作室入库汇总表"],
            ["序\n号", "推荐单位", "申报单位", "工作室\n名称", "带头人\n姓名", "年龄", "成员\n人数"],
            ["1", "正定县总工会", "某公司", "张三创新工作室", "张三", "50", "7"], ["2", "", "", "", "", "", ""]]
    out = read_table_rows(rows, campaign.summary_table.table)
    assert out == [{"seq": "1", "recommending_unit": "正定县总工会", "applicant_unit": "某公司",
                    "studio_name": "张三创新工作室", "leader_name": "张三", "leader_age": "50", "member_count": "7"}]


def test_a_form_typed_as_lines_without_a_table(tmp_path: Path, campaign: Campaign) -> None:
    lines = ["工作室名称：张三创新工作室　　成立时间：2019年3月　　所属行业：制造业",
             "姓名：张三　　性别：男　　出生年月：1975.06", "联系电话：13812345678"]
    xml = "".join(_runs(line) for line in lines)
    record = read(tmp_path, campaign, xml)
    v = record.values
    assert (v["studio_name"], v["established"], v["industry"]) == ("张三创新工作室", "2019-03", "制造业")
    assert (v["leader_name"], v["leader_gender"], v["leader_birth"]) == ("张三", "男", "1975-06")
    assert v["leader_phone"] == "13812345678" and v["member_count"] is None


def test_a_member_table_with_a_gender_column(tmp_path: Path, campaign: Campaign) -> None:
    members = [
        [("工作室成员情况", 1, "restart"), "姓名", "性别", "年龄", "学历", "职称/技术等级", "工作岗位及职务"],
        [("", 1, "continue"), "李四", "女", "45", "大专", "技师", "班组长"],
        ["本单位工会意见", ("同意推荐。", 6)],
    ]
    record = read(tmp_path, campaign, table(TOP + LEADER + BUILD + members))
    assert [m["name"] for m in record.members] == ["李四"] and record.members[0]["post"] == "班组长"
    assert record.values["leader_gender"] == "男"
