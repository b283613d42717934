"""The NIST AI RMF tags of the align family's findings (../shared/NIST_AI_RMF.md)."""

from __future__ import annotations

from trustbench.nist import Tags

__all__ = ["FAIRNESS", "HACKING", "REWARD_MODEL", "ROBUSTNESS", "TRAINING"]

# reward-model accuracy and calibration: is the learned preference valid?
REWARD_MODEL = Tags(("valid and reliable", "safe"), ("MEASURE 2.3", "MEASURE 2.6", "MEASURE 3.1"))
# over-optimisation and reward hacking: an aligned-looking policy that is not
HACKING = Tags(("safe", "valid and reliable"), ("MEASURE 2.6", "MEASURE 2.3", "MAP 5.1"))
# reward-model accuracy under perturbed responses
ROBUSTNESS = Tags(("secure and resilient", "safe"), ("MEASURE 2.7", "MEASURE 2.6", "MEASURE 2.3"))
# agreement per annotator group
FAIRNESS = Tags(("fair with harmful bias managed",), ("MEASURE 2.11", "MAP 2.3"))
# training diagnostics, the reward–KL frontier
TRAINING = Tags(("valid and reliable",), ("MEASURE 2.3", "MEASURE 2.1"))
