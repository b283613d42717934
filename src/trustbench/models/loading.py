"""Load models from files or import paths, without running untrusted pickles.

Safe by default: TorchScript, safetensors, ``torch.load(weights_only=True)``, ONNX and
skops cannot run arbitrary code when loaded. Pickle and joblib files can, so they load only
with ``trust_pickle=True`` (the CLI's ``--trust-pickle``).
"""

from __future__ import annotations

import importlib
import json
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

from trustbench.errors import InputError, UnsafeModelError
from trustbench.models.base import Model

__all__ = ["PICKLE_SUFFIXES", "import_object", "load_model"]

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".sav")
_TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".ts", ".torchscript", ".jit")


def import_object(ref: str, *, what: str = "--model") -> Any:
    """Import ``package.module:attribute`` (dots after the colon walk attributes).

    The current directory is put on ``sys.path`` first, so a user's own modules import.
    """
    if ":" not in ref:
        raise InputError(f"{what} {ref!r} is not of the form package.module:attribute")
    mod_name, _, attr = ref.partition(":")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as e:
        raise InputError(f"{what}: cannot import module {mod_name!r} ({e})",
                         fix="run from the folder that holds it, or install its package") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InputError(f"{what}: module {mod_name!r} has no attribute {attr!r}") from None
    return obj


def load_model(
    spec: str | Path,
    *,
    arch: str | None = None,
    arch_kwargs: dict[str, Any] | str | None = None,
    trust_pickle: bool = False,
    **adapter_kwargs: Any,
) -> Model:
    """Load a model and wrap it in the right adapter.

    Parameters
    ----------
    spec
        A TorchScript file; a state_dict (``.safetensors``, or ``.pt``/``.pth`` read with
        ``torch.load(weights_only=True)``) together with ``arch``; an ``.onnx`` file; a
        ``.skops`` file; a pickle/joblib file (only with ``trust_pickle``); or
        ``package.module:attribute`` naming a model object in the user's code.
    arch
        ``package.module:Class`` of the ``nn.Module`` a state_dict belongs to.
    arch_kwargs
        Keyword arguments for ``arch`` (a dict or a JSON object string).
    trust_pickle
        Allow files that load through pickle (they can run arbitrary code).
    adapter_kwargs
        Passed to the adapter (e.g. ``mean``/``std`` for torch models).
    """
    from trustbench.models import as_model

    if adapter_kwargs.get("mean") is not None or adapter_kwargs.get("std") is not None:
        adapter_kwargs = {k: v for k, v in adapter_kwargs.items() if v is not None}
    else:
        adapter_kwargs = {k: v for k, v in adapter_kwargs.items() if k not in ("mean", "std")}
    s = str(spec)
    path = Path(s)
    if not path.exists():
        if ":" in s and all(p.replace(".", "_").isidentifier() for p in s.split(":", 1)):
            return as_model(_resolve_object(import_object(s)), **adapter_kwargs)
        raise InputError(f"{s}: no such model file",
                         fix="pass a model file or package.module:attribute")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        from trustbench.models.onnx import OnnxModel

        if adapter_kwargs:
            raise InputError("--mean/--std normalise inputs of torch models, not ONNX ones",
                             fix="export the normalisation inside the ONNX graph")
        return OnnxModel(path)
    if suffix == ".skops":
        return as_model(_load_skops(path, trust_pickle), **adapter_kwargs)
    if suffix in PICKLE_SUFFIXES:
        return as_model(_load_pickle(path, trust_pickle), **adapter_kwargs)
    if suffix == ".safetensors" or suffix in _TORCH_SUFFIXES or arch is not None:
        return as_model(_load_torch(path, arch, arch_kwargs, trust_pickle), **adapter_kwargs)
    raise InputError(f"{path}: unknown model format {suffix or '(no extension)'}",
                     fix="use TorchScript/.pt/.safetensors (+ --arch), .onnx, .skops, or "
                     "package.module:attribute")


def _resolve_object(obj: Any) -> Any:
    import torch

    if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
        raise InputError(
            f"--model points to the class {obj.__name__}, not to a trained model",
            fix="point at a trained instance, or pass a weights file with --arch "
            f"{obj.__module__}:{obj.__name__}",
        )
    return obj


def _build_arch(arch: str, arch_kwargs: dict[str, Any] | str | None) -> Any:
    import torch

    if isinstance(arch_kwargs, str):
        try:
            arch_kwargs = json.loads(arch_kwargs)
        except json.JSONDecodeError as e:
            raise InputError(f"--arch-kwargs is not valid JSON ({e.msg})",
                             fix='pass a JSON object, e.g. \'{"width": 64}\'') from None
    if arch_kwargs is not None and not isinstance(arch_kwargs, dict):
        raise InputError("--arch-kwargs must be a JSON object")
    cls = import_object(arch, what="--arch")
    try:
        module = cls(**(arch_kwargs or {}))
    except TypeError as e:
        raise InputError(f"--arch {arch}: cannot construct it ({e})",
                         fix="pass its constructor arguments with --arch-kwargs") from None
    if not isinstance(module, torch.nn.Module):
        raise InputError(f"--arch {arch} made a {type(module).__name__}, not an nn.Module")
    return module


def _load_torch(path: Path, arch: str | None, arch_kwargs: Any, trust_pickle: bool) -> Any:
    import torch

    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except Exception as e:
            raise InputError(f"{path}: not a readable safetensors file ({e})") from None
    else:
        if arch is None and _is_torchscript(path):
            try:
                with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript; it still loads
                    warnings.simplefilter("ignore", DeprecationWarning)
                    warnings.simplefilter("ignore", FutureWarning)
                    return torch.jit.load(str(path), map_location="cpu")
            except Exception as e:
                raise InputError(f"{path}: cannot load TorchScript ({str(e)[:200]})") from None
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as e:
            if "Unsupported global" not in str(e):  # not a pickled object: a broken file
                raise InputError(f"{path}: not a readable torch file "
                                 f"({str(e).splitlines()[0][:160]})",
                                 fix="check the file was saved with torch.save and is complete") from None
            if not trust_pickle:
                raise UnsafeModelError(
                    f"{path}: this file holds a pickled Python object, and loading a pickle "
                    "can run arbitrary code",
                    fix="save a state_dict (torch.save(model.state_dict()) or safetensors) and "
                    "pass --arch package.module:Class, or export TorchScript/ONNX; only if you "
                    "trust the file's author, pass --trust-pickle",
                ) from None
            try:
                return torch.load(str(path), map_location="cpu", weights_only=False)
            except Exception as e2:
                raise InputError(f"{path}: cannot unpickle it ({type(e2).__name__}: "
                                 f"{str(e2)[:160]})") from None
        if isinstance(state, torch.nn.Module):
            return state
    if arch is None:
        raise InputError(f"{path}: holds weights (a state_dict) but not the architecture",
                         fix="pass --arch package.module:Class (and --arch-kwargs JSON)")
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    module = _build_arch(arch, arch_kwargs)
    try:
        module.load_state_dict(state)
    except (RuntimeError, TypeError) as e:
        raise InputError(f"{path}: weights do not fit --arch {arch} "
                         f"({str(e).splitlines()[0][:200]})",
                         fix="check --arch and --arch-kwargs match the saved model") from None
    return module


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("constants.pkl") or "/code/" in n for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _load_pickle(path: Path, trust_pickle: bool) -> Any:
    if not trust_pickle:
        raise UnsafeModelError(
            f"{path}: refusing to load a pickle/joblib file, because loading a pickle can run "
            "arbitrary code",
            fix="save scikit-learn models with skops (.skops) or export to ONNX; only if you "
            "trust the file's author, pass --trust-pickle",
        )
    import joblib

    try:
        return joblib.load(path)
    except Exception as e:
        raise InputError(f"{path}: cannot unpickle it ({type(e).__name__}: {str(e)[:160]})") from None


def _load_skops(path: Path, trust_pickle: bool) -> Any:
    try:
        import skops.io as sio
    except ImportError:
        raise InputError("loading a .skops model needs skops",
                         fix="pip install 'trustbench[skops]'") from None
    try:
        untrusted = sio.get_untrusted_types(file=str(path))
    except Exception as e:
        raise InputError(f"{path}: not a readable skops file ({str(e)[:160]})") from None
    if untrusted and not trust_pickle:
        raise UnsafeModelError(
            f"{path}: the file uses types skops does not trust by default: "
            f"{', '.join(untrusted[:5])}",
            fix="check them, and pass --trust-pickle only if you trust the file's author",
        )
    return sio.load(str(path), trusted=untrusted or None)
