"""Calibration metrics and temperature scaling against hand-computed and analytic answers."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss, log_loss

from trustbench.errors import InputError
from trustbench.metrics.calibration import (
    brier_score,
    expected_calibration_error,
    expected_calibration_error_ci,
    maximum_calibration_error,
    negative_log_likelihood,
    reliability_bins,
)
from trustbench.metrics.temperature import TemperatureScaling, log_softmax

# Four binary points, class 0 always predicted; with 5 equal-width bins:
# (0.4, 0.6]: 0.55 right; (0.6, 0.8]: 0.65 wrong, 0.75 right; (0.8, 1]: 0.95 wrong.
HAND_P = np.array([[0.55, 0.45], [0.65, 0.35], [0.75, 0.25], [0.95, 0.05]])
HAND_Y = np.array([0, 1, 0, 1])


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _calibrated(n: int, *, n_classes: int = 5, scale: float = 2.0,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels drawn from softmax(logits): calibrated by construction."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, n_classes)) * scale  # (N, C)
    cdf = _softmax(z).cumsum(1)
    y = np.minimum((rng.random((n, 1)) > cdf).sum(1), n_classes - 1)  # inverse-cdf draw
    return z, y


def test_hand_computed_ece_mce_brier_nll() -> None:
    # ECE = (1 * 0.45 + 2 * |0.5 - 0.7| + 1 * 0.95) / 4
    assert expected_calibration_error(HAND_Y, HAND_P, n_bins=5) == pytest.approx(0.45)
    assert maximum_calibration_error(HAND_Y, HAND_P, n_bins=5) == pytest.approx(0.95)
    # 2 * (0.45² + 0.65² + 0.25² + 0.95²) / 4
    assert brier_score(HAND_Y, HAND_P) == pytest.approx(0.795)
    nll = -np.mean(np.log([0.55, 0.35, 0.75, 0.05]))
    assert negative_log_likelihood(HAND_Y, HAND_P) == pytest.approx(nll)


def test_brier_and_nll_match_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    p = _softmax(rng.normal(size=(200, 4)) * 2)
    y = rng.integers(0, 4, size=200)
    assert negative_log_likelihood(y, p) == pytest.approx(log_loss(y, p, labels=range(4)))
    # binary: scikit-learn's Brier is the squared error of p(class 1), half of ours
    assert brier_score(HAND_Y, HAND_P) == pytest.approx(2 * brier_score_loss(HAND_Y, HAND_P[:, 1]))
    if "scale_by_half" in inspect.signature(brier_score_loss).parameters:
        assert brier_score(y, p) == pytest.approx(
            brier_score_loss(y, p, labels=range(4), scale_by_half=False))


def test_one_hot_correct_is_perfect() -> None:
    y = np.array([0, 2, 1, 2])
    p = np.eye(3)[y]
    for strategy in ("uniform", "adaptive"):
        assert expected_calibration_error(y, p, strategy=strategy) == 0.0
        assert maximum_calibration_error(y, p, strategy=strategy) == 0.0
    assert brier_score(y, p) == 0.0
    assert negative_log_likelihood(y, p) == pytest.approx(0.0, abs=1e-12)


def test_known_overconfident_case() -> None:
    # always 90% confident, right on 60 of 100 points: ECE = MCE = 0.3 with any binning
    p = np.tile([0.9, 0.1], (100, 1))
    y = np.r_[np.zeros(60, int), np.ones(40, int)]
    for strategy in ("uniform", "adaptive"):
        assert expected_calibration_error(y, p, strategy=strategy) == pytest.approx(0.3)
        assert maximum_calibration_error(y, p, strategy=strategy) == pytest.approx(0.3)


def test_calibrated_data_has_ece_near_zero() -> None:
    z, y = _calibrated(20_000)
    p = _softmax(z)
    for strategy in ("uniform", "adaptive"):
        assert expected_calibration_error(y, p, strategy=strategy) < 0.015
    assert expected_calibration_error(y, _softmax(3 * z)) > 0.1  # 3x overconfident


def test_nll_clips_zero_probabilities() -> None:
    p = np.array([[1.0, 0.0]])
    assert negative_log_likelihood(np.array([1]), p) == pytest.approx(-np.log(1e-12))


def test_bootstrap_ci_matches_a_loop_over_the_same_resamples() -> None:
    z, y = _calibrated(300, seed=3)
    p = _softmax(1.5 * z)
    n_boot = 40
    rows = np.random.default_rng(7).integers(0, len(y), size=(n_boot, len(y)))
    for strategy in ("uniform", "adaptive"):
        loop = []
        for r in rows:
            if strategy == "uniform":  # the bins are those of the full sample
                loop.append(expected_calibration_error(y[r], p[r]))
            else:
                loop.append(expected_calibration_error(y[r], p[r], strategy="adaptive"))
        want = tuple(np.quantile(loop, [0.025, 0.975]))
        got = expected_calibration_error_ci(y, p, strategy=strategy, n_boot=n_boot, seed=7)
        assert got == pytest.approx(want, abs=1e-12)
    lo, hi = expected_calibration_error_ci(y, p, seed=0)
    assert lo <= expected_calibration_error(y, p) <= hi
    assert expected_calibration_error_ci(y, p, seed=0) == (lo, hi)  # seeded


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(2, 6), st.integers(0, 2**16),
       st.sampled_from(["uniform", "adaptive"]))
def test_metric_ranges(n: int, n_classes: int, seed: int, strategy: str) -> None:
    rng = np.random.default_rng(seed)
    p = _softmax(rng.normal(size=(n, n_classes)) * 3)
    y = rng.integers(0, n_classes, size=n)
    ece = expected_calibration_error(y, p, n_bins=7, strategy=strategy)  # type: ignore[arg-type]
    mce = maximum_calibration_error(y, p, n_bins=7, strategy=strategy)  # type: ignore[arg-type]
    assert 0.0 <= ece <= mce + 1e-12 <= 1.0 + 1e-12
    assert 0.0 <= brier_score(y, p) <= 2.0
    assert reliability_bins(y, p, n_bins=7).count.sum() == n


@pytest.mark.parametrize(("scores", "y", "match"), [
    (np.ones(4), np.zeros(4, int), "scores must be"),
    (np.ones((4, 2)) / 2, np.zeros(3, int), "y_true must be"),
    (np.ones((4, 2)) / 2, np.array([0, 1, 2, 0]), "class indices"),
    (np.ones((4, 2)) / 2, np.array([0.0, 1.0, 1.0, 0.0]), "class indices"),
])
def test_bad_input_names_the_parameter(scores: np.ndarray, y: np.ndarray, match: str) -> None:
    with pytest.raises(InputError, match=match):
        expected_calibration_error(y, scores)
    with pytest.raises(InputError, match=match):
        brier_score(y, scores)


@pytest.mark.parametrize("fn", [expected_calibration_error, maximum_calibration_error,
                                brier_score, negative_log_likelihood,
                                expected_calibration_error_ci])
def test_old_argument_order_still_works_and_warns(fn) -> None:
    want = fn(HAND_Y, HAND_P)
    with pytest.warns(DeprecationWarning, match=rf"{fn.__name__}\(y_true, scores\)") as w:
        got = fn(HAND_P, HAND_Y)
    assert got == want
    assert w[0].filename == __file__  # points at the caller, not into trustbench


def test_old_argument_order_of_reliability_bins() -> None:
    want = reliability_bins(HAND_Y, HAND_P, n_bins=5)
    with pytest.warns(DeprecationWarning, match="pass y_true first"):
        got = reliability_bins(HAND_P, HAND_Y, n_bins=5)
    np.testing.assert_array_equal(got.count, want.count)
    np.testing.assert_array_equal(got.accuracy, want.accuracy)


def test_ci_old_n_samples_keyword_still_works_and_warns() -> None:
    want = expected_calibration_error_ci(HAND_Y, HAND_P, n_boot=30, seed=1)
    with pytest.warns(DeprecationWarning, match="'n_samples' is deprecated.*use 'n_boot'") as w:
        got = expected_calibration_error_ci(HAND_Y, HAND_P, n_samples=30, seed=1)
    assert got == want and w[0].filename == __file__
    assert got != expected_calibration_error_ci(HAND_Y, HAND_P, n_boot=31, seed=1)
    with pytest.raises(TypeError, match="both 'n_samples'"):
        expected_calibration_error_ci(HAND_Y, HAND_P, n_samples=30, n_boot=30)
    with pytest.raises(InputError, match="n_boot"):
        expected_calibration_error_ci(HAND_Y, HAND_P, n_boot=0)


def test_temperature_recovers_a_planted_overconfidence() -> None:
    z, y = _calibrated(4000, seed=0)
    scores = _softmax(3 * z)  # (N, C) probabilities, 3x overconfident
    fit, held = slice(0, 2000), slice(2000, None)
    ts = TemperatureScaling().fit(scores[fit], y[fit])
    assert ts.temperature_ == pytest.approx(3.0, rel=0.1)
    assert ts.nll_after_ < ts.nll_before_
    after = ts.transform(scores[held])
    oracle = expected_calibration_error(y[held], _softmax(z[held]))  # sampling noise alone
    assert expected_calibration_error(y[held], after) < oracle + 0.01
    assert expected_calibration_error(y[held], scores[held]) > 0.1
    np.testing.assert_array_equal(after.argmax(1), scores[held].argmax(1))  # same predictions
    np.testing.assert_allclose(after.sum(1), 1.0)
    # logits give the same temperature: log-probabilities differ from them by a row constant
    t_logits = TemperatureScaling(inputs="logits").fit(3 * z[fit], y[fit]).temperature_
    assert t_logits == pytest.approx(ts.temperature_, rel=1e-3)


@pytest.mark.parametrize("factor", [1.0, 0.5])
def test_temperature_of_calibrated_and_underconfident_models(factor: float) -> None:
    z, y = _calibrated(3000, seed=6)
    ts = TemperatureScaling(inputs="logits").fit(factor * z, y)
    assert ts.temperature_ == pytest.approx(factor, rel=0.1)


def test_log_softmax_by_hand_and_for_huge_logits() -> None:
    z = np.array([[0.0, np.log(3.0)], [1000.0, 1000.0]])
    expected = np.log([[0.25, 0.75], [0.5, 0.5]])
    np.testing.assert_allclose(log_softmax(z), expected, rtol=1e-12)


def test_temperature_errors() -> None:
    with pytest.raises(InputError, match="not fitted"):
        TemperatureScaling().transform(HAND_P)
    with pytest.raises(InputError, match="bounds"):
        TemperatureScaling(bounds=(2.0, 1.0)).fit(HAND_P, HAND_Y)
    with pytest.raises(InputError, match="inputs"):
        TemperatureScaling(inputs="odds").fit(HAND_P, HAND_Y)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="y_true"):
        TemperatureScaling().fit(HAND_P, HAND_Y[:2])


def test_docstring_examples() -> None:
    import doctest

    from trustbench.metrics import calibration, temperature

    for module in (calibration, temperature):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__
