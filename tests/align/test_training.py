"""SFT, DPO (and IPO, conservative DPO), reward models and RLOO on planted toy tasks."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

pytest.importorskip("transformers")

import torch

from trustbench.align.data import Preference
from trustbench.align.diagnostics import FALLING_CHOSEN, dpo_finding, rl_finding
from trustbench.align.dpo import dpo_loss, pair_logprobs, train_dpo
from trustbench.align.models import tiny_gpt2
from trustbench.align.reward import RewardModel, train_reward_model
from trustbench.align.rl import train_rloo
from trustbench.align.sft import train_sft
from trustbench.errors import InputError


def _prefs(n: int, seed: int = 0) -> list[Preference]:
    """The chosen response has more g-words than the rejected one: a planted preference."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        base = list(rng.choice([f"w{k}" for k in range(12)], size=4))
        good = list(base)
        good[int(rng.integers(0, 4))] = str(rng.choice(["g0", "g1"]))
        out.append(Preference(" ".join(rng.choice(["w1", "w2", "w3"], size=2)),
                              " ".join(good), " ".join(base), id=str(i)))
    return out


def test_dpo_losses_by_hand() -> None:
    pc, pr, rc, rr = (torch.tensor([v]) for v in (-1.0, -3.0, -2.0, -2.0))  # h = 2
    sig = float(dpo_loss(pc, pr, rc, rr, beta=0.5))
    assert sig == pytest.approx(-math.log(1 / (1 + math.exp(-1.0))), abs=1e-6)
    smooth = float(dpo_loss(pc, pr, rc, rr, beta=0.5, label_smoothing=0.2))
    assert smooth == pytest.approx(0.8 * sig - 0.2 * math.log(1 / (1 + math.exp(1.0))), abs=1e-6)
    assert float(dpo_loss(pc, pr, rc, rr, beta=0.5, loss_type="ipo")) == pytest.approx(1.0)
    with pytest.raises(InputError, match="loss_type"):
        dpo_loss(pc, pr, rc, rr, loss_type="kto")


def test_dpo_at_the_reference_is_log_two_and_moves_the_margin(tok: Any) -> None:
    prefs = _prefs(128)
    ref = tiny_gpt2(tok, seed=0)
    policy = copy.deepcopy(ref)
    with torch.no_grad():
        pc, pr = pair_logprobs(policy, tok, prefs)
        rc, rr = pair_logprobs(ref, tok, prefs)
        assert float(dpo_loss(pc, pr, rc, rr).mean()) == pytest.approx(math.log(2), abs=1e-6)
    history = train_dpo(policy, ref, tok, prefs, beta=0.5, epochs=4, lr=3e-3, batch_size=32)
    assert len(history) == 16 and history[0].loss == pytest.approx(math.log(2), abs=1e-4)
    assert history[-1].margin > 0.5 and history[-1].reward_accuracy > 0.8
    finding = dpo_finding(history)
    assert finding.severity == "info" and "separates" in finding.title
    assert len(finding.evidence["plots"]) == 2
    if history[-1].chosen_logp < history[0].chosen_logp:
        assert finding.detail == FALLING_CHOSEN


@pytest.mark.parametrize("loss_type", ["ipo", "sigmoid"])
def test_ipo_and_conservative_dpo_train(loss_type: str, tok: Any) -> None:
    prefs = _prefs(64, seed=1)
    ref = tiny_gpt2(tok, seed=1)
    policy = copy.deepcopy(ref)
    history = train_dpo(policy, ref, tok, prefs, beta=0.5, loss_type=loss_type,
                        label_smoothing=0.1 if loss_type == "sigmoid" else 0.0, epochs=3,
                        lr=3e-3, batch_size=32)
    assert history[-1].loss < history[0].loss
    with pytest.raises(InputError, match="label_smoothing"):
        train_dpo(policy, ref, tok, prefs, label_smoothing=0.5)
    with pytest.raises(InputError, match="beta"):
        train_dpo(policy, ref, tok, prefs, beta=0.0)


def test_a_stalled_dpo_run_warns(tok: Any) -> None:
    from trustbench.align.dpo import DPOStep

    flat = [DPOStep(i, 0.69, -10, -10, 0, 0, 0.0, 0.5) for i in range(1, 9)]
    assert dpo_finding(flat).severity == "warn"


def test_reward_model_learns_a_planted_preference(tok: Any) -> None:
    prefs = _prefs(256, seed=2)
    rm = RewardModel(tiny_gpt2(tok, kind="reward", seed=2), tok)
    losses = train_reward_model(rm, prefs[:192], epochs=4, lr=2e-3, batch_size=32)
    assert losses[-1] < losses[0]
    rc, rr = rm.pair_rewards(prefs[192:])
    assert np.mean(rc > rr) > 0.9


def test_sft_fits_the_demonstrations(tok: Any) -> None:
    policy = tiny_gpt2(tok, seed=3)
    prompts, responses = ["w1 w2"] * 64, ["g0 g1 g0"] * 64
    losses = train_sft(policy, tok, prompts, responses, epochs=3, lr=3e-3, batch_size=16)
    assert losses[-1] < 0.2 * losses[0]
    with pytest.raises(InputError):
        train_sft(policy, tok, ["w1"], [])


def test_rloo_raises_a_planted_reward_within_its_kl_leash(tok: Any) -> None:
    ref = tiny_gpt2(tok, seed=4)
    train_sft(ref, tok, ["w1"] * 64, [" ".join(f"w{k % 12}" for k in range(i, i + 4))
                                       for i in range(64)], epochs=2, lr=3e-3)

    def reward(prompts: Any, responses: Any) -> np.ndarray:
        return np.array([r.split().count("g0") / max(len(r.split()), 1) for r in responses])

    policy = copy.deepcopy(ref)
    history = train_rloo(policy, ref, tok, reward, ["w1", "w2", "w3"], k=4, kl_coef=0.01,
                         steps=40, batch_prompts=3, lr=3e-3, max_new_tokens=6)
    first = np.mean([h.score for h in history[:5]])
    last = np.mean([h.score for h in history[-5:]])
    assert last > first + 0.2
    assert all(h.kl_k3 >= 0 for h in history)
    assert np.mean([h.kl_k1 for h in history[-10:]]) > 0
    finding = rl_finding(history)
    assert finding.metrics["kl_k1"].value > 0 and finding.evidence["plots"]
    with pytest.raises(InputError, match="k must be"):
        train_rloo(policy, ref, tok, reward, ["w1"], k=1)
