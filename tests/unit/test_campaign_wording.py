"""Campaigns really are data (issue 15, section 1): every sentence about a campaign is in its own words, each
rule names the clause of the notice it implements, the office's own rules only ask for review and never cite
the notice, and a campaign may leave out what its notice does not ask for."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from helpers import REPO
from helpers.facts import complete_files, facts, file_facts
from pipeline.config import Campaign, load_config, parse_config
from pipeline.errors import ConfigError
from pipeline.intake.ledger import ingest_bytes
from pipeline.replies.compose import ReceivedDocument, ReplyContext, reply_subject, reply_text
from pipeline.rules.checks import evaluate
from pipeline.rules.findings import Code, Severity, Verdict, basis_label, verdict_for
from pipeline.rules.wording import for_campaign, make_finding, variants
from pipeline.staff.export import layout_for
from pipeline.staff.report import collect, render_html, render_text
from pipeline.staff.report_xlsx import field_columns
from pipeline.staff.review import show_text

SJZ = load_config(REPO / "config.example.toml").campaigns[0]
QINGDAO = load_config(REPO / "config.qingdao.toml").campaigns[0]
CAMPAIGNS = {"sjz": SJZ, "qingdao": QINGDAO}

# Values a check could pass to any template; none of them holds a campaign's convention.
PARAMS: dict[str, object] = {
    "subject": "关于申报的邮件", "example": "", "unit": "某单位", "full": "某单位全称", "expected": "某单位某工作室",
    "file": "材料.docx", "detail": "详情", "title": "申报表", "actual": "GIF", "count": 2, "minimum": 3,
    "maximum": 5, "pictures": 4, "received": "2022年5月21日 09:00", "deadline": "2022年5月20日 23:59",
    "field": "职称", "value": "主治医师", "explain": "应具备相应条件",
}


def every_finding(campaign: Campaign) -> list[Any]:
    """Every code in every variant, worded for `campaign` (the subject example as a real check passes it)."""
    params = {**PARAMS, "example": campaign.subject.example}
    return [for_campaign(make_finding(code, variant=variant, **params), campaign) for code, variant in variants()]


def all_office(campaign: Campaign) -> Campaign:
    """`campaign` with every rule (and every form condition) marked as the office's own."""
    form = campaign.form
    if form is not None:
        form = replace(form, conditions=tuple(replace(c, basis="office") for c in form.conditions))
    return replace(campaign, basis={str(code): "office" for code in Code}, form=form)


# --- the office's own rules -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CAMPAIGNS)
def test_an_office_rule_never_cites_the_notice_nor_rejects_in_any_wording(name: str) -> None:
    campaign = all_office(CAMPAIGNS[name])
    for finding in every_finding(campaign):
        text = finding.message + finding.fix
        assert "通知要求" not in text, (finding.code, finding.variant, text)
        assert finding.severity is not Severity.REJECT and finding.basis == "office"


@pytest.mark.parametrize("name", CAMPAIGNS)
def test_the_shipped_campaigns_office_rules_never_cite_the_notice(name: str) -> None:
    for finding in every_finding(CAMPAIGNS[name]):
        if finding.basis == "office":
            assert "通知要求" not in finding.message + finding.fix, finding.code
            assert finding.severity is not Severity.REJECT, finding.code


def test_a_rule_cites_the_notice_only_with_a_clause() -> None:
    late = for_campaign(make_finding(Code.LATE, received="2025年5月31日 09:00", deadline="2025年5月30日 23:59"), SJZ)
    assert late.basis == "四.3、四.6" and late.severity is Severity.REJECT
    assert late.message.endswith("按通知要求，逾期未报视为放弃申报。")
    # The same rule with no clause recorded says what it asks, without claiming the notice says so.
    bare = for_campaign(make_finding(Code.LATE, received="x", deadline="y"), replace(SJZ, basis={}))
    assert bare.basis == "" and "通知" not in bare.message and "逾期未报视为放弃申报" in bare.message


def test_an_office_rule_sends_the_package_to_review_instead_of_rejecting_it(campaign: Campaign) -> None:
    files = complete_files()
    files[3] = file_facts("（3）佐证材料/3-1 市级劳动模范证书.jpg", "png")
    rejected = evaluate(facts(campaign, files=files), campaign)
    assert [(str(f.code), f.severity) for f in rejected] == [("EVIDENCE_NOT_JPEG", Severity.REJECT)]
    own = replace(campaign, basis={**campaign.basis, "EVIDENCE_NOT_JPEG": "office"})
    found = evaluate(facts(own, files=files), own)
    assert [(str(f.code), f.severity, f.basis) for f in found] == [("EVIDENCE_NOT_JPEG", Severity.REVIEW, "office")]
    assert verdict_for(found) is Verdict.REVIEW


def test_every_rule_a_shipped_campaign_can_raise_names_its_basis() -> None:
    for campaign in CAMPAIGNS.values():
        missing = sorted(code for code in live_rules(campaign) if not campaign.basis_of(code))
        assert missing == [], (campaign.id, missing)
        for cond in campaign.form.conditions if campaign.form else ():
            assert cond.basis, (campaign.id, cond.explain)


def live_rules(campaign: Campaign) -> set[str]:
    """The rule codes `campaign`'s data can raise; an archive that cannot be opened rejects too, so it needs its
    clause like any rule."""
    codes = {"NO_ATTACHMENT", "LATE", "SEVERAL_STUDIOS", "FORM_FIELDS_MISSING", "FORM_MISMATCH", "ARCHIVE_CORRUPT",
             "ARCHIVE_ENCRYPTED", "UNSAFE_ARCHIVE"}
    if campaign.subject.enforced:
        codes |= {"SUBJECT_FORMAT", "NOT_RECOMMENDING_UNIT"}
    if campaign.archive_required:
        codes.add("NOT_ARCHIVE")
    if campaign.subject.attachment_same_as_subject:
        codes.add("ARCHIVE_NAME_MISMATCH")
    codes |= {d.missing_code for d in campaign.documents if d.required and d.missing_code}
    if campaign.narrative_min_chars:
        codes.add("NARRATIVE_TOO_SHORT")
    if campaign.evidence.min_count:
        codes.add("MISSING_EVIDENCE")
    codes.add("EVIDENCE_NOT_JPEG")
    if campaign.evidence.require_numbering:
        codes.add("EVIDENCE_NAMING")
    if campaign.role("form_scan"):
        codes.add("SEAL_NOT_VISIBLE")
    if campaign.summary_table:
        codes.add("SUMMARY_MISMATCH")
    rules = campaign.form
    if rules is not None:
        codes |= {name for name, on in (("TEAM_TOO_SMALL", rules.min_members), ("TOO_FEW_RESULTS", rules.min_results),
                                        ("TOO_RECENT", rules.min_months_running)) if on}
        codes |= {str(c.code) for c in rules.conditions}
        if any(spec.max_items for spec in rules.schema.fields):
            codes.add("TOO_MANY_ITEMS")
    return codes


# --- one campaign's conventions never reach another's senders ---------------------------------------------

SHIJIAZHUANG = ("入库", "县（市、区）总工会", "市总直属", "石家庄", "3-1", "3-2", "推荐单位+工作室名称", "带头人",
                "打包", "压缩文件名与主题相同", "以邮件主题命名")


def test_no_qingdao_finding_mentions_a_shijiazhuang_convention() -> None:
    not_its_rules = live_rules(SJZ) - live_rules(QINGDAO)   # never raised for Qingdao (no archive, no 3-1 …)
    assert {"NOT_ARCHIVE", "ARCHIVE_NAME_MISMATCH", "EVIDENCE_NAMING"} <= not_its_rules
    for finding in every_finding(QINGDAO):
        if finding.code in not_its_rules:
            continue
        text = finding.message + finding.fix
        if finding.code in (Code.ARCHIVE_CORRUPT, Code.ARCHIVE_ENCRYPTED, Code.UNSAFE_ARCHIVE):
            text = text.replace("只打包", "").replace("打包为一个压缩文件（不要分卷）", "")  # about the archive sent
        hits = [word for word in SHIJIAZHUANG if word in text]
        assert hits == [], (finding.code, finding.variant, text)


def test_qingdao_evidence_formats_are_its_own() -> None:
    png = for_campaign(make_finding(Code.EVIDENCE_NOT_JPEG, file="证书.gif", actual="GIF"), QINGDAO)
    assert "不是JPG/JPEG或PNG图片" in png.message and "另存为JPG或PNG格式" in png.fix
    assert png.message.startswith("证明材料“证书.gif”") and "重新发送" in png.fix
    scan = for_campaign(make_finding(Code.MISSING_FORM_SCAN, title="申报表"), QINGDAO)
    assert "（PDF、JPG或PNG格式）" in scan.fix and "一并重新发送" in scan.fix


def test_qingdao_replies_speak_its_own_language() -> None:
    now = datetime(2022, 5, 10, 2, 0, tzinfo=UTC)
    ctx = ReplyContext(to_addr="a@qdslyy.cn", subject="青岛市市立医院张伟劳模创新工作室申报材料", message_id=None,
                       references="", received_at=now, studio="张伟劳模创新工作室", unit="青岛市市立医院")
    findings = [f for f in every_finding(QINGDAO) if f.code is not Code.LATE]
    docs = [ReceivedDocument("form_scan", "申报表.pdf", 80_000), ReceivedDocument("evidence", "证书.jpg", 90_000)]
    for verdict in (Verdict.ACCEPTED, Verdict.REJECTED, Verdict.REVIEW):
        body = reply_text(verdict, findings if verdict is not Verdict.ACCEPTED else [], docs, ctx, QINGDAO, now)
        for word in ("入库", "石家庄", "县（市、区）总工会", "3-1", "带头人", "佐证材料"):
            assert word not in body, (verdict, word)
        assert "“青岛市市立医院张伟劳模创新工作室”的申报材料" in body
        assert "证明材料：证书.jpg" in body or verdict is Verdict.REJECTED
    rejected = reply_text(Verdict.REJECTED, findings, docs, ctx, QINGDAO, now)
    # The notice prescribes no subject (issue 15 §2): a resend is not asked to keep one.
    assert "请将修改后的全部材料再次发送" in rejected and "相同主题" not in rejected
    assert "打包" not in rejected.split("修改方法")[0]
    assert "入库" not in reply_subject("accepted", QINGDAO, ctx.unit, ctx.studio)


def test_shijiazhuang_wording_reads_as_it_always_has() -> None:
    """The words moved into config.example.toml; the Shijiazhuang sentences are the same as before."""
    def worded(code: Code, variant: str = "", **params: object) -> tuple[str, str]:
        f = for_campaign(make_finding(code, variant=variant, **params), SJZ)
        return f.message, f.fix

    assert worded(Code.SUBJECT_FORMAT, subject="张三", example=SJZ.subject.example) == (
        "邮件主题“张三”不符合要求的格式“推荐单位+工作室名称+入库材料”。",
        "请按“正定县总工会张三创新工作室入库材料”的格式填写邮件主题后重新发送。")
    assert worded(Code.NOT_RECOMMENDING_UNIT, unit="某镇工会")[1] == \
        "申报材料须由县（市、区）总工会、产业工会或市总直属企业工会汇总后报送，请联系所属推荐单位报送。"
    assert worded(Code.NOT_ARCHIVE)[1] == "请将全部申报材料打包为一个压缩文件（ZIP、7Z或RAR），以邮件主题命名后重新发送。"
    assert worded(Code.NO_ATTACHMENT)[1] == "请将全部申报材料打包为一个压缩文件（ZIP、7Z或RAR）作为附件重新发送。"
    assert worded(Code.MISSING_FORM_SCAN, title="申报表")[1] == \
        "请补充加盖公章后的扫描件（PDF或JPG格式），与其他材料一并重新打包发送。"
    assert worded(Code.MISSING_FORM_WORD, title="申报表")[1] == "请补充该文件（Word格式），与其他材料一并重新打包发送。"
    assert worded(Code.EVIDENCE_NOT_JPEG, file="3-1 a.jpg", actual="PNG") == (
        "佐证材料“3-1 a.jpg”的实际格式是PNG，不是JPG/JPEG图片。",
        "请将图片另存为JPG格式（不要只修改扩展名）后重新打包发送。")
    assert worded(Code.EVIDENCE_NAMING, detail="x")[1] == "请按“3-1、3-2……”的顺序为佐证材料命名后重新打包发送。"
    assert worded(Code.SUBJECT_FORMAT, "short_unit", unit="正定总工会", full="正定县总工会", expected="E")[1] == \
        "请将邮件主题改为“E”，压缩文件名与主题相同，重新发送。"
    assert worded(Code.LEADER_CONDITION, field="职称", value="副主任医师", explain="名医创新工作室带头人应受聘正高职称满6年")[0] \
        == "申报表中带头人的职称为“副主任医师”，按通知要求，名医创新工作室带头人应受聘正高职称满6年。"
    assert worded(Code.TEAM_TOO_SMALL, count=2, minimum=3) == (
        "申报表显示工作室成员2人，少于通知要求的3人。", "如成员情况有遗漏，请补充后重新发送；工作人员将核实入库条件。")


# --- what staff see ---------------------------------------------------------------------------------------

def test_staff_see_each_findings_clause_in_show_and_the_report(app: Any, tmp_path: Path) -> None:
    raw = (REPO / "sample_mail" / "13-subject-format.eml").read_bytes()
    ingest_bytes(app, raw, "13-subject-format.eml")
    with app.sessions() as session:
        from storage import repo

        (sub,) = [s for s in repo.submissions(session)]
        assert [(f.code, f.basis) for f in sub.findings] == [("SUBJECT_FORMAT", "四.6")]
        sub_id = sub.id
    assert "依据：通知四.6" in show_text(app, sub_id)
    data = collect(app, app.clock(), None)
    assert "依据：通知四.6" in render_html(data) and "SUBJECT_FORMAT（依据：通知四.6）" in render_text(data)
    assert basis_label("office").startswith("本单位补充要求") and basis_label("") == "未注明"


def test_the_report_workbook_columns_follow_the_campaigns_forms() -> None:
    sjz = [title for _key, title in field_columns([SJZ])]
    assert "带头人" in sjz and "事迹材料字数" in sjz and "领衔人" not in sjz
    qingdao = dict(field_columns([QINGDAO]))
    assert qingdao["leader_name"] == "领衔人" and "studio_type" in qingdao and "leader_honours" in qingdao
    assert not {"narrative_char_count", "leader_specialty", "industry"} & set(qingdao)


# --- what a notice does not ask for, a campaign leaves out ------------------------------------------------

def _bare_campaign() -> Campaign:
    """The Shijiazhuang table without a subject convention, archive, narrative, summary table or team minimum."""
    data = tomllib.loads((REPO / "config.example.toml").read_text(encoding="utf-8"))
    c = data["campaigns"]["sjz-2025"]
    for key in ("subject", "summary_table", "narrative_min_chars", "wording", "basis"):
        c.pop(key)
    c["archive_required"] = False
    for role in ("narrative", "summary"):
        c["documents"].pop(role)
    c["form"].pop("min_members")
    return parse_config(data, Path("/tmp")).campaigns[0]


def test_a_campaign_may_omit_subject_archive_narrative_summary_and_team_minimum() -> None:
    campaign = _bare_campaign()
    assert not campaign.subject.enforced and campaign.summary_table is None
    files = [f for f in complete_files() if "事迹" not in f.name and "汇总" not in f.name]
    found = evaluate(facts(campaign, files=files, subject="张三工作室的材料", archive=""), campaign)
    assert found == [] and verdict_for(found) is Verdict.ACCEPTED
    assert evaluate(facts(campaign, files=files, subject="", archive="随便起的名字.zip"), campaign) == []
    now = datetime(2025, 5, 20, 2, 0, tzinfo=UTC)
    ctx = ReplyContext(to_addr="a@b.cn", subject="张三工作室的材料", message_id=None, references="",
                       received_at=now - timedelta(hours=1), studio="", unit="")
    body = reply_text(Verdict.REJECTED, [for_campaign(make_finding(Code.MISSING_FORM_SCAN, title="申报表"), campaign)],
                      [], ctx, campaign, now)
    assert "打包" not in body and "相同主题" not in body and "请将修改后的全部材料再次发送" in body
    layout = layout_for(campaign)
    assert layout.title == f"{campaign.title}汇总表" and layout.headers[:3] == ("序号", "推荐单位", "工作室名称")
    assert "带头人" in layout.headers and "申报单位" not in layout.headers


def _config_with(tmp_path: Path, **campaign_keys: Any) -> None:
    data = tomllib.loads((REPO / "config.example.toml").read_text(encoding="utf-8"))
    data["campaigns"]["sjz-2025"].update(campaign_keys)
    parse_config(data, tmp_path)


def test_config_check_refuses_wording_that_breaks_the_rules(tmp_path: Path) -> None:
    basis = {"SEVERAL_STUDIOS": "office", "LATE": "四.3"}
    with pytest.raises(ConfigError) as err:
        _config_with(tmp_path, basis={**basis, "NO_SUCH": "一"}, wording={
            "SEVERAL_STUDIOS": {"message": "按通知要求，每个工作室单独报送。"},
            "LATE": {"message": "{received}收到，{nonsense}"},
            "NOT_A_CODE": {"fix": "x"}, "materials": 3})
    problems = "\n".join(err.value.problems)
    assert re.search(r"wording\.SEVERAL_STUDIOS\.message: .*office's own rule", problems)
    assert "wording.LATE.message: unknown placeholder(s) {nonsense}" in problems
    assert "wording.NOT_A_CODE" in problems and "wording.materials: expected str" in problems
    assert "basis.NO_SUCH: unknown finding code" in problems
    _config_with(tmp_path, basis=basis, wording={"LATE": {"message": "{per_notice}逾期不再受理。"}})  # fine
