"""Small tables with known structure, for tests of shifts and audit checks and for extensions.

* :func:`toy_tabular` — scikit-learn's breast-cancer data in range units, with one integer,
  one immutable and one categorical feature, its :class:`~trustbench.data.Schema` and
  :class:`~trustbench.domain.Domain`, and a model that a shift can hurt.
* :func:`toy_audit_tables` — a train/test pair of DataFrames with every column role (label,
  group, category, entity id, time) and planted duplicates, leaked rows and shared ids;
  :func:`toy_audit_context` — the :class:`~trustbench.audit.AuditContext` an audit check
  receives for them.

Both are deterministic (fixed seeds, no global RNG) and return fresh objects on every call.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import torch

from trustbench.data import Schema, load_builtin
from trustbench.domain import Domain
from trustbench.models import Model, SklearnModel
from trustbench.models.rescaled import RangeScaled

if TYPE_CHECKING:
    from trustbench.audit.base import AuditContext

__all__ = ["AUDIT_FEATURES", "ToyAuditTables", "ToyTabular", "toy_audit_context", "toy_audit_tables",
           "toy_tabular"]

#: The feature columns of :func:`toy_audit_tables` (besides ``g``, ``uid``, ``t``, ``y``).
AUDIT_FEATURES = ["f0", "f1", "f2", "f3", "cat"]


@dataclass
class ToyTabular:
    """The typed breast-cancer test split of :func:`toy_tabular`.

    Attributes
    ----------
    x
        (N, F) float32 features in range units (each feature's bounds mapped to [0, 1]).
    y
        (N,) int64 labels.
    schema, domain
        The features' bounds and types, and the valid inputs in range units.
    model
        A strongly regularised logistic regression that sees ``x`` in range units; it
        under-predicts the rarer class, so a label shift toward that class hurts it.
    integer, immutable, categorical
        The index of the feature of that type (categorical codes are 0..3).
    """

    x: torch.Tensor
    y: torch.Tensor
    schema: Schema
    domain: Domain
    model: Model
    integer: int = 1
    immutable: int = 0
    categorical: int = 27


@lru_cache(maxsize=1)
def _tabular() -> ToyTabular:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    integer, immutable, categorical = 1, 0, 27
    train, test = load_builtin("breast_cancer", split="train"), load_builtin("breast_cancer")
    edges = np.quantile(train.x[:, categorical], [0.25, 0.5, 0.75])

    def typed(x: np.ndarray) -> np.ndarray:
        x = x.copy()
        x[:, integer] = np.round(x[:, integer])
        x[:, categorical] = np.digitize(x[:, categorical], edges)  # codes 0..3
        return x

    x_train, x_test = typed(train.x), typed(test.x)
    types = ["numeric"] * x_test.shape[1]
    types[integer], types[immutable], types[categorical] = "integer", "immutable", "categorical"
    both = np.concatenate([x_train, x_test])
    schema = Schema("tabular", both.min(0), both.max(0), "data", None, types)
    est = make_pipeline(StandardScaler(), LogisticRegression(C=0.003)).fit(x_train, train.y)
    model = RangeScaled(SklearnModel(est), schema.lower, schema.span)
    return ToyTabular(torch.from_numpy(schema.to_units(x_test)), torch.from_numpy(test.y), schema,
                      schema.domain(units="range"), model, integer, immutable, categorical)


def toy_tabular() -> ToyTabular:
    """scikit-learn's breast-cancer test split (171 rows, 30 features), in range units.

    It has an integer (column 1, rounded), an immutable (column 0) and a categorical feature
    (column 27, quartile codes); see :class:`ToyTabular`. The model is trained once per
    process; every call returns copies.
    """
    t = _tabular()
    return ToyTabular(t.x.clone(), t.y.clone(), copy.deepcopy(t.schema), t.domain,
                      copy.deepcopy(t.model), t.integer, t.immutable, t.categorical)


def _audit_table(n: int, *, seed: int) -> pd.DataFrame:
    """Build a random audit table of ``n`` rows.

    It has numeric features, a category, a group ``g`` (30% ``"y"``), ids, dates and a
    label ``y`` that a linear model learns well (``2 f0 + f1 > 0``).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))  # (n, 4)
    group = np.where(rng.random(n) < 0.3, "y", "x")
    df = pd.DataFrame(x, columns=AUDIT_FEATURES[:4])
    df["cat"] = rng.choice(["a", "b", "c"], n)
    df["g"] = group
    df["uid"] = [f"u{seed}-{i}" for i in range(n)]
    df["t"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    df["y"] = (2 * x[:, 0] + x[:, 1] > 0).astype(int)
    return df


@dataclass
class ToyAuditTables:
    """A train/test pair from :func:`toy_audit_tables` and where its problems were planted.

    The places are row positions; for duplicates, train copy -> train original.
    """

    train: pd.DataFrame
    test: pd.DataFrame
    exact: dict[int, int] = field(default_factory=dict)
    near: dict[int, int] = field(default_factory=dict)
    leak_exact: list[int] = field(default_factory=list)
    leak_near: list[int] = field(default_factory=list)
    shared_ids: list[int] = field(default_factory=list)


@lru_cache(maxsize=1)
def _audit_tables() -> ToyAuditTables:
    # built once per process: row-wise assignment in pandas is slow
    train, test = _audit_table(600, seed=1), _audit_table(200, seed=2)
    p = ToyAuditTables(train, test)
    feats = AUDIT_FEATURES
    for i in range(5):  # exact duplicates within train
        train.loc[100 + i, feats] = train.loc[10 + i, feats].to_numpy()
        p.exact[100 + i] = 10 + i
    for i in range(5):  # near duplicates within train
        train.loc[200 + i, feats] = train.loc[20 + i, feats].to_numpy()
        train.loc[200 + i, "f0"] += 1e-4
        p.near[200 + i] = 20 + i
    for i in range(8):  # test rows copied from train
        test.loc[i, [*feats, "y"]] = train.loc[300 + i, [*feats, "y"]].to_numpy()
        p.leak_exact.append(i)
    for i in range(8, 12):  # test rows nearly copied from train
        test.loc[i, feats] = train.loc[300 + i, feats].to_numpy()
        test.loc[i, "f1"] += 1e-4
        p.leak_near.append(i)
    for i in range(20, 25):  # the same entity in both splits
        test.loc[i, "uid"] = train.loc[400 + i, "uid"]
        p.shared_ids.append(i)
    for df in (train, test):
        for c in feats[:4]:
            df[c] = df[c].astype(float)
    return p


def toy_audit_tables() -> ToyAuditTables:
    """Return a 600-row train and a 200-row test table with every audit role and planted problems.

    Columns: features ``f0..f3`` (float) and ``cat`` (a/b/c), group ``g`` (30% ``"y"``),
    entity id ``uid``, time ``t`` and label ``y`` (``2 f0 + f1 > 0``, which a linear model
    learns well). Planted: 5 exact and 5 near duplicates in train, 8 test rows copied from
    train, 4 nearly copied, 5 test rows sharing a train row's id. With every role given,
    every registered audit check measures everything on it. Built once per process; every
    call returns copies.
    """
    p = _audit_tables()
    return ToyAuditTables(p.train.copy(deep=True), p.test.copy(deep=True), dict(p.exact),
                          dict(p.near), list(p.leak_exact), list(p.leak_near),
                          list(p.shared_ids))


def _first_feature_model(x: np.ndarray) -> np.ndarray:
    """(N, 2) probabilities of a model that reads the first feature (``f0``)."""
    p = 1 / (1 + np.exp(-2 * x[:, 0]))
    return np.stack([1 - p, p], 1)


def toy_audit_context(*, roles: Literal["all", "few", "bare"] = "all",
                      seed: int = 1) -> AuditContext:
    """Build a fresh :class:`~trustbench.audit.AuditContext` on :func:`toy_audit_tables`.

    It is built as :func:`trustbench.audit.audit` builds it, to call an audit check on.

    Parameters
    ----------
    roles
        ``"all"``: 600 train and 200 test rows with every role (label ``y``, groups ``g``
        and ``cat``, id ``uid``, time ``t``, a model reading ``f0``, expected shares of
        ``g``, a schema bounding ``f0``); ``"few"``: the first 150 train and 60 test rows
        with a label, group ``g``, id and time only; ``"bare"``: the first 150 train rows
        (no test split) with a label only.
    seed
        The audit's seed.
    """
    from trustbench.audit.base import AuditContext
    from trustbench.audit.io import parse_expect, read_table, validate_tables
    from trustbench.models import CallableModel, as_model

    if roles not in ("all", "few", "bare"):
        raise ValueError(f"roles must be 'all', 'few' or 'bare', got {roles!r}")
    tables = toy_audit_tables()
    train, test = tables.train, tables.test
    roles_kw: dict[str, Any] = {"groups": [], "id_column": None, "time_column": None}
    extra: dict[str, Any] = {}
    if roles == "all":
        roles_kw = {"groups": ["g", "cat"], "id_column": "uid", "time_column": "t"}
        extra = {"model": as_model(CallableModel(_first_feature_model)),
                 "expect": parse_expect(["g=x:0.7,y:0.3"]),
                 "schema": {"features": {"f0": {"min": -3, "max": 3}}}}
    elif roles == "few":
        train, test = train.iloc[:150], test.iloc[:60]
        roles_kw = {"groups": ["g"], "id_column": "uid", "time_column": "t"}
    else:
        train, test = train.iloc[:150], None
    tr = read_table(train, split="train", name="train")
    te = None if test is None else read_table(test, split="test", name="test")
    features = validate_tables(tr, te, target="y", **roles_kw)
    frame = tr.frame if te is None else pd.concat([tr.frame, te.frame], ignore_index=True)
    names = {"train": tr.name} | ({"test": te.name} if te is not None else {})
    return AuditContext(frame=frame.reset_index(drop=True), n_train=len(tr.frame), target="y",
                        features=features, names=names, seed=seed, **roles_kw, **extra)
