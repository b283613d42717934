"""Load datasets from CSV, Parquet and NPZ files, or by built-in name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from trustbench.data.builtin import BUILTIN, Split, load_builtin
from trustbench.data.dataset import Dataset
from trustbench.data.schema import FeatureType, Schema
from trustbench.data.schema_file import (
    FLOAT32_MAX,
    apply_schema,
    check_bounds,
    check_bounds_width,
    read_schema_file,
)
from trustbench.data.tables import (
    check_finite,
    check_no_empty_column,
    list_columns,
    missing_column,
    numbers_with_text,
    read_frame,
)
from trustbench.errors import InputError

__all__ = ["load_data", "read_schema_file"]

_LABEL_GUESSES = ("target", "label", "y", "class")


def load_data(
    spec: str | Path,
    *,
    target: str | None = None,
    group: str | None = None,
    bounds: tuple[float, float] | None = None,
    schema: str | Path | None = None,
    split: Split = "test",
    seed: int = 0,
) -> Dataset:
    """Load a dataset from a built-in name or a file.

    Parameters
    ----------
    spec
        ``digits``, ``breast_cancer``, or a ``.csv``, ``.parquet`` or ``.npz`` path.
    target
        Label column of a table. If not given, a column named ``target``, ``label``, ``y``
        or ``class`` is used when there is exactly one.
    group
        Column (or NPZ array; default ``groups`` when present) holding a sensitive or slice
        attribute. For an NPZ, ``target`` names the label array (default ``y``).
    bounds
        ``(lower, upper)`` declared for every feature; otherwise the schema file's, the
        NPZ's ``lower``/``upper`` arrays, or the data's own min/max (noted in the scorecard).
    schema
        JSON file: ``{"modality": ..., "bounds": [lo, hi], "features": {name: {"type":
        "numeric|integer|categorical|immutable", "min": ..., "max": ...}}}``.
    split
        For built-in datasets only.

    Raises
    ------
    InputError
        For a file that cannot be read as it was meant (see :mod:`trustbench.data.tables`),
        bad values, and bounds that are not finite or have no width for any feature (every
        attack radius would be 0: declare bounds for such data).
    """
    if bounds is not None:
        check_bounds(bounds[0], bounds[1], what=f"--bounds {bounds[0]:g},{bounds[1]:g}",
                     fix="pass two finite numbers LOWER,UPPER with LOWER < UPPER, e.g. 0,1")
    spec_s = str(spec)
    if spec_s in BUILTIN:
        if target is not None or group is not None:
            raise InputError(f"{spec_s}: a built-in dataset has fixed labels and no group column "
                             f"(got {'--target' if target is not None else '--group'})",
                             fix="drop the option, or export the data to a CSV/Parquet file "
                             "with the extra column")
        ds = load_builtin(spec_s, split=split, seed=seed)
        if bounds is not None or schema is not None:
            ds = apply_schema(ds, bounds, read_schema_file(schema) if schema else None)
        return ds
    path = Path(spec_s)
    if not path.exists():
        raise InputError(f"{path}: no such file",
                         fix=f"pass a .csv, .parquet or .npz file, or one of: {', '.join(BUILTIN)}")
    if not path.is_file():
        raise InputError(f"{path}: not a file", fix="pass a .csv, .parquet or .npz file")
    suffix = path.suffix.lower()
    schema_d = read_schema_file(schema) if schema else None
    if suffix == ".npz":
        ds = _load_npz(path, bounds, schema_d, target=target, group=group)
    elif suffix in (".csv", ".parquet", ".pq"):
        ds = _load_table(path, target, group, bounds, schema_d)
    else:
        raise InputError(f"{path}: unknown data format {suffix or '(no extension)'}",
                         fix="use .csv, .parquet or .npz")
    check_bounds_width(ds)
    return ds


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an NPZ, never through pickle."""
    import zipfile

    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not a readable .npz file (not a zip archive)",
                         fix="write it with np.savez(path, x=..., y=...)")
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            for k in z.files:
                try:
                    arrays[k] = z[k]
                except ValueError as e:
                    if "pickle" not in str(e):
                        raise
                    raise InputError(
                        f"{path}: array {k!r} holds Python objects (dtype=object), which load "
                        "only through pickle (it can run code), so it was not loaded",
                        fix="save plain arrays: numbers for 'x', numbers or strings for the "
                        "labels and groups (e.g. y.astype(str))") from None
                if not isinstance(arrays[k], np.ndarray):
                    raise InputError(f"{path}: member {k!r} is not a .npy array",
                                     fix="write the file with np.savez(path, x=..., y=...)")
    except InputError:
        raise
    except Exception as e:  # zipfile, numpy's format reader: many types for broken bytes
        raise InputError(f"{path}: not a readable .npz file ({type(e).__name__}: "
                         f"{str(e)[:120]})", fix="write it with np.savez(path, x=..., y=...)"
                         ) from None
    return arrays


def _load_npz(path: Path, bounds: tuple[float, float] | None,
              schema_d: dict[str, Any] | None, *, target: str | None = None,
              group: str | None = None) -> Dataset:
    """Load a dataset from the arrays of an ``.npz`` file.

    The arrays are ``x`` and ``y`` (or the key ``target`` names), optional ``groups`` (or the
    key ``group`` names), optional ``lower``/``upper`` bounds.
    """
    arrays = _read_npz(path)
    for key, option in (("x", None), (target or "y", "--target"), (group, "--group")):
        if key is not None and key not in arrays:
            raise InputError(f"{path}: no array named {key!r} (found: {', '.join(arrays)})",
                             fix=f"pass {option} with one of those keys" if option and key != "y"
                             else "save the inputs as 'x' and the labels as 'y'")
    ykey = target or "y"
    x, y = arrays["x"], arrays[ykey]
    group = group or ("groups" if "groups" in arrays else None)
    if x.dtype.kind not in "fiub":
        raise InputError(f"{path}: 'x' has dtype {x.dtype}; expected numbers")
    if x.ndim < 2:
        raise InputError(f"{path}: 'x' has shape {x.shape}; expected (N, features) or (N, C, H, W)")
    if x.shape[0] == 0 or x[0].size == 0:
        raise InputError(f"{path}: 'x' has shape {x.shape}, which holds no "
                         f"{'rows' if x.shape[0] == 0 else 'features'}",
                         fix="save at least one example with at least one feature")
    if y.ndim != 1 or len(y) != len(x):
        raise InputError(f"{path}: 'x' has {len(x)} rows but {ykey!r} has shape {y.shape}",
                         fix="save exactly one label per row of 'x'")
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise InputError(f"{path}: {ykey!r} (the labels) holds {int(np.isnan(y).sum())} NaN "
                         "values", fix="drop the unlabelled rows")
    if x.dtype.kind == "f" and x.dtype.itemsize > 4 and (
            np.abs(np.where(np.isfinite(x), x, 0)) > FLOAT32_MAX).any():
        raise InputError(f"{path}: 'x' holds values beyond float32's range (about 3.4e38)",
                         fix="rescale the inputs")
    notes: list[str] = []
    if "lower" in arrays and "upper" in arrays:
        try:
            lo = np.broadcast_to(arrays["lower"].astype(np.float64), x.shape[1:])
            hi = np.broadcast_to(arrays["upper"].astype(np.float64), x.shape[1:])
        except (ValueError, TypeError):
            raise InputError(
                f"{path}: 'lower' {arrays['lower'].shape} and 'upper' {arrays['upper'].shape} "
                f"do not fit one example of 'x' {x.shape[1:]}",
                fix="save bounds with the shape of one example, or as scalars") from None
        check_bounds(lo, hi, allow_equal=True, what=f"{path}: arrays 'lower' and 'upper'",
                     fix="save finite bounds with lower <= upper")
        schema = Schema("image" if x.ndim >= 3 else "tabular", lo, hi, "declared")
    else:
        schema = Schema.from_data(x.astype(np.float32), bounds=bounds)
        if bounds is None:
            notes.append(f"{path.name}: no bounds declared, so the data's own min and max are "
                         "used; declare them with --bounds or a schema file")
    if x.ndim == 2 and schema.feature_names is None:
        schema.feature_names = [f"x{i}" for i in range(x.shape[1])]
    ds = Dataset(x, y, schema, name=str(path), groups=None if group is None else arrays[group],
                 notes=notes, group_name=group)
    schema.validate(ds.x, source=str(path))
    if schema_d is not None or (bounds is not None and "lower" in arrays):
        ds = apply_schema(ds, bounds, schema_d)
    return ds


def _load_table(path: Path, target: str | None, group: str | None,
                bounds: tuple[float, float] | None, schema_d: dict[str, Any] | None) -> Dataset:
    import pandas as pd

    df = read_frame(path)
    cols = list(df.columns)
    if target is None:
        guesses = [c for c in cols if c.lower() in _LABEL_GUESSES]
        if len(guesses) != 1:
            raise InputError(f"{path}: which column is the label?",
                             fix=f"pass --target COLUMN; columns are: {list_columns(cols)}")
        target = guesses[0]
    for name, col in (("--target", target), ("--group", group)):
        if col is not None and col not in cols:
            raise missing_column(path, name, col, cols)
    if target == group:
        raise InputError(f"{path}: --target and --group both name {target!r}",
                         fix="give the group attribute its own column")
    feature_cols = [c for c in cols if c not in (target, group)]
    if not feature_cols:
        raise InputError(f"{path}: no feature columns besides the label")
    y = df[target].to_numpy()
    if pd.isna(df[target]).any():
        raise InputError(f"{path}: column {target!r} (the label) has "
                         f"{int(pd.isna(df[target]).sum())} missing values",
                         fix="drop the unlabelled rows")
    check_no_empty_column(path, df[feature_cols])
    check_finite(path, df, feature_cols)
    declared = {name: spec.get("type") for name, spec in
                (schema_d or {}).get("features", {}).items()}
    types: list[FeatureType] = []
    categories: dict[int, list[Any]] = {}
    columns = []
    for i, c in enumerate(feature_cols):
        s = df[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
            columns.append(_float32(path, c, s))
            types.append("integer")
        elif pd.api.types.is_float_dtype(s):
            columns.append(_float32(path, c, s))
            types.append("numeric")
        elif (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)
              or isinstance(s.dtype, pd.CategoricalDtype)):
            mixed = None if (isinstance(s.dtype, pd.CategoricalDtype)
                             or declared.get(c) in ("categorical", "immutable")
                             ) else numbers_with_text(s)
            if mixed is not None:
                raise InputError(f"{path}: column {c!r} holds numbers but also text such as "
                                 f"{mixed[1]!r} (data row {mixed[0] + 1}), so it would be "
                                 "read as categories",
                                 fix="clean those values (leave missing ones empty), or "
                                 f'declare it in a schema file: {{"features": {{"{c}": '
                                 '{"type": "categorical"}}}')
            codes, uniques = pd.factorize(s, use_na_sentinel=True)
            if (codes < 0).any():
                raise InputError(f"{path}: column {c!r} has {int((codes < 0).sum())} missing "
                                 "values", fix="impute or drop them before scanning")
            columns.append(codes.astype(np.float32))
            categories[i] = list(uniques)
            types.append("categorical")
        else:
            raise InputError(f"{path}: column {c!r} has type {s.dtype} that trustbench cannot "
                             "use as a feature", fix="convert it to numbers or text categories")
    x = np.stack(columns, axis=1)  # (N, F)
    nonfinite = ~np.isfinite(x)
    if nonfinite.any():
        bad = [feature_cols[j] for j in np.flatnonzero(nonfinite.any(0))]
        raise InputError(f"{path}: {int(nonfinite.any(1).sum())} rows hold missing values "
                         f"in columns {', '.join(bad[:5])}",
                         fix="impute or drop those rows before scanning")
    schema = Schema.from_data(x, modality="tabular", feature_names=feature_cols,
                              feature_types=types, bounds=bounds)
    schema.categories = categories
    schema.validate(x, source=str(path))  # declared --bounds must hold the data
    notes = [] if bounds is not None else [
        f"{path.name}: feature bounds are the min and max of this file; declare them with "
        "--bounds or a schema file"]
    # missing group values stay missing (None), not the text "nan"
    groups = None if group is None else df[group].astype(object).where(df[group].notna(),
                                                                       None).to_numpy()
    ds = Dataset(x, y, schema, name=str(path), groups=groups, notes=notes, group_name=group)
    if schema_d is not None:
        ds = apply_schema(ds, bounds, schema_d)
    return ds


def _float32(path: Path, column: str, s: Any) -> np.ndarray:
    """Return a numeric column as float32, refusing values that float32 would turn into inf."""
    v = s.to_numpy(np.float64, na_value=np.nan)
    big = np.abs(np.where(np.isnan(v), 0.0, v)) > FLOAT32_MAX
    if big.any():
        i = int(np.flatnonzero(big)[0])
        raise InputError(f"{path}: column {column!r} holds {v[i]:g} (data row {i + 1}), beyond "
                         "float32's range (about 3.4e38)", fix="rescale the column")
    return v.astype(np.float32)
