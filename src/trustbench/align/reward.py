"""Bradley–Terry reward models: train one on preferences, read rewards that padding cannot move.

The model is :func:`~trustbench.align.models.tiny_gpt2` (``kind="reward"``) or any one-label
decoder classifier; :class:`RewardModel` runs its backbone, applies its ``score`` head and
reads the value at each sequence's last real token (see :mod:`trustbench.align.encode`).
The loss is the Bradley–Terry negative log-likelihood ``-log sigmoid(r_c - r_r - margin)``,
the ``margin`` term as in Llama 2's reward model.

References
----------
Bradley & Terry, "Rank analysis of incomplete block designs", Biometrika 39 (1952).
Ouyang et al., "Training language models to follow instructions with human feedback",
NeurIPS 2022. Touvron et al., "Llama 2", arXiv:2307.09288 (2023), section 3.2.2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from trustbench.align.data import Preference
from trustbench.align.encode import Encoded, adamw, batches, encode, pack, pad_id, tokenize

__all__ = ["RewardModel", "bradley_terry_loss", "train_reward_model"]


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor,
                       margin: torch.Tensor | None = None) -> torch.Tensor:
    """Mean ``-log sigmoid(r_chosen - r_rejected - margin)`` over the batch."""
    diff = r_chosen - r_rejected
    if margin is not None:
        diff = diff - margin
    return -F.logsigmoid(diff).mean()


class RewardModel:
    """A one-label classifier seen as ``reward(prompt, response)``.

    Parameters
    ----------
    model
        A ``transformers`` ``...ForSequenceClassification`` with ``num_labels=1`` and a
        per-token ``score`` head.
    tokenizer
        Its tokenizer (it needs an EOS token; its pad token does not matter).
    max_length
        Tokens per prompt + response at most.
    """

    def __init__(self, model: Any, tokenizer: Any, *, max_length: int = 512) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length

    def encode(self, prompts: Sequence[str], responses: Sequence[str], *,
               padding_side: str = "right") -> Encoded:
        """Encode prompt + response rows the way :meth:`forward` reads them."""
        return encode(self.tokenizer, prompts, responses, max_length=self.max_length,
                      padding_side=padding_side)

    def forward(self, enc: Encoded) -> torch.Tensor:
        """Rewards ``(N,)`` with gradients: the score head at each row's last real token."""
        hidden = self.model.base_model(**enc.model_inputs()).last_hidden_state  # (N, T, H)
        values = self.model.score(hidden).squeeze(-1).float()  # (N, T)
        return values.gather(1, enc.last[:, None]).squeeze(1)  # (N,)

    @torch.no_grad()
    def rewards(self, prompts: Sequence[str], responses: Sequence[str], *,
                batch_size: int = 32) -> np.ndarray:
        """Rewards ``(N,)`` as a NumPy array, in eval mode, batch by batch."""
        was_training = self.model.training
        self.model.eval()
        try:
            out = [self.forward(self.encode(prompts[s], responses[s])).numpy()
                   for s in batches(len(prompts), batch_size)]
        finally:
            self.model.train(was_training)
        return np.concatenate(out) if out else np.zeros(0)

    def pair_rewards(self, prefs: Sequence[Preference], *,
                     batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Rewards of the chosen and of the rejected responses of ``prefs``."""
        prompts = [p.prompt for p in prefs]
        return (self.rewards(prompts, [p.chosen for p in prefs], batch_size=batch_size),
                self.rewards(prompts, [p.rejected for p in prefs], batch_size=batch_size))


def train_reward_model(rm: RewardModel, prefs: Sequence[Preference], *, epochs: int = 3,
                       lr: float = 1e-3, batch_size: int = 32, seed: int = 0,
                       on_step: Callable[[int, int, float], None] | None = None) -> list[float]:
    """Fit ``rm`` to ``prefs`` by the Bradley–Terry loss with AdamW; return the step losses.

    Pairs are shuffled each epoch by a generator made from ``seed``; ``on_step(step,
    total, loss)`` is called after every step (a progress bar).
    """
    rng = np.random.default_rng(seed)
    opt = adamw(rm.model.parameters(), lr)
    prompts = [p.prompt for p in prefs]
    chosen = tokenize(rm.tokenizer, prompts, [p.chosen for p in prefs])  # once, not per step
    rejected = tokenize(rm.tokenizer, prompts, [p.rejected for p in prefs])
    margins = torch.tensor([p.margin or 0.0 for p in prefs])
    has_margin = any(p.margin is not None for p in prefs)
    total, losses = epochs * len(batches(len(prefs), batch_size)), []
    rm.model.train()
    for _ in range(epochs):
        order = rng.permutation(len(prefs))
        for s in batches(len(prefs), batch_size):
            idx = order[s].tolist()
            # chosen and rejected in one forward pass: one padding, one set of statistics
            enc = pack([chosen[i] for i in idx] + [rejected[i] for i in idx],
                       pad=pad_id(rm.tokenizer), max_length=rm.max_length)
            r = rm.forward(enc)  # (2B,)
            loss = bradley_terry_loss(r[:len(idx)], r[len(idx):],
                                      margins[idx] if has_margin else None)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            if on_step is not None:
                on_step(len(losses), total, losses[-1])
    rm.model.eval()
    return losses
