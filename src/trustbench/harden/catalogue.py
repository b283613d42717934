"""The catalogue of ``trustbench harden`` and ``trustbench compress``: their findings.

Their findings keep the reports' "Other findings" section, so it declares no section.
Registered when :mod:`trustbench.harden` is imported (see :mod:`trustbench.catalogue`).
"""

from __future__ import annotations

from trustbench.catalogue import Catalogue, register_catalogue

__all__ = ["HARDEN"]

HARDEN = Catalogue(family="harden", prefixes=("harden.", "compress."))
register_catalogue(HARDEN)
