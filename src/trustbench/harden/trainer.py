"""Trainer: adversarial training for users without a training loop of their own.

Early stopping on robust validation accuracy (PGD-10 on a held-out split) guards against
robust overfitting; the best epoch's weights are kept. Every epoch is checkpointed
atomically (model, optimizer, scheduler, epoch, generator and RNG states, best-so-far), so
an interrupted run resumes where it stopped and ends where an uninterrupted one would.

References
----------
Rice, Wong & Kolter, "Overfitting in adversarially robust deep learning", ICML 2020
(robust overfitting; early stopping on a PGD-validated robust accuracy).
"""

from __future__ import annotations

import copy
import inspect
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from trustbench.attacks.pgd import PGD
from trustbench.domain import Norm
from trustbench.errors import InputError
from trustbench.harden._common import DomainLike, as_domain, check_threat
from trustbench.harden._data import Data, split_validation, to_tensors
from trustbench.harden.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from trustbench.harden.losses import DEFAULT_DOMAIN, fast_at_loss, pgd_at_loss, trades_loss
from trustbench.models.torch import TorchModel

__all__ = ["METHODS", "EpochRecord", "TrainResult", "Trainer"]

log = logging.getLogger(__name__)

METHODS = ("standard", "pgd-at", "trades", "fast-at")
#: Parameters that may change between an interrupted run and its resumption.
_RESUMABLE_CHANGES = {"epochs", "patience"}


@dataclass
class EpochRecord:
    """What one epoch did (``epoch`` counts from 1); accuracies on the validation split."""

    epoch: int
    train_loss: float
    val_clean_accuracy: float
    val_robust_accuracy: float
    lr: float
    seconds: float
    improved: bool


@dataclass
class TrainResult:
    """The trained module (best epoch's weights, eval mode) and the run's history."""

    module: nn.Module
    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("nan")
    selected_on: str = "robust"
    stopped_early: bool = False
    resumed_from: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the run's history and outcome as a JSON-ready dict (without the module)."""
        return {"history": [asdict(r) for r in self.history], "best_epoch": self.best_epoch,
                "best_score": self.best_score, "selected_on": self.selected_on,
                "stopped_early": self.stopped_early, "resumed_from": self.resumed_from}


class Trainer:
    """Fit a torch classifier with standard, PGD, TRADES or fast adversarial training.

    Parameters
    ----------
    method
        ``"trades"``, ``"pgd-at"``, ``"fast-at"`` or ``"standard"`` (plain cross-entropy).
    eps, norm
        Threat model of training and of the validation attack, in the data's raw units.
    epochs
        Upper bound on epochs (early stopping may end sooner).
    batch_size, lr, weight_decay
        Adam's minibatches and settings.
    schedule
        ``"cosine"`` (per-step cosine decay to 0 over ``epochs``) or ``"constant"``.
    beta
        TRADES' robustness weight.
    steps, step_size
        Inner PGD of ``pgd-at`` and ``trades``; ``step_size`` defaults per loss.
    val_fraction
        Share of the training data held out (seeded, stratified) when no validation set
        is given.
    val_steps
        Steps of the PGD validation attack (PGD-10 by default).
    patience
        Stop after this many epochs without a better validation score; ``None``: never.
    select_on
        ``"robust"`` or ``"clean"`` validation accuracy picks the best epoch; ``None``:
        robust for adversarial methods, clean for ``standard``.
    domain
        Valid inputs (see :mod:`trustbench.harden.losses`); ``"schema"`` (default) uses a
        Dataset's schema, and ``(0.0, 1.0)`` for plain arrays.
    seed
        Seeds shuffling, random starts, dropout and the validation split.
    """

    def __init__(self, *, method: str = "trades", eps: float = 0.1, norm: Norm = "linf",
                 epochs: int = 10, batch_size: int = 64, lr: float = 3e-3,
                 weight_decay: float = 0.0, schedule: Literal["cosine", "constant"] = "cosine",
                 beta: float = 6.0, steps: int = 10, step_size: float | None = None,
                 val_fraction: float = 0.1, val_steps: int = 10, patience: int | None = 5,
                 select_on: Literal["robust", "clean"] | None = None,
                 domain: DomainLike | Literal["schema"] = "schema", seed: int = 0) -> None:
        self.method = method
        self.eps = eps
        self.norm = norm
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.beta = beta
        self.steps = steps
        self.step_size = step_size
        self.val_fraction = val_fraction
        self.val_steps = val_steps
        self.patience = patience
        self.select_on = select_on
        self.domain = domain
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        """Return the current value of each constructor argument, by name."""
        return {k: getattr(self, k) for k in inspect.signature(type(self).__init__).parameters
                if k != "self"}

    def __repr__(self) -> str:
        return f"Trainer({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"

    # -- validation of settings and data ----------------------------------------------
    def check_params(self) -> None:
        """Raise :class:`~trustbench.errors.InputError` naming the first bad setting."""
        if self.method not in METHODS:
            raise InputError(f"method {self.method!r} is unknown",
                            fix=f"use one of {', '.join(METHODS)}")
        check_threat(self.eps, self.norm, self.steps)
        for name in ("epochs", "batch_size", "val_steps"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise InputError(f"{name} must be a positive integer, got {v!r}")
        for name, low_open in (("lr", False), ("weight_decay", False), ("beta", False)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or (v <= 0 if low_open else v < 0):
                raise InputError(f"{name} must be a finite number {'>' if low_open else '>='} 0, "
                                 f"got {v!r}", fix=f"pass e.g. --{name.replace('_', '-')} "
                                 f"{ {'lr': '0.003', 'weight_decay': '0', 'beta': '6'}[name] }")
        if self.patience is not None and (isinstance(self.patience, bool)
                                          or not isinstance(self.patience, int) or self.patience < 0):
            raise InputError(f"patience must be an integer >= 0 (0: never stop early), got "
                             f"{self.patience!r}")
        if not 0 < self.val_fraction < 1:
            raise InputError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.schedule not in ("cosine", "constant"):
            raise InputError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if self.select_on not in (None, "robust", "clean"):
            raise InputError(f"select_on must be 'robust', 'clean' or None, got {self.select_on!r}")

    def _config(self) -> dict[str, Any]:
        """Return the settings a resumed run must share with the interrupted one (JSON-friendly)."""
        return {k: (v if isinstance(v, (int, float, str, bool, type(None), tuple)) else repr(v))
                for k, v in self.get_params().items() if k not in _RESUMABLE_CHANGES}

    # -- the loop -----------------------------------------------------------------------
    def fit(
        self,
        module: nn.Module,
        train_dataset: Data,
        val_dataset: Data | None = None,
        *,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        progress: Callable[[EpochRecord], None] | None = None,
    ) -> TrainResult:
        """Train ``module`` in place and return it with the best epoch's weights.

        Parameters
        ----------
        module
            An ``nn.Module`` mapping raw inputs to logits (a TorchModel's module is used).
        train_dataset, val_dataset
            :class:`~trustbench.data.Dataset` or ``(x, y)`` arrays with integer labels.
        checkpoint_dir
            Write ``checkpoint.pt`` there after every epoch (atomically).
        resume
            Continue from ``checkpoint_dir``'s checkpoint; its settings must match.
        progress
            Called with each epoch's :class:`EpochRecord`, after its checkpoint is written.
        """
        self.check_params()
        if isinstance(module, TorchModel):
            module = module.module
        if not isinstance(module, nn.Module):
            raise InputError(f"Trainer.fit needs a torch nn.Module, got {type(module).__name__}",
                             fix="use harden_by_augmentation for scikit-learn models")
        device = next((p.device for p in module.parameters()), torch.device("cpu"))
        x, y, dom_source = to_tensors(train_dataset, module, "train_dataset")
        if val_dataset is None:
            x, y, xv, yv = split_validation(x, y, self.val_fraction, self.seed)
        else:
            xv, yv, _ = to_tensors(val_dataset, module, "val_dataset")
        if self.domain == "schema":
            domain = as_domain(dom_source if dom_source is not None else DEFAULT_DOMAIN)
        else:
            domain = as_domain(self.domain)  # type: ignore[arg-type]
        select = self.select_on or ("clean" if self.method == "standard" else "robust")
        ckpt_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
        if resume and (ckpt_path is None or not ckpt_path.exists()):
            raise InputError(f"resume: no checkpoint at {ckpt_path or '(no checkpoint_dir)'}",
                             fix="pass the checkpoint_dir (--out) of the interrupted run, or "
                             "start without resume")
        n_batches = math.ceil(len(x) / self.batch_size)
        gen = torch.Generator().manual_seed(int(self.seed))
        opt = torch.optim.Adam(module.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, self._lr_factor(n_batches))
        best_state = copy.deepcopy(module.state_dict())
        state: dict[str, Any] = {"epoch": 0, "best_epoch": 0, "best_score": -1.0,
                                 "bad_epochs": 0, "history": [], "stopped_early": False}
        result = TrainResult(module, selected_on=select)
        # Dropout draws from torch's global generator: fork it, so training is reproducible
        # from the seed and the caller's global RNG state is left as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            if resume:
                assert ckpt_path is not None
                state, best_state = load_checkpoint(ckpt_path, self._config(), len(x), module, opt,
                                                     sched, gen)
                # patience may have changed: whether the run had stopped is decided anew
                state["stopped_early"] = (self.patience is not None
                                          and state["bad_epochs"] >= self.patience)
                result.resumed_from = state["epoch"]
            while state["epoch"] < self.epochs and not state["stopped_early"]:
                t0 = time.perf_counter()
                loss = self._epoch(module, x, y, opt, sched, gen, domain, device)
                clean, robust = self._validate(module, xv, yv, domain)
                score = robust if select == "robust" else clean
                improved = score > state["best_score"]
                state["epoch"] += 1
                if improved:
                    best_state = copy.deepcopy(module.state_dict())
                    state.update(best_epoch=state["epoch"], best_score=score, bad_epochs=0)
                else:
                    state["bad_epochs"] += 1
                if self.patience is not None and state["bad_epochs"] >= self.patience:
                    state["stopped_early"] = True
                rec = EpochRecord(state["epoch"], loss, clean, robust,
                                  float(sched.get_last_lr()[0]),
                                  round(time.perf_counter() - t0, 3), improved)
                state["history"].append(asdict(rec))
                if ckpt_path is not None:
                    save_checkpoint(ckpt_path, self._config(), len(x), module, opt, sched, gen, state,
                                    best_state)
                if progress is not None:
                    progress(rec)
        module.load_state_dict(best_state)
        module.eval()
        result.history = [EpochRecord(**r) for r in state["history"]]
        result.best_epoch, result.best_score = state["best_epoch"], state["best_score"]
        result.stopped_early = state["stopped_early"]
        return result

    def _lr_factor(self, n_batches: int) -> Callable[[int], float]:
        total = max(self.epochs * n_batches, 1)
        if self.schedule == "constant":
            return lambda step: 1.0
        return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))

    def _loss(self, module: nn.Module, xb: torch.Tensor, yb: torch.Tensor,
              gen: torch.Generator, domain: Any) -> torch.Tensor:
        common = {"eps": self.eps, "norm": self.norm, "domain": domain, "generator": gen}
        if self.method == "standard":
            return F.cross_entropy(module(xb), yb)
        if self.method == "pgd-at":
            return pgd_at_loss(module, xb, yb, steps=self.steps, step_size=self.step_size,
                               **common)
        if self.method == "trades":
            return trades_loss(module, xb, yb, beta=self.beta, steps=self.steps,
                               step_size=self.step_size, **common)
        return fast_at_loss(module, xb, yb, step_size=self.step_size, **common)

    def _epoch(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor,
               opt: torch.optim.Optimizer, sched: Any, gen: torch.Generator, domain: Any,
               device: torch.device) -> float:
        module.train()
        perm = torch.randperm(len(x), generator=gen)
        total, seen = 0.0, 0
        for i in range(0, len(x), self.batch_size):
            b = perm[i : i + self.batch_size]
            xb, yb = x[b].to(device), y[b].to(device)
            loss = self._loss(module, xb, yb, gen, domain)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(b)
            seen += len(b)
        return total / max(seen, 1)

    def _validate(self, module: nn.Module, xv: torch.Tensor, yv: torch.Tensor,
                  domain: Any) -> tuple[float, float]:
        model = TorchModel(module)
        pred = model.scores(xv).argmax(1)
        clean = float((pred == yv).float().mean())
        attack = PGD(eps=self.eps, norm=self.norm, steps=self.val_steps, seed=self.seed)
        res = attack.run(model, xv, yv, domain=domain, clean_pred=pred)
        return clean, res.robust_accuracy
