"""The public surface of trustbench.harden is pinned, and every algorithm cites its paper."""

from __future__ import annotations

import trustbench.harden as harden

PUBLIC = {
    "DEFAULT_DOMAIN", "HARDEN", "METHODS", "AugmentationResult", "EpochRecord", "QuantizationResult",
    "QuantizedModel", "TrainResult", "Trainer", "ard_loss", "compress_report",
    "default_student", "distill", "fast_at_loss", "harden_by_augmentation", "harden_to_dir",
    "kd_loss", "latency_per_example", "pgd_at_loss", "prediction_agreement", "quantize_int8",
    "rslad_loss", "trades_loss",
}


def test_public_names_are_pinned() -> None:
    assert set(harden.__all__) == PUBLIC
    assert all(hasattr(harden, name) for name in PUBLIC)


def test_algorithms_cite_their_papers() -> None:
    for fn in (harden.pgd_at_loss, harden.trades_loss, harden.fast_at_loss, harden.kd_loss,
               harden.ard_loss, harden.rslad_loss, harden.quantize_int8):
        assert "References" in (fn.__doc__ or ""), fn.__name__
    import trustbench.harden.augment
    import trustbench.harden.trainer

    for module in (trustbench.harden.augment, trustbench.harden.trainer):
        assert "References" in (module.__doc__ or ""), module.__name__


def test_default_domain_is_the_unit_interval() -> None:
    assert harden.DEFAULT_DOMAIN == (0.0, 1.0)
