"""Conformance checks of a shift class.

Each takes the class and applies it (built as a scan would, with ``from_data``) to the toy
images and tables of :mod:`trustbench.testing`.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.models import Model
from trustbench.shifts.base import Shift, mean_change
from trustbench.testing._common import Check, check_docstring_has_references, expect, not_keyword_only
from trustbench.testing.toy import toy_colour_digits, toy_colour_images, toy_digits, toy_digits_mlp
from trustbench.testing.toy_tables import ToyTabular, toy_tabular

__all__ = ["SHIFT_CHECKS", "shift_checks_for"]

#: Severities that every shift must refuse.
BAD_SEVERITIES = (0, 6, -1, 2.5, True, "3", None)

#: (n, c, h, w, severity, seed) of :func:`check_any_image_size_stays_in_range`: the
#: smallest and the thinnest images, two channels, and a seeded spread of others.
IMAGE_SIZES = ((1, 1, 1, 1, 5, 0), (1, 3, 1, 12, 3, 1), (2, 2, 12, 1, 1, 2),
               (3, 3, 12, 12, 5, 3), (1, 1, 2, 3, 4, 4), (2, 3, 2, 2, 2, 5),
               *((int(n), int(c), int(h), int(w), int(s), 6 + i) for i, (n, c, h, w, s) in
                 enumerate(np.random.default_rng(0).integers([1, 1, 1, 1, 1], [4, 4, 13, 13, 6],
                                                             size=(6, 5)))))


def _accuracy(model: Model, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model.scores(x).argmax(1) == y).float().mean())


def _build(cls: type[Shift], tabular: ToyTabular) -> Shift:
    if cls.modality == "tabular":
        return cls.from_data(schema=tabular.schema, model=tabular.model, x=tabular.x)
    return cls.from_data()


def _prior_distance(y: np.ndarray, idx: np.ndarray) -> float:
    """Total variation between the class mix of ``y`` and of ``y[idx]``."""
    k = int(y.max()) + 1
    a = np.bincount(y, minlength=k) / len(y)
    b = np.bincount(y[idx], minlength=k) / max(len(idx), 1)
    return 0.5 * float(np.abs(a - b).sum())


def _image_sets(cls: type[Shift]) -> list[torch.Tensor]:
    """Return the toy image batches ``cls`` applies to: 8×8 grayscale digits and 3×32×32 colour."""
    sets = [x for x in (toy_digits()[0][:64], toy_colour_images())
            if cls.applicable(None, tuple(x.shape))]
    expect(sets, f"{cls.name} applies to neither (64, 1, 8, 8) grayscale nor (6, 3, 32, 32) "
           "colour images")
    return sets


def check_shift_is_well_formed(cls: type[Shift]) -> None:
    """Check that the class is a well-formed shift.

    The class has a ``name``, a ``modality`` (image or tabular), five ``levels`` and a
    ``requires`` text; ``__init__`` takes only keyword arguments and only stores them
    (``cls()`` works and ``get_params`` round-trips), and ``from_data`` builds an instance.
    """
    expect(cls.name, f"{cls.__name__} sets no name")
    expect(cls.modality in ("image", "tabular"), f"{cls.name}: modality {cls.modality!r}")
    expect(len(cls.levels) == 5, f"{cls.name}: {len(cls.levels)} levels, expected 5")
    expect(cls.requires, f"{cls.name}: requires is empty")
    positional = not_keyword_only(cls.__init__, skip=("self", "args", "kwargs"))
    expect(not positional, f"{cls.name}: __init__ arguments {positional} are not keyword-only")
    built = _build(cls, toy_tabular())
    for shift in (cls(), built):
        expect(isinstance(shift, cls), f"{cls.name}: from_data built a {type(shift).__name__}")
        expect(repr(shift).startswith(f"{cls.__name__}("), f"{cls.name}: repr is {shift!r}")
        twin = type(shift)(**shift.get_params())
        expect(twin.get_params() == shift.get_params(),
               f"{cls.name}: rebuilt from get_params() {shift.get_params()} it has "
               f"{twin.get_params()}: __init__ must only store its arguments")


def check_keeps_shape_dtype_and_range(cls: type[Shift]) -> None:
    """Image shifts, at severities 1 and 5, keep the inputs' shape, dtype and range.

    A tensor in [0, 1] comes back a tensor of the same shape and dtype in [0, 1]; float64
    numpy in [-1, 1] with that domain comes back float64 numpy of the same shape in
    [-1, 1], without NaN.
    """
    shift = cls.from_data()
    for x in _image_sets(cls):
        for severity in (1, 5):
            where = f"{cls.name} (severity {severity}, {tuple(x.shape)})"
            out = shift.apply(x, severity, np.random.default_rng(0))
            expect(torch.is_tensor(out) and out.shape == x.shape and out.dtype == x.dtype,
                   f"{where}: got {type(out).__name__} {tuple(out.shape)} {out.dtype}")
            lo, hi = float(out.min()), float(out.max())
            expect(lo >= 0.0 and hi <= 1.0, f"{where}: output spans [{lo:.6g}, {hi:.6g}]")
            x64 = 2.0 * x.numpy().astype(np.float64) - 1.0
            out64 = shift.apply(x64, severity, 0, domain=Domain(-1.0, 1.0))
            expect(isinstance(out64, np.ndarray) and out64.dtype == np.float64
                   and out64.shape == x.shape,
                   f"{where}, float64 numpy: got {type(out64).__name__} "
                   f"{getattr(out64, 'dtype', '?')} {getattr(out64, 'shape', '?')}")
            expect(not np.isnan(out64).any(), f"{where}, float64 numpy: NaN in the output")
            lo, hi = float(out64.min()), float(out64.max())
            expect(lo >= -1.0 and hi <= 1.0, f"{where}, domain [-1, 1]: output spans "
                   f"[{lo:.6g}, {hi:.6g}]")


def check_keeps_shape_dtype_and_domain(cls: type[Shift]) -> None:
    """Tabular shifts, at severities 1 and 5, keep the rows' shape, dtype and domain.

    On the toy breast-cancer rows: shape and dtype kept, every value inside the domain, the
    immutable feature unchanged, the categorical one unchanged unless the shift frees it,
    and the integer feature whole in raw units.
    """
    t = toy_tabular()
    shift, x, domain = _build(cls, t), t.x, t.domain
    free = shift._free(tuple(x.shape[1:]))
    for severity in (1, 5):
        where = f"{cls.name} (severity {severity})"
        out = shift.apply(x, severity, np.random.default_rng(0), domain=domain)
        expect(out.shape == x.shape and out.dtype == x.dtype,
               f"{where}: got {tuple(out.shape)} {out.dtype}, expected {tuple(x.shape)} {x.dtype}")
        expect(domain.contains(out, atol=0.0), f"{where}: values outside the domain")
        expect(torch.equal(out[:, t.immutable], x[:, t.immutable]),
               f"{where}: the immutable feature changed")
        if free is None or not free[t.categorical]:
            expect(torch.equal(out[:, t.categorical], x[:, t.categorical]),
                   f"{where}: the categorical feature changed")
        raw = (out[:, t.integer].double() * float(t.schema.span[t.integer])
               + float(t.schema.lower[t.integer]))
        expect(torch.allclose(raw, raw.round(), atol=1e-3),
               f"{where}: the integer feature is no longer whole")


def check_seeded_and_input_untouched(cls: type[Shift]) -> None:
    """At severity 3, two applications with generators seeded alike give identical output.

    They leave the input as it was; ``resample`` gives the same rows for a seed and for a
    generator of that seed, and all rows in order unless the shift resamples.
    """
    t = toy_tabular()
    shift = _build(cls, t)
    if cls.modality == "image":
        batches: list[tuple[torch.Tensor, Domain | None]] = [(x, None) for x in _image_sets(cls)]
        y = toy_digits()[1]
    else:
        batches, y = [(t.x, t.domain)], t.y
    for x, domain in batches:
        before = x.clone()
        a = shift.apply(x, 3, np.random.default_rng(7), domain=domain)
        b = shift.apply(x, 3, np.random.default_rng(7), domain=domain)
        where = f"{cls.name} ({tuple(x.shape)})"
        expect(torch.equal(a, b), f"{where}: two runs with the same seed differ (draw "
               "randomness only from rng)")
        expect(torch.equal(x, before), f"{where}: the input was modified")
    ia, ib = shift.resample(y, 4, 7), shift.resample(y, 4, np.random.default_rng(7))
    expect(np.array_equal(ia, ib), f"{cls.name}: resample with seed 7 and with "
           "default_rng(7) differ")
    if not cls.resamples:
        expect(np.array_equal(ia, np.arange(len(y))),
               f"{cls.name}: resample changes the rows but resamples is False")


def check_change_grows_with_severity(cls: type[Shift]) -> None:
    """For one seed, the change the shift makes grows with severity.

    The mean change of the inputs (or, for resampling shifts, the total variation between
    class mixes) never decreases over severities 1..5, is positive at 1 and larger at 5 than
    at 1.
    """
    t = toy_tabular()
    shift = _build(cls, t)
    if cls.resamples:
        y = t.y.numpy()
        curves = {"class mix": [_prior_distance(y, shift.resample(y, s, 0)) for s in range(1, 6)]}
    else:
        sets = ([(x, None) for x in _image_sets(cls)] if cls.modality == "image"
                else [(t.x, t.domain)])
        curves = {str(tuple(x.shape)): [mean_change(x, shift.apply(
            x, s, np.random.default_rng(0), domain=domain)) for s in range(1, 6)]
            for x, domain in sets}
    for data, d in curves.items():
        shown = ", ".join(f"{v:.4g}" for v in d)
        expect(all(b >= a - 1e-9 for a, b in itertools.pairwise(d)),
               f"{cls.name} ({data}): the change decreases with severity: {shown}")
        expect(d[-1] > d[0] > 0.0, f"{cls.name} ({data}): the change at severity 5 is not "
               f"above that at 1, or that is not positive: {shown}")


def check_rejects_severity_outside_1_to_5(cls: type[Shift]) -> None:
    """``apply`` and ``resample`` refuse severities outside 1..5.

    They raise an InputError naming the severity for 0, 6, -1, 2.5, True, "3" and None.
    """
    t = toy_tabular()
    shift = _build(cls, t)
    x = t.x[:4] if cls.modality == "tabular" else torch.zeros((2, 1, 8, 8))
    for severity in BAD_SEVERITIES:
        for what, call in (("apply", lambda s: shift.apply(x, s, 0)),
                           ("resample", lambda s: shift.resample(t.y[:4], s, 0))):
            try:
                call(severity)
            except InputError as e:
                expect("severity" in str(e), f"{cls.name}: {what}(severity={severity!r}) "
                       f"raised an InputError that does not name the severity: {e}")
                if what == "apply":
                    expect("severity must be an integer from 1 to 5" in str(e),
                           f"{cls.name}: apply(severity={severity!r}) says {e}")
                continue
            raise AssertionError(f"{cls.name}: {what}(severity={severity!r}) did not raise "
                                 "an InputError")


def check_lowers_toy_accuracy_at_severity_5(cls: type[Shift]) -> None:
    """At severity 5 a toy model's accuracy drops (by more than 0.005).

    The toy models are the digits MLP on grayscale digits, a colour-digit model on colour, a
    logistic regression on the breast-cancer rows (evaluated on the resampled rows for
    resampling shifts).
    """
    t = toy_tabular()
    shift = _build(cls, t)
    domain: Domain | None = None
    if cls.modality == "tabular":
        model, x, y, domain = t.model, t.x, t.y, t.domain
    elif cls.applicable(None, (1, 1, 8, 8)):
        (x, y), model = toy_digits(), toy_digits_mlp()
    else:
        x, y, model = toy_colour_digits()
    clean = _accuracy(model, x, y)
    rng = np.random.default_rng(0)
    if cls.resamples:
        idx = torch.from_numpy(shift.resample(y, 5, rng))
        shifted = _accuracy(model, x[idx], y[idx])
    else:
        shifted = _accuracy(model, shift.apply(x, 5, rng, domain=domain), y)
    expect(shifted < clean - 0.005, f"{cls.name}: accuracy {clean:.3f} clean and "
           f"{shifted:.3f} at severity 5")


def check_any_image_size_stays_in_range(cls: type[Shift]) -> None:
    """Image shifts keep any image size in range, or refuse it with an error naming the shift.

    On random float32 images from 1×1 to 12×12 with 1 to 3 channels: where the shift
    applies, shape and dtype are kept and values stay finite in [0, 1]; where it
    does not, ``apply`` raises an InputError naming the shift.
    """
    for n, c, h, w, severity, seed in IMAGE_SIZES:
        x = np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)
        where = f"{cls.name} ({x.shape}, severity {severity})"
        shift = cls.from_data()
        if not cls.applicable(None, x.shape):
            try:
                shift.apply(x, severity, seed)
            except InputError as e:
                expect(cls.name in str(e), f"{where}: the InputError does not name the shift: {e}")
                continue
            raise AssertionError(f"{where}: applicable() is False but apply did not raise")
        out = shift.apply(x, severity, seed)
        expect(out.shape == x.shape and out.dtype == x.dtype,
               f"{where}: got {out.shape} {out.dtype}")
        expect(np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0,
               f"{where}: values not finite in [0, 1]")


#: Every shift check, in the order :func:`~trustbench.testing.check_shift` runs them.
SHIFT_CHECKS: tuple[Check, ...] = (
    check_shift_is_well_formed,
    check_docstring_has_references,
    check_keeps_shape_dtype_and_range,
    check_keeps_shape_dtype_and_domain,
    check_seeded_and_input_untouched,
    check_change_grows_with_severity,
    check_rejects_severity_outside_1_to_5,
    check_lowers_toy_accuracy_at_severity_5,
    check_any_image_size_stays_in_range,
)

_IMAGE_ONLY = (check_keeps_shape_dtype_and_range, check_any_image_size_stays_in_range)
_TABULAR_ONLY = (check_keeps_shape_dtype_and_domain,)


def shift_checks_for(cls: type[Shift]) -> list[Check]:
    """Return the checks of :data:`SHIFT_CHECKS` that apply to ``cls``'s modality."""
    skip = _TABULAR_ONLY if cls.modality == "image" else _IMAGE_ONLY
    return [c for c in SHIFT_CHECKS if c not in skip]
