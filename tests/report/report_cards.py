"""A synthetic scorecard with a finding in every report section and every plot kind.

Built by hand (no scan): the renderers must work from a Scorecard alone. A plain module
with a unique name (not conftest.py), so that tests can import it whatever else is on
sys.path.
"""

from __future__ import annotations

import numpy as np

from trustbench import nist
from trustbench.findings import Finding, Metric
from trustbench.report import plotspec
from trustbench.scorecard import Scorecard

EVIL = "<script>alert('x')</script> & \"quoted\" | *bold*"


def _images() -> dict:
    rng = np.random.default_rng(0)
    return plotspec.images("clean (left) and adversarial (right)", [
        {"label": "3 → 8", "clean": rng.random((8, 8)), "perturbed": rng.random((8, 8))},
        {"label": "grey (1, H, W)", "clean": rng.random((1, 8, 8)), "perturbed": rng.random((1, 8, 8))},
        {"label": "colour", "clean": rng.random((3, 12, 12)), "perturbed": rng.random((3, 12, 12))},
    ])


def build_card() -> Scorecard:
    f: list[Finding] = [Finding("accuracy.clean", "Clean accuracy 90.0% on 100 points", "info",
                                {"accuracy": Metric(0.9, (0.83, 0.94), "fraction"),
                                 "n": Metric(100, unit="count")}, nist.ACCURACY)]
    curves = {"fgsm": (0.7, 0.4), "pgd": (0.6, 0.2)}
    for attack, accs in curves.items():
        for eps, acc in zip((0.05, 0.1), accs, strict=True):
            f.append(Finding(f"robustness.{attack}.linf.{eps:g}", f"{attack}: {acc:.0%} at eps={eps:g}",
                             "info", {"robust_accuracy": Metric(acc, (acc - 0.1, acc + 0.1), "fraction"),
                                      "wall_time": Metric(0.5, unit="seconds")}, nist.ROBUSTNESS,
                             evidence={"attack": attack, "norm": "linf", "eps": eps, "eps_units": "raw"}))
    for eps, acc in ((0.05, 0.6), (0.1, 0.2)):
        f.append(Finding(f"robustness.worst.linf.{eps:g}", f"Worst case {acc:.0%} at eps={eps:g}",
                         "warn" if eps == 0.1 else "info",
                         {"robust_accuracy": Metric(acc, (acc - 0.1, acc + 0.1), "fraction")},
                         nist.ROBUSTNESS, "Robust accuracy is low.",
                         {"eps": eps, "norm": "linf", "eps_units": "raw",
                          "plots": [_images()] if eps == 0.1 else []}))
    heat = plotspec.heatmap("Accuracy per corruption and severity", [[0.8, 0.7, None], [0.85, 0.6, 0.4]],
                            rows=["fog", "gaussian_noise"], cols=["1", "2", "3"], value_label="accuracy",
                            vmin=0, vmax=1)
    f.append(Finding("shift.summary", "Mean corruption accuracy 67.0%", "warn",
                     {"mean_corruption_accuracy": Metric(0.67, (0.6, 0.73), "fraction")},
                     nist.ROBUSTNESS, "Accuracy falls under corruption.", {"plots": [heat]}))
    rel = plotspec.reliability("Reliability diagram", bin_edges=np.linspace(0, 1, 6),
                               bin_confidence=[0.1, 0.3, 0.5, 0.7, 0.9],
                               bin_accuracy=[None, 0.2, 0.4, 0.6, 0.95],
                               bin_count=[0, 5, 10, 20, 65], ece=0.04)
    f.append(Finding("calibration.clean", "ECE 4.0%", "info", {"ece": Metric(0.04, (0.02, 0.06), "fraction")},
                     nist.ACCURACY, evidence={"plots": [rel]}))
    f.append(Finding("ood.detection", "OOD AUROC 0.91", "info", {"auroc": Metric(0.91, unit="fraction")},
                     nist.ROBUSTNESS, evidence={"plots": [plotspec.bars(
                         "OOD detection AUROC", ["uniform noise", "shuffled pixels"], [0.99, 0.83],
                         value_label="AUROC", reference=0.5, reference_label="chance")]}))
    f.append(Finding("subgroups.group", f"Worst group {EVIL}", "fail",
                     {"accuracy_worst_group": Metric(0.55, (0.45, 0.65), "fraction")},
                     nist.Tags(("fair with harmful bias managed",), ("MEASURE 2.11",)),
                     f"Group {EVIL} is far below the others.",
                     {"plots": [plotspec.bars(f"Accuracy by group {EVIL}", [EVIL, "b", "c"],
                                              [0.55, 0.9, None], value_label="accuracy",
                                              lo=[0.45, 0.85, None], hi=[0.65, 0.95, None],
                                              reference=0.85,
                                              reference_label="overall")],
                      "groups": [EVIL, "b", "c"], "long": list(range(1000))}))
    f.append(Finding("slices.weakest", "No significantly weak slice", "info", {}, nist.ACCURACY))
    f.append(Finding("gate.rules", "Gate: 1 of 2 rules fired", "fail", {}, nist.GATE,
                     "rule robust_acc>=0.5 fired"))
    f.append(Finding("validity.large_eps", "Sanity: large eps fools 100%", "info",
                     {"robust_accuracy_at_large_eps": Metric(0.0, unit="fraction")}, nist.VALIDITY))
    f.append(Finding("budget.exhausted", "The time budget cut the scan short", "warn", {}, nist.VALIDITY))
    f.append(Finding("custom.thing", "A plug-in's finding with gaps", "info",
                     {"score": Metric(float("nan"))}, nist.Tags(()),
                     evidence={"plots": [plotspec.lines("A curve with a gap", [
                         {"label": "with gap", "x": [0, 1, 2, 3], "y": [0.1, float("nan"), 0.3, 0.2]},
                         {"label": "single", "x": [1.5], "y": [0.25]}, {"label": "empty", "x": [], "y": []}],
                         x_label="step", y_label="score")]}))
    prov = {"model": {"description": f"Model {EVIL}", "fingerprint": "sha256:abc", "n_classes": 3},
            "data": {"name": "toy", "fingerprint": "sha256:def", "n": 100, "notes": ["a note"]},
            "config": {"eps": [0.05, 0.1], "norm": "linf", "eps_units": "raw"}, "seed": 7,
            "versions": {"trustbench": "0.1.0", "python": "3.11"},
            "timings_seconds": {"robustness": 1.5, "total": 2.0}, "created": "2026-01-01T00:00:00Z"}
    return Scorecard(f, prov, ["out-of-distribution text", f"thing {EVIL}"])


#: Figures in build_card(): robustness curve, images, heatmap, reliability, 2 bars, lines.
N_FIGURES = 7
