"""The valid input domain that every perturbation must stay inside."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

__all__ = ["Domain", "Norm", "norm_label", "project_ball"]

Norm = Literal["linf", "l2"]

_NORM_LABELS = {"linf": "L∞", "l2": "L2", "l1": "L1", "l0": "L0"}


def norm_label(norm: object) -> str:
    """Return the label people read for a norm (``"linf"`` -> ``"L∞"``); other values as text."""
    return _NORM_LABELS.get(str(norm), str(norm))


def project_ball(delta: torch.Tensor, *, norm: Norm, eps: float | torch.Tensor) -> torch.Tensor:
    """Project perturbations ``delta`` (N, ...) onto the ``norm`` ball of radius ``eps``.

    ``eps`` may be a scalar or a per-example (N,) tensor.
    """
    n = delta.shape[0]
    if torch.is_tensor(eps) and eps.ndim == 1:
        e = eps.view((n,) + (1,) * (delta.ndim - 1))
    else:
        e = eps
    if norm == "linf":
        return torch.maximum(torch.minimum(delta, e), -e) if torch.is_tensor(e) else delta.clamp(-e, e)
    if norm == "l2":
        norms = delta.flatten(1).norm(dim=1).view((n,) + (1,) * (delta.ndim - 1))  # (N, 1, ...)
        factor = torch.clamp(e / (norms + 1e-12), max=1.0)
        return delta * factor
    raise ValueError(f"norm must be 'linf' or 'l2', got {norm!r}")


@dataclass(frozen=True)
class Domain:
    """Per-feature bounds and constraints of one input, as torch tensors.

    Attributes
    ----------
    lower, upper
        Broadcastable to one example's shape (floats for a global range).
    mutable
        Bool tensor of one example's shape; ``False`` features are never perturbed
        (immutable and categorical tabular features). ``None``: all mutable.
    integer
        Bool tensor; ``True`` features stay integer-valued. ``None``: none.
    integer_step
        Size of one integer unit in these coordinates (``1 / range`` when the attack runs
        on range-normalised features); 1 if ``None``.
    """

    lower: torch.Tensor | float = float("-inf")
    upper: torch.Tensor | float = float("inf")
    mutable: torch.Tensor | None = None
    integer: torch.Tensor | None = None
    integer_step: torch.Tensor | None = None

    @property
    def span(self) -> float:
        """Median width of the feature ranges (1.0 for images in [0, 1])."""
        width = torch.as_tensor(self.upper, dtype=torch.float64) - torch.as_tensor(
            self.lower, dtype=torch.float64)
        width = width.reshape(-1)
        width = width[torch.isfinite(width)]
        return float(width.median()) if width.numel() else 1.0

    def clip(self, x: torch.Tensor) -> torch.Tensor:
        """Clamp ``x`` into ``[lower, upper]``."""
        if isinstance(self.lower, float | int) and isinstance(self.upper, float | int):
            return x.clamp(self.lower, self.upper)  # one op: attacks project every step
        lo = torch.as_tensor(self.lower, dtype=x.dtype, device=x.device)
        hi = torch.as_tensor(self.upper, dtype=x.dtype, device=x.device)
        return torch.minimum(torch.maximum(x, lo), hi)

    def project(self, x_adv: torch.Tensor, x: torch.Tensor, *, norm: Norm,
                eps: float | torch.Tensor) -> torch.Tensor:
        """Return the closest-in-spirit point to ``x_adv`` that is a valid perturbation of ``x``.

        Zeroes changes to immutable features, projects onto the norm ball, clamps to the
        bounds, and truncates changes of integer features toward zero. Each step only
        shrinks every coordinate of the perturbation, so the result stays in the ball.

        Examples
        --------
        >>> import torch
        >>> x, x_adv = torch.tensor([[0.5, 0.95]]), torch.tensor([[0.9, 1.2]])
        >>> Domain(0.0, 1.0).project(x_adv, x, norm="linf", eps=0.1).tolist()  # ball, bounds
        [[0.6000000238418579, 1.0]]
        >>> tabular = Domain(0.0, 10.0, mutable=torch.tensor([True, False]),
        ...                  integer=torch.tensor([True, False]))
        >>> tabular.project(torch.tensor([[3.7, 5.0]]), torch.tensor([[1.0, 2.0]]),
        ...                 norm="linf", eps=2.5).tolist()  # +2.5 truncated; 2nd immutable
        [[3.0, 2.0]]
        """
        delta = x_adv - x
        if self.mutable is not None:
            delta = delta * self.mutable.to(delta.dtype)
        delta = project_ball(delta, norm=norm, eps=eps)
        out = self.clip(x + delta)
        if self.integer is not None:
            if self.integer_step is None:
                whole = x + torch.trunc(out - x)
            else:  # trunc in integer units; a zero step (constant feature) means no change
                step = self.integer_step.to(out.dtype)
                safe = torch.where(step > 0, step, torch.ones_like(step))
                whole = torch.where(step > 0, x + torch.trunc((out - x) / safe) * safe, x)
            out = torch.where(self.integer, whole, out)
        return out

    def contains(self, x: torch.Tensor, atol: float = 1e-6) -> bool:
        """Whether every value of ``x`` lies within the bounds, up to ``atol``."""
        lo = torch.as_tensor(self.lower, dtype=x.dtype)
        hi = torch.as_tensor(self.upper, dtype=x.dtype)
        return bool(((x >= lo - atol) & (x <= hi + atol)).all())
