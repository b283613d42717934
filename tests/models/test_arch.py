"""resolve_arch / build_arch: only nn.Module classes are ever called, and a reference a file
chose is refused before anything is imported unless it names a trustbench class."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

from trustbench.demo import DemoCNN
from trustbench.errors import InputError, UnsafeModelError
from trustbench.models.loading import build_arch, load_model, resolve_arch

SOURCE = textwrap.dedent("""
    from torch import nn


    class Net(nn.Module):
        def __init__(self, width=3):
            super().__init__()
            if width < 1:
                raise ValueError(f"width must be >= 1, got {width}")
            self.fc = nn.Linear(4, width)

        def forward(self, x):
            return self.fc(x)


    class Outer:
        class Inner(nn.Module):
            pass
""")


@pytest.fixture
def user_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``archmod.py`` (harmless), ``writesmod.py`` (writes ``ran`` on import), ``brokenmod.py``."""
    (tmp_path / "archmod.py").write_text(SOURCE)
    (tmp_path / "writesmod.py").write_text("open('ran', 'w').close()\n" + SOURCE)
    (tmp_path / "brokenmod.py").write_text("raise NameError('oops')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    importlib.invalidate_caches()
    yield tmp_path
    for name in ("archmod", "writesmod", "brokenmod"):
        sys.modules.pop(name, None)


def test_resolves_user_classes_and_nested_classes(user_code: Path) -> None:
    cls = resolve_arch("archmod:Net", trusted=True)
    assert cls is sys.modules["archmod"].Net
    assert resolve_arch("archmod:Outer.Inner", trusted=True) is sys.modules["archmod"].Outer.Inner
    module = build_arch("archmod:Net", '{"width": 5}', trusted=True)
    assert isinstance(module, nn.Module) and module.fc.out_features == 5


@pytest.mark.parametrize("ref", ["os", "os:", ":system", "a b:C", "m:C()", "m:C;x", "m:C\n",
                                 "m:C.", "1m:C", "m::C", None])
def test_malformed_references(ref: str) -> None:
    with pytest.raises(InputError, match=r"not of the form package\.module:Class"):
        resolve_arch(ref, trusted=True)  # type: ignore[arg-type]


@pytest.mark.parametrize("ref", ["trustbench.demo:DemoCNN.__init__", "trustbench.demo:_private",
                                 "trustbench.demo:torch.nn.Module.__subclasses__",
                                 "__main__:Net", "trustbench.__init__:DemoCNN"])
def test_private_and_dunder_names_are_refused_before_import(ref: str) -> None:
    with pytest.raises(InputError, match="private and dunder names are not allowed"):
        resolve_arch(ref, trusted=True)


@pytest.mark.parametrize(("ref", "kind"), [
    ("os:system", "a function"),
    ("builtins:exec", "a function"),
    ("pathlib:Path.touch", "a function"),
    ("collections:OrderedDict", "the class OrderedDict"),
    ("os:path", "a module"),
    ("math:pi", "a float"),
])
def test_only_nn_module_classes(ref: str, kind: str) -> None:
    with pytest.raises(InputError, match=f"is {kind}, not an nn.Module class; nothing was called"):
        resolve_arch(ref, trusted=True)


def test_the_path_after_the_colon_never_walks_into_a_module() -> None:
    with pytest.raises(InputError, match="torch is not a class"):
        resolve_arch("trustbench.demo:torch.nn.Linear", trusted=True)


def test_untrusted_reference_is_refused_before_import(user_code: Path) -> None:
    with pytest.raises(UnsafeModelError, match=r"model\.json field 'arch' names the "
                       r"architecture 'writesmod:Net'; it was not imported or run") as e:
        resolve_arch("writesmod:Net", what="model.json field 'arch'", trusted=False)
    assert "--arch writesmod:Net" in str(e.value) and "--trust-arch" in str(e.value)
    assert "writesmod" not in sys.modules
    assert not (user_code / "ran").exists()
    assert str(user_code) not in sys.path


def test_untrusted_trustbench_class_is_resolved() -> None:
    assert resolve_arch("trustbench.demo:DemoCNN", what="f", trusted=False) is DemoCNN


def test_untrusted_trustbench_reference_to_a_foreign_class(monkeypatch: pytest.MonkeyPatch) -> None:
    import trustbench.demo

    monkeypatch.setattr(trustbench.demo, "Linear", nn.Linear, raising=False)
    with pytest.raises(UnsafeModelError, match=r"resolves to torch\.nn\.modules\.linear\.Linear, "
                       "outside trustbench"):
        resolve_arch("trustbench.demo:Linear", what="f", trusted=False)
    assert resolve_arch("trustbench.demo:Linear", trusted=True) is nn.Linear


@pytest.mark.parametrize(("ref", "kwargs", "message"), [
    ("archmod:Net", {"width": 0}, r"cannot construct it \(ValueError: width must be >= 1"),
    ("archmod:Net", {"depth": 2}, r"cannot construct it \(TypeError"),
    ("brokenmod:Net", {}, "importing module 'brokenmod' raised NameError: oops"),
])
def test_construction_and_import_errors_are_one_line(user_code: Path, ref: str, kwargs: dict,
                                                    message: str) -> None:
    with pytest.raises(InputError, match=message) as e:
        build_arch(ref, kwargs, trusted=True)
    assert "\n" not in str(e.value)


def test_load_model_trust_rule(user_code: Path, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    net = resolve_arch("archmod:Net", trusted=True)()
    save_file(net.state_dict(), str(tmp_path / "w.safetensors"))
    sys.modules.pop("archmod")
    with pytest.raises(UnsafeModelError, match="not imported or run"):
        load_model(tmp_path / "w.safetensors", arch="writesmod:Net", arch_source="cfg field x")
    assert not (user_code / "ran").exists()
    model = load_model(tmp_path / "w.safetensors", arch="archmod:Net", arch_source="cfg field x",
                       trust_arch=True)
    x = torch.zeros(2, 4)
    torch.testing.assert_close(model.scores(x), net(x).detach())
    save_file(DemoCNN(width=2).state_dict(), str(tmp_path / "demo.safetensors"))
    demo = load_model(tmp_path / "demo.safetensors", arch="trustbench.demo:DemoCNN",
                      arch_kwargs={"width": 2}, arch_source="model.json field 'arch'")
    assert isinstance(demo.module, DemoCNN)  # type: ignore[attr-defined]
