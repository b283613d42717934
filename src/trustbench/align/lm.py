"""Causal-LM arithmetic: response log-probabilities, KL estimates and seeded sampling.

Log-probabilities are summed over response tokens only (prompt and padding masked), in
fp32. Sampling runs its own loop with a ``torch.Generator`` (``generate`` draws from the
global RNG) and a key-value cache; a row that emits EOS stops there.

The two KL estimators of Schulman (2020), per sampled response ``y ~ policy``, with
``log r = log p_ref(y) - log p_policy(y)`` summed per token:

* ``k1 = -log r`` — unbiased, but single samples can be negative (trl#1161 is users seeing
  that and calling it a bug);
* ``k3 = (r - 1) - log r`` per token — unbiased too, and never negative.

References
----------
Schulman, "Approximating KL divergence", http://joschu.net/blog/kl-approx.html (2020).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from trustbench.align.encode import Encoded, pack, pad_id

__all__ = ["Samples", "kl_estimates", "sample", "sequence_logprobs", "token_logprobs"]


def token_logprobs(model: Any, enc: Encoded) -> torch.Tensor:
    """Log-probability of each response token given what precedes it, 0 elsewhere.

    Returns ``(N, T)``: entry ``t`` is ``log p(token t | tokens < t)`` where ``t`` is a
    response position, and 0 on prompt and padding positions (and at ``t = 0``).
    """
    logits = model(**enc.model_inputs()).logits.float()  # (N, T, V)
    logp = torch.log_softmax(logits[:, :-1], dim=-1)  # (N, T-1, V)
    picked = logp.gather(2, enc.input_ids[:, 1:, None]).squeeze(2)  # (N, T-1)
    mask = enc.response_mask[:, 1:]
    out = torch.zeros(enc.input_ids.shape, dtype=picked.dtype)
    out[:, 1:] = torch.where(mask, picked, torch.zeros_like(picked))
    return out  # (N, T)


def sequence_logprobs(model: Any, enc: Encoded) -> torch.Tensor:
    """Sum of the response tokens' log-probabilities, per row: ``(N,)``."""
    return token_logprobs(model, enc).sum(dim=1)


def kl_estimates(policy_token_logp: torch.Tensor, ref_token_logp: torch.Tensor,
                 mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sequence ``k1`` and ``k3`` estimates of KL(policy || reference), ``(N,)`` each.

    The inputs are ``(N, T)`` per-token log-probabilities of tokens *sampled from the
    policy* and the response mask.
    """
    log_r = (ref_token_logp - policy_token_logp) * mask  # (N, T)
    k1 = -log_r.sum(dim=1)
    k3 = ((torch.exp(log_r) - 1 - log_r) * mask).sum(dim=1)
    return k1, k3


@dataclass(frozen=True)
class Samples:
    """Sampled responses: the token ids per row (EOS included when emitted) and their text."""

    prompt_ids: list[list[int]]
    response_ids: list[list[int]]
    texts: list[str]

    def encoded(self, pad: int, *, max_length: int = 512) -> Encoded:
        """Return the prompts with their sampled responses as one padded batch."""
        return pack(list(zip(self.prompt_ids, self.response_ids, strict=True)), pad=pad,
                    max_length=max_length)


@torch.no_grad()
def sample(model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int = 16,
           temperature: float = 1.0, generator: torch.Generator | None = None) -> Samples:
    """Sample one response per prompt (repeat prompts for several), with a seeded generator."""
    eos, pad = tokenizer.eos_token_id, pad_id(tokenizer)
    prompt_ids = [list(tokenizer(p, add_special_tokens=False)["input_ids"]) or [eos]
                  for p in prompts]
    enc = pack([(p, []) for p in prompt_ids], pad=pad, padding_side="left",
               max_length=max_new_tokens + max(map(len, prompt_ids)) + 1)
    # transformers 5 renamed past_key_values to cache (the old name warns, then goes)
    key = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    banned = [i for i in tokenizer.all_special_ids if i != eos]  # pad, unk: never sampled
    was_training = model.training
    model.eval()
    try:
        ids, mask, pos = enc.input_ids, enc.attention_mask, enc.position_ids
        out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
        n = len(prompts)
        new = torch.zeros((n, max_new_tokens), dtype=torch.long)
        done = torch.zeros(n, dtype=torch.bool)
        for t in range(max_new_tokens):
            logits = out.logits[:, -1].float() / max(temperature, 1e-6)  # (N, V)
            logits[:, banned] = -torch.inf
            token = torch.multinomial(torch.softmax(logits, dim=-1), 1,
                                      generator=generator).squeeze(1)  # (N,)
            new[:, t] = token
            done |= token == eos
            if bool(done.all()):
                break
            mask = torch.cat([mask, torch.ones((n, 1), dtype=mask.dtype)], dim=1)
            pos = pos[:, -1:] + 1
            out = model(input_ids=token[:, None], attention_mask=mask, position_ids=pos,
                        use_cache=True, **{key: getattr(out, key)})
    finally:
        model.train(was_training)
    responses: list[list[int]] = []
    for row in new.tolist():
        cut = row.index(eos) + 1 if eos in row else max_new_tokens
        responses.append(row[:cut])
    texts = [tokenizer.decode([i for i in r if i != eos], skip_special_tokens=True)
             for r in responses]
    return Samples(prompt_ids, responses, texts)
