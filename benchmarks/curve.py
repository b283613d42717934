"""A 5-eps robustness curve: trustbench.attacks.robustness_curve vs 5 independent runs.

The curve carries points fooled at a smaller eps forward (they are inside every larger
ball) and attacks only the rest, so it should cost less. Every point draws its random
numbers from its own stream, so on each point the curve attacks it gets exactly the
independent run's outcome ("attacked points identical"). Where the curve and the
independent runs still differ, it is a point fooled at a smaller eps that the independent
run at a larger eps failed to fool (the attack is not monotone in eps); the curve keeps
the valid adversarial example it already has, so it is the stronger of the two there.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch
from libs import trustbench_has
from measure import verdict
from zoo import Setup

from report import markdown_table

__all__ = ["EPS_VALUES", "curve_section"]

EPS_VALUES = (0.02, 0.04, 0.06, 0.08, 0.1)


def curve_section(setup: Setup, *, repeats: int, n: int) -> tuple[str, dict]:
    """Markdown and raw numbers for PGD-20 and APGD-CE-100 L∞ curves on ``setup``."""
    try:
        from trustbench.attacks import robustness_curve
    except ImportError:
        return ("skipped: trustbench.attacks.robustness_curve does not exist yet", {})
    from trustbench.attacks import REGISTRY
    from trustbench.domain import Domain
    from trustbench.models.torch import TorchModel

    x, y = setup.head(n)
    model = TorchModel(setup.model, n_classes=10)
    domain = Domain(lower=0.0, upper=1.0)
    attacks = [("PGD-20 (early stop)", REGISTRY["pgd"](eps=0.1, steps=20, seed=0))]
    if trustbench_has("apgd-ce"):
        attacks.append(("APGD-CE-100", REGISTRY["apgd-ce"](eps=0.1, steps=100, seed=0)))
    table, data = [], {}
    for label, attack in attacks:
        def curve(attack: Any = attack) -> list:
            return robustness_curve(attack, model, x, y, EPS_VALUES, domain=domain,
                                    batch_size=len(x))

        def independent(attack: Any = attack) -> list:
            return [attack.clone(eps=e).run(model, x, y, domain=domain, batch_size=len(x))
                    for e in EPS_VALUES]

        curve()  # warm-up
        independent()
        t_curve, t_ind, res_c, res_i = [], [], [], []
        for _ in range(repeats):  # interleaved, so drifts in machine speed hit both alike
            start = time.perf_counter()
            res_c = curve()
            t_curve.append(time.perf_counter() - start)
            start = time.perf_counter()
            res_i = independent()
            t_ind.append(time.perf_counter() - start)
        mc, mi = statistics.median(t_curve), statistics.median(t_ind)
        ra_c = [verdict(setup.model, x, y, r.x_adv, norm="linf", eps=e).robust_accuracy
                for r, e in zip(res_c, EPS_VALUES, strict=True)]
        ra_i = [verdict(setup.model, x, y, r.x_adv, norm="linf", eps=e).robust_accuracy
                for r, e in zip(res_i, EPS_VALUES, strict=True)]
        ge_c = sum(r.grad_evals for r in res_c)
        ge_i = sum(r.grad_evals for r in res_i)
        same = ra_c == ra_i
        before = torch.zeros(len(y), dtype=torch.bool)
        attacked_same, carried_only = True, 0
        for rc, ri in zip(res_c, res_i, strict=True):
            fresh = ~before  # the points the curve attacked at this eps
            attacked_same &= bool(torch.equal(rc.fooled[fresh], ri.fooled[fresh]))
            carried_only += int((before & ~ri.fooled).sum())  # fooled earlier, not by this run
            before = rc.fooled
        table.append([label, f"{mc:.3f}", f"{mi:.3f}", f"{mc / mi:.2f}", f"{ge_c:,}",
                      f"{ge_i:,}", " / ".join(f"{100 * a:.1f}" for a in ra_c),
                      " / ".join(f"{100 * a:.1f}" for a in ra_i),
                      "yes" if same else "no", "yes" if attacked_same else "no",
                      str(carried_only)])
        data[label] = {"curve_times": t_curve, "independent_times": t_ind, "ra_curve": ra_c,
                       "ra_independent": ra_i, "grad_evals_curve": ge_c,
                       "grad_evals_independent": ge_i, "attacked_identical": attacked_same,
                       "carried_not_refooled": carried_only}
    header = ["attack", "curve s (median)", "5 runs s (median)", "time ratio",
              "grad evals curve", "grad evals 5 runs",
              f"robust acc % curve (eps {', '.join(map(str, EPS_VALUES))})",
              "robust acc % 5 runs", "identical", "attacked points identical",
              "points fooled only at a smaller eps"]
    text = (f"demo-cnn, N={len(x)}, L∞, {repeats} repeats each, interleaved.\n\n"
            + markdown_table(header, table))
    return text, data


if __name__ == "__main__":  # a quick look on its own
    from zoo import build_setups

    torch.manual_seed(0)
    print(curve_section(build_setups(quick=True)[0], repeats=3, n=540)[0])
