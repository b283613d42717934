"""Scan a scikit-learn pipeline on built-in breast_cancer data with a group column: robustness,
corruptions and shift, calibration, out-of-distribution detection, per-group gaps and the
weakest slices, written as an HTML report; then gate a weaker model against it.

The group column is synthetic (this data set has no demographic column): a made-up "site"
attribute, correlated with tumour size, stands in for the sensitive or slice attribute your
own data has.

Run: python examples/scan_sklearn_breast_cancer.py [--out DIR]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from trustbench import ScanConfig, load_builtin, scan
from trustbench.gate import apply_gate
from trustbench.report import write_html


def with_site(ds, seed: int = 0):
    """Add a synthetic 'site' group: site B sees mostly the larger tumours."""
    rng = np.random.default_rng(seed)
    big = ds.x[:, 0] > np.median(ds.x[:, 0])  # mean radius
    site = np.where(rng.random(len(ds.x)) < np.where(big, 0.7, 0.2), "B", "A")
    return replace(ds, groups=site)


def fit(train, *, c: float = 1.0, fraction: float = 1.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(train.x))[: max(20, int(fraction * len(train.x)))]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    return model.fit(train.x[idx], train.y[idx])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("trustbench-report/breast_cancer"))
    args = parser.parse_args()

    train = load_builtin("breast_cancer", split="train")
    test = with_site(load_builtin("breast_cancer", split="test"))
    # tabular data: eps is a fraction of each feature's range; Square is the black-box attack
    config = ScanConfig(eps=[0.02, 0.05], attacks=["square"], seed=0,
                        attack_params={"square": {"n_queries": 300}})

    card = scan(fit(train), test, config)
    card.to_json(args.out / "scorecard.json")
    print("report:", write_html(card, args.out / "report.html"))

    clean = card.get("accuracy.clean").metrics["accuracy"]
    print(f"clean accuracy {clean.value:.1%} (95% CI {clean.ci[0]:.1%}-{clean.ci[1]:.1%})")
    for eps in config.eps:
        m = card.get(f"robustness.worst.linf.{eps:g}").metrics["robust_accuracy"]
        print(f"eps={eps:g} (fraction of range): robust accuracy {m.value:.1%}")
    for f in card.findings:
        if f.id.startswith(("shift.summary", "calibration.", "ood.", "subgroups.", "slices.")):
            print(f"[{f.severity}] {f.title}")

    # A weaker model (10% of the training data) gated against the first scan as baseline.
    weak = scan(fit(train, fraction=0.1, c=0.01), test, config)
    gate = apply_gate(weak, baseline=card, rules=["accuracy drop > 2pt", "any fail"])
    for r in gate.results:
        print(f"gate {'FAILED' if r.fired else 'passed'}: {r.rule.text}: {r.reason}")
    weak.to_json(args.out / "weak" / "scorecard.json")


if __name__ == "__main__":
    main()
