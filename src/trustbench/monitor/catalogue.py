"""The monitor's catalogue: report sections for the ``monitor.*`` findings.

Registered when this module is imported; :data:`trustbench.catalogue.KNOWN_CATALOGUES`
lists it so that a monitor scorecard read back from JSON renders with its sections.
"""

from __future__ import annotations

from trustbench.catalogue import Catalogue, Section, register_catalogue

__all__ = ["MONITOR"]

MONITOR = Catalogue(
    family="monitor", prefixes=("monitor.",),
    sections=(
        Section("monitor-alerts", "Alerts", 11, ("monitor.alerts",)),
        Section("monitor-drift", "Drift", 12, ("monitor.drift", "monitor.history.drift")),
        Section("monitor-performance", "Performance and fairness over time", 13,
                ("monitor.performance", "monitor.fairness", "monitor.history.performance",
                 "monitor.history.fairness")),
        Section("monitor-versions", "Model versions", 14, ("monitor.compare", "monitor.versions")),
    ),
)
register_catalogue(MONITOR)
