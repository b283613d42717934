"""Scan configuration files: everything ``trustbench scan`` flags set, kept in the repository.

``trustbench scan --config scan.yaml`` reads a file validated by :class:`ScanFile`; flags
given on the command line override the file. ``trustbench init`` writes a commented example
(:data:`EXAMPLE`). Relative input paths (model, data, schema, baseline) are resolved against
the file's folder, so a config works from any working directory; ``output.out`` is relative
to the working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from trustbench.errors import InputError

__all__ = ["EXAMPLE", "DataSection", "GateSection", "ModelSection", "OutputSection",
           "ScanFile", "ScanSection", "load_scan_file"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSection(_Section):
    """What to load; see ``trustbench scan --help`` for each field's flag."""

    path: str = Field(description="model file or package.module:attribute")
    arch: str | None = None
    arch_kwargs: dict[str, Any] | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    trust_pickle: bool = False


class DataSection(_Section):
    source: str = Field(description="digits, breast_cancer, or a .csv/.parquet/.npz file")
    target: str | None = None
    group: str | None = None
    split: Literal["test", "train", "all"] = "test"
    bounds: tuple[float, float] | None = None
    schema_file: str | None = Field(None, alias="schema")
    audit: str | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)


class ScanSection(_Section):
    eps: list[float] | None = None
    norm: Literal["linf", "l2"] = "linf"
    eps_units: Literal["raw", "range"] | None = None
    attacks: list[str] | None = None
    attack_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    n: int | None = Field(None, ge=1)
    seed: int = 0
    batch_size: int | Literal["auto"] = "auto"
    threads: int | None = Field(None, ge=1)
    budget: float | None = Field(None, gt=0)
    validity: bool = True
    shifts: list[str] | None = None
    severities: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    calibration: bool = True
    ood: bool = True
    subgroups: bool = True

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch_size(cls, v: Any) -> int | str:
        if v == "auto":
            return v
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"expected 'auto' or an integer >= 1, got {v!r}")
        return v

    @field_validator("eps")
    @classmethod
    def _eps(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (not v or any(not e >= 0 for e in v)):
            raise ValueError("eps values must be >= 0 (and at least one given)")
        return v

    @field_validator("severities")
    @classmethod
    def _severities(cls, v: list[int]) -> list[int]:
        if not v or any(s < 1 or s > 5 for s in v):
            raise ValueError("severities must be a non-empty list of integers in 1..5")
        return sorted(set(v))


class GateSection(_Section):
    baseline: str | None = None
    fail_on: list[str] = Field(default_factory=list)


class OutputSection(_Section):
    out: str = "trustbench-report"
    formats: list[Literal["json", "html", "markdown", "junit"]] = Field(
        default_factory=lambda: ["json", "html", "markdown", "junit"])


class ScanFile(_Section):
    """The whole file. Unknown keys are errors: a typo never silently does nothing."""

    version: Literal[1] = 1
    model: ModelSection
    data: DataSection
    scan: ScanSection = Field(default_factory=ScanSection)
    gate: GateSection = Field(default_factory=GateSection)
    output: OutputSection = Field(default_factory=OutputSection)


def _resolve(base: Path, value: str | None, *, builtin: tuple[str, ...] = ()) -> str | None:
    if value is None or value in builtin or Path(value).is_absolute():
        return value
    candidate = base / value
    if candidate.exists() or ":" not in value:  # pkg.module:attr specs stay as they are
        return str(candidate)
    return value


def load_scan_file(path: str | Path) -> ScanFile:
    """Read and validate a YAML (or JSON) scan file; errors name the file, field and fix."""
    import yaml

    from trustbench.data import BUILTIN

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file",
                         fix="create one with 'trustbench init' or check the path") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the config file ({e})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{path}: not valid YAML{where}",
                         fix="check indentation and quoting (a rule like 'any fail' may need "
                         "quotes)") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping with model:, data:, scan:, gate:, output:",
                         fix="start from 'trustbench init'")
    try:
        sf = ScanFile.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        fix = None
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
            fix = "check the spelling against 'trustbench init' (unknown keys are refused)"
        elif err["type"] == "missing":
            fix = f"add {field}: to the file"
        more = f" (and {len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
        raise InputError(f"{path}: field {field}: {msg}{more}", fix=fix) from None
    base = path.resolve().parent
    sf.model.path = _resolve(base, sf.model.path) or sf.model.path
    sf.data.source = _resolve(base, sf.data.source, builtin=tuple(BUILTIN)) or sf.data.source
    sf.data.schema_file = _resolve(base, sf.data.schema_file)
    sf.data.audit = _resolve(base, sf.data.audit)
    sf.gate.baseline = _resolve(base, sf.gate.baseline)
    return sf


EXAMPLE = """\
# trustbench scan configuration: run it with
#   trustbench scan --config trustbench.yaml
# Flags given on the command line override what is set here. Relative paths of inputs
# (model, data, schema, baseline) are relative to this file; output.out to the working folder.
version: 1

model:
  path: model.pt                # TorchScript, .pt/.safetensors state_dict (needs arch), .onnx,
                                # .skops, a pickle/joblib (needs trust_pickle), or pkg.module:attr
  # arch: mypackage.models:Net  # the nn.Module class a state_dict belongs to
  # arch_kwargs: {width: 16}    # its constructor arguments
  # mean: [0.5]                 # per-channel normalisation the model expects
  # std: [0.5]
  trust_pickle: false           # pickle/joblib files can run arbitrary code when loaded

data:
  source: digits                # digits, breast_cancer, or a .csv/.parquet/.npz file
  # target: label               # label column of a table
  # group: sex                  # column with a group attribute: per-group results
  split: test                   # built-in datasets: test, train or all
  # bounds: [0.0, 1.0]          # valid range of every feature (default: declared or min/max)
  # schema: schema.json         # per-feature types and bounds
  # audit: audit/scorecard.json # 'trustbench audit' of this test set: metrics without flagged rows

scan:
  # eps: [0.01, 0.03, 0.1]      # threat-model radii (default: 1%, 3%, 10% of the input range)
  norm: linf                    # linf or l2
  # eps_units: raw              # raw (image default) or range (fraction of each feature's range)
  # attacks: [fgsm, pgd, standard]   # see 'trustbench attacks'
  # attack_params: {pgd: {steps: 50}}
  # n: 1000                     # evaluate a seeded random sample of n points
  seed: 0
  batch_size: auto              # points per attack batch; auto: fastest on this machine
  # threads: 2                  # torch threads (default: the CPUs this process may use)
  # budget: 600                 # seconds; runs not started in time are skipped and reported
  validity: true                # gradient-masking and evaluation-validity checks
  # shifts: [gaussian_noise, contrast]  # default: every shift for the data's modality
  severities: [1, 2, 3, 4, 5]
  calibration: true
  ood: true
  subgroups: true

gate:
  # baseline: baseline/scorecard.json   # compare with an earlier scan of the same data
  fail_on:                      # exit code 1 when any rule fires
    - "any fail"
    # - "robust_acc@linf:0.1 drop > 2pt"
    # - "ece increase > 0.02"
    # - "accuracy < 0.9"

output:
  out: trustbench-report        # folder for the files below
  formats: [json, html, markdown, junit]
"""
