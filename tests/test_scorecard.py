"""Scorecard JSON: round trip, NaN as null, verdict, bad files, atomic writes."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import trustbench._files as files_module
from trustbench import nist
from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.scorecard import SCHEMA_VERSION, Scorecard


def _card() -> Scorecard:
    return Scorecard(
        findings=[
            Finding("accuracy.clean", "Clean accuracy 91.0%", "info",
                    {"accuracy": Metric(0.91, (0.85, 0.95), "fraction"),
                     "n": Metric(100, unit="count")},
                    tags=nist.ACCURACY, detail="on 100 points",
                    evidence={"n": np.int64(100), "per_class": np.array([0.9, 0.92])}),
            Finding("robustness.pgd.linf.0.1", "pgd", "warn",
                    {"robust_accuracy": Metric(0.4, (0.3, 0.5), "fraction"),
                     "median_perturbation": Metric(float("nan"), unit="linf (raw)")},
                    tags=nist.ROBUSTNESS, evidence={"path": Path("a/b")}),
        ],
        provenance={"seed": 0, "model": {"fingerprint": "sha256:abc"}},
        not_measured=["calibration (ECE, reliability)"],
    )


def test_json_round_trip(tmp_path: Path) -> None:
    card = _card()
    path = card.to_json(tmp_path / "out" / "scorecard.json")
    assert path == tmp_path / "out" / "scorecard.json"
    back = Scorecard.from_json(path)
    assert [f.id for f in back.findings] == ["accuracy.clean", "robustness.pgd.linf.0.1"]
    acc = back.get("accuracy.clean")
    assert acc.metrics["accuracy"] == Metric(0.91, (0.85, 0.95), "fraction")
    assert acc.metrics["n"].value == 100
    assert acc.tags == nist.ACCURACY
    assert acc.detail == "on 100 points"
    assert acc.evidence == {"n": 100, "per_class": [0.9, 0.92]}
    pgd = back.get("robustness.pgd.linf.0.1")
    assert pgd.severity == "warn" and pgd.tags == nist.ROBUSTNESS
    assert math.isnan(pgd.metrics["median_perturbation"].value)
    assert pgd.evidence == {"path": "a/b"}
    assert back.provenance == card.provenance
    assert back.not_measured == card.not_measured
    assert back.verdict == card.verdict == "warn"
    assert back.get("nope") is None
    # and the round trip is a fixed point
    assert back.to_dict() == json.loads(path.read_text())


def test_json_layout_and_nan_is_null(tmp_path: Path) -> None:
    d = json.loads(_card().to_json(tmp_path / "s.json").read_text())
    assert d["schema_version"] == SCHEMA_VERSION and d["tool"] == "trustbench"
    assert d["verdict"] == "warn"
    pgd = d["findings"][1]
    assert pgd["metrics"]["median_perturbation"] == {"value": None, "unit": "linf (raw)"}
    assert pgd["metrics"]["robust_accuracy"]["ci95"] == [0.3, 0.5]
    assert pgd["tags"]["functions"] == ["MEASURE"]
    assert "NaN" not in (tmp_path / "s.json").read_text()


def test_nan_confidence_bounds_are_null(tmp_path: Path) -> None:
    card = Scorecard([Finding("f", "t", "info", {"rate": Metric(float("nan"), (float("nan"),
                                                                               float("nan")))})])
    d = json.loads(card.to_json(tmp_path / "s.json").read_text())
    assert d["findings"][0]["metrics"]["rate"] == {"value": None, "ci95": [None, None]}


def test_null_confidence_bounds_read_back(tmp_path: Path) -> None:
    card = Scorecard([Finding("f", "t", "info", {"rate": Metric(float("nan"), (float("nan"),
                                                                               float("nan")))})])
    back = Scorecard.from_json(card.to_json(tmp_path / "s.json"))
    lo, hi = back.findings[0].metrics["rate"].ci
    assert math.isnan(lo) and math.isnan(hi)


@pytest.mark.parametrize(("severities", "verdict"), [
    ([], "pass"),
    (["info"], "pass"),
    (["info", "warn", "info"], "warn"),
    (["warn", "fail", "info"], "fail"),
    (["fail", "warn"], "fail"),
])
def test_verdict_is_the_worst_severity(severities: list[str], verdict: str) -> None:
    card = Scorecard([Finding(f"f{i}", "t", s) for i, s in enumerate(severities)])
    assert card.verdict == verdict
    assert card.to_dict()["verdict"] == verdict


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(ValueError, match="severity must be one of"):
        Finding("f", "t", "error")  # type: ignore[arg-type]


@pytest.mark.parametrize("version", ["2.0", "0.9", "", None])
def test_from_json_refuses_other_schema_versions(tmp_path: Path, version: str | None) -> None:
    d = json.loads(_card().to_json(tmp_path / "s.json").read_text())
    if version is None:
        del d["schema_version"]
    else:
        d["schema_version"] = version
    path = tmp_path / "s.json"
    path.write_text(json.dumps(d))
    with pytest.raises(InputError, match=rf"s\.json: schema_version {re.escape(version or '(missing)')} is "
                                         r"not readable.*re-create"):
        Scorecard.from_json(path)


def test_from_json_accepts_a_newer_minor_version(tmp_path: Path) -> None:
    d = json.loads(_card().to_json(tmp_path / "s.json").read_text())
    d |= {"schema_version": "1.7", "new_field": 1}
    (tmp_path / "s.json").write_text(json.dumps(d))
    assert len(Scorecard.from_json(tmp_path / "s.json").findings) == 2


def test_from_json_invalid_json_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"schema_version": "1.0", ')
    with pytest.raises(InputError, match=r"bad\.json: the scorecard is not valid JSON .* at line 1"):
        Scorecard.from_json(tmp_path / "bad.json")
    with pytest.raises(InputError, match=r"missing\.json: cannot read the scorecard \(No such file"):
        Scorecard.from_json(tmp_path / "missing.json")


@pytest.mark.parametrize("findings", [None, [{"id": "x"}], [{"id": "x", "title": "t",
                                                              "severity": "bad"}]])
def test_from_json_malformed_findings(tmp_path: Path, findings) -> None:
    d = {"schema_version": SCHEMA_VERSION}
    if findings is not None:
        d["findings"] = findings
    (tmp_path / "s.json").write_text(json.dumps(d))
    with pytest.raises(InputError, match="malformed scorecard"):
        Scorecard.from_json(tmp_path / "s.json")


class _Boom(RuntimeError):
    pass


def test_to_json_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _card().to_json(tmp_path / "scorecard.json")
    before = path.read_bytes()

    def crash(*args, **kwargs) -> None:  # the temp file is written, then a crash
        raise _Boom("disk full")

    monkeypatch.setattr(files_module.os, "chmod", crash)
    with pytest.raises(_Boom):
        Scorecard([Finding("other", "t", "fail")]).to_json(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scorecard.json"]


def test_unserialisable_evidence_leaves_no_file(tmp_path: Path) -> None:
    card = Scorecard([Finding("f", "t", "info", evidence={"obj": object()})])
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        card.to_json(tmp_path / "scorecard.json")
    assert list(tmp_path.iterdir()) == []
