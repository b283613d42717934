"""Distillation: the default student, the losses leave the teacher alone, a short run learns."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trustbench.data import load_builtin
from trustbench.demo import DemoCNN
from trustbench.errors import InputError
from trustbench.harden import ard_loss, default_student, distill, kd_loss, rslad_loss
from trustbench.models import TorchModel


def _teacher() -> DemoCNN:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return DemoCNN(8).eval()


def test_default_student_is_a_half_width_democnn() -> None:
    student, arch, kwargs = default_student(DemoCNN(16, n_classes=7))
    assert isinstance(student, DemoCNN) and arch == "trustbench.demo:DemoCNN"
    assert kwargs == {"width": 8, "n_classes": 7}
    assert student.features[0].out_channels == 8
    assert sum(p.numel() for p in student.parameters()) < sum(
        p.numel() for p in DemoCNN(16, n_classes=7).parameters())


def test_unknown_family_asks_for_a_student() -> None:
    with pytest.raises(InputError, match="pass a smaller student"):
        default_student(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)))
    data = load_builtin("digits", split="train").sample(50, seed=0)
    with pytest.raises(InputError, match="student"):
        distill(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), data, epochs=1)


@pytest.mark.parametrize("loss", ["kd", "ard", "rslad"])
def test_losses_leave_the_teacher_alone(loss: str) -> None:
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU(),
                            nn.Linear(16, 10)).train()
    bn = teacher[2]
    stats = (bn.running_mean.clone(), int(bn.num_batches_tracked))
    student = DemoCNN(4).train()
    data = load_builtin("digits", split="train")
    x, y = torch.from_numpy(data.x[:32]), torch.from_numpy(data.y[:32])
    fn = {"kd": lambda: kd_loss(student, teacher, x, y),
          "ard": lambda: ard_loss(student, teacher, x, y, eps=0.1, steps=2, seed=0),
          "rslad": lambda: rslad_loss(student, teacher, x, y, eps=0.1, steps=2, seed=0)}[loss]
    value = fn()
    value.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert torch.equal(bn.running_mean, stats[0]) and int(bn.num_batches_tracked) == stats[1]
    assert teacher.training  # the teacher's mode is restored
    assert all(p.grad is not None for p in student.parameters())


def test_kd_with_alpha_zero_is_cross_entropy() -> None:
    student, teacher = DemoCNN(4).eval(), _teacher()
    data = load_builtin("digits", split="train")
    x, y = torch.from_numpy(data.x[:16]), torch.from_numpy(data.y[:16])
    assert torch.allclose(kd_loss(student, teacher, x, y, alpha=0.0),
                          nn.functional.cross_entropy(student(x), y))


def test_short_kd_run_imitates_the_teacher() -> None:
    data = load_builtin("digits", split="train")
    teacher = _teacher()
    from trustbench.harden import Trainer

    Trainer(method="standard", epochs=3, lr=1e-2, val_steps=1).fit(teacher, data)
    student = distill(TorchModel(teacher), data, method="kd", epochs=6, lr=1e-2,
                      temperature=2.0)
    assert not student.training and student.features[0].out_channels == 4
    test = load_builtin("digits", split="test")
    agree = float((TorchModel(student).predict(test.x) == TorchModel(teacher).predict(test.x)).mean())
    assert agree > 0.85


def test_bad_method_is_refused() -> None:
    with pytest.raises(InputError, match="method"):
        distill(_teacher(), load_builtin("digits", split="train"), method="fitnets")  # type: ignore[arg-type]
