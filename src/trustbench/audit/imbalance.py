"""Class imbalance, and label distributions that differ between train and test.

Thresholds: warn when the rarest class has fewer than :data:`WARN_RATIO` times the rows of
the most common one (training rows), when a test class never occurs in training, or when
the train and test label distributions differ by a total variation distance of at least
:data:`WARN_TVD` (chi-square p < 0.01).

References
----------
He & Garcia, "Learning from Imbalanced Data", IEEE Transactions on Knowledge and Data
Engineering 21(9), 2009.
Wilson, "Probable Inference, the Law of Succession, and Statistical Inference", Journal of
the American Statistical Association 22 (1927).
"""

from __future__ import annotations

import numpy as np

from trustbench import plotspec
from trustbench.audit.base import AuditContext
from trustbench.audit.tags import DATA_QUALITY
from trustbench.findings import Finding, Metric, Severity
from trustbench.metrics import wilson_interval

__all__ = ["WARN_RATIO", "WARN_TVD", "imbalance"]

WARN_RATIO = 0.1
WARN_TVD = 0.1


def imbalance(ctx: AuditContext) -> list[Finding]:
    """Class shares per split with Wilson intervals; imbalance ratio; train/test shift."""
    k = len(ctx.classes)
    train = np.bincount(ctx.y[:ctx.n_train], minlength=k)
    test = np.bincount(ctx.y[ctx.n_train:], minlength=k)
    present = train[train > 0]
    ratio = float(present.min() / present.max())
    metrics = {"imbalance_ratio": Metric(ratio, unit="rarest / most common (train)"),
               "n_classes": Metric(k, unit="count")}
    for c, m in list(zip(ctx.classes, train, strict=False))[:20]:  # the plot and evidence show all
        metrics[f"share.{c}"] = Metric(m / ctx.n_train, wilson_interval(int(m), ctx.n_train),
                                       "fraction")
    problems = []
    if ratio < WARN_RATIO:
        problems.append(f"the rarest class has {ratio:.1%} of the rows of the most common")
    labels = [str(c) for c in ctx.classes]
    plots_labels, plots_values = [f"train: {c}" for c in labels], list(train / ctx.n_train)
    evidence: dict = {"train_counts": dict(zip(labels, train.tolist(), strict=False))}
    if ctx.has_test:
        from scipy.stats import chi2_contingency

        unseen = [labels[i] for i in np.flatnonzero((test > 0) & (train == 0))]
        if unseen:
            problems.append(f"test classes never seen in training: {unseen[:5]}")
        tvd = 0.5 * float(np.abs(train / ctx.n_train - test / ctx.n_test).sum())
        used = (train + test) > 0
        p = float(chi2_contingency(np.stack([train[used], test[used]]))[1]) if used.sum() > 1 \
            else 1.0
        metrics |= {"train_test_tvd": Metric(tvd, unit="total variation distance"),
                    "train_test_p_value": Metric(p, unit="chi-square p")}
        if tvd >= WARN_TVD and p < 0.01:
            problems.append(f"train and test label distributions differ (TVD {tvd:.2f})")
        evidence["test_counts"] = dict(zip(labels, test.tolist(), strict=False))
        plots_labels += [f"test: {c}" for c in labels]
        plots_values += list(test / ctx.n_test)
    severity: Severity = "warn" if problems else "info"
    shown = slice(0, 60)
    return [Finding(
        id="audit.imbalance",
        title=("Labels: " + "; ".join(problems)) if problems else
        f"{k} classes, rarest/most common = {ratio:.2f}",
        severity=severity, metrics=metrics, tags=DATA_QUALITY,
        detail="With strong imbalance, accuracy hides the rare classes: report per-class "
        "recall or balanced accuracy, and stratify splits. Thresholds: warn below a ratio of "
        f"{WARN_RATIO}, for test classes unseen in training, and for a train/test total "
        f"variation distance of {WARN_TVD} or more (chi-square p < 0.01).",
        evidence=evidence | {"plots": [plotspec.bars(
            "Class shares", plots_labels[shown], plots_values[shown], value_label="share")]},
    )]
