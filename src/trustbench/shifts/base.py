"""The Shift contract.

Shift authors write only :meth:`Shift._shift` (image shifts: :meth:`ImageShift._corrupt`
on [0, 1] images). The final :meth:`Shift.apply` in this base class checks the severity,
the input and the generator, and projects whatever ``_shift`` returns into the data's
domain (bounds, frozen features, integer features), so no shift can leave the valid inputs
(the same idea as :meth:`trustbench.attacks.Attack.run`).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, final

import numpy as np
import torch

from trustbench.domain import Domain
from trustbench.errors import InputError

if TYPE_CHECKING:
    from trustbench.data.schema import Schema
    from trustbench.models.base import Model

__all__ = ["SEVERITY_RANGE", "ImageShift", "SeedLike", "Shift", "TabularShift", "as_generator",
           "check_severity", "mean_change", "pixel_scale", "to_domain"]

#: Every shift has five severities, 1 (mild) to 5 (severe), as in ImageNet-C.
SEVERITY_RANGE = (1, 5)

Array = TypeVar("Array", np.ndarray, torch.Tensor)
SeedLike = np.random.Generator | int


def check_severity(severity: Any) -> int:
    """``severity`` as an int in 1..5; an InputError naming it otherwise."""
    lo, hi = SEVERITY_RANGE
    if (isinstance(severity, bool) or not isinstance(severity, int | np.integer)
            or not lo <= severity <= hi):
        raise InputError(f"severity must be an integer from {lo} to {hi}, got {severity!r}",
                         fix=f"pass one of {list(range(lo, hi + 1))}")
    return int(severity)


def as_generator(rng: Any) -> np.random.Generator:
    """``rng`` if it is a Generator, a new one seeded with it if it is an int."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise InputError(f"rng must be a numpy Generator or an int seed, got {type(rng).__name__}",
                     fix="pass np.random.default_rng(seed)")


def _example_array(value: torch.Tensor | float | None, shape: tuple[int, ...],
                   dtype: type = np.float64) -> np.ndarray | None:
    if value is None:
        return None
    v = value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)
    return np.broadcast_to(v.astype(dtype), shape)


def to_domain(out: np.ndarray, x: np.ndarray, domain: Domain, *,
              free: np.ndarray | None = None) -> np.ndarray:
    """Project shifted inputs ``out`` (N, ...) into ``domain``, given the clean ``x``.

    Frozen features (``domain.mutable`` False, unless ``free`` marks them) keep their clean
    value; values are clamped to the bounds; integer features move by whole integer steps
    (rounded, or truncated toward ``x`` where rounding would leave the bounds). NaN entries
    (values left for the model's own imputer) stay NaN.
    """
    shape = x.shape[1:]
    mutable = _example_array(domain.mutable, shape, bool)
    if mutable is not None:
        frozen = ~mutable if free is None else ~mutable & ~free
        out = np.where(frozen, x, out)
    lo = _example_array(domain.lower, shape)
    hi = _example_array(domain.upper, shape)
    out = np.minimum(np.maximum(out, lo), hi)
    integer = _example_array(domain.integer, shape, bool)
    if integer is not None and integer.any():
        step = _example_array(domain.integer_step if domain.integer_step is not None else 1.0,
                              shape)
        safe = np.where(step > 0, step, 1.0)
        delta = (out - x) / safe
        whole = x + np.round(delta) * safe
        tol = 1e-5 * safe
        outside = (whole < lo - tol) | (whole > hi + tol)
        whole = np.where(outside, x + np.trunc(delta) * safe, whole)
        whole = np.minimum(np.maximum(whole, lo), hi)  # only float rounding is left to clamp
        out = np.where(integer, np.where(step > 0, whole, x), out)
    return out


def mean_change(x: np.ndarray | torch.Tensor, x_shifted: np.ndarray | torch.Tensor) -> float:
    """Mean over examples of the root-mean-square change per feature (NaN entries skipped).

    The conformance suite checks that this grows with severity.
    """
    a = np.asarray(x.detach().cpu() if torch.is_tensor(x) else x, dtype=np.float64)
    b = np.asarray(x_shifted.detach().cpu() if torch.is_tensor(x_shifted) else x_shifted,
                   dtype=np.float64)
    if len(a) == 0:
        return 0.0
    sq = ((b - a) ** 2).reshape(len(a), -1)  # (N, D)
    seen = ~np.isnan(sq)
    per = np.sqrt(np.where(seen, sq, 0.0).sum(1) / np.maximum(seen.sum(1), 1))  # (N,)
    return float(per.mean())


class Shift(ABC):
    """Base of every distribution shift. ``__init__`` only stores keyword arguments.

    Subclasses set ``name``, ``modality``, ``levels`` (the parameter of each severity
    1..5) and ``requires``, write a docstring with a References section, and implement
    :meth:`_shift`. Shifts that change which rows are evaluated instead of the inputs
    (label-prior shift) set ``resamples = True`` and implement :meth:`resample`.
    """

    name: ClassVar[str] = ""
    modality: ClassVar[Literal["image", "tabular"]] = "image"
    #: The parameter of severities 1..5, e.g. the noise's standard deviation.
    levels: ClassVar[tuple[Any, ...]] = ()
    #: What data the shift applies to, for the message when it is skipped.
    requires: ClassVar[str] = ""
    #: The shift resamples rows (see :meth:`resample`); ``apply`` leaves ``x`` unchanged.
    resamples: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # typing.final is not enforced at runtime: refuse an override here, as an apply() of
        # its own would skip the checks of severity, shape, dtype and domain.
        if "apply" in cls.__dict__:
            raise TypeError(f"{cls.__qualname__} overrides apply(), which is final in Shift: "
                            "implement _shift() instead; Shift.apply() checks the severity and "
                            "keeps shape, dtype and domain")

    # -- sklearn-style parameters ------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Return the current value of each constructor argument, by name."""
        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters
                if k not in ("self", "args", "kwargs")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- which data and how to configure ----------------------------------------------
    @classmethod
    def applicable(cls, schema: Schema | None, x_shape: tuple[int, ...]) -> bool:
        """Whether the shift applies to data of batch shape ``x_shape`` (N, ...).

        The data is described by ``schema`` (``None``: the modality is read from the number
        of dimensions).
        """
        modality = schema.modality if schema is not None else (
            "image" if len(x_shape) >= 3 else "tabular")
        if modality != cls.modality:
            return False
        return len(x_shape) == 4 if cls.modality == "image" else len(x_shape) == 2

    @classmethod
    def from_data(cls, *, schema: Schema | None = None, model: Model | None = None,
                  x: torch.Tensor | None = None) -> Shift:
        """Return the instance a scan uses on this data and model.

        That is ``cls()`` unless a shift needs the schema's feature types or must ask the
        model what it accepts.
        """
        return cls()

    # -- the work -----------------------------------------------------------------------
    @final
    def apply(self, x: Array, severity: int, rng: SeedLike, *,
              domain: Domain | None = None) -> Array:
        """Shift ``x`` (N, ...) at ``severity`` (1..5) with randomness from ``rng`` only.

        Parameters
        ----------
        x
            Images (N, C, H, W) or tabular rows (N, F), numpy or torch; not modified.
        severity
            1 (mild) to 5 (severe).
        rng
            A ``numpy.random.Generator`` (or an int seed): the only randomness.
        domain
            Valid inputs; ``None``: [0, 1] for images, unbounded for tabular data.

        Returns
        -------
        The shifted inputs with the shape, dtype, type (and device) of ``x``, inside
        ``domain``.
        """
        severity = check_severity(severity)
        gen = as_generator(rng)
        is_tensor = torch.is_tensor(x)
        arr = x.detach().cpu().numpy() if is_tensor else np.asarray(x)
        want = 4 if self.modality == "image" else 2
        if arr.ndim != want:
            layout = "(N, C, H, W)" if want == 4 else "(N, F)"
            raise InputError(f"{self.name}: x must be {layout}, got shape {arr.shape}")
        if arr.dtype.kind != "f":
            raise InputError(f"{self.name}: x must hold floats, got {arr.dtype}",
                             fix="convert it, e.g. images to float32 in [0, 1]")
        if domain is None:
            domain = Domain(0.0, 1.0) if self.modality == "image" else Domain()
        clean = arr.astype(np.float64)
        if len(arr):
            out = self._shift(clean, severity, gen, domain)
            out = to_domain(out, clean, domain, free=self._free(arr.shape[1:]))
        else:
            out = clean
        out = np.ascontiguousarray(out, dtype=arr.dtype)
        if is_tensor:
            return torch.from_numpy(out).to(x.device)
        return out

    def describe(self) -> str:
        """Return a sentence for reports about how this instance was configured ("" if nothing)."""
        return ""

    def resample(self, y: np.ndarray | torch.Tensor, severity: int,
                 rng: SeedLike) -> np.ndarray:
        """(M,) row indices to evaluate at ``severity``; all rows for shifts of ``x``."""
        check_severity(severity)
        return np.arange(len(y))

    def _free(self, shape: tuple[int, ...]) -> np.ndarray | None:
        """Features this shift may change although the domain freezes them.

        For a category swap these are the categorical codes; ``None``: none.
        """
        return None

    @abstractmethod
    def _shift(self, x: np.ndarray, severity: int, rng: np.random.Generator,
               domain: Domain) -> np.ndarray:
        """Return shifted float64 ``x`` (N, ...); the base class projects it into ``domain``.

        ``rng`` is the only randomness; draw the same random numbers at every severity where
        you can, so that the change grows with severity for one seed.
        """


def pixel_scale(x_shape: tuple[int, ...]) -> float:
    """Factor for sizes given in pixels at CIFAR's 32×32: ``max(1, min(H, W) / 32)``.

    Images of 32 pixels or fewer keep the CIFAR-10-C values (a blur narrower than one pixel
    changes nothing), larger images scale them with their side.
    """
    return max(1.0, min(x_shape[-2:]) / 32.0)


class ImageShift(Shift):
    """An image corruption that works on any (N, C, H, W) batch in [0, 1].

    Inputs are mapped from the domain's overall range (``[min(lower), max(upper)]``, [0, 1]
    where unbounded) to [0, 1], corrupted by :meth:`_corrupt`, clipped and mapped back.
    """

    modality: ClassVar[Literal["image", "tabular"]] = "image"
    requires: ClassVar[str] = "images (N, C, H, W)"

    def _shift(self, x: np.ndarray, severity: int, rng: np.random.Generator,
               domain: Domain) -> np.ndarray:
        lo = float(np.min(_example_array(domain.lower, x.shape[1:])))
        hi = float(np.max(_example_array(domain.upper, x.shape[1:])))
        if not (np.isfinite(lo) and np.isfinite(hi)):
            lo, hi = 0.0, 1.0
        if hi <= lo:
            return x
        z = np.clip((x - lo) / (hi - lo), 0.0, 1.0)  # (N, C, H, W) in [0, 1]
        z = self._corrupt(z, self.levels[severity - 1], rng)
        return lo + np.clip(z, 0.0, 1.0) * (hi - lo)

    @abstractmethod
    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        """Corrupt ``z`` (N, C, H, W) in [0, 1] with this severity's ``level``."""


class TabularShift(Shift):
    """A shift of tabular rows (N, F), in whatever units the caller works in.

    Spreads are measured on the batch given to :meth:`apply` (the clean data), so the
    shift means the same in raw units and in range units.
    """

    modality: ClassVar[Literal["image", "tabular"]] = "tabular"
    requires: ClassVar[str] = "tabular rows (N, F)"
