"""Hardening by data augmentation, for scikit-learn and other black-box models.

Models without gradients cannot use the adversarial-training losses. They can still be
refitted on their training data plus copies perturbed inside the threat model: random noise
in the eps-ball, and adversarial examples that trustbench's black-box ``square`` attack finds
against the current model, kept with their original labels. Repeating the attack-and-refit
round a few times is a black-box form of adversarial training.

References
----------
Goodfellow, Shlens & Szegedy, "Explaining and Harnessing Adversarial Examples", ICLR 2015
(training on adversarial examples with the original labels). Andriushchenko et al., "Square
Attack", ECCV 2020 (the black-box attack that generates them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from trustbench.attacks.pgd import random_start
from trustbench.attacks.registry import get_attack
from trustbench.data.dataset import Dataset
from trustbench.domain import Norm
from trustbench.errors import InputError
from trustbench.harden._common import check_threat
from trustbench.models.rescaled import RangeScaled
from trustbench.models.sklearn import SklearnModel

__all__ = ["AugmentationResult", "harden_by_augmentation"]

log = logging.getLogger(__name__)

Method = Literal["noise", "square", "both"]


@dataclass
class AugmentationResult:
    """The refitted estimator and what it was refitted on.

    Attributes
    ----------
    estimator
        A fitted clone of the estimator given (the original is not touched).
    n_original, n_noise, n_adversarial
        Training rows: the originals, noisy copies and adversarial examples (all rounds).
    rounds
        Per square round: adversarial examples found against the model of that round.
    eps_units
        ``"range"`` (eps as a fraction of each feature's range) or ``"raw"``.
    """

    estimator: Any
    n_original: int
    n_noise: int = 0
    n_adversarial: int = 0
    rounds: list[int] = field(default_factory=list)
    eps_units: str = "range"


def harden_by_augmentation(
    estimator: Any,
    dataset: Dataset,
    *,
    eps: float,
    method: Method = "square",
    norm: Norm = "linf",
    rounds: int = 5,
    n_copies: int = 1,
    n_queries: int = 100,
    eps_units: Literal["raw", "range"] | None = None,
    seed: int = 0,
) -> AugmentationResult:
    """Refit a clone of ``estimator`` on ``dataset`` plus perturbed copies of it.

    Parameters
    ----------
    estimator
        A scikit-learn classifier (fitted or not) with ``fit`` and ``predict_proba``; it is
        cloned, never modified. It must accept the dataset's float array ``x``.
    dataset
        Training data; its schema gives the valid domain.
    eps
        Radius of the threat model; for tabular data a fraction of each feature's range
        (``eps_units="range"``, the default there), for images the data's raw units.
    method
        ``"noise"``: ``n_copies`` copies with uniform random perturbations in the eps-ball.
        ``"square"``: ``rounds`` rounds of attacking the current model with the black-box
        Square attack and refitting with the adversarial examples found (original
        labels). ``"both"``: noise copies, then square rounds.
    rounds
        Attack-and-refit rounds of ``square``; a single round often hurts (the refit
        overshoots), several rounds help.
    n_queries
        Square's query budget per point and round.
    seed
        Seeds the noise and the attacks.

    Noise alone rarely improves robustness to a worst-case attack; it is cheap and helps
    against random perturbations. Measure the result with ``scan`` and a black-box attack.
    """
    from sklearn.base import clone

    check_threat(eps, norm)
    if method not in ("noise", "square", "both"):
        raise InputError(f"method must be 'noise', 'square' or 'both', got {method!r}")
    for name, v in (("rounds", rounds), ("n_copies", n_copies), ("n_queries", n_queries)):
        if not isinstance(v, int) or v < 1:
            raise InputError(f"{name} must be a positive integer, got {v!r}")
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict_proba")):
        raise InputError(f"{type(estimator).__name__} needs fit and predict_proba",
                         fix="pass a probabilistic scikit-learn classifier")
    if not isinstance(dataset, Dataset):
        raise InputError(f"dataset must be a trustbench Dataset, got {type(dataset).__name__}",
                         fix="wrap arrays: Dataset(x, y, Schema.from_data(x))")
    schema = dataset.schema
    units = eps_units or ("raw" if schema.modality == "image" else "range")
    domain = schema.domain(units=units)

    def to_units(x: np.ndarray) -> np.ndarray:
        return schema.to_units(x) if units == "range" else x

    def from_units(u: np.ndarray) -> np.ndarray:
        return schema.from_units(u) if units == "range" else u.astype(np.float32)

    u = torch.from_numpy(to_units(dataset.x))  # (N, ...) in attack units
    xs, ys = [dataset.x], [dataset.y]
    result = AugmentationResult(None, len(dataset), eps_units=units)
    gen = torch.Generator().manual_seed(int(seed))
    if method in ("noise", "both"):
        for _ in range(n_copies):
            noisy = domain.project(random_start(u, norm=norm, eps=eps, generator=gen), u,
                                   norm=norm, eps=eps)
            xs.append(from_units(noisy.numpy()))
            ys.append(dataset.y)
        result.n_noise = n_copies * len(dataset)
    fitted = clone(estimator).fit(np.concatenate(xs), np.concatenate(ys))
    if method in ("square", "both"):
        for r in range(rounds):
            model = SklearnModel(fitted)
            attacked = RangeScaled(model, schema.lower, schema.span) if units == "range" else model
            y_idx = torch.from_numpy(dataset.label_indices(model.classes, model.n_classes))
            attack = get_attack("square", eps=eps, norm=norm, n_queries=n_queries,
                                seed=int(seed) + r)
            res = attack.run(attacked, u, y_idx, domain=domain)
            found = (res.fooled & res.clean_correct).numpy()  # (N,) real adversarial examples
            result.rounds.append(int(found.sum()))
            log.info("augmentation round %d: %d adversarial examples", r + 1, int(found.sum()))
            if not found.any():
                break
            xs.append(from_units(res.x_adv.numpy()[found]))
            ys.append(dataset.y[found])
            fitted = clone(estimator).fit(np.concatenate(xs), np.concatenate(ys))
        result.n_adversarial = sum(result.rounds)
    result.estimator = fitted
    return result
