"""Fitting the attack engine to the machine: torch threads and the attack batch size.

Threads: torch starts one intra-op thread per core it can see, which in a container can be
the host's cores rather than the CPUs this process may use; more threads than CPUs make
every parallel op wait for a descheduled thread. :func:`configure_threads` caps torch at the
CPUs really available (affinity mask and cgroup quota).

Batch size: attacks cost one forward+backward pass per step over the batch. On a CPU the
time per example falls with the batch until the activations stop fitting in cache, then
rises; memory sets a hard ceiling. :func:`choose_batch_size` times a few passes at growing
batch sizes and keeps the fastest per example whose activations fit comfortably in memory.
With per-point random streams the batch size changes only the speed, never a result.
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from trustbench.models.base import Model

__all__ = ["BatchChoice", "available_cpus", "choose_batch_size", "configure_threads",
           "pass_seconds"]

logger = logging.getLogger(__name__)

#: Batch sizes tried, smallest first (capped at the number of points).
CANDIDATES = (32, 64, 128, 256, 512, 1024, 2048)
#: Fraction of the available memory the attack batch's activations may take.
MEMORY_FRACTION = 0.25
#: Seconds an attack step spends outside the model per batch (projection, bookkeeping),
#: roughly; counted per pass so that small batches are not favoured on tiny models.
STEP_OVERHEAD = 5e-4
#: Timings per example within this factor of each other count as the same speed.
SAME_SPEED = 1.10


def _cgroup_cpus() -> float | None:
    """CPUs allowed by a cgroup v2 (``cpu.max``) or v1 (``cfs_quota_us``) quota, if any."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            return int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        if quota > 0 and period > 0:
            return quota / period
    except (OSError, ValueError):
        pass
    return None


def available_cpus() -> int:
    """CPUs this process may use: the affinity mask, capped by a cgroup quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_cpus()
    if quota is not None:
        n = min(n, max(1, math.ceil(quota)))
    return max(1, n)


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads; return the number in use.

    The number is ``threads`` if given, else torch's default capped at
    :func:`available_cpus`.
    """
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    elif torch.get_num_threads() > available_cpus():
        torch.set_num_threads(available_cpus())
    return torch.get_num_threads()


def _available_memory() -> int | None:
    """Bytes of memory available (``MemAvailable`` on Linux), or ``None`` if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


#: Activation bytes per input byte assumed when they cannot be counted (TorchScript has no
#: forward hooks; black-box models hide theirs): generous for small CNNs and MLPs, and
#: about what a ResNet-50 keeps for its backward pass.
UNCOUNTED_ACTIVATION_FACTOR = 256


def _activation_bytes(model: Model, x: torch.Tensor) -> int:
    """Bytes of module outputs per example in one forward pass.

    They are counted with forward hooks on torch modules, else taken as
    :data:`UNCOUNTED_ACTIVATION_FACTOR` times the input's size.
    """
    guess = max(int(x[0].numel() * x.element_size() * UNCOUNTED_ACTIVATION_FACTOR), 1)
    module = getattr(model, "module", None)
    if not isinstance(module, torch.nn.Module) or isinstance(module, torch.jit.ScriptModule):
        return guess
    total = 0

    def hook(_m: torch.nn.Module, _inp: object, out: object) -> None:
        nonlocal total
        if torch.is_tensor(out):
            total += out.numel() * out.element_size()

    handles = []
    try:
        handles = [m.register_forward_hook(hook) for m in module.modules()]
        model.scores(x[:2])
    except Exception:  # a module that refuses hooks: fall back to the guess
        return guess
    finally:
        for h in handles:
            h.remove()
    return max(total // max(len(x[:2]), 1), 1) if total else guess


def pass_seconds(model: Model, x: torch.Tensor, y: torch.Tensor, *, gradient: bool,
                 reps: int = 3, fastest: bool = False) -> float:
    """Median seconds of one pass over ``x``, after a warm-up (allocator, kernel choice).

    The pass is forward+backward with respect to the input if ``gradient`` (what an attack step costs),
    else a no-gradient forward pass (what a query costs). With ``fastest``, the fastest of
    the ``reps`` passes: a busy machine only ever adds time, so the minimum is the better
    estimate of what one size costs *relative to another*; the median is what a run
    should expect (the dry run's estimate uses it).
    """

    def one_pass() -> None:
        if not gradient:
            model.scores(x)
            return
        xr = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            loss = F.cross_entropy(model.logits(xr), y, reduction="sum")
            torch.autograd.grad(loss, xr)

    one_pass()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - t)
    return min(times) if fastest else statistics.median(times)


@dataclass
class BatchChoice:
    """The chosen batch size and what it was chosen from."""

    size: int
    seconds_per_example: dict[int, float] = field(default_factory=dict)  # tried sizes
    memory_cap: int | None = None  # largest size whose activations fit the memory share
    reason: str = ""
    #: median seconds of one timed pass at each tried size (gradient passes for
    #: differentiable models, forward passes otherwise), without STEP_OVERHEAD
    pass_seconds: dict[int, float] = field(default_factory=dict)
    gradient: bool = True

    def to_dict(self) -> dict[str, object]:
        """Return the choice as a JSON-ready dict (batch sizes as string keys)."""
        return {"size": self.size, "reason": self.reason, "memory_cap": self.memory_cap,
                "seconds_per_example": {str(k): v for k, v in
                                        self.seconds_per_example.items()},
                "pass_seconds": {str(k): v for k, v in self.pass_seconds.items()},
                "gradient": self.gradient}


def choose_batch_size(model: Model, x: torch.Tensor, y: torch.Tensor, *,
                      candidates: tuple[int, ...] = CANDIDATES,
                      max_seconds: float = 3.0) -> BatchChoice:
    """Choose the attack batch size: the largest as fast per example as the fastest.

    Times a forward+backward pass w.r.t. the input (a forward pass for black-box models) at
    growing sizes up to ``len(x)``, the fastest of three after a warm-up, plus
    :data:`STEP_OVERHEAD` per pass for the attack's own work, and stops when a size
    is more than :data:`SAME_SPEED` slower per example than the best so far (a cache cliff),
    when activations would exceed a quarter of the available memory, or after
    ``max_seconds``.

    Of the sizes timed, the largest within :data:`SAME_SPEED` of the fastest per example is
    kept. Such timings differ by less than a busy machine's noise, and the difference
    matters in the attack: the points an attack is still working on shrink to a few
    hundred, and a batch smaller than them splits every later step into more passes, each
    with the model's fixed cost (on the demo CNN, a batch of 64 instead of 200 made the
    standard ensemble 1.8x slower although it timed 2% faster per example).
    """
    n = len(x)
    if n == 0:
        return BatchChoice(1, reason="no points")
    act = _activation_bytes(model, x)
    mem = _available_memory()
    cap = None
    if mem:  # activations, their gradients and the framework's working copies
        cap = max(1, int(MEMORY_FRACTION * mem / (3 * act)))
    sizes = sorted({min(c, n) for c in candidates if cap is None or min(c, n) <= cap})
    if not sizes:
        return BatchChoice(max(1, min(cap or n, n)), memory_cap=cap,
                           reason="memory: even the smallest candidate does not fit")
    gradient = model.capabilities.differentiable
    per_example: dict[int, float] = {}
    raw: dict[int, float] = {}
    best = sizes[0]
    started = time.perf_counter()
    for b in sizes:
        raw[b] = pass_seconds(model, x[:b], y[:b], gradient=gradient, fastest=True)
        per_example[b] = (raw[b] + STEP_OVERHEAD) / b
        if per_example[b] < per_example[best]:
            best = b
        elif per_example[b] > SAME_SPEED * per_example[best]:
            break  # past the cache cliff: larger will not be better
        if time.perf_counter() - started > max_seconds:
            break
    fastest = min(per_example.values())
    best = max(b for b, t in per_example.items() if t <= SAME_SPEED * fastest)
    reason = (f"largest within {SAME_SPEED - 1:.0%} of the fastest per example of "
              f"{sorted(per_example)}"
              + (f"; memory allows up to {cap}" if cap is not None else ""))
    logger.info("attack batch size %d (%s)", best, reason)
    return BatchChoice(best, per_example, cap, reason, raw, gradient)
