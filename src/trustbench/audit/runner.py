"""``audit()``: inspect a dataset (and a train/test pair) and report Findings in a Scorecard."""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trustbench.audit.base import AuditContext, ProgressFactory, no_progress
from trustbench.audit.io import (
    Table,
    dataset_fingerprint,
    guess_target,
    parse_expect,
    read_array,
    read_schema,
    read_table,
    validate_tables,
)
from trustbench.audit.profile import profile_columns
from trustbench.audit.registry import select_checks
from trustbench.audit.tags import DOCUMENTATION, LEAKAGE
from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.scorecard import Scorecard

__all__ = ["TEST_FLAGS_ID", "audit"]

#: Id of the finding that carries the flagged test rows to scans (see caveats.py).
TEST_FLAGS_ID = "audit.test_flags"

TableLike = str | Path | pd.DataFrame


def audit(
    train: TableLike,
    test: TableLike | None = None,
    *,
    target: str | None = None,
    groups: Sequence[str] = (),
    id_column: str | None = None,
    time_column: str | None = None,
    model: Any = None,
    pred_probs: np.ndarray | str | Path | None = None,
    embeddings: np.ndarray | str | Path | None = None,
    expect: dict[str, dict[str, float]] | Sequence[str] | None = None,
    schema: dict[str, Any] | str | Path | None = None,
    checks: Sequence[str] | None = None,
    label_model: str = "logistic",
    max_rows: int = 100_000,
    seed: int = 0,
    progress: ProgressFactory | None = None,
) -> Scorecard:
    """Audit a table (and a test table) for data quality, leakage, label errors, bias and representation.

    Parameters
    ----------
    train, test
        DataFrames, ``.csv``/``.parquet`` paths, or a built-in name (``digits``,
        ``breast_cancer``: ``train`` is its train split, ``test`` its test split).
    target
        The label column; guessed as for :func:`trustbench.data.load_data` when ``None``.
    groups
        Sensitive or slice columns; several also give their intersection.
    id_column, time_column
        Entity ids (shared ids across splits leak) and times (test rows older than training
        rows leak).
    model
        A model (anything :func:`trustbench.models.as_model` wraps) for fairness metrics;
        a scikit-learn one also makes the out-of-fold probabilities for label errors.
    pred_probs
        Out-of-fold probabilities (N, K), train rows then test rows (or train rows only),
        columns in sorted label order; or a ``.npy`` path. Replaces the cross-validation.
    embeddings
        (N, D) vectors, train rows then test rows, or a ``.npy`` path, for near duplicates.
    expect
        Expected group shares, ``{"sex": {"f": 0.5, "m": 0.5}}`` or ``["sex=f:0.5,m:0.5"]``.
    schema
        Declared bounds/types/categories (a dict or a JSON path, see
        :func:`trustbench.audit.io.read_schema`).
    checks
        Names from :data:`trustbench.audit.CHECKS` to run (default all).
    label_model
        Default model for label errors: ``"logistic"`` or ``"hgb"``.
    max_rows
        Rows a fitted model trains on at most (a seeded sample beyond that).
    seed
        Seeds every sample, fold split and bootstrap.
    progress
        ``progress(description, total) -> advance(n)``, for progress bars.
    """
    t0 = time.perf_counter()
    selected = select_checks(None if checks is None else list(checks))
    if label_model not in ("logistic", "hgb"):
        raise InputError(f"label_model must be 'logistic' or 'hgb', got {label_model!r}")
    if model is not None:
        from trustbench.models import as_model

        model = as_model(model)
    tr = read_table(train, split="train", seed=seed)
    te = None if test is None else read_table(test, split="test", seed=seed)
    target = target or guess_target(tr)
    groups = list(groups)
    features = validate_tables(tr, te, target=target, groups=groups, id_column=id_column,
                               time_column=time_column)
    frame = tr.frame if te is None else pd.concat([tr.frame, te.frame], ignore_index=True)
    n = len(frame)
    ctx = AuditContext(
        frame=frame.reset_index(drop=True), n_train=len(tr.frame), target=target,
        features=features, groups=groups, id_column=id_column, time_column=time_column,
        names={"train": tr.name} | ({"test": te.name} if te else {}), model=model,
        model_inputs={k: t.dataset.x for k, t in (("train", tr), ("test", te))
                      if t is not None and t.dataset is not None},
        expect=parse_expect(list(expect)) if isinstance(expect, (list, tuple)) else dict(expect or {}),
        schema=read_schema(schema) if isinstance(schema, (str, Path)) else schema,
        label_model=label_model, max_rows=max_rows, seed=seed,
        progress=progress or no_progress)
    if pred_probs is not None:
        ctx.pred_probs = _array(pred_probs, "predicted probabilities", (n, len(tr.frame)))
        if ctx.pred_probs.shape[1] != len(ctx.classes):
            raise InputError(f"pred_probs has {ctx.pred_probs.shape[1]} columns but the label "
                             f"{target!r} has {len(ctx.classes)} classes",
                             fix="one column per class, in sorted label order")
    if embeddings is not None:
        ctx.embeddings = _array(embeddings, "embeddings", (n,))
    timings: dict[str, float] = {}
    findings: list[Finding] = []
    advance = ctx.progress("audit checks", len(selected))
    for name, check in selected.items():
        t = time.perf_counter()
        findings += check(ctx)
        timings[name] = round(time.perf_counter() - t, 3)
        advance(1)
    if te is not None:
        findings.append(_test_flags(ctx, te))
    provenance = _provenance(ctx, tr, te, selected, timings, t0)
    findings.append(Finding(
        "provenance", "Audit manifest: fingerprints, roles, config, seed, versions", "info",
        tags=DOCUMENTATION,
        evidence={"data_fingerprints": {k: v["sha256"] for k, v in provenance["data"].items()}}))
    return Scorecard(findings, provenance, list(ctx.skipped))


def _array(a: np.ndarray | str | Path, what: str, rows: tuple[int, ...]) -> np.ndarray:
    if isinstance(a, (str, Path)):
        return read_array(a, what=what, rows=rows)
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] not in rows or not np.isfinite(a).all():
        raise InputError(f"{what}: shape {a.shape}; expected finite (N, K) with N in {rows} "
                         "(train rows, then test rows)")
    return a


def _test_flags(ctx: AuditContext, te: Table) -> Finding:
    leak = ctx.leaked or {}
    leak_rows = np.unique(np.concatenate([np.asarray(v, np.int64) for v in leak.values()]
                                         or [np.zeros(0, np.int64)])) - ctx.n_train
    label = np.asarray(ctx.label_errors if ctx.label_errors is not None else [], np.int64)
    label_rows = label[label >= ctx.n_train] - ctx.n_train
    both = np.union1d(leak_rows, label_rows)
    fps = {"": dataset_fingerprint(te, ctx.target)}
    for g in ctx.groups:
        fps[g] = dataset_fingerprint(te, ctx.target, g)
    measured = [k for k, v in (("leak", ctx.leaked), ("label_error", ctx.label_errors))
                if v is not None]
    return Finding(
        id=TEST_FLAGS_ID,
        title=f"{len(both)} of {ctx.n_test} test rows flagged: {len(leak_rows)} leaked, "
        + (f"{len(label_rows)} likely mislabelled" if ctx.label_errors is not None
           else "label errors not assessed"),
        severity="info",
        metrics={"flagged_fraction": Metric(len(both) / ctx.n_test, unit="fraction"),
                 "leak": Metric(len(leak_rows), unit="count"),
                 "label_error": Metric(len(label_rows), unit="count")},
        tags=LEAKAGE,
        detail="Row numbers of the test file (0-based, header not counted) that a scan "
        "should treat with care; a scan given this scorecard (--audit) reports its accuracy "
        "with and without them when its data fingerprint matches test_fingerprint.",
        evidence={"test_name": te.name, "test_sha256": te.sha256,
                  "test_fingerprint": fps[""],
                  "test_fingerprints_by_group": {g: f for g, f in fps.items() if g},
                  "n_test": ctx.n_test, "measured": measured,
                  "leak_reasons": {k: len(v) for k, v in leak.items()},
                  "rows": {"leak": leak_rows.tolist(), "label_error": label_rows.tolist()}},
    )


def _provenance(ctx: AuditContext, tr: Table, te: Table | None, selected: dict,
                timings: dict[str, float], t0: float) -> dict[str, Any]:
    timings["total"] = round(time.perf_counter() - t0, 3)
    data = {k: {"name": t.name, "source": t.source, "sha256": t.sha256, "rows": len(t.frame),
                "columns": len(t.frame.columns)} for k, t in (("train", tr), ("test", te))
            if t is not None}
    counts = {str(c): {"train": int((ctx.y[:ctx.n_train] == i).sum()),
                       "test": int((ctx.y[ctx.n_train:] == i).sum())}
              for i, c in enumerate(ctx.classes[:100])}
    return {
        "kind": "audit",
        "data": data,
        "roles": {"target": ctx.target, "groups": ctx.groups, "id": ctx.id_column,
                  "time": ctx.time_column, "features": len(ctx.features)},
        "columns": profile_columns(ctx),
        "classes": counts,
        "config": {"checks": list(selected), "label_model": ctx.label_model,
                   "max_rows": ctx.max_rows, "expect": ctx.expect,
                   "schema": None if ctx.schema is None else ctx.schema.get("_path", "given"),
                   "pred_probs": ctx.pred_probs is not None,
                   "embeddings": ctx.embeddings is not None,
                   "model": None if ctx.model is None else type(ctx.model).__name__},
        "seed": ctx.seed,
        "timings_seconds": timings,
        **manifest_fields(),
    }


def manifest_fields() -> dict[str, Any]:
    """Return what every audit's provenance records of its run: versions, time, the NIST note."""
    import sklearn

    from trustbench._version import __version__

    return {"versions": {"trustbench": __version__, "python": platform.python_version(),
                         "numpy": np.__version__, "pandas": pd.__version__,
                         "scikit-learn": sklearn.__version__},
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "nist_ai_rmf": "findings are tagged as evidence toward AI RMF 1.0 subcategories; "
            "no compliance is claimed"}
