"""The monitor's NIST AI RMF tags.

Monitoring is MEASURE 2.4 and MANAGE 4.1 (../shared/NIST_AI_RMF.md); fairness over time
adds MEASURE 2.11.
"""

from __future__ import annotations

from trustbench.nist import Tags

__all__ = ["DRIFT", "FAIRNESS", "PERFORMANCE"]

#: Input and output drift of a deployed model.
DRIFT = Tags(("valid and reliable",), ("MEASURE 2.4", "MANAGE 4.1"))
#: Realised (or estimated) performance over time.
PERFORMANCE = Tags(("valid and reliable",), ("MEASURE 2.4", "MANAGE 4.1", "MEASURE 2.3"))
#: Fairness over time.
FAIRNESS = Tags(("fair with harmful bias managed", "valid and reliable"),
                ("MEASURE 2.11", "MEASURE 2.4", "MANAGE 4.1"))
