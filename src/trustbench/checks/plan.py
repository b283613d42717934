"""The plan a scan runs: which steps, which attacks and shifts, which points — a plain value.

:func:`trustbench.plan_scan` makes it from a model, data and a :class:`ScanConfig`;
:func:`trustbench.scan` runs it. It holds names, numbers and the config, never a model or
a tensor, so it pickles: an executor can ship it to workers and give each a block of
``points``. Everything the scan decides before running a model is in it, with the reason
for what it leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from trustbench.attacks.base import ParamValue
from trustbench.attacks.registry import attack_class, get_attack
from trustbench.checks.base import ScanConfig
from trustbench.scorecard import NotMeasured
from trustbench.shifts import shift_class, shifts_for

if TYPE_CHECKING:
    from trustbench.attacks import Attack
    from trustbench.data import Schema

__all__ = ["DEFAULT_ATTACKS", "AttackSpec", "ScanPlan", "make_plan"]

#: Attacks a scan runs when ``ScanConfig.attacks`` is ``None``, by whether the model is
#: differentiable.
DEFAULT_ATTACKS = {True: ("fgsm", "pgd", "standard"), False: ("square",)}


@dataclass(frozen=True)
class AttackSpec:
    """A registered attack and the parameters it is built with (eps, norm, seed included)."""

    name: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    def build(self) -> Attack:
        """Return the attack (:func:`trustbench.attacks.get_attack`)."""
        return get_attack(self.name, **dict(self.params))


@dataclass(frozen=True)
class ScanPlan:
    """What a scan will run, decided before any model call beyond the input check.

    Attributes
    ----------
    config
        The :class:`ScanConfig` it was made from.
    steps
        Names of the steps to run (:func:`trustbench.checks.steps.scan_steps`), in order.
    disabled
        Steps the config switched off.
    eps
        The eps values, ascending, in ``units``.
    units
        ``"raw"`` (the data's own units) or ``"range"`` (fractions of each feature's range).
    attacks
        The attacks to run, in order, built with the scan's eps, norm and seed.
    shifts
        The shifts to measure (registered names), in order.
    points
        Row indices of the source data that are evaluated, ascending; ``None``: every row.
    n_source
        Rows in the source data.
    not_applicable
        What the plan leaves out and why (an attack that needs gradients on a black-box
        model, a shift the data cannot take): listed in the scorecard's ``not_measured``.
    """

    config: ScanConfig
    steps: tuple[str, ...]
    disabled: tuple[str, ...]
    eps: tuple[float, ...]
    units: Literal["raw", "range"]
    attacks: tuple[AttackSpec, ...]
    shifts: tuple[str, ...]
    points: tuple[int, ...] | None
    n_source: int
    not_applicable: tuple[NotMeasured, ...] = ()

    @property
    def n_points(self) -> int:
        """Points evaluated."""
        return self.n_source if self.points is None else len(self.points)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary (the points as a count, not a list)."""
        return {"steps": list(self.steps), "disabled": list(self.disabled),
                "eps": list(self.eps), "units": self.units,
                "attacks": [{"name": a.name, "params": dict(a.params)} for a in self.attacks],
                "shifts": list(self.shifts), "n_points": self.n_points,
                "n_source": self.n_source, "not_applicable": [str(s) for s in self.not_applicable]}


def make_plan(config: ScanConfig, *, differentiable: bool, description: str,
              schema: Schema | None, shape: Sequence[int], eps: Sequence[float],
              units: Literal["raw", "range"], points: Sequence[int] | None,
              n_source: int) -> ScanPlan:
    """Decide the steps, attacks and shifts of a scan of a model and data of this kind.

    ``trustbench.plan_scan`` calls it with what it read from the model and data: whether
    the model gives gradients, its description (for the reasons), the sample's schema and
    shape, the resolved eps values and units, and the sampled row indices.
    """
    from trustbench.checks.steps import scan_steps

    steps, disabled = [], []
    for step in scan_steps():
        (steps if step.enabled(config) else disabled).append(step.name)
    skipped: list[NotMeasured] = []
    attacks: list[AttackSpec] = []
    if "robustness" in steps:
        names = config.attacks if config.attacks is not None else DEFAULT_ATTACKS[differentiable]
        for name in names:
            cls = attack_class(name)
            if cls.requires_gradients and not differentiable:
                skipped.append(_skip(f"attack {name}", f"needs gradients, and {description} "
                                     "is black-box"))
            elif config.norm not in cls.norms:
                skipped.append(_skip(f"attack {name}", f"does not support the {config.norm} "
                                     "norm"))
            else:  # the scan's eps, norm and seed win over attack_params (which cannot set them)
                attacks.append(AttackSpec(name, dict(config.attack_params.get(name, {}))
                                          | {"eps": float(eps[0]), "norm": config.norm,
                                             "seed": config.seed}))
    shifts: list[str] = []
    if "shifts" in steps and config.severities:
        shape_t = tuple(int(s) for s in shape)
        if config.shifts is None:
            modality = schema.modality if schema is not None else (
                "image" if len(shape_t) >= 3 else "tabular")
            names = shifts_for(modality, shape_t, schema=schema)
            if not names:
                skipped.append(_skip("shifts", f"none are registered for {modality} data"))
        else:
            names = list(dict.fromkeys(config.shifts))
        for name in names:
            cls = shift_class(name)
            if cls.applicable(schema, shape_t):
                shifts.append(name)
            else:
                skipped.append(_skip(f"shift {name}", f"needs {cls.requires}"))
    return ScanPlan(config, tuple(steps), tuple(disabled), tuple(float(e) for e in eps), units,
                    tuple(attacks), tuple(shifts),
                    None if points is None else tuple(int(i) for i in points), int(n_source),
                    tuple(skipped))


def _skip(check: str, reason: str) -> NotMeasured:
    return NotMeasured(check, reason, f"{check}: {reason}")
