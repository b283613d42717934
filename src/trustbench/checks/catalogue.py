"""The scan's catalogue: its report sections, headline numbers and ``--fail-on`` aliases.

Registered when :mod:`trustbench.checks` is imported (see :mod:`trustbench.catalogue`).
"""

from __future__ import annotations

from trustbench.catalogue import Alias, AliasPattern, Catalogue, Headline, Section, register_catalogue

__all__ = ["SCAN"]

_ROBUST = r"^robust_acc(?:\[(?P<attack>[\w-]+)\])?@(?P<norm>linf|l2):(?P<eps>[0-9.eE+-]+)$"

SCAN = Catalogue(
    family="scan",
    prefixes=("accuracy.", "robustness.", "shift.", "calibration.", "ood.", "subgroups.",
              "slices.", "validity.", "budget.", "model.", "scorecard.", "provenance"),
    sections=(
        Section("accuracy", "Accuracy", 10, ("accuracy.",)),
        Section("robustness", "Robustness", 20, ("robustness.",), view="attack_curves",
                reference=("accuracy.clean", "accuracy")),
        Section("shift", "Corruptions and shift", 30, ("shift.",)),
        Section("calibration", "Calibration", 40, ("calibration.",)),
        Section("ood", "Out-of-distribution detection", 50, ("ood.",)),
        Section("subgroups", "Subgroups and slices", 60, ("subgroups.", "slices.")),
        Section("validity", "Evaluation validity", 80, ("validity.", "budget.", "model.")),
    ),
    headlines=(
        Headline("Clean accuracy", "accuracy.clean", ("accuracy",), 10, terminal=True),
        Headline("Worst-case robust accuracy, {norm} eps={eps:g}", "robustness.worst.*",
                 ("robust_accuracy",), 20, per="norm", largest="eps",
                 suffix=" ({eps_units} units)"),
        Headline("Mean corruption accuracy", "shift.*", ("mean_corruption_accuracy",), 30),
        Headline("Expected calibration error (ECE)", "calibration.*", ("ece",), 40,
                 better="lower"),
        Headline("Worst-group accuracy", "subgroups.*",
                 ("accuracy_worst_group", "worst_group_accuracy"), 50),
        Headline("OOD detection AUROC (hardest set)", "ood.*", ("min_far_auroc_msp", "auroc"),
                 60, unit=""),  # an AUROC reads as a score (0.5 = chance), not a percentage
    ),
    gate_figure=(("accuracy.clean", "accuracy"), ("calibration.clean", "ece"),
                 ("shift.summary", "mean_corruption_accuracy"),
                 ("robustness.worst.*", "robust_accuracy")),
    comparison_summary=(("accuracy.clean", "*"), ("calibration.clean", "*"),
                        ("shift.summary", "*"), ("robustness.worst.*", "*"),
                        # per group: only the worst group and the gap
                        ("subgroups.*", "*_worst_group"), ("subgroups.*", "*_gap")),
    aliases=(
        Alias("accuracy", "accuracy.clean:accuracy", "higher"),
        Alias("clean_acc", "accuracy.clean:accuracy", "higher"),
        Alias("ece", "calibration.clean:ece", "lower"),
        Alias("mce", "calibration.clean:mce", "lower"),
        Alias("brier", "calibration.clean:brier", "lower"),
        Alias("nll", "calibration.clean:nll", "lower"),
        Alias("mca", "shift.summary:mean_corruption_accuracy", "higher"),
        Alias("corruption_acc", "shift.summary:mean_corruption_accuracy", "higher"),
        Alias("worst_group_acc", "subgroups.*:accuracy_worst_group", "higher"),
        Alias("group_gap", "subgroups.*:accuracy_gap", "lower"),
    ),
    alias_patterns=(
        AliasPattern("robust_acc", _ROBUST, "robustness.{attack}.{norm}.{eps:g}:robust_accuracy",
                     forms=("robust_acc@NORM:EPS", "robust_acc[ATTACK]@NORM:EPS"),
                     fix="write e.g. robust_acc@linf:0.1 or robust_acc[pgd]@l2:0.5",
                     numbers=("eps",), defaults=(("attack", "worst"),), better="higher"),
    ),
    terminal=(("robustness.", "table"), ("shift.", "hidden"), ("shift.summary", "summary"),
              ("calibration.", "summary"), ("ood.", "summary"), ("subgroups.", "summary"),
              ("slices.", "summary"), ("validity.", "checks")),
    manifest="provenance",
)
register_catalogue(SCAN)
