"""OnnxModel: a hand-built ONNX graph gives numpy's answer, softmaxed if it outputs logits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trustbench.errors import InputError
from trustbench.models.loading import load_model

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from trustbench.models.onnx import OnnxModel  # noqa: E402

RNG = np.random.default_rng(0)
W = RNG.normal(size=(5, 3)).astype(np.float32)
B = RNG.normal(size=(3,)).astype(np.float32)


def _write_linear_onnx(path: Path, *, softmax: bool, extra_int_output: bool = False) -> Path:
    nodes = [helper.make_node("MatMul", ["x", "W"], ["xw"]),
             helper.make_node("Add", ["xw", "B"], ["logits"])]
    out = "logits"
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=1))
        out = "probs"
    outputs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, [None, 3])]
    if extra_int_output:  # like skl2onnx: a label output first, then the scores
        nodes.append(helper.make_node("ArgMax", [out], ["label"], axis=1, keepdims=0))
        outputs.insert(0, helper.make_tensor_value_info("label", TensorProto.INT64, [None]))
    graph = helper.make_graph(
        nodes, "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 5])],
        outputs,
        initializer=[numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _numpy_probs(x: np.ndarray) -> np.ndarray:
    z = x.astype(np.float64) @ W + B
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.mark.parametrize("softmax", [True, False], ids=["softmax-output", "logits-output"])
@pytest.mark.parametrize("via", ["OnnxModel", "load_model"])
def test_matches_numpy(tmp_path: Path, softmax: bool, via: str) -> None:
    path = _write_linear_onnx(tmp_path / "linear.onnx", softmax=softmax)
    model = OnnxModel(path, batch_size=4) if via == "OnnxModel" else load_model(path)
    assert isinstance(model, OnnxModel)
    x = (RNG.normal(size=(10, 5)) * 2).astype(np.float32)
    model.check_input(x)
    assert model.n_classes == 3
    p = model.predict_proba(x)
    assert p.shape == (10, 3)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(p, _numpy_probs(x), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(model.predict(x), (x @ W + B).argmax(1))
    assert model._needs_softmax is (not softmax)


def test_picks_the_float_score_output(tmp_path: Path) -> None:
    path = _write_linear_onnx(tmp_path / "two_outputs.onnx", softmax=True, extra_int_output=True)
    model = OnnxModel(path)
    x = RNG.normal(size=(6, 5)).astype(np.float32)
    np.testing.assert_allclose(model.predict_proba(x), _numpy_probs(x), rtol=1e-4, atol=1e-6)
    assert model._output_index == 1


def test_fingerprint_is_the_file_hash(tmp_path: Path) -> None:
    a = OnnxModel(_write_linear_onnx(tmp_path / "a.onnx", softmax=True))
    b = OnnxModel(_write_linear_onnx(tmp_path / "b.onnx", softmax=True))
    c = OnnxModel(_write_linear_onnx(tmp_path / "c.onnx", softmax=False))
    assert a.fingerprint().startswith("sha256:")
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


@pytest.mark.parametrize(("content", "message"), [
    (b"this is not a protobuf", r"not a readable ONNX file \(malformed protobuf at byte 1\)"),
    (b"\x08\x01", "onnxruntime cannot load it"),  # valid protobuf (ir_version 1), no graph
])
def test_corrupt_onnx_file_is_an_input_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_model(path)


def test_wrong_input_width_is_an_input_error(tmp_path: Path) -> None:
    model = OnnxModel(_write_linear_onnx(tmp_path / "linear.onnx", softmax=True))
    with pytest.raises(InputError, match=r"cannot take inputs of shape \(4,\)"):
        model.check_input(np.zeros((3, 4), np.float32))
