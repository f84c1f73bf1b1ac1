"""Pre-screening rules on parsed records: each hint fires at its boundary and not before."""

from __future__ import annotations

from typing import Any

import pytest

from parsers.form_reader import FormRecord
from parsers.scan import ScanInfo
from pipeline.config import Campaign
from pipeline.rules.eligibility import (
    category_of,
    check_form,
    check_materials,
    check_summary,
    form_fields,
)
from pipeline.rules.facts import FormFacts, MaterialFacts, ScanFacts, SummaryFacts, age_at, months_between
from pipeline.rules.findings import Code, Severity

FORM = "申报表.docx"


def record(**changes: Any) -> FormRecord:
    values: dict[str, object] = {
        "applicant_unit": "某公司", "studio_name": "张三创新工作室", "established": "2019-03", "industry": "制造业",
        "leader_name": "张三", "leader_title": "高级技师", "member_count": 7,
        "innovation_results": ["甲", "乙", "丙"]}
    members = [{"name": f"成员{i}", "age": 30 + i} for i in range(6)]
    rec = FormRecord(values={**values, **{k: v for k, v in changes.items() if k != "members"}},
                     members=changes.get("members", members))
    return rec


def codes(findings: list) -> list[str]:
    return [str(f.code) for f in findings]


def form_codes(campaign: Campaign, rec: FormRecord, studio: str = "张三创新工作室", category: str = "劳模和工匠人才"):
    assert campaign.form is not None
    return codes(check_form(FORM, rec, campaign.form, campaign, studio, category))


def test_a_complete_form_passes(campaign: Campaign) -> None:
    assert form_codes(campaign, record()) == []


@pytest.mark.parametrize("written, rows, expected", [
    (3, 2, []), (2, 1, ["TEAM_TOO_SMALL"]), (None, 2, []), (None, 1, ["TEAM_TOO_SMALL"]), (None, 0, []),
])
def test_team_size_from_the_number_else_the_table(campaign: Campaign, written, rows, expected) -> None:
    members = [{"name": f"成员{i}"} for i in range(rows)]
    assert form_codes(campaign, record(member_count=written, members=members)) == expected


def test_a_disagreeing_member_count_is_reported_not_picked(campaign: Campaign) -> None:
    members = [{"name": f"成员{i}"} for i in range(3)]
    assert form_codes(campaign, record(member_count=9, members=members)) == ["FORM_MISMATCH"]
    assert form_codes(campaign, record(member_count=4, members=members)) == []   # leader not listed: fine
    assert form_codes(campaign, record(member_count=3, members=members)) == []   # leader listed: fine


@pytest.mark.parametrize("established, expected", [
    ("2024-05", []), ("2024-06", ["TOO_RECENT"]), ("2025-05", ["TOO_RECENT"]), ("2024", []), (None, []),
])
def test_running_one_year_before_the_deadline(campaign: Campaign, established, expected) -> None:
    assert form_codes(campaign, record(established=established)) == expected   # deadline 2025-05-30


def test_results(campaign: Campaign) -> None:
    assert form_codes(campaign, record(innovation_results=["甲"])) == ["TOO_FEW_RESULTS"]
    assert form_codes(campaign, record(innovation_results=["甲", "乙"])) == []
    see_attached = record(innovation_results=["详见附页"])
    see_attached.results_see_attached = True
    assert form_codes(campaign, see_attached) == []


def test_blank_and_unreadable_fields_in_one_finding(campaign: Campaign) -> None:
    rec = record()
    rec.missing, rec.unreadable = ["联系电话", "学历"], ["出生年月"]
    findings = check_form(FORM, rec, campaign.form, campaign, "张三创新工作室", "劳模和工匠人才")  # type: ignore[arg-type]
    assert codes(findings) == ["FORM_FIELDS_MISSING"] and findings[0].severity is Severity.REVIEW
    assert all(word in findings[0].message for word in ("联系电话", "学历", "出生年月", FORM))


def test_a_form_for_another_studio(campaign: Campaign) -> None:
    assert form_codes(campaign, record(studio_name="张三劳模创新工作室")) == ["FORM_MISMATCH"]
    assert form_codes(campaign, record(studio_name="张三 创新工作室")) == []   # spacing is not a difference


@pytest.mark.parametrize("category, title, expected", [
    ("名医", "主任医师", []), ("名医", "主任医师（二级）", []), ("名医", "副主任医师", ["LEADER_CONDITION"]),
    ("名医", "主治医师", ["LEADER_CONDITION"]), ("名师", "高级教师", []), ("名师", "一级教师", ["LEADER_CONDITION"]),
    ("名师", "正高级教师", []), ("名师", "高级讲师", []),
    # 高级技师 / 特级技师 / 高级工 are vocational skill levels (职业技能等级), not 高级职称 (一(三)1第一)
    ("名师", "高级技师", ["LEADER_CONDITION"]), ("名师", "特级技师", ["LEADER_CONDITION"]),
    ("名师", "高级工", ["LEADER_CONDITION"]), ("劳模和工匠人才", "技师", []),
])
def test_leader_conditions_for_named_categories(campaign: Campaign, category, title, expected) -> None:
    assert form_codes(campaign, record(leader_title=title), category=category) == expected


def test_category_from_the_studio_name(campaign: Campaign) -> None:
    assert category_of("李红名师创新工作室", None, campaign) == "名师"
    assert category_of("张三创新工作室", None, campaign) == "劳模和工匠人才"


def summary(*rows: dict[str, str]) -> SummaryFacts:
    return SummaryFacts("汇总表.xlsx", rows=tuple(rows))


EXPECTED = {"studio_name": "张三创新工作室", "recommending_unit": "正定县总工会", "leader_name": "张三", "member_count": 7}


def test_summary_agreeing_missing_or_disagreeing(campaign: Campaign) -> None:
    row = {"studio_name": "张三创新工作室", "recommending_unit": "正定县总工会", "leader_name": "张三", "member_count": "7人"}
    assert check_summary(summary(row), campaign, EXPECTED) == []
    assert codes(check_summary(summary({**row, "studio_name": "李四创新工作室"}), campaign, EXPECTED)) == [
        "SUMMARY_MISMATCH"]
    wrong = check_summary(summary({**row, "leader_name": "张三丰", "recommending_unit": "无极县总工会"}), campaign,
                          EXPECTED)
    assert codes(wrong) == ["SUMMARY_MISMATCH"] and "张三丰" in wrong[0].message and "无极县总工会" in wrong[0].message
    assert check_summary(summary({**row, "member_count": ""}), campaign, EXPECTED) == []   # blank: not a disagreement
    assert codes(check_summary(summary(), campaign, EXPECTED)) == ["SUMMARY_MISMATCH"]
    assert check_summary(SummaryFacts("汇总表.pdf", rows=None), campaign, EXPECTED) == []   # a PDF: nothing to compare


def test_seal_and_unreadable_form(campaign: Campaign) -> None:
    stamped = ScanFacts("扫描件.pdf", info=ScanInfo(pages=2, seal_visible=True, red_ratio=0.02))
    plain = ScanFacts("扫描件.jpg", info=ScanInfo(pages=1, seal_visible=False, red_ratio=0.0))
    assert codes(check_materials(MaterialFacts(scans=(stamped, plain)), campaign, "", "", "")) == []
    found = check_materials(MaterialFacts(scans=(plain,)), campaign, "", "", "")
    # 四.3(1) asks for a 盖章扫描件: no visible seal reaches staff (the campaign's review), never an acknowledgment
    assert codes(found) == ["SEAL_NOT_VISIBLE"] and found[0].severity is Severity.REVIEW
    broken = MaterialFacts(form=FormFacts(FORM, problem="corrupt DOCX zip: bad"))
    assert codes(check_materials(broken, campaign, "", "", "")) == [str(Code.UNREADABLE_DOCUMENT)]


def test_fields_are_flat_and_complete(campaign: Campaign) -> None:
    materials = MaterialFacts(form=FormFacts(FORM, record=record(leader_birth="1975-06")))
    fields = form_fields(materials, campaign.deadline)
    assert fields["leader_age"] == 49 and fields["member_count"] == 7 and fields["innovation_result_count"] == 3
    assert fields["form_studio_name"] == "张三创新工作室" and "studio_name" not in fields
    assert len(fields["members"]) == 6  # type: ignore[arg-type]


def test_date_arithmetic(campaign: Campaign) -> None:
    assert age_at("1975-06", campaign.deadline) == 49 and age_at("1975-05", campaign.deadline) == 50
    assert months_between("2024-05", campaign.deadline) == 12 and months_between("2019", campaign.deadline) is None


def test_too_many_items_and_dated_conditions(campaign: Campaign) -> None:
    from dataclasses import replace as dc_replace

    from parsers.form_reader import FieldSpec
    from pipeline.config import LeaderCondition

    assert campaign.form is not None
    honours = FieldSpec("leader_honours", ("主要荣誉",), "list", max_items=5)
    award = LeaderCondition("技术创新型", "innovation_results", ("二等奖", "一等奖", "特等奖"), (),
                            "申报前3年内获得过至少1项市级二等奖", within_years=3, code=Code.CATEGORY_CONDITION)
    rules = dc_replace(campaign.form, schema=dc_replace(campaign.form.schema, fields=(
        *campaign.form.schema.fields, honours)), conditions=(award,))
    rec = record(leader_honours=[f"荣誉{i}" for i in range(6)],
                 innovation_results=["2019年获市科技进步二等奖", "2023年获国家专利1项"])
    found = codes(check_form(FORM, rec, rules, campaign, "张三创新工作室", "技术创新型"))
    assert found == ["TOO_MANY_ITEMS", "CATEGORY_CONDITION"]   # 2019 is more than 3 years before 2025
    rec = record(leader_honours=["甲"], innovation_results=["2023年获市科技进步二等奖", "一种新型导管"])
    assert codes(check_form(FORM, rec, rules, campaign, "张三创新工作室", "技术创新型")) == []
    assert codes(check_form(FORM, rec, rules, campaign, "张三创新工作室", "服务创新型")) == []
