"""AuditContext: the tables, the column roles and what the checks share.

A check is a plain function ``check(ctx: AuditContext) -> list[Finding]``; it reads the
train and test rows from ``ctx.frame`` (train rows first, then test rows) and the cached
encodings below, and may leave what later steps use in the typed fields ``leaked``,
``label_errors``, ``label_scores`` and ``near``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from trustbench.findings import Finding
from trustbench.progress import ProgressFactory, no_progress
from trustbench.scorecard import NotMeasured

__all__ = ["MAX_EVIDENCE_ROWS", "AuditCheck", "AuditContext", "ProgressFactory", "no_progress"]

#: Row ids listed in a finding's evidence, per split; counts are always complete.
MAX_EVIDENCE_ROWS = 100

AuditCheck = Callable[["AuditContext"], list[Finding]]


@dataclass
class AuditContext:
    """Everything one audit run looks at.

    Attributes
    ----------
    frame
        Train rows then test rows, index ``0..N-1``; position ``i < n_train`` is train row
        ``i``, position ``n_train + j`` is test row ``j`` (rows as in the files).
    n_train
        Number of train rows.
    target, features, groups, id_column, time_column
        The column roles; ``features`` are the columns with no other role.
    names
        ``{"train": ..., "test": ...}``: where each split came from.
    model
        A :class:`~trustbench.models.Model` for the fairness metrics, or ``None``.
    model_inputs
        Per split, the array the model takes when it is not the table itself (built-ins).
    pred_probs
        Out-of-fold class probabilities (N, C) in the order of :attr:`classes`, if given.
    embeddings
        (N, D) vectors for near-duplicate search, if given.
    expect
        Group column -> {value: expected share}.
    schema
        A parsed schema file (:func:`trustbench.audit.io.read_schema`), or ``None``.
    label_model
        ``"logistic"`` or ``"hgb"``: the default model of the label-error check.
    max_rows
        Rows that model-fitting checks train on at most (a seeded sample beyond that).
    leaked
        What the leakage checks found, for the test flags: reason -> test positions that
        leaked (``None`` until a leakage check ran).
    label_errors, label_scores
        Positions the label-error check flagged and its per-row scores (``None`` until it
        ran).
    near
        The near-duplicate search's pairs, computed once and shared by the duplicate and
        leakage checks (:func:`trustbench.audit.neighbours.near_pairs`).
    skipped
        What was not measured, and why: :class:`~trustbench.scorecard.NotMeasured` records
        (:meth:`skip` adds one).
    """

    frame: pd.DataFrame
    n_train: int
    target: str
    features: list[str]
    groups: list[str] = field(default_factory=list)
    id_column: str | None = None
    time_column: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    model: Any = None
    model_inputs: dict[str, np.ndarray] = field(default_factory=dict)
    pred_probs: np.ndarray | None = None
    embeddings: np.ndarray | None = None
    expect: dict[str, dict[str, float]] = field(default_factory=dict)
    schema: dict[str, Any] | None = None
    label_model: str = "logistic"
    max_rows: int = 100_000
    seed: int = 0
    progress: ProgressFactory = no_progress
    leaked: dict[str, np.ndarray] | None = None
    label_errors: np.ndarray | None = None
    label_scores: np.ndarray | None = None
    near: dict[str, Any] | None = None
    skipped: list[NotMeasured] = field(default_factory=list)

    def leak(self, reason: str, positions: np.ndarray) -> None:
        """Record test ``positions`` that leaked, and why (``leaked`` is then measured)."""
        if self.leaked is None:
            self.leaked = {}
        self.leaked[reason] = np.asarray(positions, np.int64)

    def skip(self, check: str, reason: str) -> None:
        """Note that ``check`` was not measured and why (the sentence ``"check (reason)"``)."""
        self.skipped.append(NotMeasured(check, reason))

    # -- splits ----------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of rows, train and test together."""
        return len(self.frame)

    @property
    def n_test(self) -> int:
        """Number of test rows."""
        return self.n - self.n_train

    @property
    def has_test(self) -> bool:
        """Whether there are any test rows."""
        return self.n_test > 0

    @cached_property
    def is_test(self) -> np.ndarray:
        """(N,) True for test rows."""
        return np.arange(self.n) >= self.n_train

    def rows(self, positions: np.ndarray, *, limit: int = MAX_EVIDENCE_ROWS) -> dict[str, Any]:
        """Return the evidence for a set of positions.

        The evidence is the row numbers within each file (0-based, header not counted),
        capped at ``limit`` per split, with the full counts.
        """
        pos = np.unique(np.asarray(positions, dtype=np.int64))
        train, test = pos[pos < self.n_train], pos[pos >= self.n_train] - self.n_train
        out: dict[str, Any] = {"n_train": len(train), "train": train[:limit].tolist()}
        if self.has_test:
            out |= {"n_test": len(test), "test": test[:limit].tolist()}
        if self.id_column is not None:
            out["ids"] = self.frame[self.id_column].to_numpy()[pos[:limit]].tolist()
        return out

    def rng(self, salt: int) -> np.random.Generator:
        """Return a generator per check: results do not depend on which other checks ran."""
        return np.random.default_rng([self.seed, salt])

    def sample(self, n: int, *, salt: int, within: np.ndarray | None = None) -> np.ndarray:
        """At most ``n`` sorted positions (of ``within``, default all rows), seeded."""
        pool = np.arange(self.n) if within is None else np.asarray(within)
        if len(pool) <= n:
            return pool
        return np.sort(self.rng(salt).choice(pool, size=n, replace=False))

    # -- cached encodings ------------------------------------------------------------
    @cached_property
    def labels(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, classes)``: (N,) int64 class indices into the sorted ``classes``."""
        codes, classes = pd.factorize(self.frame[self.target], sort=True)
        return codes.astype(np.int64), np.asarray(classes)

    @property
    def y(self) -> np.ndarray:
        """(N,) int64 class indices into :attr:`classes` (the codes of :attr:`labels`)."""
        return self.labels[0]

    @property
    def classes(self) -> np.ndarray:
        """The sorted class values of the target column (the classes of :attr:`labels`)."""
        return self.labels[1]

    @cached_property
    def kinds(self) -> dict[str, str]:
        """Feature column -> ``"numeric"``, ``"categorical"`` or ``"datetime"``."""
        from trustbench.audit.profile import column_kind

        return {c: column_kind(self.frame[c]) for c in self.features}

    @cached_property
    def encoded(self) -> np.ndarray:
        """(N, F) float32: numbers as they are, categories as codes, times as ns; NaN kept."""
        x = np.empty((self.n, len(self.features)), np.float32)
        for j, c in enumerate(self.features):
            s, kind = self.frame[c], self.kinds[c]
            if kind == "numeric":
                x[:, j] = s.to_numpy(np.float32, na_value=np.nan)
            elif kind == "datetime":
                v = s.to_numpy("datetime64[ns]").astype(np.int64).astype(np.float64)
                v[s.isna().to_numpy()] = np.nan
                x[:, j] = v
            else:
                codes, _ = pd.factorize(s.astype(object))
                x[:, j] = np.where(codes < 0, np.nan, codes)
        return x

    @cached_property
    def center_scale(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-feature median, robust scale and whether the IQR was positive.

        The robust scale is IQR/1.349, else std, else 1; all three come from a seeded
        sample of at most 200,000 rows.
        """
        sample = self.encoded[self.sample(200_000, salt=1)]
        with np.errstate(all="ignore"):
            q1, med, q3 = (np.nanquantile(sample, q, axis=0) if np.isnan(sample).any()
                           else np.quantile(sample, q, axis=0) for q in (0.25, 0.5, 0.75))
            scale = (q3 - q1) / 1.349
            std = np.nanstd(sample, axis=0)
        robust = scale > 0
        scale = np.where(robust, scale, np.where(std > 0, std, 1.0))
        return np.nan_to_num(med).astype(np.float32), scale.astype(np.float32), robust

    @cached_property
    def scaled(self) -> np.ndarray:
        """(N, F) float32 robust-scaled features, missing values at the median (0).

        A category mismatch counts as a distance of at least 10, so rows with different
        categories are never near each other.
        """
        med, scale, _ = self.center_scale
        cat = np.array([self.kinds[c] == "categorical" for c in self.features])
        scale = np.where(cat, 0.1, scale).astype(np.float32)
        med = np.where(cat, 0.0, med).astype(np.float32)
        z = (self.encoded - med) / scale
        np.nan_to_num(z, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        return z

    @cached_property
    def row_hash(self) -> np.ndarray:
        """(N,) uint64 hash of each row's feature values (equal rows hash equally)."""
        return pd.util.hash_pandas_object(self.frame[self.features], index=False).to_numpy()
