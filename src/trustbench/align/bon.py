"""Best-of-n: sample ``n`` responses, keep the one the reward model scores highest.

Its KL to the sampling policy is known in closed form, ``log n - (n - 1) / n`` (an upper
bound that is tight for continuous rewards), so best-of-n traces a reward–KL curve without
any training — the classic way to see a proxy reward model being over-optimised. The
curve is estimated from one pool of ``N`` samples per prompt with the unbiased estimator
of the expected best-of-``n`` outcome (every ``n``-subset of the pool, weighted exactly),
far less noisy than drawing fresh subsets.

References
----------
Nakano et al., "WebGPT", arXiv:2112.09332 (2021), appendix (best-of-n KL).
Gao, Schulman & Hilton, "Scaling Laws for Reward Model Overoptimization", ICML 2023.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb, log
from typing import Any

import numpy as np
import torch

from trustbench.align.lm import sample
from trustbench.align.rl import RewardFn
from trustbench.errors import InputError

__all__ = ["best_of_n", "best_of_n_curve", "best_of_n_kl"]


def best_of_n_kl(n: int) -> float:
    """KL(best-of-n || policy) in nats: ``log n - (n - 1) / n``."""
    return log(n) - (n - 1) / n


def best_of_n(policy: Any, tokenizer: Any, reward_fn: RewardFn, prompts: Sequence[str], *,
              n: int = 8, max_new_tokens: int = 16, seed: int = 0) -> list[str]:
    """Return, per prompt, the highest-scoring of ``n`` sampled responses."""
    if n < 1:
        raise InputError(f"n must be at least 1, got {n}", fix="use n=8")
    repeated = [p for p in prompts for _ in range(n)]
    texts = sample(policy, tokenizer, repeated, max_new_tokens=max_new_tokens,
                   generator=torch.Generator().manual_seed(seed)).texts
    scores = np.asarray(reward_fn(repeated, texts), dtype=float).reshape(len(prompts), n)
    return [texts[i * n + int(j)] for i, j in enumerate(scores.argmax(axis=1))]


def best_of_n_curve(proxy: np.ndarray, outcome: np.ndarray,
                    ns: Sequence[int]) -> np.ndarray:
    """Return the expected ``outcome`` of best-of-``n`` by ``proxy``, per prompt and ``n``.

    ``proxy`` and ``outcome`` are ``(P, N)``: a pool of ``N`` samples for each of ``P``
    prompts. Returns ``(P, len(ns))``. With the pool sorted by proxy, the ``i``-th smallest
    (1-based) is the best of a random ``n``-subset with probability
    ``C(i - 1, n - 1) / C(N, n)``; ties in the proxy are broken by order within the pool.
    """
    proxy, outcome = np.asarray(proxy, dtype=float), np.asarray(outcome, dtype=float)
    if proxy.shape != outcome.shape or proxy.ndim != 2:
        raise InputError(f"proxy {proxy.shape} and outcome {outcome.shape} must be the same "
                         "(prompts, samples) shape", fix="give one pool per prompt")
    pool = proxy.shape[1]
    if any(n < 1 or n > pool for n in ns):
        raise InputError(f"every n must be in 1..{pool} (the pool size), got {list(ns)}",
                         fix="sample a larger pool or use smaller n")
    order = np.argsort(proxy, axis=1, kind="stable")
    ranked = np.take_along_axis(outcome, order, axis=1)  # (P, N), by rising proxy
    out = np.empty((proxy.shape[0], len(ns)))
    for j, n in enumerate(ns):
        w = np.array([comb(i - 1, n - 1) for i in range(1, pool + 1)], dtype=float)
        out[:, j] = ranked @ (w / comb(pool, n))
    return out
