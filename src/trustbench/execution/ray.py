"""The Ray executor: the same units of work on a Ray cluster (extra ``[ray]``).

``RayExecutor(address="auto")`` joins a running cluster (``ray start --head`` and workers,
or ``ray://host:port`` through Ray Client); ``address=None`` starts a local one. Each item
is one task with ``cpus`` CPUs; the task sets torch's threads to ``threads`` before it
runs (Ray sets ``OMP_NUM_THREADS`` to the task's CPUs, and torch would otherwise take its
own default). ``shared`` is put in the object store once and every task gets a reference:
each node fetches it once, not each task. A task whose worker dies is retried
(``max_retries``); the functions trustbench sends are idempotent, so a retry gives the same
result.

References
----------
Moritz et al., "Ray: A Distributed Framework for Emerging AI Applications", OSDI 2018.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable
from typing import Any

from trustbench.errors import InputError
from trustbench.extras import require_extra

__all__ = ["RayExecutor"]


def _run(fn: Callable[..., Any], item: Any, shared: Any, threads: int) -> Any:
    import torch

    torch.set_num_threads(threads)
    return fn(item, shared)


class RayExecutor:
    """Run each item as a Ray task.

    Parameters
    ----------
    address
        ``"auto"`` (a cluster started with ``ray start``), ``"ray://host:port"``, a GCS
        ``host:port``, or ``None``: a cluster of this machine, started for the run.
    cpus
        CPUs each task asks for.
    threads
        Torch threads each task sets (default: ``cpus``).
    max_retries
        Retries of a task whose worker process or node died.
    """

    def __init__(self, *, address: str | None = "auto", cpus: float = 1,
                 threads: int | None = None, max_retries: int = 3) -> None:
        if not cpus > 0 or max_retries < 0 or (threads is not None and threads < 1):
            raise InputError(f"cpus must be > 0, max_retries >= 0 and threads >= 1, got "
                             f"{cpus}, {max_retries}, {threads}",
                             fix="use e.g. cpus=1, max_retries=3")
        self.address = address
        self.cpus = cpus
        self.threads = threads or max(1, int(cpus))
        self.max_retries = max_retries

    def _ray(self) -> Any:
        ray = require_extra("ray", "ray", what="--executor ray")
        if not ray.is_initialized():
            try:
                local = {} if self.address else {"_node_ip_address": "127.0.0.1"}  # loopback
                ray.init(address=self.address, log_to_driver=False,
                         include_dashboard=False, ignore_reinit_error=True, **local)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise InputError(f"--address {self.address}: cannot join a Ray cluster "
                                 f"({str(e).splitlines()[0]})",
                                 fix="start one with 'ray start --head', or pass its "
                                     "address") from None
        return ray

    def map(self, fn: Callable[..., Any], items: Iterable[Any], *, shared: Any = None,
            on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
        """Return ``[fn(item, shared) for item in items]``, each item a task, in order.

        ``on_result(i, result)`` is called in the driver as each task finishes.
        """
        items = list(items)
        if not items:
            return []
        ray = self._ray()
        task = ray.remote(num_cpus=self.cpus, max_retries=self.max_retries)(_run)
        try:
            ref = ray.put(shared)  # once: a node fetches it once for all its tasks
            pending = {task.remote(fn, item, ref, self.threads): i
                       for i, item in enumerate(items)}
        except (TypeError, RuntimeError, pickle.PicklingError) as e:
            raise InputError(f"the work cannot be sent to the Ray workers: it does not pickle "
                             f"({str(e).splitlines()[0][:200]})",
                             fix="use --executor local, or save the model in a format that "
                                 "pickles (TorchScript, state_dict + --arch, ONNX, skops)"
                             ) from None
        results: dict[int, Any] = {}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            i = pending.pop(ready[0])
            results[i] = ray.get(ready[0])
            if on_result is not None:
                on_result(i, results[i])
        return [results[i] for i in range(len(items))]
