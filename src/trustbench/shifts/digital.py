"""Digital corruptions of images: brightness, contrast, saturation, pixelation and JPEG."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from trustbench.errors import InputError
from trustbench.shifts.base import ImageShift

if TYPE_CHECKING:
    from trustbench.data.schema import Schema

__all__ = ["Brightness", "Contrast", "JPEGCompression", "Pixelate", "Saturate", "area_matrix"]


class Brightness(ImageShift):
    """Raise the HSV value (the brightest channel) by ``levels[severity - 1]``.

    Hue and saturation are kept; on grayscale images this is ``z + level``, clipped at 1.

    References
    ----------
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019 (ImageNet-C levels).
    """

    name: ClassVar[str] = "brightness"
    levels: ClassVar[tuple[Any, ...]] = (0.1, 0.2, 0.3, 0.4, 0.5)

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        v = z.max(1, keepdims=True)  # (N, 1, H, W): the HSV value
        v_new = np.minimum(v + level, 1.0)
        # scaling every channel by v_new / v keeps hue and saturation; black becomes gray
        return np.where(v > 0, z * (v_new / np.where(v > 0, v, 1.0)), v_new)


class Contrast(ImageShift):
    """Scale each image's deviations from its mean by ``levels[severity - 1]`` (< 1).

    References
    ----------
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019 (CIFAR-10-C levels).
    """

    name: ClassVar[str] = "contrast"
    levels: ClassVar[tuple[Any, ...]] = (0.75, 0.5, 0.4, 0.3, 0.15)

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        mean = z.mean((1, 2, 3), keepdims=True)  # (N, 1, 1, 1)
        return (z - mean) * level + mean


class Saturate(ImageShift):
    """Over-saturate colour images: HSV saturation ``s -> s * a + b``, keeping hue and value.

    ``(a, b) = levels[severity - 1]``. Only for three colour channels.

    ImageNet-C de-saturates at severities 1-2 and over-saturates at 3-5, so its change is
    not monotone in severity; here every level over-saturates, more at each severity.

    References
    ----------
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019 (ImageNet-C levels 3-5, with two milder
    steps before them).
    """

    name: ClassVar[str] = "saturate"
    levels: ClassVar[tuple[Any, ...]] = ((1.5, 0.0), (2.0, 0.0), (3.0, 0.05), (5.0, 0.1),
                                         (20.0, 0.2))
    requires: ClassVar[str] = "colour images with 3 channels (N, 3, H, W)"

    @classmethod
    def applicable(cls, schema: Schema | None, x_shape: tuple[int, ...]) -> bool:
        """Whether the data are images with three channels; see :meth:`Shift.applicable`."""
        return super().applicable(schema, x_shape) and x_shape[1] == 3

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        if z.shape[1] != 3:
            raise InputError(f"saturate needs 3 colour channels, got {z.shape[1]}",
                             fix="leave it out for grayscale images")
        v = z.max(1, keepdims=True)  # (N, 1, H, W)
        s = (v - z.min(1, keepdims=True)) / np.where(v > 0, v, 1.0)  # HSV saturation
        s_new = np.clip(s * level[0] + level[1], 0.0, 1.0)
        # each channel is v * (1 - s * f(hue)): rescaling (v - z) by s_new / s keeps f(hue)
        ratio = np.where(s > 0, s_new / np.where(s > 0, s, 1.0), 1.0)
        return v - (v - z) * ratio


def area_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) box-filter resampling (Pillow's BOX filter).

    Each output cell averages the input cells it overlaps, weighted by the overlap.
    """
    edges_out = np.linspace(0.0, n_in, n_out + 1)  # output cells in input coordinates
    lo = np.maximum(edges_out[:-1, None], np.arange(n_in)[None])  # (n_out, n_in)
    hi = np.minimum(edges_out[1:, None], np.arange(n_in)[None] + 1)
    overlap = np.clip(hi - lo, 0.0, None)
    return overlap / overlap.sum(1, keepdims=True)


class Pixelate(ImageShift):
    """Downsample each side to ``int(side * level)`` pixels with a box filter and back up.

    The result is blocky, lower-resolution images.

    References
    ----------
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019 (CIFAR-10-C levels).
    """

    name: ClassVar[str] = "pixelate"
    levels: ClassVar[tuple[Any, ...]] = (0.95, 0.9, 0.85, 0.75, 0.65)

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        h, w = z.shape[-2:]
        h_small, w_small = max(1, int(h * level)), max(1, int(w * level))
        rows = area_matrix(h, h_small) @ area_matrix(h_small, h)  # (H, H)
        cols = area_matrix(w, w_small) @ area_matrix(w_small, w)  # (W, W)
        return rows @ z @ cols.T  # (N, C, H, W), batched matrix products


class JPEGCompression(ImageShift):
    """JPEG encoding and decoding with Pillow at quality ``levels[severity - 1]``.

    Three-channel images are encoded as RGB, every other channel on its own as grayscale.
    Pillow codes one image at a time, so this is the one shift with a loop over images.

    References
    ----------
    Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
    and Perturbations", ICLR 2019 (ImageNet-C levels: CIFAR-10-C's barely
    register on images as small as 8×8).
    """

    name: ClassVar[str] = "jpeg_compression"
    levels: ClassVar[tuple[Any, ...]] = (25, 18, 15, 10, 7)

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        from PIL import Image

        n, c, h, w = z.shape
        u8 = np.round(np.clip(z, 0.0, 1.0) * 255).astype(np.uint8)
        # (M, H, W, 3) RGB or (M, H, W) grayscale pictures
        pictures = u8.transpose(0, 2, 3, 1) if c == 3 else u8.reshape(n * c, h, w)
        out = np.empty_like(pictures)
        for i, pic in enumerate(pictures):  # Pillow has no batch API
            buf = io.BytesIO()
            Image.fromarray(pic).save(buf, format="JPEG", quality=int(level))
            buf.seek(0)
            with Image.open(buf) as decoded:
                out[i] = np.asarray(decoded)
        out = out.transpose(0, 3, 1, 2) if c == 3 else out.reshape(n, c, h, w)
        return out.astype(np.float64) / 255.0
