"""The five kinds of plot spec, drawn with matplotlib (see :mod:`trustbench.report.plots`).

Each drawer takes a spec dict and returns a Figure without a title; it raises
:class:`PlotSpecError` for data that do not fit together, and cuts inputs too long to read
(with a note in the figure) rather than failing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Okabe & Ito's colour-blind-safe palette.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
MAX_SERIES, MAX_BARS, MAX_ROWS, MAX_COLS, MAX_PAIRS = 12, 40, 40, 30, 12


class PlotSpecError(ValueError):
    """A plot spec that cannot be drawn; the message says which key is wrong."""


def _new_figure(**kwargs: Any) -> Figure:
    # matplotlib is imported here, not at module level: checks import trustbench.plotspec, and
    # computing must not pay for (or depend on) the plotting library.
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def short(text: object, limit: int = 40) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[:limit - 1] + "…"


def _arr(values: object, what: str) -> np.ndarray:
    """Read a float vector, with NaN where the spec holds ``None``."""
    if values is None:
        return np.zeros(0)
    if not isinstance(values, (Sequence, np.ndarray)) or isinstance(values, str):
        raise PlotSpecError(f"{what} must be a list of numbers, got {type(values).__name__}")
    try:
        return np.array([math.nan if v is None else float(v) for v in values], dtype=float)
    except (TypeError, ValueError) as e:
        raise PlotSpecError(f"{what} must hold numbers or null ({e})") from None


def _same_len(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if len(a) != len(b):
        raise PlotSpecError(f"{what}: lengths differ ({len(a)} and {len(b)})")


def _note(fig: Figure, text: str) -> None:
    fig.text(0.99, 0.005, text, ha="right", va="bottom", fontsize=6.5, color="#555")


def _empty(ax: Any, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777")
    ax.set_xticks([])
    ax.set_yticks([])


def _lines(spec: Mapping[str, Any]) -> Figure:
    series = list(spec.get("series") or [])
    fig = _new_figure(figsize=(6.4, 3.4), layout="constrained")
    ax = fig.add_subplot()
    drawn = 0
    for i, s in enumerate(series[:MAX_SERIES]):
        label = short(s.get("label", ""))
        x, y = _arr(s.get("x"), f"series {label!r} x"), _arr(s.get("y"), f"series {label!r} y")
        _same_len(x, y, f"series {label!r} x and y")
        if not np.isfinite(x).any():
            continue
        worst = label.lower().startswith("worst")
        color = "#000000" if worst else PALETTE[i % (len(PALETTE) - 1)]
        ax.plot(x, y, color=color, label=label, marker="o", ms=3.5, lw=2.2 if worst else 1.5,
                ls="--" if worst else "-", zorder=3 if worst else 2)
        if s.get("lo") is not None and s.get("hi") is not None:
            lo, hi = _arr(s["lo"], f"series {label!r} lo"), _arr(s["hi"], f"series {label!r} hi")
            _same_len(x, lo, f"series {label!r} x and lo")
            _same_len(x, hi, f"series {label!r} x and hi")
            ok = np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
            if ok.any():
                ax.fill_between(np.where(ok, x, 0), np.where(ok, lo, 0), np.where(ok, hi, 0),
                                where=ok, color=color, alpha=0.15, lw=0)
        drawn += 1
    if drawn == 0:
        _empty(ax)
    elif any(s.get("label") for s in series):
        ax.legend(frameon=False, loc="best")
    if len(series) > MAX_SERIES:
        _note(fig, f"showing {MAX_SERIES} of {len(series)} series")
    y_range = spec.get("y_range")
    if drawn and y_range is not None:
        lo, hi = _arr(y_range, "y_range")
        if len(y_range) != 2 or not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise PlotSpecError(f"y_range must be [low, high], got {y_range!r}")
        ax.set_ylim(lo, hi)
    ax.set_xlabel(short(spec.get("x_label", ""), 70))
    ax.set_ylabel(short(spec.get("y_label", ""), 40))
    ax.grid(alpha=0.3)
    return fig


def _heatmap(spec: Mapping[str, Any]) -> Figure:
    rows, cols = [str(r) for r in spec.get("rows") or []], [str(c) for c in spec.get("cols") or []]
    raw = spec.get("values") or []
    v = np.array([_arr(r, f"values row {i}") for i, r in enumerate(raw)], dtype=float)
    if v.size == 0:
        v = v.reshape(len(rows), len(cols))
    if v.shape != (len(rows), len(cols)):
        raise PlotSpecError(f"values have shape {v.shape}, rows × cols is {len(rows)} × {len(cols)}")
    cut = v.shape[0] > MAX_ROWS or v.shape[1] > MAX_COLS
    shown = f"showing {min(v.shape[0], MAX_ROWS)} of {v.shape[0]} rows, " \
            f"{min(v.shape[1], MAX_COLS)} of {v.shape[1]} columns"
    v, rows, cols = v[:MAX_ROWS, :MAX_COLS], rows[:MAX_ROWS], cols[:MAX_COLS]
    r, c = v.shape
    longest = max((len(short(s, 28)) for s in rows), default=4)
    fig = _new_figure(figsize=(min(11.0, 1.8 + 0.06 * longest + 0.55 * max(c, 2)),
                          min(12.0, 1.2 + 0.28 * max(r, 2))), layout="constrained")
    ax = fig.add_subplot()
    if v.size == 0:
        _empty(ax)
        return fig
    finite = v[np.isfinite(v)]
    vmin = spec.get("vmin") if spec.get("vmin") is not None else (finite.min() if finite.size else 0.0)
    vmax = spec.get("vmax") if spec.get("vmax") is not None else (finite.max() if finite.size else 1.0)
    vmin, vmax = float(vmin), float(vmax)
    if not vmin < vmax:
        vmin, vmax = vmin - 0.5, vmin + 0.5
    from matplotlib import colormaps

    cmap = colormaps["viridis"].with_extremes(bad="#dddddd")
    im = ax.imshow(np.ma.masked_invalid(v), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto",
                   interpolation="nearest")
    ax.set_xticks(range(c), labels=[short(s, 18) for s in cols],
                  rotation=40 if max(map(len, cols)) > 4 else 0, ha="right" if c > 1 else "center")
    ax.set_yticks(range(r), labels=[short(s, 28) for s in rows])
    ax.tick_params(length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    if r * c <= 400:
        fraction = finite.size > 0 and finite.min() >= 0 and finite.max() <= 1
        for (i, j), val in np.ndenumerate(v):
            if not np.isfinite(val):
                ax.text(j, i, "–", ha="center", va="center", fontsize=6.5, color="#555")
                continue
            dark = (val - vmin) / (vmax - vmin) < 0.55
            ax.text(j, i, f"{val:.2f}" if fraction else f"{val:.3g}", ha="center", va="center",
                    fontsize=6.5, color="white" if dark else "black")
    fig.colorbar(im, ax=ax, label=short(spec.get("value_label", ""), 40), shrink=0.85)
    if cut:
        _note(fig, shown)
    return fig


def _bars(spec: Mapping[str, Any]) -> Figure:
    labels = [str(s) for s in spec.get("labels") or []]
    values = _arr(spec.get("values"), "values")
    if len(labels) != len(values):
        raise PlotSpecError(f"labels and values: lengths differ ({len(labels)} and {len(values)})")
    n_all = len(labels)
    labels, values = labels[:MAX_BARS], values[:MAX_BARS]
    n = len(labels)
    fig = _new_figure(figsize=(6.4, min(11.0, max(1.8, 0.9 + 0.24 * n))), layout="constrained")
    ax = fig.add_subplot()
    if n == 0:
        _empty(ax)
        return fig
    y = np.arange(n)
    ok = np.isfinite(values)
    ax.barh(y[ok], values[ok], color=PALETTE[0], alpha=0.85, height=0.7)
    for yi in y[~ok]:
        ax.text(0, yi, " no value", va="center", fontsize=6.5, color="#777")
    if spec.get("lo") is not None and spec.get("hi") is not None:
        lo, hi = _arr(spec["lo"], "lo")[:MAX_BARS], _arr(spec["hi"], "hi")[:MAX_BARS]
        _same_len(values, lo, "values and lo")
        _same_len(values, hi, "values and hi")
        w = ok & np.isfinite(lo) & np.isfinite(hi)
        if w.any():
            err = np.vstack([np.maximum(values[w] - lo[w], 0), np.maximum(hi[w] - values[w], 0)])
            ax.errorbar(values[w], y[w], xerr=err, fmt="none", ecolor="#333", capsize=2, lw=1)
    ref = spec.get("reference")
    if ref is not None and math.isfinite(float(ref)):
        ax.axvline(float(ref), color=PALETTE[3], ls="--", lw=1.2)
        # labelled at the top of the line, where no bar or whisker can hide it
        ax.text(float(ref), 1.01, short(spec.get("reference_label") or "reference", 40),
                transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=7,
                color=PALETTE[3])
    ax.set_yticks(y, labels=[short(s) for s in labels])
    ax.invert_yaxis()  # first label on top, as in the spec
    ax.set_xlabel(short(spec.get("value_label", ""), 70))
    ax.grid(axis="x", alpha=0.3)
    if n_all > n:
        _note(fig, f"showing {n} of {n_all} bars")
    return fig


def _reliability(spec: Mapping[str, Any]) -> Figure:
    edges = _arr(spec.get("bin_edges"), "bin_edges")
    conf = _arr(spec.get("bin_confidence"), "bin_confidence")
    acc = _arr(spec.get("bin_accuracy"), "bin_accuracy")
    count = _arr(spec.get("bin_count"), "bin_count")
    if not len(conf) == len(acc) == len(count) == max(len(edges) - 1, 0):
        raise PlotSpecError(f"expected one confidence, accuracy and count per bin: "
                            f"{len(edges)} edges, {len(conf)}, {len(acc)}, {len(count)} values")
    if len(edges) < 2 or not np.isfinite(edges).all():
        raise PlotSpecError("bin_edges must hold at least two finite numbers")
    fig = _new_figure(figsize=(4.6, 4.4), layout="constrained")
    gs = fig.add_gridspec(2, 1, height_ratios=(3, 1))
    ax = fig.add_subplot(gs[0])
    axh = fig.add_subplot(gs[1], sharex=ax)
    left, width = edges[:-1], np.diff(edges)
    ok = np.isfinite(acc) & (np.nan_to_num(count) > 0)
    ax.bar(left[ok], acc[ok], width=width[ok], align="edge", color=PALETTE[0], alpha=0.85,
           edgecolor="white", label="accuracy")
    gap = ok & np.isfinite(conf)
    ax.bar(left[gap], conf[gap] - acc[gap], bottom=acc[gap], width=width[gap], align="edge",
           facecolor="none", edgecolor=PALETTE[3], hatch="////", lw=0.8,
           label="gap to mean confidence")
    ax.plot([edges[0], edges[-1]], [edges[0], edges[-1]], ls="--", color="#555", lw=1,
            label="perfect calibration")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.tick_params(labelbottom=False)
    ax.legend(frameon=False, loc="upper left")
    ece = spec.get("ece")
    if ece is not None and math.isfinite(float(ece)):
        ax.text(0.97, 0.04, f"ECE = {float(ece):.3f}", transform=ax.transAxes, ha="right",
                va="bottom", bbox={"boxstyle": "round", "fc": "white", "ec": "#999"})
    axh.bar(left, np.nan_to_num(count), width=width, align="edge", color="#888", edgecolor="white")
    axh.set_ylabel("count")
    axh.set_xlabel("confidence")
    return fig


def _image(a: object, what: str) -> tuple[np.ndarray, bool]:
    """Read an image as (H, W) grey or (H, W, 3) colour in [0, 1]; the flag says grey."""
    try:
        x = np.array(a, dtype=float)
    except (TypeError, ValueError) as e:
        raise PlotSpecError(f"{what} is not a numeric array ({e})") from None
    if x.ndim == 3 and x.shape[0] in (1, 3, 4):
        x = x[0] if x.shape[0] == 1 else np.moveaxis(x[:3], 0, -1)
    elif x.ndim == 3 and x.shape[-1] in (1, 3, 4):
        x = x[..., 0] if x.shape[-1] == 1 else x[..., :3]
    if not (x.ndim == 2 or (x.ndim == 3 and x.shape[-1] == 3)) or min(x.shape[:2]) == 0:
        raise PlotSpecError(f"{what} has shape {np.shape(a)}; expected (H, W), (1, H, W) or (3, H, W)")
    return np.clip(np.nan_to_num(x), 0, 1), x.ndim == 2


def _images(spec: Mapping[str, Any]) -> Figure:
    pairs = list(spec.get("pairs") or [])
    shown = pairs[:MAX_PAIRS]
    per_row = max(1, min(len(shown), 3))
    rows = max(1, math.ceil(len(shown) / per_row))
    fig = _new_figure(figsize=(2.7 * per_row, 1.55 * rows + 0.15), layout="constrained")
    axes = fig.subplots(rows, 2 * per_row, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    if not shown:
        axes[0, 0].set_axis_on()
        _empty(axes[0, 0], "no images")
    for i, p in enumerate(shown):
        r, c = divmod(i, per_row)
        for k, key in enumerate(("clean", "perturbed")):
            img, grey = _image(p.get(key), f"pair {i} {key}")
            ax = axes[r, 2 * c + k]
            ax.set_axis_on()
            ax.imshow(img, cmap="gray" if grey else None, vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(key, fontsize=6.5, color="#555")
            if k == 0:
                ax.set_title(short(p.get("label", ""), 26), loc="left", fontsize=7.5)
    if len(pairs) > MAX_PAIRS:
        _note(fig, f"showing {MAX_PAIRS} of {len(pairs)} pairs")
    return fig


DRAWERS: dict[str, Callable[[Mapping[str, Any]], Figure]] = {
    "lines": _lines, "heatmap": _heatmap, "bars": _bars, "reliability": _reliability,
    "images": _images,
}
RASTER = {"heatmap", "images"}  # pixels: a PNG is smaller and sharper than SVG here
