"""Harden a small CNN with TRADES and measure what it bought: train the same architecture
with plain cross-entropy and with TRADES on the built-in digits data, scan both at L∞
eps=0.1, and compare robust and clean accuracy.

Run: python examples/harden_digits.py [--out DIR] [--epochs 15] [--n 200]

Writes DIR/scorecard.json (the TRADES model's scan, with its training history),
DIR/standard/scorecard.json, and DIR/trades/model.safetensors + model.json, so that

    trustbench compress --model DIR/trades/model.safetensors --data digits --out DIR/compress

reports what distilling and quantizing the hardened model costs. Exits 1 if TRADES does not
gain at least 25 points of robust accuracy for at most 5 points of clean accuracy.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from trustbench import ScanConfig, load_builtin, scan
from trustbench.demo import DemoCNN
from trustbench.harden import Trainer
from trustbench.harden.run import save_with_arch, training_finding
from trustbench.models import TorchModel

EPS = 0.1


def train(method: str, epochs: int) -> tuple[DemoCNN, Trainer, object]:
    torch.manual_seed(0)  # the same initial weights for both methods
    module = DemoCNN(width=16)
    trainer = Trainer(method=method, eps=EPS, epochs=epochs, lr=1e-2, patience=None, seed=0)
    result = trainer.fit(module, load_builtin("digits", split="train"))
    return module, trainer, result


def headline(card, eps: float = EPS) -> tuple[float, float]:
    clean = card.get("accuracy.clean").metrics["accuracy"].value
    robust = card.get(f"robustness.worst.linf.{eps:g}").metrics["robust_accuracy"].value
    return clean, robust


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("trustbench-report/harden-digits"))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--n", type=int, default=200, help="test points to scan")
    args = parser.parse_args()
    torch.set_num_threads(1)  # a tiny CNN: one thread is as fast, and CI machines are shared

    test = load_builtin("digits", split="test")
    # pgd and the AutoAttack ensemble (APGD-CE, APGD-T, Square) at L∞ eps=0.1
    config = ScanConfig(eps=[EPS], norm="linf", attacks=["pgd", "standard"], n=args.n, seed=0)
    cards = {}
    for method in ("standard", "trades"):
        t0 = time.perf_counter()
        module, trainer, result = train(method, args.epochs)
        t1 = time.perf_counter()
        card = scan(TorchModel(module), test, config)
        card.findings.insert(0, training_finding(result, trainer, None, card))
        cards[method] = card
        clean, robust = headline(card)
        print(f"{method:>8}: clean accuracy {clean:.1%}, robust accuracy {robust:.1%} at L∞ "
              f"eps={EPS:g} (trained {t1 - t0:.0f}s, scanned {time.perf_counter() - t1:.0f}s)")
        if method == "trades":
            save_with_arch(module, args.out / "trades", arch="trustbench.demo:DemoCNN",
                           arch_kwargs={"width": 16}, data="digits")

    (c0, r0), (c1, r1) = headline(cards["standard"]), headline(cards["trades"])
    gain, cost = r1 - r0, c0 - c1
    print(f"TRADES: robust accuracy {gain * 100:+.1f} points, clean accuracy "
          f"{-cost * 100:+.1f} points")
    cards["standard"].to_json(args.out / "standard" / "scorecard.json")
    print("scorecard:", cards["trades"].to_json(args.out / "scorecard.json"))
    if gain < 0.25 or cost > 0.05:
        print("expected at least +25 points of robust accuracy for at most 5 points of clean")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
