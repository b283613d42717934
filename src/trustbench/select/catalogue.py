"""The select family's catalogue: a report section for the ``select.*`` findings."""

from __future__ import annotations

from trustbench.catalogue import Catalogue, Section, register_catalogue

__all__ = ["SELECT_CATALOGUE"]

SELECT_CATALOGUE = Catalogue(
    family="select", prefixes=("select.",),
    sections=(Section("select", "Model selection", 31,
                      ("select.recommendation", "select.leaderboard", "select.pareto")),),
)
register_catalogue(SELECT_CATALOGUE)
