"""What every check receives: the prepared model and data, the plan and the run options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from trustbench.attacks.base import ParamValue
from trustbench.data.dataset import Dataset
from trustbench.domain import Domain, Norm
from trustbench.errors import InputError
from trustbench.models.base import Model
from trustbench.models.stochastic import Randomness
from trustbench.options import (
    MAX_EOT_DRAWS,
    RunOptions,
    check_batch_size,
    check_budget,
    check_threads,
)
from trustbench.progress import ProgressFactory
from trustbench.scorecard import NotMeasured, Scorecard

if TYPE_CHECKING:
    from trustbench.checks.plan import ScanPlan

__all__ = ["CheckContext", "ProgressFactory", "RunOptions", "ScanConfig"]

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
    eot_draws
        Calls of a random model (one whose answer changes between calls on the same input,
        found before any attack) averaged per evaluation: accuracies are of its expected
        prediction and attacks follow the gradient of that expectation (EOT). 1: one draw,
        no EOT. Ignored for deterministic models.
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
    eot_draws: int = 20

    def check_runtime(self) -> None:
        """Raise :class:`~trustbench.errors.InputError` when a runtime setting is out of range.

        ``budget``, ``batch_size`` and ``threads`` are checked by the same functions the
        config file and the command line use (:mod:`trustbench.options`), so the three agree.
        """
        check_budget(self.budget, "ScanConfig.budget")
        check_batch_size(self.batch_size, "ScanConfig.batch_size")
        check_threads(self.threads, "ScanConfig.threads")
        d = self.eot_draws
        if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= MAX_EOT_DRAWS:
            raise InputError(f"ScanConfig.eot_draws must be an integer in [1, {MAX_EOT_DRAWS}], "
                             f"got {d!r}", fix="20 is AutoAttack's choice for random models")

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict (the scorecard's ``provenance.config``)."""
        return {
            "eps": self.eps, "norm": self.norm, "eps_units": self.eps_units,
            "attacks": self.attacks, "n": self.n, "seed": self.seed,
            "validity": self.validity, "batch_size": self.batch_size, "threads": self.threads,
            "attack_params": self.attack_params, "budget": self.budget,
            "shifts": self.shifts, "severities": self.severities,
            "calibration": self.calibration, "ood": self.ood, "subgroups": self.subgroups,
            "eot_draws": self.eot_draws,
        }


@dataclass(frozen=True)
class CheckContext:
    """What every check of one scan reads.

    The prepared model and data, the plan, the run options, and a place to note what it
    did not measure.

    Attributes
    ----------
    model
        The model as attacks see it (range-scaled for tabular data), watched for
        non-finite scores and the deadline (:class:`~trustbench.models.watched.Watched`).
    x, y
        (N, ...) inputs in attack units; (N,) class indices.
    domain
        The valid input domain, in the same units.
    plan
        The :class:`~trustbench.checks.plan.ScanPlan` being run (its config, eps, attacks,
        shifts and points).
    clean_pred
        (N,) the model's clean predictions.
    options
        How it runs: batch size, progress, deadline (:class:`~trustbench.options.RunOptions`).
    dataset
        The evaluated sample in its own (raw) units: schema, feature names, groups.
    baseline
        The scorecard given with ``--baseline``, for checks that report relative numbers.
    skipped
        What was not measured and why, as :class:`~trustbench.scorecard.NotMeasured`
        records (:meth:`skip` adds one); the scorecard lists them.
    randomness
        Set when the model is random (:func:`~trustbench.models.stochastic.detect_randomness`):
        then ``model`` is its expectation over ``config.eot_draws`` calls
        (:class:`~trustbench.models.stochastic.Expectation`) and ``draw_model`` is one call.

    Results a check hands on go through its return value
    (:class:`~trustbench.checks.products.Checked`), never through the context.
    """

    model: Model
    x: torch.Tensor
    y: torch.Tensor
    domain: Domain
    plan: ScanPlan
    clean_pred: torch.Tensor
    options: RunOptions = field(default_factory=RunOptions)
    dataset: Dataset | None = None
    baseline: Scorecard | None = None
    skipped: list[NotMeasured] = field(default_factory=list)
    randomness: Randomness | None = None
    draw_model: Model | None = None
    #: attack name -> its results over the eps curve, made elsewhere (a sharded scan's
    #: shards, merged); the robustness step uses them instead of running that attack
    attack_results: Mapping[str, list[Any]] | None = None
    # (model, (N, C) its scores on x) from the clean forward pass that gave clean_pred, so
    # checks do not run the model on x again; keyed by the model it belongs to
    _scores: list[tuple[Model, torch.Tensor]] = field(default_factory=list, repr=False)

    @property
    def config(self) -> ScanConfig:
        """The plan's config."""
        return self.plan.config

    @property
    def eps_values(self) -> list[float]:
        """The plan's eps values, ascending, in :attr:`units`."""
        return list(self.plan.eps)

    @property
    def units(self) -> Literal["raw", "range"]:
        """The units of ``x``, ``domain`` and eps."""
        return self.plan.units

    def with_(self, **changes: Any) -> CheckContext:
        """Return a copy with ``changes`` (e.g. other ``options``); notes are shared."""
        return replace(self, **changes)

    def skip(self, check: str, reason: str, *, out_of_time: bool = False) -> None:
        """Note that ``check`` was not measured and why.

        The record is a :class:`~trustbench.scorecard.NotMeasured` whose sentence is
        ``"check: reason"``, listed in the scorecard's ``not_measured``.
        """
        self.skipped.append(NotMeasured(check, reason, f"{check}: {reason}", out_of_time))

    def clean_scores(self) -> torch.Tensor:
        """Return (N, C) scores (logits or probabilities) on the clean inputs, computed once."""
        if not self._scores or self._scores[0][0] is not self.model:
            self._scores[:] = [(self.model, self.model.scores(self.x))]
        return self._scores[0][1]

    def probabilities(self, x: torch.Tensor | None = None) -> np.ndarray:
        """Return (N, C) float64 class probabilities on ``x`` (default: the clean inputs)."""
        s = (self.clean_scores() if x is None else self.model.scores(x)).double()
        if self.model.capabilities.outputs == "logits":
            s = torch.softmax(s, dim=1)
        return s.numpy()

    @property
    def out_of_time(self) -> bool:
        """Whether the time budget is spent."""
        return self.options.out_of_time

    @property
    def clean_correct(self) -> np.ndarray:
        """(N,) bool: the clean prediction is right."""
        return (self.clean_pred == self.y).numpy()
