"""The form reader on hand-written WordprocessingML: where values sit relative to their labels."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from helpers.docx import make_docx
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


# --- labels as clerks reword them (issue 15, section 4) ---------------------------------------------------

def _reworded(rows: list[list[Cell]], old: str, new: str) -> list[list[Cell]]:
    """`rows` with the first label cell reading `old` retyped as `new` (the clerk edited the template)."""
    out, done = [], False
    for row in rows:
        cells: list[Cell] = []
        for cell in row:
            text = cell if isinstance(cell, str) else cell[0]
            if not done and text == old:
                cell, done = (new if isinstance(cell, str) else (new, *cell[1:])), True  # type: ignore[assignment]
            cells.append(cell)
        out.append(cells)
    assert done, old
    return out


@pytest.mark.parametrize("field, old, new, value", [
    ("leader_name", "姓名", "工作室负责人", "张三"), ("leader_name", "姓名", "领衔人", "张三"),
    ("leader_name", "姓名", "牵头人", "张三"), ("leader_name", "姓名", "负责人姓名", "张三"),
    ("leader_name", "姓名", "领衔人（姓名）", "张三"),
    ("established", "成立时间", "创建时间", "2019-03"), ("established", "成立时间", "组建日期", "2019-03"),
    ("established", "成立时间", "成立年月", "2019-03"), ("established", "成立时间", "工作室组建时间", "2019-03"),
    ("established", "成立时间", "创 建 日 期：", "2019-03"),
    ("leader_phone", "联系电话", "手机", "13812345678"), ("leader_phone", "联系电话", "联系方式", "13812345678"),
    ("leader_phone", "联系电话", "电话号码", "13812345678"), ("leader_phone", "联系电话", "带头人手机号码", "13812345678"),
    ("leader_birth", "出生年月", "出生日期", "1975-06"), ("leader_birth", "出生年月", "带头人出生年月", "1975-06"),
    ("member_count", "成员数", "团队成员人数", 7), ("location", "工作室地点", "工作室地址", "一车间"),
])
def test_a_reworded_label_is_read_by_its_meaning(tmp_path: Path, campaign: Campaign, field: str, old: str, new: str,
                                                 value: object) -> None:
    rows = _reworded(TOP + LEADER + BUILD + MEMBERS, old, new)
    record = read(tmp_path, campaign, table(rows))
    assert record.values[field] == value
    assert record.missing == [] and record.unreadable == []
    assert record.values["leader_post"] == "车间主任" and len(record.members) == 2


def test_reworded_labels_typed_inline_and_as_lines(tmp_path: Path, campaign: Campaign) -> None:
    leader = [[("工作室带头人情况", 1, "restart"), ("领衔人：张三", 2), ("性 别：女", 2), "组建日期：", "2018年4月"]]
    top = [["工作室名称", ("张三创新工作室", 2), "所属行业", ("制造业", 3)]]
    record = read(tmp_path, campaign, table(top + leader + LEADER[1:] + BUILD + MEMBERS))
    assert (record.values["leader_name"], record.values["established"]) == ("张三", "2018-04")
    lines = "".join(_runs(line) for line in ["工作室负责人：王五　　手机：139 1234 5678", "组建日期：2020年6月"])
    record = read(tmp_path, campaign, lines, before="申报单位（盖章）：某某公司　　　　年　月　日")
    v = record.values
    assert (v["leader_name"], v["leader_phone"], v["established"]) == ("王五", "13912345678", "2020-06")
    assert v["applicant_unit"] == "某某公司"


@pytest.mark.parametrize("label", ["联系人电话", "成员姓名", "带头人出生年月", "推荐单位", "联系人", "单位负责人签字",
                                   "工作室带头人情况"])
def test_a_label_that_only_contains_a_word_takes_no_other_fields_value(tmp_path: Path, campaign: Campaign,
                                                                       label: str) -> None:
    """The template's 姓名 / 联系电话 are gone and an unrelated label stands in their place: the field stays
    blank (and is reported), it does not take the value next to a label that merely contains one of its words."""
    rows = _reworded(_reworded(TOP + LEADER + BUILD + MEMBERS, "姓名", label), "联系电话", label)
    record = read(tmp_path, campaign, table(rows), before="")
    assert record.values["leader_name"] is None and record.values["leader_phone"] is None
    assert {"姓名", "联系电话"} <= set(record.missing)
    if label == "带头人出生年月":   # it does mean the birth month: the first one is read as such
        assert record.values["leader_birth"] == "1975-06"
    assert record.values["applicant_unit"] is None   # 推荐单位 is the federation, never the applicant


def test_a_value_that_reads_like_a_label_stays_a_value(tmp_path: Path, campaign: Campaign) -> None:
    """工作室负责人 as the leader's post (right of 工作岗位及职务), 手机 as a member's post, 负责人 under a
    header row: values, not labels, wherever they stand."""
    leader = [row[:] for row in LEADER]
    leader[2] = [("", 1, "continue"), "工作岗位及职务", "工作室负责人", "主要技能特长", ("数控加工", 3)]
    record = read(tmp_path, campaign, table(TOP + leader + BUILD + MEMBERS))
    assert record.values["leader_post"] == "工作室负责人" and record.values["leader_name"] == "张三"
    below = [["领衔人", "性别", "出生年月", "学历", "职称/技术等级", "工作岗位及职务", "联系电话"],
             ["赵六", "女", "1980.02", "本科", "高级技师", "负责人", "13812345678"]]
    record = read(tmp_path, campaign, table(TOP + below + BUILD + MEMBERS))
    assert (record.values["leader_name"], record.values["leader_post"]) == ("赵六", "负责人")


def test_label_index_meaning(campaign: Campaign) -> None:
    from parsers.labels import LabelIndex

    assert campaign.form is not None
    schema = campaign.form.schema
    index = LabelIndex((f.name, f.labels) for f in (*schema.fields, *schema.header_fields))
    assert index.field_of("工作室　负责人：") == "leader_name"
    assert index.field_of("ＣＲＥＡＴＥ") is None
    assert index.field_of("组建") == "established"            # 时间 left off, where nothing else is meant
    assert index.field_of("申报单位（盖章）") == "applicant_unit"
    assert index.field_of("带头人工作室名称") == "studio_name"   # the longer meaning wins
    assert index.field_of("2019年组建") is None                 # a value, not a label
    assert index.field_of("工作室负责人、车间主任") is None


# --- the whole form inside a one-cell layout table (issue 15, section 4) ----------------------------------

@pytest.mark.parametrize("depth", [1, 2, 3])
def test_a_form_inside_one_cell_layout_tables_is_read(tmp_path: Path, campaign: Campaign, depth: int) -> None:
    inner = _runs("申报单位：正定县某机械公司　　　　2025年5月19日") + table(TOP + LEADER + BUILD + MEMBERS) + "<w:p/>"
    for _ in range(depth):
        inner = table([[inner]], cols=1) + "<w:p/>"
    record = read(tmp_path, campaign, inner, before="")
    assert record.values["applicant_unit"] == "正定县某机械公司"
    assert record.values["leader_name"] == "张三" and len(record.members) == 2
    assert record.missing == [] and record.unreadable == []
