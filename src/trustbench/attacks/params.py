"""Attack parameters: how an attack declares the type and range of each one.

Every attack lists its own parameters in :attr:`~trustbench.attacks.base.Attack.params` as
:class:`Param` values; :data:`COMMON_PARAMS` declares the ones every attack takes. The
attack's constructor and a scan's ``attack_params`` are both checked with
:func:`check_param`, so a wrong type or an out-of-range value is refused before any work,
with a message that names the parameter, the range and a fix.
"""

from __future__ import annotations

import inspect
import json
import math
import numbers
from dataclasses import dataclass

import numpy as np

from trustbench.errors import InputError
from trustbench.options import MAX_SEED

__all__ = ["COMMON_PARAMS", "MAX_SEED", "Param", "ParamValue", "check_param"]

#: The value of one attack parameter as a config file or JSON gives it.
ParamValue = bool | int | float | str | None



def _show(value: object) -> str:
    """Show a value as the user wrote it (JSON/YAML spelling: true, null, "1"), cut short."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Param:
    """Type and range of one attack parameter, declared once in :attr:`Attack.params`.

    Every attack's constructor and every user-given ``attack_params`` entry are checked
    against it: booleans are not integers, strings are not numbers, numbers are finite.

    Parameters
    ----------
    kind
        ``int``, ``float`` (an integer is accepted too), ``bool`` or ``str``.
    low, high
        Inclusive bounds of a number; ``None``: unbounded on that side.
    low_open
        ``low`` itself is excluded (e.g. a step size must be > 0).
    choices
        The allowed values of a ``str`` parameter.
    optional
        ``None`` is allowed too (it selects a documented default, e.g. PGD's step size).
    """

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False

    def describe(self) -> str:
        """Describe what the parameter accepts, e.g. ``an integer in [1, 10000]``."""
        if self.kind is bool:
            text = "true or false"
        elif self.kind is str:
            text = ("one of " + ", ".join(repr(c) for c in self.choices) if self.choices
                    else "a string")
        else:
            text = "an integer" if self.kind is int else "a finite number"
            low, high = self._bound(self.low), self._bound(self.high)
            if self.low is not None and self.high is not None:
                text += f" in {'(' if self.low_open else '['}{low}, {high}]"
            elif self.low is not None:
                text += f" {'>' if self.low_open else '>='} {low}"
            elif self.high is not None:
                text += f" <= {high}"
        return text + (" or null" if self.optional else "")

    def _bound(self, v: float | None) -> str:
        if v is None:
            return ""
        return str(int(v)) if self.kind is int else f"{v:g}"

    def accepts(self, value: object) -> bool:
        """Whether ``value`` has the declared type and lies in the declared range.

        Examples
        --------
        >>> steps = Param(int, low=1, high=10_000)
        >>> steps.accepts(50), steps.accepts(0), steps.accepts(True), steps.accepts(2.0)
        (True, False, False, False)
        >>> step_size = Param(float, low=0.0, low_open=True, optional=True)
        >>> step_size.accepts(1), step_size.accepts(0.0), step_size.accepts(None)
        (True, False, True)
        >>> step_size.accepts(float("nan"))
        False
        """
        if value is None:
            return self.optional
        if self.kind is bool:
            return isinstance(value, bool | np.bool_)
        if self.kind is str:
            return isinstance(value, str) and (not self.choices or value in self.choices)
        if isinstance(value, bool | np.bool_):  # True is an int to Python, never here
            return False
        if not isinstance(value, numbers.Integral if self.kind is int else numbers.Real):
            return False
        number: float = value  # type: ignore[assignment]  # ints compare exactly, any size
        if self.kind is float:
            try:
                number = float(value)  # type: ignore[arg-type]
            except OverflowError:  # an integer beyond every float
                return False
            if not math.isfinite(number):
                return False
        if self.low is not None and (number <= self.low if self.low_open else number < self.low):
            return False
        return self.high is None or number <= self.high


#: Parameters every attack takes. A scan sets them from its own settings (eps, norm,
#: seed), so a scan's ``attack_params`` may not override them.
COMMON_PARAMS: dict[str, Param] = {
    "eps": Param(float, low=0.0),
    "norm": Param(str, choices=("linf", "l2")),
    "seed": Param(int, low=0, high=MAX_SEED),
}


def check_param(owner: str, name: str, value: object, spec: Param, *,
                default: object = inspect.Parameter.empty) -> None:
    """Raise an :class:`InputError` naming ``owner.name`` unless ``spec`` accepts ``value``.

    ``owner`` is what the message names: an attack (``pgd``) or a config field
    (``scan.attack_params.pgd``); ``default`` goes into the suggested fix.

    Examples
    --------
    >>> check_param("pgd", "steps", 0, Param(int, low=1, high=10_000), default=20)
    Traceback (most recent call last):
    ...
    trustbench.errors.InputError: pgd.steps: expected an integer in [1, 10000], got 0 ...
    """
    if spec.accepts(value):
        return
    fix = (f"use {spec.describe()}" if default is inspect.Parameter.empty
           else f"use e.g. {_show(default)} (the default)")
    raise InputError(f"{owner}.{name}: expected {spec.describe()}, got {_show(value)}", fix=fix)
