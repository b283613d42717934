"""Models that answer differently each call: detect it, and evaluate their expectation.

A model with noise layers, dropout left on, random resizing or any stochastic
preprocessing gives a different output for the same input on every call. Evaluated with
one draw, its clean accuracy is one sample of a random variable and an attack's success
is read off noise: early stop takes a lucky draw for a success, the re-check a lucky draw
for robustness, and gradients of one draw point nowhere in particular ("stochastic
gradients", Athalye et al. 2018). The standard answer is expectation over transformation
(EOT): attack, and judge, the model's *expected* prediction.

:func:`detect_randomness` asks the model the same inputs several times before any attack.
:class:`Expectation` is the model every check then sees: its probabilities are the mean
of ``draws`` calls, its logits the log of that mean (differentiable, so every white-box
attack follows the gradient of the expected prediction's loss), and a point counts as
fooled when the expected prediction is wrong, not when one draw is.

References: Athalye, Carlini & Wagner, "Obfuscated Gradients Give a False Sense of
Security", ICML 2018 (EOT); Athalye et al., "Synthesizing Robust Adversarial Examples",
ICML 2018; Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble
of diverse parameter-free attacks", ICML 2020 (AutoAttack's "rand" version: APGD-CE and
APGD-DLR with EOT over 20 draws).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from trustbench.models.base import Model

__all__ = ["Expectation", "Randomness", "detect_randomness", "draw_correct"]

#: Points :func:`detect_randomness` asks about (the first ones).
DETECT_POINTS = 64
#: Calls of the model on the same points.
DETECT_CALLS = 3
#: Relative change of scores below which two calls count as the same answer (float32
#: kernels may reorder sums between calls on some backends).
TOLERANCE = 1e-5


@dataclass(frozen=True)
class Randomness:
    """What :func:`detect_randomness` found.

    Attributes
    ----------
    random
        The same inputs gave different scores.
    max_change
        Largest absolute change of a class probability between two calls.
    prediction_flips
        Fraction of points whose predicted class changed between two calls.
    n_points, n_calls
        Points asked and calls made.
    """

    random: bool
    max_change: float
    prediction_flips: float
    n_points: int
    n_calls: int


def _probabilities(model: Model, scores: torch.Tensor) -> torch.Tensor:
    s = scores.double()
    return torch.softmax(s, dim=1) if model.capabilities.outputs == "logits" else s


def detect_randomness(model: Model, x: torch.Tensor, *, n_points: int = DETECT_POINTS,
                      n_calls: int = DETECT_CALLS) -> Randomness:
    """Ask ``model`` the first ``n_points`` of ``x`` ``n_calls`` times and compare the answers.

    The model is random when any class probability moves by more than :data:`TOLERANCE`
    (relative to the largest) between calls.
    """
    xs = x[:n_points]
    probs = [_probabilities(model, model.scores(xs)) for _ in range(n_calls)]
    first = probs[0]
    change = max((float((p - first).abs().max()) for p in probs[1:]), default=0.0)
    scale = max(float(first.abs().max()), 1e-12) if len(first) else 1.0
    flips = max((float((p.argmax(1) != first.argmax(1)).double().mean()) for p in probs[1:]
                 if len(p)), default=0.0)
    return Randomness(bool(math.isfinite(change) and change > TOLERANCE * scale), change,
                      flips, len(xs), n_calls)


class Expectation(Model):
    """``inner``'s expected prediction over ``draws`` calls: what a random model is judged by.

    :meth:`scores` returns the mean class probabilities of ``draws`` calls (as their log
    when ``inner`` gives logits, so a softmax gives the mean back and argmax is the expected
    prediction); :meth:`logits` is the same, differentiable. Every call costs ``draws``
    calls of ``inner``. Attributes the scan does not know about are ``inner``'s.

    References: Athalye, Carlini & Wagner, ICML 2018 (expectation over transformation).
    """

    def __init__(self, inner: Model, draws: int) -> None:
        if draws < 1:
            raise ValueError(f"draws must be >= 1, got {draws}")
        super().__init__(n_classes=inner._n_classes)
        self.inner = inner
        self.draws = int(draws)
        self.capabilities = inner.capabilities
        self.batch_size = max(1, inner.batch_size // self.draws)
        self.classes = getattr(inner, "classes", None)

    def __getattr__(self, name: str) -> object:  # only called when normal lookup fails
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def description(self) -> str:
        """Return the inner model's description."""
        return self.inner.description

    def _mean(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        if self.capabilities.outputs == "logits":  # log of the mean probability
            logp = torch.stack([torch.log_softmax(o.float(), dim=1) for o in outputs])
            return torch.logsumexp(logp, dim=0) - math.log(len(outputs))
        return torch.stack([o.float() for o in outputs]).mean(0)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return the log of the mean probabilities of ``draws`` calls, with gradients."""
        return self._mean([self.inner.logits(x) for _ in range(self.draws)])

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Return the mean prediction of ``draws`` calls; see the class docstring."""
        return self._mean([self.inner.scores(x) for _ in range(self.draws)])

    def _scores_numpy(self, x: np.ndarray) -> np.ndarray:
        return self.scores(torch.from_numpy(x)).numpy()

    def check_input(self, x: np.ndarray | torch.Tensor) -> None:
        """Check the inputs with the inner model; take its ``n_classes``."""
        self.inner.check_input(x)
        self._n_classes = self.inner.n_classes

    def fingerprint(self) -> str:
        """Return the inner model's fingerprint."""
        return self.inner.fingerprint()


def draw_correct(model: Model, x: torch.Tensor, y: torch.Tensor, draws: int, *,
                 batch_size: int = 512) -> np.ndarray:
    """Return (N,) the fraction of ``draws`` single calls of ``model`` that classify each point right."""
    hits = np.zeros(len(x))
    for _ in range(draws):
        pred = torch.cat([model.scores(x[i:i + batch_size]).argmax(1)
                          for i in range(0, len(x), batch_size)]) if len(x) else y[:0]
        hits += (pred == y).numpy()
    return hits / max(draws, 1)
