"""The hostile-input corpus: model folders, configs, scorecards, data files and output
folders made by someone else. Every case must either give a correct result or exit 2 with a
short error naming the file, the field and the fix -- and never run the code it carries.

Modules import ``cli`` and ``clean_error`` from ``hostile_harness``; ``canary`` is a path a
payload would create (tests assert it never exists).
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every case from its own empty folder, so defaults can only write there."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A file that only a payload would create."""
    return tmp_path / "PWNED"
