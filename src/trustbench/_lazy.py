"""Packages whose public names load on first use (PEP 562).

A package calls :func:`lazy_package` at the end of its ``__init__`` with a map from each
exported name to the module that defines it. ``import trustbench.audit`` then costs nothing
beyond the package itself; ``trustbench.audit.audit`` imports ``trustbench.audit.runner``
(and with it scikit-learn) when it is first looked up. A command pays only for what it uses:
the scan, for instance, reads the audit's catalogue without importing the audit.

Importing a submodule makes Python set it as an attribute of its package. Where an exported
function has the name of a submodule (``trustbench.scan``, the function, over the module
``trustbench.scan``), that assignment is dropped; the submodule stays in ``sys.modules``.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from typing import Any

__all__ = ["lazy_package"]


class _LazyPackage(types.ModuleType):
    """A package module that imports an exported name's module when it is looked up."""

    _exports: Mapping[str, str]

    def __getattr__(self, name: str) -> Any:
        module = self.__dict__.get("_exports", {}).get(name)
        if module is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        self.__dict__[name] = value  # the next lookup is a plain attribute
        return value

    def __dir__(self) -> list[str]:
        return sorted(set(self.__dict__) | set(self.__dict__.get("_exports", {})))

    def __setattr__(self, name: str, value: Any) -> None:
        if (isinstance(value, types.ModuleType) and name in self.__dict__.get("_exports", {})
                and value.__name__ == f"{self.__name__}.{name}"):
            return  # a submodule named like an exported function: keep the function
        super().__setattr__(name, value)


def lazy_package(name: str, exports: Mapping[str, str]) -> None:
    """Make the package ``name`` load each name of ``exports`` from its module on first use.

    Parameters
    ----------
    name
        The package's ``__name__``; it must be in :data:`sys.modules` (call this from the
        package's ``__init__``).
    exports
        Exported name -> the module that defines it.
    """
    module = sys.modules[name]
    module.__dict__["_exports"] = dict(exports)
    module.__class__ = _LazyPackage
