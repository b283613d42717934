"""Scan a PyTorch model from Python: train a small MLP on built-in digits, attack it over an
eps curve, and read the results from the scorecard.

Run: python examples/scan_torch_digits.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from trustbench import ScanConfig, load_builtin, scan
from trustbench.models import TorchModel


def train_mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    train = load_builtin("digits", split="train")
    x, y = torch.from_numpy(train.x), torch.from_numpy(train.y)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(150):  # full batch: the data set is tiny
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return net.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("trustbench-report/example"))
    args = parser.parse_args()

    model = TorchModel(train_mlp())  # inputs are raw pixels in [0, 1]
    test = load_builtin("digits", split="test")
    config = ScanConfig(eps=[0.02, 0.05, 0.1], norm="linf", attacks=["pgd", "apgd-ce"], n=200)
    card = scan(model, test, config)

    clean = card.get("accuracy.clean").metrics["accuracy"]
    print(f"clean accuracy {clean.value:.1%} (95% CI {clean.ci[0]:.1%}-{clean.ci[1]:.1%})")
    for eps in config.eps:
        m = card.get(f"robustness.worst.linf.{eps:g}").metrics["robust_accuracy"]
        print(f"eps={eps:<5g} worst-case robust accuracy {m.value:.1%}")
    for f in card.findings:
        if f.severity != "info":
            print(f"{f.severity.upper()}: {f.title}")
    print("scorecard:", card.to_json(args.out / "scorecard.json"))


if __name__ == "__main__":
    main()
