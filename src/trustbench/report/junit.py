"""Render a Scorecard as JUnit XML, the test-report format CI systems display.

Mapping (documented in docs/reports.md):

* one ``<testsuite name="trustbench">``, one ``<testcase>`` per finding, with
  ``classname="trustbench.<id prefix>"`` and ``name=<finding id>``;
* ``fail`` → the test case fails: a ``<failure>`` whose message is the title and whose text
  is the detail and metrics;
* ``warn`` → the test case passes, with a ``severity=warn`` property and a ``WARN:`` line in
  its ``<system-out>`` (CI systems show it without failing the build);
* ``info`` → passes; metrics in ``<system-out>``;
* every "not measured" entry → a skipped test case ``not_measured.<n>``.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from trustbench.findings import Finding
from trustbench.report._common import canonical, fmt_ci, fmt_value, write_text_atomic
from trustbench.scorecard import Scorecard

__all__ = ["render_junit", "write_junit"]

# Characters XML 1.0 cannot hold, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: object) -> str:
    return _INVALID_XML.sub("\ufffd", str(text))


def _metrics_text(f: Finding) -> str:
    rows = []
    for name, m in f.metrics.items():
        ci = fmt_ci(m)
        rows.append(f"  {name}: {fmt_value(m.value, m.unit)}{f' (95% CI {ci})' if ci else ''}")
    return "\n".join(rows)


def _testcase(parent: ET.Element, f: Finding) -> None:
    wall = f.metrics.get("wall_time")
    seconds = wall.value if wall is not None and wall.value == wall.value else 0.0
    case = ET.SubElement(parent, "testcase", {
        "classname": _x("trustbench." + f.id.split(".", 1)[0]), "name": _x(f.id),
        "time": f"{seconds:.3f}"})
    props = ET.SubElement(case, "properties")
    ET.SubElement(props, "property", {"name": "severity", "value": f.severity})
    ET.SubElement(props, "property", {"name": "title", "value": _x(f.title)})
    if f.tags.subcategories:
        ET.SubElement(props, "property", {"name": "nist_ai_rmf",
                                          "value": _x(", ".join(f.tags.subcategories))})
    metrics = _metrics_text(f)
    body = "\n".join(s for s in (f.detail, "metrics:\n" + metrics if metrics else "") if s)
    if f.severity == "fail":
        failure = ET.SubElement(case, "failure", {"message": _x(f.title), "type": "fail"})
        failure.text = _x(body)
    out = f"{f.severity.upper()}: {f.title}" + (f"\n{body}" if body else "")
    ET.SubElement(case, "system-out").text = _x(out)


def render_junit(scorecard: Scorecard) -> str:
    """Render the scorecard as a JUnit XML document (a string).

    See the module docstring for how severities map to test outcomes.
    """
    card = canonical(scorecard)
    prov = card.provenance
    failures = sum(f.severity == "fail" for f in card.findings)
    tests = len(card.findings) + len(card.not_measured)
    timings = prov.get("timings_seconds") if isinstance(prov.get("timings_seconds"), dict) else {}
    total = timings.get("total")
    attrs = {"name": "trustbench", "tests": str(tests), "failures": str(failures), "errors": "0",
             "skipped": str(len(card.not_measured)),
             "time": f"{float(total):.3f}" if isinstance(total, (int, float)) else "0.000"}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    if prov.get("created"):
        suite.set("timestamp", _x(str(prov["created"]).removesuffix("Z")))
    props = ET.SubElement(suite, "properties")
    model = prov.get("model") if isinstance(prov.get("model"), dict) else {}
    data = prov.get("data") if isinstance(prov.get("data"), dict) else {}
    for name, value in (("verdict", card.verdict), ("model", model.get("description")),
                        ("model_fingerprint", model.get("fingerprint")), ("data", data.get("name")),
                        ("data_fingerprint", data.get("fingerprint")), ("seed", prov.get("seed"))):
        if value is not None:
            ET.SubElement(props, "property", {"name": name, "value": _x(value)})
    for f in card.findings:
        _testcase(suite, f)
    for i, what in enumerate(card.not_measured):
        case = ET.SubElement(suite, "testcase", {"classname": "trustbench.not_measured",
                                                 "name": f"not_measured.{i}", "time": "0.000"})
        ET.SubElement(case, "skipped", {"message": _x(f"not measured: {what}")})
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(scorecard: Scorecard, path: str | os.PathLike[str]) -> Path:
    """Write :func:`render_junit` to ``path`` atomically and return the path."""
    return write_text_atomic(render_junit(scorecard), path, prefix="junit")
