"""A model's internal representations, for the backdoor detectors that need them.

:func:`representations` runs a PyTorch model (an ``nn.Module`` or a
:class:`~trustbench.models.TorchModel`, whose normalisation is applied) over ``x`` and
returns one layer's activations, flattened per input — *all* of them, every channel and
position (ART's activation clustering kept only the first channel of a conv layer,
ART #2313). The layer is chosen by name (``dict(model.named_modules())``) or, by default,
the penultimate one: the input of the last ``nn.Linear``, which is what spectral signatures
and activation clustering use in their papers (the last hidden layer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from trustbench.errors import InputError

__all__ = ["as_module", "penultimate_layer", "probabilities", "representations"]


def as_module(model: Any) -> tuple[Any, Any]:
    """Return ``(module, prepare)``: the ``nn.Module`` and what turns raw inputs into its input."""
    import torch

    if isinstance(model, torch.nn.Module):
        return model, lambda x: x
    module = getattr(model, "module", None)
    if isinstance(module, torch.nn.Module) and hasattr(model, "prepare"):
        return module, model.prepare
    raise InputError(f"this detector needs a PyTorch model, got {type(model).__name__}",
                     fix="pass an nn.Module or a trustbench TorchModel (STRIP also works on "
                     "any model that gives probabilities)")


def probabilities(model: Any, *, batch_size: int = 2048) -> Callable[[np.ndarray], np.ndarray]:
    """Return ``x -> (N, C) class probabilities`` of a model, in batches.

    An ``nn.Module`` (softmax of its logits, eval mode, no gradients), anything with
    ``predict_proba`` (a trustbench Model, a scikit-learn estimator), or a function that
    already returns probabilities.
    """
    import torch

    if isinstance(model, torch.nn.Module):
        def run(x: np.ndarray) -> np.ndarray:
            model.eval()
            with torch.no_grad():
                out = [torch.softmax(model(torch.as_tensor(x[i:i + batch_size],
                                                          dtype=torch.float32)), 1).numpy()
                       for i in range(0, len(x), batch_size)]
            return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
        return run
    if hasattr(model, "predict_proba"):
        return lambda x: np.asarray(model.predict_proba(x))
    if callable(model):
        return lambda x: np.asarray(model(x))
    raise InputError(f"{type(model).__name__} gives no class probabilities",
                     fix="pass an nn.Module, a model with predict_proba, or a function")


def penultimate_layer(module: Any) -> str:
    """Return the name of the last ``nn.Linear`` (its *input* is the penultimate layer)."""
    import torch

    linears = [n for n, m in module.named_modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise InputError("the model has no nn.Linear layer to take the penultimate "
                         "representation from", fix="name a layer with --layer")
    return linears[-1]


def representations(model: Any, x: np.ndarray, *, layer: str | None = None,
                    batch_size: int = 256) -> np.ndarray:
    """Return the (N, D) activations of ``layer`` (default: the penultimate) on ``x``.

    With ``layer`` given, the named module's *output*; by default the *input* of the last
    ``nn.Linear`` (the last hidden representation).
    """
    import torch

    module, prepare = as_module(model)
    if isinstance(module, torch.jit.ScriptModule):
        raise InputError("a TorchScript model runs no Python hooks, so its layers' "
                         "activations cannot be read",
                         fix="save its weights (state_dict or safetensors) and pass --arch")
    names = dict(module.named_modules())
    if layer is not None and layer not in names:
        raise InputError(f"--layer {layer!r} is not a layer of the model",
                         fix="choose one of " + ", ".join(n for n in list(names)[1:12] if n))
    target = names[layer] if layer is not None else names[penultimate_layer(module)]
    take_input = layer is None
    grabbed: list[torch.Tensor] = []

    def hook(_m: Any, inputs: tuple, output: Any) -> None:
        t = inputs[0] if take_input else output
        grabbed.append(t.detach().reshape(len(t), -1).cpu())

    handle = target.register_forward_hook(hook)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                module(prepare(torch.as_tensor(np.asarray(x[i:i + batch_size]),
                                               dtype=torch.float32)))
    finally:
        handle.remove()
        module.train(was_training)
    if not grabbed:
        return np.zeros((0, 0), np.float32)
    return torch.cat(grabbed).numpy().astype(np.float64)
