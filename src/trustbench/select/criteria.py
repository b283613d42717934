"""What a candidate model is judged on, read from its scan and measured beside it.

From the scan's scorecard: clean accuracy, worst-case robust accuracy per norm and eps,
mean corruption accuracy, ECE and worst-group accuracy, each with its interval. Beside the
scan: CPU latency per example at batch 1 and 64 (median of repeated calls, with the
interval of its 25th to 75th percentile) and size in MB (the model file, or the
parameters' bytes).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from trustbench.errors import InputError
from trustbench.scorecard import Scorecard

__all__ = ["Criterion", "Value", "criteria_of", "criterion", "scan_values"]

_ROBUST = re.compile(r"^robust_acc@(?P<norm>linf|l2):(?P<eps>[0-9.eE+-]+)$")


@dataclass(frozen=True)
class Criterion:
    """One axis of the choice: its key (as ``--require`` writes it), label and direction."""

    key: str
    label: str
    better: str  # "higher" | "lower"
    unit: str = ""


@dataclass(frozen=True)
class Value:
    """A candidate's value on one criterion, with its 95% interval when it has one."""

    value: float
    ci: tuple[float, float] | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        """The interval, or the value itself twice (an exact value)."""
        return self.ci if self.ci is not None else (self.value, self.value)


_FIXED = {
    "clean_acc": Criterion("clean_acc", "clean accuracy", "higher"),
    "mca": Criterion("mca", "mean corruption accuracy", "higher"),
    "ece": Criterion("ece", "ECE", "lower"),
    "worst_group_acc": Criterion("worst_group_acc", "worst-group accuracy", "higher"),
    "latency_ms": Criterion("latency_ms", "latency, batch 1", "lower", "ms"),
    "latency_ms@64": Criterion("latency_ms@64", "latency per example, batch 64", "lower", "ms"),
    "size_mb": Criterion("size_mb", "size", "lower", "MB"),
}
_ALIASES = {"accuracy": "clean_acc", "latency_ms@1": "latency_ms", "corruption_acc": "mca"}


def criterion(key: str) -> Criterion:
    """Return the criterion a ``--require``/``--weight`` key names (aliases allowed)."""
    key = _ALIASES.get(key, key)
    if key in _FIXED:
        return _FIXED[key]
    m = _ROBUST.match(key)
    if m:
        try:
            eps = float(m["eps"])
        except ValueError:
            eps = math.nan
        if math.isfinite(eps) and eps > 0:
            return Criterion(f"robust_acc@{m['norm']}:{eps:g}",
                             f"robust accuracy, {m['norm']} eps={eps:g}", "higher")
    raise InputError(f"unknown criterion {key!r}",
                     fix="use clean_acc, robust_acc@linf:EPS (or @l2:EPS), mca, ece, "
                         "worst_group_acc, latency_ms, latency_ms@64 or size_mb")


def _metric(card: Scorecard, finding: str, metric: str) -> Value | None:
    f = card.get(finding)
    m = f.metrics.get(metric) if f is not None else None
    if m is None or not math.isfinite(m.value):
        return None
    return Value(float(m.value), None if m.ci is None else (float(m.ci[0]), float(m.ci[1])))


def scan_values(card: Scorecard) -> dict[str, Value]:
    """Return the criteria a scan's scorecard holds, by key (checks that did not run: absent)."""
    out: dict[str, Value] = {}
    for key, finding, metric in (("clean_acc", "accuracy.clean", "accuracy"),
                                 ("mca", "shift.summary", "mean_corruption_accuracy"),
                                 ("ece", "calibration.clean", "ece")):
        if (v := _metric(card, finding, metric)) is not None:
            out[key] = v
    for f in card.findings:
        parts = f.id.split(".")
        if f.id.startswith("robustness.worst.") and len(parts) >= 4:
            v = _metric(card, f.id, "robust_accuracy")
            if v is not None:
                out[criterion(f"robust_acc@{parts[2]}:{'.'.join(parts[3:])}").key] = v
        elif f.id.startswith("subgroups.") and "worst_group_acc" not in out:
            v = _metric(card, f.id, "accuracy_worst_group")
            if v is not None:
                out["worst_group_acc"] = v
    return out


def criteria_of(values: Mapping[str, Mapping[str, Value]]) -> list[Criterion]:
    """Return the criteria every candidate has a value for, in a fixed order."""
    keys = set.intersection(*(set(v) for v in values.values())) if values else set()
    order = ["clean_acc", *sorted(k for k in keys if k.startswith("robust_acc@")), "mca",
             "ece", "worst_group_acc", "latency_ms", "latency_ms@64", "size_mb"]
    return [criterion(k) for k in order if k in keys]
