"""Prompt + response pairs as padded token batches, with padding that cannot change a result.

The classic reward-model bug (trl#937) reads the reward at "the last token that is not the
pad token": with pad = EOS that is the token *before* the EOS the response ends with, and
the rewards move with the padding. Here nothing is found by comparing ids: every sequence
carries its attention mask, position ids counted from the mask (so left padding does not
shift GPT-2's absolute positions) and a response mask; the reward is read at the last
attended position and log-probabilities sum over response positions only. So pad = EOS,
left or right padding and the batch size give the same numbers (a test checks all three).

Prompt and response are tokenized separately, so the boundary between them is exact; the
response ends with the tokenizer's EOS; a sequence longer than ``max_length`` loses the
start of its prompt, never its response.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from trustbench.errors import InputError

__all__ = ["Encoded", "adamw", "batches", "encode", "pack", "pad_id", "tokenize"]


@dataclass(frozen=True)
class Encoded:
    """A padded batch: ids, attention mask, position ids and which tokens are the response."""

    input_ids: torch.Tensor       # (N, T) long
    attention_mask: torch.Tensor  # (N, T) long, 1 on real tokens
    position_ids: torch.Tensor    # (N, T) long, 0.. along the real tokens
    response_mask: torch.Tensor   # (N, T) bool, True on response tokens (EOS included)

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def last(self) -> torch.Tensor:
        """The index of each row's last real token, whatever side the padding is on."""
        t = self.input_ids.shape[1]
        positions = torch.arange(t).expand_as(self.attention_mask)
        return (positions * self.attention_mask).argmax(dim=1)  # (N,)

    @property
    def response_lengths(self) -> torch.Tensor:
        """Tokens per response, EOS included: ``(N,)``."""
        return self.response_mask.sum(dim=1)  # (N,)

    def model_inputs(self) -> dict[str, torch.Tensor]:
        """Return the keyword arguments of a ``transformers`` model's forward."""
        return {"input_ids": self.input_ids, "attention_mask": self.attention_mask,
                "position_ids": self.position_ids}


def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def encode(tokenizer: Any, prompts: Sequence[str], responses: Sequence[str], *,
           max_length: int = 512, padding_side: str = "right") -> Encoded:
    """Tokenize ``prompt + response + EOS`` per row and pad to one length.

    Parameters
    ----------
    tokenizer
        A ``transformers`` tokenizer with an EOS token (its pad token is not used).
    prompts, responses
        One prompt per response (repeat a prompt to pair it with several responses).
    max_length
        Tokens per sequence at most; the start of a longer prompt is cut.
    padding_side
        ``"right"`` or ``"left"``; the results do not depend on it.
    """
    if len(prompts) != len(responses):
        raise InputError(f"{len(prompts)} prompts for {len(responses)} responses",
                         fix="give one prompt per response")
    return pack(tokenize(tokenizer, prompts, responses), pad=pad_id(tokenizer),
                max_length=max_length, padding_side=padding_side)


def pad_id(tokenizer: Any) -> int:
    """Return the id padding is written with: the pad token's, else EOS (never read back)."""
    return int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None
               else tokenizer.eos_token_id)


def tokenize(tokenizer: Any, prompts: Sequence[str],
             responses: Sequence[str]) -> list[tuple[list[int], list[int]]]:
    """``(prompt ids, response ids + EOS)`` per row, for :func:`pack` (tokenize once, pack often).

    An empty prompt becomes ``[EOS]``, the usual start token of a causal LM without BOS.
    """
    eos = tokenizer.eos_token_id
    return [(_ids(tokenizer, p) or [eos], [*_ids(tokenizer, r), eos])
            for p, r in zip(prompts, responses, strict=True)]


def pack(rows: Sequence[tuple[Sequence[int], Sequence[int]]], *, pad: int,
         max_length: int = 512, padding_side: str = "right") -> Encoded:
    """Pad ``(prompt ids, response ids)`` rows into an :class:`Encoded` batch.

    The response ids are taken as they are (a sampled response that hit its length limit
    has no EOS); a prompt that does not fit loses its start. An empty prompt is not
    allowed: the first response token needs a position to be predicted from.
    """
    if padding_side not in ("left", "right"):
        raise InputError(f"padding_side must be 'left' or 'right', got {padding_side!r}",
                         fix="use padding_side='right'")
    if not rows:
        raise InputError("no sequences to encode", fix="give at least one prompt and response")
    fitted: list[tuple[list[int], int]] = []
    for p, r in rows:
        if not p:
            raise InputError("a prompt encodes to no tokens", fix="give non-empty prompts")
        if len(r) >= max_length:
            raise InputError(f"a response of {len(r)} tokens does not fit max_length "
                             f"{max_length}", fix="raise max_length or shorten the responses")
        keep = list(p)[max(0, len(p) + len(r) - max_length):]
        fitted.append((keep + list(r), len(keep)))
    t = max(len(ids) for ids, _ in fitted)
    ids_rows, mask_rows, resp_rows = [], [], []
    for ids, n_prompt in fitted:  # plain lists, one tensor each at the end: cheap per step
        pad_n, n_resp = t - len(ids), len(ids) - n_prompt
        real, mask, resp = ids, [1] * len(ids), [False] * n_prompt + [True] * n_resp
        if padding_side == "left":
            ids_rows.append([pad] * pad_n + real)
            mask_rows.append([0] * pad_n + mask)
            resp_rows.append([False] * pad_n + resp)
        else:
            ids_rows.append(real + [pad] * pad_n)
            mask_rows.append(mask + [0] * pad_n)
            resp_rows.append(resp + [False] * pad_n)
    input_ids = torch.tensor(ids_rows, dtype=torch.long)
    attention = torch.tensor(mask_rows, dtype=torch.long)
    response = torch.tensor(resp_rows, dtype=torch.bool)
    position_ids = (attention.cumsum(dim=1) - 1).clamp(min=0)
    return Encoded(input_ids, attention, position_ids, response)


def batches(n: int, batch_size: int) -> list[slice]:
    """Consecutive slices of ``range(n)`` of at most ``batch_size``."""
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def adamw(params: Any, lr: float) -> torch.optim.Optimizer:
    """AdamW without weight decay, fused where torch has a fused kernel (CPU has one)."""
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=0.0, fused=True)
    except (RuntimeError, TypeError):  # an older torch or an unsupported device
        return torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
