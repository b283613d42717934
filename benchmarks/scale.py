"""A 16-model sweep on a local Ray cluster with 1 and with 2 worker nodes, and what it predicts.

The sweep is ``trustbench select``'s scan phase: 16 digits MLPs (``toy_digits_mlp`` with 16
seeds), each scanned with one config (``--attacks``, default FGSM, PGD and the standard ensemble,
at L∞ eps 0.1, on ``--n`` test points), one
Ray task per model. Workers are nodes of ``ray.cluster_utils.Cluster`` on 127.0.0.1 with
one CPU each and torch set to one thread per task, so 1 and 2 workers run at the same
threads per worker. Measured, each a median of ``--repeats``:

* wall time of the sweep on 1 and on 2 workers, and the speed-up (target >= 1.8x);
* the per-task overhead: no-op tasks through the same executor, time per task;
* the per-model scan cost: the 1-worker sweep time over 16;
* one scan sharded by point ids (``sharded_scan``, blocks of 45 of the 360 points) on 1 and
  2 workers, beside the same scan in one process;
* the same 16-model sweep in (model, block) units (``sharded_scans``, ``select
  --shard-size 180``: 2 blocks per model, 32 tasks in one map) on 1 and 2 workers.

From those, a simulation of the same sweep on 8, 32 and 128 nodes. A sweep of M models is
M x S tasks when each scan is cut into S shards, each costing ``cost / S + overhead``; n
nodes take ``ceil(M S / n)`` rounds (idealised: a shard's cost taken as proportional to
its points). It gives the shard size that keeps the overhead under 5% of the work.

    python benchmarks/scale.py --repeats 3 --out reports/scale-benchmark.json    # ~3 min
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # every node on loopback

import torch

from trustbench import ScanConfig, load_builtin, scan
from trustbench.execution import RayExecutor
from trustbench.execution.sharded import sharded_scan, sharded_scans
from trustbench.select.run import Candidate, _scan_one
from trustbench.testing.toy import toy_digits_mlp

MODELS = 16
SHARD = 45  # points per block of the sharded single scan: 8 blocks of the 360 test points
SWEEP_SHARD = 180  # points per block of the sweep in (model, block) units: 2 per model


def _noop(item: int, shared: object) -> int:
    return item


def sweep(workers: int, candidates: list[Candidate], shared: tuple, repeats: int) -> dict:
    """Median sweep and no-op times on a fresh cluster of ``workers`` one-CPU nodes."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 0, "include_dashboard": False})
    for _ in range(workers):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        executor = RayExecutor(address=cluster.address, cpus=1, threads=1)
        executor.map(_noop, range(workers * 2))  # warm the workers up
        times, noop, sharded, blocks = [], [], [], []
        for _ in range(repeats):
            t = time.perf_counter()
            cards = executor.map(_scan_one, candidates, shared=shared)
            times.append(time.perf_counter() - t)
            t = time.perf_counter()
            executor.map(_noop, range(200))
            noop.append((time.perf_counter() - t) / 200)
            t = time.perf_counter()
            sharded_scan(candidates[0].model, shared[0], shared[1], executor=executor,
                         shard_size=SHARD)
            sharded.append(time.perf_counter() - t)
            t = time.perf_counter()
            sharded_scans([c.model for c in candidates], shared[0], shared[1],
                          executor=executor, shard_size=SWEEP_SHARD)
            blocks.append(time.perf_counter() - t)
        assert len(cards) == len(candidates)
        return {"workers": workers, "sweep_s": statistics.median(times), "all_s": times,
                "task_overhead_s": statistics.median(noop),
                "sharded_scan_s": statistics.median(sharded), "sharded_all_s": sharded,
                "block_sweep_s": statistics.median(blocks), "block_sweep_all_s": blocks}
    finally:
        ray.shutdown()
        cluster.shutdown()


def simulate(cost: float, overhead: float, nodes: int, models: int, shards: int) -> float:
    """Seconds for ``models`` scans cut into ``shards`` each, on ``nodes`` nodes."""
    rounds = math.ceil(models * shards / nodes)
    return rounds * (cost / shards + overhead)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=360, help="test points per scan")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--attacks", default="fgsm,pgd,standard")
    parser.add_argument("--out", type=Path, default=Path("reports/scale-benchmark.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_builtin("digits", split="test")
    config = ScanConfig(eps=[0.1], norm="linf", attacks=args.attacks.split(","), n=args.n,
                        seed=0)
    candidates = [Candidate(f"mlp{s}", toy_digits_mlp(s)) for s in range(MODELS)]
    t = time.perf_counter()
    scan(candidates[0].model, data, config)
    local_scan = time.perf_counter() - t
    runs = [sweep(w, candidates, (data, config), args.repeats) for w in (1, 2)]
    one, two = runs
    cost = one["sweep_s"] / MODELS
    overhead = statistics.median(r["task_overhead_s"] for r in runs)
    per_point = cost / min(args.n, len(data))
    # a shard of s points costs per_point * s; overhead under 5%: o <= 0.05 (o + per_point s)
    min_points = math.ceil(19 * overhead / per_point)
    sims = {n: {s: simulate(cost, overhead, n, MODELS, s) for s in (1, 4, 16, 64)}
            for n in (8, 32, 128)}
    result = {"models": MODELS, "points": min(args.n, len(data)), "runs": runs,
              "speedup_2_vs_1": one["sweep_s"] / two["sweep_s"],
              "local_scan_s": local_scan, "shard_points": SHARD,
              "sharded_speedup_2_vs_1": one["sharded_scan_s"] / two["sharded_scan_s"],
              "sweep_shard_points": SWEEP_SHARD,
              "block_sweep_speedup_2_vs_1": one["block_sweep_s"] / two["block_sweep_s"],
              "scan_cost_s": cost, "task_overhead_s": overhead,
              "cost_per_point_s": per_point, "min_shard_points_for_5pct": min_points,
              "simulated_s": sims, "cpu": os.cpu_count(),
              "load": os.getloadavg()[0]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"sweep of {MODELS} scans: 1 worker {one['sweep_s']:.2f} s, 2 workers "
          f"{two['sweep_s']:.2f} s, speed-up {result['speedup_2_vs_1']:.2f}x")
    print(f"per scan {cost:.3f} s, per task overhead {overhead * 1e3:.2f} ms, per point "
          f"{per_point * 1e3:.3f} ms; shards of >= {min_points} points keep overhead < 5%")
    print(f"one scan: local {local_scan:.2f} s; sharded in blocks of {SHARD} points on 1 "
          f"worker {one['sharded_scan_s']:.2f} s, on 2 workers {two['sharded_scan_s']:.2f} s "
          f"({result['sharded_speedup_2_vs_1']:.2f}x)")
    print(f"sweep in (model, block) units of {SWEEP_SHARD} points: 1 worker "
          f"{one['block_sweep_s']:.2f} s, 2 workers {two['block_sweep_s']:.2f} s "
          f"({result['block_sweep_speedup_2_vs_1']:.2f}x)")
    for n, by in sims.items():
        print(f"{n:>4} nodes: " + ", ".join(f"{s} shard(s)/scan {t:.2f} s" for s, t in by.items()))


if __name__ == "__main__":
    main()
