"""Strength over seeds: robust accuracy of each library's randomised attacks for several
seeds, so that one lucky or unlucky random start is not read as a stronger or weaker
attack. The libraries draw their random starts from different generators, so at a
single seed their robust accuracies differ by chance alone."""

from __future__ import annotations

import statistics
from dataclasses import replace

from libs import LIBRARIES, Spec, make_runner
from measure import verdict
from zoo import Setup

from report import markdown_table

__all__ = ["seeds_section"]


def seeds_section(setups: list[Setup], n_points: dict[str, int], *, seeds: int,
                  apgd_steps: int = 100) -> tuple[str, list[dict]]:
    """Markdown and raw numbers: mean, sd, min and max robust accuracy over ``seeds``."""
    rows, data = [], []
    for s in setups:
        x, y = s.head(n_points[s.name])
        specs = [Spec("pgd", norm, s.eps[norm], steps=20, step_size=2.5 * s.eps[norm] / 20,
                      early_stop=False) for norm in ("linf", "l2")]
        if s.name != "synth-cnn":  # APGD-100 on the larger model would cost minutes here
            specs.append(Spec("apgd-ce", "linf", s.eps["linf"], steps=apgd_steps))
        for spec in specs:
            for lib in LIBRARIES:
                accs = []
                for seed in range(seeds):
                    runner = make_runner(lib, replace(spec, seed=seed), s.model, x)
                    if runner is None:
                        break
                    v = verdict(s.model, x, y, runner.run(x, y), norm=spec.norm, eps=spec.eps)
                    accs.append(100 * v.robust_accuracy)
                if not accs:
                    continue
                sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
                rows.append([s.name, spec.label, lib, f"{statistics.mean(accs):.2f}",
                             f"{sd:.2f}", f"{min(accs):.1f}", f"{max(accs):.1f}"])
                data.append({"model": s.name, "attack": spec.label, "library": lib,
                             "robust_accuracy_by_seed": accs})
    header = ["model", "attack", "library", f"mean robust acc % ({seeds} seeds)", "sd",
              "min", "max"]
    return markdown_table(header, rows), data
