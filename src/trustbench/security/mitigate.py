"""Remove a backdoor, and say what it cost: retraining without flagged rows, fine-pruning.

* :func:`retrain_without` — train a fresh model on the training set minus the rows a
  detector flagged (spectral signatures, activation clustering), through the harden
  :class:`~trustbench.harden.trainer.Trainer`.
* :func:`fine_prune` — Liu et al.'s fine-pruning: channels of the last convolution (or the
  units of a named layer) that stay dormant on clean data are pruned, least active first,
  until clean accuracy on the given data would fall by more than ``max_drop``; then the
  pruned model is fine-tuned on that clean data, pruned units kept at zero.
* :func:`defence_effectiveness` — BackdoorBench's DER: the ASR drop weighed against the
  clean-accuracy drop, in [0, 1] (0.5: no change).
* Neural Cleanse's unlearning is :func:`trustbench.security.detect.neural_cleanse.unlearn`.

References
----------
Liu, Dolan-Gavitt & Garg, "Fine-pruning: Defending against backdooring attacks on deep
neural networks", RAID 2018.
Wu et al., "BackdoorBench: A comprehensive benchmark of backdoor learning", NeurIPS 2022
Datasets and Benchmarks (defence effectiveness rating, DER).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from trustbench.errors import InputError
from trustbench.security.features import as_module

__all__ = ["defence_effectiveness", "fine_prune", "retrain_without"]


def defence_effectiveness(asr_before: float, asr_after: float, acc_before: float,
                          acc_after: float) -> float:
    """Return DER = (max(0, ASR drop) - max(0, accuracy drop) + 1) / 2."""
    return (max(0.0, asr_before - asr_after) - max(0.0, acc_before - acc_after) + 1) / 2


def retrain_without(make_module: Callable[[], Any], x: np.ndarray, y: np.ndarray,
                    flagged: np.ndarray, *, epochs: int = 30, seed: int = 0,
                    **trainer: Any) -> Any:
    """Train ``make_module()`` on the rows not ``flagged`` (plain cross-entropy by default)."""
    from trustbench.harden.trainer import Trainer

    flagged = np.asarray(flagged, bool)
    if flagged.shape != (len(y),):
        raise InputError(f"flagged has shape {flagged.shape}, expected ({len(y)},)")
    keep = ~flagged
    if keep.sum() < 10:
        raise InputError("fewer than 10 rows are left after removing the flagged ones")
    settings = {"method": "standard", "patience": None, **trainer}
    return Trainer(epochs=epochs, seed=seed, **settings).fit(
        make_module(), (np.asarray(x)[keep], np.asarray(y)[keep])).module


def _last_conv(module: Any) -> str:
    import torch

    convs = [n for n, m in module.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if not convs:
        raise InputError("fine-pruning needs a convolution to prune (or name a layer)",
                         fix="pass layer='name' of a layer whose output units to prune")
    return convs[-1]


def fine_prune(model: Any, x_clean: np.ndarray, y_clean: np.ndarray, *,
               layer: str | None = None, max_drop: float = 0.04, epochs: int = 5,
               lr: float = 1e-3, batch_size: int = 64, seed: int = 0) -> tuple[Any, int]:
    """Return ``(pruned and fine-tuned copy, units pruned)``; ``model`` is not changed.

    Units (channels of a conv output, features of another layer) are ranked by mean
    activation on ``x_clean``; the least active are masked one by one while clean
    accuracy stays within ``max_drop`` of the unpruned model's, then the copy is
    fine-tuned for ``epochs`` on ``(x_clean, y_clean)`` with the mask kept.
    """
    import torch

    module, prepare = as_module(model)
    module = copy.deepcopy(module)
    name = layer or _last_conv(module)
    target = dict(module.named_modules()).get(name)
    if target is None:
        raise InputError(f"layer {name!r} is not a layer of the model")
    if not isinstance(target, torch.nn.Conv2d | torch.nn.Linear):
        raise InputError(f"layer {name!r} is a {type(target).__name__}; fine-pruning prunes "
                         "the output units of a Conv2d or Linear layer")
    x = torch.as_tensor(np.asarray(x_clean), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(y_clean), dtype=torch.long)
    state: dict[str, Any] = {"activity": None, "mask": None}

    def hook(_m: Any, _i: Any, out: torch.Tensor) -> torch.Tensor:
        if state["activity"] is None:  # (units,) mean activation over inputs and positions
            state["activity"] = out.detach().transpose(0, 1).reshape(out.shape[1], -1).mean(1)
        if state["mask"] is not None:
            return out * state["mask"].view((1, -1) + (1,) * (out.ndim - 2))
        return out

    def acc() -> float:
        module.eval()
        with torch.no_grad():
            return float((module(prepare(x)).argmax(1) == y).float().mean())

    handle = target.register_forward_hook(hook)
    try:
        base = acc()  # also records the activity
        keep = torch.ones(len(state["activity"]))
        pruned = 0
        for u in torch.argsort(state["activity"]).tolist()[:-1]:  # least active first
            keep[u] = 0
            state["mask"] = keep
            if acc() < base - max_drop:
                keep[u] = 1
                break
            pruned += 1
        state["mask"] = keep
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(module.parameters(), lr=lr)
        for _ in range(epochs):
            module.train()
            perm = torch.randperm(len(x), generator=gen)
            for i in range(0, len(x), batch_size):
                b = perm[i:i + batch_size]
                opt.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(module(prepare(x[b])), y[b]).backward()
                opt.step()
    finally:
        handle.remove()
    with torch.no_grad():  # bake the pruning into the weights: pruned units output 0
        gone = keep == 0
        target.weight[gone] = 0
        if target.bias is not None:
            target.bias[gone] = 0
    module.eval()
    return module, pruned
