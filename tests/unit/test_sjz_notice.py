"""The Shijiazhuang 2025 notice's rules that issue 15 §3 found unchecked: each at its boundary, on the example
config, and end to end through a real SQLite intake with messages built by samplegen."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email import policy
from pathlib import Path

import pytest
import samplegen as g

from helpers.facts import complete_files, facts
from parsers.form_reader import FormRecord
from pipeline.config import Campaign
from pipeline.intake.ledger import ingest_bytes
from pipeline.rules.checks import check_deadline, evaluate
from pipeline.rules.eligibility import category_of, check_category_channel, check_form
from pipeline.rules.facts import FileFacts
from pipeline.rules.findings import Code, Severity
from pipeline.rules.roles import material_number
from pipeline.rules.wording import for_campaign
from storage import repo

CST = timezone(timedelta(hours=8))
DEADLINE = datetime(2025, 5, 30, 23, 59, 59, tzinfo=CST)


def codes(found: list) -> list[str]:
    return [str(f.code) for f in found]


# --- 四.3 "5月30日前发送": a server's delay is for staff, a forged Date is not -------------------------------

@pytest.mark.parametrize("sent, hop, received, expected", [
    # Date 23:50, the sender's server took it at 23:50, delivered at 01:10: held up on the way
    (DEADLINE - timedelta(minutes=10), DEADLINE - timedelta(minutes=9), DEADLINE + timedelta(minutes=71),
     "DELAYED_DELIVERY"),
    # the first server saw it 10 minutes after its Date (clocks, the time to submit): still plausible
    (DEADLINE - timedelta(minutes=20), DEADLINE - timedelta(minutes=10), DEADLINE + timedelta(hours=2),
     "DELAYED_DELIVERY"),
    # a Date weeks back: a wrong clock or a forgery, no server holds mail that long
    (datetime(2025, 5, 1, 9, 0, tzinfo=CST), datetime(2025, 5, 1, 9, 0, tzinfo=CST), DEADLINE + timedelta(hours=1),
     "LATE"),
    # more than delayed_delivery_hours (4) between Date and receipt
    (DEADLINE - timedelta(hours=3), DEADLINE - timedelta(hours=3), DEADLINE + timedelta(hours=2), "LATE"),
    # Date before the deadline, but the first server took it only after: it left late (the client held it)
    (DEADLINE - timedelta(minutes=30), DEADLINE + timedelta(minutes=20), DEADLINE + timedelta(minutes=40), "LATE"),
    # a Date after the deadline is late by its own account
    (DEADLINE + timedelta(minutes=1), DEADLINE + timedelta(minutes=1), DEADLINE + timedelta(minutes=30), "LATE"),
])
def test_a_late_receipt_is_late_unless_a_server_plausibly_held_it(campaign: Campaign, sent, hop, received,
                                                                    expected: str) -> None:
    (found,) = check_deadline(received, campaign, sent, hop)
    assert str(found.code) == expected
    if expected == "DELAYED_DELIVERY":
        assert found.severity is Severity.REVIEW and "2025年5月30日 23:" in found.message


def test_without_a_received_hop_or_with_the_window_off_the_receipt_decides(campaign: Campaign) -> None:
    sent, received = DEADLINE - timedelta(minutes=5), DEADLINE + timedelta(minutes=30)
    assert codes(check_deadline(received, campaign, sent, None)) == ["LATE"]
    assert codes(check_deadline(received, replace(campaign, delayed_delivery_hours=0), sent, sent)) == ["LATE"]
    assert check_deadline(DEADLINE, campaign, sent, sent) == []


def test_delayed_delivery_end_to_end_and_a_forged_date_does_not_rescue_a_late_message(app) -> None:
    sample = g._submissions()["37-delayed-by-server"]
    assert ingest_bytes(app, sample.to_eml(), "file:delayed").verdict == "review"
    forged = replace(sample, date=datetime(2025, 5, 20, 9, 0, tzinfo=CST),
                     submitted=datetime(2025, 5, 20, 9, 0, 3, tzinfo=CST))
    assert ingest_bytes(app, forged.to_eml(), "file:forged").verdict == "rejected"
    with app.sessions() as s:
        found = {sub.message.source_key: [f.code for f in sub.findings] for sub in repo.submissions(s)}
    assert found == {"file:delayed": ["DELAYED_DELIVERY"], "file:forged": ["LATE"]}


# --- 四.4 命名格式和顺序 ---------------------------------------------------------------------------------

def _named(names: list[str]) -> list[FileFacts]:
    originals = complete_files()
    return [replace(f, name=n) for f, n in zip(originals, names)] + originals[len(names):]


@pytest.mark.parametrize("name, number", [
    ("（1）申报表.docx", 1), ("(2)事迹材料.docx", 2), ("【4】汇总表.xlsx", 4), ("1、申报表.docx", 1), ("1.申报表.docx", 1),
    ("（一）申报表.docx", 1), ("（3）佐证材料/3-1 证书.jpg", 3), ("申报表.docx", None), ("3-1 证书.jpg", None),
    ("2025年工作总结.docx", None),
])
def test_the_number_a_material_file_carries(name: str, number: int | None) -> None:
    assert material_number(FileFacts(name, Path("/x"), 1, "docx")) == number


def test_numbered_and_recognisable_names_pass_whatever_their_wording(campaign: Campaign) -> None:
    names = ["（1）申报表.docx", "1.申报表（盖章）.pdf", "（2）事迹材料.docx"]
    assert evaluate(facts(campaign, files=_named(names)), campaign) == []


def test_unnumbered_or_misnumbered_materials_are_rejected_with_the_right_names(campaign: Campaign) -> None:
    names = ["申报表.docx", "（1）石家庄市劳模和工匠人才创新工作室入A级库申报表（盖章扫描件）.pdf", "（3）事迹材料.docx"]
    found = evaluate(facts(campaign, files=_named(names), studio="张三创新工作室"), campaign)
    assert [(str(f.code), f.severity, f.basis, f.file) for f in found] == [
        ("MATERIAL_NAMING", Severity.REJECT, "四.4", "申报表.docx"),
        ("MATERIAL_NAMING", Severity.REJECT, "四.4", "（3）事迹材料.docx")]
    assert "“申报表.docx”应命名为“（1）石家庄市劳模和工匠人才创新工作室入A级库申报表.docx”" in found[0].message
    assert "“（3）事迹材料.docx”应命名为“（2）张三创新工作室事迹材料.docx”" in found[1].message
    # the fix gives the whole order, so a file the reply leaves uncounted is named there too
    assert "“（2）XXX创新工作室事迹材料”、“（3）佐证材料（3-1、3-2……）”、“（4）石家庄市劳模和工匠人才创新工作室入库汇总表”" \
        in found[0].fix


def test_unnumbered_files_end_to_end_are_rejected_and_the_reply_names_each_rename(app) -> None:
    studio = g.Studio(unit="灵寿县总工会", leader="苗青", gender="女", applicant="灵寿县石材工艺品有限公司", seed=38)
    archive = g.zip_bytes(g.materials(studio, g.Package(numbered=False)))
    moment = datetime(2025, 5, 28, 9, 48, tzinfo=CST)
    raw = g.eml(subject=studio.subject, from_name="灵寿县总工会", from_addr="lsxzgh@126.com", date=moment,
                received=moment, message_id="<n1@lsxzgh.126.com>", body_text="附件为入库材料。",
                attachments=[g.Attachment(studio.subject + ".zip", archive)])
    assert ingest_bytes(app, raw, "file:unnumbered").verdict == "rejected"
    body = _reply(app)
    assert "“石家庄市劳模和工匠人才创新工作室入A级库申报表.docx”应命名为“（1）石家庄市劳模和工匠人才创新工作室入A级库申报表.docx”" in body
    assert "应命名为“（2）苗青创新工作室事迹材料.docx”" in body and "按通知要求" in body
    assert "（4）石家庄市劳模和工匠人才创新工作室入库汇总表”的序号和名称" in body   # the 4th, counted, is in the fix


def _reply(app) -> str:
    with app.sessions() as s:
        (sub,) = repo.submissions(s)
        raw = sub.replies[0].raw
    return email.message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()


# --- 四.3(1) 盖章扫描件: no visible seal is never acknowledged as compliant -------------------------------

def test_a_scan_without_a_seal_reaches_staff_and_is_not_called_compliant(app) -> None:
    sample = g._submissions()["35-scan-without-seal"]
    assert ingest_bytes(app, sample.to_eml(), "file:seal").verdict == "review"
    body = _reply(app)
    assert "格式符合通知要求" not in body and "红色公章" in body


# --- 一(一)1, 一(三): the leader, read from the form --------------------------------------------------------

def record(**values: object) -> FormRecord:
    base: dict[str, object] = {"studio_name": "李红名师创新工作室", "leader_name": "李红", "leader_title": "高级教师",
                               "leader_honour": "石家庄市教学名师", "member_count": 5, "innovation_results": ["甲", "乙"]}
    return FormRecord(values={**base, **values}, members=[{"name": f"成员{i}"} for i in range(4)])


def form_findings(campaign: Campaign, rec: FormRecord, category: str, studio: str = "李红名师创新工作室") -> list:
    assert campaign.form is not None
    rec.values["studio_name"] = studio   # the form names the studio as the subject does (no FORM_MISMATCH)
    return [for_campaign(f, campaign) for f in check_form("申报表.docx", rec, campaign.form, campaign, studio, category)]


@pytest.mark.parametrize("honour, hinted", [
    ("石家庄市劳动模范", False), ("河北省金牌工人", False), ("全国劳动模范", False), ("石家庄市能工巧匠", False),
    ("正定县劳动模范", True), ("公司劳动模范", True), ("辛集市劳动模范", True), ("石家庄市鹿泉区金牌工人", True),
    ("优秀共产党员", True),
])
def test_a_labour_model_studio_is_led_by_a_city_level_model_worker_in_principle(campaign: Campaign, honour: str,
                                                                                 hinted: bool) -> None:
    found = form_findings(campaign, record(leader_title="高级技师", leader_honour=honour), "劳模和工匠人才",
                          "李红创新工作室")
    assert codes(found) == (["LEADER_CONDITION"] if hinted else [])
    if hinted:
        (f,) = found
        assert f.severity is Severity.REVIEW and f.basis == "一(一)1" and f"“{honour}”" in f.message
        assert "市级及以上劳动模范、金牌工人、能工巧匠" in f.message and "曾获最高荣誉" in f.message


@pytest.mark.parametrize("title, honour, expected", [
    ("高级教师", "石家庄市教学名师", []), ("正高级教师", "河北省学科名师", []),
    ("高级技师", "石家庄市教学名师", ["一(三)1第一"]),     # a vocational skill level, not 高级职称
    ("高级教师", "河北省骨干教师", ["一(三)1第一"]),         # no 教学名师（学科名师）title
    ("高级教师", "正定县教学名师", ["一(三)1第一"]),         # below 市级
    ("一级教师", "区级骨干教师", ["一(三)1第一", "一(三)1第一"]),   # both: each said with its value
])
def test_a_famous_teacher_needs_a_senior_title_and_a_city_teaching_title(campaign: Campaign, title, honour,
                                                                         expected) -> None:
    found = form_findings(campaign, record(leader_title=title, leader_honour=honour), "名师")
    assert codes(found) == ["LEADER_CONDITION"] * len(expected) and [f.basis for f in found] == expected
    if title == "高级技师":
        assert "高级技师等职业技能等级不是职称" in found[0].message


# --- category from the form, channel, name (一(二)1, 三, 四.2) ------------------------------------------------

def test_the_category_is_read_from_the_leader_when_the_name_does_not_say_it(campaign: Campaign) -> None:
    def of(studio: str, **values: object) -> str:
        return category_of(studio, record(**{"studio_name": studio, **values}), campaign)

    assert of("赵雅丽创新工作室", leader_title="高级教师", leader_honour="石家庄市学科名师") == "名师"
    assert of("王建国创新工作室", leader_title="主任医师", leader_honour="石家庄市名医") == "名医"
    assert of("赵雅丽创新工作室", studio_name="赵雅丽名医创新工作室") == "名医"   # the form's own name for it
    # signs of both (a teacher's title, a doctor's honour): not for the code to guess
    assert of("张三创新工作室", leader_title="主任医师", leader_honour="石家庄市教学名师") == "劳模和工匠人才"
    assert of("张三创新工作室", leader_title="高级技师", leader_honour="河北省劳动模范") == "劳模和工匠人才"


@pytest.mark.parametrize("unit, expected", [
    ("桥西区总工会", ["CATEGORY_CHANNEL"]), ("石家庄市教科文卫工会", []), ("市教科文卫工会", []),
    ("正定县第一中学工会", []),   # may not send at all: NOT_RECOMMENDING_UNIT says so
])
def test_a_famous_teacher_studio_comes_through_the_city_education_union(campaign: Campaign, unit: str,
                                                                        expected: list[str]) -> None:
    found = [for_campaign(f, campaign) for f in check_category_channel(record(), campaign, unit, "李红名师创新工作室",
                                                                       "名师")]
    assert codes(found) == expected
    if found:
        assert found[0].severity is Severity.REVIEW and "“桥西区总工会”" in found[0].message
        assert "市教科文卫工会" in found[0].message and "名称“李红名师创新工作室”含“名师”" in found[0].message
    by_form = check_category_channel(record(leader_title="高级教师"), campaign, "桥西区总工会", "李红创新工作室", "名师")
    assert "带头人的“职称/技术等级”为“高级教师”" in by_form[0].message


def test_famous_teacher_and_doctor_studios_bear_the_leader_name(campaign: Campaign) -> None:
    found = form_findings(campaign, record(), "名师", "育英小学名师创新工作室")
    assert codes(found) == ["NOT_NAMED_AFTER_LEADER"] and "“李红”" in found[0].message
    assert found[0].basis == "一(二)1" and found[0].severity is Severity.REVIEW
    assert form_findings(campaign, record(), "名师") == []
    labour = record(leader_title="高级技师", leader_honour="石家庄市劳动模范")
    assert form_findings(campaign, labour, "劳模和工匠人才", "恒通机械创新工作室") == []   # not a rule for them


def test_a_county_union_sending_a_teacher_studio_named_without_the_word_goes_to_review(app) -> None:
    sample = g._submissions()["36-mingshi-by-form-via-county"]
    assert ingest_bytes(app, sample.to_eml(), "file:36").verdict == "review"
    with app.sessions() as s:
        (sub,) = repo.submissions(s)
        assert [f.code for f in sub.findings] == ["CATEGORY_CHANNEL"] and sub.fields["category"] == "名师"


# --- 一(一)8 / 一(二)6: what the form can show of the results ---------------------------------------------------

def test_results_are_counted_per_category_and_the_wording_says_what_the_form_shows(campaign: Campaign) -> None:
    one = record(innovation_results=["一种新型夹具"])
    assert form_findings(campaign, one, "名师") == []                      # 名师/名医: results every year (≥1)
    labour = record(innovation_results=["一种新型夹具"], leader_title="高级技师", leader_honour="石家庄市劳动模范")
    (found,) = form_findings(campaign, labour, "劳模和工匠人才", "李红创新工作室")
    assert str(found.code) == "TOO_FEW_RESULTS" and found.basis == "一(一)8、一(二)6"
    assert "列出1项" in found.message and "不分年度" in found.message and "技术攻关项目" in found.message


# --- the campaign data ---------------------------------------------------------------------------------

def test_every_new_rule_carries_its_clause(campaign: Campaign) -> None:
    for code in (Code.DELAYED_DELIVERY, Code.MATERIAL_NAMING, Code.UNIT_NOT_ON_ROSTER, Code.CATEGORY_CHANNEL,
                 Code.NOT_NAMED_AFTER_LEADER, Code.SEAL_NOT_VISIBLE, Code.TOO_FEW_RESULTS):
        assert campaign.basis_of(code) not in ("", "office"), code
    assert campaign.delayed_delivery_hours == 4 and campaign.category_units["名医"] == ("市教科文卫工会",)
