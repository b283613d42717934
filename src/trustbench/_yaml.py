"""Reading a config file's YAML with limits, so a hostile file cannot exhaust memory or time.

:func:`read_yaml` reads at most :data:`MAX_CONFIG_BYTES` of UTF-8 and at most
:data:`MAX_NODES` values nested at most :data:`MAX_DEPTH` levels; it refuses anchors,
aliases and merge keys (``&a``, ``*a``, ``<<``) and duplicated keys, and resolves scalars
as YAML 1.2 core does (``true``/``false`` are the only booleans, integers are decimal or
``0o``/``0x``, ``1e-3`` is a number, dates are strings). Every error is one
:class:`~trustbench.errors.InputError` naming the file, the line and column or the field,
and a fix. The checks of the values themselves are :mod:`trustbench.config`'s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable
from pathlib import Path

import yaml

from trustbench.errors import InputError

__all__ = ["MAX_CONFIG_BYTES", "MAX_DEPTH", "MAX_NODES", "read_yaml"]

#: Largest config file read, in bytes (a real one is a few hundred).
MAX_CONFIG_BYTES = 1 << 20
#: Deepest nesting of mappings and lists in a config file (the top mapping is level 1).
MAX_DEPTH = 16
#: Most values (scalars, lists, mappings) in a config file; the example has about 60. With
#: the size limit it bounds the work of reading a file to well under a second.
MAX_NODES = 10_000

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
    """SafeLoader with YAML 1.2 core scalars.

    It allows no anchors/aliases/merge keys and no duplicate keys, and bounds nesting.
    """

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


#: UTF-16 surrogates: PyYAML decodes each "\\ud83d" escape alone; a pair is one character,
#: a lone one is not text.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _construct_str(loader: _ConfigLoader, node: yaml.ScalarNode) -> str:
    value = loader.construct_scalar(node)
    assert isinstance(value, str)
    if _SURROGATE.search(value):
        try:  # a pair (JSON's "\\ud83d\\ude00", as json.dumps writes 😀) is one character
            return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:
            pass
        raise _Refused("text with an escaped UTF-16 surrogate (\\ud800-\\udfff) that is not half "
                       "of a pair is not valid Unicode", node.start_mark,
                       "write the character itself (the file is UTF-8) or a \\U0001xxxx escape")
    return value


_ConfigLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def _show(value: object) -> str:
    """Show a value as a config spells it (true, null, "1"), cut short to stay on one line."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"



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


def read_yaml(path: Path) -> object:
    """Read and parse the YAML (or JSON) file at ``path`` within the limits above.

    Parameters
    ----------
    path
        The config file; messages name it as given.

    Returns
    -------
    object
        The parsed document: plain mappings, lists and scalars (``None`` for an empty file).

    Raises
    ------
    InputError
        The file is missing, unreadable, too large or not UTF-8; it is not valid YAML; or it
        uses a construct refused here (anchors, aliases, merge keys, duplicate keys, too many
        values, too deep a nesting, an unusable number).
    """
    return _parse(path, _read_text(path))
