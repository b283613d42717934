"""The local executor: in this process, or a pool of worker processes on this machine."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

import torch

from trustbench.errors import InputError

__all__ = ["Executor", "LocalExecutor"]

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``fn`` on every item and returns the results in the items' order."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """Return ``[fn(item) for item in items]``, however the work is spread."""


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)  # explicit: a worker must not oversubscribe the cores


class LocalExecutor:
    """In-process (``processes=0``, the default) or a pool of ``processes`` workers.

    Parameters
    ----------
    processes
        Worker processes; 0 runs every item here, one after the other.
    threads
        Torch threads per worker process (ignored in-process).
    """

    def __init__(self, *, processes: int = 0, threads: int = 1) -> None:
        if processes < 0 or threads < 1:
            raise InputError(f"processes must be >= 0 and threads >= 1, got {processes} and "
                             f"{threads}", fix="use processes=0 (in-process) or a pool size")
        self.processes = processes
        self.threads = threads

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Return ``[fn(item) for item in items]`` in order."""
        items = list(items)
        if self.processes == 0 or len(items) <= 1:
            return [fn(item) for item in items]
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # no forked torch thread pools
        with ProcessPoolExecutor(max_workers=self.processes, mp_context=context,
                                 initializer=_init_worker, initargs=(self.threads,)) as pool:
            return list(pool.map(fn, items))
