"""``--executor``/``--address``: where the commands that can spread their work run it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from trustbench.errors import InputError

__all__ = ["ADDRESS", "make_executor"]

#: ``--address``, the same for every command that takes ``--executor``.
ADDRESS = Annotated[str | None, typer.Option(
    help="--executor ray: 'auto' (a cluster from 'ray start'), ray://host:port, or none "
    "given: a local cluster started for this run.")]


def make_executor(kind: str, address: str | None, *, processes: int = 0,
                  budget: float | None = None) -> Any:
    """Return the executor for ``--executor`` (``None``: in this process).

    ``local`` with ``processes`` > 0 is a pool of worker processes; ``ray`` is checked for
    its extra before any work. A time ``budget`` cannot be split over workers.
    """
    if kind not in ("local", "ray"):
        raise InputError(f"--executor {kind!r}: expected 'local' or 'ray'")
    if kind == "local":
        if address is not None:
            raise InputError("--address is for --executor ray", fix="add --executor ray")
        if processes:
            from trustbench.execution import LocalExecutor

            return LocalExecutor(processes=processes)
        return None
    if budget is not None:
        raise InputError("--budget cannot be used with --executor ray (each shard would cut "
                         "its attacks at a different point)", fix="leave out --budget")
    from trustbench.execution import RayExecutor
    from trustbench.extras import require_extra

    require_extra("ray", "ray", what="--executor ray")
    return RayExecutor(address=address)
