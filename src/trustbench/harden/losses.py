"""Adversarial training losses that replace cross-entropy in an existing training loop.

Each function runs its inner maximisation (the attack) itself and returns the loss to
backpropagate::

    loss = F.cross_entropy(model(x), y)                       # before
    loss = trades_loss(model, x, y, eps=0.1, generator=gen)   # after

Shared behaviour
----------------
* The inner attack runs with every submodule in **eval mode**: batch norm normalises with
  its running statistics and does not update them from adversarial batches, and dropout is
  off, so the attack sees a deterministic function. The outer loss then runs in whatever
  mode the caller left the model (``model.train()`` in a training loop), which updates
  batch-norm statistics from the batches the model learns from. This follows the TRADES
  reference implementation; the price is that very early in training the running statistics
  lag the weights, which only makes the first inner attacks a little weaker.
* Gradients of the inner attack are taken with ``torch.autograd.grad`` with respect to the
  input only: parameters' ``.grad`` never holds anything from it.
* Adversarial inputs stay inside the eps-ball around ``x`` and the **domain**, which is
  ``(0.0, 1.0)`` unless you say otherwise (images scaled to [0, 1]): pass a
  :class:`~trustbench.domain.Domain`, ``(lower, upper)``, a
  :class:`~trustbench.data.Schema` (its bounds and immutable/integer features), or ``None``
  for an unbounded domain.
* Randomness (random starts) comes only from ``generator`` (pass one, created once per
  training run, so batches get different starts), else from a new generator seeded with
  ``seed``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trustbench._compat import renamed_kwargs
from trustbench.attacks.pgd import random_start
from trustbench.domain import Norm
from trustbench.harden._common import (
    DomainLike,
    as_domain,
    check_threat,
    ensure_tensors,
    eval_mode,
    inner_maximize,
    make_generator,
    rand_like,
    reduce,
    unwrap,
)
from trustbench.models.torch import TorchModel

__all__ = ["fast_at_loss", "pgd_at_loss", "trades_loss"]

#: The default valid input range: images scaled to [0, 1].
DEFAULT_DOMAIN: tuple[float, float] = (0.0, 1.0)


@renamed_kwargs(random_init="random_start")
def pgd_at_loss(
    model: nn.Module | TorchModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    step_size: float | None = None,
    steps: int = 10,
    norm: Norm = "linf",
    domain: DomainLike = DEFAULT_DOMAIN,
    random_start: bool = True,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cross-entropy on PGD adversarial examples (Madry et al.'s adversarial training).

    Parameters
    ----------
    model
        ``nn.Module`` returning logits, or a :class:`~trustbench.models.TorchModel`
        (its normalisation is applied).
    x, y
        (N, ...) inputs in raw units, (N,) class indices.
    eps
        Radius of the threat model.
    step_size
        Step of the inner PGD; ``2.5 * eps / steps`` if ``None``.
    steps
        Inner PGD iterations.
    norm
        ``"linf"`` or ``"l2"``.
    domain
        Valid inputs (see the module docstring); ``(0.0, 1.0)`` by default.
    random_start
        Start the inner PGD at a uniform random point of the eps-ball, as
        :class:`~trustbench.attacks.PGD` does. Formerly ``random_init``: the old keyword
        still works, with a :class:`DeprecationWarning`.
    seed, generator
        Randomness of the random start.
    reduction
        ``"mean"``, ``"sum"`` or ``"none"`` (per-example).

    References
    ----------
    Madry, Makelov, Schmidt, Tsipras & Vladu, "Towards Deep Learning Models Resistant to
    Adversarial Attacks", ICLR 2018.
    """
    x, y = ensure_tensors(x, y)
    check_threat(eps, norm, steps)
    module, forward = unwrap(model)
    dom = as_domain(domain)
    gen = make_generator(seed, generator)
    step = 2.5 * eps / steps if step_size is None else float(step_size)
    start = _uniform_start(x, norm=norm, eps=eps, generator=gen) if random_start else x
    x_adv = inner_maximize(module, forward, x, start,
                           lambda logits: F.cross_entropy(logits, y, reduction="sum"),
                           eps=eps, norm=norm, step_size=step, steps=steps, domain=dom)
    return reduce(F.cross_entropy(forward(x_adv), y, reduction="none"), reduction)


def trades_loss(
    model: nn.Module | TorchModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    beta: float = 6.0,
    step_size: float | None = None,
    steps: int = 10,
    norm: Norm = "linf",
    domain: DomainLike = DEFAULT_DOMAIN,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """TRADES: clean cross-entropy plus ``beta`` times a KL divergence.

    The KL divergence is between the model's predictions on ``x`` and on its worst case in
    the eps-ball.

    The inner maximisation starts at ``x + 0.001 * N(0, 1)`` and ascends
    ``KL(p(x) || p(x'))`` with the clean prediction held fixed, as the reference
    implementation does. Parameters as in :func:`pgd_at_loss`; ``step_size`` defaults to
    ``2.5 * eps / steps``. ``beta`` trades clean accuracy (small) for robustness (large).

    References
    ----------
    Zhang, Yu, Jiao, Xing, El Ghaoui & Jordan, "Theoretically Principled Trade-off between
    Robustness and Accuracy", ICML 2019. Reference code: github.com/yaodongyu/TRADES
    (``trades.py``).
    """
    x, y = ensure_tensors(x, y)
    check_threat(eps, norm, steps)
    module, forward = unwrap(model)
    dom = as_domain(domain)
    gen = make_generator(seed, generator)
    step = 2.5 * eps / steps if step_size is None else float(step_size)
    with eval_mode(module), torch.no_grad():
        p_clean = F.softmax(forward(x), dim=1)  # (N, C) fixed target of the inner attack
    start = x + 0.001 * rand_like(x, gen, normal=True)
    x_adv = inner_maximize(
        module, forward, x, start,
        lambda logits: F.kl_div(F.log_softmax(logits, dim=1), p_clean, reduction="sum"),
        eps=eps, norm=norm, step_size=step, steps=steps, domain=dom)
    logits_clean = forward(x)  # (N, C) in the caller's mode, with gradients
    logits_adv = forward(x_adv)
    natural = F.cross_entropy(logits_clean, y, reduction="none")  # (N,)
    robust = F.kl_div(F.log_softmax(logits_adv, dim=1), F.softmax(logits_clean, dim=1),
                      reduction="none").sum(1)  # (N,)
    return reduce(natural + beta * robust, reduction)


def fast_at_loss(
    model: nn.Module | TorchModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    step_size: float | None = None,
    norm: Norm = "linf",
    domain: DomainLike = DEFAULT_DOMAIN,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """"Fast is better than free" adversarial training: cross-entropy on one FGSM step.

    The step has size ``1.25 * eps`` and starts from a uniform random point in the eps-ball.

    One forward+backward for the inner attack instead of PGD's ten. Watch for catastrophic
    overfitting (robust accuracy against PGD collapsing while FGSM accuracy stays high):
    the trainer's PGD-10 validation and early stopping catch it.

    References
    ----------
    Wong, Rice & Kolter, "Fast is better than free: Revisiting adversarial training",
    ICLR 2020.
    """
    x, y = ensure_tensors(x, y)
    check_threat(eps, norm)
    module, forward = unwrap(model)
    dom = as_domain(domain)
    gen = make_generator(seed, generator)
    step = 1.25 * eps if step_size is None else float(step_size)
    start = _uniform_start(x, norm=norm, eps=eps, generator=gen)
    x_adv = inner_maximize(module, forward, x, start,
                           lambda logits: F.cross_entropy(logits, y, reduction="sum"),
                           eps=eps, norm=norm, step_size=step, steps=1, domain=dom)
    return reduce(F.cross_entropy(forward(x_adv), y, reduction="none"), reduction)


def _uniform_start(x: torch.Tensor, *, norm: Norm, eps: float,
                   generator: torch.Generator) -> torch.Tensor:
    if generator.device == x.device:
        return random_start(x.detach(), norm=norm, eps=eps, generator=generator)
    return random_start(x.detach().to(generator.device), norm=norm, eps=eps,
                        generator=generator).to(x.device)
