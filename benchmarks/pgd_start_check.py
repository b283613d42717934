"""Is trustbench's PGD the reference algorithm, and are its random starts as good as torch's?

On the synth-cnn setup (PGD-20 L∞, eps 8/255, step 2.5·eps/20, all points kept):

1. trustbench's ``PGD.run`` against a plain reference loop (the torchattacks update, last
   iterate only) started from the same per-point-stream start: the number of points whose
   outcome differs (expected 0: trustbench also keeps earlier fooling iterates, which
   could only add fooled points).
2. The plain loop from trustbench's starts against the same loop from torch's
   ``uniform_(-eps, eps)`` starts (what torchattacks draws), over many seeds: mean and
   standard deviation of the number of robust points. A gap would mean the start
   distribution, not the algorithm, makes the difference.

    .bench-venv/bin/python benchmarks/pgd_start_check.py --threads 1 --seeds 40
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch
import torch.nn.functional as F
from zoo import build_setups


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=40)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from trustbench.attacks import PGD
    from trustbench.attacks.pgd import stream_start
    from trustbench.attacks.streams import PointStreams
    from trustbench.domain import Domain
    from trustbench.models.torch import TorchModel

    setup = next(s for s in build_setups() if s.name == "synth-cnn")
    x, y = setup.head(256)
    model, eps = setup.model, setup.eps["linf"]
    alpha = 2.5 * eps / 20
    wrapped, domain = TorchModel(model, n_classes=10), Domain(lower=0.0, upper=1.0)
    with torch.no_grad():
        clean_wrong = model(x).argmax(1) != y

    def plain(start: torch.Tensor) -> torch.Tensor:
        """(N,) fooled by 20 reference PGD steps from ``start`` (or clean-misclassified)."""
        xa = start.clone()
        for _ in range(20):
            xa.requires_grad_(True)
            (g,) = torch.autograd.grad(F.cross_entropy(model(xa), y), xa)
            xa = xa.detach() + alpha * g.sign()
            xa = torch.clamp(x + torch.clamp(xa - x, -eps, eps), 0, 1).detach()
        with torch.no_grad():
            return (model(xa).argmax(1) != y) | clean_wrong

    def hash_start(seed: int) -> torch.Tensor:
        return stream_start(x, torch.arange(len(x)), norm="linf", eps=eps,
                            streams=PointStreams(seed), tag="pgd-start", counter=0).clamp(0, 1)

    print(f"synth-cnn, N={len(x)}, PGD-20 L∞ eps={eps:.5f}, torch threads "
          f"{torch.get_num_threads()}")
    for seed in range(min(5, args.seeds)):
        res = PGD(eps=eps, steps=20, early_stop=False, seed=seed).run(
            wrapped, x, y, domain=domain, batch_size=len(x))
        differ = int((res.fooled != plain(hash_start(seed))).sum())
        print(f"  seed {seed}: trustbench robust {int((~res.fooled).sum())} points; points "
              f"whose outcome differs from the plain loop from the same start: {differ}")
    ours, theirs = [], []
    for seed in range(args.seeds):
        ours.append(int((~plain(hash_start(seed))).sum()))
        torch.manual_seed(seed)
        start = torch.clamp(x + torch.empty_like(x).uniform_(-eps, eps), 0, 1)
        theirs.append(int((~plain(start)).sum()))
    print(f"  plain loop over {args.seeds} seeds, robust points of {len(x)}: trustbench "
          f"starts {statistics.mean(ours):.2f} ± {statistics.stdev(ours):.2f}, torch "
          f"uniform_ starts {statistics.mean(theirs):.2f} ± {statistics.stdev(theirs):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
