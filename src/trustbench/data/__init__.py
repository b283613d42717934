"""Data: built-in datasets, file loaders, and the Schema of valid inputs."""

from __future__ import annotations

from trustbench.data.builtin import BUILTIN, load_builtin
from trustbench.data.dataset import Dataset
from trustbench.data.files import load_data
from trustbench.data.schema import FEATURE_TYPES, Schema

__all__ = ["BUILTIN", "FEATURE_TYPES", "Dataset", "Schema", "load_builtin", "load_data"]
