"""Data and toy models for the shift tests (imported by conftest.py and the test modules).

They live in :mod:`trustbench.testing` so the public conformance kit uses the same ones:
grayscale digits, colour digits with a saturation-sensitive model, colour images and a
tabular set with integer, immutable and categorical features."""

from __future__ import annotations

import torch

from trustbench.models import Model
from trustbench.testing.toy import TINT, MinChannel
from trustbench.testing.toy_tables import ToyTabular as Tabular
from trustbench.testing.toy_tables import toy_tabular

__all__ = ["CATEGORICAL", "IMMUTABLE", "INTEGER", "TINT", "MinChannel", "Tabular", "accuracy",
           "tabular_set"]

#: The breast_cancer columns given those types (the defaults of ToyTabular's fields).
INTEGER, IMMUTABLE, CATEGORICAL = Tabular.integer, Tabular.immutable, Tabular.categorical


def tabular_set() -> Tabular:
    """The typed breast-cancer test split (:func:`trustbench.testing.toy_tables.toy_tabular`)."""
    return toy_tabular()


def accuracy(model: Model, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model.scores(x).argmax(1) == y).float().mean())
