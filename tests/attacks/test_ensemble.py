"""The standard ensemble: stages in order, each on the survivors, counts that add up."""

from __future__ import annotations

import logging

import pytest
import torch
from sklearn.linear_model import LogisticRegression

from trustbench.attacks import APGD, APGDT, AttackContext, Square, Standard
from trustbench.domain import Domain
from trustbench.models import SklearnModel
from trustbench.testing.toy import (
    nearest_centroid_distance,
    toy_blobs,
    toy_linear_model,
    toy_mlp,
)

BOX = Domain(lower=0.0, upper=1.0)
PARAMS = {"eps": 0.08, "steps": 6, "n_target_classes": 3, "n_queries": 40, "seed": 5}


def test_stages_run_in_order_on_survivors_and_their_counts_add_up() -> None:
    x, y = toy_blobs(80, seed=8)
    model = toy_mlp(0)
    keep = model.scores(x).argmax(1) == y
    x, y = x[keep], y[keep]  # what the base class hands to perturb
    ensemble = Standard(**PARAMS)
    ctx = AttackContext(model, BOX, torch.Generator().manual_seed(5), norm="linf", eps=0.08)
    out = ensemble.perturb(ctx, x, y)

    # The same stages by hand, sharing one context in turn; each stage sees the survivors'
    # own random streams (their indices in x), as the ensemble narrows its context.
    by_hand = AttackContext(model, BOX, torch.Generator().manual_seed(5), norm="linf", eps=0.08)
    apgd, apgdt, square = ensemble.stages()
    assert isinstance(apgd, APGD) and isinstance(apgdt, APGDT) and isinstance(square, Square)
    assert (apgd.loss, apgd.restarts, apgdt.n_target_classes) == ("ce", 1, 3)
    assert square.rescale_schedule is False  # as AutoAttack's standard version
    x1 = by_hand.project(apgd.perturb(by_hand, x, y), x)
    robust1 = by_hand.scores(x1).argmax(1) == y
    evals_ce = by_hand.grad_evals
    k = len(y) - int(robust1.sum())
    assert 0 < k < len(y)  # APGD-CE fooled some points, not all
    with by_hand.narrow(torch.nonzero(robust1).flatten()):
        x2 = by_hand.project(apgdt.perturb(by_hand, x[robust1], y[robust1]), x[robust1])
    robust2 = robust1.clone()
    robust2[robust1] = by_hand.scores(x2).argmax(1) == y[robust1]
    # APGD-T worked on the N - k survivors only: at most steps * targets gradients each
    assert 0 < by_hand.grad_evals - evals_ce <= (len(y) - k) * 6 * 3
    with by_hand.narrow(torch.nonzero(robust2).flatten()):
        x3 = square.perturb(by_hand, x[robust2], y[robust2])
    assert (ctx.grad_evals, ctx.queries) == (by_hand.grad_evals, by_hand.queries)
    assert torch.equal(out[robust2], by_hand.project(x3, x[robust2]))
    assert torch.equal(out[~robust1], x1[~robust1])


def test_stronger_than_its_first_stage() -> None:
    # On the nearest-centroid model APGD-CE misses some points within reach (its loss
    # peaks short of the nearest boundary); the targeted stage finds all of them.
    x, y = toy_blobs(200, seed=3)
    model = toy_linear_model()
    full = Standard(**{**PARAMS, "eps": 0.07, "steps": 30}).run(model, x, y)
    first = APGD(eps=0.07, steps=30, seed=5).run(model, x, y)
    assert (full.fooled | ~first.fooled).all()  # everything APGD-CE fooled stays fooled
    dist = nearest_centroid_distance(x, y, norm="linf")
    assert not first.fooled[dist < 0.95 * 0.07].all()
    assert full.fooled[dist < 0.95 * 0.07].all() and not full.fooled[dist > 0.07].any()


def test_when_the_first_stage_fools_everything_the_others_cost_nothing() -> None:
    x, y = toy_blobs(40, seed=9)
    model = toy_mlp(0)
    full = Standard(**{**PARAMS, "eps": 1.0}).run(model, x, y, domain=BOX)
    first = APGD(eps=1.0, steps=6, seed=5).run(model, x, y, domain=BOX)
    assert full.robust_accuracy == first.robust_accuracy == 0.0
    assert full.grad_evals == first.grad_evals
    n_correct = int(full.clean_correct.sum())
    assert full.queries == first.queries + n_correct  # only the check after APGD-CE


def test_black_box_model_runs_square_only_and_says_so(caplog) -> None:
    xt, yt = toy_blobs(300, seed=10)
    model = SklearnModel(LogisticRegression(C=10.0, max_iter=500).fit(xt.numpy(), yt.numpy()))
    x, y = toy_blobs(60, seed=11)
    with caplog.at_level(logging.WARNING, logger="trustbench.attacks.ensemble"):
        res = Standard(**{**PARAMS, "eps": 0.1}).run(model, x, y, domain=BOX)
    assert "only the Square stage runs" in caplog.text
    assert res.grad_evals == 0
    alone = Square(eps=0.1, n_queries=40, rescale_schedule=False, seed=5).run(model, x, y,
                                                                             domain=BOX)
    assert torch.equal(res.x_adv, alone.x_adv) and res.queries == alone.queries
    assert res.robust_accuracy < res.clean_correct.float().mean() - 0.2


def test_apgd_t_is_skipped_with_fewer_than_four_classes(caplog) -> None:
    x, y = toy_blobs(60, n_classes=3, seed=12)
    model = toy_mlp(0, n_classes=3)
    with caplog.at_level(logging.INFO, logger="trustbench.attacks.ensemble"):
        res = Standard(**{**PARAMS, "eps": 0.15}).run(model, x, y, domain=BOX)
    assert "skipping apgd-t" in caplog.text
    assert res.robust_accuracy < res.clean_correct.float().mean()


def test_clone_and_params() -> None:
    attack = Standard(**PARAMS)
    twin = attack.clone(eps=0.3)
    assert twin.get_params() == {**PARAMS, "eps": 0.3, "norm": "linf", "version": "auto"}
    assert all(stage.eps == 0.3 for stage in twin.stages())
    with pytest.raises(ValueError, match="steps"):
        Standard(steps=0).run(toy_mlp(0), *toy_blobs(8))


def test_the_version_for_random_models_runs_apgd_ce_then_apgd_dlr() -> None:
    """AutoAttack's "rand" version; "auto" picks it for a random model's expectation."""
    rand = Standard(**PARAMS, version="rand").stages()
    assert [(s.name, getattr(s, "loss", None)) for s in rand] == [("apgd-ce", "ce"),
                                                                 ("apgd-ce", "dlr")]
    assert [s.name for s in Standard(**PARAMS).stages()] == ["apgd-ce", "apgd-t", "square"]
    assert [s.name for s in Standard(**PARAMS).stages(rand=True)] == ["apgd-ce", "apgd-ce"]
