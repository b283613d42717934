"""Fast Gradient Sign Method.

References
----------
Goodfellow, Shlens & Szegedy, "Explaining and Harnessing Adversarial Examples", ICLR 2015.
"""

from __future__ import annotations

import torch

from trustbench.attacks.base import Attack, AttackContext
from trustbench.domain import Norm

__all__ = ["FGSM"]


def normalized_step(grad: torch.Tensor, norm: Norm) -> torch.Tensor:
    """Steepest-ascent direction of unit size under ``norm``: sign for L∞, g/||g|| for L2."""
    if norm == "linf":
        return grad.sign()
    g = grad.flatten(1)
    return (g / (g.norm(dim=1, keepdim=True) + 1e-12)).view_as(grad)


class FGSM(Attack):
    """One gradient step of size ``eps``.

    The step is the gradient's sign for L∞; the L2 variant is the fast gradient method of
    the same paper's family.

    Parameters
    ----------
    eps
        Radius of the threat model, in raw input units.
    norm
        ``"linf"`` or ``"l2"``.
    seed
        Unused (FGSM is deterministic); kept for a uniform interface.
    """

    name = "fgsm"
    first_pass_at_x = True  # its only gradient pass gives the clean predictions too

    def __init__(self, *, eps: float = 0.1, norm: Norm = "linf", seed: int = 0) -> None:
        self.eps = eps
        self.norm = norm
        self.seed = seed

    def max_cost(self, n_classes: int) -> tuple[int, int]:
        """Upper bound on the cost of one point; see :meth:`Attack.max_cost`."""
        return (1, 0)

    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Take the one gradient step; see :meth:`Attack.perturb`."""
        _, grad, _ = ctx.loss_grad(x, y)
        return ctx.project(x + self.eps * normalized_step(grad, self.norm), x)
