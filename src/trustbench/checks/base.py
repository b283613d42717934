"""What every check receives: the prepared model and data, the config and shared state."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from trustbench.attacks.base import ParamValue
from trustbench.data.dataset import Dataset
from trustbench.domain import Domain, Norm
from trustbench.errors import InputError
from trustbench.models.base import Model
from trustbench.progress import ProgressFactory, no_progress
from trustbench.scorecard import NotMeasured, Scorecard

__all__ = ["CheckContext", "ProgressFactory", "ScanConfig"]

@dataclass
class ScanConfig:
    """Everything that decides what a scan measures.

    Attributes
    ----------
    eps
        Radii of the threat model, ascending; ``None``: a default for the data's modality.
    norm
        ``"linf"`` or ``"l2"``.
    eps_units
        ``"raw"``: eps in the data's own units (images in [0, 1]); ``"range"``: eps as a
        fraction of each feature's range (tabular default). ``None`` picks by modality.
    attacks
        Registry names; ``None``: ``fgsm``, ``pgd`` and ``standard`` for differentiable
        models, ``square`` for black-box ones. Attacks that need gradients are skipped
        (and reported) on black-box models.
    n
        Points to evaluate (a seeded random sample); ``None``: all.
    seed
        Seeds sampling and every attack: an integer in [0, 2**63 - 1].
    validity
        Run the evaluation-validity checks.
    batch_size
        Points per attack batch, or ``"auto"``: the fastest per example on this machine
        whose activations fit in memory (:func:`trustbench.tuning.choose_batch_size`).
        Attacks draw per-point random streams, so it changes speed, never results.
    threads
        Torch intra-op threads; ``None``: torch's default capped at the CPUs this process
        may use (:func:`trustbench.tuning.configure_threads`).
    attack_params
        Extra parameters per attack name, e.g. ``{"pgd": {"steps": 50}}``. Checked against
        each attack's declared parameters (:attr:`Attack.params
        <trustbench.attacks.Attack.params>`) before any work; eps, norm and seed come from
        the fields above and cannot be set here.
    budget
        Seconds the scan may take: (attack, eps) runs not started by then are skipped and
        reported, never silently counted as robust. ``None``: no limit.
    shifts
        Registered shift names to measure; ``None``: every shift for the data's modality;
        ``[]``: none.
    severities
        Shift severities, each in 1..5.
    calibration
        Measure calibration (clean, under shift, under attack) and fit temperature scaling.
    ood
        Measure out-of-distribution detection.
    subgroups
        Measure per-group (``Dataset.groups``) or per-class results and weakest slices.
    """

    eps: list[float] | None = None
    norm: Norm = "linf"
    eps_units: Literal["raw", "range"] | None = None
    attacks: list[str] | None = None
    n: int | None = None
    seed: int = 0
    validity: bool = True
    batch_size: int | Literal["auto"] = "auto"
    threads: int | None = None
    attack_params: dict[str, dict[str, ParamValue]] = field(default_factory=dict)
    budget: float | None = None
    shifts: list[str] | None = None
    severities: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    calibration: bool = True
    ood: bool = True
    subgroups: bool = True

    def check_runtime(self) -> None:
        """Raise :class:`~trustbench.errors.InputError` naming the option when ``budget``,
        ``batch_size`` or ``threads`` is out of range (the config file and the CLI check
        theirs before building a ScanConfig; this is the Python API's check).
        """
        if self.budget is not None and not self.budget > 0:
            raise InputError(f"--budget must be a positive number of seconds, got {self.budget}")
        if self.batch_size != "auto" and not (isinstance(self.batch_size, int)
                                              and self.batch_size >= 1):
            raise InputError(f"--batch-size must be 'auto' or an integer >= 1, "
                             f"got {self.batch_size!r}")
        if self.threads is not None and not (isinstance(self.threads, int) and self.threads >= 1):
            raise InputError(f"--threads must be an integer >= 1, got {self.threads!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "eps": self.eps, "norm": self.norm, "eps_units": self.eps_units,
            "attacks": self.attacks, "n": self.n, "seed": self.seed,
            "validity": self.validity, "batch_size": self.batch_size, "threads": self.threads,
            "attack_params": self.attack_params, "budget": self.budget,
            "shifts": self.shifts, "severities": self.severities,
            "calibration": self.calibration, "ood": self.ood, "subgroups": self.subgroups,
        }


@dataclass
class CheckContext:
    """State shared by the checks of one scan (results of earlier checks, progress)."""

    model: Model  # the model as attacks see it (range-scaled for tabular data)
    x: torch.Tensor  # (N, ...) inputs in attack units
    y: torch.Tensor  # (N,) class indices
    domain: Domain
    config: ScanConfig
    clean_pred: torch.Tensor  # (N,)
    eps_values: list[float] = field(default_factory=list)  # ascending
    units: Literal["raw", "range"] = "raw"
    deadline: float | None = None  # time.perf_counter() value set by ScanConfig.budget
    progress: ProgressFactory = no_progress
    # the evaluated sample in its own (raw) units: schema, feature names, groups
    dataset: Dataset | None = None
    # the scorecard given with --baseline, for checks that report relative numbers
    baseline: Scorecard | None = None
    results: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # NotMeasured records (see skip())
    # (model, (N, C) its scores on x) from the clean forward pass that gave clean_pred, so
    # checks do not run the model on x again; keyed by the model it belongs to
    scores_cache: tuple[Model, torch.Tensor] | None = None
    # points per attack batch: config.batch_size, or the size "auto" chose, and why
    batch_size: int = 500
    batch_choice: dict[str, Any] | None = None

    def skip(self, check: str, reason: str, *, out_of_time: bool = False) -> None:
        """Note that ``check`` was not measured and why: a
        :class:`~trustbench.scorecard.NotMeasured` whose sentence is ``"check: reason"``,
        listed in the scorecard's ``not_measured``.
        """
        self.skipped.append(NotMeasured(check, reason, f"{check}: {reason}", out_of_time))

    def clean_scores(self) -> torch.Tensor:
        """(N, C) scores (logits or probabilities) of the model on the clean inputs, computed
        once per model.
        """
        if self.scores_cache is None or self.scores_cache[0] is not self.model:
            self.scores_cache = (self.model, self.model.scores(self.x))
        return self.scores_cache[1]

    def probabilities(self, x: torch.Tensor | None = None) -> np.ndarray:
        """(N, C) float64 class probabilities of the model on ``x`` (default: the clean
        inputs, see :meth:`clean_scores`).
        """
        s = (self.clean_scores() if x is None else self.model.scores(x)).double()
        if self.model.capabilities.outputs == "logits":
            s = torch.softmax(s, dim=1)
        return s.numpy()

    @property
    def out_of_time(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    @property
    def clean_correct(self) -> np.ndarray:
        return (self.clean_pred == self.y).numpy()
