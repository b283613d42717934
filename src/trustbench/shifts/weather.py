"""Weather-like corruptions of images: fog (low-frequency noise)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from trustbench.shifts.base import ImageShift

__all__ = ["Fog", "fractal_noise"]


def fractal_noise(n: int, h: int, w: int, rng: np.random.Generator, *,
                  decay: float = 2.0) -> np.ndarray:
    """(N, 1, H, W) smooth noise in [0, 1] (per image).

    The noise is octaves of Gaussian noise on grids of 2, 4, 8, ... cells, upsampled
    bilinearly, with amplitude falling by ``decay`` per octave. A vectorised stand-in for
    ImageNet-C's diamond-square plasma fractal.
    """
    total = torch.zeros((n, 1, h, w), dtype=torch.float64)
    cells, amplitude = 2, 1.0
    while True:
        coarse = torch.from_numpy(rng.standard_normal((n, 1, cells, cells)))
        total += amplitude * F.interpolate(coarse, size=(h, w), mode="bilinear",
                                           align_corners=False)
        if cells >= max(h, w):
            break
        cells, amplitude = cells * 2, amplitude / decay
    lo = total.amin((2, 3), keepdim=True)
    hi = total.amax((2, 3), keepdim=True)
    return ((total - lo) / (hi - lo).clamp_min(1e-12)).numpy()


class Fog(ImageShift):
    """Fog: add gray low-frequency noise of strength ``levels[severity - 1]`` and rescale.

    The result is ``(z + a * fog) * m / (m + a)`` with ``m`` the image's maximum (so
    contrast falls as the fog thickens). The same fog covers every channel.

    The noise is drawn once per call and only its strength depends on severity.

    References
    ----------
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019 (CIFAR-10-C strengths).
    """

    name: ClassVar[str] = "fog"
    levels: ClassVar[tuple[Any, ...]] = (0.2, 0.5, 0.75, 1.0, 1.5)

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        n, _, h, w = z.shape
        fog = fractal_noise(n, h, w, rng)  # (N, 1, H, W)
        m = z.max((1, 2, 3), keepdims=True)  # (N, 1, 1, 1)
        return (z + level * fog) * m / (m + level)
