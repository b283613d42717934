"""Optional dependencies, loaded only where they are used, with an error naming the extra.

The core install stays lean (numpy, torch, scikit-learn, pandas, pydantic, typer, rich);
families that need more (``[onnx]``, ``[skops]``, and the coming ``[monitor]``,
``[align]``, ``[ray]``) import it through :func:`require_extra` inside the function that
needs it, never at module import, so ``import trustbench`` and every other command work
without it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from trustbench.errors import InputError

__all__ = ["require_extra"]


def require_extra(module: str, extra: str, *, what: str) -> ModuleType:
    """Import ``module``, or raise an InputError telling how to install ``extra``.

    Parameters
    ----------
    module
        The module to import, e.g. ``"onnxruntime"`` or ``"sqlalchemy"``.
    extra
        The trustbench extra that installs it, e.g. ``"onnx"``.
    what
        What needs it, for the message: ``"loading an .onnx model"``.

    Examples
    --------
    >>> require_extra("json", "core", what="reading JSON").__name__
    'json'
    >>> try:
    ...     require_extra("no_such_module_xyz", "monitor", what="trustbench monitor")
    ... except InputError as e:
    ...     print(e)
    trustbench monitor needs no_such_module_xyz, which is not installed -- pip install 'trustbench[monitor]'
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if e.name is not None and e.name != module and not module.startswith(f"{e.name}."):
            raise  # the module is there but one of its own imports failed: show that
        raise InputError(f"{what} needs {module}, which is not installed",
                         fix=f"pip install 'trustbench[{extra}]'") from None
