"""Robust accuracy as a function of the budget eps, without repeating work."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from trustbench.attacks.base import Attack, AttackResult, OutOfTime, Progress
from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.models.base import Model

__all__ = ["robustness_curve"]


def robustness_curve(
    attack: Attack,
    model: Model,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    eps_values: Sequence[float],
    *,
    domain: Domain | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
    clean_pred: torch.Tensor | None = None,
    deadline: float | None = None,
    point_ids: torch.Tensor | None = None,
) -> list[AttackResult]:
    """Run ``attack`` at every budget in ``eps_values``, smallest first.

    A point fooled at a smaller eps is also fooled at every larger one (the smaller ball
    lies inside the larger), so it is carried forward with its adversarial input and never
    attacked again; the clean predictions are computed once. Robust accuracy is therefore
    non-increasing along the curve, and the cost is that of attacking each point only
    while it is robust.

    Parameters
    ----------
    attack
        Configured attack; ``attack.clone(eps=e)`` runs each budget.
    model, x, y, domain, batch_size, point_ids
        As for :meth:`Attack.run`.
    eps_values
        Budgets, in any order.
    progress
        Called with the number of points finished; a full curve finishes
        ``len(x) * len(eps_values)`` points.
    clean_pred
        (N,) predictions on ``x`` if the caller has them.
    deadline
        A ``time.perf_counter()`` value: a budget not finished by then is dropped (its run
        stops at the next model call; no result is partial) and later ones are not
        started. The result list is then shorter than ``eps_values``.

    Returns
    -------
    list[AttackResult]
        One result per eps, in ascending order of eps.

    References
    ----------
    Carlini et al., "On Evaluating Adversarial Robustness", arXiv:1902.06705, 2019
    (report robust accuracy over a range of budgets, not at a single one).
    """
    eps_sorted = sorted(float(e) for e in eps_values)
    if not eps_sorted:
        raise InputError("robustness_curve: eps_values is empty",
                         fix="pass at least one budget, e.g. [0.01, 0.03, 0.1]")
    # Convert once rather than at every eps.
    x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float32)
    y = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y, dtype=torch.long)
    results: list[AttackResult] = []
    prior: AttackResult | None = None
    for eps in eps_sorted:
        if deadline is not None and time.perf_counter() > deadline:
            break
        try:
            res = attack.clone(eps=eps).run(model, x, y, domain=domain, batch_size=batch_size,
                                            progress=progress, clean_pred=clean_pred,
                                            prior=prior, deadline=deadline,
                                            point_ids=point_ids)
        except OutOfTime:
            break
        results.append(res)
        prior = res
    return results
