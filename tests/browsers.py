"""A real headless Chromium for the page tests, driven through chromium-driver (WebDriver).

Chromium and chromium-driver come from ``scripts/install_browser.sh`` (``make test`` runs
it, and so does :func:`headless_chromium` when they are missing); without them the test is
skipped — or fails under ``TRUSTBENCH_REQUIRE_SERVERS=1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tools() -> tuple[str, str] | None:
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser",
                                                  "google-chrome")) if p), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def headless_chromium() -> Iterator[Any]:
    """Yield a WebDriver on a headless Chromium that keeps the console log; quit after."""
    webdriver = pytest.importorskip("selenium.webdriver")
    found = _tools()
    if found is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "install_browser.sh")],
                       capture_output=True, timeout=900, check=False)
        found = _tools()
    if found is None:
        message = "no chromium with chromedriver (scripts/install_browser.sh could not install them)"
        if os.environ.get("TRUSTBENCH_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1366,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    try:
        yield driver
    finally:
        driver.quit()
