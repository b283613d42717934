"""What the HTML, Markdown and JUnit renderers share: formatting, key metrics, sections.

Nothing here computes a new number: it picks findings out of a Scorecard and formats them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from trustbench import catalogue
from trustbench._files import write_text_atomic  # noqa: F401  (re-exported for the renderers)
from trustbench.domain import norm_label
from trustbench.findings import Finding, Metric
from trustbench.scorecard import Scorecard

#: Where findings of no catalogue's section go (sections come from :mod:`trustbench.catalogue`).
OTHER = ("other", "Other findings")

_SEVERITY_RANK = {"info": 0, "warn": 1, "fail": 2}


def section_of(finding_id: str) -> str:
    """Return the anchor of the section a finding belongs to, from its family's catalogue."""
    return catalogue.section_of(finding_id) or OTHER[0]


def group_findings(card: Scorecard) -> list[tuple[str, str, list[Finding]]]:
    """``(anchor, heading, findings)`` for every section that has findings, in page order."""
    by: dict[str, list[Finding]] = {}
    for f in card.findings:
        by.setdefault(section_of(f.id), []).append(f)
    order = [(s.anchor, s.title) for s in catalogue.sections()] + [OTHER]
    return [(a, h, by[a]) for a, h in order if a in by]


def worst_severity(findings: list[Finding]) -> str:
    return max((f.severity for f in findings), key=_SEVERITY_RANK.__getitem__, default="info")


def is_nan(v: float | None) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_value(value: float | None, unit: str = "") -> str:
    """Format a metric value for people: fractions as percentages, counts with separators."""
    if is_nan(value):
        return "–"
    v = float(value)  # type: ignore[arg-type]
    if not math.isfinite(v):
        return "∞" if v > 0 else "-∞"
    if unit == "fraction":
        return f"{v:.1%}"
    if unit == "count" or (unit == "" and v.is_integer() and abs(v) < 1e15):
        return f"{int(v):,}"
    if unit == "seconds":
        return f"{v:.2f} s"
    if unit == "bool":
        return "yes" if v else "no"
    return f"{v:.4g}"


def fmt_ci(metric: Metric) -> str:
    """``"94.6–99.8%"`` for fractions, ``"0.12–0.34"`` otherwise, ``""`` without an interval."""
    if metric.ci is None or is_nan(metric.ci[0]) or is_nan(metric.ci[1]):
        return ""
    lo, hi = metric.ci
    if metric.unit == "fraction":
        return f"{lo:.1%}–{hi:.1%}"
    return f"{lo:.4g}–{hi:.4g}"


@dataclass(frozen=True)
class KeyMetric:
    """One headline number of a run: where it comes from and how to print it."""

    label: str
    finding_id: str
    metric: Metric


def _label(template: str, evidence: dict[str, Any], per: str) -> str:
    fields = dict(evidence)
    if per:  # the grouping value in the reports' short labels (norms: "L∞")
        fields[per] = norm_label(evidence.get(per, ""))
    return template.format_map(fields)


def _pick(card: Scorecard, h: catalogue.Headline) -> list[KeyMetric]:
    """Pick the findings of one headline: the first match, or one per ``h.per`` value."""
    hits: dict[str, tuple[Finding, str]] = {}
    for f in card.findings:
        if not catalogue.matches(h.finding, f.id):
            continue
        name = next((n for n in h.metrics if n in f.metrics), None)
        if name is None:
            continue
        if not h.per:
            hits[""] = (f, name)
            break
        size, group = f.evidence.get(h.largest), str(f.evidence.get(h.per, ""))
        if isinstance(size, (int, float)) and (
                group not in hits or size > hits[group][0].evidence[h.largest]):
            hits[group] = (f, name)
    out = []
    for f, name in hits.values():
        label = _label(h.label, f.evidence, h.per)
        if h.suffix and all(f.evidence.get(k) for k in h.suffix_fields()):
            label += h.suffix.format_map(f.evidence)
        m = f.metrics[name] if h.unit is None else replace(f.metrics[name], unit=h.unit)
        out.append(KeyMetric(label, f.id, m))
    return out


def key_metrics(card: Scorecard, heads: list[catalogue.Headline] | None = None
                ) -> list[KeyMetric]:
    """Return the headline numbers the families' catalogues declare.

    For the scan these are clean accuracy, worst-case robust accuracy at the largest eps per
    norm, mean corruption accuracy, ECE, worst-group accuracy and OOD AUROC — each only when
    the scorecard has it; ``heads`` restricts them to some headlines.
    """
    return [k for h in (catalogue.headlines() if heads is None else heads)
            for k in _pick(card, h)]


def severity_counts(card: Scorecard) -> dict[str, int]:
    counts = {"info": 0, "warn": 0, "fail": 0}
    for f in card.findings:
        counts[f.severity] += 1
    return counts


def first_sentence(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    cut = text.find(". ")
    if 0 < cut < limit:
        return text[:cut + 1]
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def jsonable(o: Any) -> Any:
    """``json.dumps`` default for the numpy values an in-memory scorecard may hold."""
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (Path, set, frozenset)):
        return str(o) if isinstance(o, Path) else sorted(o, key=str)
    return repr(o)


def canonical(card: Scorecard) -> Scorecard:
    """Return the scorecard as its JSON would read back.

    Rendering an in-memory scorecard and rendering its JSON file then give the same bytes
    (tuples, numpy scalars and NaNs all become what the JSON holds).
    """
    d = json.loads(json.dumps(card.to_dict(), default=jsonable))
    for f in d["findings"]:  # renderers read evidence as a dict; code may have built another
        if not isinstance(f.get("evidence", {}), dict):
            f["evidence"] = {"evidence": f["evidence"]}
    return Scorecard.from_dict(d)


