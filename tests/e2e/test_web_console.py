"""The staff console in a real browser (Debian's chromium through chromedriver) against the real server on
loopback, on a database the real pipeline filled: log in, Today, filter, open a submission and see its scan,
decide and watch the queue move, retry a failed reply, download the 汇总表 and read it with openpyxl."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from helpers.browser import downloaded, wait_for
from helpers.console_site import Console, downloads, driver, log_in, office  # noqa: F401  (module fixtures)


@pytest.fixture
def reviewer(driver: Any, office: Console) -> Any:
    log_in(driver, office, "reviewer")
    wait_for(lambda: driver.find_elements(By.ID, "who"), what="the logged-in page")
    return driver


SHOTS_ENV = "INTAKE_SCREENSHOTS"  # a folder: keep the screenshots there (docs/screenshots for the README)


def test_the_main_pages_fit_an_office_screen(reviewer: Any, office: Console, tmp_path: Path) -> None:
    """Today, the list, one submission and the outbox at 1366×768, as the README shows them: no page is wider
    than the screen, and each screenshot is kept (in $INTAKE_SCREENSHOTS when set)."""
    import os

    folder = Path(os.environ.get(SHOTS_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shown = next(r for r in office.site.rows() if any(x["code"] == "SEAL_NOT_VISIBLE" for x in r["reasons"]))
    pages = {"today": "/", "submissions": "/submissions", "submission": f"/submissions/{shown['id']}",
             "outbox": "/outbox"}
    for name, path in pages.items():
        reviewer.get(office.url + path)
        wait_for(lambda: reviewer.execute_script(
            "return [...document.images].filter(i => i.loading !== 'lazy').every(i => i.complete)"
            " && document.readyState === 'complete'"),
            what=f"{name} to load")
        width = reviewer.execute_script("return document.documentElement.scrollWidth")
        assert width <= reviewer.execute_script("return window.innerWidth"), f"{name} is wider than the screen"
        shot = folder / f"{name}.png"
        assert reviewer.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def _rows(driver: Any) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, "#submissions tbody tr[data-id]")


def test_today_counts_link_to_the_lists_behind_them(reviewer: Any, office: Console) -> None:
    rows = office.site.rows()
    assert reviewer.find_element(By.ID, "who").text.startswith("李四")
    assert reviewer.find_element(By.ID, "count-total").text == str(len(rows))
    rejected = sum(r["verdict"] == "rejected" for r in rows)
    link = reviewer.find_element(By.ID, "count-rejected")
    assert link.text == str(rejected)
    link.click()
    wait_for(lambda: "verdict=rejected" in reviewer.current_url, what="the rejected list")
    assert {int(r.get_attribute("data-id")) for r in _rows(reviewer)} == \
        {r["id"] for r in rows if r["verdict"] == "rejected"}
    reviewer.back()
    silent = reviewer.find_elements(By.CSS_SELECTOR, "#silent li")  # the roster's units that sent nothing
    assert silent and "正定县总工会" not in reviewer.find_element(By.ID, "silent").text


def test_the_list_filters_by_text_verdict_and_code(reviewer: Any, office: Console) -> None:
    reviewer.get(office.url + "/submissions")
    assert reviewer.find_element(By.ID, "total").text == f"共 {len(office.site.rows())} 件"
    field = reviewer.find_element(By.ID, "f-q")
    field.send_keys("孙伟")  # a leader's name, read from the form (sample 06 and its resubmission 07)
    reviewer.find_element(By.ID, "apply").click()
    wait_for(lambda: "q=" in reviewer.current_url, what="the filtered list")
    expected = {r["id"] for r in office.site.rows() if r["fields"].get("leader_name") == "孙伟"}
    assert expected and {int(r.get_attribute("data-id")) for r in _rows(reviewer)} == expected
    reviewer.get(office.url + "/submissions")
    Select(reviewer.find_element(By.ID, "f-code")).select_by_value("NARRATIVE_TOO_SHORT")  # applies on change
    wait_for(lambda: "code=NARRATIVE_TOO_SHORT" in reviewer.current_url, what="the code filter")
    coded = {r["id"] for r in office.site.rows() if any(x["code"] == "NARRATIVE_TOO_SHORT" for x in r["reasons"])}
    assert {int(r.get_attribute("data-id")) for r in _rows(reviewer)} == coded


def test_a_submission_shows_findings_form_scan_narrative_and_reply(reviewer: Any, office: Console) -> None:
    row = next(r for r in office.site.rows() if r["subject"].startswith("正定县总工会") and r["verdict"] == "accepted")
    reviewer.get(f"{office.url}/submissions/{row['id']}")
    scan = reviewer.find_element(By.ID, "scan-preview")
    # the stamped scan, drawn server-side as PNG by the limited child, has loaded in the page
    wait_for(lambda: reviewer.execute_script("return arguments[0].complete && arguments[0].naturalWidth", scan),
             what="the scan preview")
    assert reviewer.execute_script("return arguments[0].naturalWidth", scan) > 300
    assert reviewer.find_element(By.ID, "subject").text.endswith(row["subject"])
    assert int(reviewer.find_element(By.ID, "word-count").text) == row["fields"]["narrative_char_count"]  # Word's 字数
    assert row["fields"]["leader_name"] in reviewer.find_element(By.ID, "form").text
    reply = reviewer.find_element(By.ID, "replies").text
    assert row["reply"]["subject"] in reply
    downloads = reviewer.find_elements(By.CSS_SELECTOR, "#files a.download")
    assert downloads and all("/files/" in a.get_attribute("href") for a in downloads)


def test_a_submission_prints_as_a_one_page_review_sheet(reviewer: Any, office: Console) -> None:
    import base64
    import io

    import pdfplumber

    row = next(r for r in office.site.rows() if r["verdict"] == "accepted" and r["fields"].get("members"))
    reviewer.get(f"{office.url}/submissions/{row['id']}")
    wait_for(lambda: reviewer.execute_script("return document.getElementById('scan-preview').complete"),
             what="the scan preview")
    pdf = reviewer.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})  # A4, the print stylesheet
    with pdfplumber.open(io.BytesIO(base64.b64decode(pdf["data"]))) as printed:
        assert len(printed.pages) == 1
        text = printed.pages[0].extract_text()
    assert row["fields"]["leader_name"] in text and "审核人签字" in text and "审核决定" not in text


def test_deciding_records_the_decision_and_moves_the_queue(reviewer: Any, office: Console) -> None:
    queue = sorted((r["received_at"], r["id"]) for r in office.site.rows()
                   if r["verdict"] == "review" and not r["fields"]["superseded_by"])
    assert len(queue) >= 2, "the office needs two submissions waiting for review"
    reviewer.get(office.url + "/submissions/next")
    first = int(re.search(r"/submissions/(\d+)$", reviewer.current_url).group(1))
    assert first == queue[0][1]
    reviewer.find_element(By.ID, "d-accepted").click()
    reviewer.find_element(By.ID, "note").send_keys("已电话核实，材料齐全")
    reviewer.find_element(By.ID, "decide-submit").click()
    wait_for(lambda: reviewer.current_url.endswith(f"/submissions/{queue[1][1]}"), what="the next in the queue")
    assert f"#{first} 已记录：予以受理" in reviewer.find_element(By.CSS_SELECTOR, ".flash").text
    # recorded by the CLI's own function: `intake submissions --json` shows it as the effective verdict
    decided = next(r for r in office.site.rows() if r["id"] == first)
    assert decided["verdict"] == "accepted" and decided["fields"]["staff_decision"]["by"] == "李四"
    assert decided["fields"]["staff_decision"]["note"] == "已电话核实，材料齐全"
    reviewer.get(f"{office.url}/submissions/{first}")
    assert "已受理" in reviewer.find_element(By.ID, "verdict").text
    assert "李四" in reviewer.find_element(By.ID, "decisions").text


def test_a_failed_reply_is_retried_from_the_outbox(reviewer: Any, office: Console) -> None:
    failed = [line.split()[0] for line in office.site.cli("outbox").splitlines() if " failed " in f" {line} "]
    assert failed, "the office has a reply the relay refused"
    reply_id = failed[0]
    reviewer.get(office.url + "/outbox")
    row = reviewer.find_element(By.CSS_SELECTOR, f"#outbox tr[data-id='{reply_id}']")
    to = row.find_elements(By.TAG_NAME, "td")[3].text
    before = len(office.site.server.messages_to(to))
    row.find_element(By.CSS_SELECTOR, "form.retry button").click()
    wait_for(lambda: reviewer.find_elements(By.CSS_SELECTOR, ".flash"), what="the retry's message")
    assert f"回复 #{reply_id} 已重新排队" in reviewer.find_element(By.CSS_SELECTOR, ".flash").text
    assert len(office.site.server.messages_to(to)) > before  # delivered to the real relay now
    assert not reviewer.find_elements(By.CSS_SELECTOR, f"#outbox tr[data-id='{reply_id}']")


def test_the_summary_table_downloads_as_xlsx(reviewer: Any, office: Console, downloads: Path,
                                            tmp_path: Path) -> None:
    reviewer.get(office.url + "/exports")
    reviewer.find_element(By.ID, "summary-xlsx-1").click()
    got = downloaded(downloads, ".xlsx")
    assert got.name == "汇总表-sjz-2025.xlsx"
    sheet = openpyxl.load_workbook(got).active
    office.site.cli("export", "summary", "--out", str(tmp_path / "cli.xlsx"))  # the CLI writes the same table
    cli = openpyxl.load_workbook(tmp_path / "cli.xlsx").active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [[c.value for c in row] for row in cli.iter_rows()]
    assert "工作室名称" in [c.value for c in sheet[2]]
    accepted = [r for r in office.site.rows() if r["verdict"] == "accepted" and not r["fields"]["superseded_by"]
                and r["campaign"] == "sjz-2025"]
    assert sheet.max_row - 2 == len(accepted)

