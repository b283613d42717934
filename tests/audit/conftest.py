"""Synthetic tables with planted problems whose positions are known."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

FEATURES = ["f0", "f1", "f2", "f3", "cat"]


def make_table(n: int, *, seed: int, bias: float = 0.0) -> pd.DataFrame:
    """Numeric features, a category, a group (30% 'y'), ids, dates and a label that a
    linear model learns well; ``bias`` lowers the positive rate of group 'y'."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    group = np.where(rng.random(n) < 0.3, "y", "x")
    score = 2 * x[:, 0] + x[:, 1] - bias * (group == "y")
    df = pd.DataFrame(x, columns=FEATURES[:4])
    df["cat"] = rng.choice(["a", "b", "c"], n)
    df["g"] = group
    df["uid"] = [f"u{seed}-{i}" for i in range(n)]
    df["t"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    df["y"] = (score > 0).astype(int)
    return df


@pytest.fixture(scope="session")
def table_factory():  # type: ignore[no-untyped-def]
    """:func:`make_table`, for tests that need other sizes, seeds or bias."""
    return make_table


@dataclass
class Planted:
    train: pd.DataFrame
    test: pd.DataFrame
    exact: dict[int, int] = field(default_factory=dict)  # train copy -> original
    near: dict[int, int] = field(default_factory=dict)  # train copy -> original
    leak_exact: list[int] = field(default_factory=list)  # test rows copied from train
    leak_near: list[int] = field(default_factory=list)
    shared_ids: list[int] = field(default_factory=list)


@pytest.fixture(scope="module")
def planted() -> Planted:
    train = make_table(600, seed=1)
    test = make_table(200, seed=2)
    p = Planted(train, test)
    for i in range(5):  # exact duplicates within train
        train.loc[100 + i, FEATURES] = train.loc[10 + i, FEATURES].to_numpy()
        p.exact[100 + i] = 10 + i
    for i in range(5):  # near duplicates within train
        train.loc[200 + i, FEATURES] = train.loc[20 + i, FEATURES].to_numpy()
        train.loc[200 + i, "f0"] += 1e-4
        p.near[200 + i] = 20 + i
    for i in range(8):  # test rows copied from train
        test.loc[i, [*FEATURES, "y"]] = train.loc[300 + i, [*FEATURES, "y"]].to_numpy()
        p.leak_exact.append(i)
    for i in range(8, 12):  # test rows nearly copied from train
        test.loc[i, FEATURES] = train.loc[300 + i, FEATURES].to_numpy()
        test.loc[i, "f1"] += 1e-4
        p.leak_near.append(i)
    for i in range(20, 25):  # same entity in both splits
        test.loc[i, "uid"] = train.loc[400 + i, "uid"]
        p.shared_ids.append(i)
    for df in (train, test):
        for c in FEATURES[:4]:
            df[c] = df[c].astype(float)
    return p
