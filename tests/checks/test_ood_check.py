"""The OOD check: far-OOD sets, near-OOD sets from the shift check, and planted detectors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from trustbench import Dataset, ScanConfig, Schema
from trustbench.checks.ood import (
    FAR_AUROC_WARN,
    far_ood_sets,
    natural_image_patches,
    ood_detection,
)
from trustbench.checks.products import ShiftResults
from trustbench.data import load_builtin
from trustbench.domain import Domain
from trustbench.models import CallableModel
from trustbench.scan import prepare
from trustbench.testing.toy import blob_centers, toy_blobs, toy_digits_mlp


def _blobs_ctx(fn, *, seed: int = 0):
    x, y = toy_blobs(200, seed=3)
    data = Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)), name="blobs")
    return prepare(CallableModel(fn, n_classes=4), data, ScanConfig(seed=seed))[2]


def _density_aware(x: np.ndarray) -> np.ndarray:
    """Confident near a blob center, uniform far from all: a planted good OOD detector."""
    c = blob_centers().numpy()  # (4, 8)
    d2 = ((x[:, None, :] - c[None]) ** 2).sum(2)  # (N, 4)
    w = np.exp(-d2.min(1) / 0.2)[:, None]  # (N, 1)
    return w * np.eye(4)[d2.argmin(1)] + (1 - w) / 4


def _constant(x: np.ndarray) -> np.ndarray:
    """The same confident answer for every input: OOD inputs are indistinguishable."""
    return np.tile([0.97, 0.01, 0.01, 0.01], (len(x), 1))


def test_digits_reports_every_detector_on_every_far_set() -> None:
    ctx = prepare(toy_digits_mlp(), load_builtin("digits", split="test"), ScanConfig(seed=0))[2]
    (f,) = ood_detection(ctx)
    assert f.id == "ood.detection"
    sets = {(r["set"], r["detector"]) for r in f.evidence["rows"]}
    assert sets == {(s, d) for s in ("uniform_noise", "gaussian_noise", "natural_images")
                    for d in ("msp", "energy")}  # a torch model gives logits: energy too
    for r in f.evidence["rows"]:
        assert 0 <= r["auroc"] <= 1 and 0 <= r["fpr_at_95_tpr"] <= 1 and r["n_out"] == 540
        assert f.metrics[f"auroc.{r['detector']}.{r['set']}"].value == r["auroc"]
    hardest = min(r["auroc"] for r in f.evidence["rows"] if r["detector"] == "msp")
    assert f.metrics["min_far_auroc_msp"].value == hardest
    assert f.severity == ("warn" if hardest < FAR_AUROC_WARN else "info")
    assert "No near-OOD sets" in f.detail and "Energy score not measured" not in f.detail
    assert [p["kind"] for p in f.evidence["plots"]] == ["bars", "bars"]
    json.dumps(f.to_dict())
    assert ood_detection(ctx)[0].to_dict() == f.to_dict()  # seeded


def test_planted_good_detector_is_info() -> None:
    (f,) = ood_detection(_blobs_ctx(_density_aware))
    far = {r["set"]: r["auroc"] for r in f.evidence["rows"]}
    assert set(far) == {"uniform_noise", "gaussian_noise", "permuted_features"}
    # AUROC ranks inputs by distance to the nearest center: exact up to sampling noise;
    # noise around the data mean and re-paired features overlap the blobs partly
    assert far["uniform_noise"] > 0.95 and min(far.values()) > 0.75
    assert f.severity == "info"
    assert f.evidence["detectors"] == ["msp"] and "Energy score not measured" in f.detail


def test_planted_blind_detector_warns() -> None:
    (f,) = ood_detection(_blobs_ctx(_constant))
    assert f.metrics["min_far_auroc_msp"].value == pytest.approx(0.5)  # all ties
    assert f.severity == "warn" and "below 0.7" in f.detail


def test_near_ood_sets_come_from_the_shift_check() -> None:
    ctx = _blobs_ctx(_density_aware)
    far = torch.rand((5000, 8), generator=torch.Generator().manual_seed(0))
    shifted = ShiftResults(shifted={"identity": ctx.x.clone(), "far": far.numpy()})
    (f,) = ood_detection(ctx, shifted)
    near = {r["set"]: r for r in f.evidence["rows"] if r["kind"] == "near"}
    assert set(near) == {"shift:identity", "shift:far"}
    assert near["shift:identity"]["auroc"] == pytest.approx(0.5)  # the very same inputs
    assert near["shift:far"]["auroc"] > 0.9 and near["shift:far"]["n_out"] == 200  # capped
    assert "No near-OOD sets" not in f.detail


def test_far_sets_are_seeded_in_domain_and_keep_marginals() -> None:
    x = np.random.default_rng(0).random((50, 6)).astype(np.float32)
    dom = Domain(torch.zeros(6), torch.ones(6))
    sets = far_ood_sets(x, dom, image=False, n_samples=50, seed=1)
    for v in sets.values():
        assert v.shape == (50, 6) and v.dtype == np.float32 and dom.contains(torch.from_numpy(v))
    # the permuted set holds each column's values, re-paired at random
    np.testing.assert_array_equal(np.sort(sets["permuted_features"], 0), np.sort(x, 0))
    assert not np.array_equal(sets["permuted_features"], x)
    again = far_ood_sets(x, dom, image=False, n_samples=50, seed=1)
    other = far_ood_sets(x, dom, image=False, n_samples=50, seed=2)
    assert all(np.array_equal(sets[k], again[k]) for k in sets)
    assert not np.array_equal(sets["uniform_noise"], other["uniform_noise"])


def test_far_sets_respect_integer_and_fixed_features() -> None:
    rng = np.random.default_rng(0)
    x = np.c_[rng.integers(1, 5, 40), rng.choice([2.0, 7.0], 40), rng.random(40) * 3]
    dom = Domain(torch.tensor([0.5, 0.0, 0.0]), torch.tensor([4.5, 7.0, 3.0]),  # off-grid bounds
                 mutable=torch.tensor([True, False, True]),
                 integer=torch.tensor([True, False, False]))
    for name, v in far_ood_sets(x, dom, image=False, n_samples=30, seed=0).items():
        np.testing.assert_array_equal(v[:, 0], np.round(v[:, 0]), err_msg=name)
        assert 1 <= v[:, 0].min() and v[:, 0].max() <= 4, name
        assert set(np.unique(v[:, 1])) <= {2.0, 7.0}, name  # a categorical stays a category


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 16, 12), (4, 6, 6), (5, 7)])
def test_natural_patches_have_the_input_shape(shape: tuple[int, ...]) -> None:
    p = natural_image_patches(shape, 20, seed=0)
    assert p.shape == (20, *shape) and p.dtype == np.float32
    assert p.min() >= 0 and p.max() <= 1 and p.std() > 0.05  # real picture content
    if len(shape) == 3 and shape[0] != 3:
        np.testing.assert_array_equal(p[:, 0], p[:, -1])  # grayscale in every channel
    np.testing.assert_array_equal(p, natural_image_patches(shape, 20, seed=0))


def test_image_sets_scale_into_the_domain() -> None:
    x = np.random.default_rng(0).random((10, 1, 8, 8)).astype(np.float32) * 2 - 1
    dom = Domain(-1.0, 1.0)
    nat = far_ood_sets(x, dom, image=True, n_samples=10, seed=0)["natural_images"]
    assert nat.shape == (10, 1, 8, 8) and nat.min() < 0 < nat.max()
    assert dom.contains(torch.from_numpy(nat))
