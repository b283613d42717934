"""Conformance: every registered shift passes every check of the public conformance kit
(:mod:`trustbench.testing.conformance`).

A new shift gets all of these by adding its registry line: it keeps shape, dtype and the
domain, is deterministic for a seed, grows with severity, rejects severities outside 1..5,
handles any image size and lowers a toy model's accuracy at severity 5.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustbench.errors import InputError
from trustbench.shifts import SHIFTS, get_shift, shift_class, shifts_for
from trustbench.testing.conformance import parametrize_with_checks, parametrized_checks, shift_checks

NAMES = list(SHIFTS)
IMAGE = [n for n in NAMES if SHIFTS[n].modality == "image"]
TABULAR = [n for n in NAMES if SHIFTS[n].modality == "tabular"]


@parametrize_with_checks(SHIFTS)
def test_shift_conforms(entry, check) -> None:  # type: ignore[no-untyped-def]
    check(entry)


def test_every_registered_shift_gets_every_check() -> None:
    """Meta: the registry is not empty, the kit has checks for every entry (those of its
    modality, References among them) and the test above runs each of them."""
    assert SHIFTS and IMAGE and TABULAR
    expected = set()
    for cls in SHIFTS.values():
        names = {c.__name__ for c in shift_checks(cls)}
        assert {"check_docstring_has_references", "check_seeded_and_input_untouched",
                "check_change_grows_with_severity",
                "check_lowers_toy_accuracy_at_severity_5"} <= names
        assert ("check_keeps_shape_dtype_and_range" if cls.modality == "image"
                else "check_keeps_shape_dtype_and_domain") in names
        expected |= {(cls, c) for c in shift_checks(cls)}
    run = parametrized_checks(test_shift_conforms)
    assert len(run) == len(set(run)) and set(run) == expected


@pytest.mark.parametrize("name", NAMES)
def test_registry_names_match_and_build(name: str) -> None:
    cls = SHIFTS[name]
    assert cls.name == name
    shift = get_shift(name)
    assert type(shift) is cls and shift_class(name) is cls


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
@settings(max_examples=12, deadline=None, derandomize=True)
@given(n=st.integers(1, 3), c=st.sampled_from([1, 2, 3]), h=st.integers(1, 12),
       w=st.integers(1, 12), severity=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_any_image_size_stays_in_range(name, n, c, h, w, severity, seed) -> None:
    """Beyond the kit's fixed sizes (check_any_image_size_stays_in_range): hypothesis."""
    x = np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)
    if not SHIFTS[name].applicable(None, x.shape):
        with pytest.raises(InputError, match=name):
            get_shift(name).apply(x, severity, seed)
        return
    out = get_shift(name).apply(x, severity, seed)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
