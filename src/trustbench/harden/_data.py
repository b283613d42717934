"""Data plumbing of the training loops: tensors, class-index labels, a validation split."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from trustbench.data.dataset import Dataset
from trustbench.errors import InputError
from trustbench.models.torch import TorchModel

__all__ = ["Data", "split_validation", "to_tensors"]

Data = Dataset | tuple[Any, Any]


def to_tensors(data: Data, module: nn.Module, what: str) -> tuple[torch.Tensor, torch.Tensor, Any]:
    """(x, y) as float32 / int64 tensors, and the schema (or None) for the domain."""
    if isinstance(data, Dataset):
        x_np, y_raw, schema = data.x, data.y, data.schema
    elif isinstance(data, tuple) and len(data) == 2:
        x_np, y_raw, schema = data[0], data[1], None
    else:
        raise InputError(f"{what} must be a trustbench Dataset or an (x, y) pair, got "
                         f"{type(data).__name__}")
    x = torch.as_tensor(np.asarray(x_np) if not torch.is_tensor(x_np) else x_np,
                        dtype=torch.float32)
    y_np = y_raw.numpy() if torch.is_tensor(y_raw) else np.asarray(y_raw)
    tm = TorchModel(module)
    tm.check_input(x)
    ds = data if isinstance(data, Dataset) else None
    if ds is None:
        from trustbench.data.schema import Schema

        ds = Dataset(x.numpy(), y_np, Schema.from_data(x.numpy()), name=what)
    y = torch.from_numpy(ds.label_indices(None, tm.n_classes))
    return x, y, schema


def split_validation(x: torch.Tensor, y: torch.Tensor, fraction: float,
           seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Seeded, stratified (where every class has two rows) train/validation split."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    counts = np.bincount(y.numpy())
    stratify = y.numpy() if counts[counts > 0].min() >= 2 else None
    n_val = max(1, round(fraction * len(y)))
    if stratify is not None and n_val < int((counts > 0).sum()):
        stratify = None
    tr, va = train_test_split(idx, test_size=n_val, random_state=seed, stratify=stratify)
    tr, va = np.sort(tr), np.sort(va)
    return x[tr], y[tr], x[va], y[va]
