"""Align: learn from human preference feedback and measure how robust that alignment is.

* preference data (:mod:`~trustbench.align.data`): reading and checking JSONL comparisons,
  splits by prompt, leakage, annotator agreement; prompts and SFT demonstrations;
* collecting it (:mod:`~trustbench.align.label`): a local labelling page;
* reward models (:mod:`~trustbench.align.reward`): Bradley–Terry on a ``transformers``
  classifier, read at the last real token whatever the padding;
* policies (:mod:`~trustbench.align.sft`, :mod:`~trustbench.align.dpo`,
  :mod:`~trustbench.align.rl`, :mod:`~trustbench.align.bon`): SFT, DPO/IPO/conservative DPO,
  RLOO with k1/k3 KL, best-of-n;
* evaluation as Findings (:mod:`~trustbench.align.reward_eval`,
  :mod:`~trustbench.align.overopt`, :mod:`~trustbench.align.robust`,
  :mod:`~trustbench.align.diagnostics`) and a study with a known true reward
  (:mod:`~trustbench.align.study`, :mod:`~trustbench.align.synthetic`).

Everything that touches a model needs ``transformers`` (``pip install 'trustbench[align]'``),
imported when first used; the data and labelling modules do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustbench._lazy import lazy_package as _lazy_package

if TYPE_CHECKING:
    from trustbench.align.bon import best_of_n
    from trustbench.align.data import (
        Agreement,
        Leakage,
        Preference,
        annotator_agreement,
        leakage_report,
        read_demonstrations,
        read_preferences,
        read_prompts,
        split_preferences,
    )
    from trustbench.align.dpo import dpo_loss, train_dpo
    from trustbench.align.label import LabelSession, read_pairs, serve_labels
    from trustbench.align.models import load_policy, load_reward_model, save_model, tiny_gpt2
    from trustbench.align.reward import RewardModel, train_reward_model
    from trustbench.align.rl import train_rloo
    from trustbench.align.sft import train_sft
    from trustbench.align.study import synthetic_study
    from trustbench.align.synthetic import SyntheticTask

_MODULES = {
    "trustbench.align.data": ("Agreement", "Leakage", "Preference", "annotator_agreement",
                              "leakage_report", "read_demonstrations", "read_preferences",
                              "read_prompts", "split_preferences"),
    "trustbench.align.bon": ("best_of_n",),
    "trustbench.align.dpo": ("dpo_loss", "train_dpo"),
    "trustbench.align.label": ("LabelSession", "read_pairs", "serve_labels"),
    "trustbench.align.models": ("load_policy", "load_reward_model", "save_model", "tiny_gpt2"),
    "trustbench.align.reward": ("RewardModel", "train_reward_model"),
    "trustbench.align.rl": ("train_rloo",),
    "trustbench.align.sft": ("train_sft",),
    "trustbench.align.study": ("synthetic_study",),
    "trustbench.align.synthetic": ("SyntheticTask",),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}
__all__ = ["Agreement", "LabelSession", "Leakage", "Preference", "RewardModel",
           "SyntheticTask", "annotator_agreement", "best_of_n", "dpo_loss", "leakage_report",
           "load_policy", "load_reward_model", "read_demonstrations", "read_pairs",
           "read_preferences", "read_prompts", "save_model", "serve_labels",
           "split_preferences", "synthetic_study", "tiny_gpt2", "train_dpo",
           "train_reward_model", "train_rloo", "train_sft"]

_lazy_package(__name__, _EXPORTS)
