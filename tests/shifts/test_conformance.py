"""Conformance: every registered shift passes the same checks.

A new shift gets all of these by adding its registry line: it keeps shape, dtype and the
domain, is deterministic for a seed, grows with severity, rejects severities outside 1..5
and lowers a toy model's accuracy at severity 5.
"""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from shift_fixtures import CATEGORICAL, IMMUTABLE, INTEGER, accuracy

from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.shifts import SHIFTS, Shift, get_shift, mean_change, shift_class, shifts_for
from trustbench.testing.toy import toy_digits_mlp

NAMES = list(SHIFTS)
IMAGE = [n for n in NAMES if SHIFTS[n].modality == "image"]
TABULAR = [n for n in NAMES if SHIFTS[n].modality == "tabular"]


def image_sets(name, gray_digits, colour_images) -> list[torch.Tensor]:
    """The image batches ``name`` applies to: 8×8 grayscale digits and 3×32×32 colour."""
    sets = [x for x in (gray_digits[0][:64], colour_images)
            if SHIFTS[name].applicable(None, tuple(x.shape))]
    assert sets, f"{name} applies to neither grayscale nor colour images"
    return sets


def build(name: str, tabular) -> Shift:
    cls = SHIFTS[name]
    if cls.modality == "tabular":
        return cls.from_data(schema=tabular.schema, model=tabular.model, x=tabular.x)
    return cls.from_data()


def prior_distance(y: torch.Tensor, idx: np.ndarray) -> float:
    """Total variation between the class mix of ``y`` and of ``y[idx]``."""
    a = np.bincount(y.numpy(), minlength=10) / len(y)
    b = np.bincount(y.numpy()[idx], minlength=10) / len(idx)
    return 0.5 * float(np.abs(a - b).sum())


@pytest.mark.parametrize("name", NAMES)
def test_registry_entry_is_well_formed(name: str) -> None:
    cls = SHIFTS[name]
    assert cls.name == name and cls.modality in ("image", "tabular")
    assert len(cls.levels) == 5 and cls.requires
    assert "References" in (cls.__doc__ or "")
    params = inspect.signature(cls.__init__).parameters
    assert all(p.kind is p.KEYWORD_ONLY for k, p in params.items()
               if k not in ("self", "args", "kwargs"))
    shift = get_shift(name)
    assert isinstance(shift, cls) and repr(shift).startswith(f"{cls.__name__}(")
    assert type(shift)(**shift.get_params()).get_params() == shift.get_params()


def test_unknown_shift_names_the_choices() -> None:
    with pytest.raises(InputError, match=r"unknown shift 'nope'.*gaussian_noise.*label_shift"):
        get_shift("nope")
    with pytest.raises(InputError, match="fog"):
        shift_class("Fog")


def test_shifts_for_picks_by_modality_channels_and_schema(gray_digits, colour_images,
                                                          tabular) -> None:
    gray = shifts_for("image", tuple(gray_digits[0].shape))
    colour = shifts_for("image", tuple(colour_images.shape))
    assert "saturate" not in gray and "saturate" in colour
    assert set(colour) == set(IMAGE) and set(gray) == set(IMAGE) - {"saturate"}
    assert set(shifts_for("tabular", tuple(tabular.x.shape), schema=tabular.schema)) == set(
        TABULAR)
    plain = shifts_for("tabular", (10, 4))  # no schema: no categorical features known
    assert "category_swap" not in plain and "feature_noise" in plain
    assert shifts_for("text", (10, 4)) == []


@pytest.mark.parametrize("name", IMAGE)
def test_image_shifts_keep_shape_dtype_and_range(name, gray_digits, colour_images) -> None:
    shift = get_shift(name)
    for x in image_sets(name, gray_digits, colour_images):
        for severity in (1, 5):
            out = shift.apply(x, severity, np.random.default_rng(0))
            assert torch.is_tensor(out) and out.shape == x.shape and out.dtype == x.dtype
            assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
            # numpy in, numpy out, dtype kept; another range is mapped to and from [0, 1]
            x64 = 2.0 * x.numpy().astype(np.float64) - 1.0
            out64 = shift.apply(x64, severity, 0, domain=Domain(-1.0, 1.0))
            assert isinstance(out64, np.ndarray) and out64.dtype == np.float64
            assert out64.shape == x.shape and out64.min() >= -1.0 and out64.max() <= 1.0
            assert not np.isnan(out64).any()


@pytest.mark.parametrize("name", TABULAR)
def test_tabular_shifts_keep_shape_dtype_and_domain(name, tabular) -> None:
    shift, x, domain = build(name, tabular), tabular.x, tabular.domain
    for severity in (1, 5):
        out = shift.apply(x, severity, np.random.default_rng(0), domain=domain)
        assert out.shape == x.shape and out.dtype == x.dtype
        assert domain.contains(out, atol=0.0)
        assert torch.equal(out[:, IMMUTABLE], x[:, IMMUTABLE])
        if name != "category_swap":
            assert torch.equal(out[:, CATEGORICAL], x[:, CATEGORICAL])
        raw = out[:, INTEGER].double() * float(tabular.schema.span[INTEGER]) + float(
            tabular.schema.lower[INTEGER])
        assert torch.allclose(raw, raw.round(), atol=1e-3)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_result_and_input_untouched(name, gray_digits, colour_images,
                                                   tabular) -> None:
    shift = build(name, tabular)
    if shift.modality == "image":
        batches = [(x, None) for x in image_sets(name, gray_digits, colour_images)]
    else:
        batches = [(tabular.x, tabular.domain)]
    for x, domain in batches:
        before = x.clone()
        a = shift.apply(x, 3, np.random.default_rng(7), domain=domain)
        b = shift.apply(x, 3, np.random.default_rng(7), domain=domain)
        assert torch.equal(a, b) and torch.equal(x, before)
    y = tabular.y if shift.modality == "tabular" else gray_digits[1]
    ia, ib = shift.resample(y, 4, 7), shift.resample(y, 4, np.random.default_rng(7))
    assert np.array_equal(ia, ib)
    if not shift.resamples:
        assert np.array_equal(ia, np.arange(len(y)))


@pytest.mark.parametrize("name", NAMES)
def test_change_grows_with_severity(name, gray_digits, colour_images, tabular) -> None:
    shift = build(name, tabular)
    if shift.resamples:
        curves = [[prior_distance(tabular.y, shift.resample(tabular.y, s, 0))
                   for s in range(1, 6)]]
    elif shift.modality == "image":
        curves = [[mean_change(x, shift.apply(x, s, np.random.default_rng(0)))
                   for s in range(1, 6)] for x in image_sets(name, gray_digits, colour_images)]
    else:
        curves = [[mean_change(tabular.x, shift.apply(tabular.x, s, np.random.default_rng(0),
                                                      domain=tabular.domain))
                   for s in range(1, 6)]]
    for d in curves:
        assert all(b >= a - 1e-9 for a, b in itertools.pairwise(d)), d
        assert d[-1] > d[0] > 0.0, d


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("severity", [0, 6, -1, 2.5, True, "3", None])
def test_severity_outside_1_to_5_raises(name, severity, tabular) -> None:
    shift = build(name, tabular)
    x = tabular.x[:4] if shift.modality == "tabular" else torch.zeros((2, 1, 8, 8))
    with pytest.raises(InputError, match="severity must be an integer from 1 to 5"):
        shift.apply(x, severity, 0)
    with pytest.raises(InputError, match="severity"):
        shift.resample(tabular.y[:4], severity, 0)


@pytest.mark.parametrize("name", NAMES)
def test_lowers_a_toy_models_accuracy_at_severity_5(name, gray_digits, colour_digits,
                                                    tabular) -> None:
    shift = build(name, tabular)
    if shift.modality == "tabular":
        model, x, y, domain = tabular.model, tabular.x, tabular.y, tabular.domain
    elif shift.applicable(None, tuple(gray_digits[0].shape)):
        (x, y), model, domain = gray_digits, toy_digits_mlp(), None
    else:
        x, y, model = colour_digits
        domain = None
    clean = accuracy(model, x, y)
    rng = np.random.default_rng(0)
    if shift.resamples:
        idx = torch.from_numpy(shift.resample(y, 5, rng))
        shifted = accuracy(model, x[idx], y[idx])
    else:
        shifted = accuracy(model, shift.apply(x, 5, rng, domain=domain), y)
    assert shifted < clean - 0.005, (clean, shifted)


@pytest.mark.parametrize("name", IMAGE)
@settings(max_examples=12, deadline=None, derandomize=True)
@given(n=st.integers(1, 3), c=st.sampled_from([1, 2, 3]), h=st.integers(1, 12),
       w=st.integers(1, 12), severity=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_any_image_size_stays_in_range(name, n, c, h, w, severity, seed) -> None:
    x = np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)
    if not SHIFTS[name].applicable(None, x.shape):
        with pytest.raises(InputError, match=name):
            get_shift(name).apply(x, severity, seed)
        return
    out = get_shift(name).apply(x, severity, seed)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
