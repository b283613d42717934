"""The Attack contract.

Attack authors write only :meth:`Attack.perturb` and declare their parameters in
:attr:`Attack.params` (type and range, as :class:`Param`). The constructor refuses values out
of that range; the final :meth:`Attack.run` in this base class validates input, skips points
the model already gets wrong, batches, projects every result onto the eps-ball and the
data's domain, and re-checks success with a fresh forward pass, so no attack can report a
perturbation it did not respect or a success it did not get. It also counts the work
``perturb`` itself did (see :class:`AttackResult`), so a run that counts points robust
without evaluating them is visible.
"""

from __future__ import annotations

import functools
import inspect
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, final

import numpy as np
import torch
import torch.nn.functional as F

from trustbench.attacks.params import COMMON_PARAMS, MAX_SEED, Param, ParamValue, check_param
from trustbench.attacks.streams import PointStreams
from trustbench.domain import Domain, Norm
from trustbench.errors import InputError
from trustbench.models.base import Model
from trustbench.models.watched import OutOfTime

__all__ = ["COMMON_PARAMS", "MAX_SEED", "Attack", "AttackContext", "AttackResult", "OutOfTime",
           "Param", "ParamValue", "Progress", "check_param"]

#: ``progress(n_done)`` is called with the number of points finished so far.
Progress = Callable[[int], None]


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
    attack_queries, attack_grad_evals
        The part of ``queries`` and ``grad_evals`` that :meth:`Attack.perturb` spent: the
        clean pass and the success re-check of :meth:`Attack.run` are not in it (a clean
        pass fused into the attack's first gradient pass is, since the attack steps along
        that gradient). ``None``: not counted (a result built by hand).
    robust_unattacked
        A lower bound on the points counted robust that ``perturb`` never evaluated: per
        batch, the robust points in excess of the examples ``perturb`` evaluated (one
        evaluated example is at most one point). Every built-in attack evaluates each point
        it is given at least once, so this is 0 for them. ``None``: not counted.
    """

    x_adv: torch.Tensor
    fooled: torch.Tensor
    clean_correct: torch.Tensor
    queries: int
    grad_evals: int
    wall_time: float
    norm: Norm = "linf"
    eps: float = 0.0
    attack_queries: int | None = None
    attack_grad_evals: int | None = None
    robust_unattacked: int | None = None

    @property
    def attack_work(self) -> int | None:
        """Examples ``perturb`` evaluated (queries plus gradient evaluations).

        ``None``: not counted.
        """
        if self.attack_queries is None or self.attack_grad_evals is None:
            return None
        return self.attack_queries + self.attack_grad_evals

    @property
    def robust_accuracy(self) -> float:
        """Fraction of the points the attack did not fool (NaN when there are none)."""
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
    """What :meth:`Attack.perturb` works with.

    It holds the model, the domain, the random streams, and counted helpers for forward and
    forward+backward passes.

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
        """(n,) stream ids of the ``n`` points passed to ``perturb``.

        The ids are 0..n-1 when ``perturb`` is called directly, outside :meth:`Attack.run`.
        """
        if self.ids is None:
            return torch.arange(n)
        if len(self.ids) != n:
            raise ValueError(f"the context holds ids for {len(self.ids)} points, perturb got {n}; "
                             "narrow the context to a subset with ctx.narrow(idx)")
        return self.ids

    @contextmanager
    def narrow(self, idx: torch.Tensor) -> Iterator[None]:
        """Within the block, ``perturb`` calls see only the points ``idx`` of the current batch.

        Ensembles and restarts that attack survivors use this.
        """
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

    Subclasses set ``name``, ``requires_gradients``, declare :attr:`params` and implement
    :meth:`perturb`. The base class wraps each subclass's ``__init__`` so that, once the
    outermost constructor has stored its arguments, every parameter is checked against its
    :class:`Param` (an :class:`InputError` names the attack, the parameter and the range).
    """

    name: ClassVar[str] = ""
    requires_gradients: ClassVar[bool] = True
    #: ``perturb`` starts with ``ctx.loss_grad`` at exactly the points it is given, so the
    #: clean predictions come with that pass and ``run`` needs no separate forward pass.
    first_pass_at_x: ClassVar[bool] = False
    #: Norms the attack supports.
    norms: ClassVar[tuple[Norm, ...]] = ("linf", "l2")
    #: The attack's own parameters (every ``__init__`` argument except ``eps``, ``norm`` and
    #: ``seed``, which :data:`COMMON_PARAMS` declares): what a scan's ``attack_params`` may set.
    #: An undeclared argument is not checked and cannot be set from a config; the shared test
    #: ``tests/attacks/test_params.py`` requires every registered attack to declare them all.
    params: ClassVar[Mapping[str, Param]] = {}

    eps: float
    norm: Norm
    seed: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # typing.final is not enforced at runtime: refuse an override here, as a run() of
        # its own would skip the projection and the re-check that make results trustworthy.
        for method in ("run", "__call__"):
            if method in cls.__dict__:
                raise TypeError(f"{cls.__qualname__} overrides {method}(), which is final in "
                                "Attack: implement perturb() instead; Attack.run() projects "
                                "its result onto the eps-ball and the domain and re-checks it")
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def checked_init(self: Attack, *args: Any, **kw: Any) -> None:
            init(self, *args, **kw)
            if type(self).__init__ is checked_init:  # only the outermost one checks, once
                self._validate_params()

        cls.__init__ = checked_init  # type: ignore[method-assign]

    @classmethod
    def param_specs(cls) -> dict[str, Param]:
        """Every parameter of the constructor with its :class:`Param`."""
        return COMMON_PARAMS | dict(cls.params)

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """Return the constructor's default of each parameter."""
        sig = inspect.signature(cls.__init__)
        return {k: p.default for k, p in sig.parameters.items() if k != "self"}

    def _validate_params(self) -> None:
        specs, defaults = self.param_specs(), self.param_defaults()
        owner = self.name or type(self).__name__
        for key, value in self.get_params().items():
            if key in specs:
                check_param(owner, key, value, specs[key],
                            default=defaults.get(key, inspect.Parameter.empty))

    def get_params(self) -> dict[str, Any]:
        """Return the current value of each constructor argument, by name."""
        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters if k != "self"}

    def clone(self, **changes: Any) -> Attack:
        """Return a copy with some parameters changed, e.g. ``attack.clone(eps=0.2)``."""
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
        self._validate_params()  # again: attributes may have been changed since __init__
        if self.norm not in self.norms:
            raise InputError(f"{self.name}: norm {self.norm!r} is not supported",
                             fix=f"use one of {self.norms}")
        if self.requires_gradients and not model.capabilities.differentiable:
            raise InputError(
                f"{self.name} needs gradients but {model.description} is black-box",
                fix="use the 'square' attack for models without gradients",
            )

    @final
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
        point_ids: torch.Tensor | None = None,
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
        point_ids
            (N,) each point's stream id (default ``0..N-1``): a shard of a larger set passes
            the points' indices in that set, so each point draws what it would unsharded.
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
        if point_ids is not None:
            point_ids = torch.as_tensor(point_ids, dtype=torch.long)
            if point_ids.shape != (len(x),):
                raise ValueError(f"point_ids must be ({len(x)},), got {tuple(point_ids.shape)}")
        todo = torch.arange(len(x)) if fused else torch.nonzero(~fooled).flatten()
        done = len(x) - len(todo)
        if progress is not None and done:
            progress(done)
        attack_queries = attack_grad_evals = robust_unattacked = 0
        for start_i in range(0, len(todo), batch_size):
            idx = todo[start_i : start_i + batch_size]
            xb, yb = x[idx], y[idx]
            # each point draws from its own stream: its index in x (or in the whole set)
            ctx.ids = idx if point_ids is None else point_ids[idx]
            ctx.capture_predictions, ctx.captured = fused, None
            q0, g0 = ctx.queries, ctx.grad_evals
            cand = self.perturb(ctx, xb, yb)
            work = (ctx.queries - q0) + (ctx.grad_evals - g0)  # examples perturb evaluated
            attack_queries += ctx.queries - q0
            attack_grad_evals += ctx.grad_evals - g0
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
            robust_unattacked += max(int((~fooled[idx]).sum()) - work, 0)
            if progress is not None:
                progress(len(idx))
        return AttackResult(
            x_adv=x_adv, fooled=fooled, clean_correct=clean_correct, queries=ctx.queries,
            grad_evals=ctx.grad_evals, wall_time=time.perf_counter() - start,
            norm=self.norm, eps=float(self.eps), attack_queries=attack_queries,
            attack_grad_evals=attack_grad_evals, robust_unattacked=robust_unattacked,
        )

    __call__ = run

