"""``Shift.apply`` is final: a subclass that defines it is refused when the class is made,
with a TypeError naming the class and the method."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from trustbench.shifts import GaussianNoise, Shift


def test_apply_is_marked_final_for_type_checkers() -> None:
    assert getattr(Shift.apply, "__final__", False) is True


def test_a_subclass_that_overrides_apply_is_refused() -> None:
    with pytest.raises(TypeError, match=r"\.LoudNoise overrides apply\(\), which is final in "
                                        r"Shift: implement _shift\(\) instead"):

        class LoudNoise(GaussianNoise):
            def apply(self, x: Any, severity: int, rng: Any, **kw: Any) -> Any:  # type: ignore[misc]
                return x * 2


def test_a_subclass_of_a_subclass_is_checked_too_and_shift_alone_is_allowed() -> None:
    class Quiet(GaussianNoise):  # overrides only the hook
        def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
            return z

    assert Quiet.apply is Shift.apply
    with pytest.raises(TypeError, match=r"Louder overrides apply\(\)"):
        type("Louder", (Quiet,), {"apply": lambda self, *a, **k: None})
