"""Findings: the one shape in which every check reports what it measured."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from trustbench.nist import Tags

__all__ = ["SEVERITIES", "Finding", "Metric", "Severity", "finite_or_none"]

Severity = Literal["info", "warn", "fail"]
SEVERITIES: tuple[Severity, ...] = ("info", "warn", "fail")


def finite_or_none(v: float | None) -> float | None:
    """``v`` as a float, or ``None`` for ``None``, NaN and infinities (JSON's ``null``)."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None  # JSON has no NaN/inf: null stands for them


def _float(v: float | None) -> float:
    return float("nan") if v is None else float(v)


@dataclass(frozen=True)
class Metric:
    """A measured number, with a confidence interval where one is meaningful.

    Parameters
    ----------
    value
        The point estimate.
    ci
        ``(low, high)`` of a 95% confidence interval, or ``None``.
    unit
        Free text such as ``"fraction"``, ``"seconds"`` or ``"count"``.
    """

    value: float
    ci: tuple[float, float] | None = None
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the metric as a JSON-ready dict (non-finite numbers as ``None``)."""
        d: dict[str, Any] = {"value": finite_or_none(self.value)}
        if self.ci is not None:
            d["ci95"] = [finite_or_none(self.ci[0]), finite_or_none(self.ci[1])]
        if self.unit:
            d["unit"] = self.unit
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Metric:
        """Rebuild a metric from :meth:`to_dict` output (``None`` values read back as NaN)."""
        ci = d.get("ci95")
        value = d.get("value")
        return cls(
            _float(value),
            None if ci is None else (_float(ci[0]), _float(ci[1])),
            d.get("unit", ""),
        )


@dataclass
class Finding:
    """One answer to one question about a model or its data.

    Parameters
    ----------
    id
        Stable machine id, e.g. ``"robustness.pgd.linf.0.1"``; baselines match on it.
    title
        One line a person reads.
    severity
        ``"info"``, ``"warn"`` or ``"fail"``.
    metrics
        Name -> :class:`Metric`.
    tags
        The AI RMF characteristics and subcategories this is evidence toward.
    detail
        Longer explanation, e.g. why a warning was raised and what to do.
    evidence
        JSON-serialisable extra data (small arrays as lists, parameters, counts).
    """

    id: str
    title: str
    severity: Severity
    metrics: dict[str, Metric] = field(default_factory=dict)
    tags: Tags = field(default_factory=lambda: Tags(()))
    detail: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as a JSON-ready dict."""
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "detail": self.detail,
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "tags": self.tags.to_dict(),
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        """Rebuild a finding from :meth:`to_dict` output."""
        return cls(
            id=d["id"],
            title=d["title"],
            severity=d["severity"],
            metrics={k: Metric.from_dict(m) for k, m in d.get("metrics", {}).items()},
            tags=Tags.from_dict(d.get("tags", {})),
            detail=d.get("detail", ""),
            evidence=d.get("evidence", {}),
        )
