"""Compare candidates criterion by criterion, with intervals: win, loss or tie.

A candidate *beats* another on a criterion when their 95% intervals do not overlap and it
is on the better side; overlapping intervals are a **tie**, never a win (an exact value,
like size, has a zero-width interval). On that relation:

* **Pareto front** — the candidates no other candidate dominates (at least ties on every
  criterion and beats on one);
* **mean win rate** — HELM's weight-free summary: for each criterion, the share of the
  other candidates beaten (a tie counts half), averaged over criteria (with ``weights``,
  a weighted mean);
* **requirements** — hard constraints on point values, ``KEY OP NUMBER``
  (``robust_acc@linf:0.1 >= 0.6``, ``latency_ms <= 5``); a candidate that misses one is out.

References
----------
Liang et al., "Holistic Evaluation of Language Models" (HELM), TMLR 2023 (mean win rate).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from trustbench.errors import InputError
from trustbench.select.criteria import Criterion, Value, criterion

__all__ = ["Requirement", "compare", "dominates", "mean_win_rate", "pareto_front",
           "parse_requirement", "parse_weight"]

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_REQ = re.compile(r"^\s*(?P<key>\S+)\s*(?P<op><=|>=|<|>)\s*(?P<num>[-+0-9.eE]+)\s*$")


def compare(a: Value, b: Value, c: Criterion) -> int:
    """+1 when ``a`` beats ``b`` on ``c`` (intervals apart), -1 when it loses, 0 a tie."""
    (a_lo, a_hi), (b_lo, b_hi) = a.bounds, b.bounds
    if a_lo > b_hi or (a.ci is None and b.ci is None and a.value > b.value):
        higher = 1
    elif b_lo > a_hi or (a.ci is None and b.ci is None and b.value > a.value):
        higher = -1
    else:
        return 0
    return higher if c.better == "higher" else -higher


def dominates(a: Mapping[str, Value], b: Mapping[str, Value],
              criteria: Sequence[Criterion]) -> bool:
    """Return whether ``a`` at least ties ``b`` everywhere and beats it somewhere."""
    results = [compare(a[c.key], b[c.key], c) for c in criteria]
    return all(r >= 0 for r in results) and any(r > 0 for r in results)


def pareto_front(values: Mapping[str, Mapping[str, Value]],
                 criteria: Sequence[Criterion]) -> list[str]:
    """Return the candidates no other dominates, in the given order."""
    return [n for n in values if not any(dominates(values[m], values[n], criteria)
                                         for m in values if m != n)]


def mean_win_rate(values: Mapping[str, Mapping[str, Value]], criteria: Sequence[Criterion],
                  weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """Per candidate: the (weighted) mean over criteria of its share of others beaten."""
    names = list(values)
    if len(names) < 2:
        return {n: math.nan for n in names}
    w = {c.key: (weights or {}).get(c.key, 1.0) for c in criteria}
    total = sum(w.values())
    out = {}
    for n in names:
        score = 0.0
        for c in criteria:
            results = [compare(values[n][c.key], values[m][c.key], c) for m in names if m != n]
            score += w[c.key] * sum(1.0 if r > 0 else 0.5 if r == 0 else 0.0
                                    for r in results) / len(results)
        out[n] = score / total if total else math.nan
    return out


@dataclass(frozen=True)
class Requirement:
    """A hard constraint ``criterion op threshold`` on a candidate's point value."""

    text: str
    criterion: Criterion
    op: str
    threshold: float

    def holds(self, value: Value | None) -> bool:
        """Whether ``value`` satisfies it (a missing value does not)."""
        return value is not None and _OPS[self.op](value.value, self.threshold)


def parse_requirement(text: str) -> Requirement:
    """Parse ``"robust_acc@linf:0.1 >= 0.6"``; an unknown key or form is an InputError."""
    m = _REQ.match(text)
    if not m:
        raise InputError(f"--require {text!r}: not 'CRITERION OP NUMBER'",
                         fix="write e.g. --require 'robust_acc@linf:0.1 >= 0.6' or "
                             "--require 'latency_ms <= 5'")
    try:
        threshold = float(m["num"])
    except ValueError:
        threshold = math.nan
    if not math.isfinite(threshold):
        raise InputError(f"--require {text!r}: {m['num']!r} is not a finite number",
                         fix="give the threshold as a number")
    return Requirement(text.strip(), criterion(m["key"]), m["op"], threshold)


def parse_weight(text: str) -> tuple[str, float]:
    """Parse ``"robust_acc@linf:0.1=2"`` into ``(key, weight)``."""
    key, sep, num = text.rpartition("=")
    try:
        weight = float(num) if sep else math.nan
    except ValueError:
        weight = math.nan
    if not sep or not (math.isfinite(weight) and weight >= 0):
        raise InputError(f"--weight {text!r}: not 'CRITERION=WEIGHT' with a weight >= 0",
                         fix="write e.g. --weight robust_acc@linf:0.1=2")
    return criterion(key.strip()).key, weight
