"""STRIP: a triggered input keeps its (attacker's) class however it is perturbed.

Each input is superimposed with ``n`` images drawn from held-out clean data — additively,
saturating at the data's bounds, as the paper's ``cv2.addWeighted(x, 1, clean, 1, 0)`` does
— and the model's predictive entropy (bits) is taken for each of the ``n`` blends and
averaged: ``H(x) = (1/n) · Σ_j -Σ_c p_c log2 p_c`` over the blends' class probabilities (the
entropy is over *classes*, per blend, then summed over blends — not over the batch axis).
A trigger dominates any blend, so triggered inputs have low entropy. The threshold comes
from clean inputs alone: the ``frr`` quantile of their entropies (the paper fits a normal
to them and takes its ``frr`` point; ``fit="normal"``), so about ``frr`` of clean inputs
are rejected. Black-box: only the model's probabilities are needed.

References
----------
Gao, Xu, Wang, Chen, Ranasinghe & Nepal, "STRIP: A defence against trojan attacks on deep
neural networks", ACSAC 2019, section 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from trustbench.errors import InputError
from trustbench.security.features import probabilities

__all__ = ["STRIP", "StripResult"]


@dataclass(frozen=True)
class StripResult:
    """Entropies (N,), the inputs flagged as triggered (N,) bool, and the threshold."""

    entropy: np.ndarray
    flagged: np.ndarray
    threshold: float


class STRIP:
    """STRIP fitted on held-out clean inputs: ``STRIP(model).fit(x_clean).detect(x)``.

    Parameters
    ----------
    model
        An ``nn.Module`` (softmax of its logits), anything with ``predict_proba``, or a
        function returning probabilities.
    n
        Clean images blended with each input (the paper's N; 100 in its experiments).
    frr
        False rejection rate on clean inputs the threshold is set for.
    bounds
        The data's range: blends saturate there.
    fit
        ``"quantile"`` (the clean entropies' ``frr`` quantile) or ``"normal"`` (the paper's
        normal fit).
    batch_size, seed
        Blends scored per call; the seed of the drawn clean images.
    """

    def __init__(self, model: Any, *, n: int = 100, frr: float = 0.01,
                 bounds: tuple[float, float] = (0.0, 1.0),
                 fit: Literal["quantile", "normal"] = "quantile", batch_size: int = 2048,
                 seed: int = 0) -> None:
        self.model, self.n, self.frr, self.bounds = model, n, frr, bounds
        self.fit_method, self.batch_size, self.seed = fit, batch_size, seed

    def entropy(self, x: np.ndarray) -> np.ndarray:
        """Return each input's mean entropy over ``n`` blends with the clean pool (bits)."""
        if not hasattr(self, "pool_"):
            raise InputError("STRIP is not fitted: call fit(x_clean) first")
        proba = probabilities(self.model, batch_size=self.batch_size)
        rng = np.random.default_rng(self.seed)
        x = np.asarray(x, np.float32)
        out = np.empty(len(x))
        per = max(1, self.batch_size // self.n)
        lo, hi = self.bounds
        for i in range(0, len(x), per):
            xb = x[i:i + per]  # (b, ...)
            j = rng.integers(0, len(self.pool_), size=(len(xb), self.n))
            blend = np.clip(xb[:, None] + self.pool_[j], lo, hi)  # (b, n, ...)
            p = proba(blend.reshape(len(xb) * self.n, *x.shape[1:]))  # (b*n, C)
            h = -(p * np.log2(np.clip(p, 1e-12, 1))).sum(1)  # entropy over classes
            out[i:i + per] = h.reshape(len(xb), self.n).mean(1)
        return out

    def fit(self, x_clean: np.ndarray) -> STRIP:
        """Keep ``x_clean`` as the blending pool and set the threshold on its entropies.

        Half of ``x_clean`` is the pool, the other half sets the threshold (an input is
        never blended with itself).
        """
        x_clean = np.asarray(x_clean, np.float32)
        if len(x_clean) < 20:
            raise InputError(f"STRIP needs at least 20 clean inputs, got {len(x_clean)}")
        if not 0 < self.frr < 0.5:
            raise InputError(f"frr must be in (0, 0.5), got {self.frr}")
        order = np.random.default_rng(self.seed).permutation(len(x_clean))
        half = len(order) // 2
        self.pool_ = x_clean[order[:half]]
        h = self.entropy(x_clean[order[half:]])
        self.clean_entropy_ = h
        if self.fit_method == "normal":
            from scipy.stats import norm

            self.threshold_ = float(norm.ppf(self.frr, loc=h.mean(), scale=h.std(ddof=1)))
        else:
            self.threshold_ = float(np.quantile(h, self.frr))
        return self

    def detect(self, x: np.ndarray) -> StripResult:
        """Return the entropies of ``x`` and which fall below the threshold (triggered)."""
        h = self.entropy(x)
        return StripResult(h, h < self.threshold_, self.threshold_)
