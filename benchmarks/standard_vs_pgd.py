"""Acceptance check: trustbench's ``standard`` ensemble is at least as strong as PGD-20 and
as torchattacks' AutoAttack, on the demo CNN at L∞ eps=0.1.

Usage (from the repository root):

    .bench-venv/bin/python benchmarks/standard_vs_pgd.py [--n 540] [--threads N]

Prints one PASS/FAIL line per claim and exits 1 if any claim fails (2 if 'standard' is not
registered). Claims, on the same model object and points:

1. robust accuracy of ``standard`` <= that of trustbench PGD-20 (random start, step
   2.5·eps/20, its default early stop);
2. robust accuracy of ``standard`` <= that of torchattacks PGD-20 with the same settings;
3. robust accuracy of ``standard`` <= torchattacks ``AutoAttack(version='standard',
   norm='Linf', eps=0.1, n_classes=10, seed=0)`` + 1 percentage point.

Every robust accuracy is computed by the same check (measure.verdict), which also confirms
each x_adv is inside the eps-ball and [0, 1].
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from libs import Spec, make_runner, trustbench_has
from measure import verdict
from zoo import digits_test

EPS = 0.1
TOLERANCE = 0.01  # one percentage point, for the comparison with torchattacks' AutoAttack


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=540, help="digits test points (default all 540)")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not trustbench_has("standard"):
        print("SKIP: 'standard' is not in trustbench's attack registry")
        return 2
    from trustbench.demo import load_demo_model

    model, _ = load_demo_model()
    model.eval()
    for prm in model.parameters():
        prm.requires_grad_(False)
    x, y = digits_test()
    x, y = x[: args.n].contiguous(), y[: args.n].contiguous()
    step = 2.5 * EPS / 20
    runs = {
        "trustbench standard": ("trustbench", Spec("standard", "linf", EPS)),
        "trustbench PGD-20": ("trustbench", Spec("pgd", "linf", EPS, steps=20,
                                                 step_size=step)),
        "torchattacks PGD-20": ("torchattacks", Spec("pgd", "linf", EPS, steps=20,
                                                     step_size=step)),
        "torchattacks AutoAttack": ("torchattacks", Spec("standard", "linf", EPS)),
    }
    acc: dict[str, float] = {}
    print(f"demo CNN, digits test points N={len(x)}, L∞ eps={EPS}, torch threads "
          f"{torch.get_num_threads()}")
    for label, (lib, spec) in runs.items():
        runner = make_runner(lib, spec, model, x)
        start = time.perf_counter()
        x_adv = runner.run(x, y)
        seconds = time.perf_counter() - start
        v = verdict(model, x, y, x_adv, norm=spec.norm, eps=spec.eps)
        acc[label] = v.robust_accuracy
        print(f"  {label:<24} robust accuracy {100 * v.robust_accuracy:5.1f}%  "
              f"({seconds:6.1f} s, inside ball and bounds: {v.in_ball})")
        if not v.in_ball:
            print(f"FAIL: {label} returned a perturbation outside the threat model")
            return 1
    std = acc["trustbench standard"]
    claims = [
        (f"standard {100 * std:.1f}% <= trustbench PGD-20 "
         f"{100 * acc['trustbench PGD-20']:.1f}%", std <= acc["trustbench PGD-20"]),
        (f"standard {100 * std:.1f}% <= torchattacks PGD-20 "
         f"{100 * acc['torchattacks PGD-20']:.1f}%", std <= acc["torchattacks PGD-20"]),
        (f"standard {100 * std:.1f}% <= torchattacks AutoAttack "
         f"{100 * acc['torchattacks AutoAttack']:.1f}% + 1 point",
         std <= acc["torchattacks AutoAttack"] + TOLERANCE + 1e-9),
    ]
    for text, ok in claims:
        print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return 0 if all(ok for _, ok in claims) else 1


if __name__ == "__main__":
    sys.exit(main())
