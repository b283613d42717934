"""Open the HTML report in a real headless Chromium: it renders without errors, every figure
and the verdict are there, and a screenshot is not blank.

Chromium comes from ``scripts/install_browser.sh`` (Debian's package); ``make test`` runs it
first. When no browser is on PATH this test runs the script itself, and skips (saying why)
only when that is impossible too. ``TRUSTBENCH_CHROMIUM`` picks a browser binary;
``TRUSTBENCH_SCREENSHOT_DIR`` keeps a copy of the screenshot.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_cards import N_FIGURES, build_card

from trustbench.report import write_html

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _which() -> str | None:
    explicit = os.environ.get("TRUSTBENCH_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else shutil.which(explicit)
    return next((p for p in map(shutil.which, NAMES) if p), None)


@pytest.fixture(scope="module")
def chromium() -> str:
    found = _which()
    if found is None:
        script = ROOT / "scripts" / "install_browser.sh"
        proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900,
                              check=False)
        found = _which()
        if found is None:
            pytest.skip("no headless Chromium and scripts/install_browser.sh could not install one: "
                        + (proc.stderr.strip().splitlines() or ["(no output)"])[0])
    return found


def _run(chromium: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
           "--virtual-time-budget=5000", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _body(dom: str) -> dict[str, str]:
    tag = re.search(r"<body([^>]*)>", dom)
    assert tag, dom[:500]
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(1)))


def test_demo_report_renders_in_chromium_with_every_section(chromium: str, tmp_path: Path,
                                                           demo_report: Path) -> None:
    """The done-when of the report: the demo's own report, on built-in data, in a browser."""
    page = demo_report / "report.html"
    dom = _run(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout
    body = _body(dom)
    errors = re.search(r'id="render-errors"[^>]*>([^<]*)<', dom)
    assert body["data-render-status"] == "ok", errors.group(1) if errors else dom[-1000:]
    assert int(body["data-figures"]) == int(body["data-figures-expected"]) >= 8
    assert re.search(r'id="verdict">.*?<strong>(PASS|WARN|FAIL)</strong>', dom)
    for heading in ("Accuracy", "Robustness", "Corruptions and shift", "Calibration",
                    "Out-of-distribution detection", "Subgroups and slices", "Evaluation validity",
                    "NIST AI RMF view", "Provenance"):
        assert f"<h2>{heading}" in dom, heading
    assert "data:image/png;base64," in dom  # adversarial examples and the corruption heat map
    shot = tmp_path / "demo.png"
    _run(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri())
    from PIL import Image

    with Image.open(shot) as im:
        assert len(im.convert("L").getcolors(maxcolors=1_000_000) or []) > 1  # not blank
    if os.environ.get("TRUSTBENCH_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["TRUSTBENCH_SCREENSHOT_DIR"]) / "demo-report.png")


def test_report_renders_in_chromium(chromium: str, tmp_path: Path) -> None:
    page = write_html(build_card(), tmp_path / "report.html")
    dom = _run(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout
    body = _body(dom)
    errors = re.search(r'id="render-errors"[^>]*>([^<]*)<', dom)
    assert body["data-render-status"] == "ok", errors.group(1) if errors else dom[-1000:]
    assert body["data-figures"] == body["data-figures-expected"] == str(N_FIGURES)
    assert re.search(r'id="verdict">.*?<strong>FAIL</strong>', dom)
    for heading in ("Robustness", "Corruptions and shift", "Calibration", "Out-of-distribution detection",
                    "Subgroups and slices", "Regression against baseline", "Evaluation validity",
                    "Not measured", "NIST AI RMF view", "Provenance"):
        assert f"<h2>{heading}" in dom

    shot = tmp_path / "report.png"
    _run(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1280, 2000)
        colours = im.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50  # text, badges and figures, not a blank page
    keep = os.environ.get("TRUSTBENCH_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report.png")
        shutil.copy(page, Path(keep) / "report.html")


def test_a_broken_image_is_reported(chromium: str, tmp_path: Path) -> None:
    """The page's own check can fail: a figure whose picture does not decode is caught."""
    page = write_html(build_card(), tmp_path / "report.html")
    text = re.sub(r'src="data:image/png;base64,[^"]*"', 'src="data:image/png;base64,AAAA"',
                  page.read_text(encoding="utf-8"), count=1)
    page.write_text(text, encoding="utf-8")
    dom = _run(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout
    body = _body(dom)
    assert body["data-render-status"] == "error"
    assert body["data-figures"] == str(N_FIGURES - 1)
    assert "image did not load" in dom
