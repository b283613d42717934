"""Threads and the automatic attack batch size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trustbench import Dataset, ScanConfig, Schema, scan, tuning
from trustbench.models import CallableModel
from trustbench.testing.toy import toy_blobs, toy_mlp


def test_available_cpus_is_positive_and_at_most_the_machine() -> None:
    n = tuning.available_cpus()
    assert 1 <= n <= (torch.multiprocessing.cpu_count() or n)


def test_configure_threads_sets_and_caps() -> None:
    before = torch.get_num_threads()
    try:
        assert tuning.configure_threads(1) == 1 == torch.get_num_threads()
        torch.set_num_threads(tuning.available_cpus() + 3)
        assert tuning.configure_threads(None) == tuning.available_cpus()
        with pytest.raises(ValueError):
            tuning.configure_threads(0)
    finally:
        torch.set_num_threads(before)


def test_choose_batch_size_tries_growing_sizes_up_to_n() -> None:
    x, y = toy_blobs(300)
    choice = tuning.choose_batch_size(toy_mlp(0), x, y, candidates=(16, 64, 1024))
    assert choice.size in choice.seconds_per_example
    assert set(choice.seconds_per_example) <= {16, 64, 300}  # 1024 capped at the 300 points
    fastest = min(choice.seconds_per_example.values())
    assert choice.seconds_per_example[choice.size] <= tuning.SAME_SPEED * fastest
    assert choice.to_dict()["size"] == choice.size


@pytest.mark.parametrize(("seconds", "expected"), [
    # per-example seconds at 32, 64, 128, 200 (the number of points)
    ({32: 1.00, 64: 0.90, 128: 0.92, 200: 0.91}, 200),  # within noise of the fastest
    ({32: 1.00, 64: 0.90, 128: 0.92, 200: 1.20}, 128),  # 200 is past a cache cliff
    ({32: 0.50, 64: 0.80, 128: 0.81, 200: 0.80}, 32),   # small batches really are faster
])
def test_the_largest_batch_as_fast_as_the_fastest_is_kept(monkeypatch, seconds, expected) -> None:
    x, y = toy_blobs(200)
    # pass_seconds returns a whole pass; the tuner adds STEP_OVERHEAD and divides by b
    monkeypatch.setattr(tuning, "pass_seconds", lambda model, xb, yb, gradient, **_: (
        seconds[len(xb)] * len(xb) - tuning.STEP_OVERHEAD))
    choice = tuning.choose_batch_size(toy_mlp(0), x, y, candidates=(32, 64, 128, 256))
    assert choice.size == expected
    assert "largest within 10% of the fastest" in choice.reason


def test_memory_caps_the_batch(monkeypatch) -> None:
    x, y = toy_blobs(300)
    model = toy_mlp(0)
    per_example = tuning._activation_bytes(model, x)
    assert per_example and per_example > 0
    # room for about 40 examples' activations (x3 for gradients and working copies)
    monkeypatch.setattr(tuning, "_available_memory",
                        lambda: int(40 * 3 * per_example / tuning.MEMORY_FRACTION))
    choice = tuning.choose_batch_size(model, x, y, candidates=(16, 32, 64, 128))
    assert choice.memory_cap == 40
    assert set(choice.seconds_per_example) == {16, 32} and choice.size <= 40


def test_black_box_models_are_timed_on_forward_passes() -> None:
    x, y = toy_blobs(100)
    mlp = toy_mlp(0)
    model = CallableModel(lambda a: torch.softmax(mlp.scores(torch.as_tensor(a)), 1).numpy(),
                          n_classes=4)
    choice = tuning.choose_batch_size(model, x, y, candidates=(10, 50))
    assert choice.size in (10, 50)


def test_scan_results_do_not_depend_on_the_batch_size() -> None:
    x, y = toy_blobs(120)
    data = Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)), name="b")
    common = {"eps": [0.05, 0.1], "attacks": ["fgsm", "pgd", "square"], "eps_units": "raw",
              "seed": 2, "validity": False, "shifts": [], "ood": False, "subgroups": False,
              "attack_params": {"square": {"n_queries": 60}}}
    auto = scan(toy_mlp(0), data, ScanConfig(**common))
    small = scan(toy_mlp(0), data, ScanConfig(batch_size=7, **common))
    assert auto.provenance["runtime"]["batch_size"] != 7
    assert auto.provenance["runtime"]["batch_choice"]["size"] == auto.provenance["runtime"][
        "batch_size"]
    assert small.provenance["runtime"]["batch_size"] == 7
    robust = [f for f in auto.findings if f.id.startswith("robustness.")]
    assert len(robust) >= 6
    for fa in robust:
        fb = small.get(fa.id)
        for k, m in fa.metrics.items():
            if k not in ("wall_time", "seconds"):
                assert m.value == fb.metrics[k].value, (fa.id, k)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_torchscript_models_use_the_input_size_guess() -> None:
    # TorchScript modules refuse forward hooks: the activation size falls back to a guess.
    from trustbench.models import TorchModel

    x, y = toy_blobs(100)
    scripted = TorchModel(torch.jit.script(toy_mlp(0).module))
    guess = x[0].numel() * x.element_size() * tuning.UNCOUNTED_ACTIVATION_FACTOR
    assert tuning._activation_bytes(scripted, x) == guess
    assert tuning.choose_batch_size(scripted, x, y, candidates=(10, 50)).size in (10, 50)
