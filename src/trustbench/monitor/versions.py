"""Register a new model version, compared with the previous one on the stored windows.

:func:`register_version` (``trustbench monitor register``) takes the new version's outputs
on the rows the monitor has already seen, from one of:

* its model file (``model``): it scores the input rows each window kept
  (:class:`~trustbench.monitor.scoring.InputSample`);
* a table of its probabilities logged in shadow mode (``outputs``), found by the monitor's
  row id.

It then compares them with the stored outputs of the version that served those windows
(the previous version) — :func:`~trustbench.monitor.compare.compare_versions` on every
matched row:

* ``monitor.compare.shadow`` — the flip rate (no label needed), where the flips concentrate
  by group, and the flip rate per window;
* ``monitor.compare`` — on the rows whose labels have arrived: negative flips, the accuracy
  change with McNemar's test, and per-group changes; it warns when the new version is
  significantly worse overall or in a group.

With a labelled ``reference``, the new version's outputs on it are profiled (the drift of
its predictions is measured against them) and calibrate its label-free estimates. The
version, its calibration and outputs, the comparison and a
``regression`` alert when the new version is worse are written in one transaction, after
every input was checked: a failed registration stores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from trustbench import plotspec
from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.metrics import wilson_interval
from trustbench.monitor.compare import compare_versions
from trustbench.monitor.jobs import ReferenceOutputs, need_columns, probabilities, window_outputs
from trustbench.monitor.profile import CHUNK_ROWS, Profile, build_profile, read_chunks
from trustbench.monitor.scoring import ROW_ID, ModelFile, Scorer, read_inputs
from trustbench.monitor.store import Store
from trustbench.monitor.tags import PERFORMANCE

__all__ = ["Registration", "register_version"]


@dataclass(frozen=True)
class Registration:
    """What :func:`register_version` stored: the comparison's findings and its alerts."""

    version: str
    previous: str
    findings: list[Finding]
    rows: int  # rows compared
    calibrated: bool
    alerts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Matched:
    """The rows both versions answered: old and new probabilities, labels, groups, windows."""

    old: list[np.ndarray] = field(default_factory=list)
    new: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    groups: list[np.ndarray] = field(default_factory=list)
    features: list[Any] | None = field(default_factory=list)  # None: some rows kept none
    per_window: list[tuple[int, int, int]] = field(default_factory=list)  # seq, flips, rows


def register_version(store: Store, name: str, version: str, *, model: str | Path | None = None,
                     trust_pickle: bool = False, outputs: str | Path | None = None,
                     proba_columns: Sequence[str] = (), reference: str | Path | None = None,
                     chunk_rows: int = CHUNK_ROWS, seed: int = 0) -> Registration:
    """Register ``version`` of monitor ``name`` and compare it with the previous version.

    Parameters
    ----------
    model
        The new version's model file; it scores the stored windows' kept inputs and the
        batches ingested for this version from now on.
    outputs, proba_columns
        Instead of (or as well as) ``model``: a table with the monitor's id column and the
        new version's probabilities in ``proba_columns`` (class order), logged in shadow
        mode on rows the monitor stored.
    reference
        A labelled reference table to calibrate the new version's label-free estimates:
        scored by ``model``, or holding ``proba_columns``.
    """
    if model is None and outputs is None:
        raise InputError("give the new version's --model file, or its --outputs on stored "
                         "rows", fix="pass --model FILE, or --outputs TABLE --proba COLUMNS")
    if outputs is not None and not proba_columns:
        raise InputError("--outputs needs --proba: the columns with the new version's "
                         "probabilities")
    store.check_new_version(name, version)  # before any scoring
    settings = store.settings(name)
    previous = store.version(name)["version"]
    classes = settings.get("classes")
    file: ModelFile | None = None
    scorer: Scorer | None = None
    if model is not None:
        columns = _stored_columns(store, name)
        skip = [*settings.get("proba_columns", []), *settings.get("exclude", []),
                *(settings.get(k) for k in ("id_column", "label_column", "group_column")
                  if settings.get(k))]
        file, scorer = ModelFile.register(model, columns, trust_pickle=trust_pickle, skip=skip,
                                          source="the stored windows")
        scorer.classes = classes
    logged = _logged(store, name, settings, outputs, proba_columns, classes) if outputs else None

    matched = _Matched()
    for w in store.windows(name):
        if w.version != previous:
            continue
        stored = window_outputs(store, name, w.seq)
        if stored is None:
            continue
        new = np.full_like(stored.proba, np.nan)
        if logged is not None:
            _fill(new, stored.row_ids, logged)
        data = store.window_inputs(name, w.seq)
        kept = None if data is None else read_inputs(data)
        if scorer is not None and kept is not None:
            p = scorer(f"window {w.seq}'s kept inputs", kept.drop(columns=ROW_ID))
            _fill(new, stored.row_ids, dict(zip(kept[ROW_ID].astype(str), p, strict=True)))
        have = np.isfinite(new).all(1)
        if not have.any():
            continue
        old_p, new_p = stored.proba[have], new[have]
        matched.old.append(old_p)
        matched.new.append(new_p)
        matched.labels.append(stored.labels[have])
        matched.groups.append(stored.groups[have])
        if matched.features is not None and kept is not None:
            rows = kept.assign(**{ROW_ID: kept[ROW_ID].astype(str)}).set_index(ROW_ID)
            rows = rows.reindex(stored.row_ids[have])
            drop = [c for c in (settings.get("id_column"), *settings.get("exclude", []))
                    if c in rows.columns]
            matched.features.append(rows.drop(columns=drop).reset_index(drop=True))
        else:
            matched.features = None
        matched.per_window.append((w.seq, int((old_p.argmax(1) != new_p.argmax(1)).sum()),
                                   int(have.sum())))
    findings = _findings(matched, previous, version, grouped=bool(settings.get("group_column")),
                         seed=seed)
    if file is not None:
        file = replace(file, classes=int(classes or scorer.classes or 0))  # type: ignore[union-attr]
    calibration, outputs, baseline = None, None, None
    if reference is not None:
        calibration, outputs, baseline = _calibrate(settings, reference, scorer, proba_columns,
                                                    chunk_rows, seed)
    alerts = [{"kind": "regression", "subject": f"{previous}->{version}", "message": f.title,
               "details": {"finding": f.id}} for f in findings if f.severity in ("warn", "fail")]
    store.add_version(name, version, fingerprint=file.sha256 if file else "",
                      calibration=calibration, model=file.to_dict() if file else None,
                      outputs=outputs, baseline=baseline,
                      comparison=(previous, [f.to_dict() for f in findings]), alerts=alerts)
    return Registration(version, previous, findings, sum(n for _, _, n in matched.per_window),
                        calibration is not None, alerts)


def _stored_columns(store: Store, name: str) -> list[str]:
    """Return the columns a batch of the monitor holds: the kept inputs', else the profile's."""
    for w in reversed(store.windows(name)):
        data = store.window_inputs(name, w.seq)
        if data is not None:
            return [c for c in read_inputs(data).columns if c != ROW_ID]
    return list(store.profile(name).features)


def _logged(store: Store, name: str, settings: dict[str, Any], outputs: str | Path,
            proba_columns: Sequence[str], classes: int | None) -> dict[str, np.ndarray]:
    """Row id -> the new version's probabilities, from a shadow-mode table."""
    id_col = settings.get("id_column")
    where = str(outputs)
    if not id_col:
        raise InputError(f"monitor {name!r} was created without an --id column, so logged "
                         "outputs cannot find their rows",
                         fix="register with --model, which scores the kept inputs")
    if classes and len(proba_columns) != classes:
        raise InputError(f"--proba names {len(proba_columns)} columns; the monitor's model has "
                         f"{classes} classes", fix="give one column per class, in class order")
    out: dict[str, np.ndarray] = {}
    for chunk in read_chunks(outputs):
        need_columns(where, [id_col], chunk.columns, "the monitor's --id")
        p = probabilities(where, chunk, proba_columns)
        out.update(zip(chunk[id_col].astype(str), p, strict=True))
    if not out:
        raise InputError(f"{where}: no rows", fix="give the new version's outputs on stored rows")
    return out


def _fill(new: np.ndarray, row_ids: np.ndarray, found: dict[str, np.ndarray]) -> None:
    for i, r in enumerate(row_ids):
        p = found.get(r)
        if p is not None and not np.isfinite(new[i]).all():
            new[i] = p


def _findings(m: _Matched, previous: str, version: str, *, grouped: bool,
              seed: int) -> list[Finding]:
    if not m.per_window:
        return [Finding(
            id="monitor.compare.shadow", severity="info", metrics={}, tags=PERFORMANCE,
            title=f"{version} against {previous}: no stored rows to compare on",
            detail=f"No stored window served by {previous} has rows the new version answered: "
                   "register it with --model once windows kept their inputs (--keep-inputs), "
                   "or with --outputs logged on stored row ids.")]
    old, new = np.concatenate(m.old), np.concatenate(m.new)
    labels, groups = np.concatenate(m.labels), np.concatenate(m.groups)
    names = (previous, version)
    shadow = compare_versions(old, new, groups=groups if grouped else None, names=names,
                              seed=seed, id="monitor.compare.shadow")
    seqs = [s for s, _, _ in m.per_window]
    rates = [Metric(k / n, wilson_interval(k, n), "fraction") for _, k, n in m.per_window]
    shadow.evidence["windows"] = [{"window": s, "flips": k, "rows": n} for s, k, n in m.per_window]
    shadow.evidence["plots"] = [plotspec.lines(
        f"Predictions {version} changes, per window served by {previous}",
        [{"label": "flip rate", "x": seqs, "y": [r.value for r in rates],
          "lo": [r.ci[0] for r in rates], "hi": [r.ci[1] for r in rates]}],
        x_label="window", y_label="share of rows", y_range=(0.0, 1.0))]
    found = [shadow]
    labelled = labels >= 0
    if labelled.any():
        features = None
        if m.features:
            import pandas as pd

            features = pd.concat(m.features, ignore_index=True)[labelled]
            features = None if features.isna().all(axis=1).any() else features
        found.insert(0, compare_versions(
            old[labelled], new[labelled], y_true=labels[labelled],
            groups=groups[labelled] if grouped else None, features=features, names=names,
            seed=seed))
    return found


def _calibrate(settings: dict[str, Any], reference: str | Path, scorer: Scorer | None,
               proba_columns: Sequence[str], chunk_rows: int,
               seed: int) -> tuple[dict[str, Any] | None, Profile, dict[str, Any] | None]:
    """Return the new version's calibration, outputs' profile and baseline counts.

    The calibration and the baseline are None without labels.
    """
    label = settings.get("label_column")
    if scorer is None and not proba_columns:
        raise InputError("--reference needs the new version's --model or --proba columns")
    where = str(reference)
    seen = ReferenceOutputs(where, [] if scorer is not None else proba_columns, label,
                            settings.get("group_column"))
    profile: Profile | None = None
    for chunk in read_chunks(reference, chunk_rows=chunk_rows):
        p = seen.add(chunk, scorer)
        part = build_profile(chunk, exclude=list(chunk.columns), seed=seed,
                             scores=lambda _, p=p: p)
        profile = part if profile is None else profile.merge(part)
    if profile is None:
        raise InputError(f"{where}: no rows", fix="give a reference table with rows")
    return seen.calibration(seed), profile, seen.baseline()
