"""What ``trustbench monitor init|ingest|check`` do, as library functions.

* :func:`init_monitor` — build the reference profile from a CSV/Parquet file, read once in
  chunks (plus, when probabilities and labels are given, the confidence calibration for
  label-free estimates), and store a new monitor.
* :func:`ingest_batch` — store a production batch as the monitor's next window (its
  profile, and the rows later labels refer to); idempotent by content.
* :func:`ingest_labels` — attach labels to stored rows by row id, and check the windows
  they belong to again: a window whose accuracy, or a group's, fell from the reference's
  raises a performance or fairness alert (:mod:`trustbench.monitor.performance`).
* :func:`check_monitor` — test a window against the reference: a Scorecard with one finding
  per column (``monitor.drift.<column>``), the window's realised performance and fairness
  once labels are there, or its estimated accuracy before; alarms are stored as alerts.

Probabilities come as columns of the table (``proba_columns``, one per class, in class
order) — the model's own outputs, logged by the serving code — or from the model version's
file (``model``, see :mod:`trustbench.monitor.scoring`), which scores each batch that has
no logged probabilities. Every bad input is an :class:`~trustbench.errors.InputError`
naming the file and column, raised before anything is written.

Each window also keeps a bounded sample of its input rows (``keep_inputs``, 100,000 by
default; 0 keeps none), so that a model version registered later can be compared with
the one that served it (:mod:`trustbench.monitor.versions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from trustbench._files import file_sha256
from trustbench.data.tables import columns_differ, shard_files
from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.monitor.decide import check_drift
from trustbench.monitor.performance import MIN_DROP
from trustbench.monitor.profile import (
    CHUNK_ROWS,
    DEFAULT_SAMPLE_SIZE,
    Profile,
    build_profile,
    data_row,
    read_chunks,
    table_file,
)
from trustbench.monitor.scoring import KEEP_INPUTS, InputSample, ModelFile, Scorer
from trustbench.monitor.store import Store
from trustbench.monitor.tags import DRIFT, PERFORMANCE
from trustbench.scorecard import Scorecard

__all__ = ["LabelsResult", "ReferenceOutputs", "WindowOutputs", "check_labels", "check_monitor",
           "ingest_batch", "ingest_labels", "init_monitor", "labels_of", "need_columns",
           "probabilities", "profile_reference", "untested_outputs", "window_drift",
           "window_outputs"]

MAX_CALIBRATION_ROWS = 1_000_000


def need_columns(where: str, columns: Sequence[str], have: Sequence[Any], option: str) -> None:
    """Raise ``missing_column``'s error for the first of ``columns`` not in ``have``."""
    from trustbench.data.tables import missing_column

    names = [str(c) for c in have]
    for c in columns:
        if c not in names:
            raise missing_column(where, option, c, names)


def probabilities(where: str, chunk: Any, columns: Sequence[str]) -> np.ndarray:
    """Return the (n, C) probabilities in ``columns`` of ``chunk``, checked."""
    need_columns(where, columns, chunk.columns, "probability columns")
    p = chunk[list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(p).all(1) | (p < 0).any(1) | (p > 1).any(1)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{where}: row {data_row(chunk, i)} holds a probability that is missing or outside "
                         f"[0, 1] in {', '.join(columns)}",
                         fix="log the model's class probabilities, one column per class")
    return p


def init_monitor(store: Store, name: str, reference: str | Path | Sequence[str | Path], *,
                 version: str = "v1",
                 proba_columns: Sequence[str] = (), model: str | Path | None = None,
                 trust_pickle: bool = False, features: Sequence[str] | None = None,
                 label_column: str | None = None, id_column: str | None = None,
                 group_column: str | None = None, exclude: Sequence[str] = (),
                 kinds: Mapping[str, str] | None = None, alpha: float = 0.05,
                 min_effects: Mapping[str, float] | None = None, min_drop: float = MIN_DROP,
                 keep_inputs: int = KEEP_INPUTS, chunk_rows: int = CHUNK_ROWS,
                 seed: int = 0, executor: Any = None) -> Profile:
    """Profile ``reference`` (one pass, in chunks) and store a new monitor ``name``.

    ``reference`` is a CSV/Parquet file, or a folder (or list) of them with the same
    columns: shards, each profiled as one unit of work on ``executor`` (this process by
    default; a pool or a Ray cluster, :mod:`trustbench.execution`) and merged in file
    order — the same profile, calibration and baseline on every executor. The model's
    outputs on the reference come from ``proba_columns`` or from the ``model`` file (not
    both; each worker loads the file itself, checked against its SHA-256); with
    ``label_column`` they calibrate label-free accuracy estimates and give the accuracy
    (overall and per group) that labelled windows are compared with: a fall of
    ``min_drop`` or more that is significant alarms.
    """
    if not 0 < alpha < 1:
        raise InputError(f"--alpha must be in (0, 1), got {alpha}")
    if not 0 < min_drop < 1:
        raise InputError(f"--min-drop must be in (0, 1), got {min_drop}",
                         fix="give the smallest fall in accuracy that should alarm, e.g. 0.05")
    if keep_inputs < 0:
        raise InputError(f"--keep-inputs must be 0 or more, got {keep_inputs}")
    if model is not None and proba_columns:
        raise InputError("--model and --proba both give the model's outputs",
                         fix="give --proba when the probabilities are logged as columns, "
                         "--model when trustbench should compute them")
    if name in store.monitors():  # before reading a reference that may take minutes
        raise InputError(f"{store.where}: a monitor named {name!r} already exists",
                         fix="choose another name, or use that monitor")
    where = str(reference) if isinstance(reference, str | Path) else str(reference[0])
    files = shard_files(reference)
    skip = [*proba_columns, *(c for c in (label_column, id_column) if c), *exclude]
    first = next(read_chunks(files[0], chunk_rows=chunk_rows))
    need_columns(str(files[0]), skip, first.columns, "given at init")
    file: ModelFile | None = None
    scorer: Scorer | None = None
    if model is not None:
        file, scorer = ModelFile.register(
            model, list(first.columns), trust_pickle=trust_pickle, features=features,
            skip=[*skip, *(c for c in (group_column,) if c)])
    outputs = {"proba_columns": list(proba_columns), "label_column": label_column,
               "group_column": group_column, "model": file.to_dict() if file else None,
               "trust_pickle": trust_pickle,
               "scorer": scorer if executor is None else None}  # in process: loaded once
    profile, seen = profile_reference(files, first, exclude=skip, kinds=kinds, seed=seed,
                                      chunk_rows=chunk_rows, outputs=outputs,
                                      executor=executor, where=where)
    if profile.rows == 0:
        raise InputError(f"{where}: no rows", fix="give a reference table with rows")
    if file is not None:
        file = replace(file, classes=int(seen.classes or 0))
    settings = {"proba_columns": list(proba_columns), "label_column": label_column,
                "id_column": id_column, "group_column": group_column, "exclude": list(exclude),
                "alpha": alpha, "min_effects": dict(min_effects or {}), "min_drop": min_drop,
                "keep_inputs": keep_inputs, "classes": seen.classes}
    store.create_monitor(name, profile, version=version, settings=settings,
                         calibration=seen.calibration(seed), baseline=seen.baseline(),
                         fingerprint=file.sha256 if file else "",
                         model=file.to_dict() if file else None)
    return profile


class ReferenceOutputs:
    """A reference's model outputs, chunk by chunk: for the profile, calibration and baseline.

    The baseline is the accuracy overall and per group, counted on every labelled row.
    """

    def __init__(self, where: str, proba_columns: Sequence[str], label_column: str | None,
                 group_column: str | None = None) -> None:
        self.where, self.proba_columns, self.label_column = where, list(proba_columns), label_column
        self.group_column = group_column
        self.conf: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.classes: int | None = len(proba_columns) or None
        self.counts: dict[str, Any] | None = None

    def add(self, chunk: Any, scorer: Scorer | None) -> np.ndarray | None:
        """Return the chunk's probabilities (logged, or computed by ``scorer``), or None."""
        if scorer is not None:
            p = scorer(self.where, chunk)
        elif self.proba_columns:
            p = probabilities(self.where, chunk, self.proba_columns)
        else:
            return None
        self.classes = p.shape[1]
        if self.label_column:
            from trustbench.monitor.performance import reference_baseline

            need_columns(self.where, [self.label_column], chunk.columns, "--label")
            y = _labels(self.where, chunk[self.label_column], p.shape[1])
            if sum(len(c) for c in self.conf) < MAX_CALIBRATION_ROWS:
                self.conf.append(p)
                self.labels.append(y)
            groups = None
            if self.group_column and self.group_column in chunk.columns:
                groups = chunk[self.group_column].astype(str).to_numpy(dtype=object)
            self.counts = _add_counts(self.counts, reference_baseline(y, p, groups))
        return p

    def absorb(self, other: ReferenceOutputs) -> None:
        """Add another shard's outputs (shards absorbed in file order)."""
        self.classes = other.classes or self.classes
        for p, y in zip(other.conf, other.labels, strict=True):
            if sum(len(c) for c in self.conf) >= MAX_CALIBRATION_ROWS:
                break
            self.conf.append(p)
            self.labels.append(y)
        if other.counts is not None:
            self.counts = _add_counts(self.counts, other.counts)

    def baseline(self) -> dict[str, Any] | None:
        """Return the counts labelled windows are compared with, or None without labels."""
        return self.counts

    def calibration(self, seed: int) -> dict[str, Any] | None:
        """Return the confidence calibration fitted on the labelled outputs, or None."""
        from trustbench.monitor.estimate import ConfidenceCalibration

        if not self.conf:
            return None
        return ConfidenceCalibration.fit(np.concatenate(self.labels), np.concatenate(self.conf),
                                         seed=seed).to_dict()


_NO_OUTPUTS = {"proba_columns": [], "label_column": None, "group_column": None,
               "model": None, "trust_pickle": False, "scorer": None}


def profile_reference(files: Sequence[Path], first: Any, *, exclude: Sequence[str],
                      kinds: Mapping[str, str] | None = None, seed: int = 0,
                      sample_size: int = DEFAULT_SAMPLE_SIZE, chunk_rows: int = CHUNK_ROWS,
                      outputs: Mapping[str, Any] | None = None, executor: Any = None,
                      where: str = "the reference") -> tuple[Profile, ReferenceOutputs]:
    """Profile reference shards, each one unit of work on ``executor``, merged in file order.

    ``first`` is the first shard's first chunk: it decides the column kinds for every shard.
    Each shard's sample is seeded from ``(seed, its index)``, so the result does not depend
    on where the units ran. ``outputs`` says where the model's outputs come from (logged
    ``proba_columns`` or a ``model`` file, with the label and group columns); without it,
    only the columns are profiled.
    """
    from trustbench.execution import LocalExecutor
    from trustbench.monitor.profile import column_kinds

    shared = {**_NO_OUTPUTS, **(outputs or {}), "columns": [str(c) for c in first.columns],
              "skip": list(exclude), "seed": seed, "sample_size": sample_size,
              "chunk_rows": chunk_rows,
              "kinds": column_kinds(first[[c for c in first.columns
                                           if str(c) not in set(exclude)]], kinds)}
    parts = (executor or LocalExecutor()).map(
        _reference_part, [(i, str(f)) for i, f in enumerate(files)], shared=shared)
    profile = parts[0][0]
    seen = ReferenceOutputs(where, shared["proba_columns"], shared["label_column"],
                            shared["group_column"])
    for i, (part, shard_outputs) in enumerate(parts):
        profile = profile.merge(part) if i else profile
        seen.absorb(shard_outputs)
    return Profile(profile.columns, profile.rows, seed, profile.sample_size), seen


def _reference_part(job: tuple[int, str], shared: dict[str, Any],
                    ) -> tuple[Profile, ReferenceOutputs]:
    """Profile one reference shard with its model outputs (one unit of profile_reference)."""
    index, path = job
    scorer = shared["scorer"]
    if scorer is None and shared["model"] is not None:
        scorer = ModelFile.from_dict(shared["model"]).load(trust_pickle=shared["trust_pickle"])
    seen = ReferenceOutputs(path, shared["proba_columns"], shared["label_column"],
                            shared["group_column"])
    def chunks() -> Any:
        for chunk in read_chunks(path, chunk_rows=shared["chunk_rows"]):
            what = columns_differ(list(chunk.columns), shared["columns"], ordered=False)
            if what is not None:
                raise InputError(f"{path}: columns differ from the first reference shard's "
                                 f"({what})", fix="give reference shards with the same columns")
            yield chunk

    outputs = scorer is not None or bool(shared["proba_columns"])
    profile = build_profile(chunks(), kinds=shared["kinds"], exclude=shared["skip"],
                            seed=shared["seed"] * 1_000_003 + index, where=path,
                            sample_size=shared["sample_size"], chunk_rows=shared["chunk_rows"],
                            scores=(lambda chunk: seen.add(chunk, scorer)) if outputs else None)
    return profile, seen


def _add_counts(a: dict[str, Any] | None, b: dict[str, Any]) -> dict[str, Any]:
    """Merge two :func:`~trustbench.monitor.performance.reference_baseline` counts."""
    if a is None:
        return b
    out = {"n": a["n"] + b["n"], "correct": a["correct"] + b["correct"]}
    if "groups" in a or "groups" in b:
        groups = {g: list(v) for g, v in a.get("groups", {}).items()}
        for g, (n, k) in b.get("groups", {}).items():
            n0, k0 = groups.get(g, (0, 0))
            groups[g] = [n0 + n, k0 + k]
        out["groups"] = groups
    return out


def _labels(where: str, column: Any, classes: int) -> np.ndarray:
    """Class indices in [0, classes) from a column, or an InputError naming the row."""
    import pandas as pd

    v = pd.to_numeric(column, errors="coerce")
    bad = v.isna() | (v % 1 != 0) | (v < 0) | (v >= classes)
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise InputError(f"{where}: label in row {data_row(column, i)} is {column.iloc[i]!r}, not a class "
                         f"index in [0, {classes - 1}]",
                         fix="give labels as class indices in the order of the probability "
                         "columns")
    return v.to_numpy(dtype=np.int64)


def labels_of(where: str, frame: Any, column: str, classes: int) -> np.ndarray:
    """Return the class indices in ``frame[column]``, checked."""
    need_columns(where, [column], frame.columns, "--label")
    return _labels(where, frame[column], classes)


def ingest_batch(store: Store, name: str, batch: str | Path, *, batch_id: str | None = None,
                 version: str | None = None, trust_pickle: bool = False,
                 chunk_rows: int = CHUNK_ROWS, where: str | None = None) -> Any:
    """Store the table ``batch`` as monitor ``name``'s next window (once, whatever retries).

    The probabilities are the batch's logged columns when it has them, else computed by
    the file of the model version that served the batch (``version``, the newest by
    default), when that version has one. ``where`` names the batch in messages (default:
    its path).
    """
    batch = table_file(batch)
    where = where or str(batch)
    settings = store.settings(name)
    reference = store.profile(name)
    served = store.version(name, version)
    proba_cols = settings.get("proba_columns") or []
    id_col, group_col = settings.get("id_column"), settings.get("group_column")
    label_col = settings.get("label_column")
    skip = [*proba_cols, *(c for c in (id_col,) if c), *settings.get("exclude", [])]
    kept = InputSample(int(settings.get("keep_inputs", KEEP_INPUTS)))
    scorer: Scorer | None = None
    logged: bool | None = None
    profile: Profile | None = None
    seen = 0
    # rows go into the database chunk by chunk, in the one transaction of this window: a
    # batch of any length takes a chunk's memory, and a failure stores none of it
    digest = file_sha256(batch)
    with store.ingesting(name, content_hash=digest, batch_id=batch_id,
                         version=served["version"]) as writer:
        if writer.duplicate is not None:
            return writer.duplicate  # sent before: not even read again
        for chunk in read_chunks(batch, chunk_rows=chunk_rows):
            if logged is None:  # the first chunk decides where the probabilities come from
                logged = bool(proba_cols) and all(c in chunk.columns for c in proba_cols)
                if not logged and served["model"]:
                    scorer = ModelFile.from_dict(served["model"]).load(
                        trust_pickle=trust_pickle, version=served["version"])
            need_columns(where, [*(proba_cols if logged or scorer is None else []),
                                 *(c for c in (id_col, group_col) if c)], chunk.columns,
                         "the monitor's columns")
            if label_col and label_col in chunk.columns:
                chunk = chunk.drop(columns=[label_col])  # labels come separately, by row id
            p = (probabilities(where, chunk, proba_cols) if logged
                 else scorer(where, chunk) if scorer is not None else None)
            part = build_profile(chunk, exclude=skip, reference=reference,
                                 scores=None if p is None else lambda _, p=p: p)
            profile = part if profile is None else profile.merge(part)
            ids = (chunk[id_col].astype(str).tolist() if id_col
                   else [f"{batch_id or digest[:16]}:{seen + i}" for i in range(len(chunk))])
            kept.add(ids, chunk.drop(columns=proba_cols if logged else []))
            groups = chunk[group_col].astype(str).tolist() if group_col else [None] * len(chunk)
            rows: list[dict[str, Any]] = []
            for i in range(len(chunk)):
                row: dict[str, Any] = {"row_id": ids[i], "group": groups[i]}
                if p is not None:
                    row.update(prediction=int(p[i].argmax()), confidence=float(p[i].max()),
                               proba=p[i].astype("<f4").tobytes())
                rows.append(row)
            try:
                writer.add_rows(rows)
            except InputError:
                raise InputError(f"{where}: row ids in {id_col!r} repeat",
                                 fix="give every row its own id, so that labels find it") from None
            seen += len(chunk)
        if profile is None:
            raise InputError(f"{where}: no rows", fix="send a batch with at least one row")
        return writer.finish(profile, kept.to_bytes())


@dataclass(frozen=True)
class LabelsResult:
    """What :func:`ingest_labels` did.

    Rows labelled, ids not found, windows checked again, and the performance and fairness
    alarms those checks raised (failing findings).
    """

    labelled: int
    unknown: list[str]
    windows: list[int]
    alarms: list[tuple[int, Finding]]


def ingest_labels(store: Store, name: str, labels: str | Path, *, where: str | None = None,
                  check: bool = True) -> LabelsResult:
    """Attach the labels in ``labels`` (the monitor's id and label columns) to stored rows.

    With ``check`` the windows that got labels are checked again for a fall in accuracy,
    overall or in a group (:func:`check_labels`); their alarms are stored as alerts.
    """
    settings = store.settings(name)
    id_col, label_col = settings.get("id_column"), settings.get("label_column")
    where = where or str(labels)
    if not id_col or not label_col:
        raise InputError(f"monitor {name!r} was created without --id and --label columns",
                         fix="create the monitor with --id and --label to take late labels")
    classes = int(settings.get("classes") or len(settings.get("proba_columns") or []) or 2**31)
    out: dict[str, int] = {}
    for chunk in read_chunks(labels):
        need_columns(where, [id_col, label_col], chunk.columns, "--id and --label of the monitor")
        ys = _labels(where, chunk[label_col], classes)
        out.update(zip(chunk[id_col].astype(str), ys.tolist(), strict=True))
    done, unknown, windows = store.add_labels(name, out)
    alarms = check_labels(store, name, windows) if check and done else []
    return LabelsResult(done, unknown, windows, alarms)


def check_labels(store: Store, name: str, windows: Sequence[int]) -> list[tuple[int, Finding]]:
    """Check the labelled rows of ``windows`` for a fall in accuracy, overall or in a group.

    Returns ``(window, failing finding)`` pairs, which are also stored as alerts (once per
    window and kind: a window re-checked as more labels arrive does not alarm twice).
    """
    settings = store.settings(name)
    out: list[tuple[int, Finding]] = []
    for seq in windows:
        w = store.window(name, seq)
        if w is None:
            continue
        found = [f for f in _performance(store, name, settings, w) if f.severity == "fail"]
        _store_alarms(store, name, seq, found)
        out += [(seq, f) for f in found]
    return out


def _performance(store: Store, name: str, settings: Mapping[str, Any], window: Any,
                 ) -> list[Finding]:
    """Return the realised performance and fairness of ``window``'s labelled rows, or its estimate."""
    from trustbench.monitor.estimate import ConfidenceCalibration, estimate_accuracy
    from trustbench.monitor.performance import window_performance

    out = window_outputs(store, name, window.seq)
    if out is None:
        return []
    served = store.version(name, window.version)
    findings: list[Finding] = []
    p, labelled = out.proba, out.labelled
    if len(labelled):
        groups = out.groups[labelled] if settings.get("group_column") else None
        findings += window_performance(out.labels[labelled], p[labelled], groups=groups,
                                       window=f"window {window.seq}",
                                       baseline=served.get("baseline"),
                                       min_drop=float(settings.get("min_drop", MIN_DROP)))
    cal = served["calibration"]
    if cal and len(labelled) < len(p):
        est = estimate_accuracy(ConfidenceCalibration.from_dict(cal), p)
        findings.append(Finding(
            id="monitor.performance.estimated",
            title=f"Estimated accuracy {est.value:.1%} (not yet labelled: an estimate)",
            severity="info",
            metrics={"accuracy": Metric(est.value, est.ci, "fraction"),
                     "n": Metric(est.n, unit="count")},
            tags=PERFORMANCE,
            detail="Confidence-based estimate from the reference's calibration; the "
                   "interval is for the accuracy the window will have once labelled."))
    return findings


def _store_alarms(store: Store, name: str, seq: int, alarms: Sequence[Finding]) -> None:
    """Store failing findings as alerts: kind from the finding's family, subject what fell."""
    subjects = {"monitor.performance": "accuracy", "monitor.fairness": "group accuracy"}
    store.add_alerts(name, seq, [
        {"kind": f.id.split(".")[1],
         "subject": str(f.evidence.get("column", subjects.get(f.id, f.id))),
         "message": f.title, "details": f.evidence} for f in alarms])


def check_monitor(store: Store, name: str, *, window: int | None = None) -> Scorecard:
    """Test window ``window`` (the latest: ``None``) of monitor ``name``; alarms become alerts."""
    latest = store.window(name)
    if latest is None:
        raise InputError(f"monitor {name!r} has no windows yet",
                         fix="send one with 'trustbench monitor ingest'")
    chosen = latest if window is None or window == latest.seq else store.window(name, window)
    if chosen is None:
        raise InputError(f"monitor {name!r} has no window {window}",
                         fix=f"windows run from 1 to {latest.seq}")
    settings = store.settings(name)
    served = store.version(name, chosen.version)
    drift = window_drift(settings, store.profile(name), chosen, served["outputs"])
    findings = [_drift_finding(c) for c in drift.columns] + untested_outputs(chosen, served)
    findings += _performance(store, name, settings, chosen)
    _store_alarms(store, name, chosen.seq, [f for f in findings if f.severity == "fail"])
    return Scorecard(findings, provenance={
        "monitor": name, "window": chosen.seq, "batch_id": chosen.batch_id,
        "version": chosen.version, "alpha_window": drift.alpha, "database": store.where})


@dataclass(frozen=True)
class WindowOutputs:
    """A stored window's model outputs: (n, C) probabilities, labels so far, groups, ids."""

    proba: np.ndarray
    labels: np.ndarray  # (n,) class index, -1 where no label has arrived
    groups: np.ndarray  # (n,) object
    row_ids: np.ndarray  # (n,) object: text

    @property
    def labelled(self) -> np.ndarray:
        """Positions of the rows whose label has arrived."""
        return np.flatnonzero(self.labels >= 0)


def window_outputs(store: Store, name: str, seq: int) -> WindowOutputs | None:
    """Return window ``seq``'s stored outputs, or ``None`` when it has no probabilities."""
    rows = store.window_rows(name, seq)
    if not rows or any(r["proba"] is None for r in rows):
        return None
    return WindowOutputs(
        np.stack([np.frombuffer(r["proba"], dtype="<f4").astype(np.float64) for r in rows]),
        np.array([-1 if r["label"] is None else r["label"] for r in rows], dtype=np.int64),
        np.array([r["group"] for r in rows], dtype=object),
        np.array([r["row_id"] for r in rows], dtype=object))


def window_drift(settings: Mapping[str, Any], reference: Profile, window: Any,
                 outputs: Mapping[str, Any] | None) -> Any:
    """Check a stored window against the reference with the monitor's settings.

    The model's outputs are checked too — drift of the predicted class and confidence is
    visible before any label — against ``outputs``, the sketches of the serving version's
    outputs on the reference (:meth:`Store.version`); ``None``: the version has none, and
    its outputs are not tested.
    """
    columns = {**reference.features,
               **{k: v for k, v in (outputs or {}).items() if k in window.profile.columns}}
    return check_drift(columns, window.profile.columns, window=window.seq,
                       alpha=float(settings.get("alpha", 0.05)),
                       min_effects=settings.get("min_effects") or None)


def untested_outputs(window: Any, served: Mapping[str, Any]) -> list[Finding]:
    """Return info findings for window outputs its version has no reference sketch of."""
    known = served.get("outputs") or {}
    return [Finding(
        id=f"monitor.drift.{c}", severity="info", metrics={}, tags=DRIFT,
        title=f"{c}: not tested (version {served['version']!r} has no outputs on the reference)",
        detail="The version was registered without --reference, so there is nothing to "
               "compare its outputs with; register the next one with --reference.",
        evidence={"column": c}) for c in window.profile.outputs if c not in known]


def _drift_finding(c: Any) -> Finding:
    r = c.result
    if r is None:
        return Finding(id=f"monitor.drift.{c.column}", title=f"{c.column}: not tested ({c.reason})",
                       severity="info", metrics={}, tags=DRIFT, detail=c.reason,
                       evidence={"column": c.column})
    verdict = ("drifted" if c.alarm else
               "changed, but less than the minimum effect" if c.significant else "no drift")
    return Finding(
        id=f"monitor.drift.{c.column}",
        title=f"{c.column}: {verdict} ({r.effect_name} {r.effect:.3g}, p={r.p_value:.2g})",
        severity="fail" if c.alarm else "info",
        metrics={"p_value": Metric(r.p_value), "effect": Metric(r.effect),
                 "min_effect": Metric(r.min_effect), "detectable": Metric(r.detectable),
                 "missing_share": Metric(c.missing_share[1], unit="fraction"),
                 "outside_share": Metric(c.outside_share, unit="fraction")},
        tags=DRIFT,
        detail=f"{c.reason}. An alarm needs p below the window's Benjamini–Hochberg level and "
               f"an effect of at least {r.min_effect:g}.",
        evidence={"column": c.column, "test": c.test, "effect_name": r.effect_name,
                  "significant": c.significant})
