"""Auto-PGD: PGD with momentum and an automatic step-size schedule.

References
----------
Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
parameter-free attacks", ICML 2020. Reference code: github.com/fra31/auto-attack,
``autoattack/autopgd_base.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F

from trustbench.attacks.base import Attack, AttackContext, Param
from trustbench.attacks.fgsm import normalized_step
from trustbench.domain import Norm
from trustbench.errors import InputError

__all__ = ["APGD", "APGDDLR", "APGDT", "apgd_run", "checkpoints", "dlr_loss", "targeted_dlr_loss"]

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

logger = logging.getLogger(__name__)


def dlr_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N,) Difference of Logits Ratio, eq. (3) of the paper.

    ``-(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3)`` with ``z_pi1 >= z_pi2 >= ...`` the sorted
    logits: invariant to shifting and (positively) rescaling the logits. Needs 3 classes.
    """
    if logits.shape[1] < 3:
        raise _too_few_classes("apgd-dlr", "the DLR loss", 3, logits.shape[1])
    top = logits.topk(3, dim=1).values  # (N, 3) descending
    z_y = logits.gather(1, y[:, None]).squeeze(1)  # (N,)
    best_other = torch.where(logits.argmax(1) == y, top[:, 1], top[:, 0])  # (N,)
    return -(z_y - best_other) / (top[:, 0] - top[:, 2] + 1e-12)


def targeted_dlr_loss(logits: torch.Tensor, y: torch.Tensor,
                      target: torch.Tensor) -> torch.Tensor:
    """(N,) Targeted DLR, eq. (4): ``-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)``.

    Needs 4 classes.
    """
    if logits.shape[1] < 4:
        raise _too_few_classes("apgd-t", "the targeted DLR loss", 4, logits.shape[1])
    top = logits.topk(4, dim=1).values  # (N, 4) descending
    z_y = logits.gather(1, y[:, None]).squeeze(1)
    z_t = logits.gather(1, target[:, None]).squeeze(1)
    return -(z_y - z_t) / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12)


def _too_few_classes(name: str, what: str, need: int, have: int) -> InputError:
    fix = "use apgd-ce" + (" (or apgd-dlr)" if have == 3 else "") + f" for {have}-class models"
    return InputError(f"{name}: {what} needs at least {need} classes, the model has {have}",
                      fix=fix)


def _ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, y, reduction="none")


def checkpoints(steps: int) -> list[int]:
    """Return the iterations at which APGD may halve its step size.

    ``p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)`` (Sec. 3.2), in
    the reference code's integer form: the first interval is ``max(int(0.22 * steps), 1)``,
    each next one shorter by ``max(int(0.03 * steps), 1)`` and at least
    ``max(int(0.06 * steps), 1)``. ``checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]``.
    """
    k = max(int(0.22 * steps), 1)
    decrease, k_min = max(int(0.03 * steps), 1), max(int(0.06 * steps), 1)
    out, w = [], k
    while w <= steps:
        out.append(w)
        k = max(k - decrease, k_min)
        w += k
    return out


def _feasible(d: torch.Tensor, ctx: AttackContext) -> torch.Tensor:
    """Zero the directions of immutable features.

    L2 normalisation then spends the whole budget on features that may change.
    """
    return d if ctx.domain.mutable is None else d * ctx.domain.mutable.to(d.dtype)


def _unit(d: torch.Tensor, norm: Norm) -> torch.Tensor:
    """Scale each row of ``d`` (N, ...) to norm 1 (max-abs 1 for L∞).

    This is the reference's ``normalize``.
    """
    flat = d.flatten(1)
    size = flat.abs().amax(1) if norm == "linf" else flat.norm(dim=1)  # (N,)
    return d / (size.view((-1,) + (1,) * (d.ndim - 1)) + 1e-12)


@dataclass
class _State:
    """Per-point state of the points still being attacked; row i is batch point rows[i]."""

    rows: torch.Tensor  # (n,)
    x: torch.Tensor  # (n, ...) clean points
    y: torch.Tensor  # (n,)
    target: torch.Tensor | None  # (n,) for the targeted loss
    xa: torch.Tensor  # (n, ...) current iterate
    xa_old: torch.Tensor  # (n, ...) previous iterate, for the momentum term
    grad: torch.Tensor  # (n, ...)
    x_best: torch.Tensor  # (n, ...) highest-loss iterate so far, and its gradient
    grad_best: torch.Tensor
    loss_best: torch.Tensor  # (n,)
    step: torch.Tensor  # (n, 1, ...) step size eta
    hist: torch.Tensor  # (n, steps + 1) loss of every iterate so far
    reduced: torch.Tensor  # (n,) bool: step size was halved at the last checkpoint
    best_at_check: torch.Tensor  # (n,) loss_best at the last checkpoint

    def keep(self, mask: torch.Tensor) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not None:
                setattr(self, f.name, v[mask])


def apgd_run(ctx: AttackContext, x: torch.Tensor, y: torch.Tensor, *, loss: str,
             target: torch.Tensor | None, eps: float, norm: Norm, steps: int, rho: float,
             check_last: bool, ids: torch.Tensor | None = None,
             run: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """One APGD run (Algorithm 1) from a random start on a batch.

    The start of each point is drawn from its own stream (``ids``, default 0..N-1), labelled
    by the loss and ``run`` (the restart or target index).

    Returns ``x_out`` (N, ...): the first iterate that fooled each point, else the last
    iterate; and ``fooled`` (N,) bool. Every iterate except the last is checked for free by
    the logits of its gradient pass; the last one costs a forward pass if ``check_last``
    (otherwise the caller checks it). So a run costs ``steps`` gradient evaluations per
    point, and fooled points drop out at once.
    """
    n, view = len(x), (-1,) + (1,) * (x.ndim - 1)

    def loss_of(s: _State) -> Loss:
        if loss == "ce":
            return _ce
        if loss == "dlr":
            return dlr_loss
        t = s.target if s.target is not None else s.y
        return lambda z, yy: targeted_dlr_loss(z, yy, t)

    out, fooled = x.clone(), torch.zeros(n, dtype=torch.bool)
    ids = torch.arange(n) if ids is None else ids
    shape, tag = tuple(x.shape[1:]), f"apgd-start-{loss}"
    noise = (2 * ctx.streams.uniform(ids, shape, tag, run, dtype=x.dtype) - 1
             if norm == "linf" else ctx.streams.normal(ids, shape, tag, run, dtype=x.dtype))
    xa = ctx.project(x + eps * _unit(_feasible(noise, ctx), norm), x)  # (N, ...)
    s = _State(rows=torch.arange(n), x=x, y=y, target=target, xa=xa, xa_old=xa, grad=xa,
               x_best=xa, grad_best=xa, loss_best=xa.new_zeros(n),
               step=torch.full((n,) + (1,) * (x.ndim - 1), 2.0 * eps, dtype=x.dtype),
               hist=x.new_zeros((n, steps + 1)), reduced=torch.ones(n, dtype=torch.bool),
               best_at_check=x.new_zeros(n))
    checks, last_check = set(checkpoints(steps)), 0
    for t in range(steps + 1):  # t: index of the iterate s.xa
        if t > 0:  # the momentum step from iterate t-1 to t (alpha = 0.75 after the first)
            a = 0.75 if t > 1 else 1.0
            g = normalized_step(_feasible(s.grad, ctx), norm)
            z = ctx.project(s.xa + s.step * g, s.x)
            new = ctx.project(s.xa + a * (z - s.xa) + (1 - a) * (s.xa - s.xa_old), s.x)
            s.xa_old, s.xa = s.xa, new
        if t == steps:
            break
        f, s.grad, logits = ctx.loss_grad(s.xa, s.y, loss_of(s))
        hit = logits.argmax(1) != s.y  # (n,) the gradient pass checks this iterate for free
        if hit.any():
            out[s.rows[hit]] = s.xa[hit]
            fooled[s.rows[hit]] = True
            s.keep(~hit)
            f = f[~hit]
            if len(s.rows) == 0:
                return out, fooled
        s.hist[:, t] = f
        if t == 0:
            s.x_best, s.grad_best, s.loss_best, s.best_at_check = s.xa, s.grad, f, f
            n_zero = int((s.grad.flatten(1).abs().sum(1) == 0).sum())
            if n_zero and loss != "ce":  # as the reference's check_zero_gradients
                logger.warning("apgd (%s loss): %d of %d points have a zero gradient; the "
                               "evaluation may overstate robustness (gradient masking?)",
                               loss, n_zero, len(s.rows))
            continue
        better = f > s.loss_best  # (n,)
        s.x_best = torch.where(better.view(view), s.xa, s.x_best)
        s.grad_best = torch.where(better.view(view), s.grad, s.grad_best)
        s.loss_best = torch.where(better, f, s.loss_best)
        if t in checks:
            k, last_check = t - last_check, t
            # Condition 1: the loss increased in at most rho * k of the last k steps (the
            # reference compares the first of them with a zero row instead of the loss at
            # the start point, where the paper uses f(x^(0)) as here).
            h = s.hist[:, t - k : t + 1]  # (n, k + 1)
            oscillates = (h[:, 1:] > h[:, :-1]).sum(1) <= k * rho
            # Condition 2: the step was not halved last time and the best loss stalled.
            stalled = ~s.reduced & (s.best_at_check >= s.loss_best)
            reduce = oscillates | stalled  # (n,)
            s.reduced, s.best_at_check = reduce, s.loss_best
            r = reduce.view(view)
            s.step = torch.where(r, s.step / 2, s.step)
            s.xa = torch.where(r, s.x_best, s.xa)  # restart from the best point
            s.grad = torch.where(r, s.grad_best, s.grad)
    if check_last:
        hit = ctx.scores(s.xa).argmax(1) != s.y
        fooled[s.rows[hit]] = True
    out[s.rows] = s.xa
    return out, fooled


class _APGDBase(Attack):
    """Validation and the restart loop shared by :class:`APGD` and :class:`APGDT`."""

    steps: int
    restarts: int
    rho: float
    #: What APGD and APGD-T share (the base class checks them).
    shared_params: ClassVar[Mapping[str, Param]] = {
        "steps": Param(int, low=1, high=10_000),
        "restarts": Param(int, low=1, high=1_000),
        "rho": Param(float, low=0.0, high=1.0, low_open=True)}

    def _runs(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor, *, loss: str,
              targets: list[torch.Tensor | None]) -> torch.Tensor:
        """Run :func:`apgd_run` once per entry of ``targets``.

        Each entry is (N,) target classes or ``None``; each run is on the points that the
        earlier runs left robust.
        """
        out = x.clone()
        ids = ctx.point_ids(len(x))
        robust = torch.ones(len(x), dtype=torch.bool)
        for i, target in enumerate(targets):
            idx = torch.nonzero(robust).flatten()
            if len(idx) == 0:
                break
            xr, hit = apgd_run(ctx, x[idx], y[idx], loss=loss,
                               target=None if target is None else target[idx],
                               eps=float(self.eps), norm=self.norm, steps=self.steps,
                               rho=self.rho, check_last=i < len(targets) - 1, ids=ids[idx],
                               run=i)
            out[idx] = xr
            robust[idx[hit]] = False
        return out


class APGD(_APGDBase):
    """Auto-PGD on the cross-entropy (``loss="ce"``) or DLR (``loss="dlr"``) loss.

    Budget-aware and step-size free: the step starts at ``2 * eps`` and is halved, with a
    restart from the best point found, at checkpoints where the loss oscillated or stalled
    (see :func:`checkpoints`); a momentum term (0.75) follows the first step. Restarts
    attack only the points still robust. Points stop as soon as they are fooled.

    Parameters
    ----------
    eps
        Radius of the threat model.
    norm
        ``"linf"`` or ``"l2"``.
    steps
        Iterations per restart (one gradient evaluation each).
    restarts
        Runs from independent random starts.
    loss
        ``"ce"`` (registered as ``apgd-ce``) or ``"dlr"`` (``apgd-dlr``, needs 3 classes).
    rho
        Oscillation threshold of the step-size rule.
    seed
        Seeds the random starts.

    References
    ----------
    Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
    diverse parameter-free attacks", ICML 2020.
    """

    name = "apgd-ce"
    params: ClassVar[Mapping[str, Param]] = {**_APGDBase.shared_params,
                                             "loss": Param(str, choices=("ce", "dlr"))}

    def __init__(self, *, eps: float = 0.1, norm: Norm = "linf", steps: int = 100,
                 restarts: int = 1, loss: Literal["ce", "dlr"] = "ce", rho: float = 0.75,
                 seed: int = 0) -> None:
        self.eps = eps
        self.norm = norm
        self.steps = steps
        self.restarts = restarts
        self.loss = loss
        self.rho = rho
        self.seed = seed

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Cheap parameters for the conformance suite; see :meth:`Attack.test_params`."""
        return {"steps": 10}

    def max_cost(self, n_classes: int) -> tuple[int, int]:
        """Upper bound on the cost of one point; see :meth:`Attack.max_cost`."""
        return (self.steps * self.restarts, self.restarts - 1)

    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Run APGD ``restarts`` times on the points still robust; see :meth:`Attack.perturb`."""
        return self._runs(ctx, x, y, loss=self.loss, targets=[None] * self.restarts)


class APGDDLR(APGD):
    """:class:`APGD` with ``loss="dlr"`` by default (registered as ``apgd-dlr``).

    References
    ----------
    Croce & Hein, ICML 2020 (as :class:`APGD`).
    """

    name = "apgd-dlr"

    def __init__(self, *, eps: float = 0.1, norm: Norm = "linf", steps: int = 100,
                 restarts: int = 1, loss: Literal["ce", "dlr"] = "dlr", rho: float = 0.75,
                 seed: int = 0) -> None:
        super().__init__(eps=eps, norm=norm, steps=steps, restarts=restarts, loss=loss,
                         rho=rho, seed=seed)


class APGDT(_APGDBase):
    """APGD on the targeted DLR loss, once per target class (APGD-T).

    The targets of a point are the classes its clean logits rank 2nd, 3rd, ... up to
    ``n_target_classes`` (at most ``n_classes - 1``); each target is attacked in turn, only
    on the points still robust. Success is any misclassification. Needs 4 classes.

    Parameters
    ----------
    eps, norm, steps, restarts, rho, seed
        As for :class:`APGD`; ``restarts`` per target class.
    n_target_classes
        How many runner-up classes to target.

    References
    ----------
    Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
    diverse parameter-free attacks", ICML 2020.
    """

    name = "apgd-t"
    params: ClassVar[Mapping[str, Param]] = {
        **_APGDBase.shared_params, "n_target_classes": Param(int, low=1, high=1_000)}

    def __init__(self, *, eps: float = 0.1, norm: Norm = "linf", steps: int = 100,
                 restarts: int = 1, n_target_classes: int = 9, rho: float = 0.75,
                 seed: int = 0) -> None:
        self.eps = eps
        self.norm = norm
        self.steps = steps
        self.restarts = restarts
        self.n_target_classes = n_target_classes
        self.rho = rho
        self.seed = seed

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Cheap parameters for the conformance suite; see :meth:`Attack.test_params`."""
        return {"steps": 5, "n_target_classes": 2}

    def max_cost(self, n_classes: int) -> tuple[int, int]:
        """Upper bound on the cost of one point; see :meth:`Attack.max_cost`."""
        runs = min(self.n_target_classes, max(n_classes - 1, 0)) * self.restarts
        return (self.steps * runs, runs)

    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Run APGD-T against each runner-up class in turn; see :meth:`Attack.perturb`."""
        scores = ctx.scores(x)  # (N, C) clean logits: their ranking gives the targets
        n_classes = scores.shape[1]
        if n_classes < 4:
            raise _too_few_classes(self.name, "the targeted DLR loss", 4, n_classes)
        ranked = torch.sort(scores, dim=1, descending=True, stable=True).indices  # (N, C)
        n_targets = min(self.n_target_classes, n_classes - 1)
        targets = [ranked[:, j] for j in range(1, n_targets + 1) for _ in range(self.restarts)]
        return self._runs(ctx, x, y, loss="dlr-targeted", targets=targets)
