"""The security family's catalogue: a report section for the ``security.*`` findings.

Registered when this module is imported; :data:`trustbench.catalogue.KNOWN_CATALOGUES`
lists it so that an inspection scorecard read back from JSON renders with its section.
"""

from __future__ import annotations

from trustbench.catalogue import Catalogue, Section, register_catalogue

__all__ = ["SECURITY"]

SECURITY = Catalogue(
    family="security", prefixes=("security.",),
    sections=(Section("security-files", "Model-file safety", 5, ("security.inspect",)),
              Section("security-backdoor", "Poisoning and backdoors", 6,
                      ("security.backdoor",))),
)
register_catalogue(SECURITY)
