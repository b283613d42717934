"""CallableModel: n_classes from check_input, output-shape checks, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trustbench.errors import InputError
from trustbench.models import CallableModel, as_model


def _softmax_rule(x: np.ndarray) -> np.ndarray:
    """Analytic 4-class model: class k scores the k-th feature."""
    z = x.reshape(len(x), -1)[:, :4] * 3
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_learns_n_classes_from_check_input() -> None:
    model = CallableModel(_softmax_rule)
    with pytest.raises(RuntimeError, match="check_input"):
        _ = model.n_classes
    model.check_input(np.zeros((10, 6), np.float32))
    assert model.n_classes == 4


def test_predictions_are_the_functions_own() -> None:
    x = np.random.default_rng(0).random((11, 6)).astype(np.float32)
    model = as_model(_softmax_rule)
    assert isinstance(model, CallableModel)
    np.testing.assert_allclose(model.predict_proba(x), _softmax_rule(x), rtol=1e-6)
    np.testing.assert_array_equal(model.predict(x), x[:, :4].argmax(1))
    assert not model.capabilities.differentiable


def test_calls_are_batched_and_get_float32() -> None:
    seen: list[tuple[int, np.dtype]] = []

    def fn(x: np.ndarray) -> np.ndarray:
        seen.append((len(x), x.dtype))
        return _softmax_rule(x)

    x = np.random.default_rng(1).random((10, 4))  # float64 in: the model sees float32
    p = CallableModel(fn, batch_size=4).predict_proba(x)
    assert [n for n, _ in seen] == [4, 4, 2]
    assert all(d == np.float32 for _, d in seen)
    np.testing.assert_allclose(p, _softmax_rule(x.astype(np.float32)), rtol=1e-6)


@pytest.mark.parametrize(
    ("fn", "shape"),
    [
        (lambda x: np.full(len(x), 0.5), r"\(2,\)"),  # one score per row
        (lambda x: np.full((len(x) + 1, 2), 0.5), r"\(3, 2\)"),  # wrong row count
        (lambda x: np.full((len(x), 2, 1), 0.5), r"\(2, 2, 1\)"),  # 3-d
    ],
)
def test_wrong_output_shapes_are_input_errors(fn, shape: str) -> None:
    model = CallableModel(fn)
    with pytest.raises(InputError, match=shape + r" for 2 inputs"):
        model.check_input(np.zeros((5, 3), np.float32))
    with pytest.raises(InputError, match=r"\(n_inputs, n_classes\)"):
        model.scores(torch.zeros(4, 3))


def test_declared_n_classes_must_match() -> None:
    model = CallableModel(_softmax_rule, n_classes=3)
    with pytest.raises(InputError, match="4 class scores but n_classes=3"):
        model.check_input(np.zeros((2, 4), np.float32))


def test_exception_in_the_function_becomes_input_error() -> None:
    def fn(x: np.ndarray) -> np.ndarray:
        raise ValueError("expected 8 features\nsecond line")

    with pytest.raises(InputError, match=r"shape \(3,\).*ValueError: expected 8 features") as e:
        CallableModel(fn).check_input(np.zeros((2, 3), np.float32))
    assert "second line" not in str(e.value)


def test_rejects_non_callable_and_fingerprints_by_name() -> None:
    with pytest.raises(TypeError, match="callable"):
        CallableModel(42)  # type: ignore[arg-type]
    fp = CallableModel(_softmax_rule).fingerprint()
    assert fp == CallableModel(_softmax_rule).fingerprint()
    assert fp.endswith("_softmax_rule")
    assert fp != CallableModel(test_rejects_non_callable_and_fingerprints_by_name).fingerprint()


def test_as_model_refuses_what_is_not_a_model() -> None:
    with pytest.raises(TypeError, match="cannot use a int as a model"):
        as_model(42)


@pytest.mark.parametrize(("fn", "said"), [
    (lambda x: {"probabilities": _softmax_rule(x)}, "returned a dict with keys 'probabilities'"),
    (lambda x: (_softmax_rule(x), x.argmax(1)), "returned a tuple of 2 (ndarray (2, 3), ndarray (2,))"),
    (lambda x: "yes", "returned a str"),
])
def test_outputs_that_are_not_an_array_are_described(fn, said: str) -> None:
    with pytest.raises(InputError) as e:
        CallableModel(fn).check_input(np.zeros((5, 3), np.float32))
    text = str(e.value)
    assert said in text and "out[0] or out['probabilities']" in text
    assert "cannot take inputs" not in text


def test_function_that_takes_one_row_only() -> None:
    def one_row(x: np.ndarray) -> np.ndarray:
        (row,) = x  # ValueError for a batch of two
        return _softmax_rule(row[None])

    with pytest.raises(InputError, match="seems to accept only batch size 1") as e:
        CallableModel(one_row).check_input(np.zeros((5, 3), np.float32))
    assert "on 2 examples it raised ValueError: too many values to unpack" in str(e.value)
