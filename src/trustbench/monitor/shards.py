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
    build_profile,
    column_kinds,
    read_chunks,
)

__all__ = ["profile_shards", "shard_files"]

def _profile_one(job: tuple[int, str], shared: dict[str, Any]) -> Profile:
    index, path = job
    return build_profile(path, kinds=shared["kinds"], exclude=shared["exclude"],
                         seed=shared["seed"] * 1_000_003 + index,
                         sample_size=shared["sample_size"], chunk_rows=shared["chunk_rows"])


def profile_shards(source: str | Path | Sequence[str | Path], *, executor: Any = None,
                   kinds: dict[str, Any] | None = None, exclude: Iterable[str] = (),
                   seed: int = 0, sample_size: int = DEFAULT_SAMPLE_SIZE,
                   chunk_rows: int = CHUNK_ROWS) -> Profile:
    """Profile every shard as one unit of work on ``executor``, then merge in file order."""
    from trustbench.execution import LocalExecutor

    files = shard_files(source)
    exclude = sorted(set(exclude))
    first = next(read_chunks(files[0], chunk_rows=chunk_rows))
    decided = column_kinds(first[[c for c in first.columns if str(c) not in exclude]], kinds)
    shared = {"kinds": decided, "exclude": exclude, "seed": seed, "sample_size": sample_size,
              "chunk_rows": chunk_rows}
    parts = (executor or LocalExecutor()).map(
        _profile_one, [(i, str(p)) for i, p in enumerate(files)], shared=shared)
    out = parts[0]
    for part in parts[1:]:
        out = out.merge(part)
    return Profile(out.columns, out.rows, seed, out.sample_size)
