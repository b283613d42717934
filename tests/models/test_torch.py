"""TorchModel: gradients, mode and parameter hygiene, batching, fingerprints, input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trustbench.attacks.base import AttackContext
from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.models import TorchModel
from trustbench.models.rescaled import RangeScaled

MEAN = (0.5, 0.2, -0.1)
STD = (0.25, 2.0, 0.5)


def _conv_net(seed: int = 0) -> nn.Sequential:
    g = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 4 * 4, 5))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return net


def _images(n: int = 6, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand((n, 3, 4, 4), generator=g), torch.randint(0, 5, (n,), generator=g)


def _grad_wrt_input(fn, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(fn(x), y)
    (g,) = torch.autograd.grad(loss, x)
    return g


def test_logits_gradient_equals_plain_autograd() -> None:
    net = _conv_net()
    x, y = _images()
    g_adapter = _grad_wrt_input(TorchModel(net).logits, x, y)
    g_plain = _grad_wrt_input(net, x, y)
    assert g_adapter.abs().sum() > 0
    torch.testing.assert_close(g_adapter, g_plain, rtol=0, atol=0)


def test_normalisation_inside_adapter_equals_manual_normalisation() -> None:
    net = _conv_net()
    x, y = _images()
    model = TorchModel(net, mean=MEAN, std=STD)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)

    def manual(z: torch.Tensor) -> torch.Tensor:
        return net((z - mean) / std)

    torch.testing.assert_close(model.logits(x), manual(x))
    g_adapter = _grad_wrt_input(model.logits, x, y)
    g_manual = _grad_wrt_input(manual, x, y)
    torch.testing.assert_close(g_adapter, g_manual, rtol=1e-6, atol=1e-7)
    # normalisation really happened: the gradient differs from the un-normalised one
    assert not torch.allclose(g_adapter, _grad_wrt_input(net, x, y))


def test_prepare_is_what_the_module_receives() -> None:
    x, _ = _images()
    model = TorchModel(_conv_net(), mean=MEAN, std=STD, preprocess=lambda z: 2 * z)
    expected = 2 * (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    torch.testing.assert_close(model.prepare(x), expected)
    torch.testing.assert_close(model.logits(x), model.module(expected))
    assert torch.equal(model.mean, torch.tensor(MEAN)) and torch.equal(model.std, torch.tensor(STD))
    plain = TorchModel(_conv_net())
    assert plain.mean is None and plain.std is None
    assert torch.equal(plain.prepare(x), x)


def test_preprocess_is_applied_before_the_module(tiny_module: nn.Sequential) -> None:
    x = torch.rand(5, 4, generator=torch.Generator().manual_seed(0))
    model = TorchModel(tiny_module, preprocess=lambda z: 2 * z - 1)
    torch.testing.assert_close(model.logits(x), tiny_module(2 * x - 1))


def _mixed_mode_module() -> nn.Sequential:
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Dropout(0.5), nn.ReLU(), nn.Linear(6, 3))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    net.train()
    net[2].eval()  # one submodule in eval mode inside a module in train mode
    return net


def _flags(module: nn.Module) -> list[bool]:
    return [m.training for m in module.modules()]


@pytest.mark.parametrize("call", ["logits", "scores", "predict_proba", "predict", "loss_grad"])
def test_module_mode_and_state_restored(call: str) -> None:
    net = _mixed_mode_module()
    flags = _flags(net)
    assert flags == [True, True, True, False, True, True]
    state = {k: v.clone() for k, v in net.state_dict().items()}
    model = TorchModel(net)
    x = torch.rand(8, 4, generator=torch.Generator().manual_seed(1))
    y = torch.arange(8) % 3

    if call == "logits":
        out = model.logits(x)
    elif call == "scores":
        out = model.scores(x)
    elif call == "predict_proba":
        out = torch.from_numpy(model.predict_proba(x.numpy()))
    elif call == "predict":
        out = torch.from_numpy(model.predict(x.numpy()))
    else:
        ctx = AttackContext(model, Domain(0.0, 1.0), torch.Generator().manual_seed(0),
                            norm="linf", eps=0.1)
        _, grad, out = ctx.loss_grad(x, y)
        assert grad.shape == x.shape and grad.abs().sum() > 0

    assert _flags(net) == flags
    # eval mode was used: dropout is off and BatchNorm uses (and keeps) its running stats
    if call in ("logits", "scores", "loss_grad"):
        with torch.no_grad():
            net.eval()
            expected = net(x)
            net.train()
            net[2].eval()
        torch.testing.assert_close(out.detach(), expected)
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert all(p.grad is None for p in net.parameters())


def test_loss_grad_keeps_existing_parameter_grads(tiny_module: nn.Sequential) -> None:
    for p in tiny_module.parameters():
        p.grad = torch.full_like(p, 7.0)
    model = TorchModel(tiny_module)
    ctx = AttackContext(model, Domain(), torch.Generator().manual_seed(0), norm="l2", eps=1.0)
    x = torch.rand(4, 4, generator=torch.Generator().manual_seed(0))
    ctx.loss_grad(x, torch.tensor([0, 1, 2, 0]))
    assert all(torch.equal(p.grad, torch.full_like(p, 7.0)) for p in tiny_module.parameters())


def test_logits_do_not_build_parameter_grads_on_backward(tiny_module: nn.Sequential) -> None:
    """A plain backward through logits would fill .grad; the adapter does not change that,
    which is why attacks use autograd.grad w.r.t. the input (checked above)."""
    model = TorchModel(tiny_module)
    x = torch.rand(3, 4, generator=torch.Generator().manual_seed(0), requires_grad=True)
    (g,) = torch.autograd.grad(model.logits(x).sum(), x)
    assert g.shape == x.shape
    assert all(p.grad is None for p in tiny_module.parameters())


@pytest.mark.parametrize("batch_size", [1, 3, 7, 64])
def test_scores_are_batched_identically(batch_size: int) -> None:
    net = _conv_net()
    x, _ = _images(n=10)
    full = TorchModel(net, mean=MEAN, std=STD, batch_size=1000).scores(x)
    calls: list[int] = []
    hook = net.register_forward_pre_hook(lambda m, inp: calls.append(len(inp[0])))
    batched = TorchModel(net, mean=MEAN, std=STD, batch_size=batch_size).scores(x)
    hook.remove()
    assert max(calls) <= batch_size
    assert sum(calls) == 10
    assert len(calls) == -(-10 // batch_size)
    torch.testing.assert_close(batched, full, rtol=1e-5, atol=1e-6)
    assert batched.shape == (10, 5) and batched.dtype == torch.float32
    assert not batched.requires_grad


def test_toy_model_batches_and_probabilities(tiny_model: TorchModel) -> None:
    x = torch.rand(21, 8, generator=torch.Generator().manual_seed(2))
    whole = tiny_model.scores(x)
    tiny_model.batch_size = 4
    torch.testing.assert_close(tiny_model.scores(x), whole, rtol=1e-5, atol=1e-6)
    p = tiny_model.predict_proba(x.numpy())
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(p.argmax(1), whole.argmax(1).numpy())
    assert tiny_model.n_classes == 4


def test_scores_of_empty_batch(tiny_module: nn.Sequential) -> None:
    out = TorchModel(tiny_module, n_classes=3).scores(torch.zeros(0, 4))
    assert out.shape == (0, 3)


def test_predict_proba_rows_sum_to_one_and_match_softmax(tiny_module: nn.Sequential) -> None:
    x = np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32) * 5
    model = TorchModel(tiny_module, batch_size=4)
    p = model.predict_proba(x)
    assert p.shape == (9, 3)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-6)
    with torch.no_grad():
        expected = torch.softmax(tiny_module(torch.from_numpy(x)), 1).numpy()
    np.testing.assert_allclose(p, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.predict(x), expected.argmax(1))


def test_fingerprint_is_stable_and_changes_with_weights(make_mlp) -> None:
    a, b = make_mlp(seed=0), make_mlp(seed=0)
    fp = TorchModel(a).fingerprint()
    assert fp.startswith("sha256:") and len(fp) == len("sha256:") + 64
    assert TorchModel(a).fingerprint() == fp  # stable across calls
    assert TorchModel(b).fingerprint() == fp  # and across identical copies
    TorchModel(a).scores(torch.rand(2, 4))
    assert TorchModel(a).fingerprint() == fp  # running the model changes nothing
    with torch.no_grad():
        a[2].bias[1] += 1e-3
    assert TorchModel(a).fingerprint() != fp
    with torch.no_grad():
        a[2].bias[1] -= 1e-3
    assert TorchModel(a).fingerprint() == fp
    assert TorchModel(a, mean=[0.0], std=[2.0]).fingerprint() != fp


def test_fingerprint_sees_buffers() -> None:
    net = _mixed_mode_module()
    fp = TorchModel(net).fingerprint()
    with torch.no_grad():
        net[1].running_mean += 1.0
    assert TorchModel(net).fingerprint() != fp


def test_check_input_learns_n_classes(tiny_module: nn.Sequential) -> None:
    model = TorchModel(tiny_module)
    with pytest.raises(RuntimeError, match="check_input"):
        _ = model.n_classes
    model.check_input(np.zeros((5, 4), np.float32))
    assert model.n_classes == 3


def test_check_input_turns_shape_mismatch_into_input_error(tiny_module: nn.Sequential) -> None:
    model = TorchModel(tiny_module)
    with pytest.raises(InputError, match=r"shape \(7,\)") as e:
        model.check_input(np.zeros((5, 7), np.float32))
    assert "RuntimeError" in str(e.value)
    assert "--data" in str(e.value)
    with pytest.raises(InputError, match=r"shape \(1, 2, 2\)"):
        model.check_input(torch.zeros(3, 1, 2, 2))


def test_check_input_rejects_class_count_mismatch(tiny_module: nn.Sequential) -> None:
    model = TorchModel(tiny_module, n_classes=5)
    with pytest.raises(InputError, match="3 class scores but n_classes=5"):
        model.check_input(np.zeros((2, 4), np.float32))


def test_check_input_rejects_non_matrix_output() -> None:
    model = TorchModel(nn.Flatten(0))  # (N, F) -> (N * F,)
    with pytest.raises(InputError, match=r"expected \(n_inputs, n_classes\)"):
        model.check_input(np.zeros((2, 4), np.float32))


def test_rejects_non_module() -> None:
    with pytest.raises(TypeError, match=r"nn\.Module"):
        TorchModel(lambda x: x)  # type: ignore[arg-type]


def test_range_scaled_view_chains_values_and_gradients(tiny_module: nn.Sequential) -> None:
    lower = np.array([0.0, -2.0, 10.0, 5.0], np.float32)
    span = np.array([1.0, 4.0, 100.0, 0.0], np.float32)  # the last feature is constant
    inner = TorchModel(tiny_module)
    view = RangeScaled(inner, lower, span)
    u = torch.rand(6, 4, generator=torch.Generator().manual_seed(0))
    raw = torch.from_numpy(lower) + u * torch.from_numpy(span)
    torch.testing.assert_close(view.logits(u), tiny_module(raw))
    torch.testing.assert_close(view.scores(u), inner.scores(raw))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    g_view = _grad_wrt_input(view.logits, u, y)
    g_raw = _grad_wrt_input(tiny_module, raw, y)
    torch.testing.assert_close(g_view, g_raw * torch.from_numpy(span))  # chain rule
    assert torch.all(g_view[:, 3] == 0)
    view.check_input(u.numpy())
    assert view.n_classes == inner.n_classes == 3
    assert view.capabilities == inner.capabilities
    assert view.fingerprint() == inner.fingerprint()
    # what compress_report rebuilds a view from
    assert torch.equal(view.lower, torch.from_numpy(lower))
    assert torch.equal(view.span, torch.from_numpy(span))


class _Returns(nn.Module):
    """A linear (N, 4) -> (N, 3) model that returns ``wrap(logits, x)``."""

    def __init__(self, wrap) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.wrap = wrap

    def forward(self, x: torch.Tensor):
        return self.wrap(self.fc(x), x)


@pytest.mark.parametrize(("wrap", "said"), [
    (lambda z, x: (z, x), "returned a tuple of 2 (Tensor (2, 3), Tensor (2, 4))"),
    (lambda z, x: [z], "returned a list of 1 (Tensor (2, 3))"),
    (lambda z, x: {"logits": z, "hidden": x}, "returned a dict with keys 'logits', 'hidden'"),
    (lambda z, x: None, "returned None"),
    (lambda z, x: z.tolist(), "returned a list of 2 (list, list)"),
])
def test_check_input_says_what_the_model_returned(wrap, said: str) -> None:
    model = TorchModel(_Returns(wrap))
    with pytest.raises(InputError) as e:
        model.check_input(np.zeros((5, 4), np.float32))
    text = str(e.value)
    assert said in text and "not a tensor of class scores" in text
    assert "out[0] or out['logits']" in text
    assert "cannot take inputs" not in text
    with pytest.raises(InputError, match="not a tensor of class scores"):
        model.logits(torch.zeros(2, 4))  # the attacks' path says the same


class _OneAtATime(nn.Module):
    """Treats the whole batch as one example: right for batch size 1 only."""

    def __init__(self, *, reshape: bool) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3) if not reshape else nn.Linear(2, 3)
        self.reshape = reshape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.reshape:  # (N, 4) -> (2N, 2) -> (2N, 3) -> (1, 3): one row whatever N is
            return self.fc(x.reshape(-1, 2))[:1]
        return self.fc(x.flatten()).unsqueeze(0)  # (1, 3) for one example; raises for two


@pytest.mark.parametrize(("reshape", "happened"), [
    (False, "on 2 examples it raised RuntimeError"),
    (True, r"for 2 examples it returned scores of shape (1, 3)"),
])
def test_check_input_recognises_a_batch_of_one_model(reshape: bool, happened: str) -> None:
    with pytest.raises(InputError) as e:
        TorchModel(_OneAtATime(reshape=reshape)).check_input(np.zeros((5, 4), np.float32))
    text = str(e.value)
    assert "seems to accept only batch size 1" in text and happened in text
    assert "batch-aware" in text and "x.flatten(1)" in text
