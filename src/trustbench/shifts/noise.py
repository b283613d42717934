"""Noise corruptions of images: Gaussian, shot (Poisson) and impulse (salt and pepper)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from trustbench.shifts.base import ImageShift

__all__ = ["GaussianNoise", "ImpulseNoise", "ShotNoise"]


class GaussianNoise(ImageShift):
    """Additive Gaussian noise, independent per pixel and channel.

    Its standard deviation is ``levels[severity - 1]``, in units of the image range.

    The noise is drawn once and scaled, so for one seed the change grows with severity.

    References
    ----------
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019 (ImageNet-C levels: CIFAR-10-C's barely
    register on images as small as 8×8).
    """

    name: ClassVar[str] = "gaussian_noise"
    levels: ClassVar[tuple[Any, ...]] = (0.08, 0.12, 0.18, 0.26, 0.38)

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        return z + level * rng.standard_normal(z.shape)  # (N, C, H, W)


class ShotNoise(ImageShift):
    """Poisson (photon) noise: ``Poisson(z * rate) / rate``.

    ``rate = levels[severity - 1]`` photons per unit intensity; fewer photons mean more
    noise.

    References
    ----------
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019 (ImageNet-C levels: CIFAR-10-C's barely
    register on images as small as 8×8).
    """

    name: ClassVar[str] = "shot_noise"
    levels: ClassVar[tuple[Any, ...]] = (60, 25, 12, 5, 3)

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        return rng.poisson(z * level) / level  # (N, C, H, W)


class ImpulseNoise(ImageShift):
    """Salt-and-pepper noise: values are set to 0 or 1 with equal probability.

    A fraction ``levels[severity - 1]`` of the values (per pixel and channel) is hit.

    One uniform draw per value decides whether it is hit, so the values hit at a severity
    are also hit at every higher one.

    References
    ----------
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019 (ImageNet-C levels: CIFAR-10-C's barely
    register on images as small as 8×8).
    """

    name: ClassVar[str] = "impulse_noise"
    levels: ClassVar[tuple[Any, ...]] = (0.03, 0.06, 0.09, 0.17, 0.27)

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        hit = rng.random(z.shape) < level  # (N, C, H, W)
        salt = rng.random(z.shape) < 0.5
        return np.where(hit, salt.astype(z.dtype), z)
