"""Backdoor detectors, one file each."""

__all__: list[str] = []
