"""Reading what the audit inspects, with errors that name the file, the column and the fix.

What is read: tables (CSV, Parquet, a built-in dataset or a DataFrame), column roles, a
schema file, ``--expect`` shares and ``.npy`` arrays.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trustbench._files import file_sha256
from trustbench.data.builtin import BUILTIN, load_builtin
from trustbench.data.dataset import Dataset
from trustbench.data.tables import (
    check_column_names,
    check_finite,
    check_no_empty_column,
    columns_differ,
    list_columns,
    missing_column,
    read_frame,
)
from trustbench.errors import InputError

__all__ = ["Table", "dataset_fingerprint", "feature_columns", "parse_expect", "read_array",
           "read_schema", "read_table", "validate_tables"]

_LABEL_GUESSES = ("target", "label", "y", "class")


@dataclass
class Table:
    """One split as the audit sees it.

    Attributes
    ----------
    frame
        The rows, in file order (row ``i`` of the file is position ``i``).
    name
        The file path, built-in name (``digits[test]``) or ``"DataFrame"``.
    sha256
        Fingerprint of the file's bytes (of the arrays for a built-in or a DataFrame).
    dataset
        For a built-in, its :class:`~trustbench.data.Dataset` (models take its ``x``).
    source
        What the user passed: the path or built-in name (``"DataFrame"`` for a frame).
    """

    frame: pd.DataFrame
    name: str
    sha256: str
    dataset: Dataset | None = None
    source: str = "DataFrame"


def read_table(spec: str | Path | pd.DataFrame, *, split: str = "train", seed: int = 0,
               name: str | None = None) -> Table:
    """Read a CSV/Parquet file or a built-in dataset, or wrap a DataFrame.

    For a built-in dataset (``digits``, ``breast_cancer``) this is its ``split``, with the
    label in column ``target``.
    """
    if isinstance(spec, pd.DataFrame):
        df = spec.copy(deep=False)
        check_column_names(name or "DataFrame", list(df.columns))
        df.columns = [str(c) for c in df.columns]
        digest = hashlib.sha256(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        return Table(df, name or "DataFrame", "sha256:" + digest.hexdigest())
    s = str(spec)
    if s in BUILTIN:
        ds = load_builtin(s, split=split, seed=seed)  # type: ignore[arg-type]
        x = ds.x.reshape(len(ds), -1)  # (N, F)
        names = ds.schema.feature_names or _pixel_names(ds.x.shape[1:])
        df = pd.DataFrame(x, columns=names)
        df["target"] = ds.y
        return Table(df, ds.name, ds.fingerprint(), ds, s)
    path = Path(s)
    if not path.exists():
        raise InputError(f"{path}: no such file",
                         fix=f"pass a .csv or .parquet file, or one of: {', '.join(BUILTIN)}")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise InputError(f"{path}: unknown table format {suffix or '(no extension)'}",
                         fix="use .csv or .parquet")
    if not path.is_file():
        raise InputError(f"{path}: not a file", fix="pass a .csv or .parquet file")
    df = read_frame(path)
    return Table(df, name or str(path), "sha256:" + file_sha256(path), source=str(path))


def _pixel_names(shape: tuple[int, ...]) -> list[str]:
    return ["px_" + "_".join(map(str, idx)) for idx in np.ndindex(*shape)]


def guess_target(table: Table) -> str:
    """Return the label column: ``target``, ``label``, ``y`` or ``class`` when exactly one exists."""
    cols = list(table.frame.columns)
    guesses = [c for c in cols if c.lower() in _LABEL_GUESSES]
    if len(guesses) != 1:
        raise InputError(f"{table.name}: which column is the label?",
                         fix=f"pass --target COLUMN; columns are: {list_columns(cols)}")
    return guesses[0]


def feature_columns(table: Table, *, target: str | None, groups: list[str],
                    id_column: str | None, time_column: str | None) -> list[str]:
    """Check that the role columns exist in ``table``; return the columns with no role.

    Raises InputError for a missing role column (naming the closest columns), a group given
    twice, or no feature column left.
    """
    cols = list(table.frame.columns)
    roles = [("--target", target)] + [("--group", g) for g in groups] + [
        ("--id", id_column), ("--time", time_column)]
    for flag, col in roles:
        if col is not None and col not in set(cols):
            raise missing_column(table.name, flag, col, cols)
    if len(set(groups)) != len(groups):
        raise InputError(f"--group names a column twice ({groups})")
    used = {c for _, c in roles if c is not None}
    features = [c for c in cols if c not in used]
    if not features:
        raise InputError(f"{table.name}: no feature columns besides the label and roles")
    return features


def validate_tables(train: Table, test: Table | None, *, target: str, groups: list[str],
                    id_column: str | None, time_column: str | None) -> list[str]:
    """Check the column roles against both tables; return the feature columns.

    Raises InputError for a missing role column (naming the closest columns), train/test
    columns that differ, a label with missing values or a single class, an all-empty column
    and infinite values.
    """
    cols = list(train.frame.columns)
    features = feature_columns(train, target=target, groups=groups, id_column=id_column,
                               time_column=time_column)
    if test is not None:
        feature_columns(test, target=target, groups=groups, id_column=id_column,
                        time_column=time_column)
    what = None if test is None else columns_differ(list(test.frame.columns), cols)
    if what is not None:
        raise InputError(f"{test.name}: columns differ from {train.name} ({what})",
                         fix="write both splits with the same columns in the same order")
    for table in (train, test):
        if table is None:
            continue
        y = table.frame[target]
        n_missing = int(y.isna().sum())
        if n_missing:
            raise InputError(f"{table.name}: column {target!r} (the label) has {n_missing} "
                             "missing values", fix="drop the unlabelled rows")
        check_no_empty_column(table.name, table.frame)
        check_finite(table.name, table.frame, list(table.frame.columns))
    n_classes = pd.concat([train.frame[target]] + ([test.frame[target]] if test else [])).nunique()
    if n_classes < 2:
        raise InputError(f"{train.name}: column {target!r} (the label) has a single class "
                         f"({_plain(train.frame[target].iloc[0])!r})",
                         fix="check --target: the audit needs at least two classes")
    return features


def _plain(v: Any) -> Any:
    """Return a numpy scalar as the Python value it holds (its repr is ``np.int64(0)``)."""
    return v.item() if isinstance(v, np.generic) else v


def dataset_fingerprint(table: Table, target: str, group: str | None = None) -> str | None:
    """Return the fingerprint a scan of this table reports, or ``None``.

    The scan is ``trustbench scan --data FILE --target TARGET [--group GROUP]``; the result is
    ``None`` where the scan's loader would refuse the table.

    Mirrors :func:`trustbench.data.load_data` so that audit flags match scans by data.
    """
    if table.dataset is not None:
        return table.dataset.fingerprint() if group is None else None
    from trustbench.data.schema import Schema

    df = table.frame
    columns = []
    for c in (c for c in df.columns if c not in (target, group)):
        s = df[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            columns.append(s.to_numpy(np.float32))
        elif (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)
              or isinstance(s.dtype, pd.CategoricalDtype)):
            codes, _ = pd.factorize(s, use_na_sentinel=True)
            if (codes < 0).any():
                return None
            columns.append(codes.astype(np.float32))
        else:
            return None
    if not columns:
        return None
    x = np.stack(columns, axis=1)  # (N, F)
    if not np.isfinite(x).all():
        return None
    groups = None if group is None else df[group].astype(object).where(df[group].notna(),
                                                                       None).to_numpy()
    ds = Dataset(x, df[target].to_numpy(), Schema.from_data(x, modality="tabular"),
                 groups=groups)
    return ds.fingerprint()


def read_schema(path: str | Path) -> dict[str, Any]:
    """Read a schema file as :func:`trustbench.data.load_data` reads it.

    The result includes the optional list of allowed ``categories`` per feature.
    """
    from trustbench.data.schema_file import read_schema_file

    return read_schema_file(path)


def parse_expect(specs: list[str] | None) -> dict[str, dict[str, float]]:
    """``["sex=f:0.5,m:0.5"]`` -> ``{"sex": {"f": 0.5, "m": 0.5}}`` (shares must sum to 1)."""
    out: dict[str, dict[str, float]] = {}
    for spec in specs or []:
        col, sep, rest = spec.partition("=")
        shares: dict[str, float] = {}
        try:
            if not sep or not col.strip():
                raise ValueError
            for part in rest.split(","):
                value, _, share = part.rpartition(":")
                shares[value.strip()] = float(share)
        except ValueError:
            raise InputError(f"--expect {spec!r}: expected COLUMN=VALUE:SHARE,...",
                             fix="e.g. --expect sex=f:0.5,m:0.5") from None
        total = sum(shares.values())
        if any(v < 0 for v in shares.values()) or not abs(total - 1) < 0.01:
            raise InputError(f"--expect {spec!r}: shares must be >= 0 and sum to 1 "
                             f"(they sum to {total:g})")
        out[col.strip()] = shares
    return out


def read_array(path: str | Path, *, what: str, rows: tuple[int, ...]) -> np.ndarray:
    """Read a 2-D float ``.npy`` array whose row count is one of ``rows``."""
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read the {what} ({str(e)[:120]})",
                         fix="save a numeric array with np.save(path, array)") from None
    if a.ndim != 2 or a.dtype.kind not in "fiu" or a.shape[0] not in rows:
        raise InputError(f"{path}: the {what} has shape {a.shape} ({a.dtype})",
                         fix=f"save a numeric (N, K) array with N = {' or '.join(map(str, rows))} "
                         "(train rows, then test rows)")
    if not np.isfinite(a).all():
        raise InputError(f"{path}: the {what} holds NaN or infinite values")
    return a.astype(np.float64)
