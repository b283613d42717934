"""Add the baseline comparison and the gate's decision to a scorecard as findings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustbench import catalogue, nist, plotspec
from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.gate.catalogue import COMPARISON_ID, RESULT_ID
from trustbench.gate.compare import check_comparable, compare_scorecards
from trustbench.gate.rules import Rule, evaluate_rules, parse_rule
from trustbench.scorecard import Scorecard

if TYPE_CHECKING:
    from trustbench.gate import GateResult

__all__ = ["apply_gate"]


def apply_gate(card: Scorecard, *, baseline: Scorecard | None = None,
               rules: list[str | Rule] | None = None, allow_mismatch: bool = False,
               what: str = "--baseline") -> GateResult:
    """Compare ``card`` with ``baseline`` (if given), evaluate ``rules`` and append the findings.

    The findings appended to ``card`` are ``baseline.comparison`` and ``gate.result``.

    Rules are checked before anything is evaluated, so a typo fails fast with exit code 2.
    A baseline of other data or other measuring settings is refused (InputError naming the
    difference) unless ``allow_mismatch``: the comparison then carries the caveats.
    """
    from trustbench.gate import GateResult

    parsed = [r if isinstance(r, Rule) else parse_rule(r) for r in rules or []]
    comparison = None
    if baseline is not None:
        check_comparable(card, baseline, allow=allow_mismatch, what=what)
        comparison = compare_scorecards(card, baseline)
        if comparison.unit_differences and not allow_mismatch:
            raise InputError(f"{what}: the scorecards are not like for like: the units of "
                             f"{', '.join(comparison.unit_differences[:3])} differ",
                             fix="compare scans made by the same trustbench settings, or pass "
                             "--allow-mismatch to compare anyway")
    results = evaluate_rules(parsed, card, comparison)
    if comparison is not None:
        regressions = [d for d in comparison.deltas if d.significantly_worse]
        shown = [d for d in comparison.deltas
                 if d.ci is not None and catalogue.in_gate_figure(d.finding_id, d.metric)]
        plots = []
        if shown:
            plots.append(plotspec.bars(
                "Change against the baseline (current − baseline, 95% CI)",
                [d.key for d in shown], [d.delta for d in shown], value_label="change",
                lo=[d.ci[0] for d in shown if d.ci], hi=[d.ci[1] for d in shown if d.ci],
                reference=0.0, reference_label="no change"))
        base_model = baseline.provenance.get("model", {}).get("description", "?")
        card.findings.append(Finding(
            COMPARISON_ID,
            f"Against the baseline: {len(comparison.deltas)} metrics compared, "
            f"{len(regressions)} significantly worse"
            + ("" if comparison.comparable else " (runs not like for like)"),
            "info" if comparison.comparable else "warn",
            metrics={"metrics_compared": Metric(len(comparison.deltas), unit="count"),
                     "significant_regressions": Metric(len(regressions), unit="count")},
            tags=nist.GATE,
            detail=f"Baseline model: {base_model}. Each change is current − baseline with a "
            "95% interval; paired tests on the same points where both runs stored per-point "
            "outcomes. " + " ".join(c[0].upper() + c[1:] + "." for c in comparison.caveats()),
            evidence=comparison.to_dict() | {"plots": plots,
                                             "significant_regressions":
                                             [d.key for d in regressions]}))
    gate = GateResult(comparison, results)
    if parsed:
        failed = gate.failed
        card.findings.append(Finding(
            RESULT_ID,
            f"Gate failed: {len(failed)} of {len(parsed)} rule(s)" if failed
            else f"Gate passed: {len(parsed)} rule(s)",
            "fail" if failed else "info",
            metrics={"rules": Metric(len(parsed), unit="count"),
                     "failed": Metric(len(failed), unit="count")},
            tags=nist.GATE,
            detail="\n".join(f"{'FAIL' if r.fired else 'ok'}: {r.rule.text} — {r.reason}"
                             for r in results),
            evidence={"rules": [{"rule": r.rule.text, "fired": r.fired, "reason": r.reason}
                                for r in results]}))
    return gate
