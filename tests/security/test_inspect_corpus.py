"""trustbench inspect over the whole corpus of benchmarks/inspect_corpus.py.

Malicious files named after the advisories and write-ups that describe them (picklescan's
bypasses, nullifAI, fickling's injections, ONNX path traversals, ...) and benign files from
torch, numpy, scikit-learn, joblib, skops, ONNX and safetensors: every malicious case is
caught, no benign one is flagged, and no payload ran (each would have written a marker).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from trustbench.security.files.inspect import inspect_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict], Path]:
    spec = importlib.util.spec_from_file_location(
        "inspect_corpus", ROOT / "benchmarks" / "inspect_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("corpus")
    markers = tmp_path_factory.mktemp("markers")
    old = os.environ.get(module.PAYLOAD_ENV)
    os.environ[module.PAYLOAD_ENV] = str(markers)
    try:
        cases = module.build_corpus(out)
    finally:
        if old is None:
            os.environ.pop(module.PAYLOAD_ENV, None)
        else:
            os.environ[module.PAYLOAD_ENV] = old
    return out, cases, markers


def test_every_case_gets_its_expected_verdict_and_no_payload_runs(corpus) -> None:
    out, cases, markers = corpus
    assert sum(c["expect"] == "unsafe" for c in cases) >= 50
    assert sum(c["expect"] == "safe" for c in cases) >= 30
    wrong = []
    for c in cases:
        r = inspect_file(out / c["file"])
        want = {"unsafe": "unsafe", "review": "unsafe", "safe": "safe", "code": "safe",
                "unreadable": "unreadable"}[c["expect"]]
        if r.verdict != want or (c["expect"] == "code" and r.format != "TorchScript"):
            wrong.append((c["name"], c["expect"], r.verdict, r.format, r.why() or r.errors))
        if r.verdict == "unsafe":  # a finding says what and where
            assert all(i.message and i.severity for i in r.issues)
    assert wrong == []
    assert list(markers.iterdir()) == []  # nothing in the corpus was ever run
