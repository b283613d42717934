"""Execution: where the units of work run.

:class:`LocalExecutor` (the default) runs them in this process, or in a process pool with
``processes=N`` (each worker sets its torch threads to ``threads``). It is the one narrow
seam other executors plug into: ``map(fn, items) -> list`` in the items' order, ``fn`` and
every item picklable.

Built so far: the local executor, used by ``trustbench select``. The Ray executor, sharded
scans and resume (issue 17, items 1–4) are not built yet.
"""

from __future__ import annotations

from trustbench.execution.local import Executor, LocalExecutor

__all__ = ["Executor", "LocalExecutor"]
