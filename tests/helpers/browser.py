"""Debian's chromium driven by Selenium through Debian's chromedriver: headless, no network of its own, a
private profile per browser, 1366×768 (the office screen the console is sized for), downloads to a folder.

`chromium()` skips the calling test (with the reason) when the browser or the driver is not installed;
`.ci/run` installs both (scripts/system-packages.sh: chromium, chromium-driver).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = "chromedriver"
WINDOW = (1366, 768)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--lang=zh-CN", f"--window-size={WINDOW[0]},{WINDOW[1]}")


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    if shutil.which(CHROMEDRIVER) is None:
        return "chromedriver is not installed (apt-get install chromium-driver)"
    return None


@contextmanager
def chromium(downloads: Path) -> Iterator[Any]:
    """A Selenium WebDriver on a fresh headless chromium whose downloads land in `downloads`."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which(CHROMEDRIVER)))
    try:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `condition` until it returns something true; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def downloaded(folder: Path, suffix: str, timeout: float = 30.0) -> Path:
    """The one finished download ending in `suffix` in `folder` (chromium writes .crdownload first)."""
    return wait_for(lambda: next((p for p in folder.glob(f"*{suffix}") if p.stat().st_size), None), timeout,
                    f"a {suffix} download in {folder}")
