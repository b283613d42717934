"""Evaluate a trained reward model (and a policy under it) on the user's own data.

:func:`evaluate_reward_model` gathers, for held-out preferences: accuracy, calibration and
the reward distribution; length bias; accuracy per annotator group; accuracy under
perturbations; and the reward-hacking probe. With a policy, prompts and a *gold* reward
model (a larger or independently trained one standing in for the truth, as in Gao et al.
2023), :func:`overoptimisation_under_gold` draws best-of-n curves under the reward model and
judges them by the gold one. What cannot be measured without those is said in
``not_measured``.

References
----------
Gao, Schulman & Hilton, "Scaling Laws for Reward Model Overoptimization", ICML 2023.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import torch

from trustbench.align.bon import best_of_n_curve, best_of_n_kl
from trustbench.align.data import Preference
from trustbench.align.lm import sample
from trustbench.align.overopt import overoptimisation_finding
from trustbench.align.reward import RewardModel
from trustbench.align.reward_eval import group_finding, length_bias_finding, reward_model_finding
from trustbench.align.robust import Scorer, perturbation_finding, reward_hacking_finding
from trustbench.errors import InputError
from trustbench.findings import Finding
from trustbench.scorecard import Scorecard

__all__ = ["FILLER", "evaluate_reward_model", "overoptimisation_under_gold", "probe_words"]

FILLER = "I hope this helps."
PROBE_STARTS = 40


def probe_words(prefs: Sequence[Preference], *, n: int = 24) -> list[str]:
    """Return the ``n`` most frequent words of the rejected responses (edits a probe may use)."""
    counts = Counter(w for p in prefs for w in p.rejected.split())
    return [w for w, _ in counts.most_common(n)]


def evaluate_reward_model(rm: RewardModel, prefs: Sequence[Preference], *,
                          ceiling: float | None = None, perturbations: bool = True,
                          filler: str = FILLER, words: Sequence[str] | None = None,
                          gold: Scorer | None = None, seed: int = 0,
                          step: Callable[[str], None] | None = None) -> Scorecard:
    """Every reward-model finding on held-out ``prefs``, as a Scorecard."""
    if not prefs:
        raise InputError("no preferences to evaluate on", fix="give a non-empty file")
    say = step or (lambda name: None)
    say("rewards")
    rc, rr = rm.pair_rewards(prefs)
    findings: list[Finding] = [reward_model_finding(rc, rr, ceiling=ceiling),
                               length_bias_finding(prefs, rc, rr)]
    group = group_finding(prefs, rc, rr)
    not_measured = [] if group else ["align.groups: the preferences carry no annotator or "
                                     "group"]
    findings += [group] if group else []
    if perturbations:
        say("perturbations")
        findings.append(perturbation_finding(rm, prefs, filler=filler, seed=seed))
    say("reward-hacking probe")
    starts = list(prefs)[:PROBE_STARTS]
    findings.append(reward_hacking_finding(
        rm, [p.prompt for p in starts], [p.rejected for p in starts],
        words=list(words) if words else probe_words(prefs),
        true_reward=None if gold is None else gold.rewards))
    if ceiling is None:
        not_measured.append("align.reward_model ceiling: no labeller-truth agreement given")
    return Scorecard(findings, provenance={"kind": "align reward-model evaluation",
                                           "pairs": len(prefs), "seed": seed},
                     not_measured=not_measured)


def overoptimisation_under_gold(policy: Any, tokenizer: Any, proxy: Scorer, gold: Scorer,
                                prompts: Sequence[str], *, pool: int = 32,
                                max_new_tokens: int = 32, seed: int = 0) -> Finding:
    """Best-of-n under ``proxy`` for n = 1, 2, 4 .. ``pool``, judged by ``gold``."""
    if pool < 4:
        raise InputError(f"--pool must be at least 4 (best-of-1, 2 and 4), got {pool}",
                         fix="use --pool 32")
    repeated = [p for p in prompts for _ in range(pool)]
    texts = sample(policy, tokenizer, repeated, max_new_tokens=max_new_tokens,
                   generator=torch.Generator().manual_seed(seed)).texts
    shape = (len(prompts), pool)
    p = proxy.rewards(repeated, texts).reshape(shape)
    g = gold.rewards(repeated, texts).reshape(shape)
    ns = [n for n in (1, 2, 4, 8, 16, 32, 64, 128, 256) if n <= pool]
    return overoptimisation_finding([best_of_n_kl(n) for n in ns], best_of_n_curve(p, p, ns),
                                    best_of_n_curve(p, g, ns),
                                    label="best-of-n under the reward model, judged by the "
                                          "gold reward model", seed=seed)
