"""The Ray executor on a real local Ray cluster: a head and two worker nodes, on loopback.

The cluster (``ray.cluster_utils.Cluster``) is started by the fixture and shut down after;
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (set in tests/conftest.py) makes Ray bind every
node to 127.0.0.1. Without
ray installed the tests are skipped — or fail under ``TRUSTBENCH_REQUIRE_SERVERS=1``.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trustbench import Dataset, ScanConfig, Schema
from trustbench.execution import LocalExecutor, RayExecutor
from trustbench.select import Candidate, select_models
from trustbench.testing.toy import toy_blobs, toy_mlp

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        if os.environ.get("TRUSTBENCH_REQUIRE_SERVERS") == "1":
            pytest.fail("ray is not installed (make test installs it with the dev extra)")
        pytest.skip("ray is not installed")
    from ray import cloudpickle  # this module's functions go to the workers by value

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    c = Cluster(initialize_head=True,
                head_node_args={"num_cpus": 0, "include_dashboard": False})
    for _ in range(2):
        c.add_node(num_cpus=1)
    c.wait_for_nodes()
    try:
        yield c.address
    finally:
        ray.shutdown()
        c.shutdown()


def _where(x: int, shared: int) -> tuple[int, str, int, str]:
    import time

    import ray
    import torch

    time.sleep(0.3)  # long enough that both worker nodes take tasks
    return (x ** shared, ray.get_runtime_context().get_node_id(), torch.get_num_threads(),
            ray.util.get_node_ip_address())


def test_tasks_run_on_both_workers_with_their_threads_set(cluster: str) -> None:
    out = RayExecutor(address=cluster, threads=1).map(_where, range(6), shared=3)
    assert [r[0] for r in out] == [x ** 3 for x in range(6)]
    assert len({r[1] for r in out}) == 2  # two worker nodes did the work
    assert {r[2] for r in out} == {1}
    assert {r[3] for r in out} == {"127.0.0.1"}


def _dies_once(x: int, marker_dir: str) -> int:
    marker = Path(marker_dir) / f"killed-{x}"
    if x == 2 and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies mid-task
    return x * 10


def test_a_killed_worker_is_replaced_and_the_result_is_the_same(cluster: str,
                                                               tmp_path: Path) -> None:
    out = RayExecutor(address=cluster, max_retries=2).map(_dies_once, range(4),
                                                          shared=str(tmp_path))
    assert out == [0, 10, 20, 30]
    assert (tmp_path / "killed-2").exists()  # it really was killed once


def test_select_on_ray_gives_the_same_scans_as_locally(cluster: str, comparable: Any) -> None:
    x, y = toy_blobs(120, seed=5)
    data = Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)),
                   name="blobs")
    config = ScanConfig(eps=[0.05], norm="linf", attacks=["fgsm", "pgd"], n=60, seed=0)
    cands = [Candidate(f"m{s}", toy_mlp(seed=s, hidden=h)) for s, h in ((0, 32), (1, 8))]
    local = select_models(cands, data, config, repeats=3, executor=LocalExecutor())
    remote = select_models(cands, data, config, repeats=3,
                           executor=RayExecutor(address=cluster))
    blocks = select_models(cands, data, config, repeats=3, shard_size=25,
                           executor=RayExecutor(address=cluster))  # (candidate, block) units
    scanned = [c.key for c in local.criteria if not c.key.startswith(("latency", "size"))]
    for run in (remote, blocks):
        for name in local.cards:
            assert comparable(run.cards[name]) == comparable(local.cards[name])
        for name in local.values:
            for key in scanned:
                assert run.values[name][key] == local.values[name][key]


def test_a_profile_over_parquet_shards_is_the_same_on_ray(cluster: str, tmp_path: Path) -> None:
    """The monitor's reference profile, map-reduced over shards: Ray equals local."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from trustbench.monitor.shards import profile_shards

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=3000), "k": rng.choice(list("abc"), 3000)})
    for i in range(3):
        frame.iloc[i * 1000:(i + 1) * 1000].to_parquet(tmp_path / f"p{i}.parquet")
    local = profile_shards(tmp_path, seed=1)
    remote = profile_shards(tmp_path, seed=1, executor=RayExecutor(address=cluster))
    assert remote.to_dict() == local.to_dict()


def _labelled_shards(folder: Path, *, rows: int, shards: int, seed: int) -> None:
    """Write a labelled table with logged probabilities as ``shards`` Parquet files."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    p1 = rng.random(rows)
    frame = pd.DataFrame({"x": rng.normal(size=rows).round(1), "k": rng.choice(list("abc"), rows),
                          "y": (rng.random(rows) < p1).astype(int), "p0": 1 - p1, "p1": p1})
    step = rows // shards
    for i in range(shards):
        frame.iloc[i * step:(i + 1) * step].to_parquet(folder / f"s{i}.parquet", index=False)


def test_monitor_init_from_reference_shards_is_the_same_on_ray(cluster: str,
                                                               tmp_path: Path) -> None:
    """A monitor's reference (profile, calibration, baseline) from shards: Ray equals local."""
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pytest.importorskip("sqlalchemy")
    from trustbench.monitor.jobs import init_monitor
    from trustbench.monitor.store import open_store

    _labelled_shards(tmp_path, rows=2400, shards=4, seed=2)
    roles = {"proba_columns": ["p0", "p1"], "label_column": "y"}
    with open_store(tmp_path / "h.db") as store:
        init_monitor(store, "local", tmp_path, **roles)
        init_monitor(store, "ray", tmp_path, executor=RayExecutor(address=cluster), **roles)
        assert store.profile("ray").to_dict() == store.profile("local").to_dict()
        assert store.calibration("ray") == store.calibration("local")


def test_the_audits_passes_over_shards_are_the_same_on_ray(cluster: str,
                                                           tmp_path: Path) -> None:
    """Profile, exact duplicates and conflicting labels, map-reduced: Ray equals local."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from trustbench.audit.shards import audit_shards, exact_duplicates_shards

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.integers(0, 300, 2000), "b": rng.integers(0, 300, 2000),
                          "c": rng.choice(list("pqrs"), 2000), "y": rng.integers(0, 2, 2000)})
    files = []
    for i in range(4):
        files.append(tmp_path / f"d{i}.parquet")
        frame.iloc[i * 500:(i + 1) * 500].to_parquet(files[-1])
    ray = RayExecutor(address=cluster)
    local = exact_duplicates_shards(files, exclude=["y"])
    assert exact_duplicates_shards(files, exclude=["y"], executor=ray) == local
    one, remote = audit_shards(files, target="y"), audit_shards(files, target="y", executor=ray)
    assert [f.to_dict() for f in remote.findings if f.id != "provenance"] == [
        f.to_dict() for f in one.findings if f.id != "provenance"]
    for key in ("columns", "classes", "data"):
        assert remote.provenance[key] == one.provenance[key]


def _busy_workers() -> list[int]:
    """Pids of Ray worker processes running a task right now (their title is ray::_run)."""
    import subprocess

    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines()[1:]
            if "ray::_run" in line and "IDLE" not in line]


def test_a_sharded_scan_on_ray_survives_a_killed_worker(cluster: str, comparable: Any) -> None:
    """Shard the attacks over the cluster, SIGKILL a busy worker: the same scorecard."""
    import threading
    import time

    from trustbench import scan
    from trustbench.execution.sharded import sharded_scan

    x, y = toy_blobs(160, seed=7)
    data = Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)),
                   name="blobs")
    config = ScanConfig(eps=[0.05, 0.1], norm="linf", attacks=["fgsm", "pgd", "standard"],
                        n=120, seed=2)
    model = toy_mlp(seed=1)
    out: dict[str, Any] = {}
    run = threading.Thread(target=lambda: out.setdefault("card", sharded_scan(
        model, data, config, shard_size=10, executor=RayExecutor(address=cluster,
                                                                 max_retries=3))))
    run.start()
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and run.is_alive():
        busy = _busy_workers()
        if busy:
            killed = busy[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    run.join(timeout=300)
    assert killed is not None, "no worker was seen busy"
    assert comparable(out["card"]) == comparable(scan(model, data, config))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_trustbench_scan_executor_ray_writes_the_local_scorecard(cluster: str,
                                                                 tmp_path: Path) -> None:
    import json

    import torch
    from typer.testing import CliRunner

    from trustbench.cli import app
    from trustbench.testing.toy import toy_digits_mlp

    path = tmp_path / "mlp.pt"
    torch.jit.script(toy_digits_mlp(0).module).save(str(path))
    common = ["scan", "--model", str(path), "--data", "digits", "--eps", "0.05,0.1",
              "--attacks", "fgsm,pgd", "--n", "150", "-q"]
    local = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "local")])
    remote = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "ray"), "--executor",
                                      "ray", "--address", cluster, "--shard-size", "40"])
    assert local.exit_code == remote.exit_code == 0, (remote.output, remote.exception)

    def findings(folder: str) -> list[Any]:
        card = json.loads((tmp_path / folder / "scorecard.json").read_text())
        return [(f["id"], f["severity"], f["title"],
                 {k: m["value"] for k, m in f["metrics"].items() if "time" not in k})
                for f in card["findings"] if f["id"] != "provenance"]

    assert json.dumps(findings("ray"), default=str) == json.dumps(findings("local"), default=str)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_a_killed_driver_resumes_the_sharded_scan(cluster: str, tmp_path: Path,
                                                  kill_once_written: Any) -> None:
    """SIGKILL `trustbench scan --executor ray` once blocks are stored; --resume finishes it."""
    import json
    import shutil
    import subprocess

    import torch

    from trustbench.testing.toy import toy_digits_mlp

    path = tmp_path / "mlp.pt"
    torch.jit.script(toy_digits_mlp(1).module).save(str(path))
    exe = shutil.which("trustbench", path=str(Path(sys.executable).parent)) or "trustbench"
    common = [exe, "scan", "--model", str(path), "--data", "digits", "--eps", "0.05,0.1",
              "--attacks", "fgsm,pgd,standard", "--n", "160", "-q"]
    sharded = [*common, "--out", str(tmp_path / "ray"), "--executor", "ray", "--address",
               cluster, "--shard-size", "20"]
    blocks = tmp_path / "ray" / ".scan-partial"
    kill_once_written(sharded, blocks, "*.pt", 2)  # the driver dies with blocks in flight
    kept = len(list(blocks.glob("*.pt")))
    assert 2 <= kept < 8 and not (tmp_path / "ray" / "scorecard.json").exists()
    resumed = subprocess.run([*sharded, "--resume"], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert not blocks.exists()
    local = subprocess.run([*common, "--out", str(tmp_path / "local")], capture_output=True,
                           text=True, timeout=300)
    assert local.returncode == 0, local.stderr[-2000:]

    def findings(folder: str) -> list[Any]:
        card = json.loads((tmp_path / folder / "scorecard.json").read_text())
        return [(f["id"], f["severity"], f["title"]) for f in card["findings"]]

    assert findings("ray") == findings("local")


def test_audit_and_monitor_init_on_a_folder_with_executor_ray(cluster: str,
                                                              tmp_path: Path) -> None:
    """The commands' --executor ray over shards write what the local executor writes."""
    import json

    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pytest.importorskip("sqlalchemy")
    from typer.testing import CliRunner

    from trustbench.cli import app
    from trustbench.monitor.store import open_store

    shards = tmp_path / "shards"
    shards.mkdir()
    _labelled_shards(shards, rows=1200, shards=3, seed=3)
    ray = ["--executor", "ray", "--address", cluster]
    for extra, out in (([], "local"), (ray, "ray")):
        res = CliRunner().invoke(app, ["audit", "--data", str(shards), "--target", "y",
                                       "--out", str(tmp_path / out), "-q", *extra])
        assert res.exit_code == 0, (res.output, res.exception)
        res = CliRunner().invoke(app, ["monitor", "init", "--db", str(tmp_path / "h.db"),
                                       "-n", out, "-r", str(shards), "--proba", "p0,p1",
                                       "--label", "y", *extra])
        assert res.exit_code == 0, (res.output, res.exception)

    def audited(folder: str) -> Any:
        card = json.loads((tmp_path / folder / "scorecard.json").read_text())
        return ([f for f in card["findings"] if f["id"] != "provenance"],
                card["provenance"]["columns"], card["provenance"]["classes"])

    assert audited("ray") == audited("local")
    with open_store(tmp_path / "h.db") as store:
        assert store.profile("ray").to_dict() == store.profile("local").to_dict()
        assert store.calibration("ray") == store.calibration("local")
