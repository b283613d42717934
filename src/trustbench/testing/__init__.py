"""Toy models, data and conformance helpers shared by trustbench's tests and by extensions."""

from __future__ import annotations
