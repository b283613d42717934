"""How a run executes, as opposed to what it measures: one :class:`RunOptions`.

Batch size, torch threads, progress bars and the time budget's deadline change how fast a
scan runs and what the user sees while it runs, never its findings (attacks draw per-point
random streams, so the batch size does not change a result). They used to travel through
the scan, the checks and the attacks as separate keyword arguments; now a check reads
``ctx.options``, and an executor sets them once per worker.

The limits of the three user-facing runtime settings live here once too
(:func:`check_batch_size`, :func:`check_threads`, :func:`check_budget`): the config file's
schema, the command line and :meth:`ScanConfig.check_runtime
<trustbench.checks.ScanConfig.check_runtime>` all call them. This module imports neither
torch nor pydantic, so the CLI can check options before loading either.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from trustbench.errors import InputError
from trustbench.progress import ProgressFactory, no_progress

__all__ = ["MAX_BATCH_SIZE", "MAX_EOT_DRAWS", "MAX_SEED", "MAX_THREADS", "RunOptions", "check_batch_size",
           "check_budget", "check_threads"]

#: Largest seed: numpy and torch generators take any integer in [0, 2**63 - 1].
MAX_SEED = 2**63 - 1
#: Largest ``batch_size`` accepted (points per attack batch).
MAX_BATCH_SIZE = 1_000_000
#: Largest ``threads`` accepted (torch intra-op threads).
MAX_THREADS = 1024
#: Largest ``eot_draws`` accepted (calls of a random model averaged per evaluation).
MAX_EOT_DRAWS = 1000


def check_batch_size(value: object, option: str = "--batch-size") -> int | Literal["auto"]:
    """Return ``value`` if it is ``"auto"`` or an integer in [1, :data:`MAX_BATCH_SIZE`].

    Raises
    ------
    InputError
        Naming ``option`` and the value, otherwise.

    Examples
    --------
    >>> check_batch_size("auto"), check_batch_size(256)
    ('auto', 256)
    >>> check_batch_size(0)
    Traceback (most recent call last):
    ...
    trustbench.errors.InputError: --batch-size must be 'auto' or an integer in [1, 1000000], got 0 -- ...
    """
    if isinstance(value, str) and value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BATCH_SIZE:
        raise InputError(f"{option} must be 'auto' or an integer in [1, {MAX_BATCH_SIZE}], "
                         f"got {value!r}", fix="write auto, or a whole number such as 256")
    return value


def check_threads(value: object, option: str = "--threads") -> int | None:
    """Return ``value`` if it is ``None`` or an integer in [1, :data:`MAX_THREADS`].

    Raises
    ------
    InputError
        Naming ``option`` and the value, otherwise.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_THREADS:
        raise InputError(f"{option} must be an integer in [1, {MAX_THREADS}], got {value!r}",
                         fix="leave it out to use the CPUs this process may use")
    return value


def check_budget(value: object, option: str = "--budget") -> float | None:
    """Return ``value`` if it is ``None`` or a finite number of seconds above 0.

    Raises
    ------
    InputError
        Naming ``option`` and the value, otherwise.
    """
    if value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or not value > 0):
        raise InputError(f"{option} must be a positive, finite number of seconds, got {value!r}",
                         fix="leave it out for no time limit")
    return float(value)


@dataclass(frozen=True)
class RunOptions:
    """How one scan runs: the same findings for any value of these.

    Attributes
    ----------
    batch_size
        Points per attack batch actually used (``ScanConfig.batch_size``, or the size
        ``"auto"`` chose).
    batch_choice
        How ``"auto"`` chose it (:meth:`trustbench.tuning.BatchChoice.to_dict`), or ``None``.
    threads
        Torch intra-op threads in use.
    deadline
        A :func:`time.perf_counter` value after which model calls raise
        :class:`~trustbench.models.watched.OutOfTime`; ``None``: no time budget.
    progress
        ``progress(description, total) -> advance(n)``; :func:`~trustbench.progress.no_progress`
        draws nothing. Not part of a pickled value: a worker gets ``no_progress``.

    Examples
    --------
    >>> import pickle
    >>> opts = RunOptions(batch_size=128, threads=2)
    >>> pickle.loads(pickle.dumps(opts)) == opts, opts.out_of_time
    (True, False)
    """

    batch_size: int = 500
    batch_choice: dict[str, Any] | None = None
    threads: int | None = None
    deadline: float | None = None
    progress: ProgressFactory = field(default=no_progress, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_batch_size(self.batch_size, "RunOptions.batch_size")
        check_threads(self.threads, "RunOptions.threads")

    @property
    def out_of_time(self) -> bool:
        """Whether the deadline has passed."""
        return self.deadline is not None and time.perf_counter() > self.deadline

    def with_(self, **changes: Any) -> RunOptions:
        """Return a copy with ``changes`` (the dataclass fields)."""
        return replace(self, **changes)

    def __getstate__(self) -> dict[str, Any]:
        # progress factories are closures over a console: a worker draws nothing
        return {"batch_size": self.batch_size, "batch_choice": self.batch_choice,
                "threads": self.threads, "deadline": self.deadline}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in (state | {"progress": no_progress}).items():
            object.__setattr__(self, k, v)
