"""The Model contract that every adapter fulfils."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from trustbench.errors import InputError

__all__ = ["Capabilities", "Model"]


def _describe_output(out: object) -> str:
    """Describe what a model returned, in a few words.

    For example ``a dict with keys 'logits', 'aux'``, ``a tuple of 2 (Tensor (2, 10), Tensor
    (2, 64))``, ``a str``.
    """
    def one(v: object) -> str:
        shape = getattr(v, "shape", None)
        return f"{type(v).__name__} {tuple(shape)}" if shape is not None else type(v).__name__

    if isinstance(out, Mapping):
        keys = [repr(k) for k in list(out)[:6]]
        more = ", ..." if len(out) > 6 else ""
        return f"a {type(out).__name__} with keys {', '.join(keys) or '(none)'}{more}"
    if isinstance(out, (tuple, list)):
        parts = [one(v) for v in out[:4]]
        more = ", ..." if len(out) > 4 else ""
        return f"a {type(out).__name__} of {len(out)} ({', '.join(parts)}{more})"
    return "None" if out is None else f"a {one(out)}"


#: The fix for a model whose output is not one tensor of class scores.
_OUTPUT_FIX = ("return the logits tensor, e.g. out[0] or out['logits'] (wrap the model in a "
              "small function or nn.Module that does that)")


def _batch_of_one(what_happened: str) -> InputError:
    return InputError(
        f"the model works on one example but not on a batch ({what_happened}): it seems to "
        "accept only batch size 1",
        fix="make it batch-aware: treat dimension 0 as the batch, e.g. x.flatten(1) or "
        "x.reshape(len(x), -1) instead of x.flatten() or x.view(1, -1)",
    )


@dataclass(frozen=True)
class Capabilities:
    """What an adapter can do; the scan picks the attacks that apply.

    Attributes
    ----------
    differentiable
        ``logits(x)`` is a torch function of ``x`` with gradients (white-box attacks apply).
    outputs
        What :meth:`Model.scores` returns: ``"logits"`` or ``"probabilities"``.
    """

    differentiable: bool
    outputs: Literal["logits", "probabilities"] = "probabilities"
    batchable: bool = True


class Model(ABC):
    """A classifier in raw input space.

    Preprocessing (normalisation, feature encoding) lives inside the adapter, so attacks
    and shifts work on the inputs as the data stores them and the schema's bounds apply.
    """

    capabilities: Capabilities
    #: Rows per forward pass when predicting.
    batch_size: int = 512

    def __init__(self, *, n_classes: int | None = None) -> None:
        self._n_classes = n_classes

    # -- what adapters implement -------------------------------------------------------
    @abstractmethod
    def _scores_numpy(self, x: np.ndarray) -> np.ndarray:
        """(N, C) scores for one batch of float32 inputs; no gradient."""

    @abstractmethod
    def fingerprint(self) -> str:
        """Return a stable hash of the model's weights (or identity where weights are hidden)."""

    @property
    def description(self) -> str:
        """A short description of the model for messages and the scorecard: its class name here."""
        return type(self).__name__

    # -- shared behaviour --------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        """Number of classes, given or learnt by :meth:`check_input`; RuntimeError before that."""
        if self._n_classes is None:
            raise RuntimeError(
                "n_classes is not known yet: call model.check_input(x) on a sample first"
            )
        return self._n_classes

    def check_input(self, x: np.ndarray | torch.Tensor) -> None:
        """Run one tiny forward pass; learn ``n_classes``; turn shape errors into InputError."""
        sample = x[:2] if torch.is_tensor(x) else torch.as_tensor(np.asarray(x[:2]))
        sample = sample.to(torch.float32)
        try:
            s = self.scores(sample)
        except Exception as e:  # the user's model rejected our input: say so plainly
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
            if len(sample) > 1 and self._takes_one(sample[:1]):
                raise _batch_of_one(f"on 2 examples it raised {type(e).__name__}: {first}") from None
            if isinstance(e, InputError):  # the adapter said what is wrong already
                raise
            raise InputError(
                f"the model cannot take inputs of shape {tuple(sample.shape[1:])} "
                f"(one example) -- it raised {type(e).__name__}: {first}",
                fix="check that --data matches the model's expected input shape and features",
            ) from None
        if len(sample) > 1 and s.ndim == 2 and s.shape[0] != len(sample) and self._takes_one(sample[:1]):
            raise _batch_of_one(f"for 2 examples it returned scores of shape {tuple(s.shape)}")
        if s.ndim != 2 or s.shape[0] != sample.shape[0]:
            raise InputError(
                f"the model returned scores of shape {tuple(s.shape)} for {sample.shape[0]} "
                "inputs; expected (n_inputs, n_classes)",
                fix="wrap the model so it returns one row of class scores per input",
            )
        if self._n_classes is None:
            self._n_classes = int(s.shape[1])
        elif s.shape[1] != self._n_classes:
            raise InputError(
                f"the model returned {s.shape[1]} class scores but n_classes={self._n_classes}"
            )

    def _takes_one(self, one: torch.Tensor) -> bool:
        """Whether one example gives one row of scores (to tell a batch-of-one model)."""
        try:
            s = self.scores(one)
        except Exception:
            return False
        return s.ndim == 2 and s.shape[0] == 1

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C) scores for a float32 tensor in raw input space, without gradients.

        Black-box attacks use these: logits for torch models, probabilities otherwise.
        """
        x_np = x.detach().cpu().numpy()
        out = [self._scores_numpy(x_np[i : i + self.batch_size])
               for i in range(0, len(x_np), self.batch_size)]
        s = np.concatenate(out) if out else np.zeros((0, self._n_classes or 0), np.float32)
        return torch.from_numpy(np.ascontiguousarray(s, dtype=np.float32))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(N, C) class probabilities; batched."""
        s = self.scores(_float_tensor(x))
        if self.capabilities.outputs == "logits":
            s = torch.softmax(s, dim=1)
        return s.numpy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N,) predicted class indices."""
        return self.scores(_float_tensor(x)).argmax(1).numpy()

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable (N, C) logits; only adapters with ``capabilities.differentiable``."""
        raise NotImplementedError(f"{self.description} is black-box: it has no gradients")


def _float_tensor(x: np.ndarray) -> torch.Tensor:
    """``x`` as a float32 tensor; a read-only array (a memory map, Arrow's buffers) is copied.

    ``torch.as_tensor`` would share it and warn that writing to it is undefined.
    """
    a = np.asarray(x, dtype=np.float32)
    return torch.from_numpy(a if a.flags.writeable else a.copy())
