"""JUnit XML for CI systems."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from report_cards import build_card

from trustbench.findings import Finding, Metric
from trustbench.report import render_junit, write_junit
from trustbench.scorecard import Scorecard


def _suite(xml: str) -> ET.Element:
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    return suite


def _props(el: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in el.findall("properties/property")}


def test_one_testcase_per_finding_and_failures_for_fail() -> None:
    card = build_card()
    suite = _suite(render_junit(card))
    assert suite.get("name") == "trustbench"
    cases = suite.findall("testcase")
    n_fail = sum(f.severity == "fail" for f in card.findings)
    assert len(cases) == len(card.findings) + len(card.not_measured)
    assert suite.get("tests") == str(len(cases))
    assert suite.get("failures") == str(n_fail) == str(len(suite.findall("testcase/failure")))
    assert suite.get("skipped") == str(len(card.not_measured)) == str(len(suite.findall("testcase/skipped")))
    assert _props(suite)["verdict"] == "fail"
    by_name = {c.get("name"): c for c in cases}
    gate = by_name["gate.rules"]
    assert gate.find("failure").get("message") == "Gate: 1 of 2 rules fired"
    assert "rule robust_acc>=0.5 fired" in gate.find("failure").text
    warn = by_name["shift.summary"]
    assert warn.find("failure") is None  # a warning passes ...
    assert _props(warn)["severity"] == "warn"  # ... and says so
    assert warn.find("system-out").text.startswith("WARN: Mean corruption accuracy 67.0%")
    assert "mean_corruption_accuracy: 67.0% (95% CI 60.0%–73.0%)" in warn.find("system-out").text
    assert by_name["robustness.pgd.linf.0.1"].get("classname") == "trustbench.robustness"
    assert by_name["robustness.pgd.linf.0.1"].get("time") == "0.500"


def test_hostile_strings_stay_well_formed() -> None:
    nasty = "a <b> & \"c\" ]]> \x00\x07 \ud800 end"
    card = Scorecard([Finding("x.y", nasty, "fail", {"m": Metric(1.0)}, detail=nasty)],
                     {"model": {"description": nasty}}, [nasty])
    suite = _suite(render_junit(card))
    failure = suite.find("testcase/failure")
    assert failure.get("message") == "a <b> & \"c\" ]]> \ufffd\ufffd \ufffd end"
    assert _props(suite)["model"].startswith("a <b> &")


def test_empty_scorecard_is_a_passing_suite() -> None:
    suite = _suite(render_junit(Scorecard()))
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("0", "0", "0")


def test_write_junit(tmp_path) -> None:
    card = build_card()
    out = write_junit(card, tmp_path / "junit.xml")
    assert ET.parse(out).getroot().find("testsuite").get("name") == "trustbench"
    assert out.read_text(encoding="utf-8") == render_junit(card)
