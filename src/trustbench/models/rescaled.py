"""A view of a model on range-normalised inputs, so one eps means the same on every feature."""

from __future__ import annotations

import numpy as np
import torch

from trustbench.models.base import Model

__all__ = ["RangeScaled"]


class RangeScaled(Model):
    """``inner`` seen through ``x_raw = lower + u * span``: attacks perturb ``u`` in [0, 1].

    Used for tabular data, whose raw features have unrelated scales: an L∞ eps of 0.05 then
    means 5% of each feature's range.
    """

    def __init__(self, inner: Model, lower: np.ndarray, span: np.ndarray) -> None:
        super().__init__(n_classes=inner._n_classes)
        self.inner = inner
        self.capabilities = inner.capabilities
        self.batch_size = inner.batch_size
        self.classes = getattr(inner, "classes", None)
        #: (F,) or (C, H, W) raw value at ``u = 0`` and raw width of ``u``'s unit interval.
        self.lower = torch.as_tensor(lower, dtype=torch.float32)
        self.span = torch.as_tensor(span, dtype=torch.float32)

    @property
    def description(self) -> str:
        """The inner model's description."""
        return self.inner.description

    def _raw(self, u: torch.Tensor) -> torch.Tensor:
        return self.lower.to(u.device) + u * self.span.to(u.device)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return the inner model's logits of the raw inputs; see :meth:`Model.logits`."""
        return self.inner.logits(self._raw(x))

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Return the inner model's scores of the raw inputs; see :meth:`Model.scores`."""
        return self.inner.scores(self._raw(x))

    def _scores_numpy(self, x: np.ndarray) -> np.ndarray:
        return self.scores(torch.from_numpy(x)).numpy()

    def check_input(self, x: np.ndarray | torch.Tensor) -> None:
        """Run :meth:`Model.check_input` of the inner model on the raw inputs; take its ``n_classes``."""
        self.inner.check_input(self._raw(torch.as_tensor(np.asarray(x), dtype=torch.float32)))
        self._n_classes = self.inner.n_classes

    def fingerprint(self) -> str:
        """Return the inner model's fingerprint."""
        return self.inner.fingerprint()
