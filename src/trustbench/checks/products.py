"""What a scan check hands to later checks: one typed, read-only product per check.

A check returns :class:`Checked` — its findings and its product. A later check that
needs a product declares it (:attr:`Step.needs <trustbench.checks.steps.Step.needs>`) and
receives it as a keyword argument, ``None`` when the step that makes it was switched off
or ran out of time. Nothing is shared through a mutable dictionary.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np
import torch

from trustbench.findings import Finding

if TYPE_CHECKING:
    from trustbench.attacks import AttackResult
    from trustbench.metrics.groups import GroupMetrics
    from trustbench.metrics.slices import SliceReport

__all__ = ["AttackRuns", "Calibration", "Checked", "ShiftResults", "Subgroups"]

P = TypeVar("P")


@dataclass(frozen=True)
class Checked(Generic[P]):
    """A check's result: its findings, and the product later checks may receive.

    It iterates over, indexes and has the length of its findings, so code written for
    checks that returned a plain list keeps working.
    """

    findings: list[Finding]
    product: P

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __getitem__(self, i: int) -> Finding:
        return self.findings[i]


@dataclass(frozen=True)
class AttackRuns:
    """The robustness check's product: every finished (attack, eps) run.

    Attributes
    ----------
    by_eps
        eps -> ``[(attack name, AttackResult), ...]`` in attack order; an eps whose runs
        the time budget cut has an empty list.
    """

    by_eps: Mapping[float, Sequence[tuple[str, AttackResult]]] = field(default_factory=dict)

    def finished(self) -> dict[float, Sequence[tuple[str, AttackResult]]]:
        """Return the eps values (ascending) that have at least one run, with their runs."""
        return {e: runs for e, runs in sorted(self.by_eps.items()) if runs}

    def robust(self) -> dict[float, np.ndarray]:
        """Return eps -> (N,) bool: no attack fooled the point (the worst case over attacks)."""
        return {e: ~torch.stack([r.fooled for _, r in runs]).any(0).numpy()
                for e, runs in self.finished().items()}


@dataclass(frozen=True)
class ShiftResults:
    """The shift check's product.

    Attributes
    ----------
    accuracy, ece
        ``{shift name: {severity: value}}`` for every shift and severity measured.
    shifted
        ``{shift name: inputs at the largest severity}``: the first rows of the evaluated
        inputs, in their units, for shifts that change the inputs (the near-OOD sets).
    """

    accuracy: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    ece: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    shifted: Mapping[str, torch.Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class Calibration:
    """The calibration check's product: the clean ECE and the fitted temperature."""

    ece: float
    temperature: float | None


@dataclass(frozen=True)
class Subgroups:
    """The subgroup check's product: per-group or per-class metrics and the weakest slices.

    ``groups`` is set when the data has groups, ``classes`` otherwise; ``slices`` for
    tabular data whose slice search ran.
    """

    groups: GroupMetrics | None = None
    classes: GroupMetrics | None = None
    slices: SliceReport | None = None
