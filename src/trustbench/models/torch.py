"""PyTorch adapter: white-box, logits and gradients stay in torch."""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from trustbench.errors import InputError
from trustbench.models.base import _OUTPUT_FIX, Capabilities, Model, _describe_output

__all__ = ["TorchModel"]


@contextmanager
def _quiet_jit() -> Iterator[None]:
    """Silence torch 2.13's deprecation of torch.jit.save/load while a model is moved.

    Moving a user's TorchScript model between processes is nothing the user can act on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"`torch\.jit\.(save|load)` is deprecated",
                                DeprecationWarning)
        yield


class _ScriptBytes:
    """A TorchScript module's ``torch.jit.save`` bytes, while pickled."""

    def __init__(self, data: bytes) -> None:
        self.data = data


class TorchModel(Model):
    """Wrap an ``nn.Module`` that maps raw inputs (after ``preprocess``) to logits.

    The module is run in eval mode; its training flags are restored after every call and
    its parameters and their ``.grad`` are never touched (gradients are taken with
    ``torch.autograd.grad`` with respect to the input only).

    Parameters
    ----------
    module
        Returns (N, C) logits. If it returns probabilities (a final softmax), the scan's
        validity check warns that gradient attacks may be weakened.
    mean, std
        Optional per-channel normalisation applied inside the adapter, so attacks run in
        raw input space: ``(x - mean) / std``, broadcast over dimension 1.
    preprocess
        Any other differentiable torch function applied before ``module``.
    n_classes
        Learned from the first forward pass if not given.
    batch_size
        Rows per forward pass when predicting.
    """

    capabilities = Capabilities(differentiable=True, outputs="logits")

    def __init__(
        self,
        module: nn.Module,
        *,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
        n_classes: int | None = None,
        batch_size: int = 512,
    ) -> None:
        super().__init__(n_classes=n_classes)
        if not isinstance(module, nn.Module):
            raise TypeError(f"TorchModel needs an nn.Module, got {type(module).__name__}")
        self.module = module
        self.preprocess = preprocess
        self.batch_size = batch_size
        try:
            p = next(module.parameters())
            self.device, self.dtype = p.device, p.dtype
        except StopIteration:
            self.device, self.dtype = torch.device("cpu"), torch.float32
        self._mean = None if mean is None else torch.tensor(mean, dtype=self.dtype, device=self.device)
        self._std = None if std is None else torch.tensor(std, dtype=self.dtype, device=self.device)
        self._module_list: list[nn.Module] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickle a TorchScript module as its serialized bytes (it cannot be pickled as is).

        An executor sends models to worker processes and Ray nodes by pickling them.
        """
        state = dict(self.__dict__, _module_list=None)
        if isinstance(self.module, torch.jit.ScriptModule):
            buffer = io.BytesIO()
            with _quiet_jit():
                torch.jit.save(self.module, buffer)
            state["module"] = _ScriptBytes(buffer.getvalue())
        return state

    def __copy__(self) -> TorchModel:
        # a shallow copy shares the module (the pickled state above is for other processes)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild a pickled TorchModel (loading a TorchScript module from its bytes)."""
        if isinstance(state.get("module"), _ScriptBytes):
            with _quiet_jit():
                state["module"] = torch.jit.load(io.BytesIO(state["module"].data),
                                                 map_location="cpu")
        self.__dict__.update(state)

    @property
    def description(self) -> str:
        """``TorchModel(<the module's class name>)``."""
        return f"TorchModel({type(self.module).__name__})"

    @property
    def mean(self) -> torch.Tensor | None:
        """The per-channel mean subtracted before ``module`` (``None``: none)."""
        return self._mean

    @property
    def std(self) -> torch.Tensor | None:
        """The per-channel scale divided by before ``module`` (``None``: none)."""
        return self._std

    def _modules(self) -> list[nn.Module]:
        # Walking the module tree costs more than a small model's forward pass, and attacks
        # call the model thousands of times: walk it once.
        if self._module_list is None or self._module_list[0] is not self.module:
            self._module_list = list(self.module.modules())
        return self._module_list

    @contextmanager
    def _eval_mode(self) -> Iterator[None]:
        modules = self._modules()
        flags = [m.training for m in modules]
        training = any(flags)
        if training:
            for m in modules:
                m.training = False
        try:
            yield
        finally:
            if training:
                for m, f in zip(modules, flags, strict=True):
                    m.training = f

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Return what ``module`` receives for raw inputs ``x``.

        That is ``x`` moved to its device and dtype, then ``(x - mean) / std`` and
        ``preprocess``; differentiable with respect to ``x``.
        """
        x = x.to(device=self.device, dtype=self.dtype)
        if self._mean is not None or self._std is not None:
            shape = (1, -1) + (1,) * (x.ndim - 2)
            if self._mean is not None:
                x = x - self._mean.view(shape)
            if self._std is not None:
                x = x / self._std.view(shape)
        if self.preprocess is not None:
            x = self.preprocess(x)
        return x

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C) logits of raw inputs ``x``; differentiable with respect to ``x``."""
        with self._eval_mode():
            return _scores_tensor(self.module(self.prepare(x)))

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Return (N, C) float32 logits on the CPU, batched, without gradients; see :meth:`Model.scores`."""
        if 0 < len(x) <= self.batch_size:  # one pass: no slicing or concatenation
            with torch.inference_mode(), self._eval_mode():
                return _scores_tensor(self.module(self.prepare(x))).float().cpu()
        out = []
        with torch.inference_mode(), self._eval_mode():
            for i in range(0, len(x), self.batch_size):
                out.append(_scores_tensor(self.module(self.prepare(x[i : i + self.batch_size]))).float())
        if not out:
            return torch.zeros((0, self._n_classes or 0))
        return torch.cat(out).cpu()

    def _scores_numpy(self, x: np.ndarray) -> np.ndarray:
        return self.scores(torch.from_numpy(x)).numpy()

    def fingerprint(self) -> str:
        """Return a SHA-256 of the module's class name, its state_dict and ``mean``/``std``."""
        h = hashlib.sha256(type(self.module).__qualname__.encode())
        for name, t in sorted(self.module.state_dict().items()):
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        for t in (self._mean, self._std):
            if t is not None:
                h.update(t.cpu().numpy().tobytes())
        return "sha256:" + h.hexdigest()


def _scores_tensor(out: object) -> torch.Tensor:
    if torch.is_tensor(out):
        return out
    raise InputError(f"the model returned {_describe_output(out)}, not a tensor of class scores",
                     fix=_OUTPUT_FIX)
