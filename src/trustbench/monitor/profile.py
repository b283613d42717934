"""The reference profile: every column's sketch, built once, read in chunks.

:func:`build_profile` reads the reference — a DataFrame, an iterable of DataFrames, or a
CSV/Parquet file read :func:`in chunks <read_chunks>` — once, sketching each chunk and
merging (:mod:`trustbench.monitor.sketch`), so memory stays bounded by the chunk and the
sketches whatever the file's length. The same function sketches a current window; a check
then compares two :class:`Profile` objects (:func:`trustbench.monitor.check_drift`) and
never re-reads rows. A profile round-trips through JSON (:meth:`Profile.to_dict`), the form
the monitor's database keeps.

Column types: numeric dtypes (not bool) are numeric; everything else — text, bool,
pandas categories — is categorical; ``kinds`` overrides per column (e.g. integer codes of a
category). The first chunk decides; a later chunk whose values do not fit (text in a
column that was numeric) is an InputError naming the row. With ``scores`` (a function
from a chunk to class probabilities, ``(n, C)``), the profile also sketches the predicted
class (``"__prediction__"``) and the confidence (``"__confidence__"``, the top
probability): label-free views of the model's behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trustbench.errors import InputError
from trustbench.monitor.drift.base import ColumnKind
from trustbench.monitor.sketch import (
    DEFAULT_SAMPLE_SIZE,
    CategoricalSketch,
    NumericSketch,
    Sketch,
    sketch_from_dict,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CONFIDENCE", "PREDICTION", "Profile", "build_profile", "column_kinds", "data_row",
           "read_chunks", "table_file"]

PREDICTION, CONFIDENCE = "__prediction__", "__confidence__"
CHUNK_ROWS = 100_000
PROFILE_VERSION = 1


@dataclass
class Profile:
    """Sketches of a table's columns (and of a model's outputs on it)."""

    columns: dict[str, Sketch] = field(default_factory=dict)
    rows: int = 0
    seed: int = 0
    sample_size: int = DEFAULT_SAMPLE_SIZE

    @property
    def kinds(self) -> dict[str, ColumnKind]:
        """Column -> ``"numeric"`` or ``"categorical"``."""
        return {k: s.kind for k, s in self.columns.items()}  # type: ignore[misc]

    @property
    def features(self) -> dict[str, Sketch]:
        """The data's own columns (without the model's outputs)."""
        return {k: s for k, s in self.columns.items() if k not in (PREDICTION, CONFIDENCE)}

    @property
    def outputs(self) -> dict[str, Sketch]:
        """The model's outputs: predicted class and confidence, when profiled."""
        return {k: s for k, s in self.columns.items() if k in (PREDICTION, CONFIDENCE)}

    def merge(self, other: Profile) -> Profile:
        """Return the profile of both tables' rows; their columns and types must agree."""
        if self.kinds != other.kinds:
            raise InputError("the two profiles have different columns or column types",
                             fix="profile tables with the same columns")
        return Profile({k: s.merge(other.columns[k]) for k, s in self.columns.items()},  # type: ignore[arg-type]
                       self.rows + other.rows, self.seed, min(self.sample_size, other.sample_size))

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form; :meth:`from_dict` reads it back."""
        return {"version": PROFILE_VERSION, "rows": self.rows, "seed": self.seed,
                "sample_size": self.sample_size,
                "columns": {k: s.to_dict() for k, s in self.columns.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Profile:
        """Read a profile written by :meth:`to_dict`."""
        if d.get("version") != PROFILE_VERSION:
            raise InputError(f"profile version {d.get('version')!r} is not {PROFILE_VERSION}",
                             fix="rebuild the profile with this version of trustbench")
        return cls({k: sketch_from_dict(v) for k, v in d["columns"].items()}, int(d["rows"]),
                   int(d["seed"]), int(d["sample_size"]))


def table_file(path: str | Path) -> Path:
    """Return ``path`` as a Path, or raise the InputError for a table that is not there."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file", fix="give the path of a CSV or Parquet file")
    return path


def read_chunks(path: str | Path, *, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Yield a CSV or Parquet file as DataFrames of at most ``chunk_rows`` rows."""
    import pandas as pd

    path = table_file(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            # pre_buffer off: with it, pyarrow keeps every row group it read buffered, and
            # a 10M-row file took 3.9 GB instead of staying at one row group's worth
            reader = pq.ParquetFile(path, pre_buffer=False)
        except Exception as e:  # pyarrow raises several types for a damaged file
            raise InputError(f"{path}: not a readable Parquet file ({e})",
                             fix="re-export the file as Parquet or CSV") from None
        start = 0
        for batch in reader.iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            frame.index = pd.RangeIndex(start, start + len(frame))  # the file's row numbers
            start += len(frame)
            yield frame
        return
    try:
        yield from pd.read_csv(path, chunksize=chunk_rows, low_memory=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot be read as CSV ({str(e).splitlines()[0]})",
                         fix="save it as UTF-8 CSV with one header row") from None


def column_kinds(frame: pd.DataFrame,
                 declared: Mapping[str, ColumnKind] | None = None) -> dict[str, ColumnKind]:
    """Each column's kind: numeric dtypes (not bool) are numeric, the rest categorical."""
    import pandas as pd

    declared = dict(declared or {})
    unknown = [c for c in declared if c not in frame.columns]
    if unknown:
        raise InputError(f"kinds names a column {unknown[0]!r} the data does not have",
                         fix=f"the columns are: {', '.join(map(str, frame.columns[:20]))}")
    bad = {c: k for c, k in declared.items() if k not in ("numeric", "categorical")}
    if bad:
        c, k = next(iter(bad.items()))
        raise InputError(f"kind {k!r} for column {c!r}", fix="use numeric or categorical")
    out: dict[str, ColumnKind] = {}
    for c in frame.columns:
        s = frame[c]
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        out[str(c)] = declared.get(str(c), "numeric" if numeric else "categorical")
    return out


def _chunks(source: pd.DataFrame | Iterable[pd.DataFrame] | str | Path,
            chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pandas as pd

    if isinstance(source, str | Path):
        yield from read_chunks(source, chunk_rows=chunk_rows)
    elif isinstance(source, pd.DataFrame):
        for i in range(0, max(len(source), 1), chunk_rows):
            yield source.iloc[i : i + chunk_rows]
    else:
        yield from source


def build_profile(source: pd.DataFrame | Iterable[pd.DataFrame] | str | Path, *,
                  kinds: Mapping[str, ColumnKind] | None = None,
                  exclude: Iterable[str] = (),
                  scores: Callable[[pd.DataFrame], np.ndarray] | None = None,
                  reference: Profile | None = None, seed: int = 0,
                  sample_size: int = DEFAULT_SAMPLE_SIZE,
                  chunk_rows: int = CHUNK_ROWS, where: str | None = None) -> Profile:
    """Sketch a table in one pass, chunk by chunk.

    Parameters
    ----------
    source
        A DataFrame, an iterable of DataFrames (chunks of one table), or a CSV/Parquet path.
    kinds
        Column -> ``"numeric"`` or ``"categorical"``, overriding the dtype's guess.
    exclude
        Columns not to profile (row ids, labels, timestamps).
    scores
        Chunk -> ``(n, C)`` class probabilities: also sketch predictions and confidence.
        It sees the whole chunk, excluded columns included (probabilities given as
        columns are excluded from the profile and read by ``scores``).
    reference
        Sketch a window *of* this reference: the same columns with the same kinds (a column
        the reference lacks, or lacks of this table, is an InputError).
    seed, sample_size, chunk_rows
        Seeds the samples; values kept per numeric column; rows read at a time.
    where
        The table's name in messages (default: its path, or "the data").
    """
    exclude = set(exclude)
    rng = np.random.default_rng(seed)
    out: Profile | None = None
    expected = None if reference is None else reference.features
    where = where or (str(source) if isinstance(source, str | Path) else "the data")
    ks: dict[str, ColumnKind] = {}
    first: set[str] = set()
    for raw in _chunks(source, chunk_rows):
        chunk = raw[[c for c in raw.columns if str(c) not in exclude]]
        if expected is not None:
            _check_columns(where, chunk, expected)
            ks = {c: expected[c].kind for c in expected}  # type: ignore[misc]
            chunk = chunk[list(expected)]
        elif out is None:  # the first chunk decides the kinds; later chunks must fit them
            ks = column_kinds(chunk, kinds)
            first = {str(c) for c in chunk.columns}
        elif {str(c) for c in chunk.columns} != first:
            raise InputError(f"{where}: a later chunk has other columns than the first",
                             fix="give one table with the same columns throughout")
        sketches: dict[str, Sketch] = {}
        for c, kind in ks.items():
            values = chunk[c]
            if kind == "numeric":
                sketches[c] = NumericSketch.of(_as_float(where, c, values), rng=rng,
                                               sample_size=sample_size)
            else:
                sketches[c] = CategoricalSketch.of(values)
        if scores is not None and len(chunk):
            proba = np.asarray(scores(raw), dtype=np.float64)  # excluded columns too
            if proba.ndim != 2 or len(proba) != len(chunk):
                raise InputError(f"the model returned shape {proba.shape} for {len(chunk)} rows",
                                 fix="scores must return (rows, classes) probabilities")
            sketches[PREDICTION] = CategoricalSketch.of(proba.argmax(1))
            sketches[CONFIDENCE] = NumericSketch.of(proba.max(1), rng=rng, sample_size=sample_size)
        part = Profile(sketches, len(chunk), seed, sample_size)
        out = part if out is None else out.merge(part)
    if out is None:
        raise InputError(f"{where}: no rows", fix="give a table with at least one row")
    return out


def _check_columns(where: str, chunk: pd.DataFrame, expected: Mapping[str, Sketch]) -> None:
    have = {str(c) for c in chunk.columns}
    missing = [c for c in expected if c not in have]
    if missing:
        raise InputError(f"{where}: no column {missing[0]!r} of the profile"
                         + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                         fix="send every column the profile was built with")
    extra = sorted(have - set(expected))
    if extra:
        raise InputError(f"{where}: column {extra[0]!r} is not in the profile",
                         fix="drop it, or list it under exclude (row ids, labels)")


def data_row(frame: Any, i: int) -> int:
    """Return the 1-based data row of position ``i`` of a chunk (chunks keep the file's rows)."""
    label = frame.index[i]
    return int(label) + 1 if isinstance(label, int | np.integer) else i + 1


def _as_float(where: str, column: str, values: pd.Series) -> np.ndarray:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    converted = pd.to_numeric(values, errors="coerce")
    bad = converted.isna() & values.notna()
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise InputError(f"{where}: column {column!r} is numeric in the profile, but row "
                         f"{data_row(values, i)} holds {values.iloc[i]!r}",
                         fix="send numbers (or an empty cell for a missing value)")
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)
