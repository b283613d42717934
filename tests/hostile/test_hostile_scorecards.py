"""Scorecards someone else made or changed: ``compare`` and ``scan --baseline`` read them.

Every malformed scorecard is a one-line error naming the file and the field (exit 2), never a
traceback from a reader deep inside; a property-based test mutates a real scorecard at random
places and checks exactly that.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hostile_harness import clean_error, cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustbench.checks import ScanConfig
from trustbench.data import Dataset, Schema
from trustbench.scan import scan
from trustbench.testing.toy import toy_blobs, toy_mlp


@pytest.fixture(scope="module")
def real_card() -> dict[str, Any]:
    """A scorecard of a small real scan (robustness, calibration, subgroups), as JSON."""
    x, y = toy_blobs(120)
    data = Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)), name="blobs")
    card = scan(toy_mlp(0), data, ScanConfig(eps=[0.05, 0.1], attacks=["fgsm", "pgd"],
                                                      eps_units="raw", shifts=[], ood=False,
                                                      validity=False, batch_size=64))
    return card.to_dict()


def _write(path: Path, d: Any) -> Path:
    path.write_text(json.dumps(d), encoding="utf-8")
    return path


def _compare(tmp_path: Path, base: Any, cur: Any, *extra: str):
    a = base if isinstance(base, Path) else _write(tmp_path / "base.json", base)
    b = cur if isinstance(cur, Path) else _write(tmp_path / "cur.json", cur)
    return cli("compare", a, b, *extra)


def test_a_real_scorecard_compares_with_itself(tmp_path: Path, real_card: dict) -> None:
    result = _compare(tmp_path, real_card, real_card, "--fail-on", "accuracy drop > 1pt")
    assert result.exit_code == 0, result.output


def _set(d: dict, path: tuple, value: Any) -> dict:
    d = copy.deepcopy(d)
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return d


CASES = [  # (what is changed, new value, field named in the error)
    (("findings",), {"a": 1}, "findings"),
    (("findings", 0, "metrics"), [1, 2], "metrics"),
    (("findings", 0, "metrics", "accuracy"), 0.9, "metrics.accuracy"),
    (("findings", 0, "metrics", "accuracy", "value"), "high", "metrics.accuracy.value"),
    (("findings", 0, "metrics", "accuracy", "ci95"), [0.1], "metrics.accuracy.ci95"),
    (("findings", 0, "metrics", "accuracy", "ci95"), "wide", "metrics.accuracy.ci95"),
    (("findings", 0, "metrics", "accuracy", "value"), True, "metrics.accuracy.value"),
    (("findings", 0, "id"), 7, "findings[0].id"),
    (("findings", 0, "title"), None, "findings[0].title"),
    (("findings", 0, "severity"), "catastrophic", "severity"),
    (("findings", 0, "evidence"), "see attached", "evidence"),
    (("findings", 0, "tags"), ["MEASURE 2.3"], "tags"),
    (("findings", 0, "tags", "subcategories"), "MEASURE 2.3", "tags.subcategories"),
    (("findings", 0), "accuracy 0.9", "findings[0]"),
    (("provenance",), None, "provenance"),
    (("provenance", "config"), None, "provenance.config"),
    (("provenance", "data"), "digits", "provenance.data"),
    (("provenance", "data", "fingerprint"), 12345, "provenance.data.fingerprint"),
    (("not_measured",), "nothing", "not_measured"),
    (("schema_version",), "9.0", "schema_version"),
]


@pytest.mark.parametrize(("path", "value", "field"), CASES,
                         ids=[".".join(map(str, c[0])) + "=" + repr(c[1])[:12] for c in CASES])
@pytest.mark.parametrize("side", ["baseline", "current"])
def test_malformed_field_is_a_clean_error(tmp_path: Path, real_card: dict, path: tuple,
                                          value: Any, field: str, side: str) -> None:
    bad = _set(real_card, path, value)
    base, cur = (bad, real_card) if side == "baseline" else (real_card, bad)
    text = clean_error(_compare(tmp_path, base, cur), field)
    assert ("base.json" if side == "baseline" else "cur.json") in text


@pytest.mark.parametrize(("content", "needle"), [
    (b"", "not valid JSON"),
    (b"[1, 2, 3]", "a scorecard is a JSON object"),
    (b"null", "a scorecard is a JSON object"),
    (b'{"schema_version": "1.0", "findings": [}', "not valid JSON"),
    ("{\"title\": \"caf\u00e9\"}".encode("latin-1"), "not UTF-8"),
    (b"\xff\xfe{\x00}\x00", "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"schema_version": "1.0", "findings": ' + b"[" * 5000 + b"]" * 5000 + b"}",
     "nested too deeply"),
    (b'{"schema_version": "1.0", "findings": ' + b"[" * 500 + b"]" * 500 + b"}",
     "findings[0] must be an object"),
    (b"NaN", "a scorecard is a JSON object"),
])
def test_unreadable_file_is_a_clean_error(tmp_path: Path, real_card: dict, content: bytes,
                                          needle: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    text = clean_error(_compare(tmp_path, real_card, bad), needle)
    assert "bad.json" in text


def test_a_folder_or_missing_file_is_a_clean_error(tmp_path: Path, real_card: dict) -> None:
    (tmp_path / "dir.json").mkdir()
    clean_error(_compare(tmp_path, real_card, tmp_path / "dir.json"), "dir.json")
    clean_error(_compare(tmp_path, real_card, tmp_path / "missing.json"), "missing.json")


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70)
                     | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda kids: st.lists(kids, max_size=3)
                     | st.dictionaries(st.text(max_size=6), kids, max_size=3), max_leaves=6)


def _paths(d: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(d, list):
        for i, v in enumerate(d[:3]):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_damage_never_gives_a_traceback(tmp_path: Path, real_card: dict, data: Any) -> None:
    paths = _paths(real_card)
    damaged = real_card
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        try:
            damaged = _set(damaged, path, data.draw(_JSON))
        except (KeyError, IndexError, TypeError):  # an earlier change removed the parent
            continue
    side = data.draw(st.sampled_from(["baseline", "current"]))
    base, cur = (damaged, real_card) if side == "baseline" else (real_card, damaged)
    result = _compare(tmp_path, base, cur, "--fail-on", "accuracy drop > 1pt", "--allow-mismatch")
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.exception)
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    if result.exit_code == 2:
        assert result.stderr.startswith("error: ")
        assert len(result.stderr.strip().splitlines()) <= 3
