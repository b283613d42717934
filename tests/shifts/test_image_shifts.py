"""What each image corruption does, checked against answers known by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.shifts import SHIFTS, Saturate, get_shift
from trustbench.shifts.base import pixel_scale
from trustbench.shifts.blur import disk_kernel, motion_kernels
from trustbench.shifts.digital import area_matrix
from trustbench.shifts.weather import fractal_noise

SPATIAL = ["defocus_blur", "gaussian_blur", "motion_blur", "pixelate", "elastic_transform"]


def test_contrast_keeps_each_images_mean_and_shrinks_deviations(gray_digits) -> None:
    x = gray_digits[0][:20].double()
    out = get_shift("contrast").apply(x, 2, 0)  # factor 0.5
    mean = x.mean((1, 2, 3), keepdim=True)
    assert torch.allclose(out, mean + 0.5 * (x - mean), atol=1e-12)


def test_brightness_on_grayscale_adds_and_clips(gray_digits) -> None:
    x = gray_digits[0][:20]
    out = get_shift("brightness").apply(x, 3, 0)  # + 0.3
    assert torch.allclose(out, (x + 0.3).clamp(max=1.0), atol=1e-6)


def test_saturate_keeps_value_and_hue_order_and_raises_saturation(colour_images) -> None:
    x = colour_images.double()
    out = Saturate().apply(x, 2, 0)  # saturation x 2
    assert torch.allclose(out.amax(1), x.amax(1), atol=1e-12)  # HSV value kept
    assert torch.equal(out.argsort(1), x.argsort(1))  # channel order (hue sector) kept
    s = lambda t: (t.amax(1) - t.amin(1)) / t.amax(1)  # noqa: E731
    assert torch.allclose(s(out), (2 * s(x)).clamp(max=1.0), atol=1e-9)
    gray = torch.full((1, 3, 4, 4), 0.4)
    assert torch.equal(Saturate().apply(gray, 5, 0), gray)  # no hue to saturate


@pytest.mark.parametrize("name", SPATIAL)
def test_spatial_shifts_leave_a_constant_image_alone(name) -> None:
    x = torch.full((3, 1, 9, 7), 0.3, dtype=torch.float64)
    assert torch.allclose(get_shift(name).apply(x, 5, 0), x, atol=1e-12)


@pytest.mark.parametrize("name", ["gaussian_noise", "shot_noise", "impulse_noise", "fog"])
def test_noise_and_fog_differ_between_seeds(name, gray_digits) -> None:
    x = gray_digits[0][:8]
    shift = get_shift(name)
    assert not torch.equal(shift.apply(x, 3, 0), shift.apply(x, 3, 1))


def test_impulse_noise_sets_about_the_level_to_0_or_1() -> None:
    x = torch.full((50, 1, 20, 20), 0.5)
    out = get_shift("impulse_noise").apply(x, 5, 0)  # 27% of the values
    hit = out != 0.5
    assert set(out[hit].unique().tolist()) == {0.0, 1.0}
    assert abs(float(hit.float().mean()) - 0.27) < 0.01


def test_jpeg_keeps_8_bit_values_and_codes_rgb(colour_images) -> None:
    out = get_shift("jpeg_compression").apply(colour_images.double(), 5, 0).numpy()
    assert np.allclose(out * 255, np.round(out * 255), atol=1e-9)
    assert np.abs(out - colour_images.numpy()).mean() > 0.005


def test_pixelate_makes_blocks() -> None:
    x = torch.rand((2, 1, 20, 20), generator=torch.Generator().manual_seed(0))
    out = get_shift("pixelate").apply(x.double(), 3, 0)  # 20 -> 17 -> 20 pixels
    assert torch.allclose(out.mean((2, 3)), x.double().mean((2, 3)), atol=1e-9)  # area-exact
    assert out.var() < x.double().var()


def test_kernels_are_normalised_and_motion_is_one_sided() -> None:
    assert np.isclose(disk_kernel(1.5, 0.1).sum(), 1.0)
    k = motion_kernels(np.array([0.0]), radius=4.0, sigma=2.0)[0]
    assert np.isclose(k.sum(), 1.0)
    centre = k.shape[0] // 2
    assert k[centre, centre + 1:].sum() > 0.5 and k[:, :centre].sum() == 0.0  # to the right
    a = area_matrix(5, 8)
    assert np.allclose(a.sum(1), 1.0) and np.allclose(a.sum(0), 5 / 8)


def test_fractal_noise_spans_0_to_1_per_image() -> None:
    f = fractal_noise(3, 8, 8, np.random.default_rng(0))
    assert f.shape == (3, 1, 8, 8)
    assert np.allclose(f.min((1, 2, 3)), 0.0) and np.allclose(f.max((1, 2, 3)), 1.0)


def test_pixel_sizes_scale_above_32_pixels() -> None:
    assert pixel_scale((1, 1, 8, 8)) == 1.0 and pixel_scale((1, 3, 64, 96)) == 2.0


def test_a_narrow_domain_is_respected(gray_digits) -> None:
    x = gray_digits[0][:10] * 0.5 + 0.25  # inside [0.25, 0.75]
    for name in [n for n, c in SHIFTS.items() if c.modality == "image" and n != "saturate"]:
        out = get_shift(name).apply(x, 5, 0, domain=Domain(0.25, 0.75))
        assert float(out.min()) >= 0.25 and float(out.max()) <= 0.75, name


def test_wrong_layout_and_seed_are_input_errors() -> None:
    with pytest.raises(InputError, match=r"x must be \(N, C, H, W\)"):
        get_shift("fog").apply(np.zeros((4, 8)), 1, 0)
    with pytest.raises(InputError, match="x must hold floats, got uint8"):
        get_shift("fog").apply(np.zeros((1, 1, 8, 8), np.uint8), 1, 0)
    with pytest.raises(InputError, match="rng must be a numpy Generator or an int seed"):
        get_shift("fog").apply(np.zeros((1, 1, 8, 8)), 1, None)
    empty = np.zeros((0, 1, 8, 8), np.float32)
    assert get_shift("motion_blur").apply(empty, 2, 0).shape == empty.shape
