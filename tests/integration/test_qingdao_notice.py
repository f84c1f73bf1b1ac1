"""The Qingdao 2022 call exactly as published (issue 15 §2, 青卫办函〔2022〕40号).

Real messages built by scripts/samplegen_qingdao.py go through the real pipeline (ingest_bytes: the ledger, the
sandbox child, real SQLite) with config.qingdao.toml, paths changed only. One test per item of the issue: any
subject that carries the materials is judged on them; the stamped 申报表 and the 证明材料复印件 are what is
required; the 汇总表 is optional and five columns wide; no team size; 三(一)1 is one of two branches; 二(二)'s
领衔 condition is a review hint with its clause; the notice names no mailbox.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import samplegen_qingdao as q

from helpers import REPO, FakeClock
from helpers.configfile import write_example_config
from parsers.form_reader import FormRecord
from pipeline.config import Campaign, load_config, parse_config
from pipeline.errors import ConfigError
from pipeline.intake.ledger import ingest_bytes
from pipeline.rules.eligibility import check_form
from pipeline.rules.findings import Code, Severity
from pipeline.rules.wording import for_campaign
from storage import repo

CAMPAIGN_FILE = REPO / "campaigns" / "qingdao-wjw-2022.toml"
QINGDAO = load_config(REPO / "config.qingdao.toml").campaigns[0]
CST = timezone(timedelta(hours=8))
IN_TIME = datetime(2022, 5, 12, 9, 30, 7, tzinfo=CST)


def qingdao_config_text(tmp_path: Path) -> str:
    """config.qingdao.toml with storage, data and outbox under tmp_path and the campaign file found from there."""
    text = write_example_config(tmp_path, source=REPO / "config.qingdao.toml").read_text(encoding="utf-8")
    return text.replace('campaign_files = ["campaigns/qingdao-wjw-2022.toml"]', f'campaign_files = ["{CAMPAIGN_FILE}"]')


@pytest.fixture
def qingdao_app(tmp_path: Path) -> Any:
    from pipeline.bootstrap import build_app

    path = tmp_path / "config.toml"
    path.write_text(qingdao_config_text(tmp_path), encoding="utf-8")
    return build_app(load_config(path), clock=FakeClock(datetime(2022, 5, 21, 1, 0, tzinfo=UTC)))


def studio(**kw: Any) -> q.QStudio:
    base: dict[str, Any] = {"unit": "青岛市市立医院", "leader": "张伟", "gender": "男", "kind": "技术创新型",
                            "name_core": "张伟劳模", "seed": 1}
    return q.QStudio(**{**base, **kw})


def judged(app: Any, sub: q.QSubmission, key: str = "m.eml") -> dict[str, Any]:
    """Ingest one real message; its campaign, verdict, {code: (severity, basis)}, fields and findings' text."""
    result = ingest_bytes(app, sub.to_eml(), key)
    with app.sessions() as session:
        (row,) = [s for s in repo.submissions(session) if s.id == result.submission_id]
        return {"campaign": row.campaign, "verdict": row.verdict, "fields": row.fields or {},
                "codes": {f.code: (f.severity, f.basis) for f in row.findings},
                "text": "\n".join(f.message + f.fix for f in row.findings)}


# --- any subject that carries the materials is judged on its materials ---------------------------------------

def test_a_complete_package_under_any_subject_is_accepted(qingdao_app: Any) -> None:
    """The issue's own example: rejected as SUBJECT_FORMAT before; the notice prescribes no subject."""
    out = judged(qingdao_app, q.QSubmission(studio(), "slyy@qd.gov.cn", IN_TIME,
                                            subject="青岛市市立医院张伟工作室申报材料", archive_name="材料"))
    assert (out["campaign"], out["verdict"], out["codes"]) == ("qingdao-wjw-2022", "accepted", {})
    assert out["fields"]["studio_name"] == "张伟劳模创新工作室"   # read from the form, not the subject
    assert out["fields"]["recommending_unit"] == "青岛市市立医院"  # the form's 申报单位, without its （盖章）
    assert out["fields"]["category"] == "技术创新型"


def test_loose_files_under_a_plain_subject_are_judged_on_their_names_and_note(qingdao_app: Any) -> None:
    names = {f"{q.FORM_TITLE}（盖章扫描件）.pdf": "申报表（盖章）.pdf", f"{q.FORM_TITLE}.docx": "申报表.docx"}
    sub = q.QSubmission(studio(), "slyy@qd.gov.cn", IN_TIME, archive="none", summary="none", subject="报送",
                        file_names=names, body="附件是申报表和证明材料复印件。\n")
    out = judged(qingdao_app, sub)
    assert (out["campaign"], out["verdict"], out["codes"]) == ("qingdao-wjw-2022", "accepted", {})


def test_files_with_telling_no_name_are_still_judged_and_told_what_is_missing(qingdao_app: Any) -> None:
    """Routing rule for a campaign without a subject convention: any files in its window are an attempt."""
    names = {f"{q.FORM_TITLE}（盖章扫描件）.pdf": "doc01.pdf", f"{q.FORM_TITLE}.docx": "doc02.docx",
             "证明材料/职称证书复印件.jpg": "IMG_0001.jpg", "证明材料/科技进步奖获奖证书复印件.jpg": "IMG_0002.jpg"}
    sub = q.QSubmission(studio(), "slyy@qd.gov.cn", IN_TIME, archive="none", summary="none", subject="你好",
                        file_names=names, body="请查收。\n")
    out = judged(qingdao_app, sub)
    assert out["campaign"] == "qingdao-wjw-2022" and out["verdict"] == "rejected"
    assert out["codes"]["MISSING_FORM_SCAN"] == ("reject", "五(三)")   # the stamped form, by name, was not found


def test_mail_that_is_clearly_not_a_submission_stays_ignored(qingdao_app: Any) -> None:
    question = q.QSubmission(studio(), "slyy@qd.gov.cn", IN_TIME, archive="absent", subject="关于创新工作室申报的咨询",
                             body="请问申报表需要几份？\n")
    out = judged(qingdao_app, question, "question.eml")
    assert (out["campaign"], out["verdict"], set(out["codes"])) == (None, "ignored", {"UNRELATED"})
    away = q.QSubmission(studio(seed=2), "slyy@qd.gov.cn", IN_TIME, archive="absent", subject="自动回复：休假中",
                         extra_headers=(("Auto-Submitted", "auto-replied"),))
    out = judged(qingdao_app, away, "away.eml")
    assert (out["verdict"], set(out["codes"])) == ("ignored", {"AUTO_REPLY"})
    assert not list((qingdao_app.config.smtp.outbox_dir or Path("/nonexistent")).glob("*.eml"))


# --- the stamped form and the certificates are what is required ----------------------------------------------

def test_the_stamped_form_and_the_certificates_are_required_by_five_three(qingdao_app: Any) -> None:
    out = judged(qingdao_app, q.QSubmission(studio(), "slyy@qd.gov.cn", IN_TIME, scan=False), "a.eml")
    assert out["verdict"] == "rejected" and out["codes"] == {"MISSING_FORM_SCAN": ("reject", "五(三)")}
    out = judged(qingdao_app, q.QSubmission(studio(seed=3), "slyy@qd.gov.cn", IN_TIME, certificates=0), "b.eml")
    assert out["verdict"] == "rejected" and out["codes"] == {"MISSING_EVIDENCE": ("reject", "五(三)")}


def test_a_package_without_the_summary_table_is_accepted(qingdao_app: Any) -> None:
    out = judged(qingdao_app, q.QSubmission(studio(), "slyy@qd.gov.cn", IN_TIME, summary="none"))
    assert (out["verdict"], out["codes"]) == ("accepted", {})


def test_the_notice_sets_no_team_size(qingdao_app: Any) -> None:
    out = judged(qingdao_app, q.QSubmission(studio(members=1), "slyy@qd.gov.cn", IN_TIME))
    assert (out["verdict"], out["codes"]) == ("accepted", {})
    assert out["fields"]["member_count"] == 2
    assert QINGDAO.form is not None and QINGDAO.form.min_members == 0


# --- 附件2: five columns ---------------------------------------------------------------------------------

@pytest.mark.parametrize("summary,with_leader", [("xlsx", False), ("docx", False), ("docx", True), ("xlsx", True)])
def test_a_summary_table_on_the_notices_five_column_template_agrees(qingdao_app: Any, summary: str,
                                                                      with_leader: bool) -> None:
    sub = q.QSubmission(studio(with_leader=with_leader), "slyy@qd.gov.cn", IN_TIME, summary=summary)
    out = judged(qingdao_app, sub)
    assert (out["verdict"], out["codes"]) == ("accepted", {})
    (row,) = out["fields"]["summary_rows"]
    assert row["recommending_unit"] == "青岛市市立医院" and row["leader_honours"] == "青岛市劳动模范；青岛市拔尖人才"
    assert row["studio_name"].startswith("张伟劳模创新工作室")
    assert [c.labels[0] for c in QINGDAO.summary_table.table.columns] == [  # type: ignore[union-attr]
        "创新工作室所在单位", "创新工作室领衔人", "职称技术等级", "主要创新成果", "领衔人主要荣誉（限5项以内）"]


def test_a_summary_table_that_lists_another_studio_is_for_staff_to_check(qingdao_app: Any) -> None:
    sub = q.QSubmission(studio(summary_studio="张伟创新工作室"), "slyy@qd.gov.cn", IN_TIME, summary="docx")
    out = judged(qingdao_app, sub)
    assert out["verdict"] == "review" and out["codes"] == {"SUMMARY_MISMATCH": ("review", "office")}
    assert "邮件主题" not in out["text"] and "通知要求" not in out["text"]


# --- 三(一)1: either branch ------------------------------------------------------------------------------

def _form(**values: Any) -> FormRecord:
    base: dict[str, Any] = {"studio_name": "张伟劳模创新工作室", "leader_name": "张伟", "leader_title": "主任医师",
                            "leader_honours": ["青岛市劳动模范"]}
    return FormRecord(values={**base, **values}, raw={}, members=[], missing=[], unreadable=[])


def _conditions(record: FormRecord, category: str = "技术创新型", campaign: Campaign = QINGDAO) -> list[str]:
    assert campaign.form is not None
    found = check_form("申报表.docx", record, campaign.form, campaign, "", category)
    return [str(f.code) for f in found if f.code in (Code.CATEGORY_CONDITION, Code.LEADER_CONDITION)]


@pytest.mark.parametrize("results,ok", [
    (["2021年获青岛市科技进步二等奖"], True),                                       # branch 1
    (["2020年获国家发明专利（ZL2020…）", "2021年获国家发明专利（ZL2021…）"], True),    # branch 2: two patents
    (["2020年获青岛市职工优秀技术创新成果奖", "2022年获国家发明专利"], True),          # branch 2: award + patent
    (["2021年获国家发明专利"], False),                                             # one is not two
    (["2020年获国家实用新型专利", "2021年获国家实用新型专利"], False),                 # not 发明专利
    (["2017年获国家发明专利", "2018年获国家发明专利"], False),                       # not within three years
    (["2017年获青岛市科技进步二等奖"], False),
])
def test_technical_innovation_is_one_of_two_branches(results: list[str], ok: bool) -> None:
    assert _conditions(_form(innovation_results=results)) == ([] if ok else ["CATEGORY_CONDITION"])


def test_two_patents_pass_end_to_end(qingdao_app: Any) -> None:
    patents = ("2020年获国家发明专利（一种可降解止血夹）", "2021年获国家发明专利（一种经皮穿刺导引装置）")
    out = judged(qingdao_app, q.QSubmission(studio(results=patents), "slyy@qd.gov.cn", IN_TIME))
    assert (out["verdict"], out["codes"]) == ("accepted", {})


# --- 二(二): who leads --------------------------------------------------------------------------------------

@pytest.mark.parametrize("honours,title,ok", [
    (["青岛市劳动模范"], "副主任医师", True),
    (["山东省劳动模范"], "主治医师", True),
    (["全国五一劳动奖章"], "副主任护师", True),
    (["享受国务院政府特殊津贴"], "副主任医师", True),
    (["青岛市拔尖人才"], "副主任医师", True),
    (["市北区劳动模范"], "副主任医师", False),        # not 市级以上
    (["青岛市卫生健康系统优秀护士"], "副主任护师", False),
    ([], "副主任医师", False),                         # nothing written, not 正高级
    ([], "主任医师", True),                            # 正高级: whether 优秀 is the experts' call (四(一))
])
def test_the_leader_is_a_city_model_worker_or_high_level_talent(honours: list[str], title: str, ok: bool) -> None:
    for category in ("技术创新型", "服务创新型", "管理创新型", ""):   # every type, and an unticked one
        record = _form(leader_honours=honours, leader_title=title, innovation_results=["2021年获青岛市科技进步一等奖"])
        found = [c for c in _conditions(record, category) if c == "LEADER_CONDITION"]
        assert found == ([] if ok else ["LEADER_CONDITION"]), category


def test_the_leader_condition_is_a_review_hint_that_cites_two_two(qingdao_app: Any) -> None:
    lead = studio(title="副主任护师", kind="服务创新型", honours=("青岛市卫生健康系统优秀护士",),
                  results=("互联网+延续护理服务平台",))
    out = judged(qingdao_app, q.QSubmission(lead, "slyy@qd.gov.cn", IN_TIME))
    assert out["verdict"] == "review" and out["codes"] == {"LEADER_CONDITION": ("review", "二(二)")}
    assert "申报表中领衔人的主要荣誉为“青岛市卫生健康系统优秀护士”，按通知要求，应由至少一名市级以上劳模" in out["text"]
    assert "带头人" not in out["text"]


# --- the campaign's data --------------------------------------------------------------------------------

def test_the_campaign_enforces_nothing_the_notice_does_not_state() -> None:
    assert not QINGDAO.subject.enforced and not QINGDAO.subject.attachment_same_as_subject
    assert not QINGDAO.archive_required
    assert {d.role: d.required for d in QINGDAO.documents} == {"form_scan": True, "form_word": False, "summary": False}
    assert QINGDAO.evidence.min_count == 1
    for code in ("SUBJECT_FORMAT", "NOT_ARCHIVE", "ARCHIVE_NAME_MISMATCH", "MISSING_SUMMARY", "TEAM_TOO_SMALL"):
        assert code not in QINGDAO.basis, code
    assert QINGDAO.subject.example == ""


def test_the_notice_names_no_mailbox_and_none_is_invented() -> None:
    data = tomllib.loads((REPO / "config.qingdao.toml").read_text(encoding="utf-8"))
    assert QINGDAO.mailbox == ""
    assert data["mailbox"]["username"] == data["mailbox"]["host"] == ""
    assert data["smtp"]["username"] == data["smtp"]["sender"] == data["smtp"]["host"] == ""
    assert "@" not in (REPO / "config.qingdao.toml").read_text(encoding="utf-8").replace("staff@example.cn", "")


def test_replies_are_written_without_a_configured_sender(qingdao_app: Any) -> None:
    """With no mailbox configured the service still judges and queues its replies (Message-ID @localhost)."""
    judged(qingdao_app, q.QSubmission(studio(), "slyy@qd.gov.cn", IN_TIME))
    with qingdao_app.sessions() as session:
        (item,) = repo.pending_replies(session)
        assert item.reply_message_id.endswith("@localhost>") and item.to_addr == "slyy@qd.gov.cn"


def _with_condition(**condition: Any) -> None:
    data = tomllib.loads(CAMPAIGN_FILE.read_text(encoding="utf-8"))
    data["campaigns"]["qingdao-wjw-2022"]["form"]["conditions"][0].update(condition)
    data.update(tomllib.loads((REPO / "config.qingdao.toml").read_text(encoding="utf-8")))
    data.pop("campaign_files")
    parse_config(data, REPO)


def test_config_check_reports_a_broken_any_of_group() -> None:
    with pytest.raises(ConfigError) as err:
        _with_condition(any_of_groups=[{"any_of": []}, {"any_of": ["奖"], "min_items": 0, "field": "nowhere"}, "x",
                                       {"any_of": ["奖"], "typo": 1}])
    problems = "\n".join(err.value.problems)
    assert "any_of_groups[0].any_of: at least one word is required" in problems
    assert "any_of_groups[1].min_items: must be 1 or more" in problems
    assert "field 'nowhere' is not a form field" in problems
    assert "any_of_groups[2]: expected a table" in problems
    assert "any_of_groups[3].typo: unknown key" in problems


def test_a_condition_without_groups_reads_as_before() -> None:
    """The any_of / none_of / within_years of a condition are its one branch (石家庄's leader conditions)."""
    assert QINGDAO.form is not None
    management = next(c for c in QINGDAO.form.conditions if c.category == "管理创新型")
    assert management.groups == () and len(management.alternatives()) == 1
    assert _conditions(_form(innovation_results=["2021年获青岛市管理创新成果一等奖"]), "管理创新型") == []
    assert _conditions(_form(innovation_results=["2016年获青岛市管理创新成果一等奖"]), "管理创新型") == \
        ["CATEGORY_CONDITION"]
    # Worded in the notice's terms, with the clause of the branch's condition.
    technical = next(c for c in QINGDAO.form.conditions if c.category == "技术创新型")
    assert QINGDAO.form is not None
    found = check_form("申报表.docx", _form(innovation_results=["2021年获国家发明专利"]), QINGDAO.form, QINGDAO, "",
                       "技术创新型")
    (finding,) = [for_campaign(f, QINGDAO) for f in found]
    assert finding.basis == "三(一)1" and finding.severity is Severity.REVIEW and technical.explain in finding.message
    assert replace(technical, groups=()).alternatives()[0].any_of == ()   # no words of its own: groups carry them
