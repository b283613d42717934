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

import json
import math
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Annotated, Literal

import yaml
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

from trustbench.errors import InputError

__all__ = ["EXAMPLE", "MAX_ARCH_KWARGS_DEPTH", "MAX_CONFIG_BYTES", "MAX_DEPTH", "MAX_NODES",
           "MAX_SEED",
           "DataSection", "GateSection", "ModelSection", "OutputSection", "ScanFile",
           "ScanSection", "load_scan_file"]

#: Largest config file read, in bytes (a real one is a few hundred).
MAX_CONFIG_BYTES = 1 << 20
#: Deepest nesting of mappings and lists in a config file (the top mapping is level 1).
MAX_DEPTH = 16
#: Most values (scalars, lists, mappings) in a config file; the example has about 60. With
#: the size limit it bounds the work of reading a file to well under a second.
MAX_NODES = 10_000
#: Deepest nesting inside ``model.arch_kwargs`` (its own mapping is level 1).
MAX_ARCH_KWARGS_DEPTH = 8
#: Largest seed: fits a signed 64-bit integer, which numpy and torch accept (the same as
#: ``trustbench.attacks.base.MAX_SEED``; not imported from there, which would load torch).
MAX_SEED = 2**63 - 1

# -- reading YAML -------------------------------------------------------------------------

_BOOL, _INT, _FLOAT = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                       "tag:yaml.org,2002:float")
_MERGE = "tag:yaml.org,2002:merge"
_DROPPED = {_BOOL, _INT, _FLOAT, "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"}


class _Refused(yaml.MarkedYAMLError):
    """A construct the config reader refuses on purpose (with its own message and fix)."""

    def __init__(self, problem: str, mark: yaml.Mark | None, fix: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.fix = fix


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars, no anchors/aliases/merge keys, no duplicate
    keys and bounded nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._where: list[int | str] = []  # the field being composed, e.g. ["scan", "n"]
        self._field_of: dict[int, tuple[int | str, ...]] = {}  # id(mapping node) -> field
        self._depth = 0  # nodes being composed, keys included (a key may be a mapping too)
        self._nodes = 0

    def _field(self) -> str:
        return f"field {_dotted(tuple(self._where))}: " if self._where else ""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        event = self.peek_event()
        # a mapping's value is composed with its key node as index, a list item with its
        # position; a key itself (index None) adds nothing to the field's name
        part = (index if isinstance(index, int) else
                index.value if isinstance(index, yaml.ScalarNode) else None)
        if part is not None:
            self._where.append(part)
        self._depth += 1
        self._nodes += 1
        try:
            if self._nodes > MAX_NODES:
                raise _Refused(f"{self._field()}more than {MAX_NODES} values in one config file",
                               event.start_mark, "a scan config needs a few dozen: check that "
                               "this is the right file")
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise _Refused(f"{self._field()}YAML anchors and aliases (&name, *name) are not "
                               "allowed in a config file", event.start_mark,
                               "write the value out in full where it is used")
            if self._depth > MAX_DEPTH:
                raise _Refused(f"{self._field()}nested deeper than {MAX_DEPTH} levels",
                               event.start_mark,
                               "a scan config needs only a few levels: flatten the value")
            node = super().compose_node(parent, index)
            if isinstance(node, yaml.MappingNode):
                self._field_of[id(node)] = tuple(self._where)
            return node  # type: ignore[no-any-return]
        finally:
            self._depth -= 1
            if part is not None:
                self._where.pop()

    def construct_mapping(self, node: yaml.MappingNode,  # type: ignore[override]
                          deep: bool = False) -> dict[Hashable, object]:
        first: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                raise _Refused("YAML merge keys (<<) are not allowed in a config file",
                               key_node.start_mark, "write the keys out in full")
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the base class reports an unhashable key
            if key in first:
                where = (*self._field_of.get(id(node), ()), str(key))
                raise _Refused(f"field {_dotted(where)}: duplicate key {_show(key)} (first at "
                               f"line {first[key] + 1})", key_node.start_mark,
                               "keep one of them: YAML would silently use the last")
            first[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _construct_int(loader: _ConfigLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    try:
        if text[:2] in ("0o", "0x"):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text)
    except ValueError:  # beyond Python's digit limit, or an explicit !!int on a non-number
        raise _Refused(f"{_show(text)} is not a usable integer", node.start_mark,
                       "write an integer with at most a few dozen digits") from None


def _construct_float(loader: _ConfigLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    try:
        if text.lstrip("+-") in (".inf", ".nan"):
            return float(text.replace(".", ""))
        return float(text)
    except ValueError:
        raise _Refused(f"{_show(text)} is not a number", node.start_mark,
                       "write a number like 0.1 or 1e-3") from None


_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_ConfigLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_ConfigLoader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
_ConfigLoader.add_implicit_resolver(
    _FLOAT, re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))
_ConfigLoader.add_constructor(_INT, _construct_int)
_ConfigLoader.add_constructor(_FLOAT, _construct_float)


def _show(value: object) -> str:
    """A value as a config spells it (true, null, "1"), cut short to stay on one line."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- field types ----------------------------------------------------------------------------

#: A finite number (an integer is accepted; .inf and .nan are not).
Finite = Annotated[float, AllowInfNan(False)]
#: A non-empty string.
Text = Annotated[str, Field(min_length=1)]


def _scalar(value: object) -> bool | int | float | str | None:
    """An attack parameter: one scalar; its type and range are the attack's to check."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise PydanticCustomError("tb_scalar", "expected a number, a string, true/false or null, "
                              "got {value}", {"value": _show(value)})


def _json_like(value: object, where: str = "", depth: int = 0) -> JsonValue:
    """Check a JSON-like value (null, booleans, finite numbers, strings, lists, mappings with
    string keys) nested at most MAX_ARCH_KWARGS_DEPTH levels; return it unchanged."""
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
    eps: list[Finite] | None = Field(None, min_length=1, max_length=100)
    norm: Literal["linf", "l2"] = "linf"
    eps_units: Literal["raw", "range"] | None = None
    attacks: list[Text] | None = Field(None, max_length=64)
    attack_params: dict[str, dict[str, AttackParamValue]] = Field(default_factory=dict)
    n: int | None = Field(None, ge=1)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    batch_size: int | Literal["auto"] = "auto"
    threads: int | None = Field(None, ge=1, le=1024)
    budget: Finite | None = Field(None, gt=0)
    validity: bool = True
    shifts: list[Text] | None = Field(None, max_length=256)
    severities: list[Annotated[int, Field(ge=1, le=5)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], min_length=1, max_length=5)
    calibration: bool = True
    ood: bool = True
    subgroups: bool = True

    _unique = field_validator("attacks", "shifts")(_no_duplicates)

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch_size(cls, v: object) -> object:
        if v == "auto" and isinstance(v, str):
            return v
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1_000_000:
            raise PydanticCustomError("tb_batch_size", "expected 'auto' or an integer in "
                                      "[1, 1000000], got {value}", {"value": _show(v)})
        return v

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
    baseline: Text | None = None
    fail_on: list[Text] = Field(default_factory=list, max_length=256)


class OutputSection(_Section):
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
    """The default of the field at ``loc`` (list positions dropped), or ``...`` if none."""
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


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _known_fields(loc: tuple[int | str, ...]) -> list[str]:
    """The field names valid where ``loc`` points (its parent section)."""
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


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file",
                         fix="create one with 'trustbench init' or check the path") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read the config file ({e.strerror or e})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise InputError(f"{path}: larger than the limit of {MAX_CONFIG_BYTES} bytes (1 MiB) "
                         "for a config file", fix="a scan config is a few dozen lines: check "
                         "that this is the right file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text (byte {e.start})",
                         fix="save the config file as UTF-8") from None


def _parse(path: Path, text: str) -> object:
    try:
        loader = _ConfigLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except _Refused as e:
        mark = e.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{path}{where}: {e.problem}", fix=e.fix) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None)
        raise InputError(f"{path}: not valid YAML{where}" + (f" ({problem})" if problem else ""),
                         fix="check indentation and quoting (a rule like 'any fail' may need "
                         "quotes)") from None


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
    raw = _parse(path, _read_text(path))
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
