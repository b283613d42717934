"""A model's predictions on one split of the audited table.

The model sees what a scan would give it: a scikit-learn pipeline fitted on a DataFrame gets
the raw columns it was fitted on; any other model gets the built-in dataset's array, or
every column except the label and the group columns, numbers as they are and text as
category codes (:func:`trustbench.data.load_data`'s encoding).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trustbench.audit.base import AuditContext
from trustbench.errors import InputError
from trustbench.models.sklearn import fitted_columns

__all__ = ["model_predictions"]


def model_predictions(ctx: AuditContext, split: str) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """``(proba (n, C), y (n,) class indices of the model, class labels)`` for ``split``."""
    from trustbench.data.dataset import Dataset
    from trustbench.data.schema import Schema
    from trustbench.models import as_model

    model = as_model(ctx.model)
    rows = slice(0, ctx.n_train) if split == "train" else slice(ctx.n_train, ctx.n)
    frame = ctx.frame.iloc[rows]
    name = ctx.names.get(split, split)
    est = getattr(model, "estimator", None)
    names = fitted_columns(est)
    if names is not None and getattr(model, "to_input", None) is None:
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise InputError(f"{name}: the model was fitted on columns that are not in the "
                             f"table: {missing[:5]}", fix="audit the table the model takes")
        try:
            proba = np.asarray(est.predict_proba(frame[names]), np.float64)
        except Exception as e:
            raise InputError(f"{name}: the model cannot predict these rows ({type(e).__name__}: "
                             f"{str(e).splitlines()[0][:160] if str(e) else ''})") from None
        classes = list(est.classes_)
    else:
        x = ctx.model_inputs.get(split)
        if x is None:
            x = _encode(frame.drop(columns=[ctx.target, *ctx.groups]), name)
        model.check_input(x)
        proba = np.asarray(model.predict_proba(x), np.float64)
        classes = list(getattr(model, "classes", range(model.n_classes)))
    ds = Dataset(np.zeros((len(frame), 1), np.float32), frame[ctx.target].to_numpy(),
                 Schema("tabular", np.zeros(1), np.ones(1)), name=name)
    y = ds.label_indices(np.asarray(classes) if hasattr(model, "classes") else None,
                         proba.shape[1])
    return proba, y, classes


def _encode(frame: pd.DataFrame, name: str) -> np.ndarray:
    cols = []
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            cols.append(s.to_numpy(np.float32, na_value=np.nan))
        else:
            codes, _ = pd.factorize(s)
            cols.append(np.where(codes < 0, np.nan, codes).astype(np.float32))
    x = np.stack(cols, axis=1)  # (n, F)
    if not np.isfinite(x).all():
        raise InputError(f"{name}: the model cannot take missing values "
                         f"({int((~np.isfinite(x)).any(1).sum())} rows hold some)",
                         fix="pass a scikit-learn pipeline that imputes them, or impute first")
    return x
