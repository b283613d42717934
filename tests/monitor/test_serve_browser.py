"""The dashboard in a real headless Chromium, driven through chromium-driver (WebDriver).

Against the real server over a monitor with drifted, labelled and unlabelled windows, a
version comparison and alerts: the page asks for the key, then every panel renders with
data; a batch sent through the API appears without a reload; the browser's console holds
no error. A screenshot is kept (``TRUSTBENCH_SCREENSHOT_DIR``, or the test's folder).

Chromium and chromium-driver come from ``scripts/install_browser.sh`` (``make test`` runs
it); without them the test is skipped — or fails under ``TRUSTBENCH_REQUIRE_SERVERS=1``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import Server, batch_rows, make_monitor, start_server, table

from browsers import headless_chromium

pytest.importorskip("fastapi")
webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PANELS = ("drift", "performance", "fairness", "alerts", "versions")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from headless_chromium()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Server]:
    """A monitor with 8 windows (drift from 5), labels for 1-6, a regression, alerts."""
    import joblib  # noqa: F401  (scikit-learn's, for the version's model file)
    from sklearn.linear_model import LogisticRegression

    from trustbench.monitor.jobs import check_monitor, ingest_batch, ingest_labels
    from trustbench.monitor.store import open_store
    from trustbench.monitor.versions import register_version

    db = str(tmp_path / "h.db")
    make_monitor(db, tmp_path)
    with open_store(db) as store:
        for w in range(1, 9):
            t = table(400, start=w * 1000, shift=0.8 if w >= 5 else 0.0, seed=w)
            t.drop(columns="y").to_csv(tmp_path / f"w{w}.csv", index=False)
            ingest_batch(store, "churn", tmp_path / f"w{w}.csv")
            check_monitor(store, "churn")
            if w <= 6:
                t[["id", "y"]].to_csv(tmp_path / "labels.csv", index=False)
                ingest_labels(store, "churn", tmp_path / "labels.csv")
        flipped = table(400, start=1000, seed=1).assign(p0=lambda d: d.p1, p1=lambda d: d.p0)
        flipped[["id", "p0", "p1"]].rename(columns={"p0": "q0", "p1": "q1"}).to_csv(
            tmp_path / "shadow.csv", index=False)
        register_version(store, "churn", "v2", outputs=tmp_path / "shadow.csv",
                         proba_columns=["q0", "q1"])
        del LogisticRegression
    server = start_server(db, tmp_path)
    yield server
    server.stop()


def _wait(driver: object, script: str, timeout: float = 30) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)  # type: ignore[attr-defined]
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {script}\n"
                         + driver.execute_script(  # type: ignore[attr-defined]
                             "return document.body.innerText.slice(0, 2000)"))


def test_the_dashboard_renders_every_panel_and_updates_live(browser: object, live: Server,
                                                            tmp_path: Path) -> None:
    d = browser
    d.get(f"{live.url}/")  # type: ignore[attr-defined]
    _wait(d, "return !document.getElementById('key-form').hidden")  # reads need a key
    d.find_element("id", "key-input").send_keys(live.key)  # type: ignore[attr-defined]
    d.find_element("id", "key-submit").click()  # type: ignore[attr-defined]
    before = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore[attr-defined]
    # before the key, Chromium logs the 401 that asked for it; nothing else may be there
    assert all(e["source"] == "network" and "401" in e["message"] for e in before), before
    _wait(d, "return document.querySelector('a[href=\"/monitors/churn\"]')")
    overview = d.execute_script("return document.body.innerText")  # type: ignore[attr-defined]
    assert "churn" in overview and "ALERT" in overview.upper()
    d.get(f"{live.url}/monitors/churn")  # type: ignore[attr-defined]  (the key stays)
    for panel in PANELS:
        _wait(d, f"const e = document.querySelector('[data-panel=\"{panel}\"]'); "
                 "return e !== null && e.dataset.rendered === 'true'")
    assert d.execute_script("return document.body.dataset.windows") == "8"  # type: ignore[attr-defined]
    svg = d.execute_script(  # type: ignore[attr-defined]
        "return document.querySelectorAll('[data-panel=\"drift\"] svg rect').length")
    assert svg >= 8 * 5  # a cell per column and window
    text = d.execute_script("return document.body.innerText")  # type: ignore[attr-defined]
    assert "estimate" in text.lower() and "v2" in text
    # the accuracy the labelled windows are compared with, drawn as a line
    assert d.execute_script(  # type: ignore[attr-defined]
        "return document.querySelectorAll('[data-panel=\"performance\"] .reference-line').length") == 1
    shots = Path(os.environ.get("TRUSTBENCH_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    d.save_screenshot(str(shots / "dashboard.png"))  # type: ignore[attr-defined]

    with live.client() as c:  # a new batch, through the API
        r = c.post("/api/monitors/churn/batches", json={"rows": batch_rows(300, start=99_000)})
        assert r.status_code == 201
    _wait(d, "return document.body.dataset.windows === '9'")  # no reload
    assert d.execute_script("return performance.getEntriesByType('navigation').length") == 1  # type: ignore[attr-defined]

    # keyboard: the skip link comes first, and focus moves through the page's controls
    d.execute_script("document.activeElement.blur()")  # type: ignore[attr-defined]
    from selenium.webdriver.common.keys import Keys

    d.find_element("tag name", "body").send_keys(Keys.TAB)  # type: ignore[attr-defined]
    assert "skip" in d.execute_script("return document.activeElement.className")  # type: ignore[attr-defined]

    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore[attr-defined]
    assert errors == [], errors
    assert d.execute_script("return document.body.dataset.renderStatus") != "error"  # type: ignore[attr-defined]
