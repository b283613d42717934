"""Measurements of a model as deployed: CPU latency per example."""

from __future__ import annotations

import statistics
import time

import torch

from trustbench.models.base import Model

__all__ = ["latency_per_example", "latency_samples"]


def latency_samples(model: Model, x: torch.Tensor, *, batch_size: int,
                    repeats: int = 20) -> list[float]:
    """Seconds per example of ``model.scores`` on one batch, for each of ``repeats`` calls.

    The batch is ``batch_size`` rows of ``x`` (repeated if ``x`` is shorter), timed after
    two warm-up calls.
    """
    xb = x[:batch_size]
    if len(xb) < batch_size:
        xb = xb.repeat((batch_size // max(len(xb), 1) + 1,) + (1,) * (x.ndim - 1))[:batch_size]
    for _ in range(2):
        model.scores(xb)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.scores(xb)
        times.append((time.perf_counter() - t) / batch_size)
    return times


def latency_per_example(model: Model, x: torch.Tensor, *, batch_size: int,
                        repeats: int = 20) -> float:
    """Median seconds per example of ``model.scores`` on one batch, over ``repeats`` timed calls.

    The batch is ``batch_size`` rows of ``x``, timed after two warm-up calls.
    """
    return statistics.median(latency_samples(model, x, batch_size=batch_size, repeats=repeats))
