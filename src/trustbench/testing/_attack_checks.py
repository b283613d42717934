"""Conformance checks of an attack class.

Each takes the class, builds it with ``cls.test_params()`` (cheap settings) for every norm
it supports, and runs it on the toy models of :mod:`trustbench.testing.toy`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch

from trustbench.attacks.base import COMMON_PARAMS, Attack, AttackResult
from trustbench.domain import Domain, Norm
from trustbench.errors import InputError
from trustbench.models import CallableModel, Model, SklearnModel
from trustbench.testing._common import Check, check_docstring_has_references, expect, not_keyword_only
from trustbench.testing.toy import toy_blobs, toy_digits, toy_digits_mlp, toy_mlp

__all__ = ["ATTACK_CHECKS", "EPS"]

#: The eps of the checks per norm, on inputs in [0, 1].
EPS: dict[str, float] = {"linf": 0.1, "l2": 0.3}
BOX = Domain(lower=0.0, upper=1.0)


def _make(cls: type[Attack], norm: Norm, **changes: Any) -> Attack:
    return cls(**{"eps": EPS[norm], "norm": norm, "seed": 0, **cls.test_params(), **changes})


def _blobs() -> tuple[torch.Tensor, torch.Tensor]:
    return toy_blobs(64, seed=7)  # (64, 8), (64,)


def _accuracy(model: Model, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model.scores(x).argmax(1) == y).float().mean())


def _sizes(x_adv: torch.Tensor, x: torch.Tensor, norm: Norm) -> torch.Tensor:
    d = (x_adv - x).flatten(1)  # (N, D)
    return d.abs().amax(1) if norm == "linf" else d.norm(dim=1)


def _expect_feasible(res: AttackResult, x: torch.Tensor, norm: Norm, eps: float,
                     where: str) -> None:
    expect(res.x_adv.shape == x.shape and res.x_adv.dtype == x.dtype,
           f"{where}: x_adv is {tuple(res.x_adv.shape)} {res.x_adv.dtype}, expected "
           f"{tuple(x.shape)} {x.dtype}")
    worst = float(_sizes(res.x_adv, x, norm).max())
    expect(worst <= eps + 1e-5, f"{where}: a perturbation of {norm} size {worst:.6g} exceeds "
           f"eps={eps}")
    lo, hi = float(res.x_adv.min()), float(res.x_adv.max())
    expect(lo >= 0.0 and hi <= 1.0, f"{where}: x_adv spans [{lo:.6g}, {hi:.6g}], outside the "
           "domain [0, 1]")


def check_attack_is_well_formed(cls: type[Attack]) -> None:
    """Check that the class has a ``name`` and an ``__init__`` that only stores its arguments.

    ``__init__`` takes only keyword arguments, among them ``eps``, ``norm`` and ``seed``,
    and only stores them: ``get_params`` returns the defaults updated by ``test_params()``,
    ``clone`` and ``repr`` round-trip.
    """
    expect(cls.name, f"{cls.__name__} sets no name")
    positional = not_keyword_only(cls.__init__)
    expect(not positional, f"{cls.name}: __init__ arguments {positional} are not keyword-only "
           "(write `def __init__(self, *, ...)`)")
    params = cls.param_defaults()
    expect({"eps", "norm", "seed"} <= set(params),
           f"{cls.name}: __init__ lacks {sorted({'eps', 'norm', 'seed'} - set(params))}")
    extra = set(cls.test_params()) - set(params)
    expect(not extra, f"{cls.name}: test_params() sets {sorted(extra)}, which __init__ lacks")
    attack = cls(**cls.test_params())
    expect(attack.get_params() == params | cls.test_params(),
           f"{cls.name}: get_params() is {attack.get_params()}, expected the defaults with "
           f"test_params() {params | cls.test_params()}: __init__ must only store its arguments")
    twin = attack.clone(eps=0.25)
    expect(type(twin) is cls and twin.get_params() == attack.get_params() | {"eps": 0.25},
           f"{cls.name}: clone(eps=0.25) gave {twin!r}")
    expect(repr(attack).startswith(f"{cls.__name__}("), f"{cls.name}: repr is {attack!r}")


def check_attack_declares_every_parameter(cls: type[Attack]) -> None:
    """Every ``__init__`` argument besides ``eps``, ``norm`` and ``seed`` is declared in ``params``.

    A config can then set it and it is range-checked; the defaults and ``test_params()``
    are in range.
    """
    args = sorted(cls.param_defaults())
    expect(sorted(cls.param_specs()) == args,
           f"{cls.name}: params declares {sorted(cls.params)} but __init__ takes {args} "
           "(declare each argument except eps, norm and seed as a Param)")
    common = sorted(set(cls.params) & set(COMMON_PARAMS))
    expect(not common, f"{cls.name}: params redeclares {common}, which every attack shares")
    specs = cls.param_specs()
    for key, default in cls.param_defaults().items():
        expect(specs[key].accepts(default),
               f"{cls.name}: the default {key}={default!r} is not {specs[key].describe()}")
    for key, value in cls.test_params().items():
        expect(specs[key].accepts(value), f"{cls.name}: test_params() {key}={value!r} is not "
               f"{specs[key].describe()}")


def check_stays_inside_eps_and_bounds(cls: type[Attack]) -> None:
    """For each supported norm, results on the toy MLP stay inside the eps-ball and the bounds.

    Every ``x_adv`` has the input's shape and dtype and lies in the eps-ball and in [0, 1];
    ``fooled`` is exactly where the model misclassifies ``x_adv``; points not fooled are
    returned as their clean input.
    """
    x, y = _blobs()
    model = toy_mlp(0)
    for norm in cls.norms:
        res = _make(cls, norm).run(model, x, y, domain=BOX)
        _expect_feasible(res, x, norm, EPS[norm], f"{cls.name} ({norm})")
        expect(torch.equal(res.fooled, model.scores(res.x_adv).argmax(1) != y),
               f"{cls.name} ({norm}): fooled is not where the model misclassifies x_adv")
        robust = ~res.fooled
        expect(torch.equal(res.x_adv[robust], x[robust]),
               f"{cls.name} ({norm}): points not fooled are not returned as their clean input")


def check_lowers_toy_accuracy(cls: type[Attack]) -> None:
    """For each supported norm, the attack lowers the toy MLP's accuracy (the attack attacks).

    At the checks' eps, robust accuracy on the toy MLP is at least 0.3 below its clean
    accuracy.
    """
    x, y = _blobs()
    model = toy_mlp(0)
    clean = _accuracy(model, x, y)
    for norm in cls.norms:
        robust = _make(cls, norm).run(model, x, y, domain=BOX).robust_accuracy
        expect(robust <= clean - 0.3, f"{cls.name} ({norm}, eps={EPS[norm]}): robust accuracy "
               f"{robust:.3f} is not 0.3 below the clean {clean:.3f}")


def check_keeps_image_shape_and_budget(cls: type[Attack]) -> None:
    """For each supported norm, results on images keep their shape and budget.

    On 40 digits (N, 1, 8, 8) and the toy digits MLP, results are feasible as in
    :func:`check_stays_inside_eps_and_bounds` and accuracy drops.
    """
    x, y = toy_digits()
    x, y = x[:40], y[:40]  # (40, 1, 8, 8)
    model = toy_digits_mlp(0)
    clean = _accuracy(model, x, y)
    for norm in cls.norms:
        res = _make(cls, norm).run(model, x, y, domain=BOX)
        _expect_feasible(res, x, norm, EPS[norm], f"{cls.name} ({norm}, images)")
        expect(res.robust_accuracy < clean, f"{cls.name} ({norm}, images): robust accuracy "
               f"{res.robust_accuracy:.3f} is not below the clean {clean:.3f}")


def check_leaves_input_and_model_untouched(cls: type[Attack]) -> None:
    """For each supported norm, the run leaves the input and the model untouched.

    On a toy MLP with BatchNorm in ``train()`` mode: after the run every module is still in
    training mode, the state dict (running statistics too) is unchanged, no parameter has a
    gradient, and ``x`` is unchanged.
    """
    x, y = _blobs()
    for norm in cls.norms:
        model = toy_mlp(0, batchnorm=True)
        before = {k: v.clone() for k, v in model.module.state_dict().items()}
        x_before = x.clone()
        _make(cls, norm).run(model, x, y, domain=BOX)
        where = f"{cls.name} ({norm})"
        expect(all(m.training for m in model.module.modules()),
               f"{where}: the model's training mode was switched off")
        after = model.module.state_dict()
        changed = [k for k in before if not torch.equal(before[k], after[k])]
        expect(not changed, f"{where}: the model's state changed: {changed}")
        expect(all(p.grad is None for p in model.module.parameters()),
               f"{where}: parameters were left with gradients")
        expect(torch.equal(x, x_before), f"{where}: the input x was modified")


def check_same_seed_same_result(cls: type[Attack]) -> None:
    """For each supported norm, two runs with ``seed=3`` give the same result.

    They give bit-identical ``x_adv`` and ``fooled`` and the same queries and gradient
    evaluations (no global RNG, no clock).
    """
    x, y = _blobs()
    model = toy_mlp(0)
    for norm in cls.norms:
        a = _make(cls, norm, seed=3).run(model, x, y, domain=BOX)
        b = _make(cls, norm, seed=3).run(model, x, y, domain=BOX)
        expect(torch.equal(a.x_adv, b.x_adv) and torch.equal(a.fooled, b.fooled),
               f"{cls.name} ({norm}): two runs with seed=3 differ (draw randomness only from "
               "ctx.streams or ctx.generator)")
        expect((a.queries, a.grad_evals) == (b.queries, b.grad_evals),
               f"{cls.name} ({norm}): two runs with seed=3 cost differently: "
               f"{(a.queries, a.grad_evals)} and {(b.queries, b.grad_evals)}")


def check_same_result_at_any_batch_size(cls: type[Attack]) -> None:
    """For each supported norm, the result does not depend on the batch size.

    On 48 toy rows and on 24 digits: a run in one batch and a run in batches of 20 and 10
    (the last one shorter) give the same ``fooled`` and ``x_adv`` within 1e-6, with some
    points fooled and some not. Each point's randomness must come from ``ctx.streams`` keyed
    by ``ctx.point_ids``; sharding relies on this.
    """
    x_rows, y_rows = toy_blobs(48, seed=4)  # (48, 8)
    x_img, y_img = toy_digits()
    tasks = {"rows": (x_rows, y_rows, toy_mlp(0), 20),
             "images": (x_img[:24], y_img[:24], toy_digits_mlp(0), 10)}  # (24, 1, 8, 8)
    for norm in cls.norms:
        attack = _make(cls, norm, eps=EPS[norm] * 0.6)
        for data, (x, y, model, batch) in tasks.items():
            where = f"{cls.name} ({norm}, {data})"
            whole = attack.run(model, x, y, domain=BOX, batch_size=len(x))
            pieces = attack.run(model, x, y, domain=BOX, batch_size=batch)
            n_fooled = int(whole.fooled.sum())
            expect(0 < n_fooled < len(x), f"{where}: {n_fooled} of {len(x)} points fooled; the "
                   "check needs some fooled and some robust points")
            expect(torch.equal(whole.fooled, pieces.fooled),
                   f"{where}: batches of {batch} fool other points than one batch")
            gap = float((whole.x_adv - pieces.x_adv).abs().max())
            expect(gap <= 1e-6, f"{where}: x_adv in batches of {batch} differs from one batch "
                   f"by {gap:.3g}")


def check_keeps_immutable_and_integer_features(cls: type[Attack]) -> None:
    """For each supported norm, immutable features never change and integer ones stay whole.

    With a large eps on rows whose features 0 and 3 are immutable and 1 and 5
    integer-valued in [0, 3]: immutable features never change, integer ones stay whole,
    results stay in the domain and the eps-ball, and more than half of the points are still
    fooled through the other features.
    """
    x, y = _blobs()
    x = x.clone()
    x[:, [1, 5]] = x[:, [1, 5]].round()  # integer-valued features
    mutable = torch.ones(8, dtype=torch.bool)
    mutable[[0, 3]] = False
    integer = torch.zeros(8, dtype=torch.bool)
    integer[[1, 5]] = True
    upper = torch.ones(8)
    upper[[1, 5]] = 3.0
    domain = Domain(lower=0.0, upper=upper, mutable=mutable, integer=integer)
    for norm in cls.norms:
        eps = {"linf": 1.0, "l2": 2.0}[norm]  # large enough that integer features may move
        res = _make(cls, norm, eps=eps).run(toy_mlp(0), x, y, domain=domain)
        where = f"{cls.name} ({norm}, eps={eps})"
        expect(torch.equal(res.x_adv[:, ~mutable], x[:, ~mutable]),
               f"{where}: immutable features changed")
        expect(torch.equal(res.x_adv[:, integer], res.x_adv[:, integer].round()),
               f"{where}: integer features became fractional")
        expect(domain.contains(res.x_adv, atol=0.0), f"{where}: x_adv left the domain")
        worst = float(_sizes(res.x_adv, x, norm).max())
        expect(worst <= eps + 1e-5, f"{where}: a perturbation of size {worst:.6g} exceeds eps")
        rate = float(res.fooled.float().mean())
        expect(rate > 0.5, f"{where}: only {rate:.2f} of the points fooled through the mutable "
               "features")


@lru_cache(maxsize=1)
def _logistic_regression() -> Any:
    from sklearn.linear_model import LogisticRegression

    x, y = toy_blobs(256, seed=11)
    return LogisticRegression(C=10.0, max_iter=500).fit(x.numpy(), y.numpy())


def _black_box_models() -> dict[str, Model]:
    mlp = toy_mlp(1)

    def probabilities(a: np.ndarray) -> np.ndarray:
        return torch.softmax(mlp.scores(torch.from_numpy(a)), 1).numpy()

    return {"sklearn": SklearnModel(_logistic_regression()),
            "callable": CallableModel(probabilities)}


def check_black_box_models(cls: type[Attack]) -> None:
    """On black-box models, an attack that needs gradients refuses and any other works.

    On a scikit-learn model and a plain probability function (L∞, eps 0.15): an attack
    that needs gradients refuses with an InputError saying "black-box"; any other stays
    feasible, spends no gradient evaluations and lowers accuracy by at least 0.3.
    """
    x, y = _blobs()
    for kind, model in _black_box_models().items():
        attack = _make(cls, "linf", eps=0.15) if "linf" in cls.norms else _make(cls, cls.norms[0])
        where = f"{cls.name} ({kind} model)"
        if attack.requires_gradients:
            try:
                attack.run(model, x, y, domain=BOX)
            except InputError as e:
                expect("black-box" in str(e), f"{where}: the InputError does not say "
                       f"black-box: {e}")
                continue
            raise AssertionError(f"{where}: requires_gradients is set but the run on a "
                                 "black-box model did not raise an InputError")
        res = attack.run(model, x, y, domain=BOX)
        _expect_feasible(res, x, attack.norm, float(attack.eps), where)
        expect(res.grad_evals == 0, f"{where}: {res.grad_evals} gradient evaluations")
        clean = _accuracy(model, x, y)
        expect(res.robust_accuracy <= clean - 0.3, f"{where}: robust accuracy "
               f"{res.robust_accuracy:.3f} is not 0.3 below the clean {clean:.3f}")


#: Every attack check, in the order :func:`~trustbench.testing.check_attack` runs them.
ATTACK_CHECKS: tuple[Check, ...] = (
    check_attack_is_well_formed,
    check_attack_declares_every_parameter,
    check_docstring_has_references,
    check_stays_inside_eps_and_bounds,
    check_lowers_toy_accuracy,
    check_keeps_image_shape_and_budget,
    check_leaves_input_and_model_untouched,
    check_same_seed_same_result,
    check_same_result_at_any_batch_size,
    check_keeps_immutable_and_integer_features,
    check_black_box_models,
)
