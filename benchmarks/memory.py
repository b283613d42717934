"""Peak memory of attacking many digits-sized points, one library per fresh process.

``python benchmarks/memory.py LIBRARY N [THREADS]`` loads the demo CNN and N digits-sized
points (the 540 test points tiled), resets the process's peak-RSS mark (writing 5 to
``/proc/self/clear_refs``), runs PGD-20 L∞ eps=0.1 in batches of 1,000 points, and prints
one JSON line: the resident set before the attack and its peak during it (``VmHWM``). A
fresh process per library keeps imports and high-water marks apart.

Why VmHWM and not only getrusage's ``ru_maxrss``: Linux carries ``ru_maxrss`` across
``exec``, so a child started from a large parent reports the parent's size (the benchmark's
main process is several GiB by then). ``ru_maxrss`` is printed too, for the record.
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


def _status_mib(field: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    """Reset the peak-RSS mark (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


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

    setup_peak = _status_mib("VmHWM")
    reset = _reset_peak()
    before = _status_mib("VmRSS")
    start = time.perf_counter()
    x_adv = run_all()
    wall = time.perf_counter() - start
    peak = _status_mib("VmHWM")
    v = verdict(model, x, y, x_adv, norm="linf", eps=0.1)
    return {"library": library, "n": n, "setup_peak_mib": setup_peak, "peak_reset": reset,
            "rss_before_mib": before, "peak_during_mib": peak,
            "attack_peak_increase_mib": peak - before, "ru_maxrss_mib": _max_rss_mib(),
            "wall": wall,
            "robust_accuracy": v.robust_accuracy, "torch_threads": torch.get_num_threads()}


def measure_all(libraries: tuple[str, ...], n: int, *, threads: int) -> list[dict]:
    """Run the child once per library (sequentially, so they do not compete)."""
    out = []
    for lib in libraries:
        proc = subprocess.run([sys.executable, __file__, lib, str(n), str(threads)],
                              capture_output=True,
                              text=True, check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            out.append({"library": lib, "error": proc.stderr.strip().splitlines()[-1:]})
        else:
            out.append(json.loads(lines[-1]))
    return out


if __name__ == "__main__":
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else torch.get_num_threads())
    print(json.dumps(_child(sys.argv[1], int(sys.argv[2]))))
