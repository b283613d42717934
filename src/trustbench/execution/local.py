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

    def map(self, fn: Callable[..., Any], items: Iterable[Any], *, shared: Any = None,
            on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
        """Return ``[fn(item, shared) for item in items]``, however the work is spread.

        ``shared`` (a model, a dataset) is sent to each worker once, not once per item;
        ``on_result(i, result)`` is called in the driver as each item finishes (in any
        order), so that a caller can store results before the whole map is done.
        """


_SHARED: Any = None


def _init_worker(threads: int, shared: Any) -> None:
    global _SHARED
    torch.set_num_threads(threads)  # explicit: a worker must not oversubscribe the cores
    _SHARED = shared  # once per worker process


def _call(fn: Callable[..., R], item: Any) -> R:
    return fn(item, _SHARED)


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

    def map(self, fn: Callable[[T, Any], R], items: Iterable[T], *, shared: Any = None,
            on_result: Callable[[int, R], None] | None = None) -> list[R]:
        """Return ``[fn(item, shared) for item in items]`` in order (see :class:`Executor`)."""
        items = list(items)
        done = on_result or (lambda i, r: None)
        if self.processes == 0 or len(items) <= 1:
            out = []
            for i, item in enumerate(items):
                out.append(fn(item, shared))
                done(i, out[-1])
            return out
        import functools
        import multiprocessing
        from concurrent.futures import as_completed

        context = multiprocessing.get_context("spawn")  # no forked torch thread pools
        with ProcessPoolExecutor(max_workers=self.processes, mp_context=context,
                                 initializer=_init_worker,
                                 initargs=(self.threads, shared)) as pool:
            futures = {pool.submit(functools.partial(_call, fn), item): i
                       for i, item in enumerate(items)}
            results: dict[int, R] = {}
            for future in as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                done(i, results[i])
            return [results[i] for i in range(len(items))]
