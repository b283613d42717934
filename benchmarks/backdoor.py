"""Backdoors on digits over seeds: the attack, the four detectors, and ART's where it has them.

For each seed and poison rate: a BadNets 2x2 checkerboard (bottom-right, all-to-one, target
0) on ``rate`` of the digits training split; a DemoCNN trained on it and one on the clean
split (same seed). Reported per seed, then as medians:

* clean accuracy of both and the attack success rate (ASR) of the backdoored model;
* spectral signatures' recall of the poisoned rows at the paper's ``eps = 0.1`` and at the
  true poisoned share of the target class (the bound the paper assumes known);
* activation clustering's true- and false-positive rates;
* STRIP's true-positive rate on stamped test images at a threshold set for 1% false
  rejections on held-out clean ones (and the false rejections it actually has);
* Neural Cleanse's model anomaly index on the backdoored and on the clean model.

With ``--art-python`` (an environment with adversarial-robustness-toolbox and torch), ART's
``SpectralSignatureDefense``, ``ActivationDefence`` and ``STRIP`` run on the same model and
data in that process, side by side (ART is never a project dependency; its Neural Cleanse
needs a Keras classifier, ART #871, so it is left out)::

    python benchmarks/backdoor.py --seeds 5 --out backdoor-benchmark [--art-python PY]
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
import torch

from trustbench.data import load_builtin
from trustbench.demo import DemoCNN
from trustbench.security.detect.activation_clustering import activation_clustering
from trustbench.security.detect.neural_cleanse import neural_cleanse
from trustbench.security.detect.spectral import spectral_signatures
from trustbench.security.detect.strip import STRIP
from trustbench.security.features import representations
from trustbench.security.mitigate import retrain_without
from trustbench.security.poison import PatchTrigger, accuracy, attack_success_rate, poison

ART_RUNNER = r'''
import json, sys, numpy as np, torch, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, sys.argv[2])
from art.estimators.classification import PyTorchClassifier
from art.defences.detector.poison import ActivationDefence, SpectralSignatureDefense
d = np.load(sys.argv[1])
from demo_cnn import DemoCNN
m = DemoCNN(16); m.load_state_dict(torch.load(sys.argv[3])); m.eval()
clf = PyTorchClassifier(m, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 8, 8),
                        nb_classes=10, clip_values=(0.0, 1.0))
x, y = d["x"], np.eye(10)[d["y"]]
truth = d["poisoned"].astype(bool)
out = {}
for name, eps in (("art_spectral_eps0.1", 0.1), ("art_spectral_true", float(d["share"]))):
    ss = SpectralSignatureDefense(clf, x, y, batch_size=128, eps_multiplier=1.5,
                                  expected_pp_poison=eps)
    _, clean = ss.detect_poison()
    flagged = np.array(clean) == 0
    out[name] = {"recall": float((flagged & truth).sum() / truth.sum()),
                 "fpr": float((flagged & ~truth).sum() / (~truth).sum())}
ac = ActivationDefence(clf, x, y)
_, clean = ac.detect_poison(nb_clusters=2, nb_dims=10, reduce="PCA")
flagged = np.array(clean) == 0
out["art_activation"] = {"tpr": float((flagged & truth).sum() / truth.sum()),
                         "fpr": float((flagged & ~truth).sum() / (~truth).sum())}
from art.defences.transformer.poisoning import STRIP as ArtSTRIP
np.random.seed(0)  # ART's STRIP draws from the global RNG
proba = PyTorchClassifier(torch.nn.Sequential(m, torch.nn.Softmax(dim=1)),  # STRIP needs probabilities
                          loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 8, 8),
                          nb_classes=10, clip_values=(0.0, 1.0))
strip = ArtSTRIP(proba)(num_samples=20, false_acceptance_rate=0.01)
strip.mitigate(d["hold"])
abstained = lambda p: float(np.mean(~np.any(p, axis=1)))  # an abstention is all zeros
out["art_strip"] = {"tpr": abstained(strip.predict(d["stamped"])),
                    "frr": abstained(strip.predict(d["probe"]))}
print(json.dumps(out))
'''


def _rates(flagged: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    return (float((flagged & truth).sum() / truth.sum()),
            float((flagged & ~truth).sum() / (~truth).sum()))


def one(seed: int, rate: float, art_python: str | None) -> dict:
    """Run every measurement for one seed and poison rate."""
    train = load_builtin("digits", split="train", seed=0)
    test = load_builtin("digits", split="test", seed=0)
    trig = PatchTrigger(size=2, pattern="checkerboard")
    data = poison(train.x, train.y, trig, rate=rate, target=0, seed=seed)

    def make() -> DemoCNN:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return DemoCNN(16)

    none = np.zeros(len(data.y), bool)
    t0 = time.perf_counter()
    model = retrain_without(make, data.x, data.y, none, seed=seed)
    clean_model = retrain_without(make, train.x, train.y, none, seed=seed)
    row: dict = {"seed": seed, "rate": rate, "train_seconds": (time.perf_counter() - t0) / 2}
    row["clean_acc_clean_model"] = accuracy(clean_model, test.x, test.y)[0]
    row["clean_acc"] = accuracy(model, test.x, test.y)[0]
    row["asr"] = attack_success_rate(model, test.x, test.y, trig)[0]
    feats = representations(model, data.x)
    share = float((data.poisoned & (data.y == 0)).sum() / (data.y == 0).sum())
    row["target_share"] = share
    for name, eps in (("spectral_eps0.1", 0.1), ("spectral_true", min(0.6, share))):
        r, f = _rates(spectral_signatures(feats, data.y, eps=eps).flagged, data.poisoned)
        row[name] = {"recall": r, "fpr": f}
    ac = activation_clustering(feats, data.y, seed=seed)
    r, f = _rates(ac.flagged, data.poisoned)
    row["activation"] = {"tpr": r, "fpr": f, "target_flagged": 0 in ac.poisoned_classes}
    order = np.random.default_rng(seed).permutation(len(test.y))
    hold, probe = order[:270], order[270:]
    strip = STRIP(model, n=50, frr=0.01, seed=seed).fit(test.x[hold])
    stamped = trig(test.x[probe][test.y[probe] != 0])
    row["strip"] = {"tpr": float(strip.detect(stamped).flagged.mean()),
                    "frr": float(strip.detect(test.x[probe]).flagged.mean())}
    t0 = time.perf_counter()
    nc = neural_cleanse(model, test.x[hold][:128], steps=150, seed=seed)
    row["nc_seconds"] = time.perf_counter() - t0
    nc_clean = neural_cleanse(clean_model, test.x[hold][:128], steps=150, seed=seed)
    row["nc"] = {"backdoored": nc.model_anomaly_index, "flagged": nc.flagged,
                 "clean": nc_clean.model_anomaly_index, "clean_flagged": nc_clean.flagged}
    if art_python:
        with tempfile.TemporaryDirectory() as d:
            np.savez(f"{d}/data.npz", x=data.x, y=data.y, poisoned=data.poisoned, share=share,
                     hold=test.x[hold], probe=test.x[probe], stamped=stamped)
            torch.save(model.state_dict(), f"{d}/model.pt")
            import inspect as source_of

            Path(f"{d}/demo_cnn.py").write_text("import torch\nfrom torch import nn\n\n\n"
                                                + source_of.getsource(DemoCNN))
            proc = subprocess.run([art_python, "-c", ART_RUNNER, f"{d}/data.npz", d,
                                   f"{d}/model.pt"], capture_output=True, text=True,
                                  timeout=1800, check=False)
            lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
            row["art"] = json.loads(lines[-1]) if lines else {"error": proc.stderr[-500:]}
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the seeds, write the JSON and print the medians."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--rates", default="0.05,0.1")
    ap.add_argument("--art-python", default=None)
    ap.add_argument("--out", type=Path, default=Path("backdoor-benchmark"))
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    rows = [one(s, float(r), args.art_python) for r in args.rates.split(",")
            for s in range(args.seeds)]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "backdoor-benchmark.json").write_text(json.dumps(rows, indent=2))
    med = statistics.median
    for rate in sorted({r["rate"] for r in rows}):
        rs = [r for r in rows if r["rate"] == rate]
        print(f"\npoison rate {rate:.0%} ({len(rs)} seeds, medians; min-max for NC)")
        print(f"clean accuracy {med(r['clean_acc'] for r in rs):.3f} (clean model "
              f"{med(r['clean_acc_clean_model'] for r in rs):.3f}), ASR "
              f"{med(r['asr'] for r in rs):.3f}")
        for k in ("spectral_eps0.1", "spectral_true"):
            print(f"{k}: recall {med(r[k]['recall'] for r in rs):.2f}, "
                  f"FPR {med(r[k]['fpr'] for r in rs):.3f}")
        print(f"activation clustering: TPR {med(r['activation']['tpr'] for r in rs):.2f}, "
              f"FPR {med(r['activation']['fpr'] for r in rs):.3f}, target class flagged in "
              f"{sum(r['activation']['target_flagged'] for r in rs)}/{len(rs)}")
        print(f"STRIP: TPR {med(r['strip']['tpr'] for r in rs):.3f} at FRR "
              f"{med(r['strip']['frr'] for r in rs):.3f}")
        nb = [r["nc"]["backdoored"] for r in rs]
        nc_ = [r["nc"]["clean"] for r in rs]
        print(f"Neural Cleanse anomaly index: backdoored {min(nb):.1f}-{max(nb):.1f}, clean "
              f"{min(nc_):.1f}-{max(nc_):.1f}; separated in "
              f"{sum(b > 2 >= c for b, c in zip(nb, nc_, strict=True))}/{len(rs)} seeds")
        if rs[0].get("art") and "error" not in rs[0]["art"]:
            for k in ("art_spectral_eps0.1", "art_spectral_true"):
                print(f"ART {k[4:]}: recall {med(r['art'][k]['recall'] for r in rs):.2f}, "
                      f"FPR {med(r['art'][k]['fpr'] for r in rs):.3f}")
            print(f"ART activation: TPR {med(r['art']['art_activation']['tpr'] for r in rs):.2f},"
                  f" FPR {med(r['art']['art_activation']['fpr'] for r in rs):.3f}")
            print(f"ART STRIP: TPR {med(r['art']['art_strip']['tpr'] for r in rs):.3f} at FRR "
                  f"{med(r['art']['art_strip']['frr'] for r in rs):.3f}")
        elif rs[0].get("art"):
            print("ART failed: " + rs[0]["art"]["error"][-300:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
