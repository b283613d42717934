"""``Attack.run`` (and its alias ``__call__``) is final: a subclass that defines it is refused
when the class is made, with a TypeError naming the class and the method."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from trustbench.attacks import FGSM, Attack, AttackContext


def test_run_and_call_are_marked_final_for_type_checkers() -> None:
    assert getattr(Attack.run, "__final__", False) is True
    assert Attack.__call__ is Attack.run


@pytest.mark.parametrize("method", ["run", "__call__"])
def test_a_subclass_that_overrides_the_template_method_is_refused(method: str) -> None:
    def override(self: Attack, *args: Any, **kwargs: Any) -> Any:
        return None

    with pytest.raises(TypeError, match=rf"^MyFGSM overrides {method}\(\), which is final in "
                                        r"Attack: implement perturb\(\) instead"):
        type("MyFGSM", (FGSM,), {method: override})


def test_an_override_in_a_class_body_is_refused_and_perturb_alone_is_allowed() -> None:
    with pytest.raises(TypeError, match=r"Skipper overrides run\(\)"):

        class Skipper(FGSM):
            def run(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
                return None

    class Still(Attack):  # the one method an attack author writes
        name = "still"

        def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return x

    assert "run" not in Still.__dict__ and Still.run is Attack.run
