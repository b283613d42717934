"""Data and toy models for the shift tests (imported by conftest.py and the test modules):
grayscale digits, colour digits with a saturation-sensitive model, colour images and a
tabular set with integer, immutable and categorical features."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from trustbench.data import Schema, load_builtin
from trustbench.domain import Domain
from trustbench.models import Model, SklearnModel
from trustbench.models.rescaled import RangeScaled

#: The tint of the colour digits: HSV saturation 0.4 on every stroke.
TINT = (1.0, 0.8, 0.6)
INTEGER, IMMUTABLE, CATEGORICAL = 1, 0, 27  # breast_cancer columns given those types


@dataclass
class Tabular:
    x: torch.Tensor  # (N, F) range units
    y: torch.Tensor
    schema: Schema
    domain: Domain
    model: Model


def accuracy(model: Model, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model.scores(x).argmax(1) == y).float().mean())


class MinChannel(nn.Module):
    """Reads the achromatic part of a tinted digit (its smallest channel): a model that
    over-saturation blinds."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.amin(1, keepdim=True) / TINT[2])


@lru_cache(maxsize=1)
def tabular_set() -> Tabular:
    train, test = load_builtin("breast_cancer", split="train"), load_builtin("breast_cancer")
    edges = np.quantile(train.x[:, CATEGORICAL], [0.25, 0.5, 0.75])

    def typed(x: np.ndarray) -> np.ndarray:
        x = x.copy()
        x[:, INTEGER] = np.round(x[:, INTEGER])
        x[:, CATEGORICAL] = np.digitize(x[:, CATEGORICAL], edges)  # codes 0..3
        return x

    x_train, x_test = typed(train.x), typed(test.x)
    types = ["numeric"] * x_test.shape[1]
    types[INTEGER], types[IMMUTABLE], types[CATEGORICAL] = "integer", "immutable", "categorical"
    both = np.concatenate([x_train, x_test])
    schema = Schema("tabular", both.min(0), both.max(0), "data", None, types)
    # strongly regularised: it under-predicts the rarer class, so a label shift toward
    # that class lowers its accuracy
    est = make_pipeline(StandardScaler(), LogisticRegression(C=0.003)).fit(x_train, train.y)
    model = RangeScaled(SklearnModel(est), schema.lower, schema.span)
    return Tabular(torch.from_numpy(schema.to_units(x_test)), torch.from_numpy(test.y), schema,
                   schema.domain(units="range"), model)
