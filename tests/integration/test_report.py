"""`intake report`: the numbers trace to the submissions, the workbook holds every row, --send mails it,
the nightly job sends the full report, and a browser shows hostile subjects as text."""

from __future__ import annotations

import email
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.policy import default
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

from helpers.staff_site import HOSTILE_SUBJECT, Site, office
from pipeline.bootstrap import build_app
from pipeline.config import load_config
from pipeline.service.scheduler import build_scheduler
from pipeline.staff.report import collect, days_left, per_day, unit_key

CHROMIUM = Path("/usr/bin/chromium")
VERDICT_SHEETS = {"accepted": "已受理", "rejected": "退回", "review": "待人工核实", "ignored": "已忽略"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from office(tmp_path_factory)


def _report(site: Site, out: Path, *extra: str) -> tuple[str, Path]:
    lines = site.cli("report", "--out", str(out), *extra).splitlines()
    html = Path(lines[0].split("：", 1)[1])
    xlsx = Path(lines[1].split("：", 1)[1])
    return html.read_text(encoding="utf-8"), xlsx


def _cell(html: str, ident: str) -> str:
    match = re.search(rf'id="{ident}">([^<]*)<', html)
    assert match, ident
    return match.group(1)


def _section(html: str, ident: str) -> str:
    match = re.search(rf'<table id="{ident}".*?</table>', html, re.DOTALL)
    assert match, ident
    return match.group(0)


def test_counts_by_verdict_are_the_listings_counts(site: Site, tmp_path: Path) -> None:
    rows = site.rows()
    html, _ = _report(site, tmp_path)
    expected = Counter(r["verdict"] for r in rows)
    assert ({v: int(_cell(html, f"count-{v}")) for v in VERDICT_SHEETS}
            == {v: expected.get(v, 0) for v in VERDICT_SHEETS})
    assert int(_cell(html, "count-total")) == len(rows) == 13
    assert set(expected) == set(VERDICT_SHEETS)  # the subset has every verdict, so no count is trivially 0


def test_silent_roster_units_rejected_and_failed_replies_are_listed(site: Site, tmp_path: Path) -> None:
    rows = site.rows()
    html, _ = _report(site, tmp_path)
    silent = _section(html, "silent")
    assert "长安区总工会" in silent and "井陉县总工会" in silent
    # it sent 02, the 名师 studio, through the channel the notice names
    assert "市教科文卫工会" not in silent
    heard = {r["fields"]["recommending_unit"] for r in rows
             if r["verdict"] != "ignored" and r["fields"].get("recommending_unit")}
    assert "正定县总工会" in heard and not any(f">{unit}<" in silent for unit in heard)
    problems = _section(html, "problems")
    for row in rows:
        if row["verdict"] in ("rejected", "review"):
            assert f"#{row['id']}<" in problems
            assert all(reason["code"] in problems for reason in row["reasons"])
    [failed] = [r for r in rows if r["reply"]["status"] == "failed"]
    failed_table = _section(html, "failed-replies")
    assert failed["reply"]["subject"] in failed_table and "554" in failed_table
    units = _section(html, "units")
    assert "正定县总工会" in units and "赞皇县总工会" in units


def test_the_workbook_has_a_sheet_per_verdict_with_a_row_per_submission(site: Site, tmp_path: Path) -> None:
    rows = site.rows()
    _, xlsx = _report(site, tmp_path)
    book = load_workbook(xlsx)
    assert book.sheetnames == list(VERDICT_SHEETS.values())
    for verdict, title in VERDICT_SHEETS.items():
        sheet = book[title]
        ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert ids == [r["id"] for r in rows if r["verdict"] == verdict]
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
    header = [c.value for c in book["退回"][1]]
    short = next(r for r in rows if any(x["code"] == "NARRATIVE_TOO_SHORT" for x in r["reasons"]))
    line = next(row for row in book["退回"].iter_rows(min_row=2, values_only=True) if row[0] == short["id"])
    assert "NARRATIVE_TOO_SHORT" in line[header.index("问题代码")]
    assert "None" not in " ".join(str(v) for v in line if v is not None)


def test_since_the_last_report_counts_only_new_mail(site: Site, tmp_path: Path) -> None:
    _report(site, tmp_path / "first")
    html, _ = _report(site, tmp_path / "second")
    assert "自上次报告以来新收（0 封）" in html and "上次报告：" in html


def test_send_delivers_html_text_and_the_workbook(site: Site, tmp_path: Path) -> None:
    server = site.server
    before = len(server.received)
    _, xlsx = _report(site, tmp_path, "--send")
    [mail] = server.received[before:]
    assert mail.rcpt_tos == ("staff@example.cn",)
    msg = email.message_from_bytes(mail.content, policy=default)
    assert msg.get_content_type() == "multipart/mixed" and msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "全部登记 13 封" in text and 'id="count-total">13<' in html
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename().endswith(".xlsx")
    assert attachment.get_content() == xlsx.read_bytes()
    assert load_workbook(BytesIO(attachment.get_content())).sheetnames == list(VERDICT_SHEETS.values())


def test_the_nightly_job_sends_the_full_report(site: Site) -> None:
    app = build_app(load_config(site.config))
    job = build_scheduler(app).get_job("report")
    server = site.server
    before = len(server.received)
    job.func(*job.args)  # what the scheduler runs at report.at
    [mail] = server.received[before:]
    msg = email.message_from_bytes(mail.content, policy=default)
    assert msg.get_body(("html",)) is not None and len(list(msg.iter_attachments())) == 1


def test_days_left_and_the_daily_chart(site: Site) -> None:
    campaign = load_config(site.config).campaigns[0]
    assert days_left(campaign, datetime(2025, 5, 27, 16, 0, tzinfo=UTC)) == "还有 2 天"  # 28 May, Beijing
    assert days_left(campaign, datetime(2025, 5, 30, 1, 0, tzinfo=UTC)) == "今天截止"
    assert days_left(campaign, datetime(2025, 5, 30, 16, 0, tzinfo=UTC)) == "已截止"
    # The prefix a unit's name may leave off is the campaign's (unit_name_prefix), not the code's.
    assert unit_key("石家庄市教科文卫工会", campaign) == unit_key("市教科文卫工会", campaign) != unit_key("新乐市总工会", campaign)
    assert unit_key("石家庄市教科文卫工会") != unit_key("市教科文卫工会")
    assert per_day([], campaign.deadline.tzinfo) == []
    data = collect(app := build_app(load_config(site.config)), app.clock(), None)
    days = [d["date"] for d in data.per_day]
    assert days == [days[0] + timedelta(days=i) for i in range(len(days))]  # empty days are drawn too
    assert sum(d["count"] for d in data.per_day) == sum(r["verdict"] != "ignored" for r in site.rows())
    assert max(d["width"] for d in data.per_day) == 100


def test_deadline_day_submissions_are_listed(site: Site, tmp_path: Path) -> None:
    html, _ = _report(site, tmp_path)
    deadline_day = [r for r in site.rows() if r["received_at"].startswith("2025-05-30") and r["verdict"] != "ignored"]
    assert deadline_day and f"{len(deadline_day)} 封" in html
    assert all(f"#{r['id']} " in html for r in deadline_day)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install chromium)")
def test_the_report_renders_in_a_browser_with_hostile_subjects_as_text(site: Site, tmp_path: Path) -> None:
    html, _ = _report(site, tmp_path)
    page = next(tmp_path.glob("report-*.html"))
    dom = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True).stdout
    assert "<img" not in dom.lower() and "<script" not in dom.lower()
    escaped = HOSTILE_SUBJECT.replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in dom  # the serialised DOM holds it as a text node
    counts = {v: int(_cell(html, f"count-{v}")) for v in VERDICT_SHEETS}
    for verdict, n in counts.items():
        assert f'id="count-{verdict}">{n}<' in dom
    assert "申报情况日报" in dom and "尚未报送的单位" in dom
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
