"""Adapter for any Python callable that returns class probabilities (black-box)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from trustbench.errors import InputError
from trustbench.models.base import Capabilities, Model, _describe_output

__all__ = ["CallableModel"]


class CallableModel(Model):
    """Wrap ``fn(x: np.ndarray) -> np.ndarray`` returning (N, C) probabilities.

    Parameters
    ----------
    fn
        Takes a float32 batch in raw input space, returns probabilities (rows sum to 1).
    n_classes
        Learned from the first call if not given.
    batch_size
        Rows per call.
    """

    capabilities = Capabilities(differentiable=False, outputs="probabilities")

    def __init__(
        self,
        fn: Callable[[np.ndarray], np.ndarray],
        *,
        n_classes: int | None = None,
        batch_size: int = 1024,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"CallableModel needs a callable, got {type(fn).__name__}")
        super().__init__(n_classes=n_classes)
        self.fn = fn
        self.batch_size = batch_size

    @property
    def description(self) -> str:
        """``CallableModel(<the function's qualified name>)``."""
        return f"CallableModel({getattr(self.fn, '__qualname__', type(self.fn).__name__)})"

    def _scores_numpy(self, x: np.ndarray) -> np.ndarray:
        out = self.fn(x)
        try:
            p = np.asarray(out, dtype=np.float32)
        except (TypeError, ValueError):  # a dict, a ragged tuple, a string...
            p = None
        if p is None or p.ndim != 2 or len(p) != len(x):
            array_like = p is not None and hasattr(out, "shape")
            got = f"shape {p.shape}" if array_like else _describe_output(out)
            raise InputError(
                f"{self.description} returned {got} for {len(x)} inputs; expected an array of "
                "shape (n_inputs, n_classes) of probabilities",
                fix="return that array" if array_like else "return the probabilities array, "
                "e.g. out[0] or out['probabilities'] (wrap the function)",
            )
        return p

    def fingerprint(self) -> str:
        """Return the callable's identity from its module and name; see :meth:`Model.fingerprint`."""
        # The weights behind a callable are hidden: identify it by name only.
        name = f"{getattr(self.fn, '__module__', '?')}.{getattr(self.fn, '__qualname__', '?')}"
        return "callable:" + hashlib.sha256(name.encode()).hexdigest()[:16] + ":" + name
