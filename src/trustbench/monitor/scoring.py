"""Model versions that score rows themselves, and the window inputs kept for later versions.

A monitor's model version may come with its file (``trustbench monitor init --model`` or
``register --model``). Then :class:`Scorer` computes the class probabilities of a batch
that carries no logged ones, and a version registered later scores the stored windows'
inputs to be compared with the one that served them.

* :class:`ModelFile` — what the database keeps of a model: its resolved path, SHA-256, the
  columns it reads and its number of classes. :meth:`ModelFile.load` refuses a file whose
  bytes changed since it was registered (a changed model is a new version), and loads
  pickle files only with ``trust_pickle`` — every time, since a database may be shared.
* :class:`Scorer` — a loaded model and its columns: ``scorer(where, chunk)`` is the
  ``(n, C)`` probabilities of a chunk. A scikit-learn estimator fitted on a DataFrame gets
  the frame's columns by name (its own preprocessing handles categories); any other model
  gets the numeric columns as a float32 array, in the registered order.
* :class:`InputSample` — a bounded, uniform sample of a window's input rows: the rows
  whose row-id hashes are the ``k`` smallest, so the same row is kept whatever the chunking
  and the sample is the same on every retry. Stored as Parquet bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trustbench._files import file_sha256
from trustbench.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from trustbench.models.base import Model

__all__ = ["KEEP_INPUTS", "ROW_ID", "InputSample", "ModelFile", "Scorer", "read_inputs"]

KEEP_INPUTS = 100_000  # input rows kept per window, for versions registered later
ROW_ID = "__row_id__"  # the kept rows' id column


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:200]}" if text else type(e).__name__


@dataclass(frozen=True)
class ModelFile:
    """A model file as a monitor keeps it: path, SHA-256, the columns it reads, classes."""

    path: str
    sha256: str
    features: tuple[str, ...]
    classes: int
    frame: bool  # a scikit-learn estimator fitted on a DataFrame: columns go by name

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form; :meth:`from_dict` reads it back."""
        return {"path": self.path, "sha256": self.sha256, "features": list(self.features),
                "classes": self.classes, "frame": self.frame}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelFile:
        """Read what :meth:`to_dict` wrote."""
        return cls(str(d["path"]), str(d["sha256"]), tuple(d["features"]), int(d["classes"]),
                   bool(d["frame"]))

    @classmethod
    def register(cls, spec: str | Path, columns: Sequence[str], *, trust_pickle: bool = False,
                 features: Sequence[str] | None = None, skip: Sequence[str] = (),
                 source: str = "the reference") -> tuple[ModelFile, Scorer]:
        """Load the model file ``spec`` for a monitor whose tables have ``columns``.

        The columns it reads: those a DataFrame-fitted scikit-learn estimator names, else
        ``features``, else every column not in ``skip`` (ids, labels, groups, logged
        probabilities). ``source`` names where ``columns`` come from, for messages.
        """
        from trustbench.models.loading import load_model
        from trustbench.models.sklearn import fitted_columns

        path = Path(spec).expanduser()
        if not path.is_file():
            raise InputError(f"--model {spec}: no such model file",
                             fix="give the model's file (.skops, .onnx, TorchScript, or a "
                             "pickle with --trust-pickle)")
        model = load_model(path, trust_pickle=trust_pickle)
        named = fitted_columns(getattr(model, "estimator", None))
        have = [str(c) for c in columns]
        chosen = list(named or features or [c for c in have if c not in set(skip)])
        missing = [c for c in chosen if c not in have]
        if missing:
            whose = "the model was fitted on" if named else "--features names"
            raise InputError(f"--model {spec}: {whose} column(s) {', '.join(missing[:5])} that "
                             f"{source} does not have",
                             fix=f"the columns of {source} are: {', '.join(have[:20])}")
        if not chosen:
            raise InputError(f"--model {spec}: no columns left for the model to read",
                             fix="name them with --features")
        file = cls(str(path.resolve()), file_sha256(path), tuple(chosen), 0, named is not None)
        scorer = Scorer(model, file)
        return file, scorer

    def load(self, *, trust_pickle: bool = False, version: str = "") -> Scorer:
        """Load the file again, refusing it when its bytes changed since it was registered."""
        from trustbench.models.loading import load_model

        what = f"model version {version!r}" if version else "the model"
        path = Path(self.path)
        if not path.is_file():
            raise InputError(f"{self.path}: the file of {what} is gone",
                             fix="put it back, or log the probabilities as columns")
        if file_sha256(path) != self.sha256:
            raise InputError(f"{self.path}: the file of {what} changed since it was registered",
                             fix="register the changed model as a new version with "
                             "'trustbench monitor register'")
        return Scorer(load_model(path, trust_pickle=trust_pickle), self)


class Scorer:
    """A loaded model and the columns it reads: ``scorer(where, chunk)`` -> ``(n, C)``."""

    def __init__(self, model: Model, file: ModelFile) -> None:
        self.model = model
        self.file = file
        self.classes = file.classes or None

    def __call__(self, where: str, chunk: pd.DataFrame) -> np.ndarray:
        """Return the model's class probabilities on ``chunk``, checked."""
        cols = list(self.file.features)
        missing = [c for c in cols if c not in chunk.columns]
        if missing:
            raise InputError(f"{where}: no column(s) {', '.join(missing[:5])}, which the model "
                             "reads", fix="send the model's input columns with the batch")
        try:
            if self.file.frame:
                p = self.model.estimator.predict_proba(chunk[cols])  # type: ignore[attr-defined]
            else:
                p = self.model.predict_proba(self._array(where, chunk[cols]))
        except InputError:
            raise
        except Exception as e:  # the user's model rejected the rows
            raise InputError(f"{where}: the model cannot score these rows ({_first_line(e)})",
                             fix="send the columns and types the model was trained on") from None
        p = np.asarray(p, dtype=np.float64)
        if p.ndim != 2 or len(p) != len(chunk):
            raise InputError(f"{where}: the model returned probabilities of shape {p.shape} for "
                             f"{len(chunk)} rows", fix="use a model that returns one row of "
                             "class probabilities per input")
        if self.classes is None:
            self.classes = p.shape[1]
        elif p.shape[1] != self.classes:
            raise InputError(f"{where}: the model returned {p.shape[1]} classes, the monitor "
                             f"has {self.classes}", fix="register a model with the same classes")
        if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1 + 1e-6).all()):
            raise InputError(f"{where}: the model returned values that are not probabilities",
                             fix="use a model whose outputs are class probabilities")
        return np.clip(p, 0.0, 1.0)

    @staticmethod
    def _array(where: str, frame: pd.DataFrame) -> np.ndarray:
        import pandas as pd

        for c in frame.columns:
            s = frame[c]
            if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
                raise InputError(f"{where}: column {c!r} holds text, and the model takes an "
                                 "array of numbers",
                                 fix="fit a scikit-learn pipeline on a DataFrame (it encodes "
                                 "text itself), leave the column out with --features, or log "
                                 "the probabilities as columns")
        x = frame.to_numpy(dtype=np.float32, na_value=np.nan)
        bad = ~np.isfinite(x).all(1)
        if bad.any():
            raise InputError(f"{where}: {int(bad.sum())} rows hold missing values, which the "
                             "model cannot take",
                             fix="impute them, or fit a pipeline that does")
        return x


class InputSample:
    """Up to ``k`` input rows of a window: those whose row-id hashes are smallest."""

    def __init__(self, k: int = KEEP_INPUTS) -> None:
        self.k = k
        self._parts: list[pd.DataFrame] = []
        self._held = 0

    def add(self, row_ids: Sequence[str], chunk: pd.DataFrame) -> None:
        """Offer a chunk's rows (``row_ids`` in the same order)."""
        import pandas as pd

        if self.k <= 0 or not len(chunk):
            return
        keys = pd.util.hash_array(np.asarray(row_ids, dtype=object))
        part = chunk.reset_index(drop=True).assign(**{ROW_ID: list(row_ids), "__key__": keys})
        self._parts.append(part)
        self._held += len(part)
        if self._held > 2 * self.k:
            self._trim()

    def _trim(self) -> None:
        import pandas as pd

        frame = pd.concat(self._parts, ignore_index=True)
        self._parts = [frame.nsmallest(self.k, "__key__")] if len(frame) > self.k else [frame]
        self._held = len(self._parts[0])

    def to_bytes(self) -> tuple[int, bytes] | None:
        """``(rows, Parquet bytes)`` of the sample in row-id hash order, or ``None``."""
        if not self._parts:
            return None
        self._trim()
        frame = self._parts[0].sort_values("__key__", kind="stable").drop(columns="__key__")
        buf = io.BytesIO()
        try:
            frame.to_parquet(buf, index=False)
        except Exception:  # mixed Python objects in a column: keep them as text
            frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
            buf = io.BytesIO()
            frame.to_parquet(buf, index=False)
        return len(frame), buf.getvalue()


def read_inputs(data: bytes) -> pd.DataFrame:
    """Read kept input rows written by :meth:`InputSample.to_bytes`."""
    import pandas as pd

    return pd.read_parquet(io.BytesIO(data))
