"""Measurements of a deployed model: CPU latency per example and size on disk."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch
from torch import nn

from trustbench.harden.quantize import _quiet
from trustbench.models.base import Model

__all__ = ["latency_per_example", "save_float", "save_int8"]


def latency_per_example(model: Model, x: torch.Tensor, *, batch_size: int,
                        repeats: int = 20) -> float:
    """Median seconds per example of ``model.scores`` on one batch, over ``repeats`` timed calls.

    The batch is ``batch_size`` rows of ``x``, timed after two warm-up calls.
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
        times.append(time.perf_counter() - t)
    return statistics.median(times) / batch_size


def save_float(module: nn.Module, path: Path) -> Path:
    """Weights as safetensors (what ``trustbench scan --model ... --arch ...`` loads)."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in module.state_dict().items()}, str(path))
    return path


def save_int8(module: nn.Module, path: Path) -> Path:
    """Save the quantized state_dict with ``torch.save``; return ``path``.

    Safetensors cannot hold quantized tensors; rebuild the module with ``quantize_int8`` and
    ``load_state_dict`` to reuse it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet():
        torch.save(module.state_dict(), str(path))
    return path
