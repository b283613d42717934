"""Declared bounds and schema files: reading them, checking them, applying them to a Dataset."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trustbench.data.dataset import Dataset
from trustbench.data.schema import FEATURE_TYPES, Schema
from trustbench.errors import InputError, read_json

__all__ = ["apply_schema", "check_bounds", "check_bounds_width", "read_schema_file"]

#: Bounds are stored as float32: larger magnitudes (or ranges) would become infinite.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_bounds(lower: Any, upper: Any, *, what: str, fix: str,
                 allow_equal: bool = False) -> None:
    """Raise unless ``lower`` and ``upper`` (numbers or arrays) are valid bounds.

    Valid bounds are finite, fit float32 and have ``lower < upper`` (``<=`` with
    ``allow_equal``) everywhere.
    """
    lo = np.asarray(lower, dtype=np.float64)
    hi = np.asarray(upper, dtype=np.float64)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise InputError(f"{what}: bounds must be finite numbers", fix=fix)
    if (np.abs(lo) > FLOAT32_MAX).any() or (np.abs(hi) > FLOAT32_MAX).any() or (
            (hi - lo) > FLOAT32_MAX).any():
        raise InputError(f"{what}: bounds beyond float32's range (about 3.4e38)", fix=fix)
    bad = (lo > hi) if allow_equal else (lo >= hi)
    if bad.any():
        raise InputError(f"{what}: the lower bound must be "
                         f"{'at most' if allow_equal else 'below'} the upper bound", fix=fix)


def check_bounds_width(ds: Dataset) -> None:
    """Raise when no feature's bounds have any width.

    Every attack radius would then be zero and the scan would report the clean accuracy as
    robust accuracy.
    """
    s = ds.schema
    span = s.upper.astype(np.float64) - s.lower.astype(np.float64)
    if not span.size or (span > 0).any():
        return
    fix = "declare the valid range with --bounds LOWER,UPPER or a schema file"
    if s.bounds_source == "data":
        one = (f" ({len(ds)} row)" if len(ds) == 1 else "")
        raise InputError(f"{ds.name}: every feature holds a single value{one}, so bounds taken "
                         "from the data have zero width and every attack radius would be 0",
                         fix=fix)
    raise InputError(f"{ds.name}: the declared bounds have zero width for every feature "
                     "(lower == upper), so every attack radius would be 0", fix=fix)


def read_schema_file(path: Any) -> dict[str, Any]:
    """Read and validate a schema file.

    The file holds ``{"modality": ..., "bounds": [lo, hi], "features": {name:
    {"type": ..., "min": ..., "max": ..., "categories": [...]}}}`` (every key optional).
    ``categories`` lists a feature's allowed values (``trustbench audit`` checks them).
    """
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
    if "modality" in d and d["modality"] not in ("image", "tabular", "text"):
        raise InputError(f"{path}: 'modality' is {d['modality']!r}",
                         fix="use 'image', 'tabular' or 'text'")
    if "bounds" in d:
        b = d["bounds"]
        if not (isinstance(b, list) and len(b) == 2 and all(_is_num(v) for v in b)):
            raise InputError(f"{path}: 'bounds' is {b!r}", fix="use [lower, upper] numbers")
        check_bounds(b[0], b[1], what=f"{path}: 'bounds' is {b}",
                     fix="use finite [lower, upper] numbers with lower < upper, e.g. [0, 1]")
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
            if k in spec and not math.isfinite(spec[k]):
                raise InputError(f"{path}: features.{name}.{k} is {spec[k]}; expected a finite "
                                 "number", fix=f"drop '{k}', or give a finite number")
        if "min" in spec and "max" in spec:
            check_bounds(spec["min"], spec["max"], allow_equal=True,
                         what=f"{path}: features.{name} has min {spec['min']} and max "
                         f"{spec['max']}", fix="give finite numbers with min <= max")


def apply_schema(ds: Dataset, bounds: tuple[float, float] | None,
                 schema_d: dict[str, Any] | None) -> Dataset:
    """``ds`` with the schema file's modality, types and bounds, then ``bounds`` over them."""
    s = ds.schema
    lo, hi, source = s.lower.copy(), s.upper.copy(), s.bounds_source
    types = list(s.feature_types) if s.feature_types is not None else None
    modality = s.modality
    if schema_d is not None:
        modality = schema_d.get("modality", modality)
        if "bounds" in schema_d:
            b = schema_d["bounds"]
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
            if (lo > hi).any():
                i = int(np.flatnonzero(lo > hi)[0])
                raise InputError(f"{schema_d['_path']}: feature {names[i]!r} gets min {lo[i]:g} "
                                 f"above max {hi[i]:g} (one of them taken from the data)",
                                 fix="declare both min and max for it")
    if bounds is not None:
        lo[...], hi[...], source = bounds[0], bounds[1], "declared"
    new = Schema(modality, lo, hi, source, s.feature_names, types, s.categories)
    new.validate(ds.x, source=ds.name)
    notes = [n for n in ds.notes if "bounds" not in n] if source == "declared" else ds.notes
    return Dataset(ds.x, ds.y, new, ds.name, ds.groups, notes, ds.group_name)
