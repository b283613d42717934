"""Online RL with a KL leash: RLOO (REINFORCE leave-one-out) against a reward function.

Each step samples ``k`` responses to each of a batch of prompts from the policy, scores
them, and subtracts ``kl_coef`` times the sequence's KL estimate ``k1 = log pi(y) - log
ref(y)`` from the score (the KL penalty in the reward, as in PPO-style RLHF). Response
``i``'s advantage is its reward minus the mean reward of the *other* ``k - 1`` responses
to the same prompt — an unbiased baseline that needs no value network — and the loss is
``-advantage * log pi(y)``.

Both KL estimators are reported every step: ``k1`` (unbiased, single samples can be
negative — negative *means* would be a bug, negative samples are not) and ``k3``
(unbiased and never negative). See :mod:`trustbench.align.lm`.

References
----------
Ahmadian et al., "Back to Basics: Revisiting REINFORCE Style Optimization for Learning
from Human Feedback in LLMs", ACL 2024. Kool et al., "Buy 4 REINFORCE samples, get a
baseline for free!", ICLR workshop 2019.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from trustbench.align.encode import adamw, pad_id
from trustbench.align.lm import kl_estimates, sample, token_logprobs
from trustbench.errors import InputError

__all__ = ["RLStep", "RewardFn", "train_rloo"]

RewardFn = Callable[[Sequence[str], Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class RLStep:
    """What one RLOO step saw (means over its samples)."""

    step: int
    loss: float
    score: float
    kl_k1: float
    kl_k3: float
    reward: float
    response_words: float

    def to_dict(self) -> dict[str, float]:
        """Return the step as a plain dict."""
        return asdict(self)


def train_rloo(policy: Any, reference: Any, tokenizer: Any, reward_fn: RewardFn,
               prompts: Sequence[str], *, k: int = 4, kl_coef: float = 0.05,
               steps: int = 100, batch_prompts: int = 16, lr: float = 3e-4,
               max_new_tokens: int = 16, temperature: float = 1.0, seed: int = 0,
               on_step: Callable[[RLStep, int], None] | None = None) -> list[RLStep]:
    """Train ``policy`` by RLOO on ``reward_fn(prompts, responses)``; return every step.

    ``k`` responses per prompt (at least 2, for the leave-one-out baseline); prompts are
    drawn and responses sampled with generators made from ``seed``.
    """
    if k < 2:
        raise InputError(f"k must be at least 2 (the baseline leaves one out), got {k}",
                         fix="use k=4")
    if not (kl_coef >= 0 and np.isfinite(kl_coef)):
        raise InputError(f"kl_coef must be a number >= 0, got {kl_coef}", fix="try 0.05")
    if not prompts:
        raise InputError("no prompts to train on", fix="give at least one prompt")
    rng = np.random.default_rng([seed, 7])
    gen = torch.Generator().manual_seed(seed)
    pad = pad_id(tokenizer)
    opt = adamw(policy.parameters(), lr)
    reference.eval()
    history: list[RLStep] = []
    for _ in range(steps):
        chosen = rng.choice(len(prompts), size=min(batch_prompts, len(prompts)), replace=False)
        batch = [prompts[i] for i in chosen for _ in range(k)]  # each prompt k times
        samples = sample(policy, tokenizer, batch, max_new_tokens=max_new_tokens,
                         temperature=temperature, generator=gen)
        enc = samples.encoded(pad)
        score = torch.as_tensor(np.asarray(reward_fn(batch, samples.texts), dtype=float),
                                dtype=torch.float32)  # (B k,)
        policy.train()
        logp = token_logprobs(policy, enc)  # (B k, T)
        with torch.no_grad():
            ref_logp = token_logprobs(reference, enc)
        k1, k3 = kl_estimates(logp.detach(), ref_logp, enc.response_mask)
        reward = (score - kl_coef * k1).view(-1, k)  # (B, k)
        baseline = (reward.sum(dim=1, keepdim=True) - reward) / (k - 1)
        advantage = (reward - baseline).view(-1)
        loss = -(advantage * logp.sum(dim=1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(RLStep(
            step=len(history) + 1, loss=float(loss.detach()), score=float(score.mean()),
            kl_k1=float(k1.mean()), kl_k3=float(k3.mean()), reward=float(reward.mean()),
            response_words=float(np.mean([len(t.split()) for t in samples.texts]))))
        if on_step is not None:
            on_step(history[-1], steps)
    policy.eval()
    return history
