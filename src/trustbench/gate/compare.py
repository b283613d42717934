"""Compare two scorecards metric by metric, with a confidence interval for each change.

Like is compared with like: a finding of the current run is matched to the baseline's
finding with the same id (ids encode attack, norm and eps), and the comparison says when the
two runs evaluated different data or used a different configuration.

Where both scorecards carry per-point outcomes of the same points (clean correctness,
robustness), the change is a paired difference of proportions with McNemar's exact test;
otherwise the interval combines the two runs' own intervals (Newcombe's method), and metrics
without an interval get the change alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from trustbench import catalogue
from trustbench.errors import InputError
from trustbench.findings import finite_or_none
from trustbench.gate.catalogue import GATE
from trustbench.metrics import unpack_bools
from trustbench.metrics.stats import paired_difference
from trustbench.scorecard import Scorecard

__all__ = ["Comparison", "MetricDelta", "better_direction", "check_comparable",
           "compare_scorecards", "mismatches"]

#: Config fields that change what a metric means; a difference is reported, not hidden.
_COMPARABLE_CONFIG = ("norm", "eps_units", "n", "seed", "attack_params", "severities")
#: Metrics that are run costs, not properties of the model: never compared.
_COST_METRICS = {"wall_time", "grad_evals", "queries"}
#: Evidence keys holding per-point outcomes of the metric they sit next to.
_PAIRED = {"accuracy": "correct", "robust_accuracy": "robust"}


def better_direction(metric: str) -> str:
    """Which way a metric improves: as a family's catalogue declares it, else from its name.

    ``accuracy@3`` is an accuracy.
    """
    declared = catalogue.direction(metric)
    if declared:
        return declared
    name = metric.split("@")[0].lower()
    # "lower" first: accuracy_gap and mean_corruption_error are gaps and errors, not accuracies
    if any(k in name for k in ("gap", "error", "ece", "mce", "brier", "nll", "fpr")) or \
            name in ("ce", "relative_ce"):
        return "lower"
    if any(k in name for k in ("accuracy", "auroc", "auc", "recall", "precision", "ratio")):
        return "higher"
    return ""


@dataclass(frozen=True)
class MetricDelta:
    """The change of one metric from the baseline to the current run.

    ``delta`` is current minus baseline; ``ci`` its 95% interval (``None`` when neither run
    gave one); ``method`` says how the interval was made; ``p_value`` is McNemar's exact
    two-sided p-value for paired proportions, else ``None``.
    """

    finding_id: str
    metric: str
    baseline: float
    current: float
    unit: str = ""
    ci: tuple[float, float] | None = None
    method: str = "difference only"
    p_value: float | None = None

    @property
    def delta(self) -> float:
        """The change, current minus baseline."""
        return self.current - self.baseline

    @property
    def better(self) -> str:
        """``"higher"``, ``"lower"`` or ``""`` (unknown): which way is an improvement."""
        return better_direction(self.metric)

    @property
    def significantly_worse(self) -> bool:
        """The 95% interval of the change lies entirely on the worse side of 0."""
        if self.ci is None or not self.better:
            return False
        return self.ci[1] < 0 if self.better == "higher" else self.ci[0] > 0

    @property
    def key(self) -> str:
        """``FINDING_ID:METRIC``, the metric's name in gate rules."""
        return f"{self.finding_id}:{self.metric}"

    def to_dict(self) -> dict[str, Any]:
        """Return the change as a JSON-ready dict (non-finite numbers as ``None``)."""
        return {"finding": self.finding_id, "metric": self.metric, "unit": self.unit,
                "baseline": finite_or_none(self.baseline), "current": finite_or_none(self.current),
                "delta": finite_or_none(self.delta),
                "ci95": None if self.ci is None else [finite_or_none(self.ci[0]), finite_or_none(self.ci[1])],
                "method": self.method, "p_value": finite_or_none(self.p_value)}


@dataclass
class Comparison:
    """The result of :func:`compare_scorecards`."""

    deltas: list[MetricDelta] = field(default_factory=list)
    same_data: bool = True
    same_model: bool = True
    config_differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    only_in_baseline: list[str] = field(default_factory=list)
    only_in_current: list[str] = field(default_factory=list)
    new_warnings: list[str] = field(default_factory=list)  # finding ids now warn/fail, before not
    # "finding:metric" whose units differ between the runs: not compared
    unit_differences: list[str] = field(default_factory=list)

    def get(self, finding_id: str, metric: str) -> MetricDelta | None:
        """Return the change of ``metric`` of finding ``finding_id``, if it was compared."""
        return next((d for d in self.deltas if d.finding_id == finding_id and d.metric == metric),
                    None)

    @property
    def comparable(self) -> bool:
        """Same data, measuring configuration and units: changes are the model's."""
        return self.same_data and not self.config_differences and not self.unit_differences

    def caveats(self) -> list[str]:
        """Return sentences on what makes the runs unlike: different data, config or units."""
        out = []
        if not self.same_data:
            out.append("the runs evaluated different data (data fingerprints differ): changes "
                       "mix model and data effects, and paired tests are not used")
        for k, (a, b) in self.config_differences.items():
            out.append(f"config {k} differs: baseline {a!r}, current {b!r}")
        if self.unit_differences:
            out.append(f"units differ for {', '.join(self.unit_differences[:3])}: those metrics "
                       "are not compared")
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison as a JSON-ready dict, caveats and changes included."""
        return {"comparable": self.comparable, "same_data": self.same_data,
                "same_model": self.same_model, "caveats": self.caveats(),
                "config_differences": {k: list(v) for k, v in self.config_differences.items()},
                "only_in_baseline": self.only_in_baseline,
                "only_in_current": self.only_in_current, "new_warnings": self.new_warnings,
                "unit_differences": self.unit_differences,
                "deltas": [d.to_dict() for d in self.deltas]}


def _newcombe(base: tuple[float, float, float], cur: tuple[float, float, float]
              ) -> tuple[float, float] | None:
    """Interval for ``cur - base`` from each estimate's own 95% interval.

    It assumes independent samples, and is conservative for paired runs.

    References
    ----------
    Newcombe, "Interval estimation for the difference between independent proportions",
    Statistics in Medicine 17 (1998).
    """
    p1, l1, u1 = base
    p2, l2, u2 = cur
    if not all(math.isfinite(v) for v in (p1, l1, u1, p2, l2, u2)):
        return None
    d = p2 - p1
    return (d - math.hypot(p2 - l2, u1 - p1), d + math.hypot(u2 - p2, p1 - l1))


def compare_scorecards(current: Scorecard, baseline: Scorecard) -> Comparison:
    """Match findings by id and measure each shared metric's change."""
    cp, bp = current.provenance, baseline.provenance
    cmp = Comparison(
        same_data=cp.get("data", {}).get("fingerprint") == bp.get("data", {}).get("fingerprint"),
        same_model=cp.get("model", {}).get("fingerprint") == bp.get("model", {}).get("fingerprint"),
    )
    ccfg, bcfg = cp.get("config", {}), bp.get("config", {})
    for k in _COMPARABLE_CONFIG:
        if ccfg.get(k) != bcfg.get(k):
            cmp.config_differences[k] = (bcfg.get(k), ccfg.get(k))
    base = {f.id: f for f in baseline.findings}
    cur_ids = {f.id for f in current.findings}
    manifests = catalogue.manifest_ids()
    cmp.only_in_baseline = [i for i in base if i not in cur_ids and i not in manifests]
    for f in current.findings:
        b = base.get(f.id)
        if b is None:
            if f.id not in manifests and not GATE.owns(f.id):
                cmp.only_in_current.append(f.id)
            continue
        if f.severity != "info" and b.severity == "info":
            cmp.new_warnings.append(f.id)
        for name, m in f.metrics.items():
            bm = b.metrics.get(name)
            if bm is None or name in _COST_METRICS or m.unit == "count":
                continue
            if m.unit != bm.unit:
                cmp.unit_differences.append(f"{f.id}:{name}")
                continue
            ci, method, p = None, "difference only", None
            bits_key = _PAIRED.get(name)
            paired = None
            if bits_key and cmp.same_data:
                a, c = unpack_bools(b.evidence.get(bits_key)), unpack_bools(f.evidence.get(bits_key))
                if a is not None and c is not None and len(a) == len(c) and len(a) > 0:
                    paired = (a, c)
            if paired is not None:
                ci, p = paired_difference(*paired)
                method = "paired (same points): Wald interval, McNemar exact test"
            elif m.ci is not None and bm.ci is not None:
                ci = _newcombe((bm.value, *bm.ci), (m.value, *m.ci))
                method = "from each run's 95% interval (Newcombe)"
            cmp.deltas.append(MetricDelta(f.id, name, bm.value, m.value, m.unit, ci, method, p))
    return cmp


def mismatches(current: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Why two runs (their provenance dicts) are not like with like; empty when they are.

    Compared: the data fingerprint and the configuration fields that change what a metric
    means (norm, eps units, sample size, seed, attack parameters, shift severities). A
    field the current run has not resolved yet (``None``, e.g. eps units before the scan
    picks them by modality) is not compared.
    """
    out = []
    cd, bd = current.get("data") or {}, baseline.get("data") or {}
    if cd.get("fingerprint") != bd.get("fingerprint"):
        out.append(f"they evaluated different data (baseline: {bd.get('name', '?')}, "
                   f"current: {cd.get('name', '?')}; the data fingerprints differ)")
    cc, bc = current.get("config") or {}, baseline.get("config") or {}
    for k in _COMPARABLE_CONFIG:
        if k in cc and cc[k] is None and k == "eps_units":
            continue
        if cc.get(k) != bc.get(k):
            out.append(f"config {k} differs (baseline {bc.get(k)!r}, current {cc.get(k)!r})")
    return out


def check_comparable(current: dict[str, Any] | Scorecard, baseline: Scorecard, *,
                     allow: bool = False, what: str = "--baseline") -> list[str]:
    """Refuse to compare unlike runs.

    An InputError names the first difference, unless ``allow`` (then the differences are
    returned, to be shown as caveats).
    """
    prov = current.provenance if isinstance(current, Scorecard) else current
    reasons = mismatches(prov, baseline.provenance)
    if reasons and not allow:
        more = f" (and {len(reasons) - 1} more difference(s))" if len(reasons) > 1 else ""
        raise InputError(f"{what}: the scorecards are not like for like: {reasons[0]}{more}",
                         fix="compare scans of the same data with the same settings, or pass "
                         "--allow-mismatch to compare anyway (changes then mix model, data and "
                         "settings effects)")
    return reasons
