"""load_model: safe formats load; pickles are refused unless trusted and never run when refused."""

from __future__ import annotations

import importlib
import pickle
import shutil
import sys
import textwrap
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from trustbench.errors import InputError, UnsafeModelError
from trustbench.models import CallableModel, SklearnModel, TorchModel
from trustbench.models.loading import import_object, load_model

# torch 2.13 deprecates TorchScript; loading it is still supported and is what we test here.
ignore_jit_deprecation = pytest.mark.filterwarnings(
    r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")

HELPERS = "tests_helpers_module"
HELPER_SOURCE = textwrap.dedent("""
    import numpy as np
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self, n_features=4, hidden=8, n_classes=3):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(),
                                      nn.Linear(hidden, n_classes))

        def forward(self, x):
            return self.body(x)


    def make_net(hidden=8):
        torch.manual_seed(0)
        return Net(hidden=hidden)


    net = make_net()


    class Holder:
        net = net


    def predict(x):
        z = np.asarray(x)[:, :2] * 3
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)


    def _fit():
        from sklearn.linear_model import LogisticRegression

        rng = np.random.default_rng(0)
        x = rng.normal(size=(40, 4))
        return LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))


    clf = _fit()
""")


@pytest.fixture
def user_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``tests_helpers_module.py`` and a package ``tbpkg.models`` in tmp_path, which is the cwd.

    sys.path and sys.modules are restored afterwards, so tests do not see each other's modules.
    """
    (tmp_path / f"{HELPERS}.py").write_text(HELPER_SOURCE)
    (tmp_path / "tbpkg").mkdir()
    (tmp_path / "tbpkg" / "__init__.py").write_text("")
    (tmp_path / "tbpkg" / "models.py").write_text(HELPER_SOURCE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    importlib.invalidate_caches()
    yield tmp_path
    for name in (HELPERS, "tbpkg", "tbpkg.models"):
        sys.modules.pop(name, None)


def _helpers():
    """The user's module, imported the way load_model does (cwd on sys.path)."""
    import_object(f"{HELPERS}:Net")
    return sys.modules[HELPERS]


def _x(n: int = 6) -> np.ndarray:
    return np.random.default_rng(3).normal(size=(n, 4)).astype(np.float32)


def _same_predictions(model, module: nn.Module) -> None:
    x = _x()
    with torch.no_grad():
        expected = module(torch.from_numpy(x))
    torch.testing.assert_close(model.scores(torch.from_numpy(x)), expected)


# -- TorchScript and state dicts -----------------------------------------------------------


@ignore_jit_deprecation
@pytest.mark.parametrize("how, suffix", [("script", ".pt"), ("trace", ".pt"), ("trace", ".ts")])
def test_torchscript_loads_without_arch(tmp_path: Path, make_mlp, how: str, suffix: str) -> None:
    module = make_mlp().eval()
    jit = torch.jit.script(module) if how == "script" else torch.jit.trace(module, torch.zeros(2, 4))
    path = tmp_path / f"model{suffix}"
    jit.save(str(path))
    model = load_model(path)
    assert isinstance(model, TorchModel)
    _same_predictions(model, module)
    # gradients flow through TorchScript too: it stays a white-box model
    x = torch.from_numpy(_x()).requires_grad_(True)
    (g,) = torch.autograd.grad(model.logits(x).sum(), x)
    assert g.abs().sum() > 0


def test_state_dict_pt_with_arch_and_kwargs(tmp_path: Path, user_code: Path) -> None:
    module = _helpers().make_net(hidden=5)
    torch.save(module.state_dict(), tmp_path / "weights.pt")
    model = load_model(tmp_path / "weights.pt", arch=f"{HELPERS}:Net", arch_kwargs='{"hidden": 5}')
    assert isinstance(model, TorchModel)
    assert model.module.body[0].out_features == 5
    _same_predictions(model, module)
    assert model.fingerprint() == TorchModel(module).fingerprint()


def test_checkpoint_dict_with_state_dict_key(tmp_path: Path, user_code: Path) -> None:
    module = _helpers().make_net()
    torch.save({"state_dict": module.state_dict(), "epoch": 3}, tmp_path / "ckpt.ckpt")
    model = load_model(tmp_path / "ckpt.ckpt", arch=f"{HELPERS}:Net", arch_kwargs={"hidden": 8})
    _same_predictions(model, module)


def test_safetensors_with_arch(tmp_path: Path, user_code: Path) -> None:
    from safetensors.torch import save_file

    module = _helpers().make_net(hidden=6)
    save_file(module.state_dict(), str(tmp_path / "weights.safetensors"))
    model = load_model(tmp_path / "weights.safetensors", arch=f"{HELPERS}:Net",
                       arch_kwargs='{"hidden": 6}', mean=[0.0], std=[1.0])
    assert isinstance(model, TorchModel)
    _same_predictions(model, module)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_state_dict_without_arch_asks_for_arch(tmp_path: Path, make_mlp, suffix: str) -> None:
    from safetensors.torch import save_file

    path = tmp_path / f"weights{suffix}"
    state = make_mlp().state_dict()
    save_file(state, str(path)) if suffix == ".safetensors" else torch.save(state, path)
    with pytest.raises(InputError, match="--arch") as e:
        load_model(path)
    assert "state_dict" in str(e.value)
    assert not isinstance(e.value, UnsafeModelError)


@pytest.mark.parametrize(
    ("arch_kwargs", "message"),
    [
        ('{"hidden": ', "--arch-kwargs is not valid JSON"),
        ("[5]", "--arch-kwargs must be a JSON object"),
        ('{"width": 5}', "cannot construct it"),
        ('{"hidden": 9}', "weights do not fit --arch"),
    ],
)
def test_bad_arch_kwargs_are_input_errors(tmp_path: Path, user_code: Path, arch_kwargs: str,
                                          message: str) -> None:
    torch.save(_helpers().make_net(hidden=8).state_dict(), tmp_path / "weights.pt")
    with pytest.raises(InputError, match=message):
        load_model(tmp_path / "weights.pt", arch=f"{HELPERS}:Net", arch_kwargs=arch_kwargs)


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ("no_such_module_xyz:Net", "cannot import module 'no_such_module_xyz'"),
        (f"{HELPERS}:Nope", "has no attribute 'Nope'"),
        (f"{HELPERS}:predict", "is a function, not an nn.Module class; nothing was called"),
        (f"{HELPERS}.Net", "not of the form package.module:Class"),
    ],
)
def test_bad_arch_is_input_error(tmp_path: Path, user_code: Path, arch: str, message: str) -> None:
    torch.save(_helpers().make_net().state_dict(), tmp_path / "weights.pt")
    with pytest.raises(InputError, match=message):
        load_model(tmp_path / "weights.pt", arch=arch)


def test_corrupt_torch_and_safetensors_files(tmp_path: Path) -> None:
    (tmp_path / "bad.pt").write_text("hello, not a model")
    (tmp_path / "bad.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(InputError, match="not a readable torch file"):
        load_model(tmp_path / "bad.pt")
    with pytest.raises(InputError, match="not a readable safetensors file"):
        load_model(tmp_path / "bad.safetensors")


@pytest.mark.parametrize("trust_pickle", [False, True])
def test_corrupt_pt_file_is_a_plain_input_error(tmp_path: Path, trust_pickle: bool) -> None:
    (tmp_path / "bad.pt").write_bytes(b"\x00garbage")
    with pytest.raises(InputError, match="not a readable torch file") as e:
        load_model(tmp_path / "bad.pt", trust_pickle=trust_pickle)
    assert not isinstance(e.value, UnsafeModelError)


# -- pickles ---------------------------------------------------------------------------------


class WritesFile:
    """Unpickling this opens (and so creates) ``marker`` for writing: a stand-in for any code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _dump(obj, path: Path) -> Path:
    if path.suffix == ".joblib":
        joblib.dump(obj, path)
    elif path.suffix in (".pt", ".pth", ".bin"):
        torch.save(obj, path)
    else:
        with open(path, "wb") as fh:
            pickle.dump(obj, fh)
    return path


def test_the_payload_really_writes_its_marker(tmp_path: Path) -> None:
    """Guards the tests below: if unpickling did not run the payload they would prove nothing."""
    marker = tmp_path / "ran"
    f = pickle.loads(pickle.dumps(WritesFile(marker)))
    f.close()
    assert marker.exists()


@pytest.mark.parametrize("name", ["evil.pkl", "evil.pickle", "evil.sav", "evil.joblib", "evil.pt",
                                  "evil.pth", "evil.bin"])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "pwned"
    path = _dump(WritesFile(marker), tmp_path / name)
    assert not marker.exists()
    with pytest.raises(UnsafeModelError, match="arbitrary code") as e:
        load_model(path)
    assert "--trust-pickle" in str(e.value)
    assert not marker.exists()


def test_malicious_legacy_torch_file_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "legacy.pt"
    torch.save(WritesFile(marker), path, _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeModelError):
        load_model(path)
    assert not marker.exists()


class RunsShell:
    """Unpickling this runs ``touch <marker>`` through os.system (a blocked module in torch)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
@pytest.mark.parametrize("payload", [WritesFile, RunsShell])
def test_pickled_code_is_named_as_such(tmp_path: Path, zipped: bool, payload: type) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save(payload(marker), path, _use_new_zipfile_serialization=zipped)
    with pytest.raises(UnsafeModelError, match="holds pickled Python objects") as e:
        load_model(path)
    text = str(e.value)
    assert "it was not loaded or run" in text and "--trust-pickle" in text
    assert "not a readable torch file" not in text
    assert e.value.path == path  # the CLI adds what 'trustbench inspect' finds in it
    assert not marker.exists()


@pytest.mark.parametrize(("message", "unsafe"), [
    # torch 2.4+ (an unknown global), torch 2.6+ (a blocked module), torch 2.0-2.3 wording
    ("Weights only load failed. ... Unsupported global: GLOBAL m.f was not an allowed global "
     "by default.", True),
    ("Weights only load failed.\n\nTrying to load unsupported GLOBAL posix.system whose module "
     "posix is blocked.", True),
    ("Weights only load failed. WeightsUnpickler error: Unsupported class posix.system", True),
    ("WEIGHTS ONLY LOAD FAILED: TRYING TO CALL REDUCE FOR UNRECOGNIZED FUNCTION <f>", True),
    ("Weights only load failed. Please file an issue ... WeightsUnpickler error: Unsupported "
     "operand 0", False),
    ("PytorchStreamReader failed reading zip archive: failed finding central directory", False),
])
def test_weights_only_refusals_are_told_apart_from_broken_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, message: str, unsafe: bool) -> None:
    def refuse(*args, **kwargs):
        if kwargs.get("weights_only") is False:
            raise AssertionError("must never unpickle without weights_only")
        raise pickle.UnpicklingError(message)

    (tmp_path / "m.pt").write_bytes(b"PK")
    monkeypatch.setattr(torch, "load", refuse)
    with pytest.raises(InputError) as e:
        load_model(tmp_path / "m.pt")
    assert isinstance(e.value, UnsafeModelError) is unsafe
    assert ("not a readable torch file" in str(e.value)) is not unsafe


@ignore_jit_deprecation
def test_pickle_disguised_as_torchscript_does_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = _dump(WritesFile(marker), tmp_path / "evil.pt")
    with zipfile.ZipFile(path, "a") as z:  # the markers _is_torchscript looks for
        root = z.namelist()[0].split("/")[0]
        z.writestr(f"{root}/constants.pkl", pickle.dumps(WritesFile(marker), protocol=2))
        z.writestr(f"{root}/code/__torch__/m.py", "")
    with pytest.raises(InputError):
        load_model(path)
    assert not marker.exists()


def test_full_pickled_module_needs_trust(tmp_path: Path, make_mlp) -> None:
    module = make_mlp()
    path = tmp_path / "full.pt"
    torch.save(module, path)
    with pytest.raises(UnsafeModelError, match="pickled Python object"):
        load_model(path)
    model = load_model(path, trust_pickle=True)
    assert isinstance(model, TorchModel)
    _same_predictions(model, module)


@pytest.mark.parametrize("suffix", [".joblib", ".pkl"])
def test_trusted_benign_sklearn_pickle_loads(tmp_path: Path, suffix: str) -> None:
    x = _x(40)
    est = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, (x[:, 1] > 0).astype(int))
    path = _dump(est, tmp_path / f"model{suffix}")
    with pytest.raises(UnsafeModelError):
        load_model(path)
    model = load_model(path, trust_pickle=True)
    assert isinstance(model, SklearnModel)
    np.testing.assert_allclose(model.predict_proba(x), est.predict_proba(x), rtol=1e-5, atol=1e-6)


def test_trusted_but_corrupt_pickle_is_input_error(tmp_path: Path) -> None:
    (tmp_path / "bad.joblib").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="cannot unpickle it"):
        load_model(tmp_path / "bad.joblib", trust_pickle=True)


# -- skops -----------------------------------------------------------------------------------


def test_skops_logistic_regression_loads(tmp_path: Path) -> None:
    sio = pytest.importorskip("skops.io")
    x = _x(40)
    y = (x[:, 0] + x[:, 2] > 0).astype(int)
    est = LogisticRegression().fit(x, y)
    sio.dump(est, tmp_path / "model.skops")
    model = load_model(tmp_path / "model.skops")
    assert isinstance(model, SklearnModel)
    np.testing.assert_allclose(model.predict_proba(x), est.predict_proba(x), rtol=1e-5, atol=1e-6)
    assert model.fingerprint() == load_model(tmp_path / "model.skops").fingerprint()


@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_sklearn_fingerprint_survives_a_save_load_round_trip(tmp_path: Path, how: str) -> None:
    sio = pytest.importorskip("skops.io")
    x = _x(40)
    est = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    if how == "pickle":
        loaded = pickle.loads(pickle.dumps(est))
    else:
        sio.dump(est, tmp_path / "model.skops")
        loaded = load_model(tmp_path / "model.skops").estimator
    np.testing.assert_array_equal(loaded.coef_, est.coef_)
    assert SklearnModel(loaded).fingerprint() == SklearnModel(est).fingerprint()


def test_corrupt_skops_is_input_error(tmp_path: Path) -> None:
    pytest.importorskip("skops.io")
    (tmp_path / "bad.skops").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable skops file"):
        load_model(tmp_path / "bad.skops")


# -- import paths ----------------------------------------------------------------------------


@pytest.mark.parametrize("module", [HELPERS, "tbpkg.models"])
def test_import_path_to_module_instance(user_code: Path, module: str) -> None:
    model = load_model(f"{module}:net")
    assert isinstance(model, TorchModel)
    _same_predictions(model, importlib.import_module(module).net)


@pytest.mark.parametrize("module", [HELPERS, "tbpkg.models"])
def test_import_path_to_sklearn_estimator(user_code: Path, module: str) -> None:
    model = load_model(f"{module}:clf")
    assert isinstance(model, SklearnModel)
    x = _x()
    np.testing.assert_allclose(model.predict_proba(x),
                               importlib.import_module(module).clf.predict_proba(x), rtol=1e-5)


@pytest.mark.parametrize("module", [HELPERS, "tbpkg.models"])
def test_import_path_to_plain_function(user_code: Path, module: str) -> None:
    model = load_model(f"{module}:predict")
    assert isinstance(model, CallableModel)
    x = _x()
    model.check_input(x)
    assert model.n_classes == 2
    np.testing.assert_array_equal(model.predict(x), x[:, :2].argmax(1))


def test_import_path_puts_cwd_on_sys_path(user_code: Path) -> None:
    assert str(user_code) not in sys.path
    load_model(f"{HELPERS}:net")
    assert str(user_code) in sys.path


def test_import_path_walks_attributes(user_code: Path) -> None:
    assert import_object(f"{HELPERS}:Holder.net") is _helpers().net
    assert isinstance(load_model(f"{HELPERS}:Holder.net"), TorchModel)


def test_import_path_to_module_class_is_input_error(user_code: Path) -> None:
    with pytest.raises(InputError, match="class Net, not to a trained model") as e:
        load_model(f"{HELPERS}:Net")
    assert f"--arch {HELPERS}:Net" in str(e.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:net", "cannot import module 'no_such_module_xyz'"),
        (f"{HELPERS}:nope", "has no attribute 'nope'"),
    ],
)
def test_bad_import_path_is_input_error(user_code: Path, spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_model(spec)


# -- files that are not models ---------------------------------------------------------------


def test_unknown_suffix_is_input_error(tmp_path: Path) -> None:
    path = tmp_path / "model.txt"
    path.write_text("hello")
    with pytest.raises(InputError, match=r"unknown model format \.txt"):
        load_model(path)
    shutil.copy(path, tmp_path / "model")
    with pytest.raises(InputError, match=r"unknown model format \(no extension\)"):
        load_model(tmp_path / "model")


@pytest.mark.parametrize("name", ["missing.pt", "missing.onnx", "missing.skops", "missing.pkl"])
def test_missing_file_is_input_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="no such model file"):
        load_model(tmp_path / name)


def test_missing_file_is_not_mistaken_for_an_import_path(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match="no such model file"):
            load_model(str(tmp_path / "missing.pt"))
