"""Select: choose the model that is best in the real world, not the most accurate on paper.

:func:`select_models` scans every candidate with one config and measures its latency and
size; the leaderboard, the Pareto front, HELM's mean win rate and the recommendation come
from comparisons *with intervals* (a difference inside them is a tie), under hard
requirements and optional weights. :func:`selection_card` makes the Findings;
``trustbench select`` is the command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustbench._lazy import lazy_package as _lazy_package

if TYPE_CHECKING:
    from trustbench.select.findings import selection_card
    from trustbench.select.rank import parse_requirement, parse_weight
    from trustbench.select.run import Candidate, Selection, select_models

_EXPORTS = {"selection_card": "trustbench.select.findings",
            "parse_requirement": "trustbench.select.rank",
            "parse_weight": "trustbench.select.rank",
            "Candidate": "trustbench.select.run", "Selection": "trustbench.select.run",
            "select_models": "trustbench.select.run"}
__all__ = ["Candidate", "Selection", "parse_requirement", "parse_weight", "select_models",
           "selection_card"]

_lazy_package(__name__, _EXPORTS)
