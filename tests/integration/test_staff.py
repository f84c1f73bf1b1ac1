"""Staff commands end to end: review → show → listings → report, --notify through the outbox, open, progress."""

from __future__ import annotations

import email
import io
import json
from collections.abc import Iterator
from email.policy import default
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers.staff_site import SAMPLES, Site, office, write_config
from pipeline.cli.main import main
from pipeline.intake.progress import Progress, tracking
from pipeline.staff.review import default_staff_name


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from office(tmp_path_factory)


def _row(site: Site, code: str) -> dict:
    return next(r for r in site.rows() if any(x["code"] == code for x in r["reasons"]))


def test_review_is_shown_listed_and_reported(site: Site, tmp_path: Path) -> None:
    row = _row(site, "EVIDENCE_NOT_JPEG")
    assert row["verdict"] == "rejected"
    out = site.cli("review", str(row["id"]), "--decision", "accepted", "--note", "原件已核对，图片可用", "--by", "李四")
    assert f"#{row['id']}：已受理（系统结论 退回）" in out
    shown = site.cli("show", str(row["id"]))
    assert "李四" in shown and "原件已核对，图片可用" in shown and "结论：已受理（系统结论：退回）" in shown
    assert "[reject] EVIDENCE_NOT_JPEG" in shown and "文件（" in shown and "回复：" in shown
    after = next(r for r in site.rows() if r["id"] == row["id"])
    assert after["verdict"] == "accepted" and after["fields"]["machine_verdict"] == "rejected"
    assert after["fields"]["staff_decision"]["by"] == "李四"
    assert row["id"] in [r["id"] for r in site.rows("--verdict", "accepted")]
    assert row["id"] not in [r["id"] for r in site.rows("--verdict", "rejected")]
    assert "accepted (人工)" in site.cli("submissions")
    report = Path(site.cli("report", "--out", str(tmp_path)).splitlines()[0].split("：", 1)[1]).read_text("utf-8")
    assert "原件已核对，图片可用" in report and "李四" in report
    # the listing and the report agree on the effective verdict
    accepted = sum(r["verdict"] == "accepted" for r in site.rows())
    assert f'id="count-accepted">{accepted}<' in report


def test_notify_queues_exactly_one_reply_to_the_sender(site: Site) -> None:
    row = _row(site, "NO_ATTACHMENT")
    before = site.cli("outbox").count("\n")
    out = site.cli("review", str(row["id"]), "--decision", "rejected", "--note", "请补充压缩包后重新发送", "--notify")
    assert "通知已放入发件箱" in out
    listing = site.cli("outbox")
    assert listing.count("\n") == before + 1
    after = next(r for r in site.rows() if r["id"] == row["id"])
    assert after["reply"]["status"] == "pending" and after["reply"]["to"] == row["reply"]["to"]
    site.cli("outbox", "--retry")
    [mail] = site.server.messages_to(row["reply"]["to"])[-1:]
    body = email.message_from_bytes(mail.content, policy=default).get_body(("plain",)).get_content()
    assert "请补充压缩包后重新发送" in body and "暂不能受理" in body


def test_review_without_notify_queues_nothing_and_records_the_os_user(site: Site) -> None:
    row = _row(site, "LARGE_ATTACHMENT_LINK")
    before = site.cli("outbox")
    site.cli("review", str(row["id"]), "--decision", "accepted", "--note", "已下载大附件核对")
    assert site.cli("outbox") == before
    assert f"{default_staff_name()}：已受理" in site.cli("show", str(row["id"]))


def test_show_lists_the_resubmission_history(site: Site) -> None:
    first = _row(site, "NARRATIVE_TOO_SHORT")
    assert first["fields"]["superseded_by"]
    shown = site.cli("show", str(first["id"]))
    assert f"#{first['id']} ←" in shown and f"#{first['fields']['superseded_by']}" in shown and "有效" in shown
    # The parsed records: form fields and the narrative with its counts.
    assert "leader_name: 孙伟" in shown and "事迹材料：" in shown
    assert f"Word字数约{first['fields']['narrative_char_count']}字" in shown


def test_open_prints_the_folder_and_its_files(site: Site) -> None:
    row = next(r for r in site.rows() if r["subject"] == "正定县总工会张三创新工作室入库材料" and r["verdict"] == "accepted")
    listing = json.loads(site.cli("open", str(row["id"]), "--json"))
    folder = Path(listing["folder"])
    assert folder.is_dir() and site.cli("open", str(row["id"])).splitlines()[0] == str(folder)
    names = {f["path"] for f in listing["files"]}
    assert any(n.endswith(".docx") for n in names) and any("3-1" in n for n in names)
    assert all((folder / f["path"]).stat().st_size == f["size"] for f in listing["files"])


def test_unknown_ids_are_clear_errors(site: Site) -> None:
    for command in (("show", "9999"), ("open", "9999"), ("review", "9999", "--decision", "accepted", "--note", "x")):
        result = CliRunner().invoke(main, [*command, "--config", str(site.config)])
        assert result.exit_code == 1 and "no submission #9999" in result.output


def test_progress_lines_in_a_log_and_a_bar_on_a_terminal() -> None:
    log = io.StringIO()
    progress = Progress("处理邮件", 23, stream=log)
    for _ in range(23):
        progress.step()
    progress.close()
    assert log.getvalue().splitlines() == ["处理邮件: 10/23", "处理邮件: 20/23", "处理邮件: 23/23"]

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with tracking("处理邮件", 0, stream=screen) as bar:
        bar.expect(5)  # the poller finds its backlog after it started
        for _ in range(5):
            bar.step()
    assert "处理邮件" in screen.getvalue() and "5/5" in screen.getvalue()


def test_ingest_keeps_stdout_and_reports_progress_on_stderr(tmp_path: Path, site: Site) -> None:
    config = write_config(tmp_path, site.server)
    mail = tmp_path / "mail"
    mail.mkdir()
    names = sorted(p.name for p in SAMPLES.glob("1*.eml"))[:10] + ["23-auto-reply.eml", "26-unrelated.eml"]
    for name in names:
        (mail / name).write_bytes((SAMPLES / name).read_bytes())
    result = CliRunner().invoke(main, ["ingest", "--config", str(config), str(mail)])
    [summary] = result.stdout.splitlines()  # exactly what it printed before progress existed
    assert summary.startswith("处理 12 封新邮件，0 封此前已处理，0 封出错")
    assert result.stderr.splitlines() == ["处理邮件: 10/12", "处理邮件: 12/12"]


def test_an_accepted_notice_says_what_acceptance_is_and_is_not(app) -> None:
    """受理 is the first step; 考察、评审 and the published list decide admission: the notice must not read as
    if the studio were in the 库 already."""
    from datetime import datetime, timedelta, timezone

    import samplegen as g
    from sqlalchemy import select

    from pipeline.intake.ledger import ingest_bytes
    from pipeline.staff.review import review
    from storage.models import OutboxItem

    studio = g.Studio(unit="正定县总工会", leader="张三", gender="男", applicant="正定县某某机械厂", seed=7)
    moment = datetime(2025, 5, 26, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    raw = g.eml(subject=studio.subject, from_name="正定县总工会", from_addr="zdxzgh@126.com", date=moment,
                received=moment, message_id="<n1@zdxzgh.126.com>", body_text="材料见附件。",
                attachments=[g.Attachment(studio.subject + ".zip",
                                          g.zip_bytes(g.materials(studio, g.Package(scan=None))))])
    result = ingest_bytes(app, raw, "file:/x/1.eml")
    assert result.verdict in ("rejected", "review") and result.submission_id is not None
    outcome = review(app, result.submission_id, decision="accepted", note="", by="李四", notify=True)
    with app.sessions() as session:
        item = session.get(OutboxItem, outcome.reply_id)
        assert item is not None
        body = email.message_from_bytes(item.raw, policy=default).get_body(("plain",)).get_content()
        assert len(session.scalars(select(OutboxItem)).all()) == 2
    assert "已登记入库" not in body and "入库。" not in body
    assert "予以受理" in body and "进入后续评审程序" in body and "受理不代表已经入选" in body



def test_a_decision_notice_for_another_campaign_speaks_its_own_words() -> None:
    """The notice's wording comes from the campaign: no 入库材料 or 重新打包 for a call that has neither."""
    from datetime import timedelta

    from helpers import REPO
    from pipeline.config import load_config
    from pipeline.staff.review import decision_text
    from storage.models import Message, Submission
    from storage.staff import StaffDecision

    qingdao = load_config(REPO / "config.qingdao.toml").campaigns[0]
    message = Message(subject="青岛市市立医院张伟工作室申报材料", received_at=qingdao.deadline - timedelta(days=3))
    sub = Submission(recommending_unit="青岛市市立医院", studio_name="张伟工作室", message=message)
    for decision in ("accepted", "rejected"):
        row = StaffDecision(decision=decision, note="请补充证书复印件", decided_at=qingdao.deadline - timedelta(days=2))
        text = decision_text(sub, row, qingdao)
        assert "入库材料" not in text and "石家庄" not in text, text
        assert "打包" not in text or qingdao.archive_required, text
