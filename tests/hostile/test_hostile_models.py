"""Hostile models: architecture references, pickled code, ONNX external data and configs
that grant themselves trust. Every path that builds an architecture or loads a model file
refuses with exit 2 and a short error, and the payload's canary never appears."""

from __future__ import annotations

import importlib
import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hostile_harness import clean_error, cli

from trustbench.demo import DemoCNN
from trustbench.errors import InputError, UnsafeModelError
from trustbench.harden.run import build_module
from trustbench.models.loading import import_object, load_model

FAST = ["--n", "20", "--attacks", "fgsm", "--no-calibration", "--no-ood", "--no-subgroups",
        "--no-validity", "--shifts", "none", "--quiet"]

# (reference, constructor kwargs): each would create ./PWNED, delete ./victim, or call a
# non-module class, if the reference were imported and called as the old loader did.
PAYLOADS: list[tuple[str, dict[str, Any]]] = [
    ("os:system", {"command": "touch PWNED"}),
    ("subprocess:call", {"args": ["touch", "PWNED"]}),
    ("builtins:exec", {"source": "open('PWNED', 'w').close()"}),
    ("builtins:eval", {"source": "open('PWNED', 'w').close()"}),
    ("pathlib:Path.touch", {"self": "PWNED"}),
    ("shutil:rmtree", {"path": "victim"}),
    ("collections:OrderedDict", {"PWNED": 1}),
    ("trustbench.demo:torch.nn.Module.__subclasses__", {}),
    ("usermod:Gadget", {"name": "PWNED"}),     # a class in the user's folder, not an nn.Module
    ("usermod:make_net", {"name": "PWNED"}),   # a function there
]
IDS = [p[0] for p in PAYLOADS]

#: In the working folder: ``usermod`` is harmless to import, ``evilmod`` writes on import.
USERMOD = textwrap.dedent("""
    from torch import nn


    class Gadget:
        def __init__(self, name="PWNED"):
            open(name, "w").close()


    def make_net(name="PWNED"):
        open(name, "w").close()
        return nn.Linear(64, 10)


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

        def forward(self, x):
            return self.body(x)
""")
EVILMOD = "open('PWNED', 'w').close()\n" + USERMOD


@pytest.fixture(autouse=True)
def user_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``usermod.py``, ``evilmod.py`` and a ``victim/`` folder in the working folder."""
    (tmp_path / "usermod.py").write_text(USERMOD)
    (tmp_path / "evilmod.py").write_text(EVILMOD)
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "keep.txt").write_text("keep")
    monkeypatch.setattr(sys, "path", list(sys.path))
    importlib.invalidate_caches()
    yield tmp_path
    for name in ("usermod", "evilmod"):
        sys.modules.pop(name, None)


def _untouched(canary: Path) -> None:
    assert not canary.exists()
    assert (canary.parent / "victim" / "keep.txt").exists()
    assert "evilmod" not in sys.modules


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    """A valid DemoCNN(width=4) state_dict, as in a downloaded model folder."""
    from safetensors.torch import save_file

    folder = tmp_path / "downloaded"
    folder.mkdir()
    torch.manual_seed(0)
    path = folder / "model.safetensors"
    save_file(DemoCNN(width=4).state_dict(), str(path))
    return path


def _model_json(weights: Path, arch: str, kwargs: dict[str, Any]) -> Path:
    path = weights.with_suffix(".json")
    path.write_text(json.dumps({"weights": weights.name, "arch": arch, "arch_kwargs": kwargs}))
    return path


def _config(tmp_path: Path, weights: Path, arch: str, kwargs: dict[str, Any], **model: Any) -> Path:
    path = tmp_path / "scan.yaml"
    section = {"path": str(weights), "arch": arch, "arch_kwargs": kwargs} | model
    path.write_text(json.dumps({"model": section, "data": {"source": "digits"}}))
    return path


def test_the_payloads_really_run(tmp_path: Path, canary: Path) -> None:
    """Guards the tests below: calling these references as the old loader did does harm."""
    for ref in ("os:system", "subprocess:call", "usermod:Gadget", "usermod:make_net"):
        canary.unlink(missing_ok=True)
        import_object(ref)(**dict(PAYLOADS)[ref])
        assert canary.exists(), ref
    import_object("shutil:rmtree")(path="victim")
    assert not (tmp_path / "victim").exists()
    importlib.import_module("evilmod")
    assert "evilmod" in sys.modules


# -- references the user typed: resolved, but only an nn.Module class is ever called --------


@pytest.mark.parametrize(("ref", "kwargs"), PAYLOADS, ids=IDS)
def test_scan_arch(weights: Path, canary: Path, ref: str, kwargs: dict[str, Any]) -> None:
    r = cli("scan", "--model", weights, "--arch", ref, "--arch-kwargs", json.dumps(kwargs),
            "--data", "digits", *FAST)
    text = clean_error(r, "--arch", ref)
    assert "not an nn.Module class" in text or "not allowed" in text
    _untouched(canary)


@pytest.mark.parametrize(("ref", "kwargs"), PAYLOADS, ids=IDS)
def test_compress_arch(weights: Path, canary: Path, ref: str, kwargs: dict[str, Any]) -> None:
    r = cli("compress", "--model", weights, "--arch", ref, "--arch-kwargs", json.dumps(kwargs),
            "--data", "digits", "--n", "20", "--quiet")
    clean_error(r, "--arch", ref)
    _untouched(canary)


@pytest.mark.parametrize(("ref", "kwargs"), PAYLOADS, ids=IDS)
def test_compress_student_arch(weights: Path, canary: Path, ref: str, kwargs: dict[str, Any]) -> None:
    _model_json(weights, "trustbench.demo:DemoCNN", {"width": 4})  # a teacher that loads
    r = cli("compress", "--model", weights, "--student-arch", ref, "--student-arch-kwargs",
            json.dumps(kwargs), "--data", "digits", "--n", "20", "--quiet")
    clean_error(r, "--student-arch", ref)
    _untouched(canary)


@pytest.mark.parametrize("start_from_weights", [False, True], ids=["scratch", "weights"])
@pytest.mark.parametrize(("ref", "kwargs"), PAYLOADS, ids=IDS)
def test_harden_arch(weights: Path, canary: Path, ref: str, kwargs: dict[str, Any],
                     start_from_weights: bool) -> None:
    model = ["--model", weights] if start_from_weights else []
    r = cli("harden", "--arch", ref, "--arch-kwargs", json.dumps(kwargs), *model, "--data",
            "digits", "--epochs", "1", "--quiet")
    clean_error(r, "--arch", ref)
    _untouched(canary)
    assert not Path("trustbench-harden").exists()


@pytest.mark.parametrize(("ref", "kwargs"), PAYLOADS, ids=IDS)
def test_python_api(weights: Path, canary: Path, ref: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError, match=r"not an nn\.Module class|not allowed"):
        load_model(weights, arch=ref, arch_kwargs=kwargs)
    with pytest.raises(InputError, match=r"not an nn\.Module class|not allowed"):
        build_module(ref, kwargs, seed=0)
    _untouched(canary)


# -- references a file chose: refused before anything is imported ---------------------------

UNTRUSTED = [*PAYLOADS, ("evilmod:Net", {})]  # evilmod would write PWNED on import


@pytest.mark.parametrize(("ref", "kwargs"), UNTRUSTED, ids=[p[0] for p in UNTRUSTED])
def test_compress_model_json(weights: Path, canary: Path, ref: str, kwargs: dict[str, Any]) -> None:
    model_json = _model_json(weights, ref, kwargs)
    r = cli("compress", "--model", weights, "--data", "digits", "--n", "20", "--quiet")
    text = clean_error(r, str(model_json), "'arch'", ref)
    if ref.startswith("trustbench."):  # trustbench's own package: imported, still refused
        assert "not allowed" in text
    else:
        assert "was not imported or run" in text and "--trust-arch" in text
        assert f"--arch {ref}" in text
    _untouched(canary)


def test_the_reported_model_json_through_a_real_subprocess(weights: Path, canary: Path) -> None:
    """The report's reproduction, as a user runs it: compress next to a hostile model.json."""
    import shutil
    import subprocess

    exe = shutil.which("trustbench", path=str(Path(sys.executable).parent)) or shutil.which("trustbench")
    assert exe is not None, "the trustbench console script is not installed"
    _model_json(weights, "os:system", {"command": "touch PWNED"})
    proc = subprocess.run([exe, "compress", "--model", str(weights), "--data", "digits"],
                          cwd=canary.parent, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ") and "'os:system'" in proc.stderr
    assert "was not imported or run" in proc.stderr and "Traceback" not in proc.stderr
    assert not canary.exists()


@pytest.mark.parametrize(("ref", "kwargs"), UNTRUSTED, ids=[p[0] for p in UNTRUSTED])
def test_scan_config_arch(tmp_path: Path, weights: Path, canary: Path, ref: str,
                          kwargs: dict[str, Any]) -> None:
    config = _config(tmp_path, weights, ref, kwargs)
    r = cli("scan", "--config", config, *FAST)
    text = clean_error(r, str(config), "model.arch", ref)
    if not ref.startswith("trustbench."):
        assert "was not imported or run" in text and "--trust-arch" in text
    _untouched(canary)


@pytest.mark.parametrize(("ref", "kwargs"), PAYLOADS, ids=IDS)
def test_trust_arch_still_calls_only_nn_module_classes(tmp_path: Path, weights: Path,
                                                       canary: Path, ref: str,
                                                       kwargs: dict[str, Any]) -> None:
    config = _config(tmp_path, weights, ref, kwargs)
    r = cli("scan", "--config", config, "--trust-arch", *FAST)
    text = clean_error(r, ref)
    assert "not an nn.Module class" in text or "not allowed" in text
    _untouched(canary)


def test_untrusted_reference_through_the_python_api(weights: Path, canary: Path) -> None:
    with pytest.raises(UnsafeModelError, match=r"x\.json field 'arch' names .*evilmod:Net.*not "
                       "imported"):
        load_model(weights, arch="evilmod:Net", arch_source="x.json field 'arch'")
    _untouched(canary)


def test_a_config_cannot_grant_itself_arch_trust(tmp_path: Path, weights: Path,
                                                 canary: Path) -> None:
    config = _config(tmp_path, weights, "evilmod:Net", {}, trust_arch=True)
    clean_error(cli("scan", "--config", config, *FAST), str(config), "model.trust_arch",
                "unknown field")
    _untouched(canary)


def test_trustbench_architectures_need_no_flag(tmp_path: Path, weights: Path) -> None:
    """What 'trustbench harden' writes keeps working: a trustbench class from a file."""
    config = _config(tmp_path, weights, "trustbench.demo:DemoCNN", {"width": 4})
    r = cli("scan", "--config", config, *FAST, "--out", "report")
    assert r.exit_code == 0, r.output
    assert json.loads(Path("report/scorecard.json").read_text())["findings"]


def test_trusted_user_architecture_from_a_config_loads(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    sys.path.insert(0, str(tmp_path))
    net = importlib.import_module("usermod").Net()
    save_file(net.state_dict(), str(tmp_path / "net.safetensors"))
    config = _config(tmp_path, tmp_path / "net.safetensors", "usermod:Net", {})
    refused = cli("scan", "--config", config, *FAST, "--out", "report")
    clean_error(refused, "usermod:Net", "--trust-arch")
    for flags in (["--trust-arch"], ["--arch", "usermod:Net"]):  # trust from the command line
        r = cli("scan", "--config", config, *flags, *FAST, "--out", "report")
        assert r.exit_code == 0, r.output


# -- pickles: a config file cannot grant trust either ---------------------------------------


class _Payload:
    """Unpickling runs ``touch PWNED``."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("touch PWNED",))


@pytest.mark.parametrize("zipfile", [True, False], ids=["zip", "legacy"])
@pytest.mark.parametrize("arch", [None, "trustbench.demo:DemoCNN"])
def test_pickled_code_in_a_pt_file(tmp_path: Path, canary: Path, zipfile: bool,
                                   arch: str | None) -> None:
    path = tmp_path / "evil.pt"
    torch.save(_Payload(), path, _use_new_zipfile_serialization=zipfile)
    r = cli("scan", "--model", path, "--data", "digits", *(["--arch", arch] if arch else []), *FAST)
    text = clean_error(r, str(path), "pickled Python objects", "not loaded or run",
                       "--trust-pickle")
    assert "check it is complete" not in text and "not a readable" not in text
    _untouched(canary)


def _pickled_sklearn(tmp_path: Path) -> Path:
    import joblib
    from sklearn.linear_model import LogisticRegression

    from trustbench.data import load_builtin

    ds = load_builtin("breast_cancer", split="train")
    path = tmp_path / "model.joblib"
    joblib.dump(LogisticRegression(max_iter=2000).fit(ds.x, ds.y), path)
    return path


def test_config_trust_pickle_needs_the_flag(tmp_path: Path) -> None:
    path = _pickled_sklearn(tmp_path)
    config = tmp_path / "scan.yaml"
    config.write_text(json.dumps({"model": {"path": str(path), "trust_pickle": True},
                                  "data": {"source": "breast_cancer"}}))
    clean_error(cli("scan", "--config", config, *FAST), str(config), "model.trust_pickle",
                "--trust-pickle")
    r = cli("scan", "--config", config, "--trust-pickle", *FAST, "--out", "report")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("ref", ["evilmod:model", "os:system", "usermod:Net"])
def test_a_config_cannot_make_trustbench_import_code(tmp_path: Path, canary: Path, ref: str) -> None:
    config = tmp_path / "scan.yaml"
    config.write_text(json.dumps({"model": {"path": ref}, "data": {"source": "digits"}}))
    text = clean_error(cli("scan", "--config", config, *FAST), str(config), "model.path",
                       "nothing was imported", f"--model {ref}")
    assert "cannot make trustbench import code" in text
    _untouched(canary)
    assert "usermod" not in sys.modules


def test_config_trust_pickle_false_is_accepted(tmp_path: Path) -> None:
    path = _pickled_sklearn(tmp_path)
    config = tmp_path / "scan.yaml"
    config.write_text(json.dumps({"model": {"path": str(path), "trust_pickle": False},
                                  "data": {"source": "breast_cancer"}}))
    clean_error(cli("scan", "--config", config, *FAST), str(path), "refusing to load a pickle")
    r = cli("scan", "--config", config, "--trust-pickle", *FAST, "--out", "report")
    assert r.exit_code == 0, r.output


# -- ONNX external data ----------------------------------------------------------------------


def _onnx_with_external(folder: Path, location: str) -> Path:
    """A (N, 30) -> (N, 2) linear ONNX model whose weight ``W`` points at ``location``."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, external_data_helper, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((30, 2), np.float32), "W")
    external_data_helper.set_external_data(w, location=location)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 30])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
                              initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = folder / "model.onnx"
    onnx.save_model(model, str(path))
    return path


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "link.bin"])
def test_onnx_external_data_outside_the_folder(tmp_path: Path, location: str) -> None:
    folder = tmp_path / "downloaded"
    folder.mkdir()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones((30, 2), np.float32).tobytes())
    if location == "link.bin":
        (folder / "link.bin").symlink_to(secret)
    path = _onnx_with_external(folder, location)
    r = cli("scan", "--model", path, "--data", "breast_cancer", *FAST)
    clean_error(r, str(path), "tensor 'W'", repr(location), "outside the model's folder")
    with pytest.raises(InputError, match="outside the model's folder"):
        load_model(path)


# -- model outputs the scan cannot use -------------------------------------------------------

OUTPUTS = textwrap.dedent("""
    import torch
    from torch import nn


    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(30, 2)

        def forward(self, x):
            return self.fc(x), x


    class OneAtATime(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(30, 2)

        def forward(self, x):
            return self.fc(x.flatten()).unsqueeze(0)


    pair, one_at_a_time = Pair(), OneAtATime()
""")


@pytest.mark.parametrize(("attr", "needles"), [
    ("pair", ["returned a tuple of 2 (Tensor (2, 2), Tensor (2, 30))", "out[0]"]),
    ("one_at_a_time", ["seems to accept only batch size 1", "batch-aware"]),
])
def test_model_outputs_are_explained(tmp_path: Path, attr: str, needles: list[str]) -> None:
    (tmp_path / "outputs_mod.py").write_text(OUTPUTS)
    try:
        r = cli("scan", "--model", f"outputs_mod:{attr}", "--data", "breast_cancer", *FAST)
        text = clean_error(r, *needles)
        assert "cannot take inputs of shape" not in text
    finally:
        sys.modules.pop("outputs_mod", None)
