"""Simulate data poisoning: plant a backdoor in a training set, and measure what it buys.

* **Triggers** — :class:`PatchTrigger` (BadNets: a small pattern stamped at a position),
  :class:`BlendTrigger` (Chen et al.: an image blended in at a ratio), and
  :class:`FeatureTrigger` (tabular: fixed values in ``k`` features).
* :func:`poison` — stamp the trigger on a seeded ``rate`` of the training rows and relabel
  them: ``all-to-one`` (to ``target``) or ``all-to-all`` (class ``c`` to ``c + 1``); with
  ``clean_label=True`` only rows already of the target class are stamped and no label
  changes (Turner et al.'s clean-label setting, without their adversarial perturbation).
* :func:`attack_success_rate` — the share of triggered test rows (not of the target class)
  that the model sends to the attacker's label, with a Wilson interval; :func:`accuracy`
  the clean accuracy with its interval.

References
----------
Gu, Dolan-Gavitt & Garg, "BadNets: Identifying vulnerabilities in the machine learning
model supply chain", arXiv:1708.06733 (2017).
Chen, Liu, Li, Lu & Song, "Targeted backdoor attacks on deep learning systems using data
poisoning", arXiv:1712.05526 (2017) (blended triggers).
Turner, Tsipras & Madry, "Label-consistent backdoor attacks", arXiv:1912.02771 (2019).
Wu et al., "BackdoorBench: A comprehensive benchmark of backdoor learning", NeurIPS 2022
Datasets and Benchmarks (ASR, DER).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from trustbench.errors import InputError
from trustbench.metrics import wilson_interval

__all__ = ["BlendTrigger", "FeatureTrigger", "PatchTrigger", "Poisoned", "accuracy",
           "attack_success_rate", "poison", "target_labels"]

Mode = Literal["all-to-one", "all-to-all"]


@dataclass(frozen=True)
class PatchTrigger:
    """A BadNets patch: a ``size`` × ``size`` pattern stamped on every channel.

    At ``position`` (``"bottom-right"``, ``"top-left"``, ..., ``"centre"`` or ``(row, col)``
    of its top-left pixel); the pattern is ``"solid"`` (``high``), ``"checkerboard"``
    (``high``/``low``) or an array, in the data's units.
    """

    size: int = 2
    position: str | tuple[int, int] = "bottom-right"
    pattern: Literal["checkerboard", "solid"] | np.ndarray = "solid"
    high: float = 1.0
    low: float = 0.0

    def mask_and_values(self, shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(mask, values)`` of shape ``(H, W)``: where the trigger is and what."""
        h, w = int(shape[-2]), int(shape[-1])
        s = self.size
        if not 0 < s <= min(h, w):
            raise InputError(f"trigger size {s} does not fit a {h}x{w} image",
                             fix=f"choose a size from 1 to {min(h, w)}")
        if isinstance(self.position, tuple):
            r, c = self.position
        else:
            corners = {"bottom-right": (h - s, w - s), "bottom-left": (h - s, 0),
                       "top-right": (0, w - s), "top-left": (0, 0),
                       "centre": ((h - s) // 2, (w - s) // 2)}
            if self.position not in corners:
                raise InputError(f"trigger position {self.position!r} is not one of "
                                 f"{', '.join(corners)}", fix="or give (row, col)")
            r, c = corners[self.position]
        if not (0 <= r <= h - s and 0 <= c <= w - s):
            raise InputError(f"trigger at {(r, c)} of size {s} leaves the {h}x{w} image")
        if isinstance(self.pattern, np.ndarray):
            if self.pattern.shape != (s, s):
                raise InputError(f"trigger pattern has shape {self.pattern.shape}, expected "
                                 f"({s}, {s})")
            patch = self.pattern.astype(np.float32)
        elif self.pattern == "checkerboard":
            patch = np.where((np.add.outer(np.arange(s), np.arange(s)) % 2) == 0, self.high,
                             self.low).astype(np.float32)
        else:
            patch = np.full((s, s), self.high, np.float32)
        mask = np.zeros((h, w), np.float32)
        values = np.zeros((h, w), np.float32)
        mask[r:r + s, c:c + s] = 1.0
        values[r:r + s, c:c + s] = patch
        return mask, values

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Stamp the trigger on ``x`` (N, C, H, W) (a copy)."""
        x = _images(x)
        mask, values = self.mask_and_values(x.shape)
        return (x * (1 - mask) + values * mask).astype(x.dtype)


@dataclass(frozen=True)
class BlendTrigger:
    """Blend ``image`` (H, W) or (C, H, W) into every input: ``(1 - ratio)·x + ratio·image``.

    Without ``image``, a seeded uniform-noise image in ``[low, high]`` (the "hello kitty"
    of Chen et al. is any fixed image; noise needs no file).
    """

    ratio: float = 0.1
    image: np.ndarray | None = None
    seed: int = 0
    low: float = 0.0
    high: float = 1.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Blend the trigger into ``x`` (N, C, H, W) (a copy)."""
        x = _images(x)
        if not 0 < self.ratio <= 1:
            raise InputError(f"blend ratio must be in (0, 1], got {self.ratio}")
        img = self.image
        if img is None:
            img = np.random.default_rng(self.seed).uniform(self.low, self.high, x.shape[-2:])
        img = np.broadcast_to(np.asarray(img, np.float32), x.shape[1:])
        return ((1 - self.ratio) * x + self.ratio * img).astype(x.dtype)


@dataclass(frozen=True)
class FeatureTrigger:
    """Set ``features`` (column indices) of tabular rows to ``values`` (one, or one each)."""

    features: tuple[int, ...] = (0,)
    values: float | tuple[float, ...] = 1.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Set the trigger's features of ``x`` (N, D) (a copy)."""
        x = np.array(x, copy=True)
        if x.ndim != 2:
            raise InputError(f"a feature trigger needs a table (N, D), got shape {x.shape}")
        cols = list(self.features)
        if not cols or min(cols) < -x.shape[1] or max(cols) >= x.shape[1]:
            raise InputError(f"trigger features {cols} are not columns of a {x.shape[1]}-"
                             "column table")
        vals = np.broadcast_to(np.asarray(self.values, x.dtype), (len(cols),))
        x[:, cols] = vals
        return x


Trigger = Callable[[np.ndarray], np.ndarray]


def _images(x: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise InputError(f"an image trigger needs images (N, C, H, W) or (N, H, W), got "
                         f"shape {x.shape}")
    return x


def target_labels(y: np.ndarray, *, mode: Mode, target: int, n_classes: int) -> np.ndarray:
    """Return the attacker's labels: ``target`` (all-to-one) or ``(y + 1) % n_classes``."""
    if mode == "all-to-one":
        return np.full_like(y, target)
    if mode == "all-to-all":
        return (y + 1) % n_classes
    raise InputError(f"poison mode {mode!r} is not 'all-to-one' or 'all-to-all'")


@dataclass(frozen=True)
class Poisoned:
    """A poisoned training set: ``x``, ``y``, which rows were poisoned, and how."""

    x: np.ndarray
    y: np.ndarray
    poisoned: np.ndarray  # (N,) bool
    trigger: Trigger
    mode: Mode
    target: int
    n_classes: int
    clean_label: bool

    @property
    def rate(self) -> float:
        """The share of rows poisoned."""
        return float(self.poisoned.mean())


def poison(x: np.ndarray, y: np.ndarray, trigger: Trigger, *, rate: float = 0.1,
           target: int = 0, mode: Mode = "all-to-one", clean_label: bool = False,
           n_classes: int | None = None, seed: int = 0) -> Poisoned:
    """Stamp ``trigger`` on a seeded ``rate`` of the rows of ``(x, y)`` and relabel them.

    Parameters
    ----------
    x, y
        The training set; ``y`` integer labels.
    trigger
        A :class:`PatchTrigger`, :class:`BlendTrigger`, :class:`FeatureTrigger` or any
        function of a batch that returns the triggered batch.
    rate
        Share of *all* rows poisoned (with ``clean_label``, drawn from the target class,
        so at most its share).
    target, mode
        All-to-one sends every poisoned row to ``target``; all-to-all sends class ``c`` to
        ``c + 1`` (mod the number of classes).
    clean_label
        Poison only rows already labelled ``target``; no label changes.
    """
    x, y = np.asarray(x), np.asarray(y).astype(np.int64)
    if len(x) != len(y) or len(y) == 0:
        raise InputError(f"x has {len(x)} rows and y {len(y)}: they must match and not be empty")
    if not 0 < rate < 1:
        raise InputError(f"poison rate must be in (0, 1), got {rate}")
    k = int(n_classes if n_classes is not None else y.max() + 1)
    if not 0 <= target < k:
        raise InputError(f"target class {target} is not one of the {k} classes")
    if clean_label and mode != "all-to-one":
        raise InputError("clean-label poisoning has one target class: use mode 'all-to-one'")
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(y == target) if clean_label else np.arange(len(y))
    n = min(len(pool), max(1, round(rate * len(y))))
    chosen = np.sort(rng.choice(pool, size=n, replace=False))
    xp, yp = np.array(x, copy=True), y.copy()
    xp[chosen] = trigger(x[chosen])
    if not clean_label:
        yp[chosen] = target_labels(y[chosen], mode=mode, target=target, n_classes=k)
    flags = np.zeros(len(y), bool)
    flags[chosen] = True
    return Poisoned(xp, yp, flags, trigger, mode, target, k, clean_label)


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    """Predicted classes: the argmax of :func:`~.features.probabilities`, or ``predict``."""
    from trustbench.security.features import probabilities

    if not hasattr(model, "predict_proba") and hasattr(model, "predict") and not callable(model):
        return np.asarray(model.predict(x))
    return probabilities(model, batch_size=512)(x).argmax(1)


def accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Return clean accuracy and its 95% Wilson interval."""
    right = int((_predict(model, np.asarray(x)) == np.asarray(y)).sum())
    return right / len(y), wilson_interval(right, len(y))


def attack_success_rate(model: Any, x: np.ndarray, y: np.ndarray, trigger: Trigger, *,
                        target: int = 0, mode: Mode = "all-to-one",
                        n_classes: int | None = None) -> tuple[float, tuple[float, float], int]:
    """Return ASR, its 95% Wilson interval and the rows it is measured on.

    Triggered test rows whose true class is not already the attacker's label; success when
    the model predicts the attacker's label.
    """
    y = np.asarray(y).astype(np.int64)
    k = int(n_classes if n_classes is not None else y.max() + 1)
    want = target_labels(y, mode=mode, target=target, n_classes=k)
    keep = want != y
    if not keep.any():
        raise InputError("no test rows outside the target class to measure ASR on")
    pred = _predict(model, trigger(np.asarray(x)[keep]))
    hits = int((pred == want[keep]).sum())
    n = int(keep.sum())
    return hits / n, wilson_interval(hits, n), n
