"""ONNX external data: the fingerprint covers it, and a location outside the model's folder
is refused before onnxruntime opens anything."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trustbench.errors import InputError
from trustbench.models.loading import load_model

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, external_data_helper, helper, numpy_helper  # noqa: E402

from trustbench.models._onnx_external import external_tensors  # noqa: E402
from trustbench.models.onnx import OnnxModel  # noqa: E402

RNG = np.random.default_rng(0)
W = RNG.normal(size=(5, 3)).astype(np.float32)


def _graph(w: np.ndarray) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["logits"])], "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 5])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 3])],
        initializer=[numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _save_external(folder: Path, w: np.ndarray = W, location: str = "weights.bin") -> Path:
    (folder / location).parent.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    onnx.save_model(_graph(w), str(path), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=location, size_threshold=0)
    return path


def _pointing_at(folder: Path, location: str) -> Path:
    """A model whose ``W`` says its data is at ``location`` (nothing is written there)."""
    model = _graph(W)
    w = model.graph.initializer[0]
    external_data_helper.set_external_data(w, location=location)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    onnx.save_model(model, str(path))
    return path


def test_external_data_loads_and_predicts(tmp_path: Path) -> None:
    path = _save_external(tmp_path / "m", location="data/weights.bin")
    model = load_model(path)
    assert isinstance(model, OnnxModel)
    assert model.external_data == [(tmp_path / "m" / "data" / "weights.bin").resolve()]
    x = RNG.normal(size=(4, 5)).astype(np.float32)
    z = x @ W
    np.testing.assert_array_equal(model.predict(x), z.argmax(1))


def test_fingerprint_changes_with_the_external_weights(tmp_path: Path) -> None:
    path = _save_external(tmp_path / "m")
    before = OnnxModel(path).fingerprint()
    assert before == OnnxModel(path).fingerprint()
    onnx_bytes = path.read_bytes()
    (tmp_path / "m" / "weights.bin").write_bytes((W * 2).tobytes())  # same size, new weights
    assert path.read_bytes() == onnx_bytes  # the .onnx file itself did not change
    assert OnnxModel(path).fingerprint() != before


def test_fingerprint_without_external_data_is_the_file_hash(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "inline.onnx"
    onnx.save_model(_graph(W), str(path))
    assert OnnxModel(path).external_data == []
    assert OnnxModel(path).fingerprint() == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "sub/../../secret.bin",
                                      "..\\\\secret.bin", "C:\\\\secret.bin", "link.bin",
                                      "linkdir/secret.bin"])
def test_locations_outside_the_folder_are_refused_before_onnxruntime(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, location: str) -> None:
    (tmp_path / "secret.bin").write_bytes(W.tobytes())
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "link.bin").symlink_to(tmp_path / "secret.bin")
    (folder / "linkdir").symlink_to(tmp_path, target_is_directory=True)
    path = _pointing_at(folder, location)

    def never(*args, **kwargs):
        raise AssertionError("onnxruntime must not open the model")

    monkeypatch.setattr(ort, "InferenceSession", never)
    with pytest.raises(InputError, match="outside the model's folder") as e:
        load_model(path)
    assert f"tensor 'W' keeps its data in {location!r}" in str(e.value)
    assert str(path) in str(e.value)


def test_missing_external_file_is_named(tmp_path: Path) -> None:
    path = _pointing_at(tmp_path / "m", "gone.bin")
    with pytest.raises(InputError, match=r"tensor 'W' keeps its data in 'gone\.bin', which is not a file"):
        load_model(path)


def test_every_tensor_that_can_be_external_is_found(tmp_path: Path) -> None:
    """Initializers, Constant attributes, subgraphs (If branches) and sparse initializers."""
    def ext(name: str, location: str) -> TensorProto:
        t = numpy_helper.from_array(np.ones(3, np.float32), name)
        external_data_helper.set_external_data(t, location=location)
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        return t

    branch = helper.make_graph([helper.make_node("Identity", ["S"], ["o"])], "branch", [],
                               [helper.make_tensor_value_info("o", TensorProto.FLOAT, [3])],
                               initializer=[ext("S", "sub.bin")])
    sparse = helper.make_sparse_tensor(ext("V", "values.bin"),
                                       numpy_helper.from_array(np.array([0, 1, 2]), "I"), [3])
    nodes = [helper.make_node("Constant", [], ["c"], value=ext("C", "const.bin")),
             helper.make_node("If", ["cond"], ["o"], then_branch=branch, else_branch=branch)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("o", TensorProto.FLOAT, [3])],
                              initializer=[ext("W", "w.bin")], sparse_initializer=[sparse])
    path = tmp_path / "many.onnx"
    onnx.save_model(helper.make_model(graph), str(path))
    found = external_tensors(path)
    assert sorted(found) == [("C", "const.bin"), ("S", "sub.bin"), ("S", "sub.bin"),
                             ("V", "values.bin"), ("W", "w.bin")]
    # onnx's own reader agrees on the tensors it walks (it skips sparse initializers)
    reference = onnx.load(str(path), load_external_data=False)
    theirs = sorted((t.name, {e.key: e.value for e in t.external_data}["location"])
                    for t in external_data_helper._get_all_tensors(reference)
                    if external_data_helper.uses_external_data(t))
    assert theirs == [f for f in sorted(found) if f[0] != "V"]


def test_truncated_model_is_an_input_error(tmp_path: Path) -> None:
    path = _save_external(tmp_path / "m")
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(InputError, match="not a readable ONNX file"):
        load_model(path)
