"""A model seen through the scan's watch.

Every call respects the time budget and is checked for scores that are not numbers.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from trustbench.models.base import Model

__all__ = ["OutOfTime", "Watched"]


class OutOfTime(Exception):
    """A run passed its deadline.

    It is raised at the next model call, the run's work is dropped (a partial run has no
    result), and the caller reports the run as skipped.
    """


class Watched(Model):
    """``inner`` with a deadline and a count of non-finite outputs.

    Every call of :meth:`scores` and :meth:`logits` first checks the deadline and raises
    :class:`OutOfTime` once it has passed; long calls are split into ``inner.batch_size``
    chunks so a budget is overshot by at most one chunk. Rows whose scores hold NaN or
    infinity for finite inputs are counted in :attr:`non_finite_rows` (their argmax is
    meaningless, so every number computed from them is suspect); the scan reports them as a
    finding. Inputs that are themselves NaN (a missing-values shift) are not counted.

    Attributes the scan does not know about (``module``, ``classes``, ...) are the inner
    model's.
    """

    def __init__(self, inner: Model, *, deadline: float | None = None) -> None:
        super().__init__(n_classes=inner._n_classes)
        self.inner = inner
        self.capabilities = inner.capabilities
        self.batch_size = inner.batch_size
        #: ``time.perf_counter()`` value after which the next call raises OutOfTime.
        self.deadline = deadline
        #: Rows whose scores held NaN or infinity, over every call so far.
        self.non_finite_rows = 0
        #: Rows scored (or differentiated) so far.
        self.rows = 0

    def __getattr__(self, name: str) -> Any:  # only called when normal lookup fails
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def description(self) -> str:
        """The inner model's description."""
        return self.inner.description

    def _tick(self) -> None:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise OutOfTime

    def _count(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        self.rows += len(s)
        # one reduction decides the common case: a finite sum means every score is finite
        # (attacks call this thousands of times, so the per-row test runs only on suspicion)
        if s.ndim == 2 and len(s) == len(x) and len(s) and not math.isfinite(float(s.detach().sum())):
            bad = ~torch.isfinite(s.detach()).all(1)  # (N,)
            if bool(bad.any()):
                # a NaN input (a missing-value shift, a probe) may give NaN: not the model's fault
                bad &= torch.isfinite(x.detach().flatten(1)).all(1)
                self.non_finite_rows += int(bad.sum())
        return s

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Return the inner model's scores in watched chunks; see :meth:`Model.scores`."""
        self._tick()
        step = max(int(self.batch_size), 1)
        if len(x) <= step:
            return self._count(x, self.inner.scores(x))
        parts = []
        for i in range(0, len(x), step):
            self._tick()
            parts.append(self._count(x[i : i + step], self.inner.scores(x[i : i + step])))
        return torch.cat(parts)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return the inner model's logits, watched; see :meth:`Model.logits`."""
        self._tick()
        return self._count(x, self.inner.logits(x))

    def _scores_numpy(self, x: np.ndarray) -> np.ndarray:
        return self.scores(torch.from_numpy(x)).numpy()

    def check_input(self, x: np.ndarray | torch.Tensor) -> None:
        """Check the deadline, run the inner model's :meth:`Model.check_input`, take its ``n_classes``."""
        self._tick()
        self.inner.check_input(x)
        self._n_classes = self.inner.n_classes

    def fingerprint(self) -> str:
        """Return the inner model's fingerprint."""
        return self.inner.fingerprint()
