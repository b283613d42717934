"""Render a Scorecard as one self-contained HTML page.

The page needs no network: the style sheet and a small script are inline, and every figure
is an inline SVG or a PNG ``data:`` URI drawn from the plot specs in the findings
(:mod:`trustbench.plotspec`). It reads the Scorecard alone, through its JSON form,
so rendering a scorecard and rendering its ``scorecard.json`` give the same page.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from trustbench import catalogue
from trustbench.findings import Finding
from trustbench.report import _html_parts as parts
from trustbench.report._common import (
    canonical,
    fmt_ci,
    fmt_value,
    group_findings,
    key_metrics,
    severity_counts,
    worst_severity,
    write_text_atomic,
)
from trustbench.report._html_assets import CSS, SCRIPT
from trustbench.report._html_parts import esc
from trustbench.report.plots import plot_html
from trustbench.scorecard import Scorecard

__all__ = ["render_html", "write_html"]

#: Sections with more informational findings than this fold the plain ones away.
_FOLD_AFTER = 4
_VERDICT_TEXT = {"pass": "no finding raised a warning or failed",
                 "warn": "at least one finding needs attention; none failed",
                 "fail": "at least one finding failed"}


class _Page:
    """Counts figures and hands out unique anchors while one page is built."""

    def __init__(self, card: Scorecard) -> None:
        self.drawn = 0
        self.broken = 0
        self.anchors: dict[str, str] = {}  # finding id -> anchor of its first finding, for links
        self._own: dict[int, str] = {}  # each finding's own anchor, unique even for repeated ids
        used: set[str] = set()
        for f in card.findings:
            base = "f-" + re.sub(r"[^A-Za-z0-9_.:-]", "_", f.id)
            anchor, i = base, 1
            while anchor in used:
                i += 1
                anchor = f"{base}-{i}"
            used.add(anchor)
            self._own[id(f)] = anchor
            self.anchors.setdefault(f.id, anchor)

    def figure(self, spec: object) -> str:
        markup, ok = plot_html(spec, fig_id=f"fig-{self.drawn + self.broken + 1}")  # type: ignore[arg-type]
        if ok:
            self.drawn += 1
        else:
            self.broken += 1
        return markup

    def finding(self, f: Finding) -> str:
        plots = f.evidence.get("plots") or []
        if not isinstance(plots, list):
            plots = [plots]
        figures = "".join(self.figure(p) for p in plots)
        detail = f'<p class="detail">{esc(f.detail)}</p>' if f.detail else ""
        tags = ""
        if f.tags.characteristics or f.tags.subcategories:
            tags = (f'<p class="tags">AI RMF: {esc(", ".join(f.tags.subcategories))}'
                    f'{" · " if f.tags.subcategories else ""}'
                    f"{esc(', '.join(f.tags.characteristics))}</p>")
        return (f'<article class="finding sev-{f.severity}-card" id="{esc(self._own[id(f)])}">'
                f'<span class="badge sev-{f.severity}">{f.severity.upper()}</span> '
                f'<h3>{esc(f.title)}</h3><code class="fid">{esc(f.id)}</code>{detail}{figures}'
                f"{parts.metrics_table(f.metrics)}{parts.evidence_block(f.evidence)}{tags}</article>")


def _summary(card: Scorecard) -> str:
    prov = card.provenance
    model = prov.get("model", {}) if isinstance(prov.get("model"), dict) else {}
    data = prov.get("data", {}) if isinstance(prov.get("data"), dict) else {}
    what = esc(model.get("description", "The model"))
    on = f" on {esc(data.get('name', 'the data'))}"
    if data.get("n") is not None:
        on += f" ({esc(data['n'])} points)"
    sentences = [f"{what} was evaluated{on}."]
    for k in key_metrics(card):
        ci = fmt_ci(k.metric)
        sentences.append(f"{esc(k.label)}: <strong>{esc(fmt_value(k.metric.value, k.metric.unit))}"
                         f"</strong>{f' (95% CI {esc(ci)})' if ci else ''}.")
    c = severity_counts(card)
    sentences.append(f"Of {len(card.findings)} finding{'s' if len(card.findings) != 1 else ''}, "
                     f"{c['fail']} failed and {c['warn']} raised a warning.")
    if card.not_measured:
        k = len(card.not_measured)
        sentences.append(f"{k} area{'s were' if k != 1 else ' was'} "
                         '<a href="#not-measured">not measured</a>.')
    return " ".join(sentences)


def _attention(card: Scorecard, page: _Page) -> str:
    flagged = sorted((f for f in card.findings if f.severity != "info"),
                     key=lambda f: f.severity != "fail")
    if not flagged:
        return ""
    items = "".join(f'<li><span class="badge sev-{f.severity}">{f.severity.upper()}</span> '
                    f'<a href="#{esc(page.anchors[f.id])}">{esc(f.title)}</a></li>'
                    for f in flagged[:12])
    more = f"<li>… and {len(flagged) - 12} more</li>" if len(flagged) > 12 else ""
    return f'<ul class="attention">{items}{more}</ul>'


def _section(anchor: str, heading: str, findings: list[Finding], card: Scorecard,
             page: _Page) -> str:
    extra = ""
    sec = catalogue.section(anchor)
    if sec is not None and sec.view == "attack_curves":
        ref = card.get(sec.reference[0]) if sec.reference else None
        units = str(card.provenance.get("config", {}).get("eps_units", "")) \
            if isinstance(card.provenance.get("config"), dict) else ""
        curves = parts.robustness_curves(
            findings, ref.metrics.get(sec.reference[1]) if ref and sec.reference else None, units)
        extra = "".join(page.figure(s) for s in curves) + parts.robustness_table(findings)
    plain = [f for f in findings if f.severity == "info" and not f.evidence.get("plots")]
    fold = plain if len(plain) > _FOLD_AFTER else []
    folded_ids = {id(f) for f in fold}
    shown = "".join(page.finding(f) for f in findings if id(f) not in folded_ids)
    folded = ""
    if fold:
        folded = (f'<details class="more"><summary>{len(fold)} more informational findings'
                  f"</summary>{''.join(page.finding(f) for f in fold)}</details>")
    return (f'<section id="{anchor}"><h2>{esc(heading)} <span class="count">({len(findings)})'
            f"</span></h2>{extra}{shown}{folded}</section>")


def render_html(scorecard: Scorecard) -> str:
    """Render the scorecard as one self-contained HTML page (a string).

    The verdict and a summary come first, then a contents list, one section per kind of
    finding (robustness, corruptions and shift, calibration, OOD detection, subgroups,
    regression against a baseline, evaluation validity, other), what was not measured, a
    NIST AI RMF view and the provenance. Every user string is escaped.
    """
    card = canonical(scorecard)
    page = _Page(card)
    verdict = card.verdict
    body: list[str] = []
    toc: list[str] = []
    for anchor, heading, findings in group_findings(card):
        body.append(_section(anchor, heading, findings, card, page))
        sev = worst_severity(findings)
        toc.append(f'<li><a href="#{anchor}">{esc(heading)}</a> <span class="count">'
                   f"({len(findings)})</span>"
                   + (f' <span class="badge sev-{sev}">{sev.upper()}</span>' if sev != "info" else "")
                   + "</li>")
    if card.not_measured:
        items = "".join(f"<li>{esc(n)}</li>" for n in card.not_measured)
        body.append(f'<section id="not-measured"><h2>Not measured</h2><p>This run did not '
                    f"evaluate the following; the report says nothing about them.</p>"
                    f"<ul>{items}</ul></section>")
        toc.append('<li><a href="#not-measured">Not measured</a></li>')
    note = str(card.provenance.get("nist_ai_rmf", "Findings are tagged as evidence toward NIST "
                                    "AI RMF 1.0 subcategories; no compliance is claimed."))
    nist = parts.nist_view(card.findings, page.anchors, note)
    if nist:
        body.append(f'<section id="nist"><h2>NIST AI RMF view</h2>{nist}</section>')
        toc.append('<li><a href="#nist">NIST AI RMF view</a></li>')
    body.append(f'<section id="provenance"><h2>Provenance</h2>'
                f"{parts.provenance(card.provenance)}</section>")
    toc.append('<li><a href="#provenance">Provenance</a></li>')

    prov = card.provenance
    versions = prov.get("versions") if isinstance(prov.get("versions"), dict) else {}
    meta = " · ".join(esc(s) for s in (
        f"trustbench {versions.get('trustbench', '')}".strip(),
        f"created {prov['created']}" if prov.get("created") else "",
        f"seed {prov['seed']}" if prov.get("seed") is not None else "") if s)
    title = f"trustbench report: {verdict.upper()}"
    model = prov.get("model") if isinstance(prov.get("model"), dict) else {}
    if model.get("description"):
        title += f" — {model['description']}"
    header = (f'<header class="top"><div class="verdict verdict-{verdict}" id="verdict">'
              f'<span class="label">Verdict</span><strong>{verdict.upper()}</strong></div>'
              f"<div><h1>trustbench report</h1>"
              f'<p class="summary"><strong>{verdict.upper()}</strong>: {_VERDICT_TEXT[verdict]}. '
              f"{_summary(card)}</p>{_attention(card, page)}"
              f'<p class="meta">{meta}</p></div></header>'
              f'<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{"".join(toc)}</ol></nav>')
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="trustbench"><title>{esc(title)}</title>'
        f"<style>{CSS}</style><script>{SCRIPT}</script></head>\n"
        f'<body data-render-status="pending" data-figures="0" data-figures-expected="{page.drawn}" '
        f'data-figure-errors="{page.broken}" data-verdict="{verdict}"><div class="page">'
        f"{header}<main>{''.join(body)}</main>"
        f"<footer>Generated by trustbench from the scorecard alone; the scorecard JSON is the "
        f"canonical record of this run.</footer>"
        f'<pre id="render-errors" class="render-errors" hidden></pre></div></body></html>\n'
    )


def write_html(scorecard: Scorecard, path: str | os.PathLike[str]) -> Path:
    """Write :func:`render_html` to ``path`` atomically and return the path.

    No half-written report is ever left behind.
    """
    return write_text_atomic(render_html(scorecard), path, prefix="report")
