"""NIST AI RMF tags of audit findings.

See shared/NIST_AI_RMF.md: "data audit ... and dataset card" and "subgroup gaps, fairness
metrics, representation".
"""

from __future__ import annotations

from trustbench.nist import Tags

__all__ = ["DATA_QUALITY", "DOCUMENTATION", "FAIRNESS", "LABELS", "LEAKAGE"]

#: Missing values, constant columns, mixed types, outliers, duplicates, schema violations.
DATA_QUALITY = Tags(("valid and reliable", "accountable and transparent"),
                    ("MEASURE 2.1", "MEASURE 2.5", "MAP 4.1", "GOVERN 6.1"))
#: Train/test leakage: it makes every headline number measured on the test set wrong.
LEAKAGE = Tags(("valid and reliable",), ("MEASURE 2.1", "MEASURE 2.5", "MEASURE 2.13"))
#: Label errors: wrong labels cap what a model can learn and bias what a test set measures.
LABELS = Tags(("valid and reliable",), ("MEASURE 2.1", "MEASURE 2.5", "MAP 4.1"))
#: Representation, label rate by group and fairness metrics of a model.
FAIRNESS = Tags(("fair with harmful bias managed",), ("MEASURE 2.11", "MAP 2.3"))
#: The dataset card and the audit's manifest.
DOCUMENTATION = Tags(("accountable and transparent",),
                     ("MEASURE 2.1", "MEASURE 2.8", "MAP 4.1", "GOVERN 6.1"))
