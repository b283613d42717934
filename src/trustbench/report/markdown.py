"""Render a Scorecard as a short Markdown summary, sized for a pull-request comment."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trustbench.report._common import (
    canonical,
    first_sentence,
    fmt_ci,
    fmt_value,
    key_metrics,
    severity_counts,
    write_text_atomic,
)
from trustbench.scorecard import Scorecard

__all__ = ["render_markdown", "write_markdown"]

_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌"}
MAX_FLAGGED, MAX_DELTAS = 12, 10


def _md(text: object) -> str:
    """Inline-safe Markdown: one line, HTML escaped, table and emphasis characters inert."""
    s = html.escape(" ".join(str(text).split()), quote=False)
    return re.sub(r"([\\`*_\[\]|#~])", r"\\\1", s)


def _code(text: object, *, in_table: bool = False) -> str:
    """Return ``text`` as a Markdown code span.

    Backslashes are literal there, so only backticks and, in a table, pipes (which end a
    cell even inside code in GitHub's Markdown) need care.
    """
    s = " ".join(str(text).split()).replace("`", "'")
    return "`" + (s.replace("|", "\\|") if in_table else s) + "`"


def _num(v: object) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _pct_points(v: float, unit: str) -> str:
    return f"{v * 100:+.1f} pp" if unit == "fraction" else f"{v:+.4g}"


def _baseline(diff: Any) -> list[str]:
    """Lines for a baseline comparison: a ``Comparison`` (trustbench.gate) or its dict."""
    d: Mapping[str, Any] = diff.to_dict() if hasattr(diff, "to_dict") else diff
    deltas = [x for x in d.get("deltas", []) if _num(x.get("delta")) is not None]
    deltas.sort(key=lambda x: -abs(_num(x["delta"]) or 0.0))
    out = ["", "### Change against the baseline", ""]
    for c in d.get("caveats", []):
        out.append(f"> {_md(c)}")
    if d.get("caveats"):
        out.append("")
    changed = [x for x in deltas if abs(_num(x["delta"]) or 0.0) > 0]
    if not changed:
        out.append("No metric changed.")
    else:
        out += ["| finding : metric | baseline | current | change (95% CI) |", "|---|--:|--:|--:|"]
        for x in changed[:MAX_DELTAS]:
            unit = str(x.get("unit", ""))
            ci = x.get("ci95")
            ci_text = ""
            if ci and _num(ci[0]) is not None and _num(ci[1]) is not None:
                ci_text = f" ({_pct_points(ci[0], unit)} to {_pct_points(ci[1], unit)})"
            out.append(f"| {_code(x.get('finding', '?'), in_table=True)} : {_md(x.get('metric', '?'))} "
                       f"| {fmt_value(_num(x.get('baseline')), unit)} "
                       f"| {fmt_value(_num(x.get('current')), unit)} "
                       f"| {_pct_points(_num(x['delta']) or 0.0, unit)}{ci_text} |")
        if len(changed) > MAX_DELTAS:
            out.append(f"\n…and {len(changed) - MAX_DELTAS} smaller changes.")
    if d.get("new_warnings"):
        out.append("\nNewly warning or failing: "
                   + ", ".join(_code(i) for i in d["new_warnings"][:MAX_FLAGGED]))
    return out


def render_markdown(scorecard: Scorecard, *, baseline_diff: Any = None) -> str:
    """Render a Markdown summary of the scorecard for a pull-request comment.

    The summary is about 60 lines at most: the verdict, a table of key metrics with 95%
    intervals, the findings that warn or fail, an optional comparison against a baseline,
    and what was not measured.

    Parameters
    ----------
    scorecard
        The run to summarise.
    baseline_diff
        Optional: a ``trustbench.gate.Comparison`` or its ``to_dict()``; its largest metric
        changes and caveats are listed.
    """
    card = canonical(scorecard)
    prov = card.provenance
    model = prov.get("model") if isinstance(prov.get("model"), dict) else {}
    data = prov.get("data") if isinstance(prov.get("data"), dict) else {}
    versions = prov.get("versions") if isinstance(prov.get("versions"), dict) else {}
    verdict = card.verdict
    counts = severity_counts(card)
    lines = [f"## {_ICON[verdict]} trustbench: {verdict.upper()}", ""]
    what = [f"Model {_code(model.get('description', '?'))}",
            f"data {_code(data.get('name', '?'))}" + (f" ({_md(data['n'])} points)"
                                                     if data.get("n") is not None else "")]
    if versions.get("trustbench"):
        what.append(f"trustbench {_md(versions['trustbench'])}")
    if prov.get("seed") is not None:
        what.append(f"seed {_md(prov['seed'])}")
    lines += [" · ".join(what), "",
              f"{len(card.findings)} findings: {counts['fail']} fail, {counts['warn']} warn, "
              f"{counts['info']} info."]
    keys = key_metrics(card)
    if keys:
        lines += ["", "| metric | value | 95% CI |", "|---|--:|--:|"]
        lines += [f"| {_md(k.label)} | {fmt_value(k.metric.value, k.metric.unit)} | "
                  f"{fmt_ci(k.metric) or '–'} |" for k in keys]
    flagged = sorted((f for f in card.findings if f.severity != "info"),
                     key=lambda f: f.severity != "fail")
    if flagged:
        lines += ["", "### Warnings and failures", ""]
        for f in flagged[:MAX_FLAGGED]:
            detail = f" — {_md(first_sentence(f.detail, 160))}" if f.detail else ""
            lines.append(f"- **{f.severity.upper()}** {_md(f.title)} ({_code(f.id)}){detail}")
        if len(flagged) > MAX_FLAGGED:
            lines.append(f"- …and {len(flagged) - MAX_FLAGGED} more (see the HTML report)")
    if baseline_diff is not None:
        lines += _baseline(baseline_diff)
    if card.not_measured:
        lines += ["", "**Not measured:** " + "; ".join(_md(n) for n in card.not_measured) + "."]
    lines += ["", "<sub>Full details: `report.html` and `scorecard.json` in the scan's output "
                  "folder. Findings are evidence toward NIST AI RMF subcategories; no compliance "
                  "is claimed.</sub>"]
    return "\n".join(lines) + "\n"


def write_markdown(scorecard: Scorecard, path: str | os.PathLike[str], *,
                   baseline_diff: Any = None) -> Path:
    """Write :func:`render_markdown` to ``path`` atomically and return the path."""
    return write_text_atomic(render_markdown(scorecard, baseline_diff=baseline_diff), path,
                             prefix="summary")
