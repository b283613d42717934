"""From per-column tests to alarms: Benjamini–Hochberg, the effect gate, alpha spending.

A window's columns are each tested against the reference (:func:`check_drift`). A column
**alarms** when its change is both

* significant: its p-value passes Benjamini–Hochberg across the window's tested columns at
  the window's level ``alpha_t``, and
* large enough: its effect is at least the test's minimum effect (documented per test;
  ``min_effects`` overrides it per column),

so a trivial shift on a million rows is not an alarm, and neither is noise on eight rows
(columns with fewer than :data:`~trustbench.monitor.drift.MIN_ROWS` values are not tested).

**Over time** (the sequential rule): the ``t``-th window checked against one reference is
tested at ``alpha_t = alpha * 6 / (pi^2 t^2)``. The levels sum to ``alpha`` over an
unbounded stream, so when nothing changes, the chance that a stream *ever* alarms is at
most ``alpha`` (a Bonferroni bound over windows, with BH — which controls the family-wise
rate under the global null — inside each window). Early windows keep most of the budget,
and a real change, whose p-values fall exponentially with the window's size, is still
caught at once. ``window=None`` tests a single window at ``alpha``.

References
----------
Benjamini & Hochberg, "Controlling the false discovery rate", JRSS B 57 (1995).
Lan & DeMets, "Discrete sequential boundaries for clinical trials", Biometrika 70 (1983).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trustbench.errors import InputError
from trustbench.monitor.drift import MIN_ROWS, DriftResult, default_test, get_drift_test
from trustbench.monitor.sketch import CategoricalSketch, NumericSketch, Sketch

__all__ = ["ColumnDrift", "WindowDrift", "benjamini_hochberg", "check_drift", "window_alpha"]


def benjamini_hochberg(p_values: Sequence[float], q: float) -> np.ndarray:
    """Which hypotheses Benjamini–Hochberg rejects at false discovery rate ``q``.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5], 0.05).tolist()
    [True, False, False, False]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if not len(p):
        return np.zeros(0, dtype=bool)
    order = np.argsort(p, kind="stable")
    passed = p[order] <= q * np.arange(1, len(p) + 1) / len(p)
    out = np.zeros(len(p), dtype=bool)
    if passed.any():
        out[order[: np.nonzero(passed)[0].max() + 1]] = True
    return out


def window_alpha(alpha: float, window: int | None) -> float:
    """Return the level of the ``window``-th window (1-based) under the alpha-spending rule.

    >>> round(window_alpha(0.05, 1), 4), round(window_alpha(0.05, 10), 6)
    (0.0304, 0.000304)
    """
    if window is None:
        return alpha
    if window < 1:
        raise ValueError(f"window numbers start at 1, got {window}")
    return alpha * 6 / (math.pi**2 * window**2)


@dataclass(frozen=True)
class ColumnDrift:
    """One column of one window: which test, why, what it found, and the decision."""

    column: str
    kind: str
    test: str
    reason: str
    result: DriftResult | None
    significant: bool = False
    alarm: bool = False
    missing_share: tuple[float, float] = (0.0, 0.0)  # reference, current
    outside_share: float = 0.0  # current values outside the reference's range or categories

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {"column": self.column, "kind": self.kind, "test": self.test,
                "reason": self.reason,
                "result": None if self.result is None else self.result.to_dict(),
                "significant": self.significant, "alarm": self.alarm,
                "missing_share": list(self.missing_share), "outside_share": self.outside_share}


@dataclass(frozen=True)
class WindowDrift:
    """The drift of one window against the reference."""

    window: int | None
    alpha: float
    columns: list[ColumnDrift] = field(default_factory=list)

    @property
    def alarms(self) -> list[ColumnDrift]:
        """The columns that alarmed."""
        return [c for c in self.columns if c.alarm]

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {"window": self.window, "alpha": self.alpha,
                "columns": [c.to_dict() for c in self.columns]}


def _outside(reference: Sketch, current: Sketch) -> float:
    if isinstance(reference, CategoricalSketch) and isinstance(current, CategoricalSketch):
        n = current.n
        return sum(c for k, c in current.counts.items() if k not in reference.counts) / n if n else 0.0
    if isinstance(reference, NumericSketch) and isinstance(current, NumericSketch) and len(current.values):
        v = current.values
        return float(((v < reference.minimum) | (v > reference.maximum)).mean())
    return 0.0


def check_drift(reference: Mapping[str, Sketch], current: Mapping[str, Sketch], *,
                alpha: float = 0.05, window: int | None = None,
                tests: Mapping[str, str] | None = None,
                min_effects: Mapping[str, float] | None = None, seed: int = 0) -> WindowDrift:
    """Test every column of a window against its reference sketch and decide alarms.

    Parameters
    ----------
    reference, current
        Column name -> sketch; every reference column must be in ``current``.
    alpha
        The family-wise false-alarm budget (of one window, or of the whole stream when
        ``window`` is given).
    window
        This window's number in the stream checked against ``reference`` (1-based), for the
        alpha-spending rule; ``None``: one window on its own.
    tests
        Column -> registered test name, overriding :func:`~trustbench.monitor.drift.default_test`.
    min_effects
        Column -> the smallest effect worth an alarm, overriding the test's default.
    seed
        Seeds the tests' resampling.
    """
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be in (0, 1), got {alpha}")
    missing = [c for c in reference if c not in current]
    if missing:
        raise InputError(f"the window has no column {missing[0]!r} of the reference",
                         fix="send every column the profile was built with")
    tests, min_effects = dict(tests or {}), dict(min_effects or {})
    level = window_alpha(alpha, window)
    pending: list[tuple[str, str, str, str, DriftResult | None, tuple[float, float], float]] = []
    for name, ref in reference.items():
        cur = current[name]
        if cur.kind != ref.kind:
            raise InputError(f"column {name!r} is {cur.kind} in the window but {ref.kind} in "
                             "the reference", fix="send the column with the reference's type")
        cats = len(set(ref.counts) | set(cur.counts)) if isinstance(ref, CategoricalSketch) else 0
        test, reason = default_test(ref.kind, cur.n, categories=cats)
        if name in tests:
            test, reason = tests[name], f"{tests[name]} (chosen for this column)"
            if cur.n < MIN_ROWS:
                test, reason = "", f"{cur.n} values: fewer than {MIN_ROWS}, not tested"
        result = None
        if test:
            params: dict[str, Any] = {"seed": seed}
            if name in min_effects:
                params["min_effect"] = min_effects[name]
            result = get_drift_test(test, **params).test(ref, cur, alpha=level)
        shares = (ref.n_missing / ref.rows if ref.rows else 0.0,
                  cur.n_missing / cur.rows if cur.rows else 0.0)
        pending.append((name, ref.kind, test, reason, result, shares, _outside(ref, cur)))
    tested = [i for i, row in enumerate(pending) if row[4] is not None]
    passed = benjamini_hochberg([pending[i][4].p_value for i in tested], level)
    significant = {i: bool(p) for i, p in zip(tested, passed, strict=True)}
    columns = []
    for i, (name, kind, test, reason, result, shares, outside) in enumerate(pending):
        sig = significant.get(i, False)
        alarm = sig and result is not None and result.effect >= result.min_effect
        columns.append(ColumnDrift(name, kind, test, reason, result, sig, alarm, shares, outside))
    return WindowDrift(window, level, columns)
