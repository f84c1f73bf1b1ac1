"""Replies: the Chinese text a county clerk reads, and MIME that threads and stops robots answering."""

from __future__ import annotations

import email
from datetime import datetime, timezone
from email.policy import default

from pipeline.replies.compose import ReceivedDocument, ReplyContext, build_reply, reply_subject, reply_text
from pipeline.rules.findings import Code, Verdict
from pipeline.rules.wording import make_finding

CTX = ReplyContext(to_addr="zdxzgh@126.com", subject="正定县总工会张三创新工作室入库材料",
                   message_id="<abc@zdxzgh.126.com>", references="<prev@x>",
                   received_at=datetime(2025, 5, 26, 2, 2, tzinfo=timezone.utc), studio="张三创新工作室", unit="正定县总工会")
BEFORE = datetime(2025, 5, 27, 1, 0, tzinfo=timezone.utc)
AFTER = datetime(2025, 6, 2, 1, 0, tzinfo=timezone.utc)


def test_acknowledgment_lists_documents_with_sizes_and_word_count(campaign) -> None:
    docs = [ReceivedDocument("narrative", "（2）张三创新工作室事迹材料.docx", 28_000, 1534),
            ReceivedDocument("form_word", "（1）申报表.docx", 35_000), ReceivedDocument("evidence", "3-1 证书.jpg", 2_400_000)]
    text = reply_text(Verdict.ACCEPTED, [], docs, CTX, campaign, BEFORE)
    assert "2025年5月26日 10:02" in text
    assert "正定县总工会张三创新工作室" in text
    assert "事迹材料：（2）张三创新工作室事迹材料.docx（27 KB，按Word字数统计约1534字）" in text
    assert "3-1 证书.jpg（2.3 MB）" in text
    assert text.index("申报表") < text.index("事迹材料") < text.index("3-1")
    assert "http" not in text


def test_rejection_lists_every_problem_with_its_fix_and_time_left(campaign) -> None:
    findings = [make_finding(Code.NARRATIVE_TOO_SHORT, count=812, minimum=1000, file="事迹.docx"),
                make_finding(Code.MISSING_FORM_SCAN, title="申报表盖章扫描件")]
    text = reply_text(Verdict.REJECTED, findings, [], CTX, campaign, BEFORE)
    assert "1. 事迹材料按Word字数统计约812字，要求不少于1000字。" in text
    assert "2. 未找到申报表盖章扫描件。" in text
    assert text.count("修改方法：") == 2
    assert "仍可修改后重新发送" in text and "2025年5月30日 23:59" in text
    late = reply_text(Verdict.REJECTED, findings, [], CTX, campaign, AFTER)
    assert "已于2025年5月30日 23:59截止" in late and "仍可修改" not in late


def test_review_reply_says_a_person_will_look(campaign) -> None:
    text = reply_text(Verdict.REVIEW, [make_finding(Code.UNREADABLE_DOCUMENT, file="a.doc", detail="旧版Word")], [],
                      CTX, campaign, BEFORE)
    assert "人工核实" in text and "a.doc" in text


def test_reply_mime_threads_and_marks_itself_automatic(campaign) -> None:
    subject = reply_subject("accepted", campaign, CTX.unit, CTX.studio)
    reply = build_reply("accepted", "您好！\n正文", CTX, "石家庄市总工会劳动和经济工作部 <sjzjjb@126.com>", "<r1@126.com>", BEFORE,
                        subject=subject)
    msg = email.message_from_bytes(reply.raw, policy=default)
    assert msg["Subject"] == "Re: 正定县总工会张三创新工作室：材料已受理"
    assert msg["In-Reply-To"] == "<abc@zdxzgh.126.com>"
    assert msg["References"] == "<prev@x> <abc@zdxzgh.126.com>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["To"] == "zdxzgh@126.com"
    assert msg["From"].addresses[0].addr_spec == "sjzjjb@126.com"
    assert msg["From"].addresses[0].display_name == "石家庄市总工会劳动和经济工作部"
    assert not msg.is_multipart() and msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().replace("\r\n", "\n") == "您好！\n正文\n"


def test_only_a_receipt_names_the_studio_in_its_subject(campaign) -> None:
    """A rejection goes to whoever sent anything at all: its Subject is the campaign's wording only."""
    assert reply_subject("review", campaign, "正定县总工会", "张三创新工作室") == "Re: 正定县总工会张三创新工作室：材料已登记，待人工核实"
    rejected = reply_subject("rejected", campaign, "正定县总工会", "张三创新工作室")
    assert rejected == f"Re: {campaign.title}：材料未能受理"
    assert reply_subject("accepted", campaign) == f"Re: {campaign.title}：材料已受理"  # no studio parsed


def test_a_fix_shared_by_findings_of_one_kind_in_a_row_is_said_once() -> None:
    """One finding per misnamed file, all with the same fix: the clerk reads the fix once, after the last."""
    from pipeline.replies.compose import findings_block
    from pipeline.rules.findings import Code, Finding, Severity

    same = [Finding(Code.MATERIAL_NAMING, Severity.REJECT, f"“{n}”应命名为“（2）{n}”。", file=n, fix="请按序号和名称命名。")
            for n in ("a.docx", "b.xlsx")]
    other = Finding(Code.LATE, Severity.REJECT, "逾期。", fix="不再受理。")
    lines = findings_block([*same, other])
    assert [line for line in lines if "修改方法" in line] == ["   修改方法：请按序号和名称命名。", "   修改方法：不再受理。"]
    assert lines.index("   修改方法：请按序号和名称命名。") == 2  # after the second misnamed file


def test_an_acknowledgment_with_a_warning_never_calls_the_package_compliant(campaign) -> None:
    from datetime import datetime, timedelta, timezone

    from pipeline.replies.compose import ReplyContext, reply_text
    from pipeline.rules.findings import Code, Finding, Severity, Verdict

    when = datetime(2025, 5, 20, 10, tzinfo=timezone(timedelta(hours=8)))
    ctx = ReplyContext(to_addr="a@126.com", subject="s", message_id="<a@x>", references="", received_at=when,
                       studio="张三创新工作室", unit="正定县总工会")
    warning = Finding(Code.SEAL_NOT_VISIBLE, Severity.WARNING, "未能在申报表扫描件中识别到红色公章。", fix="请核对。")
    clean = reply_text(Verdict.ACCEPTED, [], [], ctx, campaign, when)
    noted = reply_text(Verdict.ACCEPTED, [warning], [], ctx, campaign, when)
    assert "格式符合通知要求" in clean
    assert "格式符合通知要求" not in noted and "未能在申报表扫描件中识别到红色公章" in noted
