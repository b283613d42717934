"""Load models from files or import paths, without running untrusted pickles.

Safe by default: TorchScript, safetensors, ``torch.load(weights_only=True)``, ONNX and
skops cannot run arbitrary code when loaded. Pickle and joblib files can, so they load only
with ``trust_pickle=True`` (the CLI's ``--trust-pickle``). An architecture reference read
from a file (``arch_source``) is code too: it is imported only with ``trust_arch=True`` (the
CLI's ``--trust-arch``) or when it names a trustbench class (see :mod:`trustbench.models.arch`).
"""

from __future__ import annotations

import importlib
import re
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

from trustbench.errors import InputError, UnsafeModelError
from trustbench.extras import require_extra
from trustbench.models.arch import build_arch, resolve_arch
from trustbench.models.base import Model

__all__ = ["PICKLE_SUFFIXES", "build_arch", "import_object", "load_model", "resolve_arch"]

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
    arch_source: str | None = None,
    trust_arch: bool = False,
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
    arch_source
        Where ``arch`` was read from when the caller did not choose it: the file and field,
        e.g. ``"weights/model.json field 'arch'"``. ``None`` (the default) means the caller
        chose ``arch``. A reference from a file is refused before anything is imported,
        unless it names a trustbench class or ``trust_arch`` is set.
    trust_arch
        Trust the architecture named by ``arch_source`` (its import and constructor run).
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
        arch_ref = None if arch is None else (arch, arch_source or "--arch",
                                              arch_source is None or trust_arch)
        return as_model(_load_torch(path, arch_ref, arch_kwargs, trust_pickle), **adapter_kwargs)
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


# Phrases of torch's weights_only refusals (torch 2.0 to 2.13): the file is a pickle of
# Python objects (code), not a broken file. Matched case-insensitively; torch rewords them.
_PICKLED_CODE = re.compile(
    r"unsupported global|allowed global|whose module \S+ is blocked|unsupported class"
    r"|add_safe_globals|allowlist|unrecognized function|can only (?:create new object|build)",
    re.IGNORECASE)


def _holds_pickled_code(error: Exception) -> bool:
    return _PICKLED_CODE.search(str(error)) is not None


def _load_torch(path: Path, arch_ref: tuple[str, str, bool] | None, arch_kwargs: Any,
                trust_pickle: bool) -> Any:
    """``arch_ref`` is (reference, where it came from, trusted)."""
    import torch

    if arch_ref is not None:  # an untrusted or malformed reference fails before any reading
        resolve_arch(arch_ref[0], what=arch_ref[1], trusted=arch_ref[2])
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except Exception as e:
            raise InputError(f"{path}: not a readable safetensors file ({e})") from None
    else:
        if arch_ref is None and _is_torchscript(path):
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
            if not _holds_pickled_code(e):  # not a pickled object: a broken file
                raise InputError(f"{path}: not a readable torch file "
                                 f"({str(e).splitlines()[0][:160] if str(e) else type(e).__name__})",
                                 fix="check the file was saved with torch.save and is complete") from None
            if not trust_pickle:
                raise UnsafeModelError(
                    f"{path}: this file holds pickled Python objects (code), and loading a "
                    "pickle can run arbitrary code; it was not loaded or run",
                    fix="save a state_dict (torch.save(model.state_dict()) or safetensors) and "
                    "pass --arch package.module:Class, or export TorchScript/ONNX; only if you "
                    "trust the file's author, pass --trust-pickle", path=path,
                ) from None
            try:
                return torch.load(str(path), map_location="cpu", weights_only=False)
            except Exception as e2:
                raise InputError(f"{path}: cannot unpickle it ({type(e2).__name__}: "
                                 f"{str(e2)[:160]})") from None
        if isinstance(state, torch.nn.Module):
            return state
    if arch_ref is None:
        raise InputError(f"{path}: holds weights (a state_dict) but not the architecture",
                         fix="pass --arch package.module:Class (and --arch-kwargs JSON)")
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    arch, what, trusted = arch_ref
    module = build_arch(arch, arch_kwargs, what=what, trusted=trusted)
    try:
        module.load_state_dict(state)
    except (RuntimeError, TypeError) as e:
        raise InputError(f"{path}: weights do not fit {what} {arch} "
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
            "trust the file's author, pass --trust-pickle", path=path,
        )
    import joblib

    try:
        return joblib.load(path)
    except Exception as e:
        raise InputError(f"{path}: cannot unpickle it ({type(e).__name__}: {str(e)[:160]})") from None


def _load_skops(path: Path, trust_pickle: bool) -> Any:
    sio = require_extra("skops.io", "skops", what="loading a .skops model")
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
