"""Session fixtures of the shift tests; the data and models live in shift_fixtures.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage
from shift_fixtures import TINT, MinChannel, Tabular, tabular_set

from trustbench.models import Model, TorchModel
from trustbench.testing.toy import toy_digits, toy_digits_mlp


@pytest.fixture(scope="session")
def gray_digits() -> tuple[torch.Tensor, torch.Tensor]:
    return toy_digits()  # (597, 1, 8, 8)


@pytest.fixture(scope="session")
def colour_digits() -> tuple[torch.Tensor, torch.Tensor, Model]:
    x, y = toy_digits()
    tint = torch.tensor(TINT).view(1, 3, 1, 1)
    return x * tint, y, TorchModel(MinChannel(toy_digits_mlp().module), n_classes=10)


@pytest.fixture(scope="session")
def colour_images() -> torch.Tensor:
    """(6, 3, 32, 32) smooth random colour images in [0, 1]."""
    rng = np.random.default_rng(5)
    x = ndimage.gaussian_filter(rng.random((6, 3, 32, 32)), sigma=(0, 0, 2, 2))
    x = (x - x.min()) / (x.max() - x.min())
    return torch.from_numpy(x.astype(np.float32))


@pytest.fixture(scope="session")
def tabular() -> Tabular:
    return tabular_set()
