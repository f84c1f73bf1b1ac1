"""The console's security promises, in the real browser and over real HTTP against the real server: nothing
without logging in, roles, CSRF, files only by id from their own submission, headers, hostile subjects shown
as text, and login throttling."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from helpers.browser import downloaded, wait_for
from helpers.console_site import (  # noqa: F401  (downloads, driver, office: the module's fixtures)
    FORMULA_SUBJECT,
    SCRIPT_SUBJECT,
    Console,
    downloads,
    driver,
    log_in,
    office,
)


def _as(driver: Any, office: Console, who: str) -> Any:
    log_in(driver, office, who)
    wait_for(lambda: driver.find_elements(By.ID, "who"), what="the logged-in page")
    return driver


def _error_code(driver: Any) -> str:
    return wait_for(lambda: driver.find_elements(By.ID, "error-code"), what="an error page")[0].text.split()[0]


def _http(office: Console, driver: Any, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET `path` with the browser's session cookie, without following redirects."""
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    request = urllib.request.Request(office.url + path, headers={"Cookie": cookie})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _post_form(driver: Any, action: str, fields: dict[str, str]) -> None:
    """Submit a form the page did not offer (what a forged or stale form would send)."""
    driver.execute_script("""
        const form = document.createElement("form");
        form.method = "post"; form.action = arguments[0];
        for (const [name, value] of Object.entries(arguments[1])) {
          const input = document.createElement("input");
          input.type = "hidden"; input.name = name; input.value = value; form.appendChild(input);
        }
        document.body.appendChild(form); form.submit();""", action, fields)


def _token(driver: Any) -> str:
    return driver.find_element(By.CSS_SELECTOR, "input[name=csrf_token]").get_attribute("value")


def _hostile(office: Console, subject: str) -> dict:
    return next(r for r in office.site.rows() if r["subject"] == subject)


def test_without_a_session_every_page_leads_to_the_login(driver: Any, office: Console) -> None:
    driver.delete_all_cookies()
    sub = office.site.rows()[0]["id"]
    for path in ("/", "/submissions", f"/submissions/{sub}", f"/submissions/{sub}/files/1",
                 f"/submissions/{sub}/message.eml", "/outbox", "/exports/summary.xlsx", "/accounts"):
        driver.get(office.url + path)
        assert "/login?next=" in driver.current_url, path
        assert driver.find_elements(By.ID, "login")
    status, headers, _body = _http(office, driver, "/exports/summary.xlsx")
    assert status == 302 and headers["Location"].startswith("/login")


def test_a_viewer_reads_but_cannot_decide(driver: Any, office: Console) -> None:
    viewer = _as(driver, office, "viewer")
    row = next(r for r in office.site.rows() if r["verdict"] == "rejected")
    viewer.get(f"{office.url}/submissions/{row['id']}")
    assert not viewer.find_elements(By.ID, "decide-form")  # not offered
    _post_form(viewer, f"/submissions/{row['id']}/decide",
               {"csrf_token": _token(viewer), "decision": "accepted", "note": "viewer"})
    assert _error_code(viewer) == "403"
    assert next(r for r in office.site.rows() if r["id"] == row["id"])["verdict"] == "rejected"
    viewer.get(office.url + "/accounts")
    assert _error_code(viewer) == "403"


def test_a_form_without_its_csrf_token_is_refused(driver: Any, office: Console) -> None:
    reviewer = _as(driver, office, "reviewer")
    row = next(r for r in office.site.rows() if r["verdict"] == "rejected")
    reviewer.get(f"{office.url}/submissions/{row['id']}")
    _post_form(reviewer, f"/submissions/{row['id']}/decide", {"decision": "accepted", "note": "no token"})
    assert _error_code(reviewer) == "400"
    reviewer.get(f"{office.url}/submissions/{row['id']}")
    _post_form(reviewer, f"/submissions/{row['id']}/decide",
               {"csrf_token": "forged" + _token(reviewer)[6:], "decision": "accepted", "note": "wrong token"})
    assert _error_code(reviewer) == "403"
    assert next(r for r in office.site.rows() if r["id"] == row["id"])["verdict"] == "rejected"


def test_a_file_is_served_only_from_its_own_submission(driver: Any, office: Console) -> None:
    viewer = _as(driver, office, "viewer")
    mine, other = [r["id"] for r in office.site.rows() if r["verdict"] == "accepted"][:2]
    viewer.get(f"{office.url}/submissions/{mine}")
    link = viewer.find_element(By.CSS_SELECTOR, "#files a.download").get_attribute("href")
    file_id = int(re.search(r"/files/(\d+)$", link).group(1))
    status, headers, body = _http(office, viewer, f"/submissions/{mine}/files/{file_id}")
    assert status == 200 and body
    assert headers["Content-Disposition"].startswith("attachment")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Type"] != "text/html"
    for path in (f"/submissions/{other}/files/{file_id}", f"/submissions/{other}/files/{file_id}/preview",
                 f"/submissions/{mine}/files/999999", f"/submissions/{mine}/files/..%2F..%2Fintake.db"):
        assert _http(office, viewer, path)[0] == 404, path
    viewer.get(f"{office.url}/submissions/{other}/files/{file_id}")
    assert _error_code(viewer) == "404"


def test_pages_carry_a_strict_policy_and_the_cookie_is_guarded(driver: Any, office: Console) -> None:
    viewer = _as(driver, office, "viewer")
    status, headers, _body = _http(office, viewer, "/")
    assert status == 200
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"
    request = urllib.request.Request(office.url + "/login")
    with urllib.request.urlopen(request, timeout=30) as response:
        cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_hostile_subjects_are_shown_as_text(driver: Any, office: Console, downloads: Path) -> None:
    viewer = _as(driver, office, "viewer")
    for subject in (SCRIPT_SUBJECT, FORMULA_SUBJECT):
        row = _hostile(office, subject)
        viewer.get(f"{office.url}/submissions/{row['id']}")
        assert viewer.find_element(By.ID, "subject").text == f"#{row['id']} {subject}"
        assert not viewer.find_elements(By.CSS_SELECTOR, "main script, main a[href^='http://evil']")
        with pytest.raises(NoAlertPresentException):
            viewer.switch_to.alert.text  # noqa: B018  (an alert(1) that ran would be open now)
    viewer.get(office.url + "/submissions?q=" + "script")
    assert SCRIPT_SUBJECT not in viewer.page_source  # escaped in the markup …
    assert viewer.find_elements(By.CSS_SELECTOR, "#submissions tbody tr[data-id]")
    viewer.get(office.url + "/exports")
    viewer.find_element(By.ID, "report-xlsx").click()
    book = openpyxl.load_workbook(downloaded(downloads, ".xlsx"))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and "HYPERLINK" in c.value]
    # a string cell with Excel's quote prefix: shown as written, never run as a formula (report_xlsx.append_row)
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells if c.value.startswith("="))


def test_login_is_throttled_after_five_wrong_passwords(driver: Any, office: Console) -> None:
    for attempt in range(5):
        log_in(driver, office, "victim", password=f"wrong password {attempt}")
        assert "用户名或密码不正确" in driver.find_element(By.ID, "login-error").text
    log_in(driver, office, "victim")  # the right password, too late
    assert "登录失败次数过多" in driver.find_element(By.ID, "login-error").text
    assert not driver.find_elements(By.ID, "who")
    log_in(driver, office, "viewer")  # another account from the same address is not locked out
    assert driver.find_elements(By.ID, "who")
