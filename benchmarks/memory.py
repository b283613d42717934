"""Peak memory of attacking many digits-sized points, one library per fresh process.

``python benchmarks/memory.py LIBRARY N`` loads the demo CNN and N digits-sized points
(the 540 test points tiled), records the peak resident set size (getrusage ``ru_maxrss``),
runs PGD-20 L∞ eps=0.1 in batches of 1,000 points, and prints one JSON line with the peak
before and after the attack. A fresh process per library keeps the high-water marks apart.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from libs import Spec, make_runner
from measure import verdict

__all__ = ["measure_all"]

BATCH = 1000


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(library: str, n: int) -> dict:
    from zoo import digits_test

    from trustbench.demo import load_demo_model

    model, _ = load_demo_model()
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x0, y0 = digits_test()
    reps = -(-n // len(x0))
    x = x0.repeat(reps, 1, 1, 1)[:n].contiguous()  # (n, 1, 8, 8)
    y = y0.repeat(reps)[:n].contiguous()
    spec = Spec("pgd", "linf", 0.1, steps=20, step_size=2.5 * 0.1 / 20, early_stop=False)
    # The same batch for everyone: trustbench batches inside run(); the others get slices.
    runner = make_runner(library, spec, model, x[:BATCH])
    if runner is None:
        return {"library": library, "error": "no such attack"}
    if library == "trustbench":
        from trustbench.attacks import PGD
        from trustbench.domain import Domain
        from trustbench.models.torch import TorchModel

        attack = PGD(eps=0.1, norm="linf", steps=20, step_size=spec.step_size,
                     early_stop=False, seed=0)
        wrapped = TorchModel(model, n_classes=10)

        def run_all() -> torch.Tensor:
            return attack.run(wrapped, x, y, domain=Domain(lower=0.0, upper=1.0),
                              batch_size=BATCH).x_adv
    else:
        def run_all() -> torch.Tensor:
            return torch.cat([runner.run(x[i : i + BATCH], y[i : i + BATCH])
                              for i in range(0, n, BATCH)])

    before = _max_rss_mib()
    start = time.perf_counter()
    x_adv = run_all()
    wall = time.perf_counter() - start
    after = _max_rss_mib()
    v = verdict(model, x, y, x_adv, norm="linf", eps=0.1)
    return {"library": library, "n": n, "peak_before_mib": before, "peak_after_mib": after,
            "attack_peak_increase_mib": after - before, "wall": wall,
            "robust_accuracy": v.robust_accuracy, "torch_threads": torch.get_num_threads()}


def measure_all(libraries: tuple[str, ...], n: int) -> list[dict]:
    """Run the child once per library (sequentially, so they do not compete)."""
    out = []
    for lib in libraries:
        proc = subprocess.run([sys.executable, __file__, lib, str(n)], capture_output=True,
                              text=True, check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            out.append({"library": lib, "error": proc.stderr.strip().splitlines()[-1:]})
        else:
            out.append(json.loads(lines[-1]))
    return out


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], int(sys.argv[2]))))
