"""Scan every candidate with one config, measure it, and choose under constraints.

:func:`select_models` scans each candidate (through an executor: in-process by default;
one unit of work per candidate, or, with ``shard_size``, one per block of points of every
candidate, all in one map — :func:`trustbench.execution.sharded.sharded_scans`), measures
its latency and size, reads the criteria (:mod:`~trustbench.select.criteria`),
and ranks them (:mod:`~trustbench.select.rank`): the Pareto front, HELM's mean win rate
(weighted by ``weights`` if given), the candidates that meet every requirement, and the
recommendation — the eligible candidate with the highest win rate — with, for each
runner-up, the criteria it beat it on, tied on and lost on (a difference inside the
intervals is a tie).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from trustbench.data import Dataset
from trustbench.errors import InputError
from trustbench.models.measure import latency_samples
from trustbench.scorecard import Scorecard
from trustbench.select.criteria import Criterion, Value, criteria_of, scan_values
from trustbench.select.rank import (
    Requirement,
    compare,
    mean_win_rate,
    pareto_front,
)

__all__ = ["Candidate", "Selection", "measure", "select_models"]


@dataclass(frozen=True)
class Candidate:
    """A model to choose among: its name, the loaded model, and its file (for the size)."""

    name: str
    model: Any
    path: str | None = None


@dataclass
class Selection:
    """Everything the choice rests on."""

    cards: dict[str, Scorecard]
    values: dict[str, dict[str, Value]]
    criteria: list[Criterion]
    front: list[str]
    win_rate: dict[str, float]
    missed: dict[str, list[str]]          # per candidate: the requirements it misses
    recommended: str | None
    versus: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # runner-up -> won/tied/lost
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def ranking(self) -> list[str]:
        """Eligible candidates by win rate (best first), then the ineligible ones."""
        return sorted(self.values, key=lambda n: (bool(self.missed[n]),
                                                  -np.nan_to_num(self.win_rate[n], nan=-1)))


def _size_mb(candidate: Candidate) -> float:
    if candidate.path and os.path.isfile(candidate.path):
        return os.path.getsize(candidate.path) / 1e6
    module = getattr(candidate.model, "module", None)
    if isinstance(module, torch.nn.Module):
        return sum(p.numel() * p.element_size() for p in module.parameters()) / 1e6
    return float("nan")


def measure(candidate: Candidate, x: torch.Tensor, *, repeats: int = 20) -> dict[str, Value]:
    """Latency per example at batch 1 and 64 (median, interquartile interval) and size."""
    out: dict[str, Value] = {}
    for key, batch in (("latency_ms", 1), ("latency_ms@64", 64)):
        ms = [1e3 * t for t in latency_samples(candidate.model, x, batch_size=batch,
                                               repeats=repeats)]
        q1, _, q3 = statistics.quantiles(ms, n=4)
        out[key] = Value(statistics.median(ms), (q1, q3))
    size = _size_mb(candidate)
    if np.isfinite(size):
        out["size_mb"] = Value(size)
    return out


def _scan_one(candidate: Candidate, shared: tuple[Dataset, Any]) -> Scorecard:
    """One unit of work: scan one candidate (the data and config are shared, sent once)."""
    from trustbench.scan import scan

    data, config = shared
    return scan(candidate.model, data, config)


def _versus(values: Mapping[str, Mapping[str, Value]], criteria: Sequence[Criterion],
            best: str, other: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"won": [], "tied": [], "lost": []}
    for c in criteria:
        r = compare(values[best][c.key], values[other][c.key], c)
        out["won" if r > 0 else "lost" if r < 0 else "tied"].append(c.key)
    return out


def select_models(candidates: Sequence[Candidate], data: Dataset, config: Any = None, *,
                  requirements: Sequence[Requirement] = (),
                  weights: Mapping[str, float] | None = None,
                  executor: Any = None, repeats: int = 20,
                  done: Mapping[str, Scorecard] | None = None,
                  on_scanned: Callable[[str, Scorecard], None] | None = None,
                  step: Callable[[str], None] | None = None,
                  shard_size: int | None = None, blocks: str | os.PathLike[str] | None = None,
                  resume: bool = False) -> Selection:
    """Scan, measure and rank ``candidates``; see the module docstring.

    ``done`` holds scans already made (by candidate name: a resumed run), which are not
    made again; ``on_scanned(name, card)`` is called as each new scan finishes. With
    ``shard_size`` the candidates' attacks run in blocks of that many points (the same
    scorecards); ``blocks`` is a folder that keeps each finished block, read back with
    ``resume``.
    """
    from trustbench.execution import LocalExecutor

    names = [c.name for c in candidates]
    if len(candidates) < 2:
        raise InputError(f"select needs at least two candidates, got {len(candidates)}",
                         fix="give two or more models")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InputError(f"two candidates are named {dup!r}", fix="give each model its own name")
    say = step or (lambda name: None)
    cards = {n: c for n, c in (done or {}).items() if n in names}
    todo = [c for c in candidates if c.name not in cards]
    say(f"scanning {len(todo)} of {len(candidates)} candidates")
    report = on_scanned or (lambda name, card: None)
    if shard_size is not None:
        from trustbench.execution.sharded import sharded_scans

        scanned = sharded_scans([c.model for c in todo], data, config, executor=executor,
                                shard_size=shard_size, store=blocks, resume=resume,
                                on_scanned=lambda i, card: report(todo[i].name, card))
    else:
        scanned = (executor or LocalExecutor()).map(
            _scan_one, todo, shared=(data, config),
            on_result=lambda i, card: report(todo[i].name, card))
    cards.update(zip((c.name for c in todo), scanned, strict=True))
    cards = {n: cards[n] for n in names}
    x = torch.as_tensor(np.asarray(data.x[:64]), dtype=torch.float32)
    values = {}
    for c in candidates:
        say(f"timing {c.name}")
        values[c.name] = {**scan_values(cards[c.name]), **measure(c, x, repeats=repeats)}
    criteria = criteria_of(values)
    unknown = [r.text for r in requirements if r.criterion.key not in {c.key for c in criteria}]
    if unknown:
        raise InputError(f"--require {unknown[0]!r}: no candidate's scan measured "
                         f"{unknown[0].split()[0]}",
                         fix="use one of " + ", ".join(c.key for c in criteria))
    w = {c.key: (weights or {}).get(c.key, 1.0) for c in criteria}
    win = mean_win_rate(values, criteria, w)
    missed = {n: [r.text for r in requirements if not r.holds(values[n].get(r.criterion.key))]
              for n in names}
    eligible = sorted((n for n in names if not missed[n]), key=lambda n: -win[n])
    best = eligible[0] if eligible else None
    versus = {} if best is None else {o: _versus(values, criteria, best, o)
                                      for o in eligible[1:4]}
    return Selection(cards, values, criteria, pareto_front(values, criteria), win, missed,
                     best, versus, w)
