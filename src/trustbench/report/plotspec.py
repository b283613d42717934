"""Plot specifications, kept here for old imports: they live in :mod:`trustbench.plotspec`."""

from __future__ import annotations

from trustbench.plotspec import KINDS, bars, heatmap, images, lines, reliability

__all__ = ["KINDS", "bars", "heatmap", "images", "lines", "reliability"]
