"""trustbench: measure and improve the trustworthiness of machine-learning models."""

from __future__ import annotations

__version__ = "0.1.0"
