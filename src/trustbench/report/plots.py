"""Draw plot specs (:mod:`trustbench.plotspec`) with matplotlib.

Checks describe figures as plain dicts; this module is the only place that turns them into
pictures. It uses :class:`matplotlib.figure.Figure` directly (no pyplot, no global backend),
and it is forgiving: ``None`` values leave gaps, empty series draw an empty frame that says
so, very long inputs are cut to a readable size with a note in the figure. A spec that
cannot be drawn raises :class:`PlotSpecError` from :func:`draw_plot`; :func:`plot_html`
turns that into a visible note instead, so one bad figure never costs the whole report.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import re
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trustbench.plotspec import KINDS
from trustbench.report._plot_kinds import DRAWERS, RASTER, PlotSpecError, short

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PlotSpecError", "draw_plot", "plot_html"]

logger = logging.getLogger(__name__)

MAX_SVG_CHARS = 250_000  # above this a PNG is smaller and the page stays fast
_RC = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7,
       "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.spines.top": False,
       "axes.spines.right": False, "svg.fonttype": "none"}


def draw_plot(spec: Mapping[str, Any]) -> Figure:
    """Draw one plot spec as a matplotlib :class:`~matplotlib.figure.Figure`.

    The figure carries no title: reports put the spec's ``title`` in a caption.

    Raises
    ------
    PlotSpecError
        The spec's kind is unknown or its data do not fit together.
    """
    if not isinstance(spec, Mapping):
        raise PlotSpecError(f"a plot spec must be a dict, got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in DRAWERS:
        raise PlotSpecError(f"unknown plot kind {kind!r}; expected one of {', '.join(KINDS)}")
    from matplotlib import rc_context

    with rc_context(_RC):
        return DRAWERS[kind](spec)


def _encode(fig: Figure, *, raster: bool, salt: str, alt: str) -> str:
    from matplotlib import rc_context

    with rc_context({**_RC, "svg.hashsalt": salt}):
        if not raster:
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata={"Date": None})
            svg = buf.getvalue()
            if len(svg) <= MAX_SVG_CHARS:
                svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg[svg.index("<svg"):].strip(),
                             count=1, flags=re.S)
                return svg.replace("<svg ", f'<svg role="img" aria-label="{alt}" ', 1)
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=100, metadata={"Software": None})
    data = base64.b64encode(png.getvalue()).decode("ascii")
    return f'<img alt="{alt}" src="data:image/png;base64,{data}">'


def plot_html(spec: Mapping[str, Any], *, fig_id: str) -> tuple[str, bool]:
    """Render a plot spec as ``(html, drawn)``.

    ``html`` is a ``<figure class="plot">`` with an inline SVG or a PNG data URI and the
    spec's title as caption; or, when the spec cannot be drawn, a visible
    ``figure could not be drawn`` note (and a logged warning) with ``drawn`` False.
    """
    title = str(spec.get("title", "")) if isinstance(spec, Mapping) else ""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig = draw_plot(spec)
            markup = _encode(fig, raster=spec.get("kind") in RASTER, salt=fig_id,
                             alt=html.escape(title or str(spec.get("kind")), quote=True))
        for w in caught:  # cosmetic (missing glyphs, tight layouts): not worth failing over
            logger.debug("drawing %r: %s", title, w.message)
    except Exception as e:  # a broken spec must never cost the rest of the report
        reason = short(f"{type(e).__name__}: {e}" if not isinstance(e, PlotSpecError) else e, 300)
        logger.warning("figure %r could not be drawn: %s", title, reason)
        what = f"“{html.escape(title)}”: " if title else ""
        return (f'<p class="plot-error" role="note">figure could not be drawn: {what}'
                f"{html.escape(reason)}</p>", False)
    caption = f"<figcaption>{html.escape(title)}</figcaption>" if title else ""
    return f'<figure class="plot" id="{html.escape(fig_id)}">{markup}{caption}</figure>', True
