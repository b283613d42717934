"""Align a tiny language model with preference feedback, and check the result against the truth.

On trustbench's synthetic task the true reward of a response is known (the share of its
words that are "good"), so every step can be checked: a reward model trained on noisy
labels against those labels' own agreement with the truth; DPO's gain in true reward
against the KL it spent; best-of-n under the reward model, watched for over-optimisation;
and a reward-hacking probe. Everything is built from config (no downloads) and runs in
well under a minute on two CPU cores.

    python examples/align_synthetic.py --out align-example

Needs the [align] extra (transformers): pip install 'trustbench[align]'.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import torch

from trustbench.align import (
    RewardModel,
    SyntheticTask,
    split_preferences,
    tiny_gpt2,
    train_dpo,
    train_reward_model,
    train_sft,
)
from trustbench.align.bon import best_of_n_curve, best_of_n_kl
from trustbench.align.diagnostics import dpo_finding
from trustbench.align.evaluate import evaluate_reward_model
from trustbench.align.lm import sample
from trustbench.align.overopt import overoptimisation_finding
from trustbench.align.study import evaluate_policy
from trustbench.align.text import word_tokenizer
from trustbench.report import write_html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("align-example"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    seed, task = args.seed, SyntheticTask()
    tokenizer = word_tokenizer(task.vocabulary)

    # 1. the reference policy: SFT on the task's own (uniformly random) responses
    reference = tiny_gpt2(tokenizer, seed=seed)
    train_sft(reference, tokenizer, task.prompts(2000, seed=seed),
              task.responses(2000, seed=seed), epochs=2, lr=3e-3, batch_size=64, seed=seed)
    prompts = task.prompts(300, seed=seed + 500)
    base = evaluate_policy(reference, reference, tokenizer, prompts, task.true_reward, seed=seed)
    print(f"reference policy: true reward {base.true:.3f}")

    # 2. noisy labels from a simulated annotator, split by prompt; a reward model on them
    prefs = task.preferences(6000, seed=seed + 1, temperature=0.05)
    train, test = split_preferences(prefs, test_fraction=0.2, seed=seed)
    rm = RewardModel(tiny_gpt2(tokenizer, kind="reward", seed=seed + 3), tokenizer)
    train_reward_model(rm, train, epochs=6, lr=1e-3, batch_size=64, seed=seed)
    differ = [p for p in test if task.true_reward([p.chosen])[0]
              != task.true_reward([p.rejected])[0]]
    ceiling, _ = task.agreement_with_truth(differ)
    card = evaluate_reward_model(rm, differ, ceiling=ceiling, filler="w15 w16", seed=seed,
                                 words=task.vocabulary,
                                 gold=_TrueReward(task))
    accuracy = card.get("align.reward_model").metrics["accuracy"].value
    print(f"reward model: {accuracy:.1%} of held-out labels, the labels' own agreement with "
          f"the truth is {ceiling:.1%}")

    # 3. DPO from the reference on the same preferences
    policy = copy.deepcopy(reference)
    history = train_dpo(policy, reference, tokenizer, train, beta=2.5, epochs=1, lr=1e-3,
                        batch_size=64, seed=seed)
    card.findings.append(dpo_finding(history, label="DPO (beta 2.5)"))
    after = evaluate_policy(policy, reference, tokenizer, prompts, task.true_reward, seed=seed)
    print(f"DPO: true reward {after.true:.3f} ({after.true / base.true:.1f}x the reference) "
          f"at KL {after.kl_k1:.2f} nats (k3 {after.kl_k3:.2f})")

    # 4. best-of-n under the reward model, judged by the true reward
    pool_prompts = task.prompts(100, seed=seed + 900)
    repeated = [p for p in pool_prompts for _ in range(64)]
    pool = sample(reference, tokenizer, repeated, max_new_tokens=12,
                  generator=torch.Generator().manual_seed(seed)).texts
    proxy = rm.rewards(repeated, pool, batch_size=256).reshape(100, 64)
    true = task.true_reward(pool).reshape(100, 64)
    ns = [1, 2, 4, 8, 16, 32, 64]
    card.findings.append(overoptimisation_finding(
        [best_of_n_kl(n) for n in ns], best_of_n_curve(proxy, proxy, ns),
        best_of_n_curve(proxy, true, ns), label="best-of-n", seed=seed))
    print(card.get("align.overoptimisation").title)

    args.out.mkdir(parents=True, exist_ok=True)
    card.to_json(args.out / "scorecard.json")
    write_html(card, args.out / "report.html")
    print(f"aligned: {after.true / base.true:.1f}x the true reward; report in "
          f"{args.out / 'report.html'}")


class _TrueReward:
    """The task's true reward as a scorer, for the reward-hacking probe's judgement."""

    def __init__(self, task: SyntheticTask) -> None:
        self.task = task

    def rewards(self, prompts: list[str], responses: list[str], *,
                batch_size: int = 32) -> np.ndarray:
        return self.task.true_reward(responses)


if __name__ == "__main__":
    main()
