"""SklearnModel: probabilities round-trip, label mapping, and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from trustbench.data import Dataset, Schema
from trustbench.errors import InputError
from trustbench.models import SklearnModel, as_model


def _blobs(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centers = np.array([[0.0, 0.0, 5.0], [4.0, 0.0, -5.0], [0.0, 4.0, 0.0]])
    x = centers[y] + rng.normal(size=(n, 3))
    return x.astype(np.float32), y


@pytest.mark.parametrize("kind", ["logreg", "pipeline"])
def test_predict_proba_is_the_estimators_own(kind: str) -> None:
    x, y = _blobs()
    x[:, 2] *= 100  # unscaled feature: the pipeline's scaler matters
    est = (LogisticRegression(max_iter=500) if kind == "logreg"
           else Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))]))
    est.fit(x, y)
    model = SklearnModel(est, batch_size=7)
    p = model.predict_proba(x)
    assert p.dtype == np.float32 and p.shape == (60, 3)
    np.testing.assert_allclose(p, est.predict_proba(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.predict(x), est.predict(x))
    assert model.n_classes == 3
    np.testing.assert_array_equal(model.classes, [0, 1, 2])
    assert not model.capabilities.differentiable
    assert model.capabilities.outputs == "probabilities"
    with pytest.raises(NotImplementedError, match="black-box"):
        model.logits(torch.from_numpy(x))


def test_as_model_wraps_estimators() -> None:
    x, y = _blobs()
    est = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    model = as_model(est)
    assert isinstance(model, SklearnModel)
    assert model.description == "SklearnModel(Pipeline)"


def test_image_shaped_inputs_are_flattened() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((30, 1, 2, 2)).astype(np.float32)
    y = (x.reshape(30, -1).sum(1) > 2).astype(int)
    est = LogisticRegression().fit(x.reshape(30, -1), y)
    p = SklearnModel(est).predict_proba(x)
    np.testing.assert_allclose(p, est.predict_proba(x.reshape(30, -1)), rtol=1e-5, atol=1e-6)


def test_string_class_labels_map_through_label_indices() -> None:
    x, yi = _blobs()
    names = np.array(["owl", "cat", "dog"])  # not in sorted order: mapping must use classes_
    y = names[yi]
    est = LogisticRegression(max_iter=500).fit(x, y)
    model = SklearnModel(est)
    np.testing.assert_array_equal(model.classes, ["cat", "dog", "owl"])
    ds = Dataset(x, y, Schema.from_data(x))
    idx = ds.label_indices(model.classes, model.n_classes)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(model.classes[idx], y)
    # and the indices line up with the probability columns
    accuracy = float((model.predict(x) == idx).mean())
    assert accuracy == pytest.approx(float((est.predict(x) == y).mean()))
    assert accuracy > 0.9


def test_labels_unknown_to_the_estimator_are_an_input_error() -> None:
    x, yi = _blobs()
    est = LogisticRegression(max_iter=500).fit(x, np.array(["a", "b", "c"])[yi])
    model = SklearnModel(est)
    y = np.array(["a", "b", "zebra"])[yi]
    with pytest.raises(InputError, match=r"zebra.*not among the model's classes"):
        Dataset(x, y, Schema.from_data(x)).label_indices(model.classes, model.n_classes)


def test_to_input_converts_before_the_estimator() -> None:
    x, y = _blobs()
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    est = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, y)
    seen: list[object] = []

    def to_input(z: np.ndarray) -> pd.DataFrame:
        seen.append(type(z))
        return pd.DataFrame(z, columns=["a", "b", "c"])

    p = SklearnModel(est, to_input=to_input).predict_proba(x)
    assert seen == [np.ndarray]
    np.testing.assert_allclose(p, est.predict_proba(frame), rtol=1e-5, atol=1e-6)


def test_estimator_without_predict_proba_is_refused() -> None:
    x, y = _blobs()
    with pytest.raises(InputError, match=r"LinearSVC has no predict_proba.*CalibratedClassifierCV"):
        SklearnModel(LinearSVC().fit(x, y))


@pytest.mark.parametrize("est", [LogisticRegression(), make_pipeline(StandardScaler(),
                                                                     LogisticRegression())])
def test_unfitted_estimator_is_refused(est) -> None:
    with pytest.raises(InputError, match="not fitted"):
        SklearnModel(est)


def test_fingerprint_is_stable_and_sees_refits() -> None:
    x, y = _blobs()
    est = LogisticRegression().fit(x, y)
    fp = SklearnModel(est).fingerprint()
    assert fp.startswith("joblib:")
    assert SklearnModel(est).fingerprint() == fp
    assert SklearnModel(LogisticRegression().fit(x, y)).fingerprint() == fp
    assert SklearnModel(LogisticRegression(C=0.01).fit(x, y)).fingerprint() != fp


def test_a_read_only_array_is_scored_without_a_warning() -> None:
    # memory maps and Arrow's buffers come read-only; torch warns when it shares one
    import warnings

    x, y = _blobs()
    model = as_model(LogisticRegression().fit(x, y))
    ro = x.copy()
    ro.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, pred = model.predict_proba(ro), model.predict(ro)
    assert np.allclose(p, model.predict_proba(x)) and (pred == p.argmax(1)).all()
    assert not ro.flags.writeable
