"""The audit's catalogue: the ``audit.*`` findings (and the run manifest of an audit).

The audit's findings keep the reports' "Other findings" section, so it declares no section.
Registered when :mod:`trustbench.audit` is imported (see :mod:`trustbench.catalogue`).
"""

from __future__ import annotations

from trustbench.catalogue import Catalogue, register_catalogue

__all__ = ["AUDIT"]

AUDIT = Catalogue(family="audit", prefixes=("audit.",), manifest="provenance")
register_catalogue(AUDIT)
