"""Scan configuration files: everything ``trustbench scan`` flags set, kept in the repository.

``trustbench scan --config scan.yaml`` reads a file validated by :class:`ScanFile`; flags
given on the command line override the file. ``trustbench init`` writes a commented example
(:data:`EXAMPLE`). Relative input paths (model, data, schema, baseline) are resolved against
the file's folder, so a config works from any working directory; ``output.out`` is relative
to the working directory.

Reading is strict, so that nothing is silently misread and a hostile file cannot exhaust
memory or time:

- at most :data:`MAX_CONFIG_BYTES` of UTF-8 and :data:`MAX_NODES` values; mappings and
  lists nested at most :data:`MAX_DEPTH` levels; no anchors, aliases or merge keys (``&a``, ``*a``, ``<<``: a
  scan config never needs them, and an alias bomb is built from them); no duplicated keys;
- YAML 1.2 core scalars: ``true``/``false`` are the only booleans (``yes``, ``on`` are
  strings), integers are decimal (or ``0o``/``0x``), ``1e-3`` is a number, dates are strings;
- every field has a strict type: booleans are not numbers, strings are not numbers or
  booleans, a float is not an integer (an integer is a fine float), numbers are finite;
- ``scan.attack_params`` is checked against each attack's declared parameters.

Every error is one :class:`~trustbench.errors.InputError` naming the file, the dotted field
(``scan.attack_params.pgd.steps``), the bad value and a fix.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PlainValidator,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from trustbench._yaml import MAX_CONFIG_BYTES, MAX_DEPTH, MAX_NODES, _dotted, _show, read_yaml
from trustbench.errors import InputError
from trustbench.options import (
    MAX_BATCH_SIZE,
    MAX_EOT_DRAWS,
    MAX_SEED,
    MAX_THREADS,
    check_batch_size,
)

__all__ = ["EXAMPLE", "MAX_ARCH_KWARGS_DEPTH", "MAX_CONFIG_BYTES", "MAX_DEPTH", "MAX_NODES",
           "MAX_SEED",
           "DataSection", "GateSection", "ModelSection", "OutputSection", "ScanFile",
           "ScanSection", "load_scan_file"]

#: Deepest nesting inside ``model.arch_kwargs`` (its own mapping is level 1).
MAX_ARCH_KWARGS_DEPTH = 8

# -- field types ----------------------------------------------------------------------------

#: A finite number (an integer is accepted; .inf and .nan are not).
Finite = Annotated[float, AllowInfNan(False)]
#: A non-empty string.
Text = Annotated[str, Field(min_length=1)]


def _scalar(value: object) -> bool | int | float | str | None:
    """Accept an attack parameter: one scalar; its type and range are the attack's to check."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise PydanticCustomError("tb_scalar", "expected a number, a string, true/false or null, "
                              "got {value}", {"value": _show(value)})


def _json_like(value: object, where: str = "", depth: int = 0) -> JsonValue:
    """Check a JSON-like value nested at most MAX_ARCH_KWARGS_DEPTH levels; return it unchanged.

    JSON-like values are null, booleans, finite numbers, strings, lists and mappings with
    string keys.
    """
    at = f" at {where}" if where else ""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError("tb_json", "{at}: expected a finite number, got {value}",
                                      {"at": at.strip() or "value", "value": _show(value)})
        return value
    if isinstance(value, list | dict) and depth >= MAX_ARCH_KWARGS_DEPTH:
        raise PydanticCustomError("tb_json", "nested deeper than {limit} levels{at}",
                                  {"limit": MAX_ARCH_KWARGS_DEPTH, "at": at})
    if isinstance(value, list):
        return [_json_like(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise PydanticCustomError("tb_json", "keys must be strings, got {key}{at}",
                                          {"key": _show(k), "at": at})
        return {k: _json_like(v, f"{where}.{k}" if where else k, depth + 1)
                for k, v in value.items()}
    raise PydanticCustomError("tb_json", "expected null, true/false, a number, a string, a list "
                              "or a mapping{at}, got {value}", {"at": at, "value": _show(value)})


def _arch_kwargs(value: object) -> dict[str, JsonValue] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PydanticCustomError("tb_json", "expected a mapping of argument names to values, "
                                  "got {value}", {"value": _show(value)})
    return _json_like(value)  # type: ignore[return-value]


def _pair(value: object) -> object:
    """``[lower, upper]`` from a file or a flag, as the tuple the field holds."""
    if isinstance(value, list | tuple) and len(value) != 2:
        raise PydanticCustomError("tb_bounds", "expected two numbers [lower, upper], got "
                                  "{value}", {"value": _show(value)})
    return tuple(value) if isinstance(value, list) else value


AttackParamValue = Annotated[bool | int | float | str | None, PlainValidator(_scalar)]
ArchKwargs = Annotated[dict[str, JsonValue] | None, PlainValidator(_arch_kwargs)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


class ModelSection(_Section):
    """What to load; see ``trustbench scan --help`` for each field's flag."""

    path: Text = Field(description="model file or package.module:attribute")
    arch: Text | None = None
    arch_kwargs: ArchKwargs = None
    mean: list[Finite] | None = Field(None, min_length=1, max_length=1024)
    std: list[Annotated[Finite, Field(gt=0)]] | None = Field(None, min_length=1,
                                                              max_length=1024)
    trust_pickle: bool = False


class DataSection(_Section):
    """The ``data:`` section: what data to evaluate on (``source``) and how to read it."""

    source: Text = Field(description="digits, breast_cancer, or a .csv/.parquet/.npz file")
    target: Text | None = None
    group: Text | None = None
    split: Literal["test", "train", "all"] = "test"
    bounds: Annotated[tuple[Finite, Finite] | None, BeforeValidator(_pair)] = None
    schema_file: Text | None = Field(None, alias="schema")
    audit: Text | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True,
                              strict=True)

    @field_validator("bounds")
    @classmethod
    def _bounds(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not v[0] < v[1]:
            raise PydanticCustomError("tb_bounds", "the lower bound {lower} must be below the "
                                      "upper bound {upper}", {"lower": v[0], "upper": v[1]})
        return v


def _no_duplicates(v: list[str] | None) -> list[str] | None:
    if v is not None:
        seen = set()
        for name in v:
            if name in seen:
                raise PydanticCustomError("tb_duplicate", "{name} is listed twice",
                                          {"name": _show(name)})
            seen.add(name)
    return v


class ScanSection(_Section):
    """The ``scan:`` section: what to measure, with which attacks, eps, shifts and budget."""

    eps: list[Finite] | None = Field(None, min_length=1, max_length=100)
    norm: Literal["linf", "l2"] = "linf"
    eps_units: Literal["raw", "range"] | None = None
    attacks: list[Text] | None = Field(None, max_length=64)
    attack_params: dict[str, dict[str, AttackParamValue]] = Field(default_factory=dict)
    n: int | None = Field(None, ge=1)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    batch_size: int | Literal["auto"] = "auto"
    threads: int | None = Field(None, ge=1, le=MAX_THREADS)
    budget: Finite | None = Field(None, gt=0)
    validity: bool = True
    shifts: list[Text] | None = Field(None, max_length=256)
    severities: list[Annotated[int, Field(ge=1, le=5)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], min_length=1, max_length=5)
    calibration: bool = True
    ood: bool = True
    subgroups: bool = True
    eot_draws: int = Field(20, ge=1, le=MAX_EOT_DRAWS)

    _unique = field_validator("attacks", "shifts")(_no_duplicates)

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch_size(cls, v: object) -> object:
        try:
            return check_batch_size(v)  # the limits the CLI and ScanConfig use
        except InputError:
            raise PydanticCustomError("tb_batch_size", "expected 'auto' or an integer in "
                                      f"[1, {MAX_BATCH_SIZE}], got {{value}}",
                                      {"value": _show(v)}) from None

    @field_validator("eps")
    @classmethod
    def _eps(cls, v: list[float] | None) -> list[float] | None:
        bad = [e for e in v or [] if e < 0]
        if bad:
            raise PydanticCustomError("tb_eps", "eps values must be >= 0, got {value}",
                                      {"value": _show(bad[0])})
        return v

    @field_validator("severities")
    @classmethod
    def _severities(cls, v: list[int]) -> list[int]:
        return sorted(set(v))


class GateSection(_Section):
    """The ``gate:`` section: the baseline to compare with and the ``--fail-on`` rules."""

    baseline: Text | None = None
    fail_on: list[Text] = Field(default_factory=list, max_length=256)


class OutputSection(_Section):
    """The ``output:`` section: the folder to write to and the report formats."""

    out: Text = "trustbench-report"
    formats: list[Literal["json", "html", "markdown", "junit"]] = Field(
        default_factory=lambda: ["json", "html", "markdown", "junit"], min_length=1,
        max_length=4)


class ScanFile(_Section):
    """The whole file. Unknown keys are errors: a typo never silently does nothing."""

    version: Literal[1] = 1
    model: ModelSection
    data: DataSection
    scan: ScanSection = Field(default_factory=ScanSection)
    gate: GateSection = Field(default_factory=GateSection)
    output: OutputSection = Field(default_factory=OutputSection)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: object) -> object:
        if type(v) is not int:  # Literal[1] would take true and 1.0
            raise PydanticCustomError("tb_version", "expected 1, got {value}",
                                      {"value": _show(v)})
        return v


# -- errors ---------------------------------------------------------------------------------

_FIXES = {
    "int_type": "write a whole number without quotes, e.g. 5",
    "int_from_float": "write a whole number without quotes, e.g. 5",
    "float_type": "write a number without quotes, e.g. 0.1",
    "finite_number": "write a finite number (.inf and .nan are refused)",
    "bool_type": "write true or false, without quotes",
    "string_type": "write text; quote it if it looks like a number or a boolean",
    "list_type": "write a list, e.g. [a, b]",
    "tuple_type": "write a list of two numbers, e.g. [0.0, 1.0]",
    "dict_type": "write a mapping, e.g. {key: value}",
    "model_type": "write a mapping of the section's fields",
    "literal_error": "use one of the values listed",
    "too_short": "give at least one value (an empty list is refused)",
    "too_long": "give fewer values",
    "string_too_short": "give a non-empty value",
    "tb_version": "write version: 1",
    "tb_eps": "write radii >= 0, e.g. [0.01, 0.03]",
    "tb_bounds": "write [lower, upper] with lower below upper, e.g. [0.0, 1.0]",
    "tb_duplicate": "list each name once",
    "tb_batch_size": "write auto, or a whole number such as 256",
    "tb_scalar": "give one value per parameter, e.g. steps: 50",
    "tb_json": "use JSON-like values: null, true/false, finite numbers, strings, lists and "
    f"mappings with string keys, at most {MAX_ARCH_KWARGS_DEPTH} levels deep",
}


def _default_of(loc: tuple[int | str, ...]) -> object:
    """Return the default of the field at ``loc`` (list positions dropped), or ``...`` if none."""
    cls: type[BaseModel] = ScanFile
    parts = [p for p in loc if isinstance(p, str)]
    for i, part in enumerate(parts):
        field = cls.model_fields.get(part)
        if field is None:
            return ...
        if i == len(parts) - 1:
            if field.default_factory is not None:
                return field.default_factory()  # type: ignore[call-arg]
            return ... if field.is_required() else field.default
        if not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
            return ...
        cls = field.annotation
    return ...


def _known_fields(loc: tuple[int | str, ...]) -> list[str]:
    """Return the field names valid where ``loc`` points (its parent section)."""
    cls: type[BaseModel] = ScanFile
    for part in loc[:-1]:
        field = cls.model_fields.get(str(part))
        if field is None or not (isinstance(field.annotation, type)
                                 and issubclass(field.annotation, BaseModel)):
            return []
        cls = field.annotation
    return [f.alias or name for name, f in cls.model_fields.items()]


def _validation_error(path: Path, e: ValidationError) -> InputError:
    errors = e.errors(include_url=False)
    err = errors[0]
    loc = tuple(err["loc"])
    field = _dotted(loc)
    msg, kind = err["msg"], err["type"]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if kind == "extra_forbidden":
        known = _known_fields(loc)
        return InputError(f"{path}: field {field}: unknown field{more}",
                          fix=(f"use one of: {', '.join(known)}" if known else
                               "check the spelling against 'trustbench init'")
                          + " (unknown keys are refused)")
    if kind == "missing":
        return InputError(f"{path}: field {field}: required but missing{more}",
                          fix=f"add {field}: to the file")
    if not kind.startswith("tb_"):  # our own messages already show the value
        msg += f", got {_show(err.get('input'))}"
    default = _default_of(loc)
    fix = _FIXES.get(kind) or ("see docs/config.md for the field's type and range"
                               if default is ... or default is None
                               else f"use e.g. {_show(default)} (the default)")
    return InputError(f"{path}: field {field}: {msg}{more}", fix=fix)


def _check_names(path: Path, sf: ScanFile) -> None:
    """Attack and shift names and attack parameters, against the registries."""
    from trustbench.attacks.registry import REGISTRY, check_attack_params
    from trustbench.shifts import shift_class

    for i, name in enumerate(sf.scan.attacks or []):
        if name not in REGISTRY:
            raise InputError(f"{path}: field scan.attacks[{i}]: unknown attack {_show(name)}",
                             fix=f"use one of: {', '.join(sorted(REGISTRY))}")
    for i, name in enumerate(sf.scan.shifts or []):
        try:
            shift_class(name)
        except InputError as e:
            raise InputError(f"{path}: field scan.shifts[{i}]: {e.problem}", fix=e.fix) from None
    try:
        check_attack_params(sf.scan.attack_params, field="scan.attack_params")
    except InputError as e:
        raise InputError(f"{path}: field {e.problem}", fix=e.fix) from None


def _resolve(base: Path, value: str | None, *, builtin: tuple[str, ...] = ()) -> str | None:
    if value is None or value in builtin or Path(value).is_absolute():
        return value
    candidate = base / value
    if candidate.exists() or ":" not in value:  # pkg.module:attr specs stay as they are
        return str(candidate)
    return value


def load_scan_file(path: str | Path) -> ScanFile:
    """Read and validate a YAML (or JSON) scan file; errors name the file, field and fix.

    Limits: :data:`MAX_CONFIG_BYTES`, :data:`MAX_DEPTH`, no anchors or aliases, no
    duplicated keys (see the module docstring).
    """
    from trustbench.data import BUILTIN

    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping with model:, data:, scan:, gate:, output:",
                         fix="start from 'trustbench init'")
    try:
        sf = ScanFile.model_validate(raw)
    except ValidationError as e:
        raise _validation_error(path, e) from None
    _check_names(path, sf)
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
# Values are strict: true/false for switches, numbers without quotes, each key once, no
# anchors or aliases (see docs/config.md).
version: 1

model:
  path: model.pt                # TorchScript, .pt/.safetensors state_dict (needs arch), .onnx,
                                # .skops, a pickle/joblib (needs trust_pickle), or pkg.module:attr
  # arch: mypackage.models:Net  # the nn.Module class a state_dict belongs to; a class
                                # outside trustbench named here needs --trust-arch
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
  eot_draws: 20                 # calls averaged per evaluation of a model found to be random

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
