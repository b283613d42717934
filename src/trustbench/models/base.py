"""The Model contract that every adapter fulfils."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from trustbench.errors import InputError

__all__ = ["Capabilities", "Model"]


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
        """A stable hash of the model's weights (or identity where weights are hidden)."""

    @property
    def description(self) -> str:
        return type(self).__name__

    # -- shared behaviour --------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        if self._n_classes is None:
            raise RuntimeError(
                "n_classes is not known yet: call model.check_input(x) on a sample first"
            )
        return self._n_classes

    def check_input(self, x: np.ndarray | torch.Tensor) -> None:
        """Run one tiny forward pass; learn ``n_classes``; turn shape errors into InputError."""
        sample = x[:2] if torch.is_tensor(x) else torch.as_tensor(np.asarray(x[:2]))
        try:
            s = self.scores(sample.to(torch.float32))
        except InputError:
            raise
        except Exception as e:  # the user's model rejected our input: say so plainly
            raise InputError(
                f"the model cannot take inputs of shape {tuple(sample.shape[1:])} "
                f"(one example) -- it raised {type(e).__name__}: {str(e).splitlines()[0][:200]}",
                fix="check that --data matches the model's expected input shape and features",
            ) from None
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
        s = self.scores(torch.as_tensor(np.asarray(x), dtype=torch.float32))
        if self.capabilities.outputs == "logits":
            s = torch.softmax(s, dim=1)
        return s.numpy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N,) predicted class indices."""
        return self.scores(torch.as_tensor(np.asarray(x), dtype=torch.float32)).argmax(1).numpy()

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable (N, C) logits; only adapters with ``capabilities.differentiable``."""
        raise NotImplementedError(f"{self.description} is black-box: it has no gradients")
