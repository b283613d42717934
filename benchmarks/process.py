"""The standard ensemble as a whole process: ``trustbench scan`` vs torchattacks' AutoAttack.

What a user waits for, start to finish: interpreter start, imports, model and data
loading, any tuning, the attack, writing the result. Both processes get the same model file
(the demo CNN's weights), the same 200 digits test points (saved once to an ``.npz``) and
L∞ eps 0.1, and run alternately, ``--rounds`` times each, one after the other (never at
the same time); medians are reported.

- trustbench: ``trustbench scan --attacks standard`` with every other check off — APGD-CE
  and APGD-T at 100 iterations (the paper's recipe), then Square (5,000 queries).
- torchattacks: ``AutoAttack(version="standard")`` — its class defaults, i.e. APGD,
  APGD-T and FAB-T at 10 steps (torchattacks' default, not the paper's 100), then Square
  (5,000 queries).
- torchattacks, paper recipe: the same four attacks chained with torchattacks'
  ``MultiAttack`` as ``AutoAttack`` chains them, with the 100 steps of Croce & Hein (2020)
  — the like-for-like comparison.

trustbench's package is byte-compiled first, as ``pip install`` does for torchattacks (an
editable install under ``PYTHONDONTWRITEBYTECODE`` would otherwise recompile every module
in every process).

``--floor`` adds one in-process measurement of each library's attack against its floor of
model work: the time spent inside the model's forward passes and input-gradient
computations, timed around the calls themselves; the rest is the library's own work.

Robust accuracy is read from each process's output (trustbench's scorecard; torchattacks'
script scores its adversarial examples with the same model).

Usage::

    bash benchmarks/setup_env.sh
    .bench-venv/bin/python benchmarks/process.py --rounds 5 --floor
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

TORCHATTACKS_SCRIPT = """
import sys, time
import numpy as np, torch, torchattacks
from safetensors.torch import load_file
from trustbench.demo import DemoCNN
weights, points, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(threads)
model = DemoCNN(); model.load_state_dict(load_file(weights)); model.eval()
for p in model.parameters():
    p.requires_grad_(False)
d = np.load(points)
x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"]).long()
attack = torchattacks.AutoAttack(model, norm="Linf", eps=0.1, version="standard",
                                 n_classes=10, seed=0)
adv = attack(x, y)
with torch.no_grad():
    robust = float((model(adv).argmax(1) == y).float().mean())
print(robust)
"""

PAPER_SCRIPT = TORCHATTACKS_SCRIPT.replace(
    """attack = torchattacks.AutoAttack(model, norm="Linf", eps=0.1, version="standard",
                                 n_classes=10, seed=0)""",
    """from torchattacks import APGD, APGDT, FAB, MultiAttack, Square
attack = MultiAttack([
    APGD(model, eps=0.1, norm="Linf", steps=100, loss="ce", n_restarts=1, seed=0),
    APGDT(model, eps=0.1, norm="Linf", steps=100, n_classes=10, n_restarts=1, seed=0),
    FAB(model, eps=0.1, norm="Linf", steps=100, multi_targeted=True, n_classes=10,
        n_restarts=1, seed=0),
    Square(model, eps=0.1, norm="Linf", n_queries=5000, n_restarts=1, seed=0)])""")


def _points(folder: Path) -> Path:
    """Save the 200 seeded digits test points that ``trustbench scan --n 200`` evaluates."""
    from trustbench.data import load_builtin

    ds = load_builtin("digits", split="test").sample(200, seed=0)
    out = folder / "digits200.npz"
    np.savez(out, x=ds.x.astype(np.float32), y=ds.y.astype(np.int64),
             lower=np.zeros(ds.x.shape[1:], np.float32), upper=np.ones(ds.x.shape[1:], np.float32))
    return out


def _trustbench(weights: Path, points: Path, out: Path, threads: int) -> tuple[float, float]:
    cmd = [str(BIN / "trustbench"), "scan", "--model", str(weights), "--arch",
           "trustbench.demo:DemoCNN", "--data", str(points), "--eps", "0.1", "--attacks",
           "standard", "--shifts", "none", "--no-ood", "--no-calibration", "--no-subgroups",
           "--no-validity", "--threads", str(threads), "--out", str(out), "-q"]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t
    card = json.loads((out / "scorecard.json").read_text())
    robust = next(f for f in card["findings"] if f["id"] == "robustness.worst.linf.0.1")
    attack = next(f for f in card["findings"] if f["id"] == "robustness.standard.linf.0.1")
    print(f"  trustbench: batch size {card['provenance']['runtime']['batch_size']}, ensemble "
          f"{attack['metrics']['wall_time']['value']:.1f} s", file=sys.stderr)
    return wall, robust["metrics"]["robust_accuracy"]["value"]


def _torchattacks(weights: Path, points: Path, threads: int, *,
                  script: str = TORCHATTACKS_SCRIPT) -> tuple[float, float]:
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", script, str(weights), str(points),
                          str(threads)], check=True, capture_output=True, text=True)
    return time.perf_counter() - t, float(res.stdout.strip().splitlines()[-1])


class _ModelClock:
    """Time spent in a torch module's forward passes and in input gradients (in-process)."""

    def __init__(self, module: Any) -> None:
        import torch

        self.seconds, self.forward = 0.0, module.forward
        self._grad = torch.autograd.grad
        module.forward = self._timed(self.forward)
        torch.autograd.grad = self._timed(self._grad)

    def _timed(self, fn: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t

        return run

    def stop(self, module: Any) -> None:
        import torch

        module.forward = self.forward
        torch.autograd.grad = self._grad


def _floor(weights: Path, points: Path, threads: int) -> dict[str, tuple[float, float]]:
    """(wall seconds of the attack, seconds inside the model) for each library, in-process."""
    import torch
    import torchattacks
    from safetensors.torch import load_file

    import trustbench
    from trustbench.demo import DemoCNN

    torch.set_num_threads(threads)
    d = np.load(points)
    x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"]).long()
    out = {}
    for lib in ("trustbench", "torchattacks"):
        module = DemoCNN()
        module.load_state_dict(load_file(weights))
        module.eval()
        clock = _ModelClock(module)
        t = time.perf_counter()
        if lib == "trustbench":
            data = trustbench.load_data(points)
            cfg = trustbench.ScanConfig(eps=[0.1], attacks=["standard"], shifts=[], ood=False,
                                        calibration=False, subgroups=False, validity=False,
                                        threads=threads, eps_units="raw")
            trustbench.scan(module, data, cfg)
        else:
            for p in module.parameters():
                p.requires_grad_(False)
            torchattacks.AutoAttack(module, norm="Linf", eps=0.1, version="standard",
                                    n_classes=10, seed=0)(x, y)
        out[lib] = (time.perf_counter() - t, clock.seconds)
        clock.stop(module)
    return out


def main() -> None:
    """Run the comparison and print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--floor", action="store_true",
                    help="also measure each attack against its floor of model work")
    args = ap.parse_args()
    import trustbench

    # byte-compile trustbench as pip does for an installed package
    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    str(Path(trustbench.__file__).parent)], check=True)
    from trustbench.demo import load_demo_model

    _, weights = load_demo_model()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        points = _points(folder)
        procs = {
            "trustbench": lambda r: _trustbench(weights, points, folder / f"out{r}", args.threads),
            "torchattacks": lambda r: _torchattacks(weights, points, args.threads),
            "torchattacks, paper recipe": lambda r: _torchattacks(
                weights, points, args.threads, script=PAPER_SCRIPT),
        }
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in procs}
        for r in range(args.rounds):
            order = list(procs) if r % 2 == 0 else list(reversed(procs))
            for lib in order:
                res = procs[lib](r)
                runs[lib].append(res)
                print(f"round {r + 1}: {lib} {res[0]:.1f} s, robust accuracy {res[1]:.1%}",
                      file=sys.stderr)
        floor = _floor(weights, points, args.threads) if args.floor else {}
    med = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    print("| process | median wall time (s) | all runs (s) | robust accuracy |")
    print("|---|---|---|---|")
    for lib, v in runs.items():
        print(f"| {lib} | {med[lib]:.1f} | {', '.join(f'{w:.1f}' for w, _ in v)} | "
              f"{', '.join(sorted({f'{a:.1%}' for _, a in v}))} |")
    for ref in ("torchattacks", "torchattacks, paper recipe"):
        print(f"\nratio trustbench / {ref} (medians): {med['trustbench'] / med[ref]:.2f}")
    if floor:
        print("\n| in-process attack | wall (s) | inside the model (s) | wall / model |")
        print("|---|---|---|---|")
        for lib, (wall, model) in floor.items():
            print(f"| {lib} | {wall:.2f} | {model:.2f} | {wall / model:.2f} |")


if __name__ == "__main__":
    main()
