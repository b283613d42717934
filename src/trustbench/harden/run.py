"""Harden a model into a folder: what ``trustbench harden`` runs.

Train, save with its architecture reference, and scan it before and after.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trustbench import nist, plotspec
from trustbench.data.dataset import Dataset
from trustbench.errors import InputError, read_json
from trustbench.findings import Finding, Metric
from trustbench.harden.trainer import EpochRecord, Trainer, TrainResult
from trustbench.scorecard import Scorecard

__all__ = ["ARCH_FILE", "MODEL_FILE", "HardenOutcome", "build_module", "harden_to_dir",
           "headline_metrics", "read_arch_reference", "save_with_arch", "train_test_data",
           "training_finding"]

log = logging.getLogger(__name__)

MODEL_FILE = "model.safetensors"
ARCH_FILE = "model.json"


@dataclass
class HardenOutcome:
    """What :func:`harden_to_dir` trained and wrote."""

    result: TrainResult
    model_path: Path
    arch_path: Path
    after: Scorecard
    before: Scorecard | None = None
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def train_test_data(spec: str, test_spec: str | None = None, *, seed: int = 0,
                    test_size: float = 0.3, **load_kwargs: Any) -> tuple[Dataset, Dataset, str]:
    """Load the training and test data; return them with a note on the split.

    The split is a built-in's own splits, ``test_spec`` if given, else a seeded stratified
    hold-out of ``test_size`` of the file.
    """
    from trustbench.data import BUILTIN, load_data

    if spec in BUILTIN and test_spec is None:
        return (load_data(spec, split="train", seed=seed, **load_kwargs),
                load_data(spec, split="test", seed=seed, **load_kwargs),
                f"{spec}: its built-in train and test splits (seed {seed})")
    train = load_data(spec, split="all" if spec in BUILTIN else "test", seed=seed, **load_kwargs)
    if test_spec is not None:
        return train, load_data(test_spec, seed=seed, **load_kwargs), f"test data: {test_spec}"
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(train))
    try:
        tr, te = train_test_split(idx, test_size=test_size, random_state=seed, stratify=train.y)
    except ValueError:  # a class with a single row cannot be stratified
        tr, te = train_test_split(idx, test_size=test_size, random_state=seed)
    tr, te = np.sort(tr), np.sort(te)

    def part(rows: np.ndarray, name: str) -> Dataset:
        return Dataset(train.x[rows], train.y[rows], train.schema, f"{train.name}[{name}]",
                       None if train.groups is None else train.groups[rows], list(train.notes),
                       train.group_name)

    return part(tr, "train"), part(te, "test"), (
        f"{spec}: a seeded stratified hold-out of {test_size:.0%} is the test split")


def save_with_arch(module: nn.Module, out_dir: str | os.PathLike[str], *, arch: str,
                   arch_kwargs: dict[str, Any] | None, data: str | None = None,
                   extra: dict[str, Any] | None = None,
                   name: str = MODEL_FILE) -> tuple[Path, Path]:
    """Write ``module``'s weights as safetensors and a JSON with the architecture reference.

    The JSON holds ``arch``, ``arch_kwargs`` and the ``trustbench scan`` command that loads
    it.
    """
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / name
    tmp = weights.with_name(f".{name}.tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()},
              str(tmp))
    os.replace(tmp, weights)
    kwargs = arch_kwargs or {}
    command = ["trustbench", "scan", "--model", str(weights), "--arch", arch]
    if kwargs:
        command += ["--arch-kwargs", json.dumps(kwargs)]
    ref = {"weights": name, "arch": arch, "arch_kwargs": kwargs,
           "scan_command": shlex.join([*command, "--data", data or "DATA"])} | (extra or {})
    arch_path = weights.with_suffix(".json")
    arch_path.write_text(json.dumps(ref, indent=2, default=str) + "\n", encoding="utf-8")
    return weights, arch_path


def read_arch_reference(weights: str | os.PathLike[str]) -> tuple[str, dict[str, Any]] | None:
    """``(arch, arch_kwargs)`` from the JSON written next to ``weights``, if there is one.

    The reference is only read here: it came with the weights, so it is untrusted (pass it
    to :func:`~trustbench.models.loading.load_model` with ``arch_source``).
    """
    path = Path(weights).with_suffix(".json")
    if not path.exists():
        return None
    ref = read_json(path, what="architecture reference")
    if not isinstance(ref, dict) or not isinstance(ref.get("arch"), str):
        raise InputError(f"{path}: expected a JSON object with an 'arch' string")
    kwargs = ref.get("arch_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise InputError(f"{path}: field 'arch_kwargs' must be a JSON object, got "
                         f"{type(kwargs).__name__}")
    return ref["arch"], dict(kwargs)


def harden_to_dir(
    module: nn.Module,
    train: Dataset,
    test: Dataset,
    *,
    trainer: Trainer,
    out_dir: str | os.PathLike[str],
    arch: str,
    arch_kwargs: dict[str, Any] | None = None,
    scan_config: Any = None,
    data_spec: str | None = None,
    scan_before: bool = True,
    write_report: Callable[[Scorecard, Path], Path] | None = None,
    resume: bool = False,
    progress: Callable[[EpochRecord], None] | None = None,
    scan_progress: Any = None,
) -> HardenOutcome:
    """Scan ``module``, train it, save it and scan it again.

    The first scan is skipped when ``scan_before`` is False. ``trainer`` trains the module
    (checkpoints in ``out_dir``), which is saved as ``out_dir/model.safetensors`` and
    ``model.json``. Writes ``before/`` and ``after/`` scorecards, and ``report.html`` next to
    each with ``write_report(card, path)`` when given (e.g. :func:`trustbench.report.write_html`:
    computing never imports the renderers itself). ``data_spec`` (e.g. ``"digits"``) goes
    into the ``trustbench scan`` command recorded in ``model.json``.
    """
    from trustbench.models import TorchModel
    from trustbench.scan import scan

    out = Path(out_dir)
    notes: list[str] = []
    written: list[Path] = []
    before: Scorecard | None = None
    before_path = out / "before" / "scorecard.json"
    if scan_before:
        if resume and before_path.exists():
            before = Scorecard.from_json(before_path)
            notes.append(f"before: reused {before_path} from the interrupted run")
        else:
            before = scan(TorchModel(module), test, scan_config, progress=scan_progress)
            written += _write(before, out / "before", write_report)
    result = trainer.fit(module, train, checkpoint_dir=out, resume=resume, progress=progress)
    weights, arch_path = save_with_arch(
        module, out, arch=arch, arch_kwargs=arch_kwargs, data=data_spec,
        extra={"trainer": {k: v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)
                           for k, v in trainer.get_params().items()},
               "best_epoch": result.best_epoch})
    written += [weights, arch_path]
    after = scan(TorchModel(module), test, scan_config, progress=scan_progress)
    after.findings.insert(0, training_finding(result, trainer, before, after))
    written += _write(after, out / "after", write_report)
    return HardenOutcome(result, weights, arch_path, after, before, written, notes)


def _write(card: Scorecard, folder: Path,
           write_report: Callable[[Scorecard, Path], Path] | None) -> list[Path]:
    paths = [card.to_json(folder / "scorecard.json")]
    if write_report is not None:
        paths.append(write_report(card, folder / "report.html"))
    return paths


def headline_metrics(card: Scorecard | None, eps: float, norm: str) -> tuple[float | None, float | None]:
    """Return ``(clean accuracy, worst-case robust accuracy at eps)``; ``None`` where not measured."""
    if card is None:
        return None, None
    clean = card.get("accuracy.clean")
    worst = card.get(f"robustness.worst.{norm}.{eps:g}")
    return (clean.metrics["accuracy"].value if clean else None,
            worst.metrics["robust_accuracy"].value if worst else None)


def training_finding(result: TrainResult, trainer: Trainer, before: Scorecard | None,
                     after: Scorecard) -> Finding:
    """``harden.training``: the method, the per-epoch validation curves and before/after."""
    eps, norm = trainer.eps, trainer.norm
    h = result.history
    epochs = [r.epoch for r in h]
    plot = plotspec.lines(
        f"Validation accuracy per epoch ({trainer.method}, PGD-{trainer.val_steps} at "
        f"{norm} eps={eps:g})",
        [{"label": "clean", "x": epochs, "y": [r.val_clean_accuracy for r in h]},
         {"label": "robust", "x": epochs, "y": [r.val_robust_accuracy for r in h]}],
        x_label="epoch", y_label="validation accuracy", y_range=(0.0, 1.0))
    metrics = {"best_epoch": Metric(result.best_epoch, unit="epoch"),
               "epochs_run": Metric(len(h), unit="epoch")}
    if h:
        best = next((r for r in h if r.epoch == result.best_epoch), h[-1])
        metrics["val_clean_accuracy"] = Metric(best.val_clean_accuracy, unit="fraction")
        metrics["val_robust_accuracy"] = Metric(best.val_robust_accuracy, unit="fraction")
    (c0, r0), (c1, r1) = headline_metrics(before, eps, norm), headline_metrics(after, eps, norm)
    change = ""
    for name, a, b in (("clean_accuracy", c0, c1), ("robust_accuracy", r0, r1)):
        if a is not None:
            metrics[f"{name}_before"] = Metric(a, unit="fraction")
        if b is not None:
            metrics[f"{name}_after"] = Metric(b, unit="fraction")
        if a is not None and b is not None:
            change += f"; {name.replace('_', ' ')} {a:.1%} -> {b:.1%}"
    detail = (f"Trained with {trainer.method} at {norm} eps={eps:g} for {len(h)} epoch(s)"
              f"{' (stopped early)' if result.stopped_early else ''}; the weights of epoch "
              f"{result.best_epoch} (best validation {result.selected_on} accuracy) were kept"
              f"{change}. Early stopping on a PGD-validated robust accuracy guards against robust "
              "overfitting; the test-set numbers come from the scan's stronger attacks.")
    return Finding("harden.training", f"Hardened with {trainer.method}: best epoch "
                   f"{result.best_epoch} of {len(h)}", "info", metrics, nist.ROBUSTNESS, detail,
                   {"trainer": {k: v if isinstance(v, (int, float, str, bool, type(None)))
                                else repr(v) for k, v in trainer.get_params().items()},
                    "history": result.to_dict()["history"], "plots": [plot]})


def build_module(arch: str, arch_kwargs: dict[str, Any] | None, *, seed: int,
                 what: str = "--arch", trusted: bool = True) -> nn.Module:
    """Construct ``arch`` with ``arch_kwargs``, its initialisation seeded by ``seed``.

    The caller's global RNG is left as it was.

    ``arch`` must name an ``nn.Module`` subclass (see
    :func:`trustbench.models.loading.resolve_arch`); ``trusted`` says the caller chose it.
    Pass ``trusted=False`` and the file and field as ``what`` for a reference read from a file.
    """
    from trustbench.models.loading import build_arch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build_arch(arch, arch_kwargs, what=what, trusted=trusted)
