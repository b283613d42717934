"""A reference profile built map-reduce over table shards, on any executor.

A 10M-row reference often arrives as many Parquet (or CSV) files. :func:`profile_shards`
profiles each file as one unit of work (:func:`~trustbench.monitor.profile.build_profile`)
on an executor — in this process, a local pool or a Ray cluster
(:mod:`trustbench.execution`) — and merges the profiles in file order. The column kinds are
decided once, from the first file, and given to every unit, so the shards' sketches agree;
each shard's sample is seeded from ``(seed, its index)``, so the result does not depend on
where or in which order the units ran: local and Ray give the same profile.

Against one pass over the concatenated table, counts, missing and infinite counts, minima,
maxima and category counts are identical, and means and variances agree to floating-point
rounding (Chan et al.'s pairwise merge); the numeric samples are different, equally uniform
draws.

References
----------
Chan, Golub & LeVeque, "Algorithms for computing the sample variance", The American
Statistician 37 (1983).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from trustbench.data.tables import shard_files
from trustbench.monitor.profile import (
    CHUNK_ROWS,
    DEFAULT_SAMPLE_SIZE,
    Profile,
    read_chunks,
)

__all__ = ["profile_shards", "shard_files"]


def profile_shards(source: str | Path | Sequence[str | Path], *, executor: Any = None,
                   kinds: dict[str, Any] | None = None, exclude: Iterable[str] = (),
                   seed: int = 0, sample_size: int = DEFAULT_SAMPLE_SIZE,
                   chunk_rows: int = CHUNK_ROWS) -> Profile:
    """Profile every shard as one unit of work on ``executor``, then merge in file order.

    The columns only: :func:`~trustbench.monitor.jobs.profile_reference` without model
    outputs (``monitor init`` runs it with them).
    """
    from trustbench.monitor.jobs import profile_reference

    files = shard_files(source)
    first = next(read_chunks(files[0], chunk_rows=chunk_rows))
    profile, _ = profile_reference(files, first, exclude=sorted(set(exclude)), kinds=kinds,
                                   seed=seed, sample_size=sample_size, chunk_rows=chunk_rows,
                                   executor=executor)
    return profile
