"""Optional extras: a missing one is a one-line InputError naming the extra to install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from trustbench.errors import InputError
from trustbench.extras import require_extra


def test_a_missing_module_names_the_extra() -> None:
    with pytest.raises(InputError, match=r"pip install 'trustbench\[monitor\]'") as e:
        require_extra("no_such_module_xyz.sub", "monitor", what="trustbench monitor")
    assert str(e.value).startswith("trustbench monitor needs no_such_module_xyz.sub")


def test_a_broken_installed_module_shows_its_own_import_error(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_pkg_xyz.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_xyz"):
        require_extra("broken_pkg_xyz", "monitor", what="x")
    sys.modules.pop("broken_pkg_xyz", None)


@pytest.mark.parametrize(("module", "loader", "extra"), [
    ("onnxruntime", "model.onnx", "onnx"), ("skops", "model.skops", "skops")])
def test_model_loading_without_its_extra(module: str, loader: str, extra: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The [onnx] and [skops] loaders fail with the install line when the extra is absent."""
    from trustbench.models.loading import load_model

    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # import of it raises ImportError
    path = tmp_path / loader
    path.write_bytes(b"\x08\x07")
    with pytest.raises(InputError, match=rf"pip install 'trustbench\[{extra}\]'"):
        load_model(str(path))
