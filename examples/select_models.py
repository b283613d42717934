"""Choose among four digits models on real-world criteria, not on clean accuracy alone.

Trains four small CNNs on the built-in digits data — plain training at two widths, fast
FGSM adversarial training and TRADES — saves them, and runs ``trustbench select``'s
library call on them with one scan config and the requirement "robust accuracy at L∞
eps=0.1 of at least 50%". The most accurate model is not the one recommended: it breaks
under attack. Differences inside the 95% intervals are ties.

Run: python examples/select_models.py [--out DIR] [--epochs 12] [--n 150]

The same choice from the command line, on the saved files:

    trustbench select DIR/models/*.safetensors --data digits --eps 0.1 --attacks fgsm,pgd \\
        --n-samples 150 --require 'robust_acc@linf:0.1 >= 0.6'

(each saved model's architecture and width are in DIR/models/NAME.json, next to it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from trustbench import ScanConfig, load_builtin
from trustbench.demo import DemoCNN
from trustbench.harden import Trainer
from trustbench.harden.run import save_with_arch
from trustbench.models import TorchModel
from trustbench.report import write_html
from trustbench.select import Candidate, parse_requirement, select_models, selection_card

EPS = 0.1
#: name: (training method, width, training eps) -- hardened at twice the eps they are judged at
RECIPES = {"standard-w32": ("standard", 32, 0.0), "standard-w8": ("standard", 8, 0.0),
           "fast-at-w16": ("fast-at", 16, 2 * EPS), "trades-w16": ("trades", 16, 2 * EPS)}


def train(method: str, width: int, eps: float, epochs: int) -> DemoCNN:
    torch.manual_seed(0)
    module = DemoCNN(width=width)
    Trainer(method=method, eps=eps or EPS, epochs=epochs, lr=1e-2, patience=None,
            seed=0).fit(module, load_builtin("digits", split="train"))
    return module.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("trustbench-report/select-models"))
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--n", type=int, default=150, help="test points to scan")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny CNNs: one thread is as fast, and CI machines are shared

    candidates = []
    for name, (method, width, eps) in RECIPES.items():
        module = train(method, width, eps, args.epochs)
        path, _ = save_with_arch(module, args.out / "models", arch="trustbench.demo:DemoCNN",
                                 arch_kwargs={"width": width}, data="digits",
                                 name=f"{name}.safetensors")
        candidates.append(Candidate(name, TorchModel(module), str(path)))
        print(f"trained {name}")

    config = ScanConfig(eps=[EPS], norm="linf", attacks=["fgsm", "pgd"], n=args.n, seed=0)
    requirement = parse_requirement(f"robust_acc@linf:{EPS:g} >= 0.6")
    sel = select_models(candidates, load_builtin("digits", split="test"), config,
                        requirements=[requirement], repeats=10)
    card = selection_card(sel, data={"name": "digits"}, requirements=[requirement.text])
    card.to_json(args.out / "scorecard.json")
    write_html(card, args.out / "report.html")

    most_accurate = max(sel.values, key=lambda n: sel.values[n]["clean_acc"].value)
    for n in sel.ranking:
        v = sel.values[n]
        print(f"{n:>13}: clean {v['clean_acc'].value:.1%}, robust "
              f"{v[f'robust_acc@linf:{EPS:g}'].value:.1%}, win rate {sel.win_rate[n]:.2f}"
              + (f"  (out: {'; '.join(sel.missed[n])})" if sel.missed[n] else ""))
    print(card.get("select.recommendation").title)
    print(f"most accurate: {most_accurate}; recommended: {sel.recommended}")
    if sel.recommended is None or sel.recommended == most_accurate:
        raise SystemExit("expected a robust model to be recommended over the most accurate one")
    print("robust accuracy decides: the most accurate model is not the recommended one")


if __name__ == "__main__":
    main()
