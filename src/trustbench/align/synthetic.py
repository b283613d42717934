"""A preference task with a known true reward, small enough for two CPU cores.

Prompts and responses are strings of words from a small vocabulary. The **true reward** of
a response is the share of its words that are *good* (a fixed subset); the reference policy
writes words uniformly at random, so its true reward is ``len(good) / len(vocabulary)``.

A simulated labeller compares two responses by a utility and picks by Bradley–Terry noise,
``P(a preferred) = sigmoid((u(a) - u(b)) / temperature)``. Its utility is the true reward,
plus — to misspecify on purpose — a bonus for length (``length_bias``, per word) or for
*decoy* words (``decoy_bias``, per share of decoy words), the two ways a reward model learns
something other than what people want. Because the truth is known, the labeller's own
agreement with it is known too: the ceiling for a reward model's accuracy on its labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trustbench.align.data import Preference

__all__ = ["SyntheticTask"]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class SyntheticTask:
    """Vocabulary, the good and decoy words, and the lengths of prompts and responses."""

    n_words: int = 24
    n_good: int = 3
    n_decoy: int = 4
    prompt_words: tuple[int, int] = (2, 4)
    response_words: tuple[int, int] = (2, 6)

    @property
    def vocabulary(self) -> list[str]:
        """Every word, the good ones first (``g0..``), then decoys (``d0..``), then fillers."""
        n_fill = self.n_words - self.n_good - self.n_decoy
        return ([f"g{i}" for i in range(self.n_good)] + [f"d{i}" for i in range(self.n_decoy)]
                + [f"w{i}" for i in range(n_fill)])

    def true_reward(self, responses: Sequence[str]) -> np.ndarray:
        """Return the share of good words in each response (0 for an empty one)."""
        return np.array([_share(r, "g") for r in responses])

    def decoy_share(self, responses: Sequence[str]) -> np.ndarray:
        """Return the share of decoy words in each response."""
        return np.array([_share(r, "d") for r in responses])

    def _words(self, n: int, bounds: tuple[int, int], rng: np.random.Generator) -> list[str]:
        vocab = np.array(self.vocabulary)
        lengths = rng.integers(bounds[0], bounds[1] + 1, size=n)
        return [" ".join(rng.choice(vocab, size=k)) for k in lengths]

    def prompts(self, n: int, *, seed: int = 0) -> list[str]:
        """``n`` random prompts (seeded)."""
        return self._words(n, self.prompt_words, np.random.default_rng([seed, 1]))

    def responses(self, n: int, *, seed: int = 0) -> list[str]:
        """``n`` responses as the reference policy writes them: uniform words."""
        return self._words(n, self.response_words, np.random.default_rng([seed, 2]))

    def utility(self, responses: Sequence[str], *, length_bias: float = 0.0,
                decoy_bias: float = 0.0) -> np.ndarray:
        """Return what the labeller maximises: the true reward plus its biases."""
        length = np.array([len(r.split()) for r in responses], dtype=float)
        return (self.true_reward(responses) + length_bias * length
                + decoy_bias * self.decoy_share(responses))

    def label(self, prompts: Sequence[str], a: Sequence[str], b: Sequence[str], *,
              temperature: float = 0.05, length_bias: float = 0.0, decoy_bias: float = 0.0,
              seed: int = 0) -> list[Preference]:
        """Return the labeller's choice between ``a[i]`` and ``b[i]`` for each prompt."""
        rng = np.random.default_rng([seed, 3])
        ua = self.utility(a, length_bias=length_bias, decoy_bias=decoy_bias)
        ub = self.utility(b, length_bias=length_bias, decoy_bias=decoy_bias)
        pick_a = rng.random(len(a)) < _sigmoid((ua - ub) / temperature)
        return [Preference(p, x, y, id=f"s{seed}-{i}") if keep else
                Preference(p, y, x, id=f"s{seed}-{i}")
                for i, (p, x, y, keep) in enumerate(zip(prompts, a, b, pick_a, strict=True))]

    def preferences(self, n: int, *, seed: int = 0, **labeller: float) -> list[Preference]:
        """``n`` labelled pairs of reference-policy responses to random prompts."""
        prompts = self.prompts(n, seed=seed)
        a = self.responses(n, seed=seed)
        b = self.responses(n, seed=seed + 10_000)
        return self.label(prompts, a, b, seed=seed, **labeller)

    def agreement_with_truth(self, prefs: Sequence[Preference]) -> tuple[float, int]:
        """Return the share of labels agreeing with the true reward (on pairs it does not tie)."""
        tc = self.true_reward([p.chosen for p in prefs])
        tr = self.true_reward([p.rejected for p in prefs])
        differ = tc != tr
        return float(np.mean(tc[differ] > tr[differ])), int(differ.sum())


def _share(response: str, prefix: str) -> float:
    words = response.split()
    return sum(w.startswith(prefix) for w in words) / len(words) if words else 0.0
