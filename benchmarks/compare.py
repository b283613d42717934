"""Run one attack specification in every library, side by side, and make result rows.

Each runner first does one counted warm-up run whose output is checked. Then come
``repeats`` timed rounds; in each round every runner runs once, in turn, and the floor
(forward+backward and forward passes over the same points) is sampled once, so a change
in machine speed during the benchmark hits every library and the floor alike.
"""

from __future__ import annotations

import gc
import logging
import math
import signal
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import torch
from libs import LIBRARIES, Runner, Spec, make_runner
from measure import Counts, count_work, floor_from, floor_sample, verdict
from torch import nn

from report import Row

__all__ = ["TimeCap", "compare", "run_rows", "time_cap"]

#: Timed seconds each runner should get at least, by adding rounds to short attacks.
MIN_TIMED_SECONDS = 3.0
#: Upper limit on the rounds of one comparison.
MAX_REPEATS = 25

log = logging.getLogger("bench")


class TimeCap(Exception):
    """A single run took longer than its cap."""


@contextmanager
def time_cap(seconds: float | None) -> Iterator[None]:
    """Interrupt the Python code inside after ``seconds`` (SIGALRM; main thread only)."""
    if not seconds:
        yield
        return

    def handler(_signum: int, _frame: object) -> None:
        raise TimeCap(f"over {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _warm_up(model_name: str, spec: Spec, runner: Runner, model: nn.Module, x: torch.Tensor,
             y: torch.Tensor, cap: float | None) -> tuple[Row, float | None]:
    """The counted, checked first run: a row without timing, and the run's seconds."""
    n = len(x)
    row = Row(model=model_name, attack=spec.label, library=runner.library,
              variant=runner.variant, n=n, robust_accuracy=None, wall=None, cpu=None, repeats=0,
              grad_evals=None, grad_evals_source="", counted_grad=None, counted_forward=None,
              floor_nominal=None, floor_work=None)
    log.info("%s | %s | %s %s", model_name, spec.label, runner.library, runner.variant)
    try:
        with count_work(model) as counts, time_cap(cap):
            start, cpu = time.perf_counter(), time.process_time()
            x_adv = runner.run(x, y)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    except TimeCap as e:
        row.note = f"stopped: a single run took {e}"
        return row, None
    row.cpu_times.append(cpu)
    v = verdict(model, x, y, x_adv, norm=spec.norm, eps=spec.eps)
    row.robust_accuracy, row.in_ball = v.robust_accuracy, v.in_ball
    row.counted_grad, row.counted_forward = counts.grad, counts.forward
    if "grad_evals" in runner.reported:
        row.grad_evals, row.grad_evals_source = runner.reported["grad_evals"], "reported"
        own = runner.reported["robust_accuracy"]
        if abs(own - v.robust_accuracy) > 1e-9:
            row.note = f"own robust acc {100 * own:.1f}% differs from the common check"
    elif spec.attack != "standard":
        row.grad_evals, row.grad_evals_source = spec.steps * n, "k·N"
    return row, seconds


def run_rows(model_name: str, spec: Spec, runners: list[Runner], model: nn.Module,
             x: torch.Tensor, y: torch.Tensor, *, repeats: int,
             single: tuple[Runner, ...] = (), cap: float | None = None) -> list[Row]:
    """Rows for ``runners`` (warm-up, then interleaved timed rounds) and for ``single``
    runners, which run once (timed, capped at ``cap`` seconds) after the rounds.

    Short attacks get more rounds: at least ``repeats``, and as many as give every runner
    about :data:`MIN_TIMED_SECONDS` of timed runs (at most :data:`MAX_REPEATS`), because a
    0.1 s run on a shared machine varies by ±30% from one round to the next."""
    warm = [_warm_up(model_name, spec, r, model, x, y, None) for r in runners]
    pairs = [(r, row) for r, (row, _) in zip(runners, warm, strict=True)]
    slowest = max((s for _, s in warm if s), default=0.0)
    if slowest > 0:
        repeats = max(repeats, min(MAX_REPEATS, math.ceil(MIN_TIMED_SECONDS / slowest)))
    samples = []
    outputs: dict[int, list[torch.Tensor]] = {i: [] for i in range(len(pairs))}
    for _ in range(repeats):
        samples.append(floor_sample(model, x, y))
        for i, (runner, row) in enumerate(pairs):
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            outputs[i].append(runner.run(x, y))
            row.times.append(time.perf_counter() - start)
            row.cpu_times.append(time.process_time() - cpu)
    if not samples:
        samples.append(floor_sample(model, x, y))
    floor = floor_from(samples, len(x))
    rows = []
    for i, (_, row) in enumerate(pairs):
        row.cpu_times = row.cpu_times[1:]  # drop the warm-up's
        row.wall, row.repeats = statistics.median(row.times), len(row.times)
        row.cpu = statistics.median(row.cpu_times)
        accs = {verdict(model, x, y, xa, norm=spec.norm, eps=spec.eps).robust_accuracy
                for xa in outputs[i]}
        row.deterministic = accs == {row.robust_accuracy}
        rows.append(row)
    for runner in single:
        row, seconds = _warm_up(model_name, spec, runner, model, x, y, cap)
        if seconds is not None:
            row.wall, row.times, row.repeats = seconds, [seconds], 1
            row.cpu = row.cpu_times[0]
        rows.append(row)
    for row in rows:
        if spec.attack != "standard":
            row.floor_nominal = floor.nominal(spec.steps)
            row.floor_nominal_cpu = floor.nominal(spec.steps, cpu=True)
        if row.counted_grad is not None:
            row.floor_work = floor.of_work(_counts(row))
            row.floor_work_cpu = floor.of_work(_counts(row), cpu=True)
    if spec.attack != "standard":  # the floor itself, for reading the table
        rows.append(Row(model=model_name, attack=spec.label, library="floor",
                        variant=f"{spec.steps} × forward+backward", n=len(x),
                        robust_accuracy=None, wall=floor.nominal(spec.steps),
                        cpu=floor.nominal(spec.steps, cpu=True),
                        repeats=len(samples), grad_evals=spec.steps * len(x),
                        grad_evals_source="k·N", counted_grad=None, counted_forward=None,
                        floor_nominal=floor.nominal(spec.steps), floor_work=None,
                        floor_nominal_cpu=floor.nominal(spec.steps, cpu=True),
                        note=f"one pass {1e3 * floor.grad_pass:.1f} ms, forward "
                             f"{1e3 * floor.forward_pass:.1f} ms"))
    return rows


def _counts(row: Row) -> Counts:
    return Counts(grad=row.counted_grad or 0, forward=row.counted_forward or 0)


def compare(model_name: str, spec: Spec, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
            *, repeats: int, libraries: tuple[str, ...] = LIBRARIES,
            trustbench_variants: tuple[bool, ...] = (True,)) -> list[Row]:
    """Rows for ``spec`` in each library (and the floor). For PGD, trustbench runs once per
    early-stop setting in ``trustbench_variants``."""
    runners = []
    for lib in libraries:
        variants = (trustbench_variants if lib == "trustbench" and spec.attack == "pgd"
                    else (spec.early_stop,))
        for es in variants:
            runner = make_runner(lib, replace(spec, early_stop=es), model, x)
            if runner is not None:
                runners.append(runner)
    return run_rows(model_name, spec, runners, model, x, y, repeats=repeats)
