"""Supervised fine-tuning: maximise the log-likelihood of the responses given their prompts.

The loss is the mean negative log-probability over response tokens (prompt and padding
masked), the usual first stage before DPO or RL — and how the synthetic task makes its
reference policy.

References
----------
Ouyang et al., "Training language models to follow instructions with human feedback",
NeurIPS 2022 (the SFT stage).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from trustbench.align.encode import adamw, batches, pack, pad_id, tokenize
from trustbench.align.lm import token_logprobs
from trustbench.errors import InputError

__all__ = ["train_sft"]


def train_sft(policy: Any, tokenizer: Any, prompts: Sequence[str], responses: Sequence[str],
              *, epochs: int = 3, lr: float = 1e-3, batch_size: int = 32, seed: int = 0,
              max_length: int = 512,
              on_step: Callable[[int, int, float], None] | None = None) -> list[float]:
    """Fit ``policy`` to the responses; return the per-step loss (nats per response token)."""
    if len(prompts) != len(responses) or not prompts:
        raise InputError(f"{len(prompts)} prompts for {len(responses)} responses",
                         fix="give one prompt per response, at least one")
    rng = np.random.default_rng(seed)
    opt = adamw(policy.parameters(), lr)
    rows = tokenize(tokenizer, prompts, responses)  # once, not per step
    total, losses = epochs * len(batches(len(prompts), batch_size)), []
    policy.train()
    for _ in range(epochs):
        order = rng.permutation(len(prompts))
        for s in batches(len(prompts), batch_size):
            enc = pack([rows[i] for i in order[s]], pad=pad_id(tokenizer), max_length=max_length)
            loss = -token_logprobs(policy, enc).sum() / enc.response_mask.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            if on_step is not None:
                on_step(len(losses), total, losses[-1])
    policy.eval()
    return losses
