"""Built-in datasets, bundled with scikit-learn: nothing is downloaded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from trustbench.data.dataset import Dataset
from trustbench.data.schema import Schema
from trustbench.errors import InputError

__all__ = ["BUILTIN", "TEST_SIZE", "load_builtin"]

#: Fraction of each built-in dataset held out as the test split (stratified, seeded).
TEST_SIZE = 0.3

Split = Literal["train", "test", "all"]


def _digits() -> tuple[np.ndarray, np.ndarray, Schema, list[str]]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)  # (N, 1, 8, 8) in [0, 1]
    schema = Schema("image", np.zeros((1, 8, 8)), np.ones((1, 8, 8)), "declared")
    return x, d.target.astype(np.int64), schema, []


def _breast_cancer() -> tuple[np.ndarray, np.ndarray, Schema, list[str]]:
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    x = d.data.astype(np.float32)  # raw features, no scaling: the model owns preprocessing
    schema = Schema.from_data(x, modality="tabular", feature_names=list(d.feature_names),
                              feature_types=["numeric"] * x.shape[1])
    note = ("feature bounds are the min and max of the whole breast_cancer dataset: "
            "attacks cannot leave that range")
    return x, d.target.astype(np.int64), schema, [note]


BUILTIN: dict[str, Callable[[], tuple[np.ndarray, np.ndarray, Schema, list[str]]]] = {
    "digits": _digits,
    "breast_cancer": _breast_cancer,
}


def load_builtin(name: str, *, split: Split = "test", seed: int = 0) -> Dataset:
    """Load a built-in dataset.

    The split is a stratified ``train_test_split`` with ``test_size=0.3`` and
    ``random_state=seed``, so ``split="train"`` and ``split="test"`` with the same seed are
    disjoint and together make the whole dataset. ``digits``: 1,797 8×8 grayscale images
    as float32 in [0, 1], shape (N, 1, 8, 8), 10 classes (540 test rows at seed 0).
    ``breast_cancer``: 569 rows of 30 raw float features, 2 classes.
    """
    if name not in BUILTIN:
        raise InputError(f"unknown built-in dataset {name!r}",
                         fix=f"use one of {', '.join(BUILTIN)} or a .csv/.parquet/.npz path")
    if split not in ("train", "test", "all"):
        raise InputError(f"split must be 'train', 'test' or 'all', got {split!r}")
    x, y, schema, notes = BUILTIN[name]()
    if split != "all":
        from sklearn.model_selection import train_test_split

        idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=TEST_SIZE,
                                               stratify=y, random_state=seed)
        idx = idx_train if split == "train" else idx_test
        x, y = x[idx], y[idx]
    return Dataset(x, y, schema, name=f"{name}[{split}]", notes=notes)
