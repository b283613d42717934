"""Square Attack: score-based black-box random search with square-shaped updates.

References
----------
Andriushchenko, Croce, Flammarion & Hein, "Square Attack: a query-efficient black-box
adversarial attack via random search", ECCV 2020. Reference code:
github.com/max-andr/square-attack (``attack.py``) and github.com/fra31/auto-attack
(``autoattack/square.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar

import torch

from trustbench.attacks.base import Attack, AttackContext, Param
from trustbench.attacks.streams import PointStreams
from trustbench.domain import Norm

__all__ = ["Square", "p_selection"]

_BLOCK = 32  # iterations whose random numbers are drawn in one go


def p_selection(p_init: float, it: int, n_queries: int, *, rescale: bool = True) -> float:
    """Return ``p`` at iteration ``it`` of the reference's piecewise-constant schedule.

    ``p`` is the fraction of the input a square covers; it is halved at iterations 10, 50,
    200, 500, 1000, 2000, 4000, 6000 and 8000 of a 10,000-query run; with ``rescale`` those
    iterations scale to ``n_queries``.
    """
    if rescale:
        it = int(it / n_queries * 10000)
    for k, bound in enumerate((10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)):
        if it <= bound:
            return p_init / 2**k
    return p_init / 512


def _as_image(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) view of any input.

    (N, F) -> (N, 1, 1, F), a strip of features; (N, H, W) -> (N, 1, H, W);
    (N, C, ..., H, W) -> channels and leading axes merged.
    """
    n = len(x)
    if x.ndim == 2:
        return x.reshape(n, 1, 1, -1)
    if x.ndim == 3:
        return x.reshape(n, 1, *x.shape[1:])
    return x.reshape(n, -1, *x.shape[-2:])


def _window(p: float, h: int, w: int, *, smallest: int, odd: bool) -> tuple[int, int]:
    """Window shape covering a fraction ``p`` of an h x w image.

    The window is a square of side ``round(sqrt(p h w))``, or on a strip (h or w is 1) a
    segment of ``round(p (h w))``.
    """
    strip = h == 1 or w == 1
    s = round(p * h * w) if strip else round(math.sqrt(p * h * w))
    s = max(s, smallest)
    if odd and s % 2 == 0:
        s += 1
    if strip:
        return (1, min(s, w)) if h == 1 else (min(s, h), 1)
    s = min(s, h, w)
    return s, s


@lru_cache(maxsize=256)
def _bump(a: int, b: int) -> torch.Tensor:
    """Return the (a, b) unit-norm pseudo-Gaussian.

    It is made of nested centred rectangles, the k-th adding ``1/(k+1)^2`` (the reference's
    ``eta_rectangles``, in closed form). Cached: never modify the result in place.
    """
    di = (torch.arange(a) - a // 2).abs()
    dj = (torch.arange(b) - b // 2).abs()
    depth = torch.maximum(di[:, None], dj[None, :])  # (a, b) rectangle index of each cell
    weights = 1.0 / (torch.arange(max(a, b) // 2 + 1, dtype=torch.float32) + 1) ** 2
    tail = weights.flip(0).cumsum(0).flip(0)  # tail[d] = sum_{k >= d} weights[k]
    out = tail[depth]
    return out / out.norm().clamp_min(1e-12)


@lru_cache(maxsize=256)
def _eta(sh: int, sw: int, transpose: bool) -> torch.Tensor:
    """(sh, sw) unit-norm L2 update: a positive bump on one half, a negative on the other.

    This is the reference's ``meta_pseudo_gaussian_pert``; transposed if asked and square.
    Cached: never modify the result in place.
    """
    if sh == 1 or sw == 1:
        n = sh * sw
        d = torch.cat([_bump(1, n // 2), -_bump(1, n - n // 2)], dim=1).reshape(sh, sw)
    else:
        d = torch.cat([_bump(sh // 2, sw), -_bump(sh - sh // 2, sw)], dim=0)
        if sh == sw and transpose:
            d = d.T
    return d / d.norm().clamp_min(1e-12)


@lru_cache(maxsize=1024)
def _spans(length: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Membership table and offsets of every span of ``size`` cells in ``length``.

    For every start v of such a span: the (V, length) bool membership table and the
    (V, length) offset of each cell from v, clamped into the span.
    Cached: never modify the results in place.
    """
    offset = torch.arange(length)[None, :] - torch.arange(length - size + 1)[:, None]
    return (offset >= 0) & (offset < size), offset.clamp(0, size - 1)


_WINDOW_TABLE_CELLS = 1 << 22  # largest table of every window's mask kept (4 MB of bools)


@lru_cache(maxsize=64)
def _windows(h: int, w: int, sh: int, sw: int) -> torch.Tensor | None:
    """(Vh * Vw, h, w) mask of every (sh, sw) window, by top-left corner ``vh * Vw + vw``.

    Looking a mask up costs a fifth of building it, and Square builds one per point per
    iteration. ``None`` when the table would pass :data:`_WINDOW_TABLE_CELLS` (large inputs
    with small windows). Cached: never modify the result in place.
    """
    vh, vw = h - sh + 1, w - sw + 1
    if vh * vw * h * w > _WINDOW_TABLE_CELLS:
        return None
    rows, cols = _spans(h, sh)[0], _spans(w, sw)[0]  # (Vh, h), (Vw, w)
    return (rows[:, None, :, None] & cols[None, :, None, :]).reshape(vh * vw, h, w)


def _mask_at(vh: torch.Tensor, vw: torch.Tensor, h: int, w: int, sh: int,
             sw: int) -> torch.Tensor:
    """(n, 1, h, w) bool masks of windows of shape (sh, sw).

    The windows' top-left corners are (vh, vw), (n,) each.
    """
    table = _windows(h, w, sh, sw)
    if table is not None:
        return table.index_select(0, vh * (w - sw + 1) + vw)[:, None]
    return _spans(h, sh)[0][vh][:, None, :, None] & _spans(w, sw)[0][vw][:, None, None, :]


def _to_signs(bits: torch.Tensor) -> torch.Tensor:
    """-1 or +1 from the top bit of 32-bit random integers."""
    return ((bits >> 31) * 2 - 1).to(torch.float32)


def _l2_init(ids: torch.Tensor, c: int, h: int, w: int, streams: PointStreams) -> torch.Tensor:
    """(n, c, h, w) reference L2 start.

    It is a grid of bumps of side ``min(h, w) // 5`` (segments of a fifth of the length on a
    strip), each with a random sign per image and channel.
    """
    n = len(ids)
    strip = h == 1 or w == 1
    s = max((h * w if strip else min(h, w)) // 5, 1)
    sh, sw = (1, s) if strip and h == 1 else (s, 1) if strip else (s, s)
    delta = torch.zeros(n, c, h, w)
    # As the reference: start at (len - 5 s) // 2 and lay whole windows up to the edge.
    oh, ow = max((h - 5 * sh) // 2, 0), max((w - 5 * sw) // 2, 0)
    nh, nw = (h - oh) // sh, (w - ow) // sw
    if nh == 0 or nw == 0:
        return delta
    etas = torch.stack([_eta(sh, sw, streams.shared_uniform("square-init-eta", k) > 0.5)
                        for k in range(nh * nw)])  # (nh nw, sh, sw)
    tiles = etas.view(nh, nw, sh, sw).permute(0, 2, 1, 3).reshape(nh * sh, nw * sw)
    signs = streams.signs(ids, (c, nh, nw), "square-init")
    signs = signs.repeat_interleave(sh, 2).repeat_interleave(sw, 3)
    delta[:, :, oh : oh + nh * sh, ow : ow + nw * sw] = tiles * signs
    return delta


class Square(Attack):
    """Square Attack: random search over square-shaped updates, using only scores.

    Each iteration changes one random window (per point) of the best perturbation so far
    and keeps the change if it lowers the margin loss ``s_y - max_{k != y} s_k``: on logits,
    or on log-probabilities for models that return probabilities (the same margin as on
    logits for a softmax model). L∞ starts from vertical stripes of ``±eps`` and sets a
    window to ``±eps`` per channel; L2 starts from a grid of pseudo-Gaussian bumps and moves
    mass between two windows, staying on the sphere of radius ``eps``. The window covers a
    fraction ``p`` of the input, following the reference's schedule from ``p_init``.

    Works on any input: (N, C, H, W) images; (N, F) tabular rows as a 1 x F strip whose
    "squares" are segments of ``round(p F)`` consecutive features; (N, H, W) as one channel.
    Each point uses at most ``n_queries`` forward passes and stops when it is fooled. Its
    random windows and signs come from its own stream, so they do not depend on the batch.

    Parameters
    ----------
    eps
        Radius of the threat model.
    norm
        ``"linf"`` or ``"l2"``.
    n_queries
        Query budget per point, the starting point included.
    p_init
        Initial fraction of the input that a window covers.
    rescale_schedule
        Scale the schedule of ``p`` (written for 10,000 queries) to ``n_queries``, as the
        original code does; AutoAttack's standard version does not.
    seed
        Seeds the random search.

    References
    ----------
    Andriushchenko, Croce, Flammarion & Hein, "Square Attack: a query-efficient black-box
    adversarial attack via random search", ECCV 2020.
    """

    name = "square"
    requires_gradients = False
    params: ClassVar[Mapping[str, Param]] = {
        "n_queries": Param(int, low=1, high=10_000_000),
        "p_init": Param(float, low=0.0, high=1.0, low_open=True),
        "rescale_schedule": Param(bool)}

    def __init__(self, *, eps: float = 0.1, norm: Norm = "linf", n_queries: int = 5000,
                 p_init: float = 0.8, rescale_schedule: bool = True, seed: int = 0) -> None:
        self.eps = eps
        self.norm = norm
        self.n_queries = n_queries
        self.p_init = p_init
        self.rescale_schedule = rescale_schedule
        self.seed = seed

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Cheap parameters for the conformance suite; see :meth:`Attack.test_params`."""
        return {"n_queries": 100}

    def max_cost(self, n_classes: int) -> tuple[int, int]:
        """Upper bound on the cost of one point; see :meth:`Attack.max_cost`."""
        return (0, self.n_queries)

    @staticmethod
    def _margin(ctx: AttackContext, x: torch.Tensor,
                y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N,) margin loss and (N,) fooled, from one counted forward pass."""
        s = ctx.scores(x)  # (N, C)
        fooled = s.argmax(1) != y
        if ctx.model.capabilities.outputs == "probabilities":
            s = s.clamp_min(torch.finfo(s.dtype).tiny).log()
        s_y = s.gather(1, y[:, None]).squeeze(1)
        # scatter out of place: torch models return inference tensors, which are read-only
        others = s.scatter(1, y[:, None], float("-inf")).amax(1)
        return s_y - others, fooled

    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Run the random search; see :meth:`Attack.perturb`."""
        eps, streams = float(self.eps), ctx.streams
        shape, xi = x.shape, _as_image(x)
        n, c, h, w = xi.shape
        ids = ctx.point_ids(n)

        def orig(t: torch.Tensor) -> torch.Tensor:  # image layout -> the input's layout
            return t.reshape(len(t), *shape[1:])

        def feasible(d: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
            """Project a perturbation (image layout) to a valid input (image layout)."""
            return _as_image(ctx.project(orig(x0 + d), orig(x0)))

        mutable = (None if ctx.domain.mutable is None else
                   _as_image(ctx.domain.mutable.expand(shape[1:]).reshape(1, *shape[1:])))
        if self.norm == "linf":
            stripes = (c, 1, w) if w > 1 else (c, h, 1)  # vertical stripes
            start = eps * streams.signs(ids, stripes, "square-start").expand(n, c, h, w)
        else:
            start = self._unit_l2(_l2_init(ids, c, h, w, streams), mutable) * eps
        best = feasible(start, xi)  # (n, c, h, w)
        margin, fooled = self._margin(ctx, orig(best), y)
        out = best.clone()
        rows = torch.nonzero(~fooled).flatten()  # the points still being attacked
        x0, y0, best, margin = xi[rows], y[rows], best[rows], margin[rows]
        # Random numbers for _BLOCK iterations at a time, per point (one hash call instead of
        # one per iteration); rows leave the block with their points.
        base = streams.base(ids[rows])  # (m,) each point's stream, shrunk with rows
        per_step = (2 if self.norm == "linf" else 4) + c  # window corners, then signs
        block = base.new_empty((0, _BLOCK, per_step))
        steps = block.new_empty((0, _BLOCK, c, 1, 1), dtype=xi.dtype)
        for i in range(self.n_queries - 1):  # the start used one query
            if len(rows) == 0:
                break
            if i % _BLOCK == 0:
                block = streams.bits_of(base, (_BLOCK, per_step), "square", i // _BLOCK)
                if self.norm == "linf":  # the +-eps of each channel's window, ready to use
                    steps = eps * _to_signs(block[:, :, 2:]).to(xi.dtype)[..., None, None]
            r = block[:, i % _BLOCK]  # (m, per_step)
            p = p_selection(self.p_init, i, self.n_queries, rescale=self.rescale_schedule)
            delta = best - x0  # (m, c, h, w)
            if self.norm == "linf":
                sh, sw = _window(p, h, w, smallest=1, odd=False)
                inside = _mask_at(r[:, 0] % (h - sh + 1), r[:, 1] % (w - sw + 1), h, w, sh, sw)
                delta = torch.where(inside, steps[:, i % _BLOCK], delta)
            else:
                delta = self._l2_step(delta, p, eps, mutable, r, streams.shared_uniform(
                    "square-eta", i) > 0.5)
            cand = feasible(delta, x0)
            m_new, hit = self._margin(ctx, orig(cand), y0)
            better = (m_new < margin) | hit  # (m,)
            best = torch.where(better[:, None, None, None], cand, best)
            margin = torch.where(better, m_new, margin)
            if hit.any():
                out[rows[hit]] = cand[hit]
                keep = ~hit
                rows, x0, y0, best, margin = rows[keep], x0[keep], y0[keep], best[keep], margin[keep]
                base, block = base[keep], block[keep]
                if self.norm == "linf":
                    steps = steps[keep]
        out[rows] = best
        return out.reshape(shape)

    @staticmethod
    def _unit_l2(d: torch.Tensor, mutable: torch.Tensor | None) -> torch.Tensor:
        if mutable is not None:  # spend the budget only where the domain allows change
            d = d * mutable.to(d.dtype)
        return d / d.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)

    def _l2_step(self, delta: torch.Tensor, p: float, eps: float, mutable: torch.Tensor | None,
                 r: torch.Tensor, transpose: bool) -> torch.Tensor:
        """Return the reference's L2 proposal.

        The proposal is a fresh bump plus the old content of window 1, with the norm of
        windows 1 and 2 and the unused budget; window 2 is emptied. ``r`` holds (m, 4 + c)
        random integers: two window corners, then a sign per channel.
        """
        _, c, h, w = delta.shape
        sh, sw = _window(p, h, w, smallest=3, odd=True)
        v1h, v1w = r[:, 0] % (h - sh + 1), r[:, 1] % (w - sw + 1)  # window 1's corners
        in1 = _mask_at(v1h, v1w, h, w, sh, sw)  # (m, 1, h, w)
        in2 = _mask_at(r[:, 2] % (h - sh + 1), r[:, 3] % (w - sw + 1), h, w, sh, sw)
        r1h, r1w = _spans(h, sh)[1][v1h], _spans(w, sw)[1][v1w]  # (m, h), (m, w) in window 1

        def channel_norm(t: torch.Tensor) -> torch.Tensor:  # (m, c, 1, 1)
            return t.pow(2).sum((2, 3), keepdim=True).sqrt()

        norm_w1 = channel_norm(delta * in1)
        norm_image = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        norm_windows = channel_norm(delta * (in1 | in2))
        eta = _eta(sh, sw, transpose)[r1h[:, :, None], r1w[:, None, :]][:, None]  # (m, 1, h, w)
        new = (eta * _to_signs(r[:, 4:]).view(-1, c, 1, 1) + delta / (norm_w1 + 1e-10)) * in1
        budget = ((eps**2 - norm_image**2).clamp_min(0) / c + norm_windows**2).sqrt()
        new = new / channel_norm(new).clamp_min(1e-12) * budget
        delta = torch.where(in1, new, torch.where(in2, torch.zeros_like(delta), delta))
        return self._unit_l2(delta, mutable) * eps
