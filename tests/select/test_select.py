"""select_models end to end on toy models, the local executor, and the command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from trustbench import Dataset, ScanConfig, Schema
from trustbench.cli import app
from trustbench.errors import InputError
from trustbench.execution import LocalExecutor
from trustbench.select import Candidate, parse_requirement, select_models, selection_card
from trustbench.testing.toy import toy_blobs, toy_mlp

CONFIG = ScanConfig(eps=[0.05], norm="linf", attacks=["fgsm"], n=60, seed=0)


@pytest.fixture(scope="module")
def data() -> Dataset:
    x, y = toy_blobs(120, seed=5)
    return Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)), name="blobs")


def _power(x: int, shared: int | None) -> int:
    return x ** (shared or 2)


def test_local_executor_in_process_and_in_a_pool() -> None:
    assert LocalExecutor().map(_power, [1, 2, 3]) == [1, 4, 9]
    assert LocalExecutor(processes=2).map(_power, [3, 1, 2], shared=3) == [27, 1, 8]
    with pytest.raises(InputError):
        LocalExecutor(processes=-1)


def test_select_recommends_within_the_requirements(data: Dataset) -> None:
    cands = [Candidate(f"m{s}", toy_mlp(seed=s, hidden=h)) for s, h in ((0, 32), (1, 8), (2, 64))]
    sel = select_models(cands, data, CONFIG, repeats=5)
    assert set(sel.values) == {"m0", "m1", "m2"}
    assert {c.key for c in sel.criteria} >= {"clean_acc", "robust_acc@linf:0.05", "latency_ms",
                                             "latency_ms@64", "size_mb"}
    assert sel.recommended == max(sel.win_rate, key=sel.win_rate.get)
    assert set(sel.front) <= set(sel.values) and sel.front
    # a requirement no one meets: no recommendation, a failing finding
    impossible = parse_requirement("clean_acc >= 1.01")
    none = select_models(cands[:2], data, CONFIG, requirements=[impossible], repeats=5)
    assert none.recommended is None
    card = selection_card(none)
    assert card.get("select.recommendation").severity == "fail"
    # the winner against a requirement on the one that would win otherwise
    best = sel.recommended
    floor = sel.values[best]["size_mb"].value
    cap = parse_requirement(f"size_mb < {floor:.6f}")
    capped = select_models(cands, data, CONFIG, requirements=[cap], repeats=5)
    assert capped.recommended != best and best in [n for n, m in capped.missed.items() if m]


def test_select_sharded_within_candidates_gives_the_same_scans(data: Dataset, tmp_path: Path,
                                                               comparable: Any) -> None:
    """--shard-size: every candidate's blocks in one map; the scans are the unsharded ones."""
    cands = [Candidate(f"m{s}", toy_mlp(seed=s, hidden=h)) for s, h in ((0, 32), (1, 8))]
    whole = select_models(cands, data, CONFIG, repeats=3)
    blocks = select_models(cands, data, CONFIG, repeats=3, shard_size=25,
                           executor=LocalExecutor(processes=2), blocks=tmp_path)
    assert {n: comparable(c) for n, c in blocks.cards.items()} == {
        n: comparable(c) for n, c in whole.cards.items()}
    assert len(list(tmp_path.glob("*.pt"))) == 2 * 3  # 25 + 25 + 10 of 60 points each


def test_select_refuses_bad_candidates(data: Dataset) -> None:
    with pytest.raises(InputError, match="at least two"):
        select_models([Candidate("a", toy_mlp())], data, CONFIG)
    with pytest.raises(InputError, match="named 'a'"):
        select_models([Candidate("a", toy_mlp()), Candidate("a", toy_mlp(seed=1))], data,
                      CONFIG)
    with pytest.raises(InputError, match="no candidate's scan measured"):
        select_models([Candidate("a", toy_mlp()), Candidate("b", toy_mlp(seed=1))], data,
                      CONFIG, requirements=[parse_requirement("worst_group_acc > 0.5")], repeats=3)


def _save(tmp: Path, seed: int, hidden: int) -> Path:
    """A toy MLP as TorchScript, the form a user's deployed model often has."""
    module = toy_mlp(seed=seed, hidden=hidden).module
    path = tmp / f"mlp{seed}.pt"
    torch.jit.script(module.eval()).save(str(path))
    return path


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_the_command(tmp_path: Path, data: Dataset) -> None:
    paths = [_save(tmp_path, s, h) for s, h in ((0, 32), (1, 8))]
    np.savez(tmp_path / "d.npz", x=data.x, y=data.y)
    result = CliRunner().invoke(app, [
        "select", *map(str, paths), "--data", str(tmp_path / "d.npz"), "--eps", "0.05",
        "--attacks", "fgsm", "--n-samples", "60", "--repeats", "5", "--require",
        "clean_acc >= 0", "--weight", "clean_acc=2", "--shard-size", "40", "--out",
        str(tmp_path / "out")])
    assert result.exit_code == 0, (result.output, result.exception)
    card = json.loads((tmp_path / "out" / "scorecard.json").read_text())
    assert [f["id"] for f in card["findings"]] == ["select.recommendation",
                                                  "select.leaderboard", "select.pareto"]
    assert (tmp_path / "out" / "candidates" / "mlp0" / "scorecard.json").is_file()
    assert (tmp_path / "out" / "report.html").is_file()
    bad = CliRunner().invoke(app, ["select", str(paths[0]), str(paths[1]), "--data",
                                   str(tmp_path / "d.npz"), "--require", "speed > 1"])
    assert bad.exit_code == 2 and "unknown criterion 'speed'" in bad.output
    names = CliRunner().invoke(app, ["select", str(paths[0]), str(paths[1]), "--data",
                                     str(tmp_path / "d.npz"), "--names", "a"])
    assert names.exit_code == 2 and "1 names for 2 models" in names.output


def test_ray_without_its_extra_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    for name in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)
    result = CliRunner().invoke(app, ["select", "a.pt", "b.pt", "--data", "digits",
                                      "--executor", "ray"])
    assert result.exit_code == 2
    assert "pip install 'trustbench[ray]'" in result.output
    wrong = CliRunner().invoke(app, ["select", "a.pt", "b.pt", "--data", "digits",
                                     "--address", "auto"])
    assert wrong.exit_code == 2 and "--executor ray" in wrong.output


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_a_killed_driver_resumes_with_only_the_missing_scans(tmp_path: Path, data: Dataset,
                                                             kill_once_written: Any) -> None:
    """SIGKILL the command once two scans are stored; --resume scans only the other two."""
    import shutil
    import subprocess
    import sys

    paths = [_save(tmp_path, s, h) for s, h in ((0, 32), (1, 8), (2, 16), (3, 64))]
    np.savez(tmp_path / "d.npz", x=data.x, y=data.y)
    exe = shutil.which("trustbench", path=str(Path(sys.executable).parent)) or "trustbench"
    args = [exe, "select", *map(str, paths), "--data", str(tmp_path / "d.npz"), "--eps", "0.05",
            "--attacks", "fgsm,pgd", "--n-samples", "60", "--repeats", "3", "--out",
            str(tmp_path / "out")]
    partial = tmp_path / "out" / ".select-partial"
    kill_once_written(args, partial, "*.json", 2)  # the driver dies mid-run
    kept = len(list(partial.glob("*.json")))
    assert 2 <= kept < 4, kept
    assert not (tmp_path / "out" / "scorecard.json").exists()
    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {kept} of 4 scans kept" in resumed.stdout
    assert not partial.exists()  # everything is in candidates/ now
    fresh = subprocess.run([*args[:-1], str(tmp_path / "fresh")], capture_output=True,
                           text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr
    for p in paths:
        a = json.loads((tmp_path / "out" / "candidates" / p.stem / "scorecard.json").read_text())
        b = json.loads((tmp_path / "fresh" / "candidates" / p.stem / "scorecard.json").read_text())
        strip = [(f["id"], f["severity"], f["title"]) for f in a["findings"]]
        assert strip == [(f["id"], f["severity"], f["title"]) for f in b["findings"]]
