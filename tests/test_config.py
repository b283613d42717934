"""Scan config files: validation errors name the file and field; paths resolve; init example."""

from __future__ import annotations

import typing
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
    ("model: {path: m.pt}\n", r"field data: required but missing -- add data: to the file"),
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


# -- strict reading -------------------------------------------------------------------------

BASE = "model: {path: m.pt}\ndata: {source: digits}\n"


def load(tmp_path: Path, text: str) -> ScanFile:
    return load_scan_file(write(tmp_path, BASE + text))


def refused(tmp_path: Path, text: str, *needles: str) -> str:
    """The one-line error for BASE + text; it names the file, every needle and a fix."""
    p = write(tmp_path, BASE + text)
    with pytest.raises(InputError) as e:
        load_scan_file(p)
    message = str(e.value)
    assert message.startswith(f"{p}") and "\n" not in message
    assert e.value.fix, message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


@pytest.mark.parametrize(("text", "field", "shown"), [
    ("scan: {n: true}", "field scan.n:", "got true"),
    ("scan: {n: 2.5}", "field scan.n:", "got 2.5"),
    ("scan: {n: '5'}", "field scan.n:", 'got "5"'),
    ("scan: {seed: -1}", "field scan.seed:", "got -1"),
    (f"scan: {{seed: {2**63}}}", "field scan.seed:", f"got {2**63}"),
    ("scan: {seed: 1.0}", "field scan.seed:", "got 1.0"),
    ("scan: {eps: ['0.1']}", "field scan.eps[0]:", 'got "0.1"'),
    ("scan: {eps: [true]}", "field scan.eps[0]:", "got true"),
    ("scan: {eps: [.nan]}", "field scan.eps[0]:", "got NaN"),
    ("scan: {eps: []}", "field scan.eps:", "got []"),
    ("scan: {severities: [true]}", "field scan.severities[0]:", "got true"),
    ("scan: {severities: []}", "field scan.severities:", "got []"),
    ("scan: {budget: .inf}", "field scan.budget:", "got Infinity"),
    ("scan: {budget: '60'}", "field scan.budget:", 'got "60"'),
    ("scan: {threads: 2.0}", "field scan.threads:", "got 2.0"),
    ("scan: {batch_size: true}", "field scan.batch_size:", "got true"),
    ("scan: {validity: 'false'}", "field scan.validity:", 'got "false"'),
    ("scan: {ood: 0}", "field scan.ood:", "got 0"),
    ("scan: {attacks: [pgd, pgd]}", "field scan.attacks:", '"pgd" is listed twice'),
    ("scan: {attacks: [pgd, nope]}", "field scan.attacks[1]:", 'unknown attack "nope"'),
    ("scan: {shifts: [blurr]}", "field scan.shifts[0]:", "blurr"),
    ("output: {formats: []}", "field output.formats:", "got []"),
    ("output: {formats: [pdf]}", "field output.formats[0]:", 'got "pdf"'),
    ("gate: {fail_on: 'any fail'}", "field gate.fail_on:", 'got "any fail"'),
    ("version: true", "field version:", "got true"),
    ("version: 1.0", "field version:", "got 1.0"),
])
def test_values_are_never_coerced(tmp_path: Path, text: str, field: str, shown: str) -> None:
    refused(tmp_path, text, field, shown)


@pytest.mark.parametrize(("section", "text", "field", "shown"), [
    ("model", "trust_pickle: '1'", "field model.trust_pickle:", 'got "1"'),
    ("model", "trust_pickle: 1", "field model.trust_pickle:", "got 1"),
    ("model", "trust_pickle: yes", "field model.trust_pickle:", 'got "yes"'),  # YAML 1.2
    ("model", "path: 12", "field model.path:", "got 12"),
    ("model", "path: ''", "field model.path:", 'got ""'),
    ("model", "mean: ['0.5']", "field model.mean[0]:", 'got "0.5"'),
    ("model", "std: [0]", "field model.std[0]:", "got 0"),
    ("model", "arch_kwargs: {width: .nan}", "field model.arch_kwargs:", "at width"),
    ("model", "arch_kwargs: {1: 2}", "field model.arch_kwargs:", "keys must be strings"),
    ("model", "arch_kwargs: [1]", "field model.arch_kwargs:", "got [1]"),
    ("model", "arch_kwargs: {a: [[[[[[[[[1]]]]]]]]]}", "field model.arch_kwargs:",
     "nested deeper than 8 levels"),
    ("data", "bounds: [.nan, 1]", "field data.bounds[0]:", "got NaN"),
    ("data", "bounds: [0, .inf]", "field data.bounds[1]:", "got Infinity"),
    ("data", "bounds: [1, 0]", "field data.bounds:", "lower bound 1.0 must be below"),
    ("data", "bounds: [0.5, 0.5]", "field data.bounds:", "must be below"),
    ("data", "bounds: [0, 1, 2]", "field data.bounds:", "got [0, 1, 2]"),
    ("data", "bounds: ['0', '1']", "field data.bounds[0]:", 'got "0"'),
    ("data", "split: validation", "field data.split:", 'got "validation"'),
])
def test_section_values_are_never_coerced(tmp_path: Path, section: str, text: str, field: str,
                                          shown: str) -> None:
    other = "data: {source: digits}\n" if section == "model" else "model: {path: m.pt}\n"
    base = "{path: m.pt, " if section == "model" else "{source: digits, "
    if text.startswith("path:"):
        base = "{"
    p = write(tmp_path, other + f"{section}: {base}{text}}}\n")
    with pytest.raises(InputError) as e:
        load_scan_file(p)
    for needle in (str(p), field, shown, " -- "):
        assert needle in str(e.value), (needle, str(e.value))


def test_native_numbers_and_yaml_12_scalars(tmp_path: Path) -> None:
    sf = load(tmp_path, "scan: {eps: [1e-3, 1, 0.5], budget: 60, seed: 0x10, n: 010}\n"
              "output: {out: 2024-01-01}\n")
    assert sf.scan.eps == [0.001, 1.0, 0.5] and all(type(e) is float for e in sf.scan.eps)
    assert sf.scan.budget == 60.0 and sf.scan.seed == 16 and sf.scan.n == 10
    assert sf.output.out.endswith("2024-01-01")  # a date is text, not a datetime
    p = write(tmp_path, "model: {path: m.pt, trust_pickle: true}\n"
              "data: {source: digits, bounds: [0, 1], target: 'yes'}\n")
    sf = load_scan_file(p)
    assert sf.model.trust_pickle is True and sf.data.bounds == (0.0, 1.0)
    assert sf.data.target == "yes"


@pytest.mark.parametrize(("text", "needles"), [
    ("scan: {n: 5}\nscan: {n: 6}\n", ["line 4", "field scan: duplicate key \"scan\"",
                                       "first at line 3"]),
    ("scan:\n  n: 5\n  seed: 1\n  n: 7\n", ["line 6", "field scan.n: duplicate key \"n\"",
                                          "first at line 4"]),
    ("scan: {attack_params: {pgd: {steps: 50, steps: 0}}}\n",
     ["field scan.attack_params.pgd.steps: duplicate key"]),
    ("scan: {n: &n 5, seed: *n}\n", ["line 3", "field scan.n: YAML anchors and aliases"]),
    ("scan: {<<: {n: 3}}\n", ["merge keys (<<) are not allowed"]),
    ("scan: {attack_params: " + "{a: " * 20 + "1" + "}" * 20 + "}\n",
     ["nested deeper than 16 levels"]),
    ("scan: {eps: [" + "0," * 10_001 + "0]}\n", ["more than 10000 values"]),
    ("scan: {n: " + "9" * 5000 + "}\n", ["is not a usable integer"]),
    ("scan: {n: !!python/object/apply:os.system [ls]}\n", ["not valid YAML", "python/object"]),
])
def test_yaml_constructs_that_mislead_or_exhaust_are_refused(tmp_path: Path, text: str,
                                                             needles: list[str]) -> None:
    refused(tmp_path, text, *needles)


def test_size_limit(tmp_path: Path) -> None:
    from trustbench.config import MAX_CONFIG_BYTES

    pad = MAX_CONFIG_BYTES - len(BASE) - 3
    assert load(tmp_path, "# " + "x" * pad + "\n").data.source == "digits"  # exactly the limit
    refused(tmp_path, "# " + "x" * (pad + 1) + "\n", "larger than the limit of 1048576 bytes")


def test_not_utf8_and_not_a_file(tmp_path: Path) -> None:
    p = tmp_path / "latin1.yaml"
    p.write_bytes(BASE.encode() + b"# caf\xe9\n")
    with pytest.raises(InputError, match=r"latin1\.yaml: not UTF-8 text"):
        load_scan_file(p)
    with pytest.raises(InputError, match="cannot read the config file"):
        load_scan_file(tmp_path)


@pytest.mark.parametrize(("text", "fix"), [
    ("scan: {epsilon: 3}\n", "use one of: eps, norm, eps_units, attacks, attack_params"),
    ("scn: {}\n", "use one of: version, model, data, scan, gate, output"),
    ("data: {source: digits, schemas: s.json}\n", "use one of: source, target, group, split, "
     "bounds, schema, audit"),
    ("scan: {seed: -1}\n", "use e.g. 0 (the default)"),
    ("scan: {n: true}\n", "write a whole number without quotes"),
])
def test_every_error_suggests_a_fix(tmp_path: Path, text: str, fix: str) -> None:
    p = write(tmp_path, BASE.replace("data: {source: digits}\n", "") + text
              if text.startswith("data") else BASE + text)
    with pytest.raises(InputError) as e:
        load_scan_file(p)
    assert e.value.fix is not None and fix in e.value.fix, e.value.fix


@pytest.mark.parametrize(("params", "needle"), [
    ("{pgd: {steps: 0}}", "field scan.attack_params.pgd.steps: expected an integer in "
     "[1, 10000], got 0"),
    ("{pgd: {steps: -1}}", "scan.attack_params.pgd.steps"),
    ("{pgd: {steps: true}}", "scan.attack_params.pgd.steps"),
    ("{pgd: {steps: [5]}}", "field scan.attack_params.pgd.steps: expected a number, a "
     "string, true/false or null, got [5]"),
    ("{pgd: {eps: 1.0}}", "field scan.attack_params.pgd.eps: eps is set by the scan"),
    ("{pgd: {stepz: 5}}", "use one of: early_stop, random_start, restarts, step_size, steps"),
    ("{pdg: {steps: 5}}", 'field scan.attack_params.pdg: unknown attack "pdg"'),
    ("{pgd: 5}", "field scan.attack_params.pgd:"),
])
def test_attack_params_are_checked_against_the_attack(tmp_path: Path, params: str,
                                                      needle: str) -> None:
    message = refused(tmp_path, f"scan: {{attack_params: {params}}}\n", needle)
    assert "--attack-params" not in message  # the config's field, not a flag


def test_valid_attack_params_load(tmp_path: Path) -> None:
    sf = load(tmp_path, "scan: {attack_params: {pgd: {steps: 50, step_size: null}, "
              "square: {p_init: 1}}}\n")
    assert sf.scan.attack_params == {"pgd": {"steps": 50, "step_size": None},
                                     "square": {"p_init": 1}}


def _types_in(annotation: object) -> list[object]:
    """Every type an annotation is built from (Annotated metadata left out)."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _types_in(typing.get_args(annotation)[0])
    args = typing.get_args(annotation)
    return [annotation, *(t for a in args for t in _types_in(a))]


def test_no_field_is_typed_any() -> None:
    from trustbench.config import DataSection, GateSection, ModelSection, OutputSection, ScanSection

    assert typing.Any in _types_in(dict[str, typing.Annotated[typing.Any, "x"]])  # can fail
    for model in (ScanFile, ModelSection, DataSection, ScanSection, GateSection, OutputSection):
        for name, f in model.model_fields.items():
            assert typing.Any not in _types_in(f.annotation), (model.__name__, name)


def test_max_seed_matches_the_attacks() -> None:
    from trustbench.attacks.base import MAX_SEED as ATTACK_MAX_SEED
    from trustbench.config import MAX_SEED

    assert MAX_SEED == ATTACK_MAX_SEED == 2**63 - 1


def test_flags_set_on_the_models_keep_working() -> None:
    """commands/scan.py sets flags, already converted to Python types, on the strict models."""
    from pydantic import ValidationError

    from trustbench.config import DataSection, ModelSection

    sf = ScanFile(model=ModelSection(path="m.pt"), data=DataSection(source="digits"))
    sf.scan.n, sf.scan.seed, sf.scan.eps = 5, 3, [0.1]
    sf.data.bounds = [0.0, 1.0]  # type: ignore[assignment]  # floats() gives a list
    sf.scan.batch_size, sf.scan.budget, sf.scan.severities = 256, 30.0, [3, 1, 3]
    sf.model.trust_pickle, sf.gate.fail_on = True, ["any fail"]
    assert (sf.scan.n, sf.scan.seed, sf.scan.eps, sf.data.bounds) == (5, 3, [0.1], (0.0, 1.0))
    assert sf.scan.severities == [1, 3]
    for section, field, value in [("scan", "seed", -1), ("scan", "n", 0),
                                  ("data", "bounds", [1.0, 0.0]), ("scan", "eps", [float("nan")]),
                                  ("scan", "budget", float("inf")), ("scan", "n", True)]:
        with pytest.raises(ValidationError):
            setattr(getattr(sf, section), field, value)
