"""Harden models: training losses, a trainer, augmentation, distillation and quantization.

The package offers adversarial-training losses for your own loop, a trainer, augmentation
for black-box models, robustness-preserving distillation, int8 quantization, and a report of
what compression costs.

* :func:`pgd_at_loss`, :func:`trades_loss`, :func:`fast_at_loss` — drop-in replacements for
  cross-entropy in a torch training loop.
* :class:`Trainer` — the loop for those without one: early stopping on robust validation
  accuracy, atomic per-epoch checkpoints, resumable.
* :func:`harden_by_augmentation` — scikit-learn and other black-box models.
* :func:`distill`, :func:`kd_loss`, :func:`ard_loss`, :func:`rslad_loss` — into a smaller
  student.
* :func:`quantize_int8`, :class:`QuantizedModel`, :func:`prediction_agreement` — post-training
  int8 and honest attacks on it.
* :func:`compress_report` — size, latency, accuracy, robustness and calibration per variant.
"""

from __future__ import annotations

from trustbench.harden.augment import AugmentationResult, harden_by_augmentation
from trustbench.harden.catalogue import HARDEN  # registers harden/compress's catalogue
from trustbench.harden.compress import compress_report
from trustbench.harden.distill import ard_loss, default_student, distill, kd_loss, rslad_loss
from trustbench.harden.losses import DEFAULT_DOMAIN, fast_at_loss, pgd_at_loss, trades_loss
from trustbench.harden.measure import latency_per_example
from trustbench.harden.quantize import (
    QuantizationResult,
    QuantizedModel,
    prediction_agreement,
    quantize_int8,
)
from trustbench.harden.run import harden_to_dir
from trustbench.harden.trainer import METHODS, EpochRecord, Trainer, TrainResult

__all__ = [
    "DEFAULT_DOMAIN",
    "HARDEN",
    "METHODS",
    "AugmentationResult",
    "EpochRecord",
    "QuantizationResult",
    "QuantizedModel",
    "TrainResult",
    "Trainer",
    "ard_loss",
    "compress_report",
    "default_student",
    "distill",
    "fast_at_loss",
    "harden_by_augmentation",
    "harden_to_dir",
    "kd_loss",
    "latency_per_example",
    "pgd_at_loss",
    "prediction_agreement",
    "quantize_int8",
    "rslad_loss",
    "trades_loss",
]
