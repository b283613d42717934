from __future__ import annotations

import json

import numpy as np
import pytest

from trustbench.errors import InputError
from trustbench.monitor.estimate import ConfidenceCalibration, estimate_accuracy


def _window(rng: np.random.Generator, n: int, shift: float, sharpness: float):
    """Rows whose labels follow sigmoid(2x); the model says sigmoid(sharpness x)."""
    x = rng.normal(shift, 1.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)
    p = 1 / (1 + np.exp(-sharpness * x))
    return y, np.stack([1 - p, p], 1)


@pytest.mark.parametrize("sharpness", [2.0, 6.0])  # calibrated, and overconfident
def test_the_estimate_tracks_accuracy_under_covariate_shift(sharpness: float) -> None:
    rng = np.random.default_rng(0)
    y_ref, p_ref = _window(rng, 5000, 0.0, sharpness)
    cal = ConfidenceCalibration.fit(y_ref, p_ref, n_boot=100)
    errors, covered, raw_errors = [], 0, []
    for w in range(60):
        shift = 1.5 * w / 59  # the inputs move away from the decision boundary
        y, p = _window(rng, 500, shift, sharpness)
        est = estimate_accuracy(cal, p)
        realised = float((p.argmax(1) == y).mean())
        errors.append(abs(est.value - realised))
        raw_errors.append(abs(p.max(1).mean() - realised))
        covered += est.ci[0] <= realised <= est.ci[1]
        assert est.estimated and est.n == 500
    assert np.mean(errors) < 0.02
    assert covered / 60 >= 0.85  # a 95% interval for the realised accuracy
    if sharpness > 2:  # the raw confidence is overconfident; the calibrated one is not
        assert np.mean(raw_errors) > 2 * np.mean(errors)


def test_calibration_round_trips_and_refuses_bad_input() -> None:
    rng = np.random.default_rng(1)
    y, p = _window(rng, 300, 0.0, 2.0)
    cal = ConfidenceCalibration.fit(y, p, n_boot=5)
    back = ConfidenceCalibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert np.allclose(back(p), cal(p))
    assert estimate_accuracy(back, p).ci == estimate_accuracy(cal, p).ci
    with pytest.raises(InputError, match="300 labels for 10 rows"):
        ConfidenceCalibration.fit(y, p[:10])
    with pytest.raises(InputError, match="at least two classes"):
        estimate_accuracy(cal, np.ones((4, 1)))
    with pytest.raises(InputError, match="NaN"):
        estimate_accuracy(cal, np.full((4, 2), np.nan))
