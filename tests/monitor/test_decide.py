from __future__ import annotations

import numpy as np
import pytest

from trustbench.errors import InputError
from trustbench.monitor.decide import benjamini_hochberg, check_drift, window_alpha
from trustbench.monitor.drift import DRIFT_TESTS
from trustbench.monitor.sketch import CategoricalSketch, NumericSketch


def test_benjamini_hochberg_matches_the_step_up_rule() -> None:
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
    assert benjamini_hochberg(p, 0.05).tolist() == [True, True] + [False] * 8
    assert benjamini_hochberg([0.01, 0.02, 0.03], 0.05).all()  # all pass the step-up
    assert benjamini_hochberg([], 0.05).tolist() == []


def test_alpha_spending_sums_to_alpha() -> None:
    total = sum(window_alpha(0.05, t) for t in range(1, 200_000))
    assert total == pytest.approx(0.05, rel=1e-4) and total < 0.05
    assert window_alpha(0.05, None) == 0.05
    with pytest.raises(ValueError):
        window_alpha(0.05, 0)


def _columns(rng: np.random.Generator, n: int, shift: float = 0.0) -> dict:
    return {"a": NumericSketch.of(rng.normal(shift, 1, n), rng=rng),
            "b": NumericSketch.of(rng.normal(0, 1, n), rng=rng),
            "c": CategoricalSketch.of(rng.choice(["x", "y", "z"], p=[0.5, 0.3, 0.2], size=n))}


def test_a_trivial_shift_on_many_rows_is_significant_but_not_an_alarm() -> None:
    rng = np.random.default_rng(0)
    ref = _columns(rng, 20_000)
    cur = _columns(rng, 20_000, shift=0.05)  # a twentieth of a standard deviation
    drift = check_drift(ref, cur)
    a = next(c for c in drift.columns if c.column == "a")
    assert a.significant and not a.alarm and a.result.effect < a.result.min_effect
    # the same shift is an alarm for a user who cares about it
    strict = check_drift(ref, cur, min_effects={"a": 0.01})
    assert [c.column for c in strict.alarms] == ["a"]


def test_too_few_rows_are_not_tested() -> None:
    rng = np.random.default_rng(1)
    drift = check_drift(_columns(rng, 1000), _columns(rng, 8, shift=3.0))
    assert not drift.alarms and all(c.result is None for c in drift.columns)
    assert "fewer than 30" in drift.columns[0].reason


def test_bad_windows_are_named() -> None:
    rng = np.random.default_rng(2)
    ref = _columns(rng, 100)
    with pytest.raises(InputError, match="no column 'c'"):
        check_drift(ref, {k: v for k, v in _columns(rng, 100).items() if k != "c"})
    cur = _columns(rng, 100)
    cur["c"] = NumericSketch.of(rng.normal(size=100), rng=rng)
    with pytest.raises(InputError, match="'c' is numeric in the window but categorical"):
        check_drift(ref, cur)
    with pytest.raises(InputError, match="unknown drift test 'nope'"):
        check_drift(ref, _columns(rng, 100), tests={"a": "nope"})
    with pytest.raises(InputError, match="alpha"):
        check_drift(ref, _columns(rng, 100), alpha=1.5)


def _stream_alarms(seed: int, windows: range, shift_at: int | None) -> tuple[list[int], list[int]]:
    """Windows (1-based) that alarmed in one seeded stream of 500-row windows.

    Returns the alarms of the pure sequential rule (effect gate off) and of the default
    decision (the tests' default minimum effects), from the same checks.
    """
    rng = np.random.default_rng(seed)
    ref = _columns(rng, 2000)
    off = dict.fromkeys(ref, 0.0)
    pure, default = [], []
    for t in windows:
        shifted = shift_at is not None and t >= shift_at
        drift = check_drift(ref, _columns(rng, 500, 0.5 if shifted else 0.0), window=t,
                            seed=seed, min_effects=off)
        if drift.alarms:
            pure.append(t)
        if any(c.significant and c.result.effect >= DRIFT_TESTS[c.test]().threshold
               for c in drift.columns):
            default.append(t)
    return pure, default


@pytest.mark.slow
def test_a_stream_from_the_reference_rarely_ever_alarms() -> None:
    # 200 streams of 100 windows drawn from the reference distribution
    streams = [_stream_alarms(s, range(1, 101), None) for s in range(200)]
    default = sum(bool(d) for _, d in streams) / len(streams)
    assert default <= 0.05, f"{default:.1%} of streams alarmed"
    # with the effect gate off, the alpha-spending rule alone bounds the rate by alpha
    # (the bound is nearly tight, so allow three binomial standard errors over 200 streams)
    pure = sum(bool(p) for p, _ in streams) / len(streams)
    assert pure <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 200), f"{pure:.1%} of streams alarmed"


@pytest.mark.slow
def test_a_shift_is_alarmed_within_three_windows() -> None:
    # a half-standard-deviation shift of column a from window 50 on, alarmed by window 52
    # (windows 1-49 come from the reference; the test above covers their false alarms)
    found = sum(bool(_stream_alarms(1000 + s, range(50, 53), 50)[1]) for s in range(200))
    assert found / 200 >= 0.9, f"{found} of 200 streams"
