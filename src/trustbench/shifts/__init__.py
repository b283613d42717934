"""Distribution shifts: ImageNet-C-style image corruptions and tabular shifts.

Each shift has five severities, and every result is inside the data's domain.

>>> import numpy as np
>>> from trustbench.shifts import get_shift
>>> x = np.full((2, 1, 8, 8), 0.5, dtype=np.float32)
>>> x_shifted = get_shift("contrast").apply(x, 3, np.random.default_rng(0))
>>> x_shifted.shape, x_shifted.dtype
((2, 1, 8, 8), dtype('float32'))
"""

from __future__ import annotations

from trustbench.shifts.base import (
    SEVERITY_RANGE,
    ImageShift,
    Shift,
    TabularShift,
    check_severity,
    mean_change,
)
from trustbench.shifts.blur import DefocusBlur, GaussianBlur, MotionBlur
from trustbench.shifts.digital import Brightness, Contrast, JPEGCompression, Pixelate, Saturate
from trustbench.shifts.geometric import ElasticTransform
from trustbench.shifts.label import LabelShift
from trustbench.shifts.noise import GaussianNoise, ImpulseNoise, ShotNoise
from trustbench.shifts.registry import SHIFTS, get_shift, shift_class, shifts_for
from trustbench.shifts.tabular import (
    CategorySwap,
    FeatureNoise,
    FeatureOffset,
    FeatureScale,
    MissingValues,
    model_accepts_nan,
)
from trustbench.shifts.weather import Fog

__all__ = [
    "SEVERITY_RANGE",
    "SHIFTS",
    "Brightness",
    "CategorySwap",
    "Contrast",
    "DefocusBlur",
    "ElasticTransform",
    "FeatureNoise",
    "FeatureOffset",
    "FeatureScale",
    "Fog",
    "GaussianBlur",
    "GaussianNoise",
    "ImageShift",
    "ImpulseNoise",
    "JPEGCompression",
    "LabelShift",
    "MissingValues",
    "MotionBlur",
    "Pixelate",
    "Saturate",
    "Shift",
    "ShotNoise",
    "TabularShift",
    "check_severity",
    "get_shift",
    "mean_change",
    "model_accepts_nan",
    "shift_class",
    "shifts_for",
]
