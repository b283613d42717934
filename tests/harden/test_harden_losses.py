"""The drop-in losses: budget, domain, batch norm, parameter gradients, modes, seeding."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from trustbench.data import load_builtin
from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.harden import fast_at_loss, pgd_at_loss, trades_loss
from trustbench.models import TorchModel

LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "pgd-at": pgd_at_loss, "trades": trades_loss, "fast-at": fast_at_loss}
#: forward passes the outer loss makes in the caller's mode (TRADES: clean and adversarial)
OUTER_PASSES = {"pgd-at": 1, "trades": 2, "fast-at": 1}


class Recorder(nn.Module):
    """A small BN network that records every input it sees and the mode it saw it in."""

    def __init__(self, n_features: int = 6, n_classes: int = 3) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.net = nn.Sequential(nn.Linear(n_features, 16), nn.BatchNorm1d(16), nn.ReLU(),
                                 nn.Linear(16, n_classes))
        with torch.no_grad():
            for p in self.net.parameters():
                p.copy_(torch.randn(p.shape, generator=g))
        self.seen: list[tuple[torch.Tensor, bool]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append((x.detach().clone(), self.training))
        return self.net(x)


def _data(n: int = 32, d: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand((n, d), generator=g), torch.randint(0, 3, (n,), generator=g)


@pytest.mark.parametrize("name", LOSSES)
@settings(max_examples=8, deadline=None)
@given(eps=st.floats(0.0, 0.5), norm=st.sampled_from(["linf", "l2"]),
       lo=st.floats(-0.5, 0.2), width=st.floats(0.3, 1.5), seed=st.integers(0, 1000))
def test_inner_attack_stays_in_budget_and_domain(name: str, eps: float, norm: str, lo: float,
                                                 width: float, seed: int) -> None:
    model = Recorder()
    x, y = _data(seed=seed)
    x = (lo + width * x).clamp(lo, lo + width)  # inside the domain [lo, lo + width]
    LOSSES[name](model, x, y, eps=eps, norm=norm, domain=(lo, lo + width), seed=seed)
    assert len(model.seen) >= 2
    for inp, _ in model.seen:
        delta = (inp - x).flatten(1)
        size = delta.abs().amax(1) if norm == "linf" else delta.norm(dim=1)
        assert float(size.max()) <= eps + 1e-5
        assert float(inp.min()) >= lo - 1e-6 and float(inp.max()) <= lo + width + 1e-6


@pytest.mark.parametrize("name", LOSSES)
def test_inner_attack_runs_in_eval_mode_and_leaves_no_parameter_grads(name: str) -> None:
    model = Recorder().train()
    bn = model.net[1]
    tracked = int(bn.num_batches_tracked)
    x, y = _data()
    loss = LOSSES[name](model, x, y, eps=0.1, seed=0)
    train_calls = [t for _, t in model.seen if t]
    assert len(train_calls) == OUTER_PASSES[name]  # only the outer loss in train mode
    assert len(model.seen) > OUTER_PASSES[name]  # the inner attack ran, in eval mode
    assert int(bn.num_batches_tracked) == tracked + OUTER_PASSES[name]
    assert all(p.grad is None for p in model.parameters())
    assert all(m.training for m in model.modules())  # the caller's mode is restored
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", LOSSES)
def test_eval_mode_caller_keeps_batch_norm_statistics(name: str) -> None:
    model = Recorder().eval()
    bn = model.net[1]
    before = (bn.running_mean.clone(), bn.running_var.clone(), int(bn.num_batches_tracked))
    x, y = _data()
    LOSSES[name](model, x, y, eps=0.2, seed=0).backward()
    assert torch.equal(bn.running_mean, before[0]) and torch.equal(bn.running_var, before[1])
    assert int(bn.num_batches_tracked) == before[2]
    assert not any(m.training for m in model.modules())


@pytest.mark.parametrize("name", LOSSES)
def test_seeded_and_generator_driven(name: str) -> None:
    model = Recorder().eval()
    x, y = _data()
    a = LOSSES[name](model, x, y, eps=0.2, seed=3)
    b = LOSSES[name](model, x, y, eps=0.2, seed=3)
    assert torch.equal(a, b)
    gen = torch.Generator().manual_seed(3)
    c = LOSSES[name](model, x, y, eps=0.2, generator=gen)
    d = LOSSES[name](model, x, y, eps=0.2, generator=gen)  # the generator has moved on
    assert torch.equal(a, c)
    assert not torch.equal(c, d)
    state = torch.get_rng_state()
    LOSSES[name](model, x, y, eps=0.2, seed=1)
    assert torch.equal(state, torch.get_rng_state())  # never the global generator


@pytest.mark.parametrize("name", LOSSES)
def test_adversarial_loss_exceeds_clean_loss(name: str) -> None:
    module = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    data = load_builtin("digits", split="train")
    x, y = torch.from_numpy(data.x[:128]), torch.from_numpy(data.y[:128])
    opt = torch.optim.Adam(module.parameters(), lr=0.05)
    for _ in range(30):
        opt.zero_grad()
        F.cross_entropy(module(x), y).backward()
        opt.step()
    with torch.no_grad():
        clean = F.cross_entropy(module(x), y).item()
    adv = LOSSES[name](module, x, y, eps=0.1, domain=data.schema).item()
    assert adv > clean + 0.1


def test_torch_model_normalisation_is_applied() -> None:
    module = Recorder().eval()
    x, y = _data()
    tm = TorchModel(module, mean=[0.5], std=[0.25])
    pgd_at_loss(tm, x, y, eps=0.1, steps=2, seed=0)
    first, _ = module.seen[0]
    assert float(first.min()) < -0.5  # (x - 0.5) / 0.25 reached the module


def test_zero_eps_pgd_loss_is_clean_cross_entropy() -> None:
    model = Recorder().eval()
    x, y = _data()
    assert torch.allclose(pgd_at_loss(model, x, y, eps=0.0, seed=0),
                          F.cross_entropy(model.net(x), y))


def test_random_start_and_its_old_name_random_init() -> None:
    x, y = _data()
    fixed = Recorder().eval()
    pgd_at_loss(fixed, x, y, eps=0.2, steps=1, random_start=False, seed=0)
    assert torch.equal(fixed.seen[0][0], x)  # the inner PGD started at x itself
    moved = Recorder().eval()
    pgd_at_loss(moved, x, y, eps=0.2, steps=1, seed=0)
    assert not torch.equal(moved.seen[0][0], x)  # default: a random start
    old = Recorder().eval()
    with pytest.warns(DeprecationWarning, match="'random_init' is deprecated.*'random_start'"):
        pgd_at_loss(old, x, y, eps=0.2, steps=1, random_init=False, seed=0)
    assert torch.equal(old.seen[0][0], x)


def test_reduction_none_is_per_example() -> None:
    model = Recorder().eval()
    x, y = _data()
    per = trades_loss(model, x, y, eps=0.1, seed=0, reduction="none")
    assert per.shape == (len(x),)
    assert torch.allclose(per.mean(), trades_loss(model, x, y, eps=0.1, seed=0))


@pytest.mark.parametrize("kwargs, needle", [
    ({"eps": -0.1}, "eps"), ({"eps": 0.1, "norm": "l1"}, "norm"),
    ({"eps": 0.1, "steps": 0}, "steps"), ({"eps": 0.1, "domain": (1.0, 0.0)}, "lower"),
    ({"eps": 0.1, "domain": "01"}, "domain"), ({"eps": 0.1, "reduction": "max"}, "reduction"),
    ({"eps": 0.1, "seed": 1, "generator": torch.Generator()}, "seed"),
])
def test_bad_arguments_raise_input_error(kwargs: dict, needle: str) -> None:
    x, y = _data()
    with pytest.raises(InputError, match=needle):
        pgd_at_loss(Recorder(), x, y, **kwargs)


def test_non_torch_model_is_refused() -> None:
    x, y = _data()
    with pytest.raises(InputError, match="augmentation"):
        trades_loss(object(), x, y, eps=0.1)  # type: ignore[arg-type]


def test_domain_object_with_immutable_features() -> None:
    model = Recorder().eval()
    x, y = _data()
    mutable = torch.tensor([True, False, True, True, False, True])
    pgd_at_loss(model, x, y, eps=0.3, domain=Domain(0.0, 1.0, mutable=mutable), seed=0)
    for inp, _ in model.seen:
        assert torch.equal(inp[:, ~mutable], x[:, ~mutable])
