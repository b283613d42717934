"""Execution: where the units of work run.

:class:`LocalExecutor` (the default) runs them in this process, or in a process pool with
``processes=N`` (each worker sets its torch threads to ``threads``). It is the one narrow
seam other executors plug into: ``map(fn, items) -> list`` in the items' order, ``fn`` and
every item picklable.

:class:`RayExecutor` (extra ``[ray]``, imported when used) runs each item as a Ray task,
with ``shared`` in the object store once and task retries when a worker dies.

:func:`~trustbench.execution.sharded.sharded_scan` shards a scan's attacks by point ids
over any executor, with the local scan's scorecard (``scan --executor ray``);
``trustbench select`` runs one unit per candidate (and resumes); the monitor's profile and
the audit's exact-duplicate pass map-reduce over table shards
(:mod:`trustbench.monitor.shards`, :mod:`trustbench.audit.shards`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustbench._lazy import lazy_package as _lazy_package

if TYPE_CHECKING:
    from trustbench.execution.local import Executor, LocalExecutor
    from trustbench.execution.ray import RayExecutor

_EXPORTS = {"Executor": "trustbench.execution.local",
            "LocalExecutor": "trustbench.execution.local",
            "RayExecutor": "trustbench.execution.ray"}
__all__ = ["Executor", "LocalExecutor", "RayExecutor"]

_lazy_package(__name__, _EXPORTS)
