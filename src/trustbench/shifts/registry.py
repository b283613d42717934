"""Name -> shift class. Adding a shift is one module plus one line here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trustbench.errors import InputError
from trustbench.shifts.base import Shift
from trustbench.shifts.blur import DefocusBlur, GaussianBlur, MotionBlur
from trustbench.shifts.digital import Brightness, Contrast, JPEGCompression, Pixelate, Saturate
from trustbench.shifts.geometric import ElasticTransform
from trustbench.shifts.label import LabelShift
from trustbench.shifts.noise import GaussianNoise, ImpulseNoise, ShotNoise
from trustbench.shifts.tabular import (
    CategorySwap,
    FeatureNoise,
    FeatureOffset,
    FeatureScale,
    MissingValues,
)
from trustbench.shifts.weather import Fog

if TYPE_CHECKING:
    from trustbench.data.schema import Schema

__all__ = ["SHIFTS", "get_shift", "shift_class", "shifts_for"]

SHIFTS: dict[str, type[Shift]] = {
    # images: the ImageNet-C / CIFAR-10-C families
    "gaussian_noise": GaussianNoise,
    "shot_noise": ShotNoise,
    "impulse_noise": ImpulseNoise,
    "defocus_blur": DefocusBlur,
    "gaussian_blur": GaussianBlur,
    "motion_blur": MotionBlur,
    "brightness": Brightness,
    "contrast": Contrast,
    "saturate": Saturate,
    "pixelate": Pixelate,
    "jpeg_compression": JPEGCompression,
    "elastic_transform": ElasticTransform,
    "fog": Fog,
    # tabular
    "feature_noise": FeatureNoise,
    "missing_values": MissingValues,
    "feature_scale": FeatureScale,
    "feature_offset": FeatureOffset,
    "category_swap": CategorySwap,
    "label_shift": LabelShift,
}


def shift_class(name: str) -> type[Shift]:
    """Return the class registered as ``name``; raise an InputError listing the valid names otherwise."""
    try:
        return SHIFTS[name]
    except KeyError:
        raise InputError(f"unknown shift {name!r}",
                         fix=f"use one of: {', '.join(SHIFTS)}") from None


def get_shift(name: str, **params: Any) -> Shift:
    """Build the registered shift ``name`` with ``params``."""
    return shift_class(name)(**params)


def shifts_for(modality: str, x_shape: tuple[int, ...], *,
               schema: Schema | None = None) -> list[str]:
    """Return the names of the registered shifts for ``modality`` that apply, in registry order.

    A shift applies when it fits a batch of shape ``x_shape`` (N, ...) described by
    ``schema``.
    """
    return [name for name, cls in SHIFTS.items()
            if cls.modality == modality and cls.applicable(schema, tuple(x_shape))]
