"""The Attack contract.

Attack authors write only :meth:`Attack.perturb`. The final :meth:`Attack.run` in this base
class validates input, skips points the model already gets wrong, batches, projects every
result onto the eps-ball and the data's domain, and re-checks success with a fresh forward
pass, so no attack can report a perturbation it did not respect or a success it did not get.
"""

from __future__ import annotations

import inspect
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from trustbench.attacks.streams import PointStreams
from trustbench.domain import Domain, Norm
from trustbench.errors import InputError
from trustbench.models.base import Model

__all__ = ["Attack", "AttackContext", "AttackResult", "OutOfTime", "Progress"]

#: ``progress(n_done)`` is called with the number of points finished so far.
Progress = Callable[[int], None]


class OutOfTime(Exception):
    """A run passed its deadline: raised at the next model call, the run's work is dropped
    (a partial run has no robust accuracy), and the caller reports the run as skipped."""


@dataclass
class AttackResult:
    """What an attack did to each point.

    Attributes
    ----------
    x_adv
        (N, ...) adversarial inputs, inside the eps-ball and the domain; equal to ``x``
        where no perturbation was needed or found.
    fooled
        (N,) bool: the model misclassifies ``x_adv`` (re-checked by the base class).
        Points misclassified without any attack count as fooled.
    clean_correct
        (N,) bool: the model classifies the unperturbed point correctly.
    queries
        Forward evaluations, counted in examples.
    grad_evals
        Forward+backward evaluations, counted in examples.
    wall_time
        Seconds.
    """

    x_adv: torch.Tensor
    fooled: torch.Tensor
    clean_correct: torch.Tensor
    queries: int
    grad_evals: int
    wall_time: float
    norm: Norm = "linf"
    eps: float = 0.0

    @property
    def robust_accuracy(self) -> float:
        return float((~self.fooled).float().mean()) if len(self.fooled) else float("nan")

    @property
    def success_rate(self) -> float:
        """Fraction of the clean-correct points the attack fooled."""
        n = int(self.clean_correct.sum())
        return float((self.fooled & self.clean_correct).sum()) / n if n else float("nan")

    def perturbation_norms(self, x: torch.Tensor) -> torch.Tensor:
        """(N,) size of each perturbation under the attack's norm."""
        d = (self.x_adv - torch.as_tensor(x, dtype=self.x_adv.dtype)).flatten(1)
        return d.abs().amax(1) if self.norm == "linf" else d.norm(dim=1)


class AttackContext:
    """What :meth:`Attack.perturb` works with: the model, the domain, the random streams,
    and counted helpers for forward and forward+backward passes.

    Randomness: ``streams`` draws from one stream per point, keyed by the point's index in
    the attacked set (``point_ids``), so a point's result does not depend on its batch;
    built-in attacks use only that. ``generator`` (seeded alike) is kept for attacks that
    want one shared stream.
    """

    def __init__(self, model: Model, domain: Domain, generator: torch.Generator,
                 *, norm: Norm, eps: float, seed: int = 0) -> None:
        self.model = model
        self.domain = domain
        self.generator = generator
        self.streams = PointStreams(seed)
        self.norm: Norm = norm
        self.eps = eps
        self.queries = 0
        self.grad_evals = 0
        #: (n,) stream ids of the points of the current ``perturb`` call; set by ``run``.
        self.ids: torch.Tensor | None = None
        #: ``time.perf_counter()`` value after which the next model call raises OutOfTime.
        self.deadline: float | None = None
        #: When set, the next ``loss_grad`` stores its (n,) predictions here (``run`` uses
        #: this for attacks whose first gradient pass is at the clean points).
        self.capture_predictions = False
        self.captured: torch.Tensor | None = None

    def point_ids(self, n: int) -> torch.Tensor:
        """(n,) stream ids of the ``n`` points passed to ``perturb`` (0..n-1 when it is
        called directly, outside :meth:`Attack.run`)."""
        if self.ids is None:
            return torch.arange(n)
        if len(self.ids) != n:
            raise ValueError(f"the context holds ids for {len(self.ids)} points, perturb got {n}; "
                             "narrow the context to a subset with ctx.narrow(idx)")
        return self.ids

    @contextmanager
    def narrow(self, idx: torch.Tensor) -> Iterator[None]:
        """Within the block, ``perturb`` calls see only the points ``idx`` of the current
        batch (ensembles and restarts that attack survivors use this)."""
        old = self.ids
        self.ids = idx.clone() if old is None else old[idx]
        try:
            yield
        finally:
            self.ids = old

    def project(self, x_adv: torch.Tensor, x: torch.Tensor,
                eps: float | torch.Tensor | None = None) -> torch.Tensor:
        """Project onto the eps-ball around ``x`` and into the domain."""
        return self.domain.project(x_adv, x, norm=self.norm, eps=self.eps if eps is None else eps)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C) model scores without gradient (logits or probabilities); counted as queries.

        Torch models return inference-mode tensors: read-only, so modify them out of place.
        """
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise OutOfTime
        self.queries += len(x)
        return self.model.scores(x)

    def loss_grad(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-example loss (N,), its gradient w.r.t. ``x`` and the logits (N, C).

        ``loss(logits, y) -> (N,)``; cross-entropy by default. One forward+backward pass,
        counted in ``grad_evals``.
        """
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise OutOfTime
        self.grad_evals += len(x)
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            logits = self.model.logits(x)  # (N, C)
            per_example = (F.cross_entropy(logits, y, reduction="none") if loss is None
                           else loss(logits, y))
            (grad,) = torch.autograd.grad(per_example.sum(), x)
        if self.capture_predictions:
            self.captured, self.capture_predictions = logits.detach().argmax(1), False
        return per_example.detach(), grad.detach(), logits.detach()


class Attack(ABC):
    """Base of every attack. ``__init__`` only stores keyword arguments (sklearn-style).

    Subclasses set ``name``, ``requires_gradients`` and implement :meth:`perturb`.
    """

    name: ClassVar[str] = ""
    requires_gradients: ClassVar[bool] = True
    #: ``perturb`` starts with ``ctx.loss_grad`` at exactly the points it is given, so the
    #: clean predictions come with that pass and ``run`` needs no separate forward pass.
    first_pass_at_x: ClassVar[bool] = False
    #: Norms the attack supports.
    norms: ClassVar[tuple[Norm, ...]] = ("linf", "l2")

    eps: float
    norm: Norm
    seed: int

    def get_params(self) -> dict[str, Any]:
        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters if k != "self"}

    def clone(self, **changes: Any) -> Attack:
        """A copy with some parameters changed, e.g. ``attack.clone(eps=0.2)``."""
        params = self.get_params() | changes
        return type(self)(**params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def max_cost(self, n_classes: int) -> tuple[int, int]:
        """Upper bound on (gradient evaluations, queries) spent on one clean-correct point.

        Early exits make the real cost lower; ``scan --dry-run`` uses this bound.
        """
        return (0, 0)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Cheap parameters for the conformance suite (tests/test_common.py)."""
        return {}

    @abstractmethod
    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return (N, ...) adversarial candidates for clean-correct points ``x``.

        Use ``ctx.loss_grad`` / ``ctx.scores`` so work is counted, and ``ctx.project`` to
        stay feasible; draw randomness from ``ctx.streams`` with the ids
        ``ctx.point_ids(len(x))`` so each point's result is independent of its batch. The
        base class projects and re-checks whatever this returns.
        """

    def _check(self, model: Model) -> None:
        if self.norm not in self.norms:
            raise InputError(f"{self.name}: norm {self.norm!r} is not supported",
                             fix=f"use one of {self.norms}")
        if not (np.isfinite(self.eps) and self.eps >= 0):
            raise InputError(f"{self.name}: eps must be a finite number >= 0, got {self.eps!r}")
        if self.requires_gradients and not model.capabilities.differentiable:
            raise InputError(
                f"{self.name} needs gradients but {model.description} is black-box",
                fix="use the 'square' attack for models without gradients",
            )

    def run(
        self,
        model: Model,
        x: np.ndarray | torch.Tensor,
        y: np.ndarray | torch.Tensor,
        *,
        domain: Domain | None = None,
        batch_size: int = 1000,
        progress: Progress | None = None,
        clean_pred: torch.Tensor | None = None,
        prior: AttackResult | None = None,
        deadline: float | None = None,
    ) -> AttackResult:
        """Attack every point of ``x`` (N, ...) with labels ``y`` (N,) (class indices).

        Parameters
        ----------
        domain
            Bounds and constraints; unbounded if ``None``.
        batch_size
            Points per call of :meth:`perturb`.
        progress
            Called with the number of points finished after each batch.
        clean_pred
            (N,) predictions on ``x`` if the caller has them (saves a forward pass).
        prior
            A result on the same points from a weaker threat model (same norm, smaller or
            equal eps, same domain): points it fooled stay fooled with its ``x_adv`` (they
            are inside this ball too) and are not attacked again. Robustness curves and
            ensembles use this.
        deadline
            A ``time.perf_counter()`` value: the first model call after it raises
            :class:`OutOfTime`, so a run overshoots by at most one model call.
        """
        self._check(model)
        start = time.perf_counter()
        x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float32)
        y = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y, dtype=torch.long)
        if x.ndim < 2 or len(x) != len(y):
            raise InputError(f"x must be (N, ...) and y (N,); got {tuple(x.shape)} and "
                             f"{tuple(y.shape)}")
        domain = domain or Domain()
        generator = torch.Generator().manual_seed(int(self.seed))
        ctx = AttackContext(model, domain, generator, norm=self.norm, eps=float(self.eps),
                            seed=int(self.seed))
        ctx.deadline = deadline
        # Attacks whose first gradient pass is at x read the clean predictions off it.
        fused = prior is None and clean_pred is None and self.first_pass_at_x
        if prior is not None:
            if len(prior.fooled) != len(x) or prior.norm != self.norm or prior.eps > self.eps:
                raise ValueError("prior must come from the same points, the same norm and an "
                                 "eps no larger than this attack's")
            clean_correct = prior.clean_correct.clone()
            x_adv = prior.x_adv.clone()
            fooled = prior.fooled.clone()
        elif fused:  # every point is attacked; the first pass says which were correct
            clean_correct = torch.zeros(len(x), dtype=torch.bool)
            x_adv = x.clone()
            fooled = torch.zeros(len(x), dtype=torch.bool)
        else:
            if clean_pred is None:
                clean_pred = ctx.scores(x).argmax(1)
            clean_correct = clean_pred == y
            x_adv = x.clone()
            fooled = ~clean_correct
        todo = torch.arange(len(x)) if fused else torch.nonzero(~fooled).flatten()
        done = len(x) - len(todo)
        if progress is not None and done:
            progress(done)
        for start_i in range(0, len(todo), batch_size):
            idx = todo[start_i : start_i + batch_size]
            xb, yb = x[idx], y[idx]
            ctx.ids = idx  # each point draws from its own stream: its index in x
            ctx.capture_predictions, ctx.captured = fused, None
            cand = self.perturb(ctx, xb, yb)
            correct = None
            if fused:
                if ctx.captured is None or len(ctx.captured) != len(idx):
                    raise RuntimeError(f"{self.name} declares first_pass_at_x but its first "
                                       "gradient pass was not over the points it was given")
                correct = ctx.captured == yb
                clean_correct[idx] = correct
            cand = ctx.project(cand.detach().to(torch.float32), xb)
            hit = ctx.scores(cand).argmax(1) != yb  # the authoritative re-check
            if correct is not None:  # a clean-misclassified point is fooled as it is
                hit &= correct
            x_adv[idx[hit]] = cand[hit]
            fooled[idx] = hit if correct is None else hit | ~correct
            if progress is not None:
                progress(len(idx))
        return AttackResult(
            x_adv=x_adv, fooled=fooled, clean_correct=clean_correct, queries=ctx.queries,
            grad_evals=ctx.grad_evals, wall_time=time.perf_counter() - start,
            norm=self.norm, eps=float(self.eps),
        )

    __call__ = run

