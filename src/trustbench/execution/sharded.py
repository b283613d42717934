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
import hashlib
import os
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from trustbench.attacks.base import AttackResult
from trustbench.errors import InputError

__all__ = ["BLOCK_BATCH", "merge_results", "plan_key", "sharded_scan", "sharded_scans"]

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


#: Prepared scans a worker process keeps, by plan key: the blocks of one model that land on
#: the same worker share one clean pass instead of one each.
_PREPARED: dict[str, Any] = {}
_PREPARED_MAX = 2


def _prepared(key: str, model: Any, data: Any, plan: Any) -> Any:
    """Return the prepared scan context for ``key``, preparing it once per worker process."""
    from trustbench.scan import prepare, seeded_global_generators

    ctx = _PREPARED.get(key)
    if ctx is None:
        with seeded_global_generators(plan.config.seed):
            _, _, ctx = prepare(model, data, plan)
        while len(_PREPARED) >= _PREPARED_MAX:
            _PREPARED.pop(next(iter(_PREPARED)))
        _PREPARED[key] = ctx
    return ctx


def _attack_block(item: tuple[int, int, int, str], shared: tuple[Any, Any, Any]
                  ) -> dict[str, list]:
    """One unit: every planned attack over the eps curve on points ``[lo, hi)`` of model ``k``.

    ``shared`` is ``(models, data, plans)``, sent once; ``key`` is the model's plan key.
    The global generators are seeded afresh for the attacks, so a block's result is the same
    whether or not its worker had prepared the model for an earlier block.
    """
    from trustbench.attacks.curve import robustness_curve
    from trustbench.scan import seeded_global_generators

    k, lo, hi, key = item
    models, data, plans = shared
    plan = plans[k]
    if plan.config.batch_size == "auto":  # no calibration per block: results do not depend
        plan = dataclasses.replace(plan, config=dataclasses.replace(plan.config,
                                                                    batch_size=BLOCK_BATCH))
    ctx = _prepared(key, models[k], data, plan)
    out = {}
    with seeded_global_generators(plan.config.seed):
        for spec in plan.attacks:
            out[spec.name] = robustness_curve(
                spec.build(), ctx.model, ctx.x[lo:hi], ctx.y[lo:hi], ctx.eps_values,
                domain=ctx.domain, batch_size=ctx.options.batch_size,
                clean_pred=ctx.clean_pred[lo:hi], point_ids=torch.arange(lo, hi))
    return out


_FIELDS = ("queries", "grad_evals", "wall_time", "norm", "eps", "attack_queries",
           "attack_grad_evals", "robust_unattacked")


def _to_plain(results: dict[str, list[AttackResult]]) -> dict[str, list[dict[str, Any]]]:
    """Results as tensors, numbers and strings only (what ``torch.load(weights_only=True)`` reads)."""
    return {name: [{"x_adv": r.x_adv, "fooled": r.fooled, "clean_correct": r.clean_correct,
                    **{f: getattr(r, f) for f in _FIELDS}} for r in runs]
            for name, runs in results.items()}


def _from_plain(plain: dict[str, list[dict[str, Any]]]) -> dict[str, list[AttackResult]]:
    return {name: [AttackResult(**r) for r in runs] for name, runs in plain.items()}


def _block_path(store: Path, key: str, block: tuple[int, int]) -> Path:
    return store / f"{key}-{block[0]}-{block[1]}.pt"


def _load_block(path: Path) -> dict[str, list[AttackResult]] | None:
    """Return a stored block, or ``None`` when missing or unreadable (it then runs again)."""
    if not path.is_file():
        return None
    try:
        return _from_plain(torch.load(path, weights_only=True))
    except Exception:  # a damaged or foreign file: recompute the block
        return None


def _save_block(path: Path, results: dict[str, list[AttackResult]]) -> None:
    """Write a block's results atomically: a crash leaves the old file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(_to_plain(results), tmp)
    os.replace(tmp, path)


def plan_key(model: Any, data: Any, plan: Any) -> str:
    """Return what a stored block must match to be reused: model, data and plan."""
    from trustbench.models import Model, as_model

    m = model if isinstance(model, Model) else as_model(model)
    h = hashlib.sha256("\0".join([m.fingerprint(), data.fingerprint()]).encode())
    h.update(pickle.dumps(plan, protocol=4))  # every field, not a repr that may abbreviate
    return h.hexdigest()[:24]


def sharded_scan(model: Any, data: Any, config: Any = None, *, executor: Any = None,
                 shard_size: int = 256, progress: Any = None, baseline: Any = None,
                 allow_mismatch: bool = False, store: str | os.PathLike[str] | None = None,
                 resume: bool = False) -> Any:
    """Scan ``model`` on ``data`` with the attacks sharded over ``executor``.

    ``shard_size`` points per unit of work (the last block may be smaller). A time budget
    is refused: each shard would cut its attacks at a different point. ``progress``,
    ``baseline`` and ``allow_mismatch`` are :func:`trustbench.scan`'s.

    With ``store``, each block's results are written there atomically as the block
    finishes, keyed by the model, the data and the plan; with ``resume`` too, the blocks
    already stored are read back instead of run again, so a driver that died loses only
    the blocks in flight.
    """
    return sharded_scans([model], data, config, executor=executor, shard_size=shard_size,
                         progress=progress, baseline=baseline, allow_mismatch=allow_mismatch,
                         store=store, resume=resume)[0]


def sharded_scans(models: Sequence[Any], data: Any, config: Any = None, *,
                  executor: Any = None, shard_size: int = 256, progress: Any = None,
                  baseline: Any = None, allow_mismatch: bool = False,
                  store: str | os.PathLike[str] | None = None, resume: bool = False,
                  on_scanned: Callable[[int, Any], None] | None = None) -> list[Any]:
    """Scan several ``models`` on ``data`` with one config, every (model, block) a unit.

    All the models' blocks go to ``executor`` in one map, so a sweep of many candidates
    keeps every worker busy; then each model's remaining steps (everything but the attack
    curves, given its merged blocks) are one unit of a second map, so they too run side
    by side. Each scorecard is the local scan's, as :func:`sharded_scan`'s is (which, for
    its one model, makes it here with ``progress``). ``on_scanned(k, card)`` is called as
    model ``k``'s scorecard arrives. The other arguments are :func:`sharded_scan`'s.
    """
    from trustbench.execution import LocalExecutor
    from trustbench.scan import plan_scan, scan

    if shard_size < 1:
        raise InputError(f"shard_size must be at least 1, got {shard_size}",
                         fix="use e.g. shard_size=256")
    plans = [plan_scan(m, data, config) for m in models]
    if any(plan.config.budget is not None for plan in plans):
        raise InputError("a sharded scan takes no time budget (each shard would cut its "
                         "attacks at a different point)", fix="leave out --budget")
    keys = [plan_key(m, data, plan) for m, plan in zip(models, plans, strict=True)]
    items = []
    for k, plan in enumerate(plans):
        n = len(plan.points) if plan.points is not None else len(data)
        items += [(k, lo, min(lo + shard_size, n), keys[k]) for lo in range(0, n, shard_size)]
    folder = None if store is None else Path(store)
    done: dict[int, dict[str, list[AttackResult]]] = {}
    if folder is not None and resume:
        for i, (_, lo, hi, key) in enumerate(items):
            if (kept := _load_block(_block_path(folder, key, (lo, hi)))) is not None:
                done[i] = kept
    todo = [i for i in range(len(items)) if i not in done]

    def keep(j: int, results: dict[str, list[AttackResult]]) -> None:
        if folder is not None:
            _, lo, hi, key = items[todo[j]]
            _save_block(_block_path(folder, key, (lo, hi)), results)

    ran = (executor or LocalExecutor()).map(_attack_block, [items[i] for i in todo],
                                            shared=(models, data, plans), on_result=keep)
    _PREPARED.clear()  # in this process (an in-process executor): free the contexts
    done.update(zip(todo, ran, strict=True))
    merged = []
    for k, plan in enumerate(plans):
        parts = [done[i] for i, item in enumerate(items) if item[0] == k]
        merged.append({spec.name: [merge_results([p[spec.name][i] for p in parts])
                                   for i in range(len(parts[0][spec.name]))]
                       for spec in plan.attacks})
    report = on_scanned or (lambda k, card: None)
    if len(models) == 1:  # one model: finish here, with the caller's progress bar
        card = scan(models[0], data, plans[0], progress=progress, baseline=baseline,
                    allow_mismatch=allow_mismatch, attack_results=merged[0])
        report(0, card)
        return [card]
    # several: every model's remaining steps are a unit of work of their own, so they run
    # side by side too instead of one after another here
    return (executor or LocalExecutor()).map(
        _finish, list(range(len(models))),
        shared=(models, data, plans, merged, baseline, allow_mismatch), on_result=report)


def _finish(k: int, shared: tuple[Any, ...]) -> Any:
    """One unit: model ``k``'s scan with its merged attack results (every other step)."""
    from trustbench.scan import scan

    models, data, plans, merged, baseline, allow_mismatch = shared
    return scan(models[k], data, plans[k], baseline=baseline, allow_mismatch=allow_mismatch,
                attack_results=merged[k])
