"""A scan sharded by point ids: the attacks run on blocks of points, anywhere; the rest here.

The attacks are nearly all of a scan's cost. :func:`sharded_scan` makes the plan once
(:func:`trustbench.plan_scan`: a plain value, it pickles), cuts the evaluated points into
fixed blocks of ``shard_size`` global indices, and sends each block to the executor as one
unit of work: prepare the scan there, run every planned attack over the eps curve on the
block's points — each point drawing from its own random stream, keyed by its index in the
whole set (``point_ids``), so its result does not depend on the block — and return the
per-point results. The driver concatenates them in point order and runs the scan with
them in place of the attacks (``CheckContext.attack_results``); every other step, and
every metric, is computed once, from all points. So the scorecard is the local scan's:
the same findings and metrics; only timings and ``provenance.runtime`` differ.

A unit is idempotent (same block, same result), so a retried task — a worker killed, a
node lost — changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import torch

from trustbench.attacks.base import AttackResult
from trustbench.errors import InputError

__all__ = ["BLOCK_BATCH", "merge_results", "sharded_scan"]

#: Points per attack batch in a block when the config says "auto" (a point's result does
#: not depend on its batch, so each block skips the batch-size calibration).
BLOCK_BATCH = 500


def merge_results(parts: Sequence[AttackResult]) -> AttackResult:
    """One result from the results of consecutive blocks of points (in point order)."""
    first = parts[0]

    def total(name: str) -> int | None:
        values = [getattr(p, name) for p in parts]
        return None if any(v is None for v in values) else sum(values)

    return AttackResult(
        x_adv=torch.cat([p.x_adv for p in parts]), fooled=torch.cat([p.fooled for p in parts]),
        clean_correct=torch.cat([p.clean_correct for p in parts]),
        queries=sum(p.queries for p in parts), grad_evals=sum(p.grad_evals for p in parts),
        wall_time=sum(p.wall_time for p in parts), norm=first.norm, eps=first.eps,
        attack_queries=total("attack_queries"), attack_grad_evals=total("attack_grad_evals"),
        robust_unattacked=total("robust_unattacked"))


def _attack_block(block: tuple[int, int], shared: tuple[Any, Any, Any]) -> dict[str, list]:
    """One unit: every planned attack over the eps curve on points ``[lo, hi)``."""
    from trustbench.attacks.curve import robustness_curve
    from trustbench.scan import _seeded_global_generators, prepare

    model, data, plan = shared
    lo, hi = block
    if plan.config.batch_size == "auto":  # no calibration per block: results do not depend
        plan = dataclasses.replace(plan, config=dataclasses.replace(plan.config,
                                                                    batch_size=BLOCK_BATCH))
    with _seeded_global_generators(plan.config.seed):
        _, _, ctx = prepare(model, data, plan)
        out = {}
        for spec in plan.attacks:
            out[spec.name] = robustness_curve(
                spec.build(), ctx.model, ctx.x[lo:hi], ctx.y[lo:hi], ctx.eps_values,
                domain=ctx.domain, batch_size=ctx.options.batch_size,
                clean_pred=ctx.clean_pred[lo:hi], point_ids=torch.arange(lo, hi))
    return out


def sharded_scan(model: Any, data: Any, config: Any = None, *, executor: Any = None,
                 shard_size: int = 256, progress: Any = None, baseline: Any = None,
                 allow_mismatch: bool = False) -> Any:
    """Scan ``model`` on ``data`` with the attacks sharded over ``executor``.

    ``shard_size`` points per unit of work (the last block may be smaller). A time budget
    is refused: each shard would cut its attacks at a different point. ``progress``,
    ``baseline`` and ``allow_mismatch`` are :func:`trustbench.scan`'s.
    """
    from trustbench.execution import LocalExecutor
    from trustbench.scan import plan_scan, scan

    if shard_size < 1:
        raise InputError(f"shard_size must be at least 1, got {shard_size}",
                         fix="use e.g. shard_size=256")
    plan = plan_scan(model, data, config)
    if plan.config.budget is not None:
        raise InputError("a sharded scan takes no time budget (each shard would cut its "
                         "attacks at a different point)", fix="leave out --budget")
    n = len(plan.points) if plan.points is not None else len(data)
    blocks = [(lo, min(lo + shard_size, n)) for lo in range(0, n, shard_size)]
    parts = (executor or LocalExecutor()).map(_attack_block, blocks,
                                              shared=(model, data, plan))
    merged = {spec.name: [merge_results([p[spec.name][i] for p in parts])
                          for i in range(len(parts[0][spec.name]))]
              for spec in plan.attacks}
    return scan(model, data, plan, progress=progress, baseline=baseline,
                allow_mismatch=allow_mismatch, attack_results=merged)
