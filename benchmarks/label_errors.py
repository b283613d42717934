"""Label errors on digits with 10% of labels flipped: trustbench against cleanlab.

For each seed, 10% of the 1,797 digits labels are flipped to another class at random. The
out-of-fold probabilities come from trustbench's default label-error model (5-fold
cross-validation of a scaled logistic regression, exactly as ``trustbench audit`` computes
them); both libraries get the *same* probabilities:

* trustbench: :func:`trustbench.audit.find_label_issues` (confident learning, prune by noise
  rate), rows ranked by self-confidence, flagged rows first;
* cleanlab: ``cleanlab.filter.find_label_issues(labels, pred_probs,
  return_indices_ranked_by="self_confidence")``.

Top-k uses k = the number of flipped rows, so precision@k equals recall@k; a library that
flags fewer than k rows is padded with its unflagged rows by self-confidence. cleanlab is
not a trustbench dependency: run this with the benchmark environment, where it is installed::

    .bench-venv/bin/pip install cleanlab   # once
    OMP_NUM_THREADS=2 .bench-venv/bin/python benchmarks/label_errors.py --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

from trustbench.audit import find_label_issues, label_quality, rank_label_issues
from trustbench.audit.base import AuditContext
from trustbench.audit.label_errors import out_of_fold_proba


def flip_labels(y: np.ndarray, rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = int(y.max()) + 1
    idx = rng.choice(len(y), size=round(rate * len(y)), replace=False)
    noisy = y.copy()
    noisy[idx] = (y[idx] + rng.integers(1, k, size=len(idx))) % k
    return noisy, idx


def oof_probs(x: np.ndarray, y: np.ndarray, *, label_model: str, seed: int) -> np.ndarray:
    frame = pd.DataFrame(x, columns=[f"px{i}" for i in range(x.shape[1])]).assign(target=y)
    ctx = AuditContext(frame=frame, n_train=len(y), target="target",
                       features=list(frame.columns[:-1]), label_model=label_model, seed=seed)
    proba, has, _ = out_of_fold_proba(ctx)
    assert has.all()
    return proba


def top_k(order: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """The first k of a ranking of flagged rows, padded with the other rows by score."""
    by_score = np.argsort(scores, kind="stable")
    rest = by_score[~np.isin(by_score, order)]
    return np.concatenate([order, rest])[:k]


def markdown(df: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--rate", type=float, default=0.10)
    parser.add_argument("--label-model", default="logistic", choices=["logistic", "hgb"])
    args = parser.parse_args()
    try:
        from cleanlab.filter import find_label_issues as cleanlab_find
    except ImportError:
        cleanlab_find = None
        print("cleanlab is not installed here: run with .bench-venv/bin/python (see --help)")
    d = load_digits()
    rows = []
    for seed in args.seeds:
        y, flipped = flip_labels(d.target, args.rate, seed)
        truth = np.zeros(len(y), bool)
        truth[flipped] = True
        k = len(flipped)
        t = time.perf_counter()
        probs = oof_probs(d.data, y, label_model=args.label_model, seed=seed)
        t_probs = time.perf_counter() - t
        scores = label_quality(y, probs)
        t = time.perf_counter()
        mask = find_label_issues(y, probs)
        ours = rank_label_issues(mask, scores)[:k]
        t_ours = time.perf_counter() - t
        row = {"seed": seed, "flipped": k, "probs_s": t_probs,
               "tb_topk": truth[ours].mean(), "tb_flagged": int(mask.sum()),
               "tb_precision": truth[mask].mean(), "tb_recall": truth[mask].sum() / k,
               "tb_s": t_ours}
        if cleanlab_find is not None:
            t = time.perf_counter()
            ranked = cleanlab_find(labels=y, pred_probs=probs,
                                   return_indices_ranked_by="self_confidence", n_jobs=1)
            t_cl = time.perf_counter() - t
            theirs = top_k(np.asarray(ranked), scores, k)
            cl_mask = np.zeros(len(y), bool)
            cl_mask[ranked] = True
            row |= {"cl_topk": truth[theirs].mean(), "cl_flagged": int(cl_mask.sum()),
                    "cl_precision": truth[cl_mask].mean(), "cl_recall": truth[cl_mask].sum() / k,
                    "cl_s": t_cl, "same_flags": bool((cl_mask == mask).all())}
        rows.append(row)
    df = pd.DataFrame(rows)
    print(f"digits, {args.rate:.0%} of labels flipped, out-of-fold probabilities from the "
          f"default {args.label_model} model (5 folds); k = flipped rows")
    cols = ["seed", "flipped", "tb_topk", "tb_precision", "tb_recall", "tb_flagged"]
    if cleanlab_find is not None:
        cols += ["cl_topk", "cl_precision", "cl_recall", "cl_flagged", "same_flags"]
    print(markdown(df[cols]))
    means = df[[c for c in cols if c.endswith(("topk", "precision", "recall"))]].mean()
    print("\nmean: " + ", ".join(f"{c} {v:.3f}" for c, v in means.items()))
    print(f"time per run: probabilities {df['probs_s'].mean():.2f}s, trustbench "
          f"{df['tb_s'].mean() * 1000:.1f}ms"
          + (f", cleanlab {df['cl_s'].mean() * 1000:.1f}ms" if "cl_s" in df else ""))


if __name__ == "__main__":
    main()
