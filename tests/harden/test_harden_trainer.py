"""The Trainer: every method beats standard training on robustness, resuming is exact,
early stopping keeps the best epoch, and bad settings fail clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from trustbench.attacks import get_attack
from trustbench.data import Dataset, load_builtin
from trustbench.demo import DemoCNN
from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.harden import EpochRecord, Trainer
from trustbench.models import TorchModel


def _cnn(width: int = 8, seed: int = 0) -> DemoCNN:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DemoCNN(width)


def _robust_accuracy(module: torch.nn.Module, n: int = 200) -> tuple[float, float]:
    test = load_builtin("digits", split="test")
    x, y = torch.from_numpy(test.x[:n]), torch.from_numpy(test.y[:n])
    res = get_attack("pgd", eps=0.1, steps=10).run(TorchModel(module), x, y,
                                                   domain=Domain(0.0, 1.0))
    return float(res.clean_correct.float().mean()), res.robust_accuracy


def _fit(method: str) -> tuple[float, float]:
    module = _cnn()
    Trainer(method=method, eps=0.1, epochs=4, lr=1e-2, patience=None, val_steps=5).fit(
        module, load_builtin("digits", split="train"))
    return _robust_accuracy(module)


@pytest.fixture(scope="module")
def standard_result() -> tuple[float, float]:
    return _fit("standard")


@pytest.mark.parametrize("method", ["trades", "pgd-at", "fast-at"])
def test_adversarial_training_beats_standard_on_robust_accuracy(
        method: str, standard_result: tuple[float, float]) -> None:
    clean0, robust0 = standard_result
    clean, robust = _fit(method)
    assert clean0 > 0.9  # the baseline is a real classifier
    assert robust > robust0 + 0.15, (method, robust, robust0)
    assert clean > 0.85


def _small() -> Dataset:
    return load_builtin("digits", split="train").sample(300, seed=0)


class Interrupt(Exception):
    pass


def test_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path: Path) -> None:
    data = _small()

    def trainer() -> Trainer:
        return Trainer(method="trades", eps=0.1, steps=2, epochs=4, patience=None, val_steps=2,
                       seed=1)

    straight = _cnn(4)
    full = trainer().fit(straight, data)

    def stop_after_two(rec: EpochRecord) -> None:
        if rec.epoch == 2:
            raise Interrupt

    interrupted = _cnn(4)
    with pytest.raises(Interrupt):
        trainer().fit(interrupted, data, checkpoint_dir=tmp_path, progress=stop_after_two)
    assert (tmp_path / "checkpoint.pt").exists()
    resumed = _cnn(4, seed=99)  # different weights: all state must come from the checkpoint
    result = trainer().fit(resumed, data, checkpoint_dir=tmp_path, resume=True)
    assert result.resumed_from == 2
    assert [r.epoch for r in result.history] == [1, 2, 3, 4]
    for a, b in zip(full.history, result.history, strict=True):
        assert a.val_robust_accuracy == b.val_robust_accuracy
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-5)
    for (k, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items(),
                              strict=True):
        assert torch.allclose(a, b, atol=1e-6), k


def test_resume_with_other_settings_or_without_checkpoint_fails(tmp_path: Path) -> None:
    data = _small()
    Trainer(method="fast-at", epochs=1, val_steps=1).fit(_cnn(4), data, checkpoint_dir=tmp_path)
    with pytest.raises(InputError, match=r"eps: 0\.1 -> 0\.2"):
        Trainer(method="fast-at", eps=0.2, epochs=2, val_steps=1).fit(
            _cnn(4), data, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(InputError, match="training rows"):
        Trainer(method="fast-at", epochs=2, val_steps=1).fit(
            _cnn(4), data.sample(200, seed=0), checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(InputError, match="no checkpoint"):
        Trainer(method="fast-at", epochs=2).fit(_cnn(4), data, checkpoint_dir=tmp_path / "x",
                                                resume=True)


def test_early_stopping_keeps_the_best_epoch() -> None:
    data = _small()
    module = _cnn(4)
    start = {k: v.clone() for k, v in module.state_dict().items()}
    # lr=0: no epoch can beat the first, so the run stops after 1 + patience epochs
    result = Trainer(method="fast-at", epochs=10, lr=0.0, schedule="constant", patience=2,
                     val_steps=1).fit(module, data)
    assert result.stopped_early
    assert len(result.history) == 3 and result.best_epoch == 1
    assert all(torch.equal(start[k], v) for k, v in module.state_dict().items())
    assert not module.training


def test_fit_leaves_global_rng_and_accepts_arrays() -> None:
    data = _small()
    state = torch.get_rng_state()
    result = Trainer(method="standard", epochs=1, val_steps=1).fit(
        _cnn(4), (data.x, data.y.astype(np.int64)))
    assert torch.equal(state, torch.get_rng_state())
    assert result.selected_on == "clean" and len(result.history) == 1


@pytest.mark.parametrize("kwargs, needle", [
    ({"method": "mart"}, "method"), ({"eps": -1.0}, "eps"), ({"epochs": 0}, "epochs"),
    ({"val_fraction": 1.5}, "val_fraction"), ({"schedule": "step"}, "schedule"),
])
def test_bad_settings_raise_input_error(kwargs: dict, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        Trainer(**kwargs).check_params()  # before any data, as the CLI calls it
    with pytest.raises(InputError, match=needle):
        Trainer(**kwargs).fit(_cnn(4), _small())


def test_good_settings_pass_check_params() -> None:
    assert Trainer(method="trades", eps=0.1, epochs=2).check_params() is None


def test_labels_outside_the_model_classes_are_refused() -> None:
    data = _small()
    with pytest.raises(InputError, match="outside"):
        Trainer(epochs=1).fit(_cnn(4), (data.x, data.y + 5))
