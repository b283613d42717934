"""Declared attack parameters: every attack declares each argument with a type and range, the
constructor and ``check_attack_params`` refuse anything else, and ``run`` counts the work
the attack itself did."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from trustbench.attacks import PGD, REGISTRY, Attack, AttackContext, Param, check_attack_params
from trustbench.attacks.base import COMMON_PARAMS, MAX_SEED
from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.testing.toy import toy_blobs, toy_mlp

NAMES = sorted(REGISTRY)
BOX = Domain(lower=0.0, upper=1.0)


@pytest.mark.parametrize("name", NAMES)
def test_every_constructor_argument_is_declared(name: str) -> None:
    cls = REGISTRY[name]
    args = [k for k in inspect.signature(cls.__init__).parameters if k != "self"]
    assert sorted(cls.param_specs()) == sorted(args)
    assert not set(cls.params) & set(COMMON_PARAMS)  # eps, norm, seed are the scan's
    for key, default in cls.param_defaults().items():  # the defaults are in range
        assert cls.param_specs()[key].accepts(default), (key, default)
    cls(**cls.test_params())  # and so are the cheap test parameters


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_number_refuses_booleans_strings_and_nan(name: str) -> None:
    cls = REGISTRY[name]
    for key, spec in cls.param_specs().items():
        for bad in (True, "1", float("nan"), [1], {"a": 1}):
            if spec.kind is bool and isinstance(bad, bool):
                continue
            with pytest.raises(InputError, match=rf"{name}\.{key}: expected"):
                cls(**{key: bad})


@pytest.mark.parametrize(("spec", "good", "bad"), [
    (Param(int, low=1, high=10), [1, 10, np.int64(3)], [0, 11, True, 2.0, "3", None, 1.5]),
    (Param(float, low=0.0, low_open=True), [1e-9, 1, 1e300, np.float32(0.5)],
     [0, -1.0, float("inf"), float("nan"), 10**400, False, "0.1"]),
    (Param(float, low=0.0, high=1.0, optional=True), [None, 0, 1.0], [1.5, -0.1, "x"]),
    (Param(bool), [True, False, np.bool_(True)], [0, 1, "true", None]),
    (Param(str, choices=("ce", "dlr")), ["ce", "dlr"], ["CE", "", 1, None]),
    (COMMON_PARAMS["seed"], [0, MAX_SEED], [-1, MAX_SEED + 1, 2**64, 1.0]),
])
def test_param_accepts_exactly_its_type_and_range(spec: Param, good: list, bad: list) -> None:
    assert all(spec.accepts(v) for v in good), [v for v in good if not spec.accepts(v)]
    assert not any(spec.accepts(v) for v in bad), [v for v in bad if spec.accepts(v)]


def test_the_constructor_refuses_what_faked_robustness() -> None:
    for steps in (0, -1):
        with pytest.raises(InputError, match=r"pgd\.steps: expected an integer in \[1, 10000\]"):
            PGD(steps=steps)
    with pytest.raises(InputError, match=r"use e\.g\. 20 \(the default\)"):
        PGD(steps=True)
    assert PGD(steps=1).steps == 1


def test_subclasses_are_checked_once_after_the_outermost_constructor() -> None:
    calls: list[str] = []

    class Wide(PGD):
        name = "wide"

        def __init__(self, *, eps: float = 0.1, norm: str = "linf", steps: int = 20,
                     step_size: float | None = None, random_start: bool = True,
                     restarts: int = 1, early_stop: bool = True, seed: int = 0) -> None:
            super().__init__(eps=eps, norm=norm, steps=steps, step_size=step_size,  # type: ignore[arg-type]
                             random_start=random_start, restarts=restarts,
                             early_stop=early_stop, seed=seed)
            calls.append("init done")

        def _validate_params(self) -> None:
            calls.append("checked")
            super()._validate_params()

    Wide(steps=3)
    assert calls == ["init done", "checked"]  # not also by PGD's constructor, mid-way
    with pytest.raises(InputError, match=r"wide\.steps"):
        Wide(steps=0)


def test_attributes_changed_after_construction_are_checked_by_run() -> None:
    attack = PGD(steps=3)
    attack.steps = 0
    with pytest.raises(InputError, match=r"pgd\.steps"):
        attack.run(toy_mlp(0), *toy_blobs(8))


@pytest.mark.parametrize(("params", "match"), [
    ({"pgd": {"steps": 0}}, r"^f\.pgd\.steps: expected an integer in \[1, 10000\], got 0 "),
    ({"pgd": {"steps": -5}}, r"^f\.pgd\.steps: .*got -5"),
    ({"pgd": {"steps": True}}, r"^f\.pgd\.steps: .*got true"),
    ({"pgd": {"steps": "20"}}, r"^f\.pgd\.steps: .*got \"20\""),
    ({"pgd": {"steps": 2.5}}, r"^f\.pgd\.steps: .*got 2\.5"),
    ({"pgd": {"steps": 20_001}}, r"^f\.pgd\.steps: .*got 20001"),
    ({"pgd": {"step_size": 0}}, r"^f\.pgd\.step_size: expected a finite number > 0 or null"),
    ({"pgd": {"step_size": float("inf")}}, r"^f\.pgd\.step_size"),
    ({"pgd": {"random_start": 0}}, r"^f\.pgd\.random_start: expected true or false"),
    ({"pgd": {"restarts": 0}}, r"^f\.pgd\.restarts"),
    ({"pgd": {"stepz": 5}}, r"^f\.pgd\.stepz: pgd has no parameter \"stepz\" -- use one of: "
     r"early_stop, random_start, restarts, step_size, steps$"),
    ({"pgd": {"eps": 0.5}}, r"^f\.pgd\.eps: eps is set by the scan"),
    ({"pgd": {"norm": "l2"}}, r"^f\.pgd\.norm: norm is set by the scan"),
    ({"square": {"seed": 1}}, r"^f\.square\.seed: seed is set by the scan"),
    ({"fgsm": {"steps": 3}}, r"^f\.fgsm\.steps: fgsm has no parameter .* takes no parameters"),
    ({"square": {"n_queries": 0}}, r"^f\.square\.n_queries"),
    ({"square": {"p_init": 0.0}}, r"^f\.square\.p_init: expected a finite number in \(0, 1\]"),
    ({"apgd-ce": {"loss": "hinge"}}, r"^f\.apgd-ce\.loss: expected one of 'ce', 'dlr'"),
    ({"apgd-t": {"rho": 0}}, r"^f\.apgd-t\.rho"),
    ({"standard": {"n_target_classes": 0}}, r"^f\.standard\.n_target_classes"),
    ({"nope": {}}, r"^f\.nope: unknown attack \"nope\" -- use one of: apgd-ce, "),
    ({"pgd": [1]}, r"^f\.pgd: expected a mapping of parameter names"),
    ([1], r"^f: expected a mapping of attack names"),
])
def test_check_attack_params_refuses_by_name(params: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        check_attack_params(params, field="f")


def test_check_attack_params_keeps_valid_ones() -> None:
    given_ = {"pgd": {"steps": 1, "step_size": None, "early_stop": False},
              "square": {"p_init": 1, "n_queries": 10}, "fgsm": {}}
    assert check_attack_params(given_) == given_
    assert check_attack_params(None) == {}


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
                    st.lists(st.integers(), max_size=2))


@settings(max_examples=50, deadline=None)
@given(name=st.sampled_from(NAMES), data=st.data(), value=_VALUES)
def test_any_value_is_either_valid_or_an_input_error(name: str, data: st.DataObject,
                                                     value: object) -> None:
    cls = REGISTRY[name]
    key = data.draw(st.sampled_from(sorted(cls.params) or ["steps"]))
    try:
        checked = check_attack_params({name: {key: value}})
    except InputError as e:
        assert f"attack_params.{name}.{key}" in str(e)
        return
    assert cls.param_specs()[key].accepts(value)
    cls(**checked[name])  # whatever passes the check also builds the attack


class _Idle(Attack):
    """Returns the points unchanged without asking the model anything."""

    name = "idle"

    def __init__(self, *, eps: float = 0.1, norm: str = "linf", seed: int = 0) -> None:
        self.eps, self.norm, self.seed = eps, norm, seed  # type: ignore[assignment]

    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x


class _Partial(_Idle):
    """Evaluates only the first point of each batch."""

    name = "partial"

    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        ctx.scores(x[:1])
        return x


def test_run_counts_the_attacks_own_work() -> None:
    x, y = toy_blobs(60, seed=2)
    model = toy_mlp(0)
    n_correct = int((model.scores(x).argmax(1) == y).sum())
    idle = _Idle().run(model, x, y, domain=BOX)
    robust = int((~idle.fooled).sum())
    assert robust == n_correct > 0
    assert idle.queries == 2 * len(x) - (len(x) - n_correct)  # clean pass + re-check only
    assert (idle.attack_queries, idle.attack_grad_evals, idle.attack_work) == (0, 0, 0)
    assert idle.robust_unattacked == robust  # nobody tried to fool them
    partial = _Partial().run(model, x, y, domain=BOX, batch_size=10)
    n_batches = -(-n_correct // 10)
    assert partial.attack_queries == n_batches
    assert partial.robust_unattacked == robust - n_batches  # the lower bound, per batch
    pgd = PGD(eps=0.05, steps=4).run(model, x, y, domain=BOX)
    assert pgd.attack_grad_evals == pgd.grad_evals > 0
    assert pgd.attack_queries == 0  # its last iterate is checked by run's re-check
    assert pgd.robust_unattacked == 0


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_attack_works_on_every_point_it_counts_robust(name: str) -> None:
    x, y = toy_blobs(40, seed=3)
    cls = REGISTRY[name]
    res = cls(**{"eps": 0.02, **cls.test_params()}).run(toy_mlp(0), x, y, domain=BOX,
                                                         batch_size=16)
    assert int((~res.fooled).sum()) > 0  # a small eps leaves points robust to check
    assert res.attack_work is not None and res.attack_work >= int((~res.fooled).sum())
    assert res.robust_unattacked == 0
