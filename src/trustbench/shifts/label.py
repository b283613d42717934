"""Label-prior shift: the class mix changes, the inputs of each class do not."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.shifts.base import SeedLike, TabularShift, as_generator, check_severity

__all__ = ["LabelShift"]


class LabelShift(TabularShift):
    """Label-prior shift by resampling rows.

    The class priors move from the data's ``p`` to ``(1 - w) p + w e_k`` with
    ``w = levels[severity - 1]``, so class ``k`` comes to dominate. ``k`` is ``target``, or
    else the rarest class in ``y`` (the usual hard case: the class a model has seen least);
    ties are broken by ``rng``.

    Class counts are exact (largest remainder), so the shift's size grows with severity;
    a class that grows repeats its rows evenly (each floor or ceil of the ratio times, in a
    random order), one that shrinks keeps a random subset of them. :meth:`apply` leaves ``x`` as it is:
    evaluate ``x[idx], y[idx]`` with ``idx = resample(y, severity, rng)``.

    Parameters
    ----------
    target
        Class index that comes to dominate; ``None``: the rarest class.

    References
    ----------
    Lipton, Wang and Smola, "Detecting and Correcting for Label Shift with Black Box
    Predictors", ICML 2018 ("tweak-one" shift).
    """

    name: ClassVar[str] = "label_shift"
    levels: ClassVar[tuple[Any, ...]] = (0.2, 0.4, 0.6, 0.8, 0.95)
    resamples: ClassVar[bool] = True

    def __init__(self, *, target: int | None = None) -> None:
        self.target = target

    def _shift(self, x: np.ndarray, severity: int, rng: np.random.Generator,
               domain: Domain) -> np.ndarray:
        return x

    def resample(self, y: np.ndarray | torch.Tensor, severity: int,
                 rng: SeedLike) -> np.ndarray:
        """(N,) sorted row indices (with repeats) whose labels have the shifted class mix."""
        w = self.levels[check_severity(severity) - 1]
        gen = as_generator(rng)
        y = np.asarray(y.detach().cpu() if torch.is_tensor(y) else y)
        n = len(y)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        classes, counts = np.unique(y, return_counts=True)
        if self.target is None:
            k = int(gen.choice(np.flatnonzero(counts == counts.min())))
        elif self.target in classes:
            k = int(np.flatnonzero(classes == self.target)[0])
        else:
            raise InputError(f"label_shift: target class {self.target!r} is not among the "
                             f"labels", fix=f"use one of {classes.tolist()}")
        prior = counts / n
        target = (1 - w) * prior
        target[k] += w
        want = np.floor(target * n).astype(np.int64)
        short = n - int(want.sum())  # largest remainders get the rows left over
        want[np.argsort(-(target * n - want), kind="stable")[:short]] += 1
        # Rows grouped by class, in a random order within each class (one draw per row,
        # shared by every severity); a class cycles through its rows, so each is used
        # floor or ceil(want / count) times: the class mix is exact and no row dominates.
        order = np.lexsort((gen.random(n), np.searchsorted(classes, y)))  # (N,)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        cls_of_out = np.repeat(np.arange(len(classes)), want)  # (N,) class of each output
        j = np.arange(n) - np.repeat(np.cumsum(want) - want, want)  # index within its class
        return np.sort(order[starts[cls_of_out] + j % counts[cls_of_out]])
