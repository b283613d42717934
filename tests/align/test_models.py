"""Padding, pooling and log-probabilities: results that the batch layout cannot move.

The regression test of the trl#937 class: pad = EOS, left and right padding, and batch size
1 against 32 give the same rewards and log-probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("transformers")

import torch

from trustbench.align.encode import encode, pack
from trustbench.align.lm import kl_estimates, sample, sequence_logprobs, token_logprobs
from trustbench.align.models import load_policy, load_reward_model, save_model, tiny_gpt2
from trustbench.align.reward import RewardModel, bradley_terry_loss
from trustbench.errors import InputError

WORDS = [f"w{i}" for i in range(12)] + ["g0", "g1"]  # as in conftest.py


def _texts(n: int, seed: int, lo: int = 1, hi: int = 9) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(lo, hi)))) for _ in range(n)]


@pytest.mark.parametrize("pad_is_eos", [False, True])
def test_rewards_do_not_depend_on_padding_side_pad_token_or_batch_size(
        pad_is_eos: bool, tok: Any, tok_pad_eos: Any) -> None:
    t = tok_pad_eos if pad_is_eos else tok
    rm = RewardModel(tiny_gpt2(t, kind="reward", seed=1), t)
    prompts, responses = _texts(32, 0, 1, 5), _texts(32, 1)
    batch32 = rm.rewards(prompts, responses, batch_size=32)
    batch1 = rm.rewards(prompts, responses, batch_size=1)
    with torch.no_grad():
        left = rm.forward(rm.encode(prompts, responses, padding_side="left")).numpy()
    np.testing.assert_allclose(batch1, batch32, atol=1e-5)
    np.testing.assert_allclose(left, batch32, atol=1e-5)
    assert np.std(batch32) > 1e-3  # not a constant model


def test_reward_is_read_at_the_final_eos_not_the_token_before(tok_pad_eos: Any) -> None:
    """With pad = EOS, the last real token *is* EOS; the reward must be read there."""
    t = tok_pad_eos
    rm = RewardModel(tiny_gpt2(t, kind="reward", seed=2), t)
    enc = rm.encode(["w1 w2"], ["w3 w4"])
    assert int(enc.input_ids[0, enc.last[0]]) == t.eos_token_id
    with torch.no_grad():
        hidden = rm.model.base_model(**enc.model_inputs()).last_hidden_state
        at_eos = rm.model.score(hidden)[0, -1, 0]
        assert float(rm.forward(enc)[0]) == pytest.approx(float(at_eos), abs=1e-6)


@pytest.mark.parametrize("pad_is_eos", [False, True])
def test_logprobs_do_not_depend_on_padding(pad_is_eos: bool, tok: Any, tok_pad_eos: Any) -> None:
    t = tok_pad_eos if pad_is_eos else tok
    policy = tiny_gpt2(t, seed=3)
    prompts, responses = _texts(32, 4, 1, 5), _texts(32, 5)
    with torch.no_grad():
        right = sequence_logprobs(policy, encode(t, prompts, responses))
        left = sequence_logprobs(policy, encode(t, prompts, responses, padding_side="left"))
        one = torch.cat([sequence_logprobs(policy, encode(t, [p], [r]))
                         for p, r in zip(prompts, responses, strict=True)])
    torch.testing.assert_close(left, right, atol=1e-4, rtol=0)
    torch.testing.assert_close(one, right, atol=1e-4, rtol=0)


def test_logprob_sums_response_tokens_only(tok: Any) -> None:
    """By hand: the sum of log p(token | prefix) over response tokens and the EOS."""
    policy = tiny_gpt2(tok, seed=4)
    enc = encode(tok, ["w1 w2 w3"], ["g0 g1"])
    ids = enc.input_ids[0].tolist()
    assert ids[-1] == tok.eos_token_id and enc.response_mask[0].tolist() == [0, 0, 0, 1, 1, 1]
    with torch.no_grad():
        logp = torch.log_softmax(policy(input_ids=enc.input_ids).logits[0], dim=-1)
        expected = sum(float(logp[t - 1, ids[t]]) for t in (3, 4, 5))
        assert float(sequence_logprobs(policy, enc)[0]) == pytest.approx(expected, abs=1e-5)


def test_a_long_prompt_loses_its_start_never_the_response(tok: Any) -> None:
    enc = encode(tok, ["w1 w2 w3 w4 w5 w6"], ["g0 g1"], max_length=5)
    assert enc.input_ids.shape == (1, 5)
    assert tok.decode(enc.input_ids[0, :2].tolist()) == "w5 w6"
    with pytest.raises(InputError, match="does not fit max_length"):
        encode(tok, ["w1"], ["g0 g1 w1 w2"], max_length=4)
    with pytest.raises(InputError, match="no tokens"):
        pack([([], [1])], pad=0)


def test_kl_estimators_agree_with_the_exact_kl_of_a_known_pair() -> None:
    """Two categorical distributions: the mean k1 and k3 over samples approach KL(p||q)."""
    g = torch.Generator().manual_seed(0)
    p, q = torch.tensor([0.7, 0.2, 0.1]), torch.tensor([0.4, 0.4, 0.2])
    x = torch.multinomial(p, 200_000, replacement=True, generator=g)
    lp, lq = p.log()[x][:, None], q.log()[x][:, None]
    k1, k3 = kl_estimates(lp, lq, torch.ones_like(lp, dtype=torch.bool))
    exact = float((p * (p / q).log()).sum())
    assert float(k1.mean()) == pytest.approx(exact, abs=0.01)
    assert float(k3.mean()) == pytest.approx(exact, abs=0.01)
    assert float(k3.min()) >= 0 > float(k1.min())  # k3 is never negative, k1 can be


def test_sampling_is_seeded_and_never_emits_pad(tok: Any) -> None:
    policy = tiny_gpt2(tok, seed=5)
    prompts = _texts(16, 6, 1, 4)
    a = sample(policy, tok, prompts, max_new_tokens=8, generator=torch.Generator().manual_seed(1))
    b = sample(policy, tok, prompts, max_new_tokens=8, generator=torch.Generator().manual_seed(1))
    assert a.response_ids == b.response_ids
    flat = [i for r in a.response_ids for i in r]
    assert tok.pad_token_id not in flat and tok.unk_token_id not in flat
    # the sampled ids score the same through pack as through the cache used to draw them
    with torch.no_grad():
        assert torch.isfinite(token_logprobs(policy, a.encoded(tok.pad_token_id))).all()


def test_bradley_terry_loss_by_hand() -> None:
    rc, rr = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0])
    expected = -(np.log(1 / (1 + np.exp(-1.0))) + np.log(1 / (1 + np.exp(1.0)))) / 2
    assert float(bradley_terry_loss(rc, rr)) == pytest.approx(expected, abs=1e-6)
    margin = torch.tensor([1.0, -1.0])
    assert float(bradley_terry_loss(rc, rr, margin)) == pytest.approx(np.log(2), abs=1e-6)


def test_save_and_load_round_trip(tok: Any, tmp_path: Any) -> None:
    rm = RewardModel(tiny_gpt2(tok, kind="reward", seed=6), tok)
    before = rm.rewards(["w1"], ["g0 w2"])
    save_model(rm.model, tok, tmp_path / "rm")
    save_model(rm.model, tok, tmp_path / "rm")  # replacing a saved model works too
    from trustbench.align.text import load_tokenizer

    again = RewardModel(load_reward_model(tmp_path / "rm"), load_tokenizer(tmp_path / "rm"))
    np.testing.assert_allclose(again.rewards(["w1"], ["g0 w2"]), before, atol=1e-6)
    with pytest.raises(InputError, match=r"no config\.json"):
        load_policy(tmp_path / "nothing")
    save_model(tiny_gpt2(tok, seed=1), tok, tmp_path / "lm")
    with pytest.raises(InputError, match="no trained reward head"):
        load_reward_model(tmp_path / "lm")


def test_a_reward_model_folder_is_not_taken_for_a_policy(tok: Any, tmp_path: Any) -> None:
    save_model(tiny_gpt2(tok, kind="reward"), tok, tmp_path / "rm")
    with pytest.raises(InputError, match="no language-model weights"):
        load_policy(tmp_path / "rm")
