"""Shared fixtures: tiny seeded torch models and an isolated cache folder."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from trustbench.models import TorchModel

# The test models are tiny: one thread is as fast as two on an idle machine, far faster on a
# busy one, and makes floating-point results the same everywhere.
torch.set_num_threads(1)
# Ray binds its nodes to this machine's address unless told otherwise; the tests' clusters
# stay on loopback (read when ray is first imported, so set before any test imports it)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


@pytest.fixture(scope="session", autouse=True)
def _hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep hypothesis' example database and caches out of the working tree."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point TRUSTBENCH_CACHE at a temporary folder so no test writes to ~/.cache."""
    cache = tmp_path_factory.mktemp("trustbench-cache", numbered=True)
    monkeypatch.setenv("TRUSTBENCH_CACHE", str(cache))
    return cache


@pytest.fixture
def tmp_cache(_isolated_cache: Path) -> Path:
    """The (empty, per-test) folder that TRUSTBENCH_CACHE points to."""
    return _isolated_cache


def _make_mlp(n_features: int = 4, n_classes: int = 3, hidden: int = 8, seed: int = 0) -> nn.Sequential:
    """A small ReLU MLP with seeded weights (no global RNG)."""
    module = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return module


@pytest.fixture
def make_mlp() -> Callable[..., nn.Sequential]:
    """``make_mlp(n_features=4, n_classes=3, hidden=8, seed=0)``: a seeded ReLU MLP."""
    return _make_mlp


@pytest.fixture
def tiny_module() -> nn.Sequential:
    """(N, 4) -> (N, 3) logits; a fresh module for every test."""
    return _make_mlp()


@pytest.fixture
def tiny_model() -> TorchModel:
    """A toy MLP from ``trustbench.testing.toy`` (8 features, 4 classes), else a tiny MLP."""
    try:
        from trustbench.testing.toy import toy_mlp
    except ImportError:  # toy models not written yet
        return TorchModel(_make_mlp(8, 4), n_classes=4)
    return toy_mlp()


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``trustbench demo --n 60`` run once per session (its own cache): the folder with
    scorecard.json, report.html, summary.md and junit.xml. Shared by the gate acceptance test
    and the browser test of the demo's report."""
    from typer.testing import CliRunner

    from trustbench.cli import app

    out = tmp_path_factory.mktemp("demo") / "baseline"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRUSTBENCH_CACHE", str(tmp_path_factory.mktemp("demo-cache")))
        result = CliRunner().invoke(app, ["demo", "--n", "60", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _comparable(card: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Findings and metrics without what may differ: timings and the run's provenance."""
    def same(v: Any) -> Any:  # NaN equal to NaN: "not measurable" in both
        return "nan" if isinstance(v, float) and v != v else v

    return [(f.id, f.severity, f.title,
             {k: (same(m.value), None if m.ci is None else tuple(map(same, m.ci)))
              for k, m in f.metrics.items() if "time" not in k})
            for f in card.findings if f.id != "provenance"]


@pytest.fixture
def comparable() -> Callable[[Any], list[tuple[str, str, str, dict[str, Any]]]]:
    """What two scorecards of the same scan share wherever they ran (timings aside)."""
    return _comparable


def _kill_once_written(args: Sequence[str], folder: Path, pattern: str, count: int) -> None:
    """Start the command ``args``; SIGKILL it once ``count`` files match ``folder/pattern``."""
    import signal
    import subprocess
    import time

    proc = subprocess.Popen(list(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(folder.glob(pattern))) < count:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # the driver dies mid-run
        proc.wait(timeout=30)
    finally:
        proc.kill()


@pytest.fixture
def kill_once_written() -> Callable[[Sequence[str], Path, str, int], None]:
    """A real command killed mid-run, for the tests that resume it."""
    return _kill_once_written
