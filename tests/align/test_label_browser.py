"""The labelling page in a real headless Chromium, driven through chromium-driver (WebDriver).

A person labels by mouse and by keys (1, 2, t, s, →, 3); after every choice the progress
text moves on and the out file holds exactly the choices made so far. The page's "Finish
for now" stops the server; a new session on the same out file resumes at the right pair;
a pair labelled elsewhere meanwhile shows the server's 409 on the page, which moves on. Text
from the pairs file stays text. The console holds no error but that 409.

Chromium and chromium-driver come from ``scripts/install_browser.sh``; without them the test
is skipped -- or fails under ``TRUSTBENCH_REQUIRE_SERVERS=1``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browsers import headless_chromium
from trustbench.align.data import read_preferences
from trustbench.align.label import LabelSession, read_pairs, start_label_server, undecided_path

webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TRICKY = "<b id='injected'>bold?</b> & <img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from headless_chromium()


def _wait(driver: Any, script: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}\n"
                         + driver.execute_script("return document.body.innerText.slice(0, 2000)"))


def _text(driver: Any, element_id: str) -> str:
    return driver.execute_script(f"return document.getElementById('{element_id}').textContent")


def _at(driver: Any, pair: str, done: int, total: int = 6) -> None:
    """Wait until the page shows ``pair`` with ``done`` of ``total`` labelled."""
    _wait(driver, f"return document.body.dataset.pairId === '{pair}' && "
                  f"document.body.dataset.state === 'ready' && document.body.dataset.done === '{done}'")
    assert _text(driver, "progress-text") == f"{done} of {total} labelled"
    assert driver.execute_script("return document.getElementById('bar').value") == done


def _press(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def _decided(out: Path) -> list[tuple[str, str]]:
    return [(p.id or "", p.chosen) for p in read_preferences(out)] if out.read_text() else []


def _undecided(out: Path) -> list[tuple[str, str]]:
    side = undecided_path(out)
    if not side.exists():
        return []
    return [(r["id"], r["choice"]) for r in map(json.loads, side.read_text().splitlines())]


def test_labelling_by_mouse_and_keys_saves_every_choice_and_resumes(browser: Any,
                                                                    tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    d = browser
    pairs_file = tmp_path / "pairs.jsonl"
    rows = [{"id": f"p{i}", "prompt": f"Question {i}: which is right?", "a": f"answer a{i}",
             "b": f"answer b{i}", "group": "en"} for i in range(6)]
    rows[0]["prompt"] = TRICKY
    pairs_file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "prefs.jsonl"

    session = LabelSession(read_pairs(pairs_file), out, annotator="ann", seed=3)
    order = {p.id: session.order(p) for p in session.pairs}  # (left, right) as shown
    server = start_label_server(session)
    try:
        d.get(server.url)
        _at(d, "p0", 0)
        assert _text(d, "prompt") == TRICKY  # shown as text, never parsed as HTML
        assert d.execute_script("return document.getElementById('injected') === null "
                                "&& document.querySelectorAll('#prompt *').length === 0")
        assert (_text(d, "left"), _text(d, "right")) == order["p0"]
        assert _text(d, "who") == "labelling as ann"

        d.find_element("id", "choose-left").click()  # the mouse
        _at(d, "p1", 1)
        assert _decided(out) == [("p0", order["p0"][0])]
        assert _text(d, "counts").startswith("1 preferred")
        assert (_text(d, "left"), _text(d, "right")) == order["p1"]

        _press(d, "2")
        _at(d, "p2", 2)
        assert _decided(out) == [("p0", order["p0"][0]), ("p1", order["p1"][1])]

        _press(d, "t")
        _at(d, "p3", 3)
        assert _undecided(out) == [("p2", "tie")] and len(_decided(out)) == 2

        d.find_element("id", "stop").click()  # "Finish for now" stops the server
        _wait(d, "return document.body.dataset.state === 'stopped'")
        assert "go on where you left off" in d.execute_script("return document.body.innerText")
        for _ in range(100):
            if not server.running:
                break
            time.sleep(0.05)
        assert not server.running
    finally:
        server.stop()
        session.close()

    session = LabelSession(read_pairs(pairs_file), out, annotator="ann", seed=3)
    server = start_label_server(session)
    try:
        d.get(server.url)
        _at(d, "p3", 3)  # resumed at the first pair not labelled
        assert (_text(d, "left"), _text(d, "right")) == order["p3"]  # in the same order
        _press(d, "s")
        _at(d, "p4", 4)
        assert _undecided(out) == [("p2", "tie"), ("p3", "skip")]
        _press(d, "1")
        _at(d, "p5", 5)
        assert _decided(out)[-1] == ("p4", order["p4"][0])

        session.record("p5", "right")  # labelled elsewhere (another tab) meanwhile
        _press(d, Keys.ARROW_RIGHT)
        _wait(d, "return document.body.dataset.state === 'done'")
        error = d.find_element("id", "error")
        assert error.is_displayed() and "already labelled" in error.text
        assert _text(d, "progress-text") == "6 of 6 labelled"
        assert _text(d, "done-text") == "All 6 pairs are labelled. You can close this tab."
        assert _text(d, "counts") == "4 preferred · 1 tied · 1 skipped"
        _press(d, "3")  # nothing left: keys do nothing
        time.sleep(0.3)
        assert [p for p, _ in _decided(out)] == ["p0", "p1", "p4", "p5"]
        assert _undecided(out) == [("p2", "tie"), ("p3", "skip")]

        shots = Path(os.environ.get("TRUSTBENCH_SCREENSHOT_DIR") or tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(shots / "label.png"))
    finally:
        server.stop()
        session.close()

    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
    # the one refused choice shows as a failed request; nothing else may be there
    assert [e for e in errors if not (e["source"] == "network" and "409" in e["message"])] == []
    assert len(errors) == 1, errors
