"""Inspection reports as Findings: one per file, ``security.inspect``, in a Scorecard.

A file with an import outside the allow-list fails (``fail``); an unreadable one warns (a
loader could still read part of it); a safe file, or one with only low notes (TorchScript
code, custom ONNX operators), is ``info``. Tagged MEASURE 2.7 (secure and resilient) with
MANAGE 3.2 and GOVERN 6.1: third-party models are a supply-chain risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trustbench.findings import Finding, Metric
from trustbench.nist import Tags
from trustbench.scorecard import Scorecard
from trustbench.security.files.inspect import FileReport, inspect_file

__all__ = ["FILE_SAFETY", "inspection_card", "inspection_finding", "inspection_note"]

FILE_SAFETY = Tags(("secure and resilient",), ("MEASURE 2.7", "MANAGE 3.2", "GOVERN 6.1"))


def inspection_finding(report: FileReport) -> Finding:
    """One file's report as a Finding (evidence: the whole report)."""
    verdict = report.verdict
    if verdict == "unsafe":
        title = f"{report.path}: unsafe — {report.why()}"
    elif verdict == "unreadable":
        title = f"{report.path}: could not be read to its end — {report.errors[0]}"
    else:
        title = f"{report.path}: safe ({report.format}, {len(report.imports)} imports, all allowed)"
    return Finding(
        id="security.inspect", title=title,
        severity={"unsafe": "fail", "unreadable": "warn"}.get(verdict, "info"),
        metrics={"imports": Metric(len(report.imports), unit="count"),
                 "not_allowed": Metric(sum(not i["allowed"] for i in report.imports),
                                       unit="count"),
                 "issues": Metric(len(report.issues), unit="count")},
        tags=FILE_SAFETY,
        detail="Read without loading: every pickle's opcodes walked, each import judged "
               "by an allow-list of what model files need.",
        evidence=report.to_dict())


def inspection_card(reports: Sequence[FileReport], **provenance: Any) -> Scorecard:
    """Return the reports of :func:`~.inspect.inspect_path` as a Scorecard."""
    return Scorecard([inspection_finding(r) for r in reports], provenance=dict(provenance))


def inspection_note(path: str | Path) -> str:
    """Return what ``trustbench inspect`` finds in ``path``, as a clause for a refusal."""
    r = inspect_file(path)
    if r.verdict == "unsafe":
        return f"; trustbench inspect finds that it {r.why()}"
    if r.verdict == "unreadable":
        return f"; trustbench inspect could not read it to its end ({r.errors[0]})"
    return (f"; trustbench inspect finds only allowed imports ({len(r.imports)}), but a "
            "pickle is still refused without --trust-pickle")
