"""Scan config files: validation errors name the file and field; paths resolve; init example."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from trustbench.config import EXAMPLE, ScanFile, load_scan_file
from trustbench.errors import InputError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "scan.yaml"
    p.write_text(text)
    return p


def test_example_is_valid_and_documents_every_field(tmp_path: Path) -> None:
    sf = load_scan_file(write(tmp_path, EXAMPLE))
    assert sf.data.source == "digits" and sf.scan.norm == "linf"
    assert sf.gate.fail_on == ["any fail"]
    assert sf.model.path == str(tmp_path / "model.pt")  # relative to the file
    for section in ("model", "data", "scan", "gate", "output"):
        fields = ScanFile.model_fields[section].annotation.model_fields
        for name, f in fields.items():
            assert f"{f.alias or name}:" in EXAMPLE, f"{section}.{name} missing from the example"


def test_paths_resolve_against_the_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.csv").write_text("a,target\n1,0\n")
    p = tmp_path / "sub" / "scan.yaml"
    p.write_text("model: {path: 'sklearn.dummy:DummyClassifier'}\n"
                 "data: {source: data.csv, schema: s.json}\ngate: {baseline: b/scorecard.json}\n")
    sf = load_scan_file(p)
    assert sf.data.source == str(tmp_path / "sub" / "data.csv")
    assert sf.model.path == "sklearn.dummy:DummyClassifier"  # an import spec, not a file
    assert sf.data.schema_file == str(tmp_path / "sub" / "s.json")
    assert sf.gate.baseline == str(tmp_path / "sub" / "b" / "scorecard.json")


@pytest.mark.parametrize("text, match", [
    ("model: {path: m.pt}\ndata: {source: digits}\nscan: {epsilon: [0.1]}\n",
     r"field scan\.epsilon: unknown field"),
    ("model: {path: m.pt}\n", r"field data: Field required"),
    ("model: {path: m.pt}\ndata: {source: digits}\nscan: {norm: l3}\n", r"field scan\.norm"),
    ("model: {path: m.pt}\ndata: {source: digits}\nscan: {eps: [-1]}\n", r"field scan\.eps"),
    ("model: {path: m.pt}\ndata: {source: digits}\nscan: {severities: [0, 6]}\n",
     r"field scan\.severities"),
    ("model: {path: m.pt}\ndata: {source: digits}\nscan: {n: 0}\n", r"field scan\.n"),
    ("- just\n- a list\n", "expected a mapping"),
    ("model: {path: m.pt\n", "not valid YAML at line"),
])
def test_bad_files_name_file_and_field(tmp_path: Path, text: str, match: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(InputError, match=match) as e:
        load_scan_file(p)
    assert str(p) in str(e.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_scan_file(tmp_path / "nope.yaml")


def test_example_parses_as_plain_yaml() -> None:
    assert set(yaml.safe_load(EXAMPLE)) == {"version", "model", "data", "scan", "gate", "output"}
