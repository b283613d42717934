"""AutoAttack's standard ensemble: APGD-CE, then APGD-T, then Square, each on the survivors.

References
----------
Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
parameter-free attacks", ICML 2020. Reference code: github.com/fra31/auto-attack,
``autoattack/autoattack.py`` (``version='standard'``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from trustbench.attacks.apgd import APGD, APGDT
from trustbench.attacks.base import Attack, AttackContext, Param
from trustbench.attacks.square import Square
from trustbench.domain import Norm
from trustbench.models.base import Model

__all__ = ["Standard"]

logger = logging.getLogger(__name__)


class Standard(Attack):
    """AutoAttack (standard version): APGD-CE (no restarts) -> APGD-T -> Square.

    Every stage attacks only the points that all earlier stages left robust, and all of
    them share one context, so the result's ``queries`` and ``grad_evals`` are the whole
    ensemble's. On a model without gradients only Square runs (the run logs a warning:
    that evaluation is weaker). With fewer than 4 classes APGD-T does not apply and is
    skipped. FAB-T, the third attack of the original ensemble, is not included.

    Parameters
    ----------
    eps
        Radius of the threat model.
    norm
        ``"linf"`` or ``"l2"``.
    steps
        Iterations of APGD-CE and of APGD-T per target class.
    n_target_classes
        Target classes of APGD-T (capped at ``n_classes - 1``).
    n_queries
        Query budget of Square per point.
    version
        ``"standard"``: APGD-CE, APGD-T, Square. ``"rand"``: AutoAttack's version for
        randomised models, APGD-CE then APGD-DLR (each on the expectation over the model's
        randomness). ``"auto"`` (default): ``"rand"`` when the model is a random model's
        expectation (:class:`~trustbench.models.stochastic.Expectation`, which the scan
        uses for a model it finds random), else ``"standard"``.
    seed
        Seeds every stage (each point has its own stream; each stage labels its draws).

    References
    ----------
    Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
    diverse parameter-free attacks", ICML 2020.
    """

    name = "standard"
    requires_gradients = False  # it runs on any model: black-box ones get Square only
    params: ClassVar[Mapping[str, Param]] = {
        "steps": Param(int, low=1, high=10_000),
        "n_target_classes": Param(int, low=1, high=1_000),
        "n_queries": Param(int, low=1, high=10_000_000),
        "version": Param(str, choices=("auto", "standard", "rand"))}

    def __init__(self, *, eps: float = 0.1, norm: Norm = "linf", steps: int = 100,
                 n_target_classes: int = 9, n_queries: int = 5000, version: str = "auto",
                 seed: int = 0) -> None:
        self.eps = eps
        self.norm = norm
        self.steps = steps
        self.n_target_classes = n_target_classes
        self.n_queries = n_queries
        self.version = version
        self.seed = seed

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Cheap parameters for the conformance suite; see :meth:`Attack.test_params`."""
        return {"steps": 5, "n_target_classes": 2, "n_queries": 50}

    def max_cost(self, n_classes: int) -> tuple[int, int]:
        """Upper bound on the cost of one point over all stages; see :meth:`Attack.max_cost`."""
        costs = [s.max_cost(n_classes) for s in self.stages()]
        return (sum(c[0] for c in costs), sum(c[1] for c in costs) + len(costs))

    def stages(self, *, differentiable: bool = True, rand: bool | None = None) -> list[Attack]:
        """Return the attacks run in order (only Square if not ``differentiable``).

        ``rand``: the version for random models (APGD-CE, APGD-DLR); ``None`` follows
        ``version`` (``"auto"`` counts as ``"standard"`` here).
        """
        common = {"eps": self.eps, "norm": self.norm, "seed": self.seed}
        square = Square(n_queries=self.n_queries, p_init=0.8, rescale_schedule=False, **common)
        if not differentiable:
            return [square]
        if rand if rand is not None else self.version == "rand":
            return [APGD(steps=self.steps, restarts=1, loss="ce", **common),
                    APGD(steps=self.steps, restarts=1, loss="dlr", **common)]
        return [APGD(steps=self.steps, restarts=1, loss="ce", **common),
                APGDT(steps=self.steps, restarts=1, n_target_classes=self.n_target_classes,
                      **common),
                square]

    def _check(self, model: Model) -> None:
        super()._check(model)
        differentiable = model.capabilities.differentiable
        for stage in self.stages(differentiable=differentiable):
            stage._check(model)  # validates steps, n_queries, n_target_classes
        if not differentiable:
            logger.warning("standard: %s has no gradients, so only the Square stage runs; "
                           "robust accuracy from a black-box attack alone is a looser upper "
                           "bound than from the full ensemble", model.description)

    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Run the stages in turn on the points still robust; see :meth:`Attack.perturb`."""
        rand = self.version == "rand" or (
            self.version == "auto" and (getattr(ctx.model, "draws", None) or 0) > 1)
        stages = self.stages(differentiable=ctx.model.capabilities.differentiable, rand=rand)
        out = x.clone()
        robust = torch.ones(len(x), dtype=torch.bool)
        n_classes: int | None = None
        for i, stage in enumerate(stages):
            idx = torch.nonzero(robust).flatten()
            if len(idx) == 0:
                break
            if isinstance(stage, APGDT) and n_classes is not None and n_classes < 4:
                logger.info("standard: skipping apgd-t, which needs at least 4 classes (the "
                            "model has %d)", n_classes)
                continue
            if (not isinstance(stage, APGDT) and getattr(stage, "loss", "ce") == "dlr"
                    and n_classes is not None and n_classes < 3):
                logger.info("standard: skipping apgd-dlr, which needs at least 3 classes")
                continue
            xs = x[idx]
            with ctx.narrow(idx):  # each stage draws from the points' own streams
                cand = ctx.project(stage.perturb(ctx, xs, y[idx]), xs)
            if i == len(stages) - 1:  # the base class re-checks the last stage's output
                out[idx] = cand
                break
            scores = ctx.scores(cand)  # (n, C)
            n_classes = scores.shape[1]
            hit = scores.argmax(1) != y[idx]
            out[idx] = cand  # fooled points keep this; the others are overwritten later
            robust[idx[hit]] = False
        return out
