"""Projected Gradient Descent with random start and restarts.

References
----------
Madry, Makelov, Schmidt, Tsipras & Vladu, "Towards Deep Learning Models Resistant to
Adversarial Attacks", ICLR 2018.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import torch

from trustbench.attacks.base import Attack, AttackContext, Param
from trustbench.attacks.fgsm import normalized_step
from trustbench.attacks.streams import PointStreams
from trustbench.domain import Norm

__all__ = ["PGD", "random_start", "stream_start"]


def random_start(x: torch.Tensor, *, norm: Norm, eps: float,
                 generator: torch.Generator) -> torch.Tensor:
    """Draw a uniformly random point of the L∞ ball, or a random point of the L2 ball, around x."""
    if norm == "linf":
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype)  # (N, ...)
        return x + eps * (2 * u - 1)
    d = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    d = d / d.flatten(1).norm(dim=1).clamp_min(1e-12).view((-1,) + (1,) * (x.ndim - 1))
    r = torch.rand((len(x),) + (1,) * (x.ndim - 1), generator=generator, dtype=x.dtype)
    return x + eps * r ** (1.0 / x[0].numel()) * d


def stream_start(x: torch.Tensor, ids: torch.Tensor, *, norm: Norm, eps: float,
                 streams: PointStreams, tag: str, counter: int) -> torch.Tensor:
    """:func:`random_start` drawn from each point's own stream (``ids``).

    A point's start is thus the same in any batch. ``tag`` and ``counter`` label the draw
    (e.g. the restart).
    """
    shape = tuple(x.shape[1:])
    if norm == "linf":
        return x + eps * (2 * streams.uniform(ids, shape, tag, counter, dtype=x.dtype) - 1)
    d = streams.normal(ids, shape, tag, counter, 0, dtype=x.dtype)
    d = d / d.flatten(1).norm(dim=1).clamp_min(1e-12).view((-1,) + (1,) * (x.ndim - 1))
    r = streams.uniform(ids, (1,) * (x.ndim - 1), tag, counter, 1, dtype=x.dtype)
    return x + eps * r ** (1.0 / x[0].numel()) * d


class PGD(Attack):
    """Iterated gradient ascent on cross-entropy, projected onto the eps-ball and domain.

    Parameters
    ----------
    eps
        Radius of the threat model.
    norm
        ``"linf"`` (signed steps) or ``"l2"`` (normalised-gradient steps).
    steps
        Iterations per restart.
    step_size
        Size of one step; ``2.5 * eps / steps`` if ``None``.
    random_start
        Start from a random point of the ball instead of ``x``.
    restarts
        Independent runs; later restarts attack only points still robust.
    early_stop
        Stop working on a point as soon as it is misclassified (its fooling iterate is
        kept). ``False`` runs every point for all steps, as most libraries do.
    seed
        Seeds the random starts. Each point draws from its own stream, so its result does
        not depend on the batch, the batch size or ``early_stop``.
    """

    name = "pgd"
    params: ClassVar[Mapping[str, Param]] = {
        "steps": Param(int, low=1, high=10_000),
        "step_size": Param(float, low=0.0, low_open=True, optional=True),
        "random_start": Param(bool), "restarts": Param(int, low=1, high=1_000),
        "early_stop": Param(bool)}

    def __init__(self, *, eps: float = 0.1, norm: Norm = "linf", steps: int = 20,
                 step_size: float | None = None, random_start: bool = True, restarts: int = 1,
                 early_stop: bool = True, seed: int = 0) -> None:
        self.eps = eps
        self.norm = norm
        self.steps = steps
        self.step_size = step_size
        self.random_start = random_start
        self.restarts = restarts
        self.early_stop = early_stop
        self.seed = seed

    @classmethod
    def test_params(cls) -> dict:
        """Cheap parameters for the conformance suite; see :meth:`Attack.test_params`."""
        return {"steps": 5, "restarts": 2}

    def max_cost(self, n_classes: int) -> tuple[int, int]:
        """Upper bound on the cost of one point; see :meth:`Attack.max_cost`."""
        restarts = max(self.restarts, 1)
        return (self.steps * restarts, restarts - 1)

    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Run the PGD restarts on the points still robust; see :meth:`Attack.perturb`."""
        step = self.step_size if self.step_size is not None else 2.5 * self.eps / max(self.steps, 1)
        restarts = max(self.restarts, 1)
        ids = ctx.point_ids(len(x))  # (N,) each point's random stream
        best = x.clone()
        robust = torch.ones(len(x), dtype=torch.bool)  # (N,) not yet fooled
        for r in range(restarts):
            rows = torch.nonzero(robust).flatten()  # (n,) points of x being attacked
            if len(rows) == 0:
                break
            # Working copies are gathered once per restart and again only when points
            # leave (early stop), not on every step.
            x0, y0 = x[rows], y[rows]  # (n, ...), (n,)
            xa = (ctx.project(stream_start(x0, ids[rows], norm=self.norm, eps=self.eps,
                                           streams=ctx.streams, tag="pgd-start", counter=r), x0)
                  if self.random_start else x0.clone())
            unfooled = torch.ones(len(rows), dtype=torch.bool)  # robust[rows], kept in step
            first = x0  # (n, ...) with all points kept: each point's first fooling iterate
            view = (-1,) + (1,) * (x.ndim - 1)
            for _ in range(self.steps):
                _, grad, logits = ctx.loss_grad(xa, y0)
                # The logits of this pass are free: keep the first iterate that fools.
                hit = logits.argmax(1) != y0  # (n,)
                if not self.early_stop:  # no host sync or scatter per step: record, move on
                    first = torch.where((hit & unfooled).view(view), xa, first)
                    unfooled = unfooled & ~hit
                    xa = ctx.project(xa + step * normalized_step(grad, self.norm), x0)
                    continue
                new = hit & unfooled
                if new.any():
                    best[rows[new]] = xa[new]
                    robust[rows[new]] = False
                    unfooled &= ~new
                if hit.any():  # fooled points leave the batch
                    keep = ~hit
                    rows, x0, y0, xa, grad = rows[keep], x0[keep], y0[keep], xa[keep], grad[keep]
                    unfooled = unfooled[keep]
                    if len(rows) == 0:
                        break
                xa = ctx.project(xa + step * normalized_step(grad, self.norm), x0)
            if not self.early_stop:
                fooled_early = ~unfooled
                best[rows[fooled_early]] = first[fooled_early]
                robust[rows[fooled_early]] = False
            if len(rows):  # the last iterate has not been checked yet
                if r == restarts - 1:  # the base class re-checks it: no extra pass here
                    best[rows[unfooled]] = xa[unfooled]
                else:
                    hit = (ctx.scores(xa).argmax(1) != y0) & unfooled
                    best[rows[hit]] = xa[hit]
                    robust[rows[hit]] = False
        return best
