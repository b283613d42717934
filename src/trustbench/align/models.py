"""The two kinds of model alignment trains: a causal LM (the policy) and a reward model.

Both are ``transformers`` models (extra ``[align]``): built from a small GPT-2 config for
tests and the synthetic task, or loaded from a folder the user saved (``save_pretrained``;
``local_files_only``, so nothing is ever downloaded). A reward model is a sequence
classifier with one label whose head scores every position (``model.score``, as GPT-2,
Llama, Mistral and Qwen have); :class:`~trustbench.align.reward.RewardModel` reads it at
the last real token itself, never by looking for the pad id.

Weights are initialised under a forked torch RNG seeded from ``seed``, so building a model
neither depends on nor moves the global random state.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch

from trustbench.align._hf import transformers
from trustbench.errors import InputError

__all__ = ["load_policy", "load_reward_model", "save_model", "tiny_gpt2"]


def tiny_gpt2(tokenizer: Any, *, kind: str = "policy", n_embd: int = 64, n_layer: int = 2,
              n_head: int = 4, n_positions: int = 64, seed: int = 0) -> Any:
    """Build a small GPT-2 from a config: ``kind="policy"`` (LM head) or ``"reward"``."""
    if kind not in ("policy", "reward"):
        raise InputError(f"kind must be 'policy' or 'reward', got {kind!r}",
                         fix="use kind='policy' or kind='reward'")
    tf = transformers()
    config = tf.GPT2Config(
        vocab_size=len(tokenizer), n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
        n_head=n_head, bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, num_labels=1 if kind == "reward" else 2,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)  # dropout off: steps are comparable
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cls = tf.GPT2LMHeadModel if kind == "policy" else tf.GPT2ForSequenceClassification
        model = cls(config)
    return model.float()


def _load(path: str | Path, auto: str, what: str) -> tuple[Any, list[str], list[str]]:
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise InputError(f"{path}: no {what} here (no config.json)",
                         fix="give the folder a model was saved to with save_pretrained")
    loader = getattr(transformers(), auto)
    try:
        model, info = loader.from_pretrained(str(folder), local_files_only=True,
                                             dtype=torch.float32, output_loading_info=True)
    except (OSError, ValueError, KeyError) as e:
        raise InputError(f"{path}: the {what} could not be loaded "
                         f"({str(e).splitlines()[0]})",
                         fix=f"save a {what} there with save_pretrained") from None
    return (model.eval(), sorted(info.get("missing_keys", ())),
            sorted(info.get("unexpected_keys", ())))


def load_policy(path: str | Path) -> Any:
    """Load a causal LM saved in the folder ``path``."""
    model, missing, unexpected = _load(path, "AutoModelForCausalLM", "causal language model")
    if any(k.startswith("score.") for k in unexpected) or any("lm_head" in k for k in missing):
        raise InputError(f"{path}: the saved model has no language-model weights -- this "
                         "looks like a reward model", fix="give the folder of a causal LM")
    return model


def load_reward_model(path: str | Path) -> Any:
    """Load a one-label sequence classifier saved in ``path``, checked to have a token head."""
    model, missing, _ = _load(path, "AutoModelForSequenceClassification", "reward model")
    if any(k.startswith("score.") for k in missing):
        raise InputError(f"{path}: no trained reward head (score) in the saved weights -- "
                         "this looks like a language model, not a reward model",
                         fix="train one with 'trustbench align train-rm' and give its folder")
    if model.config.num_labels != 1:
        raise InputError(f"{path}: the reward model has {model.config.num_labels} labels, "
                         "a reward model has 1", fix="build it with num_labels=1")
    if not isinstance(getattr(model, "score", None), torch.nn.Module):
        raise InputError(f"{path}: {type(model).__name__} has no per-token 'score' head",
                         fix="use a decoder model's ForSequenceClassification (GPT-2, Llama, "
                             "Mistral, Qwen ...)")
    return model


def save_model(model: Any, tokenizer: Any, folder: str | Path) -> Path:
    """Save ``model`` and ``tokenizer`` to ``folder``, replacing it whole or not at all."""
    target = Path(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.saving")
    old = target.with_name(f".{target.name}.old")
    for leftover in (staging, old):
        shutil.rmtree(leftover, ignore_errors=True)
    model.save_pretrained(str(staging))
    tokenizer.save_pretrained(str(staging))
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
    return target
