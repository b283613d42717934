"""Knowledge distillation into a smaller student: plain (KD) and robustness-preserving (ARD, RSLAD).

The losses are drop-in functions like :mod:`trustbench.harden.losses` (the teacher runs in
eval mode without gradients; the student's inner attack runs in eval mode with gradients
taken with respect to the input only); :func:`distill` is a small loop around them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from trustbench.data.dataset import Dataset
from trustbench.domain import Norm
from trustbench.errors import InputError
from trustbench.harden._common import (
    DomainLike,
    as_domain,
    check_threat,
    eval_mode,
    inner_maximize,
    make_generator,
    rand_like,
    unwrap,
)
from trustbench.harden._data import to_tensors
from trustbench.harden.losses import DEFAULT_DOMAIN, _uniform_start
from trustbench.models.torch import TorchModel

__all__ = ["DISTILL_METHODS", "ard_loss", "default_student", "distill", "kd_loss", "rslad_loss"]

DISTILL_METHODS = ("kd", "ard", "rslad")


def _soft(teacher: nn.Module | TorchModel, x: torch.Tensor) -> torch.Tensor:
    module, forward = unwrap(teacher)
    with eval_mode(module), torch.no_grad():
        return forward(x)  # (N, C) teacher logits, no gradient


def _kl(student_logits: torch.Tensor, teacher_probs: torch.Tensor) -> torch.Tensor:
    """(N,) KL(teacher || student) per example."""
    return F.kl_div(F.log_softmax(student_logits, 1), teacher_probs, reduction="none").sum(1)


def kd_loss(student: nn.Module | TorchModel, teacher: nn.Module | TorchModel, x: torch.Tensor,
            y: torch.Tensor, *, temperature: float = 4.0, alpha: float = 0.9) -> torch.Tensor:
    """``alpha * T² * KL(teacher_T || student_T) + (1 - alpha) * CE(student, y)``.

    References
    ----------
    Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network", NeurIPS 2014
    Deep Learning Workshop (arXiv:1503.02531, 2015).
    """
    _, s_forward = unwrap(student)
    t = temperature
    s_logits = s_forward(x)
    soft = F.softmax(_soft(teacher, x) / t, 1)
    return (alpha * t * t * _kl(s_logits / t, soft) +
            (1 - alpha) * F.cross_entropy(s_logits, y, reduction="none")).mean()


def ard_loss(student: nn.Module | TorchModel, teacher: nn.Module | TorchModel, x: torch.Tensor,
             y: torch.Tensor, *, eps: float, temperature: float = 4.0, alpha: float = 0.9,
             steps: int = 10, step_size: float | None = None, norm: Norm = "linf",
             domain: DomainLike = DEFAULT_DOMAIN, seed: int | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Adversarially robust distillation (ARD).

    The student matches the teacher's clean soft labels on its own PGD adversarial examples
    (found by ascending the student's cross-entropy from a random start), plus
    ``1 - alpha`` of clean cross-entropy.

    ``alpha * T² * KL(teacher_T(x) || student_T(x')) + (1 - alpha) * CE(student(x), y)``.

    References
    ----------
    Goldblum, Fowl, Feizi & Goldstein, "Adversarially Robust Distillation", AAAI 2020.
    """
    check_threat(eps, norm, steps)
    s_module, s_forward = unwrap(student)
    dom, gen = as_domain(domain), make_generator(seed, generator)
    step = 2.5 * eps / steps if step_size is None else float(step_size)
    x_adv = inner_maximize(s_module, s_forward, x, _uniform_start(x, norm=norm, eps=eps,
                                                                   generator=gen),
                           lambda logits: F.cross_entropy(logits, y, reduction="sum"),
                           eps=eps, norm=norm, step_size=step, steps=steps, domain=dom)
    t = temperature
    soft = F.softmax(_soft(teacher, x) / t, 1)
    return (alpha * t * t * _kl(s_forward(x_adv) / t, soft) +
            (1 - alpha) * F.cross_entropy(s_forward(x), y, reduction="none")).mean()


def rslad_loss(student: nn.Module | TorchModel, teacher: nn.Module | TorchModel,
               x: torch.Tensor, y: torch.Tensor, *, eps: float, steps: int = 10,
               step_size: float | None = None, norm: Norm = "linf",
               domain: DomainLike = DEFAULT_DOMAIN, seed: int | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Robust soft label adversarial distillation (RSLAD).

    The teacher's clean soft labels replace the hard labels everywhere. The inner attack
    ascends ``KL(teacher(x) || student(x'))`` from ``x + 0.001 * N(0, 1)``; the loss is
    ``5/6 * KL(teacher(x) || student(x')) + 1/6 * KL(teacher(x) || student(x))``.
    ``y`` is unused (kept for a uniform signature).

    References
    ----------
    Zi, Zhao, Ma & Jiang, "Revisiting Adversarial Robustness Distillation: Robust Soft
    Labels Make Student Better", ICCV 2021.
    """
    check_threat(eps, norm, steps)
    s_module, s_forward = unwrap(student)
    dom, gen = as_domain(domain), make_generator(seed, generator)
    step = 2.5 * eps / steps if step_size is None else float(step_size)
    soft = F.softmax(_soft(teacher, x), 1)  # (N, C) robust soft labels
    start = x + 0.001 * rand_like(x, gen, normal=True)
    x_adv = inner_maximize(s_module, s_forward, x, start,
                           lambda logits: _kl(logits, soft).sum(),
                           eps=eps, norm=norm, step_size=step, steps=steps, domain=dom)
    return (5 / 6 * _kl(s_forward(x_adv), soft) + 1 / 6 * _kl(s_forward(x), soft)).mean()


def default_student(teacher: nn.Module) -> tuple[nn.Module, str, dict[str, Any]]:
    """Build a smaller model of the teacher's family, with its architecture reference.

    Known families: :class:`trustbench.demo.DemoCNN` (half the width). Returns
    ``(student, "package.module:Class", constructor kwargs)``.
    """
    from trustbench.demo import DemoCNN

    if isinstance(teacher, TorchModel):
        teacher = teacher.module
    if type(teacher) is DemoCNN:
        width = teacher.features[0].out_channels
        kwargs = {"width": max(1, width // 2), "n_classes": teacher.head[-1].out_features}
        return DemoCNN(**kwargs), "trustbench.demo:DemoCNN", kwargs
    raise InputError(
        f"no default student for a {type(teacher).__name__}: trustbench only knows how to "
        "shrink trustbench.demo.DemoCNN",
        fix="pass a smaller student module (Python: student=...; CLI: --student-arch "
        "package.module:Class --student-arch-kwargs JSON)")


def distill(
    teacher: nn.Module | TorchModel,
    train_dataset: Dataset | tuple[Any, Any],
    *,
    student: nn.Module | None = None,
    method: Literal["kd", "ard", "rslad"] = "rslad",
    eps: float = 0.1,
    norm: Norm = "linf",
    temperature: float = 4.0,
    alpha: float = 0.9,
    steps: int = 10,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 3e-3,
    domain: DomainLike | Literal["schema"] = "schema",
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> nn.Module:
    """Train ``student`` (default: :func:`default_student`) to imitate ``teacher``.

    Adam with a per-step cosine decay; the student is returned in eval mode. ``kd`` uses
    ``temperature`` and ``alpha``; ``ard`` both and ``eps``; ``rslad`` only ``eps``.
    ``progress(epoch, mean_loss)`` is called after each epoch (counting from 1). The
    student is initialised from a generator seeded with ``seed`` when it is the default.
    """
    if method not in DISTILL_METHODS:
        raise InputError(f"method {method!r} is unknown",
                        fix=f"use one of {', '.join(DISTILL_METHODS)}")
    if not isinstance(epochs, int) or epochs < 1:
        raise InputError(f"epochs must be a positive integer, got {epochs!r}")
    t_module, _ = unwrap(teacher)
    if student is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))  # layer init draws from the global generator
            student, _, _ = default_student(t_module)
    x, y, schema = to_tensors(train_dataset, t_module, "train_dataset")
    dom = as_domain(DEFAULT_DOMAIN if domain == "schema" and schema is None
                    else schema if domain == "schema" else domain)  # type: ignore[arg-type]
    device = next((p.device for p in student.parameters()), torch.device("cpu"))
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    total = max(epochs * math.ceil(len(x) / batch_size), 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for epoch in range(epochs):
            student.train()
            perm = torch.randperm(len(x), generator=gen)
            running, seen = 0.0, 0
            for i in range(0, len(x), batch_size):
                b = perm[i : i + batch_size]
                xb, yb = x[b].to(device), y[b].to(device)
                if method == "kd":
                    loss = kd_loss(student, t_module, xb, yb, temperature=temperature, alpha=alpha)
                elif method == "ard":
                    loss = ard_loss(student, t_module, xb, yb, eps=eps, temperature=temperature,
                                    alpha=alpha, steps=steps, norm=norm, domain=dom,
                                    generator=gen)
                else:
                    loss = rslad_loss(student, t_module, xb, yb, eps=eps, steps=steps, norm=norm,
                                      domain=dom, generator=gen)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                running += float(loss.detach()) * len(b)
                seen += len(b)
            if progress is not None:
                progress(epoch + 1, running / max(seen, 1))
    return student.eval()
