"""Per-point random streams: an attack's result on a point does not depend on its batch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trustbench.attacks import APGD, APGDT, FGSM, PGD, Square, Standard
from trustbench.attacks.streams import PointStreams
from trustbench.domain import Domain
from trustbench.models.torch import TorchModel
from trustbench.testing.toy import toy_blobs, toy_mlp

BOX = Domain(lower=0.0, upper=1.0)


def _image_model() -> TorchModel:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 6 * 6, 4))
    return TorchModel(net.eval())


def _images(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand((n, 1, 6, 6), generator=torch.Generator().manual_seed(3))
    return x, _image_model().scores(x).argmax(1)


ATTACKS = {
    "pgd-linf": PGD(eps=0.06, steps=6),
    "pgd-l2": PGD(eps=0.3, norm="l2", steps=6, restarts=2),
    "apgd-ce": APGD(eps=0.06, steps=8),
    "apgd-l2": APGD(eps=0.3, norm="l2", steps=8),
    "apgd-t": APGDT(eps=0.06, steps=5, n_target_classes=2),
    "square-linf": Square(eps=0.06, n_queries=40),
    "square-l2": Square(eps=0.3, norm="l2", n_queries=40),
    "standard": Standard(eps=0.06, steps=5, n_target_classes=2, n_queries=30),
}


@pytest.mark.parametrize("data", ["tabular", "images"])
@pytest.mark.parametrize("name", list(ATTACKS))
def test_result_does_not_depend_on_batch_size(name, data) -> None:
    if data == "tabular":
        (x, y), model = toy_blobs(90, seed=4), toy_mlp(0)
    else:
        (x, y), model = _images(), _image_model()
    attack = ATTACKS[name]
    whole = attack.run(model, x, y, domain=BOX, batch_size=len(x))
    pieces = attack.run(model, x, y, domain=BOX, batch_size=7)
    assert 0 < int(whole.fooled.sum()) < len(x)  # the attack has work to do on both paths
    assert torch.equal(whole.fooled, pieces.fooled)
    assert torch.allclose(whole.x_adv, pieces.x_adv, atol=1e-6)


def test_early_stop_changes_the_cost_not_the_result() -> None:
    (x, y), model = toy_blobs(90, seed=4), toy_mlp(0)
    stop = PGD(eps=0.06, steps=8).run(model, x, y, domain=BOX)
    keep = PGD(eps=0.06, steps=8, early_stop=False).run(model, x, y, domain=BOX)
    assert torch.equal(stop.fooled, keep.fooled)
    assert torch.allclose(stop.x_adv, keep.x_adv, atol=1e-6)
    assert stop.grad_evals < keep.grad_evals


def test_fgsm_reads_clean_predictions_off_its_gradient_pass() -> None:
    (x, y), model = toy_blobs(90, seed=4), toy_mlp(0)
    fused = FGSM(eps=0.06).run(model, x, y, domain=BOX)
    given = FGSM(eps=0.06).run(model, x, y, domain=BOX, clean_pred=model.scores(x).argmax(1))
    assert torch.equal(fused.fooled, given.fooled)
    assert torch.equal(fused.clean_correct, given.clean_correct)
    assert torch.equal(fused.x_adv, given.x_adv)
    assert fused.queries == len(x)  # the re-check only, no separate clean pass
    assert fused.grad_evals == len(x)


def test_streams_are_uniform_independent_and_keyed_by_point() -> None:
    s = PointStreams(0)
    ids = torch.arange(3000)
    u = s.uniform(ids, (32,), "t", 0)
    assert abs(float(u.mean()) - 0.5) < 0.005 and abs(float(u.var()) - 1 / 12) < 0.002
    assert float(u.min()) >= 0.0 and float(u.max()) < 1.0
    for other in (s.uniform(ids, (32,), "t", 1), PointStreams(1).uniform(ids, (32,), "t", 0),
                  u.roll(1, 0), u.roll(1, 1)):
        r = torch.corrcoef(torch.stack([u.flatten(), other.flatten()]))[0, 1]
        assert abs(float(r)) < 0.015
    assert torch.equal(s.uniform(ids[[17, 5]], (32,), "t", 0), u[[17, 5]])
    z = s.normal(ids, (32,), "n")
    assert abs(float(z.mean())) < 0.02 and abs(float(z.std()) - 1) < 0.02
    counts = torch.bincount(s.integers(ids, 5, (10,), "i").flatten(), minlength=5)
    assert (counts - 6000).abs().max() < 300
