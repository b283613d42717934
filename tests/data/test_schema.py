"""Schema units and domains, and the invariants of Domain.project (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from trustbench.data import Schema
from trustbench.domain import Domain, project_ball
from trustbench.errors import InputError

TYPES = ["numeric", "integer", "categorical", "immutable", "numeric"]


def _tabular() -> Schema:
    return Schema("tabular", np.array([0.0, 10.0, 0.0, 18.0, 5.0]),
                  np.array([2.0, 20.0, 3.0, 99.0, 5.0]),  # the last feature is constant
                  feature_names=list("abcde"), feature_types=TYPES)


def test_to_units_and_from_units_round_trip() -> None:
    s = _tabular()
    rng = np.random.default_rng(0)
    x = (s.lower + rng.random((20, 5)) * s.span).astype(np.float32)
    u = s.to_units(x)
    assert u.dtype == np.float32
    assert u.min() >= 0 and u.max() <= 1
    np.testing.assert_array_equal(u[:, 4], 0)  # constant feature pinned at 0
    np.testing.assert_allclose(s.from_units(u), x, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(s.to_units(s.lower[None]), [[0, 0, 0, 0, 0]])
    np.testing.assert_allclose(s.to_units(s.upper[None]), [[1, 1, 1, 1, 0]])
    np.testing.assert_allclose(s.from_units(np.full((1, 5), 0.5, np.float32)),
                               [[1.0, 15.0, 1.5, 58.5, 5.0]])


def test_range_domain() -> None:
    d = _tabular().domain(units="range")
    torch.testing.assert_close(d.lower, torch.zeros(5))
    torch.testing.assert_close(d.upper, torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0]))
    assert d.mutable.tolist() == [True, True, False, False, True]
    assert d.integer.tolist() == [False, True, False, False, False]
    torch.testing.assert_close(d.integer_step, torch.tensor([0.5, 0.1, 1 / 3, 1 / 81, 0.0]))


def test_raw_domain() -> None:
    s = _tabular()
    d = s.domain()
    torch.testing.assert_close(d.lower, torch.from_numpy(s.lower))
    torch.testing.assert_close(d.upper, torch.from_numpy(s.upper))
    assert d.integer_step is None
    assert d.span == pytest.approx(3.0)  # median width over (2, 10, 3, 81, 0)
    numeric = Schema("image", np.zeros((1, 2, 2)), np.ones((1, 2, 2)))
    dn = numeric.domain(units="range")
    assert dn.mutable is None and dn.integer is None and dn.integer_step is None


def test_range_domain_moves_integer_features_by_whole_units() -> None:
    s = _tabular()
    x_raw = np.array([[1.0, 12.0, 1.0, 30.0, 5.0]], np.float32)
    x = torch.from_numpy(s.to_units(x_raw))
    d = s.domain(units="range")
    out = d.project(x + torch.tensor([[0.3, 0.27, 0.5, 0.5, 0.5]]), x, norm="linf", eps=0.5)
    raw = s.from_units(out.numpy())[0]
    assert raw[0] == pytest.approx(1.6, abs=1e-5)  # numeric: moved freely
    assert raw[1] == pytest.approx(14.0, abs=1e-4)  # integer: 2.7 units truncated to 2
    assert raw[2] == 1.0 and raw[3] == 30.0  # categorical and immutable: unchanged
    assert raw[4] == 5.0  # constant feature: nowhere to go


def test_schema_rejects_inverted_bounds_and_unknown_types() -> None:
    with pytest.raises(InputError, match="lower bound is above its upper bound"):
        Schema("tabular", np.array([1.0]), np.array([0.0]))
    with pytest.raises(InputError, match=r"unknown feature type 'text'.*numeric, integer"):
        Schema("tabular", np.zeros(1), np.ones(1), feature_types=["text"])


def test_validate_checks_shape_and_bounds() -> None:
    s = Schema("image", np.zeros((1, 2, 2)), np.ones((1, 2, 2)))
    s.validate(np.ones((3, 1, 2, 2), np.float32), source="ok")
    s.validate(np.full((3, 1, 2, 2), 1 + 1e-6, np.float32), source="within tolerance")
    with pytest.raises(InputError, match=r"src: examples have shape \(4,\) but the schema "
                                         r"describes \(1, 2, 2\)"):
        s.validate(np.zeros((3, 4)), source="src")
    x = np.zeros((3, 1, 2, 2))
    x[1, 0, 0, 0] = -0.5
    x[2, 0, 1, 1] = 1.5
    with pytest.raises(InputError, match=r"2 rows hold values outside the declared bounds \[0, 1\]"):
        s.validate(x, source="src")


def test_from_data_image_uses_one_global_range() -> None:
    x = np.zeros((2, 1, 2, 2), np.float32)
    x[0, 0, 0, 0] = 0.8
    s = Schema.from_data(x)
    assert s.modality == "image" and s.bounds_source == "data"
    np.testing.assert_array_equal(s.upper, np.full((1, 2, 2), 0.8, np.float32))


def test_to_dict() -> None:
    d = _tabular().to_dict()
    assert d["modality"] == "tabular" and d["example_shape"] == [5]
    assert d["lower_min"] == 0.0 and d["upper_max"] == 99.0
    assert d["features"][1] == {"name": "b", "type": "integer", "min": 10.0, "max": 20.0}


# -- Domain.project invariants -----------------------------------------------------------------

TOL = 1e-5


@st.composite
def projection_cases(draw):
    n = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    seed = draw(st.integers(0, 2**31 - 1))
    norm = draw(st.sampled_from(["linf", "l2"]))
    eps = draw(st.floats(0.0, 3.0, allow_nan=False))
    per_example = draw(st.booleans())
    with_masks = draw(st.booleans())
    range_units = draw(st.booleans())
    g = torch.Generator().manual_seed(seed)
    lower = torch.round(-3 * torch.rand(shape, generator=g))  # integer-valued bounds
    upper = lower + torch.round(4 * torch.rand(shape, generator=g))  # some features constant
    x = lower + torch.round((upper - lower) * torch.rand((n, *shape), generator=g))  # integers
    x_adv = x + 4 * torch.randn((n, *shape), generator=g)
    mutable = integer = step = None
    if with_masks:
        mutable = torch.rand(shape, generator=g) > 0.3
        integer = torch.rand(shape, generator=g) > 0.5
    if range_units:  # as Schema.domain(units="range"): [0, 1] with integer steps of 1/span
        span = upper - lower
        step = torch.where(span > 0, 1 / torch.where(span > 0, span, torch.ones_like(span)),
                           torch.zeros_like(span))
        x = torch.where(span > 0, (x - lower) / torch.where(span > 0, span, torch.ones_like(span)),
                        torch.zeros_like(x))
        x_adv = x + torch.randn((n, *shape), generator=g)
        lower, upper = torch.zeros(shape), (span > 0).float()
        if integer is None:
            step = None
    e = (torch.rand(n, generator=g) * eps) if per_example else eps
    domain = Domain(lower, upper, mutable, integer, step)
    return domain, x, x_adv, norm, e


@settings(max_examples=150, deadline=None)
@given(projection_cases())
def test_project_stays_in_ball_bounds_and_constraints(case) -> None:
    domain, x, x_adv, norm, eps = case
    out = domain.project(x_adv, x, norm=norm, eps=eps)
    assert out.shape == x.shape and out.dtype == x.dtype
    delta = (out - x).flatten(1)
    size = delta.abs().amax(1) if norm == "linf" else delta.norm(dim=1)
    e = eps if torch.is_tensor(eps) else torch.full((len(x),), float(eps))
    assert torch.all(size <= e * (1 + TOL) + TOL), (size, e)
    assert domain.contains(out, atol=TOL)
    assert torch.all(out >= torch.as_tensor(domain.lower) - TOL)
    assert torch.all(out <= torch.as_tensor(domain.upper) + TOL)
    if domain.mutable is not None:
        assert torch.equal(out[:, ~domain.mutable], x[:, ~domain.mutable])
    if domain.integer is not None:
        step = torch.ones_like(x[0]) if domain.integer_step is None else domain.integer_step
        moved = ((out - x) / torch.where(step > 0, step, torch.ones_like(step)))[:, domain.integer]
        torch.testing.assert_close(moved, torch.round(moved), rtol=0, atol=1e-4)
        constant = (step == 0) & domain.integer
        assert torch.equal(out[:, constant], x[:, constant])
    # idempotent: projecting a valid point again changes nothing (up to float rounding)
    torch.testing.assert_close(domain.project(out, x, norm=norm, eps=eps), out, rtol=0, atol=1e-5)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.sampled_from(["linf", "l2"]),
       st.floats(0.0, 2.0, allow_nan=False), st.integers(0, 2**31 - 1))
def test_project_ball_shrinks_only(n: int, f: int, norm: str, eps: float, seed: int) -> None:
    delta = 3 * torch.randn((n, f), generator=torch.Generator().manual_seed(seed))
    out = project_ball(delta, norm=norm, eps=eps)
    size = out.abs().amax(1) if norm == "linf" else out.norm(dim=1)
    assert torch.all(size <= eps * (1 + TOL) + 1e-7)
    # never grows a coordinate, never flips its sign
    assert torch.all(out.abs() <= delta.abs() + 1e-7)
    assert torch.all(out * delta >= 0)
    inside = (delta.abs().amax(1) if norm == "linf" else delta.norm(dim=1)) <= eps
    torch.testing.assert_close(out[inside], delta[inside])


def test_project_ball_rejects_unknown_norm() -> None:
    with pytest.raises(ValueError, match="norm must be 'linf' or 'l2', got 'l1'"):
        project_ball(torch.zeros(1, 2), norm="l1", eps=1.0)  # type: ignore[arg-type]
