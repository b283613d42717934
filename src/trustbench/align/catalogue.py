"""The align family's catalogue: report sections for the ``align.*`` findings.

Registered when this module is imported; :data:`trustbench.catalogue.KNOWN_CATALOGUES`
lists it so that an alignment scorecard read back from JSON renders with its sections.
"""

from __future__ import annotations

from trustbench.catalogue import Catalogue, Section, register_catalogue

__all__ = ["ALIGN"]

ALIGN = Catalogue(
    family="align", prefixes=("align.",),
    sections=(
        Section("align-reward-model", "Reward model", 21,
                ("align.reward_model", "align.length_bias", "align.groups")),
        Section("align-robustness", "Robustness and reward hacking", 22,
                ("align.robustness", "align.reward_hacking", "align.overoptimisation")),
        Section("align-training", "Policy training", 23,
                ("align.dpo", "align.rl", "align.frontier", "align.sft", "align.study")),
    ),
)
register_catalogue(ALIGN)
