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

Robust accuracy is read from each process's output (trustbench's scorecard; torchattacks'
script scores its adversarial examples with the same model).

Usage::

    bash benchmarks/setup_env.sh
    .bench-venv/bin/python benchmarks/process.py --rounds 5
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
    return wall, robust["metrics"]["robust_accuracy"]["value"]


def _torchattacks(weights: Path, points: Path, threads: int) -> tuple[float, float]:
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", TORCHATTACKS_SCRIPT, str(weights), str(points),
                          str(threads)], check=True, capture_output=True, text=True)
    return time.perf_counter() - t, float(res.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run the comparison and print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from trustbench.demo import load_demo_model

    _, weights = load_demo_model()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        points = _points(folder)
        runs: dict[str, list[tuple[float, float]]] = {"trustbench": [], "torchattacks": []}
        for r in range(args.rounds):
            order = ["trustbench", "torchattacks"] if r % 2 == 0 else ["torchattacks", "trustbench"]
            for lib in order:
                res = (_trustbench(weights, points, folder / f"out{r}", args.threads)
                       if lib == "trustbench" else _torchattacks(weights, points, args.threads))
                runs[lib].append(res)
                print(f"round {r + 1}: {lib} {res[0]:.1f} s, robust accuracy {res[1]:.1%}",
                      file=sys.stderr)
    med = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    print("| process | median wall time (s) | all runs (s) | robust accuracy |")
    print("|---|---|---|---|")
    for lib, v in runs.items():
        print(f"| {lib} | {med[lib]:.1f} | {', '.join(f'{w:.1f}' for w, _ in v)} | "
              f"{', '.join(sorted({f'{a:.1%}' for _, a in v}))} |")
    print(f"\nratio trustbench / torchattacks (medians): {med['trustbench'] / med['torchattacks']:.2f}")


if __name__ == "__main__":
    main()
