"""Shared plumbing of the hardening losses.

Unwrap the model, resolve the domain, run the inner maximisation in eval mode with
gradients taken with respect to the input only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from trustbench.attacks.fgsm import normalized_step
from trustbench.data.schema import Schema
from trustbench.domain import Domain, Norm
from trustbench.errors import InputError
from trustbench.models.torch import TorchModel

__all__ = ["DomainLike", "as_domain", "eval_mode", "inner_maximize", "make_generator",
           "unwrap"]

#: What a ``domain=`` argument accepts: a Domain, ``(lower, upper)``, a Schema (its raw
#: bounds and feature constraints) or ``None`` (unbounded).
DomainLike = Domain | tuple[float, float] | Schema | None

Forward = Callable[[torch.Tensor], torch.Tensor]


def unwrap(model: nn.Module | TorchModel) -> tuple[nn.Module, Forward]:
    """Return the module whose train/eval flags matter and the raw-input -> logits function.

    A :class:`TorchModel` keeps its normalisation (``mean``/``std``/``preprocess``), so
    the loss works in raw input space like the attacks do.
    """
    if isinstance(model, TorchModel):
        tm = model
        return tm.module, lambda x: tm.module(tm.prepare(x))
    if isinstance(model, nn.Module):
        return model, model
    raise InputError(f"model must be a torch nn.Module or a trustbench TorchModel, got "
                     f"{type(model).__name__}",
                     fix="use harden_by_augmentation for scikit-learn and other black-box models")


def as_domain(domain: DomainLike) -> Domain:
    """Resolve a ``domain=`` argument (see :data:`DomainLike`)."""
    if domain is None:
        return Domain()
    if isinstance(domain, Domain):
        return domain
    if isinstance(domain, Schema):
        return domain.domain(units="raw")
    if isinstance(domain, tuple) and len(domain) == 2:
        lo, hi = float(domain[0]), float(domain[1])
        if not lo <= hi:
            raise InputError(f"domain (lower, upper) must have lower <= upper, got {domain}")
        return Domain(lo, hi)
    raise InputError(f"domain must be a Domain, a (lower, upper) pair, a Schema or None, got "
                     f"{type(domain).__name__}")


def check_threat(eps: float, norm: str, steps: int | None = None) -> None:
    if not (isinstance(eps, (int, float)) and eps >= 0 and eps == eps and eps != float("inf")):
        raise InputError(f"eps must be a finite number >= 0, got {eps!r}")
    if norm not in ("linf", "l2"):
        raise InputError(f"norm must be 'linf' or 'l2', got {norm!r}")
    if steps is not None and (not isinstance(steps, int) or steps < 1):
        raise InputError(f"steps must be a positive integer, got {steps!r}")


def make_generator(seed: int | None, generator: torch.Generator | None) -> torch.Generator:
    """Return ``generator`` if given, else a new CPU generator seeded with ``seed`` (0 if None)."""
    if generator is not None:
        if seed is not None:
            raise InputError("pass either seed or generator, not both")
        return generator
    return torch.Generator().manual_seed(0 if seed is None else int(seed))


def rand_like(x: torch.Tensor, generator: torch.Generator, *, normal: bool = False) -> torch.Tensor:
    """Uniform [0, 1) (or standard normal) noise shaped like ``x``.

    It is drawn on the generator's device and moved to ``x``'s.
    """
    draw = torch.randn if normal else torch.rand
    out = draw(x.shape, generator=generator, dtype=x.dtype, device=generator.device)
    return out.to(x.device)


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """Put every submodule in eval mode for the block.

    Batch norm uses and keeps its running statistics, dropout is off; the user's flags are
    restored afterwards, whatever they were.
    """
    modules = list(module.modules())
    flags = [m.training for m in modules]
    for m in modules:
        m.training = False
    try:
        yield
    finally:
        for m, f in zip(modules, flags, strict=True):
            m.training = f


def inner_maximize(
    module: nn.Module,
    forward: Forward,
    x: torch.Tensor,
    start: torch.Tensor,
    objective: Callable[[torch.Tensor], torch.Tensor],
    *,
    eps: float,
    norm: Norm,
    step_size: float,
    steps: int,
    domain: Domain,
) -> torch.Tensor:
    """Projected gradient ascent on ``objective(logits) -> scalar`` from ``start``.

    Runs with the module in eval mode and takes ``torch.autograd.grad`` with respect to
    the input only, so parameters' ``.grad`` and batch-norm statistics are untouched.
    Returns a detached (N, ...) tensor inside the eps-ball around ``x`` and the domain.
    """
    x = x.detach()
    x_adv = domain.project(start.detach(), x, norm=norm, eps=eps)
    with eval_mode(module), torch.enable_grad():
        for _ in range(steps):
            x_adv.requires_grad_(True)
            (grad,) = torch.autograd.grad(objective(forward(x_adv)), x_adv)
            x_adv = domain.project(x_adv.detach() + step_size * normalized_step(grad, norm), x,
                                   norm=norm, eps=eps)
    return x_adv.detach()


def reduce(per_example: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_example.mean()
    if reduction == "sum":
        return per_example.sum()
    if reduction == "none":
        return per_example
    raise InputError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def ensure_tensors(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if not torch.is_tensor(x) or not torch.is_tensor(y):
        raise InputError("x and y must be torch tensors (a batch from your DataLoader)")
    if len(x) != len(y):
        raise InputError(f"x has {len(x)} rows but y has {len(y)}")
    return x, y
