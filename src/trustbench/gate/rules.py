"""``--fail-on`` rules: when a scan should fail a CI build.

A rule is one short line::

    any fail                              a finding with severity "fail"
    any warn                              a finding with severity "warn" or "fail"
    new warn                              a finding that is warn/fail now and was info in the baseline
    accuracy < 0.9                        an absolute threshold (also <=, >, >=)
    robust_acc@linf:0.1 drop > 2pt        a change against --baseline, in percentage points
    ece increase > 0.02                   a change in the metric's own units
    robust_acc[pgd]@l2:0.5 drop > 5%      relative change, in percent of the baseline value
    robust_acc@linf:0.1 drop > 1pt significant   ...and the change's 95% interval excludes 0

A metric is an alias (``accuracy``, ``robust_acc@NORM:EPS``, ``robust_acc[ATTACK]@NORM:EPS``,
``ece``, ``mce``, ``brier``, ``nll``, ``mca``, ``worst_group_acc``, ``group_gap``) or the
full ``FINDING_ID:METRIC`` as printed in the scorecard, e.g. ``shift.fog:accuracy@5``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from trustbench import catalogue
from trustbench.errors import InputError
from trustbench.gate.catalogue import GATE
from trustbench.gate.compare import Comparison
from trustbench.scorecard import Scorecard

__all__ = ["Rule", "RuleResult", "evaluate_rules", "parse_rule"]

_CHANGE = re.compile(r"^(?P<metric>\S+)\s+(?P<dir>drop|increase|change)\s*>\s*(?P<num>[0-9.eE+-]+)"
                     r"\s*(?P<unit>pt|%)?(?:\s+(?P<sig>significant))?$")
_ABS = re.compile(r"^(?P<metric>\S+)\s*(?P<op><=|>=|<|>)\s*(?P<num>[0-9.eE+-]+)\s*(?P<unit>pt|%)?$")
_ANY = re.compile(r"^(?P<which>any|new)\s+(?P<level>fail|warn)$")
EXAMPLES = ("any fail", "robust_acc@linf:0.1 drop > 2pt", "ece increase > 0.02", "accuracy < 0.9")


@dataclass(frozen=True)
class Rule:
    """A parsed ``--fail-on`` rule."""

    text: str
    kind: str  # "any" | "new" | "absolute" | "change"
    key: str = ""  # FINDING_ID:METRIC (FINDING_ID may end in * to match a family)
    op: str = ">"
    threshold: float = 0.0
    unit: str = ""  # "", "pt" or "%"
    direction: str = ""  # "drop" | "increase" | "change"
    significant: bool = False
    level: str = "fail"

    @property
    def needs_baseline(self) -> bool:
        """Whether the rule compares against a baseline (``change`` and ``new`` rules)."""
        return self.kind in ("change", "new")


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule: whether it ``fired``, and the ``reason``."""

    rule: Rule
    fired: bool
    reason: str


def _from_pattern(p: catalogue.AliasPattern, text: str, rule: str) -> str | None:
    """Return the key an alias pattern makes of ``text``; None when ``text`` is not of its family."""
    if not text.startswith(p.prefix):
        return None
    m = re.match(p.regex, text)
    if m is None:
        raise InputError(f"--fail-on {rule!r}: {text!r} is not {p.forms[0]}", fix=p.fix)
    fields: dict[str, object] = dict(p.defaults) | {k: v for k, v in m.groupdict().items()
                                                    if v is not None}
    for k in p.numbers:
        try:
            fields[k] = float(str(fields[k]))
        except ValueError:
            raise InputError(f"--fail-on {rule!r}: {k} {fields[k]!r} is not a number") from None
    return p.key.format_map(fields)


def _metric_key(text: str, rule: str) -> str:
    alias = catalogue.gate_alias(text)
    if alias is not None:
        return alias.key
    patterns = catalogue.alias_patterns()
    for p in patterns:
        key = _from_pattern(p, text, rule)
        if key is not None:
            return key
    if ":" in text and not text.startswith(":") and not text.endswith(":"):
        return text
    forms = [f for p in patterns for f in p.forms]
    raise InputError(
        f"--fail-on {rule!r}: unknown metric {text!r}",
        fix=f"use an alias ({', '.join(catalogue.alias_names() + forms)}) "
        "or FINDING_ID:METRIC from the scorecard")


def parse_rule(text: str) -> Rule:
    """Parse one rule; a malformed rule is an :class:`InputError` with examples."""
    t = " ".join(text.strip().split())
    if m := _ANY.match(t):
        return Rule(t, m["which"], level=m["level"])
    for pattern, kind in ((_CHANGE, "change"), (_ABS, "absolute")):
        if m := pattern.match(t):
            try:
                num = float(m["num"])
            except ValueError:
                raise InputError(f"--fail-on {text!r}: {m['num']!r} is not a number") from None
            if kind == "change":
                return Rule(t, kind, _metric_key(m["metric"], t), ">", num, m["unit"] or "",
                            m["dir"], bool(m["sig"]))
            return Rule(t, kind, _metric_key(m["metric"], t), m["op"], num, m["unit"] or "")
    raise InputError(f"--fail-on {text!r}: not a rule",
                     fix="write e.g. " + "; ".join(repr(e) for e in EXAMPLES))


def _scaled(rule: Rule, base: float) -> float:
    """Return the threshold in the metric's own units."""
    if rule.unit == "pt":
        return rule.threshold / 100.0
    if rule.unit == "%":
        return abs(base) * rule.threshold / 100.0
    return rule.threshold


def _matches(pattern: str, finding_id: str) -> bool:
    return finding_id == pattern or (pattern.endswith("*") and finding_id.startswith(pattern[:-1]))


def _lookup(card: Scorecard, key: str) -> list[tuple[str, float]]:
    fid, _, metric = key.rpartition(":")
    out = []
    for f in card.findings:
        if _matches(fid, f.id) and metric in f.metrics:
            out.append((f"{f.id}:{metric}", f.metrics[metric].value))
    return out


def _available(card: Scorecard, key: str) -> str:
    metric = key.rpartition(":")[2]
    keys = [f"{f.id}:{metric}" for f in card.findings if metric in f.metrics]
    return ", ".join(keys[:6]) or "none"


def evaluate_rules(rules: list[Rule], current: Scorecard, comparison: Comparison | None = None
                   ) -> list[RuleResult]:
    """Evaluate each rule; a rule naming a metric the run did not measure is an error.

    A gate that silently passes on a missing number protects nothing.
    """
    results = []
    for rule in rules:
        if rule.needs_baseline and comparison is None:
            raise InputError(f"--fail-on {rule.text!r} compares against a baseline",
                             fix="pass --baseline old/scorecard.json")
        if rule.kind in ("any", "new"):
            levels = ("fail",) if rule.level == "fail" else ("warn", "fail")
            if rule.kind == "any":
                hits = [f.id for f in current.findings
                        if f.severity in levels and not GATE.owns(f.id)]
            else:
                assert comparison is not None
                hits = [i for i in comparison.new_warnings
                        if (g := current.get(i)) is not None and g.severity in levels]
            results.append(RuleResult(rule, bool(hits), f"{len(hits)} finding(s): "
                                      + ", ".join(hits[:8]) if hits else "none"))
            continue
        if rule.kind == "absolute":
            values = _lookup(current, rule.key)
            if not values:
                raise InputError(f"--fail-on {rule.text!r}: this scan has no {rule.key}",
                                 fix=f"measured: {_available(current, rule.key)}")
            for key, v in values:
                thr = _scaled(rule, 1.0)
                fired = not math.isfinite(v) or {"<": v < thr, "<=": v <= thr, ">": v > thr,
                                                  ">=": v >= thr}[rule.op]
                results.append(RuleResult(rule, fired, f"{key} = {v:.4g} (threshold {rule.op} "
                                          f"{thr:.4g})"))
            continue
        assert comparison is not None
        fid, _, metric = rule.key.rpartition(":")
        deltas = [d for d in comparison.deltas if d.metric == metric and _matches(fid, d.finding_id)]
        if not deltas:
            raise InputError(f"--fail-on {rule.text!r}: {rule.key} is not in both the scan and "
                             "the baseline",
                             fix=f"measured now: {_available(current, rule.key)}; rerun the "
                             "baseline with the same configuration")
        for d in deltas:
            change = {"drop": -d.delta, "increase": d.delta, "change": abs(d.delta)}[rule.direction]
            thr = _scaled(rule, d.baseline)
            fired = not math.isfinite(change) or change > thr
            sig = ""
            if rule.significant and fired:
                lo, hi = d.ci if d.ci else (math.nan, math.nan)
                excl = lo > 0 if rule.direction == "increase" else hi < 0 if \
                    rule.direction == "drop" else (lo > 0 or hi < 0)
                fired = bool(excl)
                sig = "; 95% CI excludes 0" if excl else "; not significant (95% CI includes 0)"
            ci = f" [95% CI {d.ci[0]:+.4f}, {d.ci[1]:+.4f}]" if d.ci else ""
            results.append(RuleResult(
                rule, fired, f"{d.key}: {d.baseline:.4f} → {d.current:.4f} ({d.delta:+.4f}{ci}; "
                f"{rule.direction} limit {thr:.4g}{sig})"))
    return results
