"""Blur corruptions of images: defocus (disk), Gaussian and motion blur.

Sizes are CIFAR-10-C's in pixels, scaled by :func:`~trustbench.shifts.base.pixel_scale`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from trustbench.shifts.base import ImageShift, pixel_scale

__all__ = ["DefocusBlur", "GaussianBlur", "MotionBlur", "disk_kernel", "motion_kernels"]


def disk_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """(K, K) normalised disk of ``radius`` pixels, softened by a Gaussian of ``alias_blur`` pixels.

    This is the defocus point-spread function of ImageNet-C.
    """
    from scipy import ndimage  # loaded by the shifts that use it

    half = math.ceil(radius + 3 * alias_blur)
    grid = np.arange(-half, half + 1, dtype=np.float64)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    disk = ndimage.gaussian_filter(disk / disk.sum(), alias_blur, mode="constant")
    return disk / disk.sum()


def motion_kernels(angles: np.ndarray, *, radius: float, sigma: float) -> np.ndarray:
    """(N, K, K) one-sided motion-blur kernels, one per angle (radians).

    Points along a ray from the centre, ``t`` = 0..``radius`` pixels, are weighted by
    ``exp(-t² / 2 sigma²)`` and splatted bilinearly onto the grid (ImageMagick's
    ``-motion-blur``, which ImageNet-C used).
    """
    half = math.ceil(radius) + 1
    size = 2 * half + 1
    t = np.linspace(0.0, radius, max(2, int(4 * radius) + 1))  # (T,)
    w = np.exp(-(t**2) / (2 * sigma**2))  # (T,)
    px = half + t[None] * np.cos(angles)[:, None]  # (N, T)
    py = half + t[None] * np.sin(angles)[:, None]  # (N, T)
    x0, y0 = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
    fx, fy = px - x0, py - y0
    n = len(angles)
    flat = np.zeros((n, size * size))
    rows = np.broadcast_to(np.arange(n)[:, None], px.shape)
    for dy, dx, wt in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                       (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):  # the four bilinear corners
        np.add.at(flat, (rows, (y0 + dy) * size + (x0 + dx)), wt * w[None])
    k = flat.reshape(n, size, size)
    return k / k.sum((1, 2), keepdims=True)


def _convolve_each(z: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Convolve image ``i`` of ``z`` (N, C, H, W) with ``kernels[i]`` (N, K, K) (K odd).

    Edges are replicated. The work is one batched FFT, whose cost does not grow with the
    kernel's size.
    """
    from scipy.fft import next_fast_len

    n, _, h, w = z.shape
    k = kernels.shape[-1]
    half = k // 2
    zp = F.pad(torch.from_numpy(z), (half, half, half, half), mode="replicate")  # (N, C, H', W')
    size = tuple(next_fast_len(int(d), real=True) for d in zp.shape[-2:])  # zero-padded
    kp = torch.zeros((n, 1, k, k), dtype=zp.dtype)  # (N, 1, K, K)
    kp[:, 0] = torch.tensor(kernels, dtype=zp.dtype)
    spectrum = torch.fft.rfft2(zp, s=size) * torch.fft.rfft2(kp, s=size)
    full = torch.fft.irfft2(spectrum, s=size)
    # the circular result at p is centred at p - half; no index below wraps around
    return full[..., 2 * half: 2 * half + h, 2 * half: 2 * half + w].numpy()


class GaussianBlur(ImageShift):
    """Gaussian blur with standard deviation ``levels[severity - 1]`` pixels, edges extended.

    The standard deviation is given at 32×32; see :func:`~trustbench.shifts.base.pixel_scale`.

    References
    ----------
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019 (CIFAR-10-C levels).
    """

    name: ClassVar[str] = "gaussian_blur"
    levels: ClassVar[tuple[Any, ...]] = (0.4, 0.6, 0.7, 0.8, 1.0)

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        from scipy import ndimage

        s = level * pixel_scale(z.shape)
        return ndimage.gaussian_filter(z, sigma=(0, 0, s, s), mode="nearest")


class DefocusBlur(ImageShift):
    """Defocus: convolution with a disk of ``radius`` pixels softened by ``alias_blur``.

    ``levels`` holds ``(radius, alias_blur)`` at 32×32.

    References
    ----------
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019 (CIFAR-10-C levels).
    """

    name: ClassVar[str] = "defocus_blur"
    levels: ClassVar[tuple[Any, ...]] = ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2),
                                         (1.5, 0.1))

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        scale = pixel_scale(z.shape)
        kernel = disk_kernel(level[0] * scale, level[1] * scale)  # (K, K)
        return _convolve_each(z, np.broadcast_to(kernel, (len(z), *kernel.shape)))


class MotionBlur(ImageShift):
    """Motion blur along a random direction per image (angle uniform in ±45°).

    The blur is a one-sided Gaussian-weighted streak; ``levels`` holds ``(radius, sigma)``
    in pixels at 32×32.

    The angles are drawn once, so for one seed only the streak's length changes with
    severity.

    References
    ----------
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019 (CIFAR-10-C levels).
    """

    name: ClassVar[str] = "motion_blur"
    levels: ClassVar[tuple[Any, ...]] = ((10, 1.0), (10, 1.5), (10, 2.0), (10, 2.5), (12, 3.0))

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        scale = pixel_scale(z.shape)
        radius, sigma = level[0] * scale, level[1] * scale
        # the weights are below 1e-3 beyond 3.7 sigma: a shorter kernel, the same blur
        radius = min(radius, 3.7 * sigma, float(max(z.shape[-2:])))
        angles = np.deg2rad(rng.uniform(-45.0, 45.0, size=len(z)))  # (N,)
        return _convolve_each(z, motion_kernels(angles, radius=radius, sigma=sigma))
