"""Training diagnostics as Findings: DPO's log-probabilities and margins, RLOO's reward and KL.

* ``align.dpo`` — per step: chosen and rejected log-probabilities, implicit rewards, their
  margin and implicit-reward accuracy (plots). Warns when the last quarter's accuracy is at
  most 0.5 or the margin shrank from the first quarter to the last — the signs that DPO is
  not separating the pairs. A falling chosen log-probability alone is expected and said so.
* ``align.rl`` — per step: score, k1 and k3 KL estimates, response length. Warns when the
  mean k1 over the last quarter is significantly negative (the estimator is unbiased, so a
  negative mean means the log-probabilities of sampling and scoring differ — a real bug,
  unlike single negative samples), and when the response length collapsed to under half
  its start (the policy found a degenerate short answer, trl#204).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from trustbench import plotspec
from trustbench.align.dpo import DPOStep
from trustbench.align.rl import RLStep
from trustbench.align.tags import TRAINING
from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.metrics.stats import wilson_interval

__all__ = ["FALLING_CHOSEN", "dpo_finding", "rl_finding", "sft_finding"]

FALLING_CHOSEN = (
    "The chosen responses' log-probability falling during DPO is expected, not a bug: the "
    "loss only asks the gap between chosen and rejected to grow, and both usually fall "
    "(the rejected faster) as probability moves to responses outside the training pairs. "
    "Watch the margin and the implicit-reward accuracy instead.")


def _quarters(values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=float)
    q = max(1, len(v) // 4)
    return v[:q], v[-q:]


def _series(name: str, steps: list[int], values: list[float]) -> dict[str, object]:
    return {"label": name, "x": steps, "y": values}


def dpo_finding(history: Sequence[DPOStep], *, label: str = "DPO",
                heldout: tuple[int, int] | None = None) -> Finding:
    """Summarise a DPO run's diagnostics; warn when it does not separate the pairs.

    ``heldout`` is ``(right, n)`` from :func:`~trustbench.align.dpo.heldout_reward_accuracy`:
    the implicit-reward accuracy on pairs the run did not train on (with its interval).
    """
    if not history:
        raise InputError("no DPO steps to report", fix="train for at least one step")
    steps = [h.step for h in history]
    first_m, last_m = _quarters([h.margin for h in history])
    _, last_acc = _quarters([h.reward_accuracy for h in history])
    stalled = bool(last_acc.mean() <= 0.5 or last_m.mean() <= first_m.mean())
    chosen_fell = history[-1].chosen_logp < history[0].chosen_logp
    title = (f"{label} is not separating the pairs: implicit-reward accuracy "
             f"{last_acc.mean():.1%}, margin {last_m.mean():.3f} at the end" if stalled else
             f"{label} separates the pairs: implicit-reward accuracy {last_acc.mean():.1%}, "
             f"margin {first_m.mean():.3f} -> {last_m.mean():.3f}")
    return Finding(
        id="align.dpo", title=title, severity="warn" if stalled else "info", tags=TRAINING,
        metrics={"final_loss": Metric(history[-1].loss),
                 "reward_accuracy": Metric(float(last_acc.mean())),
                 "margin": Metric(float(last_m.mean())),
                 "chosen_logp_change": Metric(history[-1].chosen_logp - history[0].chosen_logp),
                 "rejected_logp_change": Metric(history[-1].rejected_logp
                                                - history[0].rejected_logp),
                 "steps": Metric(len(history), unit="count"),
                 **({"heldout_reward_accuracy": Metric(heldout[0] / heldout[1],
                                                       wilson_interval(*heldout))}
                    if heldout and heldout[1] else {})},
        detail=FALLING_CHOSEN if chosen_fell else
        "Means over each step's batch; the last quarter of steps is judged.",
        evidence={"history": [h.to_dict() for h in history], "plots": [
            plotspec.lines(f"{label}: log-probabilities of the training pairs", [
                _series("chosen", steps, [h.chosen_logp for h in history]),
                _series("rejected", steps, [h.rejected_logp for h in history])],
                x_label="step", y_label="log-probability (nats)"),
            plotspec.lines(f"{label}: implicit reward margin and accuracy", [
                _series("margin", steps, [h.margin for h in history]),
                _series("accuracy", steps, [h.reward_accuracy for h in history])],
                x_label="step", y_label="value")]})


def rl_finding(history: Sequence[RLStep], *, label: str = "RLOO") -> Finding:
    """Summarise an RL run: score and both KL estimates; warn on a negative mean KL."""
    if not history:
        raise InputError("no RL steps to report", fix="train for at least one step")
    steps = [h.step for h in history]
    k1 = np.array([h.kl_k1 for h in history])
    _, last_k1 = _quarters(k1)
    se = float(np.std(last_k1, ddof=1) / math.sqrt(len(last_k1))) if len(last_k1) > 1 else 0.0
    negative = bool(last_k1.mean() + 2 * se < 0)
    first_len, last_len = _quarters([h.response_words for h in history])
    collapsed = bool(last_len.mean() < 0.5 * first_len.mean())
    problems = ([f"mean k1 KL {last_k1.mean():.3f} < 0: sampling and scoring disagree"]
                if negative else []) + (
        [f"responses collapsed from {first_len.mean():.1f} to {last_len.mean():.1f} words"]
        if collapsed else [])
    _, last_score = _quarters([h.score for h in history])
    return Finding(
        id="align.rl", severity="warn" if problems else "info", tags=TRAINING,
        title=(f"{label}: " + "; ".join(problems) if problems else
               f"{label}: score {history[0].score:.3f} -> {last_score.mean():.3f} at KL "
               f"{last_k1.mean():.3f} nats (k3 {history[-1].kl_k3:.3f})"),
        metrics={"score": Metric(float(last_score.mean())),
                 "kl_k1": Metric(float(last_k1.mean()), unit="nats"),
                 "kl_k3": Metric(float(_quarters([h.kl_k3 for h in history])[1].mean()),
                                 unit="nats"),
                 "response_words": Metric(float(last_len.mean())),
                 "steps": Metric(len(history), unit="count")},
        detail="k1 = log pi - log ref per sampled response: unbiased, single samples can be "
               "negative. k3 = (r - 1) - log r per token: unbiased and never negative. Both "
               "estimate KL(policy || reference); a negative mean k1 is a bug, a negative "
               "sample is not.",
        evidence={"history": [h.to_dict() for h in history], "plots": [
            plotspec.lines(f"{label}: score and KL", [
                _series("score", steps, [h.score for h in history]),
                _series("KL k1", steps, k1.tolist()),
                _series("KL k3", steps, [h.kl_k3 for h in history])],
                x_label="step", y_label="value")]})


def sft_finding(losses: Sequence[float], *, label: str = "SFT") -> Finding:
    """Summarise an SFT run: the loss (nats per response token) from start to end."""
    if not losses:
        raise InputError("no SFT steps to report", fix="train for at least one step")
    first, last = _quarters(losses)
    stalled = bool(last.mean() >= first.mean())
    return Finding(
        id="align.sft", severity="warn" if stalled else "info", tags=TRAINING,
        title=(f"{label}: the loss did not fall ({first.mean():.3f} -> {last.mean():.3f} nats "
               "per token)" if stalled else
               f"{label}: loss {first.mean():.3f} -> {last.mean():.3f} nats per response token"),
        metrics={"final_loss": Metric(float(last.mean()), unit="nats"),
                 "steps": Metric(len(losses), unit="count")},
        evidence={"plots": [plotspec.lines(f"{label}: loss", [
            _series("loss", list(range(1, len(losses) + 1)), [float(v) for v in losses])],
            x_label="step", y_label="nats per response token")]})
