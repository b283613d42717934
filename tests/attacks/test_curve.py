"""robustness_curve: monotone, equal to independent runs, cheaper than them."""

from __future__ import annotations

import itertools

import pytest
import torch

from trustbench.attacks import APGD, FGSM, PGD, Square, Standard, robustness_curve
from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.testing.toy import toy_blobs, toy_mlp

BOX = Domain(lower=0.0, upper=1.0)
EPS = [0.12, 0.02, 0.08, 0.05]  # deliberately unsorted


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    return toy_blobs(120, seed=13)


def test_sorted_monotone_and_nested(data) -> None:
    x, y = data
    curve = robustness_curve(APGD(steps=10), toy_mlp(0), x, y, EPS, domain=BOX)
    assert [r.eps for r in curve] == sorted(EPS)
    acc = [r.robust_accuracy for r in curve]
    assert all(a >= b for a, b in itertools.pairwise(acc)) and acc[0] > acc[-1]
    for small, large in itertools.pairwise(curve):
        assert (large.fooled | ~small.fooled).all()  # fooled once, fooled for good
        carried = small.fooled & small.clean_correct
        assert torch.equal(large.x_adv[carried], small.x_adv[carried])
    for r in curve:
        assert float(r.perturbation_norms(x).max()) <= r.eps + 1e-5


@pytest.mark.parametrize("attack", [
    FGSM(), PGD(steps=8, random_start=False), PGD(steps=8), APGD(steps=10),
    Square(n_queries=60), Standard(steps=5, n_target_classes=2, n_queries=30)],
    ids=["fgsm", "pgd-no-random-start", "pgd", "apgd-ce", "square", "standard"])
def test_equals_independent_runs_on_the_points_it_attacks(attack, data) -> None:
    # Each point draws from its own random stream, so its result does not depend on the
    # other points: the curve gives exactly the independent result at each eps, or'ed
    # with the smaller eps (a point fooled earlier stays fooled).
    x, y = data
    model = toy_mlp(0)
    curve = robustness_curve(attack, model, x, y, EPS, domain=BOX)
    before = torch.zeros(len(y), dtype=torch.bool)
    for r in curve:
        alone = attack.clone(eps=r.eps).run(model, x, y, domain=BOX)
        assert torch.equal(r.fooled, alone.fooled | before)
        fresh = ~before
        assert torch.allclose(r.x_adv[fresh], alone.x_adv[fresh], atol=1e-6)
        before = r.fooled


def test_cheaper_than_independent_runs(data) -> None:
    x, y = data
    model = toy_mlp(0)
    attack = PGD(steps=10, early_stop=False)
    curve = robustness_curve(attack, model, x, y, EPS, domain=BOX)
    independent = [attack.clone(eps=e).run(model, x, y, domain=BOX) for e in sorted(EPS)]
    assert sum(r.grad_evals for r in curve) < sum(r.grad_evals for r in independent)
    # the clean predictions are computed once: later runs only re-check what they attack
    for small, r in itertools.pairwise(curve):
        assert r.queries == int((~small.fooled).sum())
        assert r.grad_evals == 10 * int((~small.fooled).sum())


def test_progress_counts_every_point_at_every_eps(data) -> None:
    x, y = data
    seen: list[int] = []
    robustness_curve(FGSM(), toy_mlp(0), x.numpy(), y.numpy(), EPS, progress=seen.append)
    assert sum(seen) == len(y) * len(EPS)


def test_empty_budget_list_is_an_input_error(data) -> None:
    x, y = data
    with pytest.raises(InputError, match="eps_values"):
        robustness_curve(FGSM(), toy_mlp(0), x, y, [])
