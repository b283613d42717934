"""Regression gate: compare a scan with a baseline scorecard and fail on rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from trustbench.gate.catalogue import GATE  # registers the gate's catalogue
from trustbench.gate.compare import Comparison, MetricDelta, compare_scorecards
from trustbench.gate.gating import apply_gate
from trustbench.gate.rules import Rule, RuleResult, evaluate_rules, parse_rule

__all__ = ["GATE", "Comparison", "GateResult", "MetricDelta", "Rule", "RuleResult", "apply_gate",
           "compare_scorecards", "evaluate_rules", "parse_rule"]


@dataclass
class GateResult:
    """What the gate decided: ``failed`` rules make ``trustbench scan`` exit 1."""

    comparison: Comparison | None
    results: list[RuleResult] = field(default_factory=list)

    @property
    def failed(self) -> list[RuleResult]:
        """The results of the rules that fired."""
        return [r for r in self.results if r.fired]
