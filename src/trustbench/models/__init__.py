"""Model adapters: one contract (:class:`Model`) for torch, scikit-learn, ONNX and callables."""

from __future__ import annotations

import builtins
from typing import Any

from trustbench.errors import InputError
from trustbench.models.base import Capabilities, Model
from trustbench.models.callable import CallableModel
from trustbench.models.sklearn import SklearnModel
from trustbench.models.torch import TorchModel

__all__ = ["CallableModel", "Capabilities", "Model", "SklearnModel", "TorchModel", "as_model"]


def as_model(obj: Any, **kwargs: Any) -> Model:
    """Wrap ``obj`` in the adapter that fits it.

    ``nn.Module`` -> :class:`TorchModel`; an estimator with ``predict_proba`` ->
    :class:`SklearnModel`; a :class:`Model` is returned as is; any other callable ->
    :class:`CallableModel`. ``kwargs`` go to the adapter.
    """
    from torch import nn

    if isinstance(obj, Model):
        return obj
    if ("mean" in kwargs or "std" in kwargs) and not isinstance(obj, nn.Module):
        raise InputError(
            f"--mean/--std normalise inputs of torch models; this model is a {type(obj).__name__}",
            fix="drop --mean/--std: put preprocessing inside the pipeline or callable",
        )
    if isinstance(obj, nn.Module):
        return TorchModel(obj, **kwargs)
    if hasattr(obj, "predict_proba") and hasattr(obj, "fit"):
        return SklearnModel(obj, **kwargs)
    if builtins.callable(obj):  # the .callable submodule shadows the builtin here
        return CallableModel(obj, **kwargs)
    raise TypeError(
        f"cannot use a {type(obj).__name__} as a model: pass an nn.Module, a fitted "
        "scikit-learn classifier, or a callable returning class probabilities"
    )
