"""Every registered drift test: false alarms near alpha, power on a planted shift, order-free.

Discovered from the registry, so a new test is checked the moment it is registered.
"""

from __future__ import annotations

import numpy as np
import pytest

from trustbench.monitor.drift import DRIFT_TESTS
from trustbench.monitor.sketch import CategoricalSketch, NumericSketch

ALPHA = 0.05
SEEDS = 200
WINDOW = 500
REFERENCE = 2000
# alpha plus three binomial standard errors over SEEDS runs
FALSE_ALARM_LIMIT = ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / SEEDS)
SHARES = np.array([0.5, 0.3, 0.2])
SHIFTED = np.array([0.4, 0.4, 0.2])  # a 10-point change of the first two shares


def _numeric(rng: np.random.Generator, n: int, shift: float = 0.0) -> NumericSketch:
    return NumericSketch.of(rng.normal(shift, 1.0, n), rng=rng)


def _categorical(rng: np.random.Generator, n: int, shares: np.ndarray = SHARES) -> CategoricalSketch:
    return CategoricalSketch.of(rng.choice(["a", "b", "c"], p=shares, size=n))


CASES = [(name, kind) for name, cls in sorted(DRIFT_TESTS.items()) for kind in cls.kinds]


def _rates(name: str, kind: str, *, planted: bool) -> tuple[float, list[float]]:
    cls = DRIFT_TESTS[name]
    rejections, effects = 0, []
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        test = cls(seed=seed, **cls.test_params())
        if kind == "numeric":
            ref, cur = _numeric(rng, REFERENCE), _numeric(rng, WINDOW, 0.5 if planted else 0.0)
        else:
            ref = _categorical(rng, REFERENCE)
            cur = _categorical(rng, WINDOW, SHIFTED if planted else SHARES)
        r = test.test(ref, cur, alpha=ALPHA)
        rejections += r.p_value < ALPHA
        effects.append(r.effect)
    return rejections / SEEDS, effects


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kind"), CASES)
def test_false_alarm_rate_on_identical_distributions_is_near_alpha(name: str, kind: str) -> None:
    rate, _ = _rates(name, kind, planted=False)
    assert rate <= FALSE_ALARM_LIMIT, f"{name} on {kind}: {rate:.1%} false alarms"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kind"), CASES)
def test_a_planted_shift_is_found(name: str, kind: str) -> None:
    # half a standard deviation, or a 10-point change of two category shares, at 500 rows
    power, effects = _rates(name, kind, planted=True)
    assert power >= 0.9, f"{name} on {kind}: power {power:.1%}"
    if kind == "numeric":  # and the default minimum effect lets the decision fire on it
        threshold = DRIFT_TESTS[name]().threshold
        assert np.mean(np.asarray(effects) >= threshold) >= 0.9, (name, np.median(effects))


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_the_result_does_not_depend_on_row_order(name: str, kind: str) -> None:
    rng = np.random.default_rng(7)
    cls = DRIFT_TESTS[name]
    if kind == "numeric":
        ref_values, cur_values = rng.normal(size=REFERENCE), rng.normal(0.2, 1, WINDOW)
        sketch = lambda v, seed: NumericSketch.of(v, rng=np.random.default_rng(seed))  # noqa: E731
    else:
        ref_values = rng.choice(["a", "b", "c"], p=SHARES, size=REFERENCE)
        cur_values = rng.choice(["a", "b", "c"], p=SHIFTED, size=WINDOW)
        sketch = lambda v, seed: CategoricalSketch.of(v)  # noqa: E731
    results = []
    for seed in (0, 1):  # another row order, and other random keys for the sample
        order_r, order_c = rng.permutation(REFERENCE), rng.permutation(WINDOW)
        ref, cur = sketch(ref_values[order_r], seed), sketch(cur_values[order_c], seed + 10)
        results.append(cls(seed=3, **cls.test_params()).test(ref, cur, alpha=ALPHA))
    assert results[0].to_dict() == results[1].to_dict()


@pytest.mark.parametrize("name", sorted(DRIFT_TESTS))
def test_every_test_documents_its_reference_and_effect(name: str) -> None:
    cls = DRIFT_TESTS[name]
    module = __import__(cls.__module__, fromlist=["_"])
    assert "References" in (module.__doc__ or ""), f"{cls.__module__} cites no reference"
    assert cls.effect_name and cls.default_min_effect > 0 and cls.kinds
    assert cls.name == name
