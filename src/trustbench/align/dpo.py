"""Direct preference optimisation: DPO, IPO and conservative DPO, with diagnostics every step.

With ``h = (log pi(y_c) - log ref(y_c)) - (log pi(y_r) - log ref(y_r))`` per pair:

* ``sigmoid`` (DPO): ``-(1 - eps) log sigmoid(beta h) - eps log sigmoid(-beta h)``;
  ``label_smoothing = eps > 0`` is conservative DPO, for labels flipped with rate ``eps``;
* ``ipo``: ``(h - 1 / (2 beta))^2`` on log-probabilities averaged over each response's
  tokens (as TRL does), which keeps the margin finite where DPO's would grow forever.

Every step records the policy's mean chosen and rejected log-probabilities, the implicit
rewards ``beta (log pi - log ref)``, their margin and the share of pairs whose chosen
reward is the larger (implicit-reward accuracy). **A falling chosen log-probability is
expected**, not a bug (trl#800): the loss only asks the *gap* to grow, and on a finite
sample both log-probabilities usually fall while the rejected one falls faster — the
probability mass goes to responses outside the training pairs. Worry when the margin or the
implicit-reward accuracy stops growing, not when the chosen log-probability falls.

References
----------
Rafailov et al., "Direct Preference Optimization", NeurIPS 2023.
Azar et al., "A General Theoretical Paradigm to Understand Learning from Human
Preferences" (IPO), AISTATS 2024. Mitchell, "A note on DPO with noisy preferences" (2023).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from trustbench.align.data import Preference
from trustbench.align.encode import adamw, batches, pack, pad_id, tokenize
from trustbench.align.lm import token_logprobs
from trustbench.errors import InputError

__all__ = ["LOSS_TYPES", "DPOStep", "dpo_loss", "heldout_reward_accuracy", "pair_logprobs",
           "train_dpo"]

LOSS_TYPES = ("sigmoid", "ipo")


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor,
             ref_chosen: torch.Tensor, ref_rejected: torch.Tensor, *, beta: float = 0.1,
             loss_type: str = "sigmoid", label_smoothing: float = 0.0) -> torch.Tensor:
    """Per-pair DPO / IPO / conservative-DPO losses ``(N,)`` from response log-probabilities."""
    h = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)  # (N,)
    if loss_type == "sigmoid":
        return (-(1 - label_smoothing) * F.logsigmoid(beta * h)
                - label_smoothing * F.logsigmoid(-beta * h))
    if loss_type == "ipo":
        return (h - 1 / (2 * beta)) ** 2
    raise InputError(f"loss_type must be one of {', '.join(LOSS_TYPES)}, got {loss_type!r}",
                     fix="use loss_type='sigmoid' (DPO) or 'ipo'")


def _pair_rows(tokenizer: Any, prefs: Sequence[Preference]) -> list[tuple[Any, Any]]:
    prompts = [p.prompt for p in prefs]
    return list(zip(tokenize(tokenizer, prompts, [p.chosen for p in prefs]),
                    tokenize(tokenizer, prompts, [p.rejected for p in prefs]), strict=True))


def _logprobs(model: Any, rows: Sequence[tuple[Any, Any]], pad: int, average: bool,
              max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    enc = pack([c for c, _ in rows] + [r for _, r in rows], pad=pad, max_length=max_length)
    logp = token_logprobs(model, enc).sum(dim=1)  # (2N,): chosen, then rejected
    if average:
        logp = logp / enc.response_lengths.clamp(min=1)
    return logp[:len(rows)], logp[len(rows):]


def pair_logprobs(model: Any, tokenizer: Any, prefs: Sequence[Preference], *,
                  average: bool = False,
                  max_length: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of the chosen and the rejected responses, in one forward pass.

    ``average=True`` divides each by its number of response tokens (IPO's form).
    """
    return _logprobs(model, _pair_rows(tokenizer, prefs), pad_id(tokenizer), average,
                     max_length)


@dataclass(frozen=True)
class DPOStep:
    """What one DPO step saw (means over its batch)."""

    step: int
    loss: float
    chosen_logp: float
    rejected_logp: float
    chosen_reward: float
    rejected_reward: float
    margin: float
    reward_accuracy: float

    def to_dict(self) -> dict[str, float]:
        """Return the step as a plain dict."""
        return asdict(self)


def _check(beta: float, loss_type: str, label_smoothing: float) -> None:
    if not (beta > 0 and np.isfinite(beta)):
        raise InputError(f"beta must be a positive number, got {beta}", fix="try beta=0.1")
    if not 0 <= label_smoothing < 0.5:
        raise InputError(f"label_smoothing must be in [0, 0.5), got {label_smoothing}",
                         fix="use the share of labels you expect to be wrong, e.g. 0.1")
    if loss_type not in LOSS_TYPES:
        dpo_loss(torch.zeros(1), torch.zeros(1), torch.zeros(1), torch.zeros(1),
                 loss_type=loss_type)


def train_dpo(policy: Any, reference: Any, tokenizer: Any, prefs: Sequence[Preference], *,
              beta: float = 0.1, loss_type: str = "sigmoid", label_smoothing: float = 0.0,
              epochs: int = 1, lr: float = 1e-3, batch_size: int = 32, seed: int = 0,
              max_length: int = 512,
              on_step: Callable[[DPOStep, int], None] | None = None) -> list[DPOStep]:
    """Train ``policy`` by DPO against the frozen ``reference``; return every step's diagnostics.

    The reference's log-probabilities are computed once, before the first step. Pairs are
    shuffled each epoch by a generator made from ``seed``; ``on_step(step, total)`` is
    called after every step.
    """
    _check(beta, loss_type, label_smoothing)
    if not prefs:
        raise InputError("no preference pairs to train on", fix="give a non-empty file")
    average, pad = loss_type == "ipo", pad_id(tokenizer)
    rows = _pair_rows(tokenizer, prefs)  # tokenized once, packed per step
    reference.eval()
    with torch.no_grad():
        ref = [_logprobs(reference, rows[s], pad, average, max_length)
               for s in batches(len(rows), 64)]
    ref_c, ref_r = torch.cat([c for c, _ in ref]), torch.cat([r for _, r in ref])
    rng = np.random.default_rng(seed)
    opt = adamw(policy.parameters(), lr)
    total = epochs * len(batches(len(prefs), batch_size))
    history: list[DPOStep] = []
    policy.train()
    for _ in range(epochs):
        order = rng.permutation(len(prefs))
        for s in batches(len(prefs), batch_size):
            idx = torch.as_tensor(order[s])
            pc, pr = _logprobs(policy, [rows[i] for i in idx.tolist()], pad, average,
                               max_length)
            losses = dpo_loss(pc, pr, ref_c[idx], ref_r[idx], beta=beta, loss_type=loss_type,
                              label_smoothing=label_smoothing)
            loss = losses.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            pc, pr = pc.detach(), pr.detach()
            rc, rr = beta * (pc - ref_c[idx]), beta * (pr - ref_r[idx])
            history.append(DPOStep(
                step=len(history) + 1, loss=float(loss.detach()), chosen_logp=float(pc.mean()),
                rejected_logp=float(pr.mean()), chosen_reward=float(rc.mean()),
                rejected_reward=float(rr.mean()), margin=float((rc - rr).mean()),
                reward_accuracy=float((rc > rr).float().mean())))
            if on_step is not None:
                on_step(history[-1], total)
    policy.eval()
    return history


@torch.no_grad()
def heldout_reward_accuracy(policy: Any, reference: Any, tokenizer: Any,
                            prefs: Sequence[Preference], *,
                            max_length: int = 512) -> tuple[int, int]:
    """``(right, n)``: held-out pairs whose implicit reward ranks the chosen response first.

    The implicit reward is ``log pi - log ref`` (beta only scales it).
    """
    rows, pad = _pair_rows(tokenizer, prefs), pad_id(tokenizer)
    right = 0
    for s in batches(len(rows), 64):
        pc, pr = _logprobs(policy, rows[s], pad, False, max_length)
        rc, rr = _logprobs(reference, rows[s], pad, False, max_length)
        right += int(((pc - rc) > (pr - rr)).sum())
    return right, len(rows)
