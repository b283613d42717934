"""Renderers: each reads a Scorecard; none computes anything."""

from __future__ import annotations

from trustbench.report.terminal import render_terminal

__all__ = ["render_terminal"]
