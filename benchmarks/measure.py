"""Timing, the gradient-pass floor, work counting and the common correctness check.

Everything here treats the libraries alike: the same model object, the same float32
tensors, the same batch (all points at once) and the same clock.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Counts", "Floor", "Verdict", "count_work", "floor_from", "floor_sample",
           "measure_floor", "verdict"]


@dataclass
class Counts:
    """Examples that went through the model, split by whether a gradient was taken."""

    grad: int = 0  # forward passes whose output needs a gradient (each one is backpropagated)
    forward: int = 0  # forward passes without gradient


@contextmanager
def count_work(model: nn.Module) -> Iterator[Counts]:
    """Count examples per kind of pass with a forward hook on ``model``.

    The benchmark models' parameters do not require gradients, so an output requires a
    gradient exactly when the attack asked for the gradient with respect to the input.
    """
    counts = Counts()

    def hook(_module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        n = len(inputs[0])
        if isinstance(output, torch.Tensor) and output.requires_grad:
            counts.grad += n
        else:
            counts.forward += n

    handle = model.register_forward_hook(hook)
    try:
        yield counts
    finally:
        handle.remove()


@dataclass
class Floor:
    """Median seconds of one forward+backward pass (input gradient of the mean
    cross-entropy) and of one no-grad forward pass, over the whole batch: wall-clock and
    process CPU time."""

    n: int
    grad_pass: float
    forward_pass: float
    grad_pass_cpu: float = 0.0
    forward_pass_cpu: float = 0.0

    def nominal(self, k: int, *, cpu: bool = False) -> float:
        """``k`` forward+backward passes over all ``n`` points: what every library must
        at least spend on a k-step gradient attack that keeps all points."""
        return k * (self.grad_pass_cpu if cpu else self.grad_pass)

    def of_work(self, counts: Counts, *, cpu: bool = False) -> float:
        """The floor of the work actually done: per-example pass costs times the counts."""
        g, f = ((self.grad_pass_cpu, self.forward_pass_cpu) if cpu
                else (self.grad_pass, self.forward_pass))
        return (counts.grad * g + counts.forward * f) / self.n


def _grad_pass(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    xr = x.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(xr), y)
    torch.autograd.grad(loss, xr)


def _forward_pass(model: nn.Module, x: torch.Tensor) -> None:
    with torch.inference_mode():
        model(x).argmax(1)


Sample = tuple[float, float, float, float]


def floor_sample(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                 passes: int = 3) -> Sample:
    """Seconds per forward+backward pass and per no-grad forward pass over all of ``x``,
    each averaged over ``passes`` back-to-back passes: (grad wall, forward wall, grad CPU,
    forward CPU)."""
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(passes):
        _grad_pass(model, x, y)
    w1, c1 = time.perf_counter(), time.process_time()
    for _ in range(passes):
        _forward_pass(model, x)
    w2, c2 = time.perf_counter(), time.process_time()
    return ((w1 - w0) / passes, (w2 - w1) / passes, (c1 - c0) / passes, (c2 - c1) / passes)


def floor_from(samples: list[Sample], n: int) -> Floor:
    """The medians of :func:`floor_sample` results."""
    return Floor(n, *(statistics.median(s[i] for s in samples) for i in range(4)))


def measure_floor(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, repeats: int,
                  passes: int = 5) -> Floor:
    """:func:`floor_sample` ``max(repeats, 5)`` times after a warm-up; the medians."""
    floor_sample(model, x, y, passes=1)
    return floor_from([floor_sample(model, x, y, passes=passes)
                       for _ in range(max(repeats, 5))], len(x))


@dataclass
class Verdict:
    """The common check of one attack's output: the same for every library."""

    robust_accuracy: float
    max_perturbation: float  # largest per-example norm of x_adv - x
    in_ball: bool  # every perturbation within eps (+1e-5) and x_adv within [0, 1]


@torch.no_grad()
def verdict(model: nn.Module, x: torch.Tensor, y: torch.Tensor, x_adv: torch.Tensor, *,
            norm: str, eps: float) -> Verdict:
    """Robust accuracy of ``x_adv`` and whether it respects the threat model.

    A point whose ``x_adv`` leaves the ball or the box would be counted as robust here,
    so that no library gains from an infeasible perturbation.
    """
    x_adv = x_adv.detach().to(torch.float32)
    d = (x_adv - x).flatten(1)  # (N, D)
    sizes = d.abs().amax(1) if norm == "linf" else d.norm(dim=1)  # (N,)
    feasible = (sizes <= eps + 1e-5) & (x_adv.flatten(1).amin(1) >= -1e-6) & (
        x_adv.flatten(1).amax(1) <= 1 + 1e-6)
    correct = model(x_adv).argmax(1) == y
    robust = correct | ~feasible
    return Verdict(robust_accuracy=float(robust.float().mean()),
                   max_perturbation=float(sizes.max()) if len(sizes) else 0.0,
                   in_ball=bool(feasible.all()))
