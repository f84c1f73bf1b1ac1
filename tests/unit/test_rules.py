"""The campaign's rules on facts: subject, units, attachments, materials, 字数, evidence, deadline."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from helpers.facts import ON_TIME, SUBJECT, complete_files, facts, file_facts
from pipeline.rules.checks import ArchiveFacts, SubmissionFacts, evaluate
from pipeline.rules.facts import LargeAttachmentLink
from pipeline.rules.findings import Severity, Verdict, verdict_for


def codes(campaign, f: SubmissionFacts) -> list[str]:
    return sorted({str(x.code) for x in evaluate(f, campaign)})


def test_complete_submission_has_no_findings(campaign) -> None:
    found = evaluate(facts(campaign), campaign)
    assert found == []
    assert verdict_for(found) is Verdict.ACCEPTED


@pytest.mark.parametrize("subject", [
    "正定县总工会张三创新工作室入库材料", "正定县 总工会 张三 创新工作室 入库材料", "回复：正定县总工会张三创新工作室入库材料",
    "石家庄市教科文卫工会王五名医创新工作室入库材料", "辛集市总工会李四创新工作室入库材料", "井陉矿区总工会赵六创新工作室入库材料",
    "市直机关工会孙七创新工作室入库材料", "石家庄市建设建材产业工会周八创新工作室入库材料",
    "《正定县总工会张三创新工作室入库材料》", "正定县总工会恒通机械厂张三创新工作室入库材料",
])
def test_recommending_units_are_accepted(campaign, subject: str) -> None:
    assert codes(campaign, facts(campaign, subject=subject, archive=subject + ".zip")) == []


@pytest.mark.parametrize("subject,unit", [
    ("河北敬业集团有限公司工会刘洋创新工作室入库材料", "河北敬业集团有限公司工会"), ("石药集团张三创新工作室入库材料", "石药集团"),
    ("华北制药集团有限责任公司工会王五创新工作室入库材料", "华北制药集团有限责任公司工会"),
])
def test_an_enterprise_union_waits_for_the_roster(campaign, subject: str, unit: str) -> None:
    """Only 市总直属 enterprise unions may send (四.3): one that fits the pattern but is not on the roster (empty
    by default) goes to staff with the reason, and is accepted once staff list it."""
    (found,) = evaluate(facts(campaign, subject=subject, archive=subject + ".zip"), campaign)
    assert str(found.code) == "UNIT_NOT_ON_ROSTER" and found.severity is Severity.REVIEW
    assert f"“{unit}”尚不在市总直属企业工会名单中" in found.message and found.basis == "四.3、四.6"
    kinds = tuple(replace(k, roster=(*k.roster, unit)) if k.kind == "enterprise" else k for k in campaign.units)
    listed = replace(campaign, units=kinds)
    assert codes(listed, facts(listed, subject=subject, archive=subject + ".zip")) == []


@pytest.mark.parametrize("subject", [
    "正定县第一中学工会卫东名师创新工作室入库材料", "石家庄市第一医院李四名医创新工作室入库材料",
    "正定县新安镇总工会张三创新工作室入库材料", "正定县恒通机械有限公司工会张三创新工作室入库材料",
    "石家庄市总工会张三创新工作室入库材料", "正定县第一中学李四名师创新工作室入库材料", "正定县恒通机械厂张三创新工作室入库材料",
])
def test_base_units_may_not_send_directly(campaign, subject: str) -> None:
    assert codes(campaign, facts(campaign, subject=subject, archive=subject + ".zip")) == ["NOT_RECOMMENDING_UNIT"]


@pytest.mark.parametrize("subject", ["张三创新工作室申报材料", "入库材料", "正定县总工会张三创新工作室", "", "李四创新工作室入库材料"])
def test_malformed_subjects(campaign, subject: str) -> None:
    archive = "正定县总工会张三创新工作室入库材料.zip"
    assert codes(campaign, facts(campaign, subject=subject, archive=archive)) == ["SUBJECT_FORMAT"]


def test_archive_named_after_subject_with_copy_suffix_and_spaces(campaign) -> None:
    assert codes(campaign, facts(campaign, archive="正定县总工会 张三创新工作室入库材料(1).rar")) == []


def test_archive_name_mismatch(campaign) -> None:
    found = evaluate(facts(campaign, archive="申报材料.zip"), campaign)
    assert [str(f.code) for f in found] == ["ARCHIVE_NAME_MISMATCH"]
    assert found[0].file == "申报材料.zip" and SUBJECT in found[0].fix


@pytest.mark.parametrize("sent", ["申报材料.7z", "申报材料.RAR", "申报材料.tar.gz"])
def test_the_name_a_mismatch_asks_for_keeps_the_senders_format(campaign, sent: str) -> None:
    """四.4 asks for 压缩文件, not for ZIP: a 7z is told its right name as a 7z."""
    (found,) = evaluate(facts(campaign, archive=sent), campaign)
    assert f"“{SUBJECT}{sent[len('申报材料'):]}”" in found.fix


def test_no_attachment_and_large_attachment_link(campaign) -> None:
    assert codes(campaign, facts(campaign, files=[], archive=None, attachment_names=())) == ["NO_ATTACHMENT"]
    link = LargeAttachmentLink("x.zip", "https://mail.163.com/large-attachment-download/?p=1", "2025年6月12日")
    found = evaluate(facts(campaign, files=[], archive=None, attachment_names=(), large_links=(link,)), campaign)
    assert [str(f.code) for f in found] == ["LARGE_ATTACHMENT_LINK"]
    assert verdict_for(found) is Verdict.REVIEW


def test_loose_files_are_not_an_archive_but_still_checked(campaign) -> None:
    assert codes(campaign, facts(campaign, archive=None)) == ["NOT_ARCHIVE"]
    assert codes(campaign, facts(campaign, files=complete_files()[:2], archive=None)) == [
        "MISSING_EVIDENCE", "MISSING_NARRATIVE", "MISSING_SUMMARY", "NOT_ARCHIVE"]


@pytest.mark.parametrize("problem,code", [("encrypted", "ARCHIVE_ENCRYPTED"), ("corrupt", "ARCHIVE_CORRUPT"),
                                          ("unsafe", "UNSAFE_ARCHIVE")])
def test_broken_archives_skip_the_content_checks(campaign, problem: str, code: str) -> None:
    f = SubmissionFacts(SUBJECT, ON_TIME, (SUBJECT + ".zip",),
                        (ArchiveFacts(SUBJECT + ".zip", "zip", problem, "x"),), ())
    assert codes(campaign, f) == [code]


@pytest.mark.parametrize("drop,code", [(0, "MISSING_FORM_WORD"), (1, "MISSING_FORM_SCAN"), (2, "MISSING_NARRATIVE"),
                                       (5, "MISSING_SUMMARY")])
def test_each_missing_material(campaign, drop: int, code: str) -> None:
    files = complete_files()
    del files[drop]
    assert codes(campaign, facts(campaign, files=files)) == [code]


def test_narrative_named_otherwise_is_found_by_its_prose(campaign) -> None:
    files = complete_files()
    files[2] = file_facts("张三工作室情况介绍.docx", "docx", 1200)
    (found,) = evaluate(facts(campaign, files=files, studio="张三创新工作室"), campaign)  # found, only misnamed (四.4)
    assert str(found.code) == "MATERIAL_NAMING" and "应命名为“（2）张三创新工作室事迹材料.docx”" in found.message


def test_form_and_summary_found_by_content(campaign) -> None:
    files = complete_files()
    files[0] = file_facts("表1.docx", "docx", 300, text="工作室名称\t\t成立时间\n工作室带头人情况\t姓名")
    files[5] = file_facts("表2.docx", "docx", 100, text="序号\t推荐单位\t申报单位\t工作室名称")
    form, summary = evaluate(facts(campaign, files=files), campaign)   # found, only misnamed (四.4)
    assert [str(form.code), form.file, summary.file] == ["MATERIAL_NAMING", "表1.docx", "表2.docx"]
    assert "“表1.docx”应命名为“（1）石家庄市劳模和工匠人才创新工作室入A级库申报表.docx”" in form.message
    assert "“表2.docx”应命名为“（4）石家庄市劳模和工匠人才创新工作室入库汇总表.docx”" in summary.message


@pytest.mark.parametrize("low,high,severity", [(999, 999, Severity.REJECT), (780, 790, Severity.REJECT),
                                               (995, 1003, Severity.REVIEW)])
def test_narrative_too_short_rejects_below_and_reviews_in_the_band(campaign, low: int, high: int, severity) -> None:
    files = complete_files()
    files[2] = file_facts("（2）张三创新工作室事迹材料.docx", "docx", low, high)
    (finding,) = evaluate(facts(campaign, files=files), campaign)
    assert str(finding.code) == "NARRATIVE_TOO_SHORT" and finding.severity is severity
    assert str(low) in finding.message and "1000" in finding.message


def test_narrative_at_exactly_the_minimum_passes(campaign) -> None:
    files = complete_files()
    files[2] = file_facts("（2）张三创新工作室事迹材料.docx", "docx", 1000)
    assert codes(campaign, facts(campaign, files=files)) == []


def test_unreadable_narrative_goes_to_review(campaign) -> None:
    files = complete_files()
    files[2] = file_facts("（2）张三创新工作室事迹材料.doc", "doc", problem="旧版Word（.doc/.wps）格式")
    found = evaluate(facts(campaign, files=files), campaign)
    assert [str(f.code) for f in found] == ["UNREADABLE_DOCUMENT"]
    assert verdict_for(found) is Verdict.REVIEW


def test_evidence_must_be_jpeg_by_bytes(campaign) -> None:
    files = complete_files()
    files[4] = file_facts("（3）佐证材料/3-2 专利证书.jpg", "png")
    found = evaluate(facts(campaign, files=files), campaign)
    assert [str(f.code) for f in found] == ["EVIDENCE_NOT_JPEG"]
    assert found[0].file.endswith("3-2 专利证书.jpg") and "PNG" in found[0].message


def test_pdf_evidence_is_allowed(campaign) -> None:
    files = complete_files() + [file_facts("（3）佐证材料/3-3 获奖文件.pdf", "pdf")]
    assert codes(campaign, facts(campaign, files=files)) == []


@pytest.mark.parametrize("names", [["荣誉证书.jpg", "专利证书.jpg"], ["3-1 a.jpg", "3-3 b.jpg"], ["3-1 a.jpg", "3-1 b.jpg"],
                                   ["佐证材料/证书.jpg", "3-1 a.jpg"]])
def test_evidence_naming(campaign, names: list[str]) -> None:
    files = complete_files()[:3] + [complete_files()[5]] + [file_facts(n, "jpeg") for n in names]
    assert codes(campaign, facts(campaign, files=files)) == ["EVIDENCE_NAMING"]


def test_late_by_receipt_time_in_shanghai(campaign) -> None:
    last_second = datetime(2025, 5, 30, 23, 59, 59, tzinfo=timezone(timedelta(hours=8)))
    assert codes(campaign, facts(campaign, received=last_second)) == []
    found = evaluate(facts(campaign, received=last_second + timedelta(seconds=1)), campaign)
    assert [str(f.code) for f in found] == ["LATE"]
    assert "2025年5月31日 00:00" in found[0].message


def test_late_and_other_problems_are_all_listed(campaign) -> None:
    files = complete_files()[1:]
    late = datetime(2025, 6, 2, tzinfo=timezone.utc)
    assert codes(campaign, facts(campaign, files=files, received=late)) == ["LATE", "MISSING_FORM_WORD"]


def test_severity_is_configurable(campaign) -> None:
    from dataclasses import replace

    lenient = replace(campaign, severities={**campaign.severities, "ARCHIVE_NAME_MISMATCH": Severity.REVIEW})
    found = evaluate(facts(lenient, archive="申报材料.zip"), lenient)
    assert verdict_for(found) is Verdict.REVIEW


@pytest.mark.parametrize("subject,unit,studio", [
    ("河北敬业集团有限公司工会刘洋创新工作室入库材料", "河北敬业集团有限公司工会", "刘洋创新工作室"),
    ("石药集团张三创新工作室入库材料", "石药集团", "张三创新工作室"),
    ("正定县总工会恒通机械厂张三创新工作室入库材料", "正定县总工会", "恒通机械厂张三创新工作室"),
    ("石家庄市教科文卫工会王建国名医创新工作室入库材料", "石家庄市教科文卫工会", "王建国名医创新工作室"),
])
def test_unit_and_studio_split_at_the_longest_recognised_unit(campaign, subject: str, unit: str, studio: str) -> None:
    from pipeline.rules.subject import parse_subject

    parts = parse_subject(subject, campaign)
    assert (parts.unit, parts.studio, parts.well_formed) == (unit, studio, True)


def test_a_material_in_the_wrong_format_is_missing_not_evidence(campaign) -> None:
    files = complete_files()
    files[2] = file_facts("（2）张三创新工作室事迹材料.pdf", "pdf")
    assert codes(campaign, facts(campaign, files=files)) == ["MISSING_NARRATIVE"]


# --- one studio per message ------------------------------------------------------------------------------

OTHER = "正定县总工会李四创新工作室入库材料"


def test_two_studios_packed_separately_in_one_message_are_one_finding_naming_both(campaign) -> None:
    f = replace(facts(campaign, files=complete_files() * 2, attachment_names=(SUBJECT + ".zip", OTHER + ".zip")),
                archives=(ArchiveFacts(SUBJECT + ".zip", "zip"), ArchiveFacts(OTHER + ".zip", "zip")))
    (found,) = evaluate(f, campaign)  # not a misnamed archive per studio, nor evidence numbered twice
    # One studio per message is the office's wish, not the notice's (basis "office"): staff look, nothing is
    # rejected for it, and the sender is not told the notice demands it.
    assert str(found.code) == "SEVERAL_STUDIOS" and found.severity is Severity.REVIEW and found.basis == "office"
    assert "通知" not in found.message + found.fix
    assert "2个工作室" in found.message and "张三创新工作室、李四创新工作室" in found.message
    assert campaign.subject.example in found.fix


@pytest.mark.parametrize("studios,named", [
    ("张三创新工作室、李四创新工作室", "张三创新工作室、李四创新工作室"),
    ("张三创新工作室和李四创新工作室", "张三创新工作室、李四创新工作室"),
    ("张三创新工作室，李四创新工作室及王五创新工作室", "张三创新工作室、李四创新工作室、王五创新工作室"),
    ("和谐创新工作室、李四创新工作室", "和谐创新工作室、李四创新工作室"),
])
def test_a_subject_naming_several_studios_is_one_finding_naming_them(campaign, studios: str, named: str) -> None:
    subject = f"正定县总工会{studios}入库材料"
    (found,) = evaluate(facts(campaign, subject=subject, archive=subject + ".zip"), campaign)
    assert str(found.code) == "SEVERAL_STUDIOS" and f"（{named}）" in found.message


@pytest.mark.parametrize("studio", ["张三、李四创新工作室", "和谐创新工作室", "机械与自动化创新工作室"])
def test_a_studio_whose_name_holds_a_separator_is_one_studio(campaign, studio: str) -> None:
    subject = f"正定县总工会{studio}入库材料"
    assert "SEVERAL_STUDIOS" not in codes(campaign, facts(campaign, subject=subject, archive=subject + ".zip"))


def test_an_archive_named_after_another_studio_is_a_misnamed_archive(campaign) -> None:
    assert codes(campaign, facts(campaign, archive=OTHER + ".zip")) == ["ARCHIVE_NAME_MISMATCH"]


@pytest.mark.parametrize("drop,replacement,code", [
    (2, file_facts("（2）张三创新工作室事迹材料.pdf", "pdf"), "MISSING_NARRATIVE"),
    (0, file_facts("（1）石家庄市劳模和工匠人才创新工作室入A级库申报表.xlsx", "xlsx"), "MISSING_FORM_WORD"),
])
def test_a_material_sent_in_the_wrong_format_is_named_not_called_missing(campaign, drop, replacement, code) -> None:
    files = complete_files()
    files[drop] = replacement
    found = [f for f in evaluate(facts(campaign, files=files), campaign) if str(f.code) == code]
    assert len(found) == 1 and found[0].message.startswith(f"收到的“{replacement.name}”是")
    assert "未找到" not in found[0].message and found[0].file == replacement.name


@pytest.mark.parametrize("unit", ["正定总工会", "正定县工会", "正定工会"])
def test_a_shortened_unit_name_is_a_subject_to_write_in_full_not_a_wrong_sender(campaign, unit: str) -> None:
    subject = f"{unit}张三创新工作室入库材料"
    (found,) = [f for f in evaluate(facts(campaign, subject=subject, archive=subject + ".zip"), campaign)]
    assert str(found.code) == "SUBJECT_FORMAT" and "应为“正定县总工会”" in found.message
    assert "正定县总工会张三创新工作室入库材料" in found.fix


def test_an_unknown_unit_is_still_not_a_recommending_unit(campaign) -> None:
    subject = "某某镇工会张三创新工作室入库材料"
    assert codes(campaign, facts(campaign, subject=subject, archive=subject + ".zip")) == ["NOT_RECOMMENDING_UNIT"]


def test_an_empty_subject_is_called_empty(campaign) -> None:
    (found,) = [f for f in evaluate(facts(campaign, subject="  "), campaign) if str(f.code) == "SUBJECT_FORMAT"]
    assert found.message == "邮件没有填写主题。" and campaign.subject.example in found.fix


def test_a_narrative_of_pictures_says_why_it_counts_so_few_characters(campaign) -> None:
    def narrative(words: int, pictures: int) -> list[str]:
        files = complete_files()
        files[2] = replace(file_facts("（2）张三创新工作室事迹材料.docx", "docx", words), pictures=pictures)
        return [f.message + f.fix for f in evaluate(facts(campaign, files=files), campaign)
                if str(f.code) == "NARRATIVE_TOO_SHORT"]

    (scanned,) = narrative(11, 3)
    assert "约11字" in scanned and "3张图片" in scanned and "以文字形式" in scanned
    (short,) = narrative(900, 2)  # text nearly long enough, a couple of photos: the usual wording
    assert "图片" not in short and "约900字" in short
