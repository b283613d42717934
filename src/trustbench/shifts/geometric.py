"""Geometric corruptions of images: elastic deformation."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from trustbench.shifts.base import ImageShift, pixel_scale

__all__ = ["ElasticTransform"]


class ElasticTransform(ImageShift):
    """Elastic deformation along a smooth random displacement field.

    Every image is resampled (bilinearly, edges extended) along a smooth random
    displacement field whose root-mean-square length is ``levels[severity - 1]`` pixels at
    32×32.

    The field is Gaussian noise smoothed with a standard deviation of a tenth of the image
    side (at least one pixel), drawn once and scaled, so for one seed the deformation only
    grows with severity. ImageNet-C adds a small random affine warp; this does not.

    References
    ----------
    Simard, Steinkraus and Platt, "Best Practices for Convolutional Neural Networks Applied
    to Visual Document Analysis", ICDAR 2003.
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019.
    """

    name: ClassVar[str] = "elastic_transform"
    levels: ClassVar[tuple[Any, ...]] = (0.5, 0.75, 1.0, 1.25, 1.5)

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        from scipy import ndimage  # loaded by the shifts that use it

        n, _, h, w = z.shape
        smooth = max(1.0, 0.1 * min(h, w))
        field = ndimage.gaussian_filter(rng.standard_normal((n, 2, h, w)),
                                        sigma=(0, 0, smooth, smooth), mode="reflect")
        rms = np.sqrt((field**2).mean((1, 2, 3), keepdims=True))  # (N, 1, 1, 1)
        field = field / np.maximum(rms, 1e-12) * (level * pixel_scale(z.shape))  # pixels
        ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")  # (H, W)
        # grid_sample wants (x, y) in [-1, 1], where -1 and 1 are the corner pixels' centres
        gx = (xs[None] + field[:, 0]) * (2.0 / max(w - 1, 1)) - 1.0  # (N, H, W)
        gy = (ys[None] + field[:, 1]) * (2.0 / max(h - 1, 1)) - 1.0
        grid = torch.from_numpy(np.stack([gx, gy], axis=-1))  # (N, H, W, 2)
        out = F.grid_sample(torch.from_numpy(z), grid, mode="bilinear", padding_mode="border",
                            align_corners=True)
        return out.numpy()
