"""int8 quantization: agreement with the float model, the fallback, and attacks that use the
float model's gradients with successes judged on the int8 model."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from trustbench.attacks import get_attack
from trustbench.data import load_builtin
from trustbench.demo import DemoCNN
from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.harden import QuantizedModel, Trainer, prediction_agreement, quantize_int8
from trustbench.models import TorchModel


@pytest.fixture(scope="module")
def trained() -> DemoCNN:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = DemoCNN(8)
    Trainer(method="standard", epochs=3, lr=1e-2, val_steps=1).fit(
        module, load_builtin("digits", split="train"))
    return module


@pytest.fixture(scope="module")
def test_x() -> tuple[torch.Tensor, torch.Tensor]:
    test = load_builtin("digits", split="test")
    return torch.from_numpy(test.x), torch.from_numpy(test.y)


def _calibration() -> torch.Tensor:
    return torch.from_numpy(load_builtin("digits", split="train").sample(256, seed=0).x)


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_int8_predictions_agree_with_float(trained: DemoCNN, test_x, mode: str) -> None:
    x, y = test_x
    q = quantize_int8(trained, _calibration(), mode=mode)
    assert q.mode == mode
    assert q.engine in torch.backends.quantized.supported_engines
    agreement = prediction_agreement(trained, q.module, x)
    assert agreement >= 0.98
    float_acc = float((TorchModel(trained).predict(x.numpy()) == y.numpy()).mean())
    int8_acc = float((QuantizedModel(q, trained).predict(x.numpy()) == y.numpy()).mean())
    assert abs(float_acc - int8_acc) <= 0.01
    if mode == "dynamic":
        assert any("convolutions stay float32" in n for n in q.notes)


def test_static_quantization_shrinks_the_module(trained: DemoCNN) -> None:
    q = quantize_int8(trained, _calibration())
    assert q.mode == "static"
    kinds = {type(m).__module__ for m in q.module.modules()}
    assert any("quantized" in k for k in kinds)
    assert all(p.dtype == torch.float32 for p in trained.parameters())  # original untouched


class Untraceable(nn.Module):
    """Data-dependent control flow: FX symbolic tracing cannot follow it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return self.fc(x)
        return -self.fc(x)


def test_auto_falls_back_to_dynamic_with_a_note(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="trustbench.harden.quantize"):
        q = quantize_int8(Untraceable(), torch.rand(16, 4), mode="auto")
    assert q.mode == "dynamic"
    assert any("fell back to dynamic" in n for n in q.notes)
    assert "fell back" in caplog.text
    with pytest.raises(InputError, match="static quantization failed"):
        quantize_int8(Untraceable(), torch.rand(16, 4), mode="static")


def test_static_without_calibration_data_is_refused(trained: DemoCNN) -> None:
    with pytest.raises(InputError, match="calibration"):
        quantize_int8(trained, mode="static")
    q = quantize_int8(trained)  # auto without data: dynamic, with a note
    assert q.mode == "dynamic" and any("no calibration data" in n for n in q.notes)


def test_quantized_model_scores_int8_and_differentiates_float(trained: DemoCNN, test_x) -> None:
    x, y = test_x[0][:64], test_x[1][:64]
    q = quantize_int8(trained, _calibration())
    model = QuantizedModel(q, trained)
    assert "gradients from float" in model.description
    with torch.inference_mode():
        int8_scores = q.module(x)
    assert torch.equal(model.scores(x), int8_scores)
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model.logits(xg).sum(), xg)
    (g_float,) = torch.autograd.grad(trained(xg).sum(), xg)
    assert torch.allclose(g, g_float)
    res = get_attack("pgd", eps=0.2, steps=10).run(model, x, y, domain=Domain(0.0, 1.0))
    rechecked = model.scores(res.x_adv).argmax(1) != y
    assert torch.equal(res.fooled, rechecked)  # success is judged on the int8 model
    assert res.robust_accuracy < 0.5
    assert model.fingerprint().startswith("sha256:")


def test_unknown_engine_is_refused(trained: DemoCNN) -> None:
    with pytest.raises(InputError, match="engine"):
        quantize_int8(trained, _calibration(), engine="tpu")
