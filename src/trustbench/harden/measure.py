"""Measurements of a deployed model: size on disk (latency lives in :mod:`trustbench.models.measure`)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from trustbench.harden.quantize import _quiet
from trustbench.models.measure import latency_per_example

__all__ = ["latency_per_example", "save_float", "save_int8"]


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
