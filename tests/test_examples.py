"""Every script in examples/ runs (as a user would run it) and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))
#: What each example prints when it worked (the scans and audits print a robust accuracy).
SAYS = {"monitor_tabular.py": "regression caught on region east",
        "monitor_serving.py": "first alert at batch",
        "backdoor_digits.py": "backdoor found and removed",
        "align_synthetic.py": "aligned: ",
        "select_models.py": "the most accurate model is not the recommended one"}


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "scorecard.json").exists()
    assert SAYS.get(script.name, "robust accuracy") in proc.stdout
