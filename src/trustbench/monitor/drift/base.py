"""What a drift test is: two sketches in, a p-value and an effect size out.

A drift test compares a column's reference sketch with a current window's sketch
(:mod:`trustbench.monitor.sketch`) and returns a :class:`DriftResult`: the test statistic,
its p-value, an **effect size** in units a person can set a threshold on, the minimum effect
the user cares about, and the smallest effect this window could have detected. The
monitor's decision (:mod:`trustbench.monitor.decide`) needs both a significant p-value
(after Benjamini–Hochberg across features) and an effect at least ``min_effect``: on a
million rows every feature is "significantly" different, and a trivial shift must not be
an alarm.

Adding a test is one module with a :class:`DriftTest` subclass, a docstring with its
reference, and one line in :mod:`trustbench.monitor.drift.registry`; the shared conformance
test (``tests/monitor/test_drift_conformance.py``) then checks its false-alarm rate, its
power on a planted shift and its independence from row order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import NormalDist
from typing import Any, ClassVar, Literal

import numpy as np

from trustbench.findings import finite_or_none
from trustbench.monitor.sketch import CategoricalSketch, Sketch

__all__ = ["POWER", "BinnedTest", "ColumnKind", "DriftResult", "DriftTest", "ResamplingTest",
           "RowsTest", "binned", "category_counts",
           "chi2_detectable", "n_effective", "normal_detectable", "normal_sf", "z_quantile"]

ColumnKind = Literal["numeric", "categorical"]
#: Power at which :attr:`DriftResult.detectable` is stated.
POWER = 0.8
N_BINS = 10  # reference-quantile bins for the binned tests on numeric columns


@dataclass(frozen=True)
class DriftResult:
    """One drift test of one column (or of the rows) on one window.

    Attributes
    ----------
    test
        The registry name of the test.
    statistic, p_value
        The test statistic and its p-value (one test, before any correction).
    effect, effect_name
        The effect size and what it is (e.g. ``"KS distance D"``).
    min_effect
        The smallest effect the user cares about; smaller changes are never an alarm.
    detectable
        The smallest effect this window could have detected at the test's alpha with
        :data:`POWER` (80%) power (an approximation, documented per test).
    n_reference, n_current
        Values the test used.
    details
        Anything else worth showing (bins, bandwidth, categories that are new).
    """

    test: str
    statistic: float
    p_value: float
    effect: float
    effect_name: str
    min_effect: float
    detectable: float
    n_reference: int
    n_current: int
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {"test": self.test, "statistic": finite_or_none(self.statistic),
                "p_value": finite_or_none(self.p_value), "effect": finite_or_none(self.effect),
                "effect_name": self.effect_name, "min_effect": self.min_effect,
                "detectable": finite_or_none(self.detectable), "n_reference": self.n_reference,
                "n_current": self.n_current, "details": dict(self.details)}


class DriftTest:
    """Base class of the drift tests.

    Subclasses set :attr:`name`, :attr:`kinds`, :attr:`effect_name` and
    :attr:`default_min_effect` and implement :meth:`_test`. ``__init__`` only stores its
    arguments (keyword-only), as scikit-learn's estimators do.

    Parameters
    ----------
    min_effect
        The smallest effect worth an alarm; ``None``: the test's documented default.
    seed
        Seeds any resampling (permutations, subsamples, folds).
    """

    name: ClassVar[str]
    kinds: ClassVar[tuple[ColumnKind, ...]]
    effect_name: ClassVar[str]
    default_min_effect: ClassVar[float]
    #: Whether :meth:`test_rows` compares whole rows (several columns at once).
    multivariate: ClassVar[bool] = False

    def __init__(self, *, min_effect: float | None = None, seed: int = 0) -> None:
        self.min_effect = min_effect
        self.seed = seed

    @property
    def threshold(self) -> float:
        """The effect at or above which a significant change is an alarm."""
        return self.default_min_effect if self.min_effect is None else float(self.min_effect)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Cheap parameters for the conformance test (none by default)."""
        return {}

    def test(self, reference: Sketch, current: Sketch, *, alpha: float = 0.05) -> DriftResult:
        """Compare a column's current sketch with its reference sketch."""
        if reference.kind != current.kind:
            raise ValueError(f"{self.name}: a {reference.kind} reference against a "
                             f"{current.kind} window")
        if reference.kind not in self.kinds:
            raise ValueError(f"{self.name} tests {' or '.join(self.kinds)} columns, "
                             f"not {reference.kind}")
        return self._test(reference, current, alpha)

    def _test(self, reference: Any, current: Any, alpha: float) -> DriftResult:
        raise NotImplementedError

    def _result(self, statistic: float, p_value: float, effect: float, detectable: float,
                n_reference: int, n_current: int, **details: Any) -> DriftResult:
        return DriftResult(self.name, float(statistic), float(min(max(p_value, 0.0), 1.0)),
                           float(effect), self.effect_name, self.threshold, float(detectable),
                           int(n_reference), int(n_current), details)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(min_effect={self.min_effect!r}, seed={self.seed!r})"


class BinnedTest(DriftTest):
    """A test on the two sketches' counts over common bins (:func:`binned`).

    Subclasses implement :meth:`_counts` on ``(reference counts, current counts)``, both
    non-empty over at least two bins.
    """

    kinds = ("numeric", "categorical")

    def _test(self, reference: Any, current: Any, alpha: float) -> DriftResult:
        ref, cur = binned(reference, current)
        n, m = int(ref.sum()), int(cur.sum())
        if not n or not m:
            return self._result(math.nan, 1.0, math.nan, math.nan, n, m)
        if len(ref) < 2:  # one bin holds everything on both sides: nothing can differ
            return self._result(0.0, 1.0, 0.0, math.nan, n, m)
        return self._counts(ref, cur, alpha)

    def _counts(self, ref: np.ndarray, cur: np.ndarray, alpha: float) -> DriftResult:
        raise NotImplementedError


class ResamplingTest(DriftTest):
    """A test whose p-value comes from permutations of seeded subsamples.

    Parameters
    ----------
    min_effect, seed
        As for :class:`DriftTest`.
    permutations
        Relabellings drawn for the permutation p-value.
    subsample
        Values (or rows) taken from each side at most.
    """

    default_subsample: ClassVar[int] = 1000

    def __init__(self, *, min_effect: float | None = None, seed: int = 0,
                 permutations: int = 500, subsample: int | None = None) -> None:
        super().__init__(min_effect=min_effect, seed=seed)
        self.permutations = permutations
        self.subsample = self.default_subsample if subsample is None else subsample

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Fewer permutations for the conformance test."""
        return {"permutations": 200}


class RowsTest(DriftTest):
    """A test that compares whole rows (several numeric columns), or one column as rows."""

    multivariate = True
    kinds = ("numeric",)

    def _test(self, reference: Any, current: Any, alpha: float) -> DriftResult:
        return self.test_rows(reference.values[:, None], current.values[:, None], alpha=alpha)

    def test_rows(self, reference: np.ndarray, current: np.ndarray, *,
                  alpha: float = 0.05) -> DriftResult:
        """Compare two samples of rows, (n, d) and (m, d), of numeric columns."""
        a = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
        b = np.asarray(current, dtype=np.float64).reshape(len(current), -1)
        if not len(a) or not len(b):
            return self._result(math.nan, 1.0, math.nan, math.nan, len(a), len(b))
        return self._rows(a, b, alpha)

    def _rows(self, reference: np.ndarray, current: np.ndarray, alpha: float) -> DriftResult:
        raise NotImplementedError


def n_effective(n: int, m: int) -> float:
    """Return the two-sample size ``n m / (n + m)``, which sets the variance of a difference."""
    return n * m / (n + m) if n and m else 0.0


@lru_cache(maxsize=4096)
def z_quantile(p: float) -> float:
    """Return the standard normal's ``p`` quantile (the stdlib's: scipy's costs 0.1 ms a call)."""
    return NormalDist().inv_cdf(p)


def normal_sf(z: float) -> float:
    """Return the standard normal's upper tail ``P(Z > z)``."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def normal_detectable(se: float, alpha: float, *, two_sided: bool = True) -> float:
    """Smallest true effect a z-test with standard error ``se`` finds with :data:`POWER`."""
    z = z_quantile(1 - alpha / 2) if two_sided else z_quantile(1 - alpha)
    return float((z + z_quantile(POWER)) * se)


@lru_cache(maxsize=4096)
def chi2_detectable(df: int, alpha: float) -> float:
    """Noncentrality at which a chi-square test on ``df`` degrees of freedom has :data:`POWER`.

    Cached: a root search over the noncentral chi-square costs more than the test itself.
    """
    from scipy.optimize import brentq
    from scipy.stats import chi2, ncx2

    crit = chi2.ppf(1 - alpha, df)
    return float(brentq(lambda lam: ncx2.sf(crit, df, lam) - POWER, 1e-9, 1e6))


def category_counts(reference: CategoricalSketch,
                    current: CategoricalSketch) -> tuple[list[str], np.ndarray, np.ndarray, float]:
    """Aligned counts over the reference's categories plus any new ones.

    Returns ``(labels, reference counts, current counts, share of current values in
    categories the reference never saw)``.
    """
    labels = sorted(set(reference.counts) | set(current.counts))
    ref = np.array([reference.counts.get(k, 0) for k in labels], dtype=np.float64)
    cur = np.array([current.counts.get(k, 0) for k in labels], dtype=np.float64)
    new = cur[ref == 0].sum() / cur.sum() if cur.sum() else 0.0
    return labels, ref, cur, float(new)


def binned(reference: Any, current: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return the counts of both sketches over common bins.

    Categories for categorical columns; for numeric ones, :data:`N_BINS` bins between the
    reference sample's quantiles (fewer when values repeat), open at both ends.
    """
    if isinstance(reference, CategoricalSketch):
        _, ref, cur, _ = category_counts(reference, current)
        return ref, cur
    inner = np.unique(reference.quantiles(np.linspace(0, 1, N_BINS + 1)[1:-1]))
    inner = inner[np.isfinite(inner)]
    ref = np.bincount(np.searchsorted(inner, reference.values, side="right"),
                      minlength=len(inner) + 1).astype(np.float64)
    cur = np.bincount(np.searchsorted(inner, current.values, side="right"),
                      minlength=len(inner) + 1).astype(np.float64)
    return ref, cur
