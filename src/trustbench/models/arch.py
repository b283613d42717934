"""Architecture references (``package.module:Class``).

Resolve one without running code it did not ask for, and refuse references that a file
chose unless the user trusts them.

A state_dict needs its ``nn.Module`` class. The reference to that class is code: importing a
module runs it, and calling whatever the reference names runs that. So a reference

* must be ``package.module:Class`` made of identifiers, with no dunder or private name in it,
  whose attribute path walks through classes only (never into another module);
* must name a class that subclasses ``torch.nn.Module`` (checked before anything is called:
  never a function such as ``os:system``, never a non-module class);
* is imported only when it is *trusted*: typed by the user (``--arch`` on the command line,
  an argument in Python) or explicitly trusted (``--trust-arch``). A reference read from a
  file the user did not type (``model.json`` next to downloaded weights, ``model.arch`` in a
  config file) is refused before anything is imported -- unless it names a class of
  trustbench itself (``trustbench.demo:DemoCNN``, what ``trustbench harden`` writes).
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

from trustbench.errors import InputError, UnsafeModelError

__all__ = ["build_arch", "resolve_arch"]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REF = re.compile(rf"{_NAME}(?:\.{_NAME})*:{_NAME}(?:\.{_NAME})*")
_OWN_PACKAGE = "trustbench"


def _is_own(module_name: str) -> bool:
    return module_name == _OWN_PACKAGE or module_name.startswith(_OWN_PACKAGE + ".")


def _check_syntax(ref: object, what: str) -> tuple[str, list[str]]:
    if not isinstance(ref, str) or not _REF.fullmatch(ref):
        raise InputError(f"{what} {ref!r} is not of the form package.module:Class",
                         fix="name an nn.Module class, e.g. trustbench.demo:DemoCNN")
    mod_name, _, attr = ref.partition(":")
    attrs = attr.split(".")
    if any(p.startswith("__") for p in mod_name.split(".")) or any(a.startswith("_") for a in attrs):
        raise InputError(f"{what} {ref!r}: private and dunder names are not allowed in an "
                         "architecture reference",
                         fix="name a public nn.Module class, e.g. mypackage.models:Net")
    return mod_name, attrs


def resolve_arch(ref: str, *, what: str = "--arch", trusted: bool) -> type:
    """Return the ``torch.nn.Module`` subclass that ``ref`` names, without calling anything.

    Parameters
    ----------
    ref
        ``package.module:Class`` (``Outer.Inner`` after the colon for a nested class).
    what
        Where ``ref`` came from, for error messages: ``"--arch"``, or the file and field,
        e.g. ``"model.json field 'arch'"``.
    trusted
        The user chose ``ref`` (typed it, or trusts the file that holds it). Untrusted
        references to anything outside trustbench are refused before any import.

    Raises
    ------
    UnsafeModelError
        ``ref`` is untrusted and names code outside trustbench (nothing was imported).
    InputError
        ``ref`` is malformed, cannot be imported, or does not name an nn.Module subclass.
    """
    mod_name, attrs = _check_syntax(ref, what)
    if not trusted and not _is_own(mod_name):
        raise UnsafeModelError(
            f"{what} names the architecture {ref!r}; it was not imported or run: importing it "
            "runs code, and a file you did not pass on the command line may not choose code",
            fix=f"check it, then pass --arch {ref} on the command line yourself, or pass "
            "--trust-arch",
        )
    label = f"{what} {ref}" if what.startswith("-") else f"{what} ({ref!r})"
    import torch

    if trusted and "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # the user's own modules import from the cwd
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as e:
        raise InputError(f"{label}: cannot import module {mod_name!r} ({e})",
                         fix="run from the folder that holds it, or install its package") from None
    except Exception as e:  # the user's module is broken: say so on one line
        raise InputError(f"{label}: importing module {mod_name!r} raised {type(e).__name__}: "
                         f"{str(e).splitlines()[0][:200] if str(e) else ''}") from None
    for i, part in enumerate(attrs):
        if i > 0 and not isinstance(obj, type):  # never walk from a class into a module
            raise InputError(f"{label}: {'.'.join(attrs[:i])} is not a class; the path "
                             "after the colon may only name nested classes",
                             fix="write the full module path before the colon, e.g. "
                             "torch.nn:Linear")
        obj = getattr(obj, part, None)
        if obj is None:
            raise InputError(f"{label}: module {mod_name!r} has no attribute "
                             f"{'.'.join(attrs[: i + 1])!r}")
    if not (isinstance(obj, type) and issubclass(obj, torch.nn.Module)):
        kind = ("a module" if isinstance(obj, types.ModuleType)
                else f"the class {obj.__name__}" if isinstance(obj, type)
                else "a function" if callable(obj) else f"a {type(obj).__name__}")
        raise InputError(f"{label} is {kind}, not an nn.Module class; nothing was called",
                         fix="name the torch.nn.Module subclass the weights belong to")
    if not trusted and not _is_own(obj.__module__):  # e.g. a re-exported torch class
        raise UnsafeModelError(f"{label} resolves to {obj.__module__}.{obj.__qualname__}, "
                               "outside trustbench; it was not run",
                               fix=f"pass --arch {ref} on the command line, or --trust-arch")
    return obj


def build_arch(ref: str, arch_kwargs: dict[str, Any] | str | None = None, *,
               what: str = "--arch", trusted: bool) -> Any:
    """Construct the ``nn.Module`` class ``ref`` names with ``arch_kwargs``.

    ``ref`` is resolved as by :func:`resolve_arch`; ``arch_kwargs`` is a dict or a JSON
    object string.
    """
    if isinstance(arch_kwargs, str):
        try:
            arch_kwargs = json.loads(arch_kwargs)
        except json.JSONDecodeError as e:
            raise InputError(f"--arch-kwargs is not valid JSON ({e.msg})",
                             fix='pass a JSON object, e.g. \'{"width": 64}\'') from None
    if arch_kwargs is not None and not isinstance(arch_kwargs, dict):
        raise InputError("--arch-kwargs must be a JSON object")
    cls = resolve_arch(ref, what=what, trusted=trusted)
    try:
        return cls(**(arch_kwargs or {}))
    except (TypeError, ValueError, RuntimeError) as e:
        raise InputError(f"{what} {ref}: cannot construct it ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:200] if str(e) else ''})",
                         fix="pass its constructor arguments with --arch-kwargs") from None
