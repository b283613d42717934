"""Renderers: each reads a Scorecard; none computes anything.

* :func:`render_terminal` — the console summary (rich).
* :func:`render_html` / :func:`write_html` — one self-contained HTML page with figures.
* :func:`render_markdown` / :func:`write_markdown` — a pull-request-sized summary.
* :func:`render_junit` / :func:`write_junit` — JUnit XML for CI systems.
* :func:`draw_plot` — one plot spec (:mod:`trustbench.plotspec`) as a matplotlib Figure.
"""

from __future__ import annotations

from trustbench.report.html import render_html, write_html
from trustbench.report.junit import render_junit, write_junit
from trustbench.report.markdown import render_markdown, write_markdown
from trustbench.report.plots import PlotSpecError, draw_plot
from trustbench.report.terminal import render_terminal

__all__ = [
    "PlotSpecError",
    "draw_plot",
    "render_html",
    "render_junit",
    "render_markdown",
    "render_terminal",
    "write_html",
    "write_junit",
    "write_markdown",
]
