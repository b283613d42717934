"""One random stream per point, so an attack's result for a point never depends on its batch.

A shared generator hands out numbers in batch order: a point's random start then depends on
which other points were in its batch, how large the batch was and which points an earlier
stage or a smaller eps had already fooled. Here every number is a hash of (seed, a draw
label, the point's index in the attacked set, the element's position), computed in torch
(counter-based, like Philox or Random123, but in plain integer arithmetic), so:

- the same point, seed and attack give the same numbers in any batch, at any batch size,
  alone or with others; a robustness curve reproduces the independent run at every eps for
  every point it attacks; early stop changes the cost, never the outcome;
- drawing costs a few integer operations per number, vectorised, with no Python loop.

Quality: multiply-xorshift hashes on 32 bits (two or three rounds), with 24-bit uniforms. That is far
more than random starts and random search need; it is not for cryptography or for
statistics that need 53-bit floats.
"""

from __future__ import annotations

import math
import zlib

import torch

__all__ = ["PointStreams"]

_MASK = 0xFFFFFFFF
# Odd multipliers below 2**31, so a 32-bit value times one stays below 2**63 (no int64
# overflow); the xorshift-multiply rounds follow the lowbias32 / triple32 family.
_MULTIPLIERS = (0x7FEB352D, 0x2C1B3C6D, 0x297A2D39)
_GOLDEN = 0x9E3779B9


def _mix(v: torch.Tensor, rounds: int = 3, *, inplace: bool = False) -> torch.Tensor:
    """Hash int64 tensors holding values in [0, 2**32) with a bijective 32-bit hash."""
    if not inplace:
        v = v.clone()
    for m in _MULTIPLIERS[:rounds]:
        v ^= v >> 16
        v.mul_(m).bitwise_and_(_MASK)
    return v.bitwise_xor_(v >> 15)


def _mix_int(v: int) -> int:
    """:func:`_mix` (three rounds) on one Python int: the same numbers, without tensors."""
    for m in _MULTIPLIERS:
        v ^= v >> 16
        v = (v * m) & _MASK
    return v ^ (v >> 15)


def _label(tag: str, counters: tuple[int, ...]) -> int:
    """Return a 32-bit number for a draw label such as ("square", 17, 2)."""
    return zlib.crc32(repr((tag, *counters)).encode())


class PointStreams:
    """Counter-based random numbers, one stream per point.

    Points are named by ``ids``: (n,) int64, each point's index in the set the attack was
    asked about (attacks get the ids of the batch in hand from ``ctx.point_ids``). Every
    draw takes a label: a tag naming the call site and integer counters (restart,
    iteration...). Draws with different labels are independent; the same label gives the
    same numbers, so each call site uses its own.

    Loops that draw every iteration can keep ``streams.base(ids)`` (shrinking it with their
    points) and call :meth:`bits_of`, to skip hashing the ids again.

    Parameters
    ----------
    seed
        The attack's seed.
    """

    def __init__(self, seed: int) -> None:
        self.seed = _mix_int(int(seed) & _MASK)

    def base(self, ids: torch.Tensor) -> torch.Tensor:
        """(n,) the per-point part of every draw."""
        return _mix((ids.to(torch.int64) * _GOLDEN + self.seed) & _MASK, inplace=True)

    def bits(self, ids: torch.Tensor, shape: tuple[int, ...], tag: str,
             *counters: int) -> torch.Tensor:
        """(len(ids), *shape) int64 uniform on [0, 2**32)."""
        return self.bits_of(self.base(ids), shape, tag, *counters)

    def bits_of(self, base: torch.Tensor, shape: tuple[int, ...], tag: str,
                *counters: int) -> torch.Tensor:
        """:meth:`bits` from precomputed ``base(ids)``, for loops that draw every iteration."""
        key = _mix_int(self.seed ^ _label(tag, counters))
        numel = math.prod(shape)
        if numel <= 16:  # small draws (every iteration of a search): hash positions in Python
            pos = torch.tensor([_mix_int(k ^ key) for k in range(numel)], dtype=torch.int64)
        else:
            pos = _mix(torch.arange(numel, dtype=torch.int64) ^ key, inplace=True)  # (numel,)
        v = (base[:, None] + pos[None, :]).bitwise_and_(_MASK)  # (n, numel)
        return _mix(v, rounds=2, inplace=True).view((len(base), *shape))

    def uniform(self, ids: torch.Tensor, shape: tuple[int, ...], tag: str, *counters: int,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(len(ids), *shape) uniform on [0, 1), 24-bit resolution."""
        return (self.bits(ids, shape, tag, *counters) >> 8).to(dtype) * (1.0 / (1 << 24))

    def normal(self, ids: torch.Tensor, shape: tuple[int, ...], tag: str, *counters: int,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(len(ids), *shape) standard normal (Box-Muller on two uniform draws)."""
        u1 = 1.0 - self.uniform(ids, shape, tag, *counters, 0, dtype=dtype)  # (0, 1]
        u2 = self.uniform(ids, shape, tag, *counters, 1, dtype=dtype)
        return (-2.0 * u1.log()).sqrt() * torch.cos(2.0 * math.pi * u2)

    def integers(self, ids: torch.Tensor, high: int, shape: tuple[int, ...], tag: str,
                 *counters: int) -> torch.Tensor:
        """(len(ids), *shape) int64 uniform on [0, high) (modulo bias below ``high / 2**32``)."""
        return self.bits(ids, shape, tag, *counters) % int(high)

    def signs(self, ids: torch.Tensor, shape: tuple[int, ...], tag: str,
              *counters: int) -> torch.Tensor:
        """(len(ids), *shape) float32 -1 or +1."""
        return ((self.bits(ids, shape, tag, *counters) >> 31) * 2 - 1).to(torch.float32)

    def shared_uniform(self, tag: str, *counters: int) -> float:
        """One uniform number for the whole batch (a choice made once per iteration).

        It does not depend on the batch either.
        """
        return (_mix_int(self.seed ^ _label("shared:" + tag, counters)) >> 8) / (1 << 24)
