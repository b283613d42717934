"""Load datasets from CSV, Parquet and NPZ files, or by built-in name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from trustbench.data.builtin import BUILTIN, Split, load_builtin
from trustbench.data.dataset import Dataset
from trustbench.data.schema import FeatureType, Schema
from trustbench.errors import InputError, read_json

__all__ = ["load_data"]

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
    """
    spec_s = str(spec)
    if spec_s in BUILTIN:
        if target is not None or group is not None:
            raise InputError(f"{spec_s}: a built-in dataset has fixed labels and no group column "
                             f"(got {'--target' if target is not None else '--group'})",
                             fix="drop the option, or export the data to a CSV/Parquet file "
                             "with the extra column")
        ds = load_builtin(spec_s, split=split, seed=seed)
        if bounds is not None or schema is not None:
            ds = _with_schema(ds, bounds, read_schema_file(schema) if schema else None)
        return ds
    path = Path(spec_s)
    if not path.exists():
        raise InputError(f"{path}: no such file",
                         fix=f"pass a .csv, .parquet or .npz file, or one of: {', '.join(BUILTIN)}")
    suffix = path.suffix.lower()
    schema_d = read_schema_file(schema) if schema else None
    if suffix == ".npz":
        ds = _load_npz(path, bounds, schema_d, target=target, group=group)
    elif suffix in (".csv", ".parquet", ".pq"):
        ds = _load_table(path, target, group, bounds, schema_d)
    else:
        raise InputError(f"{path}: unknown data format {suffix or '(no extension)'}",
                         fix="use .csv, .parquet or .npz")
    return ds


def read_schema_file(path: str | Path) -> dict[str, Any]:
    """A validated schema file: ``{"modality": ..., "bounds": [lo, hi], "features": {name:
    {"type": ..., "min": ..., "max": ..., "categories": [...]}}}`` (every key optional).
    ``categories`` lists a feature's allowed values (``trustbench audit`` checks them)."""
    d = read_json(path, what="schema file")
    if not isinstance(d, dict):
        raise InputError(f"{path}: the schema must be a JSON object")
    unknown = set(d) - {"modality", "bounds", "features"}
    if unknown:
        raise InputError(f"{path}: unknown schema field {sorted(unknown)[0]!r}",
                         fix="use 'modality', 'bounds' and 'features'")
    _check_schema_types(d, str(path))
    d["_path"] = str(path)
    return d


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_schema_types(d: dict[str, Any], path: str) -> None:
    """Every value of the right JSON type, so later code never meets a raw TypeError."""
    from trustbench.data.schema import FEATURE_TYPES

    if "modality" in d and d["modality"] not in ("image", "tabular", "text"):
        raise InputError(f"{path}: 'modality' is {d['modality']!r}",
                         fix="use 'image', 'tabular' or 'text'")
    if "bounds" in d:
        b = d["bounds"]
        if not (isinstance(b, list) and len(b) == 2 and all(_is_num(v) for v in b)):
            raise InputError(f"{path}: 'bounds' is {b!r}", fix="use [lower, upper] numbers")
    feats = d.get("features", {})
    if not isinstance(feats, dict):
        raise InputError(f"{path}: 'features' must be an object of column name -> settings")
    for name, spec in feats.items():
        if not isinstance(spec, dict):
            raise InputError(f"{path}: features.{name} is {spec!r}",
                             fix='use an object such as {"type": "integer", "min": 0}')
        extra = set(spec) - {"type", "min", "max", "categories"}
        if extra:
            raise InputError(f"{path}: features.{name} has unknown field {sorted(extra)[0]!r}",
                             fix="use 'type', 'min', 'max' and 'categories'")
        if "categories" in spec and not isinstance(spec["categories"], list):
            raise InputError(f"{path}: features.{name}.categories must be a list of values",
                             fix='e.g. "categories": ["a", "b"]')
        if "type" in spec and spec["type"] not in FEATURE_TYPES:
            raise InputError(f"{path}: features.{name}.type is {spec['type']!r}",
                             fix=f"use one of {', '.join(FEATURE_TYPES)}")
        for k in ("min", "max"):
            if k in spec and not _is_num(spec[k]):
                raise InputError(f"{path}: features.{name}.{k} is {spec[k]!r}; expected a number")


def _with_schema(ds: Dataset, bounds: tuple[float, float] | None,
                 schema_d: dict[str, Any] | None) -> Dataset:
    s = ds.schema
    lo, hi, source = s.lower.copy(), s.upper.copy(), s.bounds_source
    types = list(s.feature_types) if s.feature_types is not None else None
    modality = s.modality
    if schema_d is not None:
        modality = schema_d.get("modality", modality)
        if "bounds" in schema_d:
            b = schema_d["bounds"]
            if not (isinstance(b, list) and len(b) == 2):
                raise InputError(f"{schema_d['_path']}: 'bounds' must be [lower, upper]")
            lo[...], hi[...], source = b[0], b[1], "declared"
        feats = schema_d.get("features", {})
        if feats:
            names = s.feature_names
            if names is None:
                raise InputError(f"{schema_d['_path']}: 'features' applies to tables only")
            types = types or ["numeric"] * len(names)
            for name, spec in feats.items():
                if name not in names:
                    raise InputError(f"{schema_d['_path']}: feature {name!r} is not a column "
                                     "of the data", fix=f"columns are: {', '.join(names)}")
                i = names.index(name)
                types[i] = spec.get("type", types[i])
                if "min" in spec:
                    lo[i], source = spec["min"], "declared"
                if "max" in spec:
                    hi[i], source = spec["max"], "declared"
    if bounds is not None:
        lo[...], hi[...], source = bounds[0], bounds[1], "declared"
    new = Schema(modality, lo, hi, source, s.feature_names, types, s.categories)
    new.validate(ds.x, source=ds.name)
    notes = [n for n in ds.notes if "bounds" not in n] if source == "declared" else ds.notes
    return Dataset(ds.x, ds.y, new, ds.name, ds.groups, notes, ds.group_name)


def _load_npz(path: Path, bounds: tuple[float, float] | None,
              schema_d: dict[str, Any] | None, *, target: str | None = None,
              group: str | None = None) -> Dataset:
    """Arrays ``x`` and ``y`` (or the key ``target`` names), optional ``groups`` (or the key
    ``group`` names), optional ``lower``/``upper`` bounds."""
    import zipfile

    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not a readable .npz file (not a zip archive)",
                         fix="write it with np.savez(path, x=..., y=...)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError as e:
        if "pickle" in str(e):
            raise InputError(f"{path}: holds object arrays, which only load through pickle",
                             fix="save plain numeric arrays with np.savez") from None
        raise InputError(f"{path}: not a readable .npz file ({str(e)[:120]})") from None
    except Exception as e:
        raise InputError(f"{path}: not a readable .npz file ({type(e).__name__})") from None
    for key, option in (("x", None), (target or "y", "--target"), (group, "--group")):
        if key is not None and key not in arrays:
            raise InputError(f"{path}: no array named {key!r} (found: {', '.join(arrays)})",
                             fix=f"pass {option} with one of those keys" if option and key != "y"
                             else "save the inputs as 'x' and the labels as 'y'")
    x, y = arrays["x"], arrays[target or "y"]
    group = group or ("groups" if "groups" in arrays else None)
    if x.dtype.kind not in "fiub":
        raise InputError(f"{path}: 'x' has dtype {x.dtype}; expected numbers")
    if x.ndim < 2:
        raise InputError(f"{path}: 'x' has shape {x.shape}; expected (N, features) or (N, C, H, W)")
    notes: list[str] = []
    if "lower" in arrays and "upper" in arrays:
        try:
            lo = np.broadcast_to(arrays["lower"].astype(np.float32), x.shape[1:])
            hi = np.broadcast_to(arrays["upper"].astype(np.float32), x.shape[1:])
        except ValueError:
            raise InputError(
                f"{path}: 'lower' {arrays['lower'].shape} and 'upper' {arrays['upper'].shape} "
                f"do not fit one example of 'x' {x.shape[1:]}",
                fix="save bounds with the shape of one example, or as scalars") from None
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
        ds = _with_schema(ds, bounds, schema_d)
    return ds


def _load_table(path: Path, target: str | None, group: str | None,
                bounds: tuple[float, float] | None, schema_d: dict[str, Any] | None) -> Dataset:
    import pandas as pd

    try:
        df = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except Exception as e:
        raise InputError(f"{path}: cannot read it ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:160]})") from None
    if len(df) == 0:
        raise InputError(f"{path}: the table has no rows")
    cols = [str(c) for c in df.columns]
    df.columns = cols
    if target is None:
        guesses = [c for c in cols if c.lower() in _LABEL_GUESSES]
        if len(guesses) != 1:
            raise InputError(f"{path}: which column is the label?",
                             fix=f"pass --target COLUMN; columns are: {', '.join(cols)}")
        target = guesses[0]
    for name, col in (("--target", target), ("--group", group)):
        if col is not None and col not in cols:
            raise InputError(f"{path}: {name} column {col!r} does not exist",
                             fix=f"columns are: {', '.join(cols)}")
    feature_cols = [c for c in cols if c not in (target, group)]
    if not feature_cols:
        raise InputError(f"{path}: no feature columns besides the label")
    y = df[target].to_numpy()
    if pd.isna(df[target]).any():
        raise InputError(f"{path}: column {target!r} (the label) has "
                         f"{int(pd.isna(df[target]).sum())} missing values",
                         fix="drop the unlabelled rows")
    types: list[FeatureType] = []
    categories: dict[int, list[Any]] = {}
    columns = []
    for i, c in enumerate(feature_cols):
        s = df[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
            columns.append(s.to_numpy(np.float32))
            types.append("integer")
        elif pd.api.types.is_float_dtype(s):
            columns.append(s.to_numpy(np.float32))
            types.append("numeric")
        elif (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)
              or isinstance(s.dtype, pd.CategoricalDtype)):
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
        raise InputError(f"{path}: {int(nonfinite.any(1).sum())} rows hold missing or infinite "
                         f"values in columns {', '.join(bad[:5])}",
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
        ds = _with_schema(ds, bounds, schema_d)
    return ds
