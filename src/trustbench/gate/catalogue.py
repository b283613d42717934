"""The gate's own catalogue: the ``baseline.comparison`` and ``gate.result`` findings.

Registered when :mod:`trustbench.gate` is imported (see :mod:`trustbench.catalogue`).
"""

from __future__ import annotations

from trustbench.catalogue import Catalogue, Section, register_catalogue

__all__ = ["COMPARISON_ID", "GATE", "RESULT_ID"]

COMPARISON_ID = "baseline.comparison"
RESULT_ID = "gate.result"

GATE = Catalogue(
    family="gate",
    prefixes=("gate.", "baseline."),
    sections=(Section("regression", "Regression against baseline", 70, ("gate.", "baseline.")),),
    terminal=((COMPARISON_ID, "summary"), ("gate.", "hidden"), (RESULT_ID, "result")),
)
register_catalogue(GATE)
